// Package ptfile reads the tensors of files written by PyTorch's torch.save
// (the zip format of PyTorch 1.6 and later): state dicts, checkpoints that
// hold them, torchvision's weight files. It is pure Go: a zip reader and a
// small pickle machine for the opcodes torch.save emits. (libtorch's own
// unpickler rejects state dicts saved from Python: their OrderedDict
// carries a _metadata attribute it cannot rebuild.)
//
// The files may be hostile, so reading is bounded: the pickle machine is
// iterative (no Go recursion over the pickled structure) and refuses any
// Python global outside PyTorch's weights_only allow-list (tensor rebuilds,
// OrderedDict, plain containers, dtypes and storage types) wherever it
// appears; every storage reference is checked against the storage's bytes
// and dtype; zip entries are read through a reader that stops at their
// declared size; and all that decoding allocates (the pickle, its values,
// the storages, copies of strided views, the tensors' names) is charged to
// one budget: the file's size plus a fixed slack. A file that asks for more
// is refused with an error before the memory is taken.
package ptfile

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Tensor is one tensor of the file, contiguous in row-major order.
type Tensor struct {
	Name  string // dotted path in the pickled structure: "layer1.0.conv1.weight", "state_dict.fc.bias"
	DType string // float32, float64, float16, bfloat16, int64, int32, int16, int8, uint8, bool
	Shape []int64
	// Data is little-endian, exactly numel(Shape) elements. It may alias
	// the Data of other tensors of the same file (views of one storage, or
	// one tensor reached by two paths): treat it as read-only.
	Data []byte
}

// ErrLegacy marks files in PyTorch's pre-1.6 serialization format.
var ErrLegacy = errors.New("legacy PyTorch format")

// Limits on what a file may make the reader do. An honest state dict is far
// inside each of them.
const (
	// maxPickleBytes bounds data.pkl: a state dict's pickle is about 100
	// bytes per tensor (ResNet-50's is 30 KB).
	maxPickleBytes = 32 << 20
	// slackBytes is what decoding may allocate beyond the file's own size:
	// the pickle's values, copies of strided views, names, and bytes that
	// deflated entries expand to.
	slackBytes = 32 << 20
	// maxDepth bounds the nesting of the unpickled structure.
	maxDepth = 1000
	// maxMemo bounds the pickle's memo (a few entries per tensor).
	maxMemo = 1 << 20
	// maxIntBytes bounds LONG1/LONG4 integers; larger ones are refused
	// before any conversion.
	maxIntBytes = 1024
	// maxVisits bounds the walk that names the tensors: a container
	// referenced from several places is walked at each.
	maxVisits = 1 << 22
	// shownFactor bounds the tensors a file yields, shared bytes counted
	// at each name, to this many times its size (plus slackBytes): tied
	// weights or {"model": sd, "ema": sd} name one storage twice, a
	// hostile file a thousand times.
	shownFactor = 4
	// maxDeflateRatio is the most deflate can expand its input (258 bytes
	// from 2 bits); an entry declaring more is lying.
	maxDeflateRatio = 1032
)

// storageTypes maps the storage types of torch.save's persistent ids to dtypes.
var storageTypes = map[string]struct {
	dtype string
	size  int
}{
	"FloatStorage": {"float32", 4}, "DoubleStorage": {"float64", 8}, "HalfStorage": {"float16", 2},
	"BFloat16Storage": {"bfloat16", 2}, "LongStorage": {"int64", 8}, "IntStorage": {"int32", 4},
	"ShortStorage": {"int16", 2}, "CharStorage": {"int8", 1}, "ByteStorage": {"uint8", 1}, "BoolStorage": {"bool", 1},
}

// elemSize returns the bytes per element of a dtype this package returns,
// or 0 for an unknown one.
func elemSize(dtype string) int {
	for _, st := range storageTypes {
		if st.dtype == dtype {
			return st.size
		}
	}
	return 0
}

// Read returns the tensors of a torch.save file, in pickle order.
func Read(path string) ([]Tensor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s is a folder, not a PyTorch file", path)
	}
	out, err := ReadFrom(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// ReadFrom reads a torch.save file of the given size.
func ReadFrom(r io.ReaderAt, size int64) ([]Tensor, error) {
	head := make([]byte, 4)
	if _, err := r.ReadAt(head, 0); err != nil {
		return nil, fmt.Errorf("not a PyTorch file (too short)")
	}
	if !bytes.Equal(head, []byte("PK\x03\x04")) {
		if head[0] == 0x80 || bytes.HasPrefix(head, []byte{0x8a, 0x0a}) {
			return nil, fmt.Errorf("%w: written by PyTorch before 1.6 or with _use_new_zipfile_serialization=False; in Python re-save it with torch.save(torch.load(f), f2), or as .safetensors", ErrLegacy)
		}
		return nil, fmt.Errorf("not a zip-format PyTorch file (torch.save output) nor safetensors")
	}
	z, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("not a complete PyTorch zip file (truncated or corrupt?): %v", err)
	}
	var pkl *zip.File
	files := map[string]*zip.File{}
	for _, zf := range z.File {
		files[zf.Name] = zf
		if strings.HasSuffix(zf.Name, "/data.pkl") && strings.Count(zf.Name, "/") == 1 {
			pkl = zf
		}
	}
	if pkl == nil {
		return nil, fmt.Errorf("no data.pkl in the zip file: not written by torch.save")
	}
	prefix := strings.TrimSuffix(pkl.Name, "data.pkl")
	b := &budget{limit: size + slackBytes, left: size + slackBytes, fileSize: size}
	if pkl.UncompressedSize64 > maxPickleBytes {
		return nil, fmt.Errorf("%s declares %s; a state dict's pickle is far smaller (limit %s): corrupt or hostile file", pkl.Name, human(pkl.UncompressedSize64), human(maxPickleBytes))
	}
	data, err := readEntry(pkl, int64(pkl.UncompressedSize64), size, b)
	if err != nil {
		return nil, err
	}
	m := newMachine(data, b, func(st *storage) ([]byte, error) {
		zf := files[prefix+"data/"+st.key]
		if zf == nil {
			return nil, fmt.Errorf("storage %s missing from the zip file", quote(st.key))
		}
		need := st.numel * int64(st.size)
		if zf.UncompressedSize64 != uint64(need) {
			return nil, fmt.Errorf("storage %s holds %d bytes, but data.pkl declares %d elements of %s (%d bytes): corrupt file", quote(st.key), zf.UncompressedSize64, st.numel, st.dtype, need)
		}
		return readEntry(zf, need, size, b)
	})
	return m.load()
}

// readEntry reads a zip entry of exactly n bytes (its declared size, which
// the caller checked), charging them to the budget before allocating, and
// checks its CRC. The reader never produces more than n bytes, whatever the
// compressed stream holds.
func readEntry(zf *zip.File, n int64, fileSize int64, b *budget) ([]byte, error) {
	off, err := zf.DataOffset()
	if err != nil {
		return nil, fmt.Errorf("%s: %v (truncated or corrupt?)", zf.Name, err)
	}
	if off < 0 || off > fileSize || zf.CompressedSize64 > uint64(fileSize-off) {
		return nil, fmt.Errorf("%s: its %d bytes run past the end of the file (truncated?)", zf.Name, zf.CompressedSize64)
	}
	switch zf.Method {
	case zip.Store:
		if zf.CompressedSize64 != uint64(n) {
			return nil, fmt.Errorf("%s: stored uncompressed, yet declares %d bytes in %d: corrupt file", zf.Name, n, zf.CompressedSize64)
		}
	case zip.Deflate:
		if uint64(n) > zf.CompressedSize64*maxDeflateRatio+1024 {
			return nil, fmt.Errorf("%s: declares %s from %s compressed, more than deflate can produce: corrupt or hostile file (a zip bomb?)", zf.Name, human(uint64(n)), human(zf.CompressedSize64))
		}
	default:
		return nil, fmt.Errorf("%s: compression method %d is not supported (torch.save stores entries uncompressed)", zf.Name, zf.Method)
	}
	if err := b.charge(n, zf.Name); err != nil {
		return nil, err
	}
	rc, err := zf.Open()
	if err != nil {
		return nil, fmt.Errorf("%s: %v", zf.Name, err)
	}
	defer rc.Close()
	buf := make([]byte, n)
	if _, err := io.ReadFull(rc, buf); err != nil {
		return nil, fmt.Errorf("%s: %v (truncated or corrupt?)", zf.Name, err)
	}
	// One more read reaches the end of the entry, where the zip reader
	// checks the CRC; it must give nothing more.
	var one [1]byte
	switch _, err := io.ReadFull(rc, one[:]); {
	case err == io.EOF:
	case err == nil:
		return nil, fmt.Errorf("%s: holds more than its declared %d bytes: corrupt file", zf.Name, n)
	default:
		return nil, fmt.Errorf("%s: %v (corrupt file?)", zf.Name, err)
	}
	return buf, nil
}

// budget is what decoding one file may still allocate, in bytes.
type budget struct {
	limit, left, fileSize int64
}

func (b *budget) charge(n int64, what string) error {
	if n <= b.left {
		b.left -= n
		return nil
	}
	b.left = 0
	return fmt.Errorf("%s: decoding would take more than %s for a %s file: the file declares more data than it holds (corrupt or hostile file); if it is an honest file, re-save it with torch.save, which stores entries uncompressed", what, human(uint64(b.limit)), human(uint64(b.fileSize)))
}

func human(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// quote shows a name from the file in an error, cut to a readable length.
func quote(s string) string {
	if len(s) > 120 {
		s = s[:120] + "..."
	}
	return fmt.Sprintf("%q", s)
}

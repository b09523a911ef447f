// Package safetensors reads and writes the safetensors format: an 8-byte
// little-endian header length, a JSON header describing each tensor, then
// the tensors' bytes back to back. It is how dadash exchanges weights with
// the Hugging Face ecosystem without pickles.
//
// Reading validates the whole layout before returning anything, so a
// truncated or hand-edited file fails with an error that names the file and
// the tensor at fault instead of yielding garbage tensors. Writing produces
// the same bytes as the reference implementation for the same tensor order.
package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/dadash/dadash/internal/atomicfile"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Tensor is one named tensor: raw little-endian bytes in C order.
type Tensor struct {
	Name string
	// DType is the safetensors name: F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL.
	DType string
	Shape []int64
	Data  []byte
}

// File is the content of a safetensors file.
type File struct {
	// Tensors in the order of their data in the file.
	Tensors []Tensor
	// Metadata is the optional "__metadata__" map; nil when absent.
	Metadata map[string]string
}

// Tensor returns the tensor called name.
func (f *File) Tensor(name string) (*Tensor, bool) {
	for i := range f.Tensors {
		if f.Tensors[i].Name == name {
			return &f.Tensors[i], true
		}
	}
	return nil, false
}

// FormatError reports an invalid file or an invalid tensor to write.
type FormatError struct {
	Path      string // the file, when known
	Tensor    string // the tensor concerned, if HasTensor
	HasTensor bool   // separate from Tensor because "" is a legal name
	Msg       string
}

func (e *FormatError) Error() string {
	var b strings.Builder
	b.WriteString("safetensors: ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	if e.HasTensor {
		b.WriteString("tensor ")
		b.WriteString(strconv.Quote(e.Tensor))
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

func fileErr(format string, args ...any) *FormatError {
	return &FormatError{Msg: fmt.Sprintf(format, args...)}
}

func tensorErr(name, format string, args ...any) *FormatError {
	return &FormatError{Tensor: name, HasTensor: true, Msg: fmt.Sprintf(format, args...)}
}

// withPath sets the file name on format errors and prefixes other errors.
func withPath(path string, err error) error {
	var fe *FormatError
	if errors.As(err, &fe) {
		fe.Path = path
		return fe
	}
	return fmt.Errorf("safetensors: %s: %w", path, err)
}

const metadataKey = "__metadata__"

// maxHeaderLen is the reference implementation's limit; it keeps a corrupt
// length from making us parse an arbitrarily large header.
const maxHeaderLen = 100_000_000

var itemSizes = map[string]int{
	"F64": 8, "F32": 4, "F16": 2, "BF16": 2,
	"I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1,
}

const supported = "F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL"

var torchNames = map[string]string{
	"F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16",
	"I64": "int64", "I32": "int32", "I16": "int16", "I8": "int8", "U8": "uint8", "BOOL": "bool",
}

// ItemSize returns the size in bytes of one element of dtype.
func ItemSize(dtype string) (int, error) {
	n, ok := itemSizes[dtype]
	if !ok {
		return 0, fmt.Errorf("safetensors: unsupported dtype %q (supported: %s)", dtype, supported)
	}
	return n, nil
}

// TorchDType maps a safetensors dtype to PyTorch's name, e.g. F32 to
// float32.
func TorchDType(dtype string) (string, error) {
	t, ok := torchNames[dtype]
	if !ok {
		return "", fmt.Errorf("safetensors: unsupported dtype %q (supported: %s)", dtype, supported)
	}
	return t, nil
}

// FromTorchDType maps a PyTorch dtype name to the safetensors one, e.g.
// float32 to F32.
func FromTorchDType(torch string) (string, error) {
	for st, t := range torchNames {
		if t == torch {
			return st, nil
		}
	}
	return "", fmt.Errorf("safetensors: dtype %q cannot be stored", torch)
}

// byteSize is the number of bytes shape's elements take, or an error when
// the count does not fit in an int64.
func byteSize(shape []int64, itemSize int) (int64, error) {
	n := int64(itemSize)
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension in shape %s", shapeString(shape))
		}
		if d != 0 && n > math.MaxInt64/d {
			return 0, fmt.Errorf("shape %s is too large", shapeString(shape))
		}
		n *= d
	}
	return n, nil
}

func shapeString(shape []int64) string {
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = strconv.FormatInt(d, 10)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// Read reads and validates the file at path. The tensors' Data share one
// buffer holding the whole file.
func Read(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	f, err := Decode(b)
	if err != nil {
		return nil, withPath(path, err)
	}
	return f, nil
}

// Decode parses and validates a whole safetensors file held in b. The
// tensors' Data alias b.
func Decode(b []byte) (*File, error) {
	f, err := decode(b)
	if err != nil {
		// Say what the file is rather than what its first 8 bytes would
		// mean as a header length (a zip's are 7.6e18).
		if kind := Foreign(b); kind != "" {
			return nil, fileErr("not a safetensors file: it is %s", kind)
		}
	}
	return f, err
}

// Foreign names the format of a file that other readers take, from its
// first bytes, with where it belongs: "a zip archive as PyTorch's
// torch.save writes (...)". It is "" for anything else.
func Foreign(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return "a zip archive, as PyTorch's torch.save writes: load it with torch.load (named .pth or .pt) or as model weights (pretrained = path)"
	case len(head) >= 2 && head[0] == 0x80 && head[1] >= 2 && head[1] <= 5:
		return "a Python pickle (PyTorch's format before 1.6?): in Python, re-save it with torch.save(torch.load(f), f2) or as .safetensors"
	case bytes.HasPrefix(head, []byte("\x93NUMPY")):
		return "a NumPy .npy file: load it with torch.load (named .npy)"
	}
	return ""
}

func decode(b []byte) (*File, error) {
	if len(b) < 8 {
		return nil, fileErr("file is %d bytes, too short to hold the 8-byte header length", len(b))
	}
	n := binary.LittleEndian.Uint64(b[:8])
	if n > maxHeaderLen {
		return nil, fileErr("header length %d exceeds the %d byte limit", n, maxHeaderLen)
	}
	if n > uint64(len(b)-8) {
		return nil, fileErr("header length %d runs past the end of the file (%d bytes)", n, len(b))
	}
	hdr, buf := b[8:8+n], b[8+n:]
	if !utf8.Valid(hdr) {
		return nil, fileErr("header is not valid UTF-8")
	}
	f, infos, err := parseHeader(hdr)
	if err != nil {
		return nil, err
	}
	// Lay the tensors out by offset; equal offsets (empty tensors) keep
	// header order.
	sort.SliceStable(infos, func(i, j int) bool {
		if infos[i].begin != infos[j].begin {
			return infos[i].begin < infos[j].begin
		}
		return infos[i].end < infos[j].end
	})
	var pos uint64
	prev := ""
	for i, t := range infos {
		switch {
		case t.begin < pos:
			return nil, tensorErr(t.name, "data_offsets [%d, %d] overlap tensor %q, which ends at %d", t.begin, t.end, prev, pos)
		case t.begin > pos && i == 0:
			return nil, tensorErr(t.name, "data_offsets [%d, %d] leave bytes [0, %d) of the data buffer unused", t.begin, t.end, t.begin)
		case t.begin > pos:
			return nil, tensorErr(t.name, "data_offsets [%d, %d] leave a gap of %d bytes after tensor %q", t.begin, t.end, t.begin-pos, prev)
		case t.end > uint64(len(buf)):
			return nil, tensorErr(t.name, "data_offsets [%d, %d] run past the end of the %d-byte data buffer (file truncated?)", t.begin, t.end, len(buf))
		}
		pos, prev = t.end, t.name
		f.Tensors = append(f.Tensors, Tensor{Name: t.name, DType: t.dtype, Shape: t.shape, Data: buf[t.begin:t.end:t.end]})
	}
	if pos != uint64(len(buf)) {
		return nil, fileErr("tensors cover %d bytes but the data buffer has %d", pos, len(buf))
	}
	return f, nil
}

type tensorInfo struct {
	name       string
	dtype      string
	shape      []int64
	begin, end uint64
}

// parseHeader decodes the JSON header, checking each entry on its own;
// Decode then checks how the entries fit together.
func parseHeader(hdr []byte) (*File, []tensorInfo, error) {
	keys, vals, err := readObject(hdr)
	if err != nil {
		var dup duplicateKeyError
		if errors.As(err, &dup) && string(dup) == metadataKey {
			return nil, nil, fileErr("%s appears twice in the header", metadataKey)
		}
		if errors.As(err, &dup) {
			return nil, nil, tensorErr(string(dup), "appears twice in the header")
		}
		return nil, nil, fileErr("header is not a valid JSON object: %v", err)
	}
	f := &File{}
	var infos []tensorInfo
	for _, name := range keys {
		raw := vals[name]
		if name == metadataKey {
			if f.Metadata, err = parseMetadata(raw); err != nil {
				return nil, nil, err
			}
			continue
		}
		t, err := parseTensorInfo(name, raw)
		if err != nil {
			return nil, nil, err
		}
		infos = append(infos, t)
	}
	return f, infos, nil
}

func parseMetadata(raw json.RawMessage) (map[string]string, error) {
	keys, vals, err := readObject(raw)
	if err != nil {
		return nil, fileErr("%s must be an object of strings: %v", metadataKey, err)
	}
	m := make(map[string]string, len(keys))
	for _, k := range keys {
		var s string
		if err := json.Unmarshal(vals[k], &s); err != nil {
			return nil, fileErr("%s must be an object of strings: key %q has %s", metadataKey, k, short(vals[k]))
		}
		m[k] = s
	}
	return m, nil
}

func parseTensorInfo(name string, raw json.RawMessage) (tensorInfo, error) {
	t := tensorInfo{name: name}
	// Fields other than these three are ignored, as the reference does.
	_, vals, err := readObject(raw)
	if err != nil {
		return t, tensorErr(name, "entry must be an object with dtype, shape and data_offsets: %v", err)
	}
	for _, k := range []string{"dtype", "shape", "data_offsets"} {
		if _, ok := vals[k]; !ok {
			return t, tensorErr(name, "entry has no %q", k)
		}
	}
	if err := json.Unmarshal(vals["dtype"], &t.dtype); err != nil {
		return t, tensorErr(name, "dtype is %s, not a string", short(vals["dtype"]))
	}
	size, ok := itemSizes[t.dtype]
	if !ok {
		return t, tensorErr(name, "unsupported dtype %q (supported: %s)", t.dtype, supported)
	}
	shape, err := parseUints(vals["shape"])
	if err != nil {
		return t, tensorErr(name, "shape is %s, not a list of non-negative integers", short(vals["shape"]))
	}
	t.shape = make([]int64, len(shape))
	for i, d := range shape {
		if d > math.MaxInt64 {
			return t, tensorErr(name, "shape %s is too large", short(vals["shape"]))
		}
		t.shape[i] = int64(d)
	}
	offs, err := parseUints(vals["data_offsets"])
	if err != nil || len(offs) != 2 {
		return t, tensorErr(name, "data_offsets is %s, not [begin, end]", short(vals["data_offsets"]))
	}
	t.begin, t.end = offs[0], offs[1]
	if t.end < t.begin {
		return t, tensorErr(name, "data_offsets [%d, %d] end before they begin", t.begin, t.end)
	}
	want, err := byteSize(t.shape, size)
	if err != nil {
		return t, tensorErr(name, "%v", err)
	}
	if t.end-t.begin != uint64(want) {
		return t, tensorErr(name, "data_offsets [%d, %d] hold %d bytes but shape %s %s needs %d",
			t.begin, t.end, t.end-t.begin, shapeString(t.shape), t.dtype, want)
	}
	return t, nil
}

// parseUints accepts a JSON array of integers in [0, 2^64). It reads tokens
// because decoding into json.Number would also take numbers in strings.
func parseUints(raw json.RawMessage) ([]uint64, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return nil, errors.New("not a list")
	}
	out := []uint64{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		n, ok := tok.(json.Number)
		if !ok {
			return nil, errors.New("not a number")
		}
		v, err := strconv.ParseUint(string(n), 10, 64)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// short quotes a JSON value for an error message, cut to a readable length.
func short(raw json.RawMessage) string {
	s := string(raw)
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return s
}

type duplicateKeyError string

func (e duplicateKeyError) Error() string { return fmt.Sprintf("duplicate key %q", string(e)) }

// readObject decodes one JSON object keeping its key order and refusing
// duplicate keys, which encoding/json would silently merge. Whitespace may
// follow the object (the header's padding); anything else may not. The
// values are slices of b: a header of many megabytes (a large metadata
// entry) is not copied for each level it is parsed at.
func readObject(b []byte) ([]string, map[string]json.RawMessage, error) {
	if !json.Valid(b) {
		return readObjectSlow(b) // for its error message
	}
	i := skipSpace(b, 0)
	if b[i] != '{' {
		return readObjectSlow(b)
	}
	var keys []string
	vals := map[string]json.RawMessage{}
	i = skipSpace(b, i+1)
	for b[i] != '}' {
		end := valueEnd(b, i)
		var key string
		if err := json.Unmarshal(b[i:end], &key); err != nil {
			return nil, nil, err
		}
		i = skipSpace(b, end)
		i = skipSpace(b, i+1) // the colon
		end = valueEnd(b, i)
		if _, dup := vals[key]; dup {
			return nil, nil, duplicateKeyError(key)
		}
		keys = append(keys, key)
		vals[key] = json.RawMessage(b[i:end:end])
		i = skipSpace(b, end)
		if b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
	return keys, vals, nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// valueEnd returns where the JSON value at b[i] ends; b is valid JSON.
func valueEnd(b []byte, i int) int {
	depth := 0
	for ; i < len(b); i++ {
		switch b[i] {
		case '"':
			for i++; b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
			if depth == 0 {
				return i + 1
			}
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i + 1
			}
			if depth < 0 {
				return i // the end of the enclosing container
			}
		case ',', ' ', '\t', '\n', '\r', ':':
			if depth == 0 {
				return i
			}
		}
	}
	return i
}

// readObjectSlow is readObject through encoding/json's decoder, whose
// errors say what is wrong with an invalid header.
func readObjectSlow(b []byte) ([]string, map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, nil, fmt.Errorf("found %v instead of an object", tokenString(tok))
	}
	var keys []string
	vals := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		key := tok.(string) // Token only yields strings in key position
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, err
		}
		if _, dup := vals[key]; dup {
			return nil, nil, duplicateKeyError(key)
		}
		keys = append(keys, key)
		vals[key] = raw
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			err = errors.New("data after the object")
		}
		return nil, nil, err
	}
	return keys, vals, nil
}

func tokenString(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		return string(t)
	case string:
		return strconv.Quote(t)
	case nil:
		return "null"
	}
	return fmt.Sprint(tok)
}

// Encode returns the bytes of a safetensors file holding tensors, laid out
// in the given order, and metadata (omitted when empty).
func Encode(tensors []Tensor, metadata map[string]string) ([]byte, error) {
	hdr, err := header(tensors, metadata)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := writeTo(&buf, hdr, tensors); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Write stores tensors, in the given order, and metadata (omitted when
// empty) at path atomically: readers see the old file or the complete new
// one, never a partial write, even across a crash.
func Write(path string, tensors []Tensor, metadata map[string]string) error {
	hdr, err := header(tensors, metadata)
	if err != nil {
		return withPath(path, err)
	}
	err = atomicfile.Write(path, func(w io.Writer) error { return writeTo(w, hdr, tensors) })
	if err != nil {
		return fmt.Errorf("safetensors: %s: %w", path, err)
	}
	return nil
}

func writeTo(w io.Writer, hdr []byte, tensors []Tensor) error {
	if _, err := w.Write(binary.LittleEndian.AppendUint64(nil, uint64(len(hdr)))); err != nil {
		return err
	}
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	for _, t := range tensors {
		if _, err := w.Write(t.Data); err != nil {
			return err
		}
	}
	return nil
}

// header validates the tensors and builds the padded JSON header in the
// reference implementation's spelling: compact, metadata first, fields in
// the order dtype, shape, data_offsets.
func header(tensors []Tensor, metadata map[string]string) ([]byte, error) {
	b := []byte{'{'}
	if len(metadata) > 0 {
		keys := make([]string, 0, len(metadata))
		for k, v := range metadata {
			if !utf8.ValidString(k) || !utf8.ValidString(v) {
				return nil, fileErr("metadata key %q or its value is not valid UTF-8", k)
			}
			keys = append(keys, k)
		}
		// Sorted so that the same content always gives the same bytes.
		sort.Strings(keys)
		b = appendString(b, metadataKey)
		b = append(b, ":{"...)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendString(b, metadata[k])
		}
		b = append(b, '}')
	}
	seen := make(map[string]bool, len(tensors))
	var off uint64
	for i, t := range tensors {
		if t.Name == metadataKey {
			return nil, tensorErr(t.Name, "the name is reserved for the metadata")
		}
		if !utf8.ValidString(t.Name) {
			return nil, tensorErr(t.Name, "the name is not valid UTF-8")
		}
		if seen[t.Name] {
			return nil, tensorErr(t.Name, "appears twice")
		}
		seen[t.Name] = true
		size, ok := itemSizes[t.DType]
		if !ok {
			return nil, tensorErr(t.Name, "unsupported dtype %q (supported: %s)", t.DType, supported)
		}
		want, err := byteSize(t.Shape, size)
		if err != nil {
			return nil, tensorErr(t.Name, "%v", err)
		}
		if int64(len(t.Data)) != want {
			return nil, tensorErr(t.Name, "shape %s %s needs %d bytes of data, have %d", shapeString(t.Shape), t.DType, want, len(t.Data))
		}
		if i > 0 || len(metadata) > 0 {
			b = append(b, ',')
		}
		b = appendString(b, t.Name)
		b = append(b, `:{"dtype":`...)
		b = appendString(b, t.DType)
		b = append(b, `,"shape":[`...)
		for j, d := range t.Shape {
			if j > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, d, 10)
		}
		b = append(b, `],"data_offsets":[`...)
		b = strconv.AppendUint(b, off, 10)
		b = append(b, ',')
		off += uint64(want)
		b = strconv.AppendUint(b, off, 10)
		b = append(b, "]}"...)
	}
	b = append(b, '}')
	// Pad so that the data starts 8-byte aligned for every dtype.
	for len(b)%8 != 0 {
		b = append(b, ' ')
	}
	return b, nil
}

// appendString appends s as a JSON string without encoding/json's HTML
// escaping, which the reference does not do.
func appendString(b []byte, s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return append(b, bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})...)
}

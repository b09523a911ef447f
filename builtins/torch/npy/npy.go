// Package npy reads and writes NumPy's .npy files, the interchange format
// between dadash experiments and the Python tooling around them.
//
// Arrays are held as raw little-endian bytes in C order, the layout a CPU
// tensor has, so that conversion to and from tensors is a plain copy.
// Reading accepts format versions 1.0, 2.0 and 3.0, either byte order and
// Fortran order; writing always produces little-endian C-order data in the
// oldest version that can hold the header, byte for byte as numpy does.
package npy

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/dadash/dadash/internal/atomicfile"
	"io"
	"os"
	"strconv"
	"strings"
)

// Array is an n-dimensional array in C order.
type Array struct {
	// DType is one of float32, float64, float16, int64, int32, int16,
	// int8, uint8, bool.
	DType string
	// Shape lists the dimensions; empty for a 0-d array.
	Shape []int64
	// Data holds the elements, little-endian, C order.
	Data []byte
}

// Errors returned by Read wrap one of these, so that callers can tell the
// kinds apart with errors.Is; the message says what exactly is wrong.
var (
	ErrNotNPY      = errors.New("not a .npy file")
	ErrVersion     = errors.New("unsupported .npy format version")
	ErrHeader      = errors.New("malformed .npy header")
	ErrDType       = errors.New("unsupported dtype")
	ErrTruncated   = errors.New("truncated data")
	ErrInvalidArgs = errors.New("invalid array")
)

var magic = []byte("\x93NUMPY")

// maxHeaderLen bounds what Read allocates for a header. numpy itself refuses
// headers over 10000 bytes unless pickles are allowed.
const maxHeaderLen = 1 << 20

type dtypeInfo struct {
	kind byte // numpy kind: f, i, u, b
	size int
}

var dtypes = map[string]dtypeInfo{
	"float16": {'f', 2}, "float32": {'f', 4}, "float64": {'f', 8},
	"int8": {'i', 1}, "int16": {'i', 2}, "int32": {'i', 4}, "int64": {'i', 8},
	"uint8": {'u', 1}, "bool": {'b', 1},
}

// ItemSize returns the size in bytes of one element of dtype.
func ItemSize(dtype string) (int, error) {
	info, ok := dtypes[dtype]
	if !ok {
		return 0, fmt.Errorf("%w %q", ErrDType, dtype)
	}
	return info.size, nil
}

// descr is numpy's dtype.str for the little-endian form of dtype.
func descr(dtype string) string {
	info := dtypes[dtype]
	order := byte('<')
	if info.size == 1 {
		order = '|'
	}
	return string(order) + string(info.kind) + strconv.Itoa(info.size)
}

// parseDescr maps a descr string to a dtype and whether its data is
// big-endian.
func parseDescr(d string) (dtype string, bigEndian bool, err error) {
	s := d
	order := byte('=')
	if s != "" && strings.IndexByte("<>|=", s[0]) >= 0 {
		order, s = s[0], s[1:]
	}
	if strings.HasPrefix(s, "O") {
		return "", false, fmt.Errorf("%w: object arrays (descr '%s') hold pickled Python objects and are not supported", ErrDType, d)
	}
	for name, info := range dtypes {
		if s == string(info.kind)+strconv.Itoa(info.size) {
			// The writer's native order is unknown for '='; every machine
			// numpy and PyTorch run on in practice is little-endian.
			return name, order == '>' && info.size > 1, nil
		}
	}
	return "", false, fmt.Errorf("%w: descr '%s' (supported: <f2 <f4 <f8 <i8 <i4 <i2 |i1 |u1 |b1, either byte order)", ErrDType, d)
}

// numElements multiplies out shape, failing on overflow of the byte count.
func numElements(shape []int64, itemSize int) (int64, error) {
	n := int64(1)
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension in shape %s", shapeString(shape))
		}
		if d != 0 && n > (1<<62)/int64(itemSize)/d {
			return 0, fmt.Errorf("shape %s is too large", shapeString(shape))
		}
		n *= d
	}
	return n, nil
}

// shapeString writes a shape as Python writes a tuple: (), (3,), (2, 3).
func shapeString(shape []int64) string {
	var b strings.Builder
	b.WriteByte('(')
	for i, d := range shape {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.FormatInt(d, 10))
	}
	if len(shape) == 1 {
		b.WriteByte(',')
	}
	b.WriteByte(')')
	return b.String()
}

// Read reads one array from r. Bytes after the array's data are left
// unread, as numpy leaves them.
func Read(r io.Reader) (*Array, error) {
	a, err := read(r, -1)
	if err != nil {
		return nil, fmt.Errorf("npy: %w", err)
	}
	return a, nil
}

// ReadFile reads the array stored at path; errors name the file.
func ReadFile(path string) (*Array, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("npy: %w", err)
	}
	defer f.Close()
	size := int64(-1)
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		size = st.Size()
	}
	a, err := read(bufio.NewReaderSize(f, 1<<16), size)
	if err != nil {
		return nil, fmt.Errorf("npy: %s: %w", path, err)
	}
	return a, nil
}

// read reads an array; size is the total input length when known, which lets
// it allocate the data buffer exactly once.
func read(r io.Reader, size int64) (*Array, error) {
	var pre [8]byte
	n, err := io.ReadFull(r, pre[:])
	if err != nil && n < len(magic) {
		return nil, fmt.Errorf("%w: %s", ErrNotNPY, shortInput(n, err))
	}
	if !bytes.Equal(pre[:6], magic) {
		return nil, fmt.Errorf("%w: bad magic %q, want %q", ErrNotNPY, pre[:6], magic)
	}
	if n < 8 {
		return nil, fmt.Errorf("%w: file ends inside the version number", ErrHeader)
	}
	major, minor := pre[6], pre[7]
	var lenSize int
	switch {
	case major == 1 && minor == 0:
		lenSize = 2
	case (major == 2 || major == 3) && minor == 0:
		lenSize = 4
	default:
		return nil, fmt.Errorf("%w %d.%d (supported: 1.0, 2.0, 3.0)", ErrVersion, major, minor)
	}
	var lb [4]byte
	if n, err := io.ReadFull(r, lb[:lenSize]); err != nil {
		return nil, fmt.Errorf("%w: file ends inside the header length (%d of %d bytes)", ErrHeader, n, lenSize)
	}
	hlen := int64(binary.LittleEndian.Uint16(lb[:2]))
	if lenSize == 4 {
		hlen = int64(binary.LittleEndian.Uint32(lb[:]))
	}
	if hlen > maxHeaderLen {
		return nil, fmt.Errorf("%w: header length %d exceeds the %d byte limit", ErrHeader, hlen, maxHeaderLen)
	}
	prefixLen := int64(len(pre) + lenSize)
	if size >= 0 && prefixLen+hlen > size {
		return nil, fmt.Errorf("%w: file ends inside the header (%d of %d bytes)", ErrHeader, size-prefixLen, hlen)
	}
	hbuf := make([]byte, hlen)
	if n, err := io.ReadFull(r, hbuf); err != nil {
		return nil, fmt.Errorf("%w: file ends inside the header (%d of %d bytes)", ErrHeader, n, hlen)
	}
	a, fortran, bigEndian, err := parseHeader(hbuf, major)
	if err != nil {
		return nil, err
	}
	itemSize := dtypes[a.DType].size
	numel, err := numElements(a.Shape, itemSize)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrHeader, err)
	}
	want := numel * int64(itemSize)
	avail := int64(-1)
	if size >= 0 {
		avail = size - prefixLen - hlen
	}
	var have int64
	a.Data, have, err = readData(r, want, avail)
	if err != nil {
		return nil, fmt.Errorf("%w: expected %d bytes of data for shape %s %s, file has %d",
			ErrTruncated, want, shapeString(a.Shape), a.DType, have)
	}
	if bigEndian {
		swapBytes(a.Data, itemSize)
	}
	if fortran && len(a.Shape) > 1 && numel > 1 {
		a.Data = fortranToC(a.Data, a.Shape, itemSize)
	}
	return a, nil
}

func shortInput(n int, err error) string {
	if n == 0 && errors.Is(err, io.EOF) {
		return "empty input"
	}
	return fmt.Sprintf("only %d bytes", n)
}

// readData reads exactly want bytes, or reports how many there were. With
// the available length unknown it grows its buffer as bytes arrive rather
// than trusting the header's size, so a corrupt header cannot make it
// allocate more than the input holds.
func readData(r io.Reader, want, avail int64) ([]byte, int64, error) {
	if avail >= 0 && avail < want {
		return nil, avail, io.ErrUnexpectedEOF
	}
	if avail >= 0 {
		buf := make([]byte, want)
		n, err := io.ReadFull(r, buf)
		return buf, int64(n), err
	}
	var buf bytes.Buffer
	buf.Grow(int(min(want, 1<<20)))
	n, err := io.CopyN(&buf, r, want)
	if err == nil && n < want {
		err = io.ErrUnexpectedEOF
	}
	return buf.Bytes(), n, err
}

func parseHeader(hbuf []byte, major byte) (a *Array, fortran, bigEndian bool, err error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrHeader, fmt.Sprintf(format, args...))
	}
	// Versions 1 and 2 are latin1 and 3 is UTF-8; the keys and values
	// numpy accepts are ASCII either way, so the bytes parse as they are.
	v, err := parseLiteral(string(hbuf))
	if err != nil {
		return nil, false, false, bad("%v", err)
	}
	d, ok := v.(pyDict)
	if !ok {
		return nil, false, false, bad("header is %s, not a dictionary", pyRepr(v))
	}
	for _, k := range d.keys {
		if k != "descr" && k != "fortran_order" && k != "shape" {
			return nil, false, false, bad("unexpected key '%s'", k)
		}
	}
	for _, k := range []string{"descr", "fortran_order", "shape"} {
		if _, ok := d.vals[k]; !ok {
			return nil, false, false, bad("missing key '%s'", k)
		}
	}
	fortran, ok = d.vals["fortran_order"].(bool)
	if !ok {
		return nil, false, false, bad("fortran_order is %s, not True or False", pyRepr(d.vals["fortran_order"]))
	}
	tup, ok := d.vals["shape"].(pyTuple)
	if !ok {
		return nil, false, false, bad("shape is %s, not a tuple", pyRepr(d.vals["shape"]))
	}
	shape := make([]int64, len(tup))
	for i, x := range tup {
		n, ok := x.(int64)
		if !ok || n < 0 {
			return nil, false, false, bad("shape %s has %s, not a non-negative integer", pyRepr(tup), pyRepr(x))
		}
		shape[i] = n
	}
	var ds string
	switch dv := d.vals["descr"].(type) {
	case string:
		ds = dv
	case pyList:
		return nil, false, false, fmt.Errorf("%w: structured dtype %s (record arrays are not supported)", ErrDType, pyRepr(dv))
	default:
		return nil, false, false, bad("descr is %s, not a dtype string", pyRepr(dv))
	}
	dtype, bigEndian, err := parseDescr(ds)
	if err != nil {
		return nil, false, false, err
	}
	return &Array{DType: dtype, Shape: shape}, fortran, bigEndian, nil
}

func swapBytes(b []byte, size int) {
	for i := 0; i+size <= len(b); i += size {
		e := b[i : i+size]
		for j, k := 0, size-1; j < k; j, k = j+1, k-1 {
			e[j], e[k] = e[k], e[j]
		}
	}
}

// fortranToC reorders column-major data into row-major order.
func fortranToC(src []byte, shape []int64, size int) []byte {
	nd := len(shape)
	fstride := make([]int64, nd) // byte strides in the Fortran layout
	s := int64(size)
	for i := range nd {
		fstride[i] = s
		s *= shape[i]
	}
	dst := make([]byte, len(src))
	idx := make([]int64, nd)
	var off int64
	for o := 0; o < len(dst); o += size {
		copy(dst[o:o+size], src[off:off+int64(size)])
		// Advance the C-order index like an odometer, last axis fastest.
		for ax := nd - 1; ax >= 0; ax-- {
			idx[ax]++
			off += fstride[ax]
			if idx[ax] < shape[ax] {
				break
			}
			off -= fstride[ax] * shape[ax]
			idx[ax] = 0
		}
	}
	return dst
}

// header returns the complete preamble numpy would write for a: magic,
// version, length and the space-padded dict, aligned to 64 bytes.
func header(a *Array) []byte {
	var b strings.Builder
	b.WriteString("{'descr': '")
	b.WriteString(descr(a.DType))
	b.WriteString("', 'fortran_order': False, 'shape': ")
	b.WriteString(shapeString(a.Shape))
	b.WriteString(", }")
	if len(a.Shape) > 0 {
		// numpy leaves room for the first axis to grow in place.
		b.WriteString(strings.Repeat(" ", 21-len(strconv.FormatInt(a.Shape[0], 10))))
	}
	h := b.String()
	const align = 64
	version, lenSize := byte(1), 2
	pad := align - (len(magic)+2+lenSize+len(h)+1)%align
	if len(h)+1+pad > 0xffff {
		version, lenSize = 2, 4
		pad = align - (len(magic)+2+lenSize+len(h)+1)%align
	}
	out := make([]byte, 0, len(magic)+2+lenSize+len(h)+pad+1)
	out = append(out, magic...)
	out = append(out, version, 0)
	hlen := len(h) + pad + 1
	if lenSize == 2 {
		out = binary.LittleEndian.AppendUint16(out, uint16(hlen))
	} else {
		out = binary.LittleEndian.AppendUint32(out, uint32(hlen))
	}
	out = append(out, h...)
	out = append(out, bytes.Repeat([]byte{' '}, pad)...)
	return append(out, '\n')
}

func validate(a *Array) error {
	if a == nil {
		return fmt.Errorf("%w: nil array", ErrInvalidArgs)
	}
	size, ok := dtypes[a.DType]
	if !ok {
		return fmt.Errorf("%w %q", ErrDType, a.DType)
	}
	numel, err := numElements(a.Shape, size.size)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidArgs, err)
	}
	if want := numel * int64(size.size); int64(len(a.Data)) != want {
		return fmt.Errorf("%w: shape %s %s needs %d bytes of data, have %d",
			ErrInvalidArgs, shapeString(a.Shape), a.DType, want, len(a.Data))
	}
	return nil
}

// Write writes a as a .npy stream.
func Write(w io.Writer, a *Array) error {
	if err := validate(a); err != nil {
		return fmt.Errorf("npy: %w", err)
	}
	if _, err := w.Write(header(a)); err != nil {
		return fmt.Errorf("npy: %w", err)
	}
	if _, err := w.Write(a.Data); err != nil {
		return fmt.Errorf("npy: %w", err)
	}
	return nil
}

// WriteFile writes a to path atomically: readers see either the old file or
// the complete new one, never a partial write, even across a crash.
func WriteFile(path string, a *Array) error {
	if err := validate(a); err != nil {
		return fmt.Errorf("npy: %s: %w", path, err)
	}
	err := atomicfile.Write(path, func(w io.Writer) error {
		if _, err := w.Write(header(a)); err != nil {
			return err
		}
		_, err := w.Write(a.Data)
		return err
	})
	if err != nil {
		return fmt.Errorf("npy: %s: %w", path, err)
	}
	return nil
}

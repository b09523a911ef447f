package npy

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// Little-endian byte builders for expected data.

func f32s(v ...float32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

func f64s(v ...float64) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x))
	}
	return b
}

func i64s(v ...int64) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint64(b, uint64(x))
	}
	return b
}

func i32s(v ...int32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, uint32(x))
	}
	return b
}

func i16s(v ...int16) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint16(b, uint16(x))
	}
	return b
}

// npyBytes assembles a file by hand: magic, version, header length in the
// version's width, header text, data.
func npyBytes(major byte, hdr string, data []byte) []byte {
	b := append([]byte("\x93NUMPY"), major, 0)
	if major == 1 {
		b = binary.LittleEndian.AppendUint16(b, uint16(len(hdr)))
	} else {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(hdr)))
	}
	b = append(b, hdr...)
	return append(b, data...)
}

func TestReadNumpyFixtures(t *testing.T) {
	tests := []struct {
		file  string
		dtype string
		shape []int64
		data  []byte
	}{
		{"v1_f4_2x3.npy", "float32", []int64{2, 3}, f32s(0, 0.25, 0.5, 0.75, 1, 1.25)},
		{"v2_i8_3.npy", "int64", []int64{3}, i64s(1, -2, 3)},
		{"v3_u1_2x2.npy", "uint8", []int64{2, 2}, []byte{0, 1, 254, 255}},
		{"be_f8_2x2.npy", "float64", []int64{2, 2}, f64s(1.5, -2, 3.25, 1e300)},
		{"be_i2_3.npy", "int16", []int64{3}, i16s(1, -2, 300)},
		{"fortran_i4_2x3x4.npy", "int32", []int64{2, 3, 4}, i32s(
			0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
			12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23)},
		{"bool_4.npy", "bool", []int64{4}, []byte{1, 0, 0, 1}},
		{"f2_3.npy", "float16", []int64{3}, []byte{0x00, 0x38, 0x00, 0xbc, 0xff, 0x7b}},
		{"i1_scalar.npy", "int8", []int64{}, []byte{0xfb}},
		{"f4_empty_0x3.npy", "float32", []int64{0, 3}, []byte{}},
		{"i2_32dims.npy", "int16", append(ones(31), 2), i16s(0, 1)},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			a, err := ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if a.DType != tc.dtype || !reflect.DeepEqual(a.Shape, tc.shape) || !bytes.Equal(a.Data, tc.data) {
				t.Errorf("got %s %v % x, want %s %v % x", a.DType, a.Shape, a.Data, tc.dtype, tc.shape, tc.data)
			}
		})
	}
}

func ones(n int) []int64 {
	s := make([]int64, n)
	for i := range s {
		s[i] = 1
	}
	return s
}

// Files numpy wrote in version 1.0, C order, little-endian must come back
// byte for byte, header padding included.
func TestWriteMatchesNumpy(t *testing.T) {
	for _, file := range []string{"v1_f4_2x3.npy", "bool_4.npy", "f2_3.npy", "i1_scalar.npy", "f4_empty_0x3.npy", "i2_32dims.npy"} {
		t.Run(file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", file))
			if err != nil {
				t.Fatal(err)
			}
			a, err := Read(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := Write(&buf, a); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), raw) {
				t.Errorf("got\n%q\nwant\n%q", buf.Bytes(), raw)
			}
		})
	}
}

func TestReadHandMade(t *testing.T) {
	const std = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n"
	tests := []struct {
		name  string
		in    []byte
		dtype string
		shape []int64
		data  []byte
	}{
		{"v1", npyBytes(1, std, f32s(1, 2)), "float32", []int64{2}, f32s(1, 2)},
		{"v2", npyBytes(2, std, f32s(1, 2)), "float32", []int64{2}, f32s(1, 2)},
		{"v3", npyBytes(3, std, f32s(1, 2)), "float32", []int64{2}, f32s(1, 2)},
		{"trailing bytes ignored", npyBytes(1, std, append(f32s(1, 2), 9, 9, 9)), "float32", []int64{2}, f32s(1, 2)},
		{"python2 long ints", npyBytes(1, "{'descr': '<i8', 'fortran_order': False, 'shape': (2L, 1L), }", i64s(5, 6)), "int64", []int64{2, 1}, i64s(5, 6)},
		{"double quotes, other key order, no padding", npyBytes(1, `{"shape": (1,), "fortran_order": False, "descr": "<f8"}`, f64s(0.5)), "float64", []int64{1}, f64s(0.5)},
		{"extra whitespace", npyBytes(1, "\n{ 'descr' : '<i2' ,\t'fortran_order':False,'shape':( 3 , ) }  \n", i16s(1, 2, 3)), "int16", []int64{3}, i16s(1, 2, 3)},
		{"scalar", npyBytes(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }", f64s(math.Pi)), "float64", []int64{}, f64s(math.Pi)},
		{"parenthesised int is not a tuple but (3,) is", npyBytes(1, "{'descr': '|u1', 'fortran_order': False, 'shape': ((3),), }", []byte{1, 2, 3}), "uint8", []int64{3}, []byte{1, 2, 3}},
		{"native order", npyBytes(1, "{'descr': '=i4', 'fortran_order': False, 'shape': (1,), }", i32s(-7)), "int32", []int64{1}, i32s(-7)},
		{"no order", npyBytes(1, "{'descr': 'i4', 'fortran_order': False, 'shape': (1,), }", i32s(-7)), "int32", []int64{1}, i32s(-7)},
		{"single byte with order", npyBytes(1, "{'descr': '<b1', 'fortran_order': False, 'shape': (2,), }", []byte{0, 1}), "bool", []int64{2}, []byte{0, 1}},
		{"single byte big-endian", npyBytes(1, "{'descr': '>i1', 'fortran_order': False, 'shape': (2,), }", []byte{0x80, 1}), "int8", []int64{2}, []byte{0x80, 1}},
		{"big-endian f4", npyBytes(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", []byte{0x3f, 0x80, 0, 0, 0xc0, 0, 0, 0}), "float32", []int64{2}, f32s(1, -2)},
		{"big-endian i8", npyBytes(1, "{'descr': '>i8', 'fortran_order': False, 'shape': (1,), }", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe}), "int64", []int64{1}, i64s(-2)},
		{"big-endian f2", npyBytes(1, "{'descr': '>f2', 'fortran_order': False, 'shape': (1,), }", []byte{0x3c, 0x00}), "float16", []int64{1}, []byte{0x00, 0x3c}},
		{"fortran 2x3", npyBytes(1, "{'descr': '<i2', 'fortran_order': True, 'shape': (2, 3), }", i16s(1, 4, 2, 5, 3, 6)), "int16", []int64{2, 3}, i16s(1, 2, 3, 4, 5, 6)},
		{"fortran big-endian 3x2", npyBytes(1, "{'descr': '>i2', 'fortran_order': True, 'shape': (3, 2), }", []byte{0, 1, 0, 3, 0, 5, 0, 2, 0, 4, 0, 6}), "int16", []int64{3, 2}, i16s(1, 2, 3, 4, 5, 6)},
		{"fortran 1d is C", npyBytes(1, "{'descr': '|u1', 'fortran_order': True, 'shape': (3,), }", []byte{1, 2, 3}), "uint8", []int64{3}, []byte{1, 2, 3}},
		{"fortran empty", npyBytes(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (0, 4), }", nil), "float32", []int64{0, 4}, []byte{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := Read(bytes.NewReader(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if a.DType != tc.dtype || !reflect.DeepEqual(a.Shape, tc.shape) || !bytes.Equal(a.Data, tc.data) {
				t.Errorf("got %s %v % x, want %s %v % x", a.DType, a.Shape, a.Data, tc.dtype, tc.shape, tc.data)
			}
		})
	}
}

func TestReadErrors(t *testing.T) {
	hdr := func(descr, fortran, shape string) string {
		return "{'descr': " + descr + ", 'fortran_order': " + fortran + ", 'shape': " + shape + ", }\n"
	}
	v1 := func(h string) []byte { return npyBytes(1, h, nil) }
	tests := []struct {
		name string
		in   []byte
		is   error
		want string
	}{
		{"empty", nil, ErrNotNPY, "not a .npy file: empty input"},
		{"short", []byte("\x93NU"), ErrNotNPY, "only 3 bytes"},
		{"zip", []byte("PK\x03\x04\x14\x00\x00\x00\x08\x00"), ErrNotNPY, `bad magic "PK\x03\x04\x14\x00"`},
		{"text", []byte("hello, world\n"), ErrNotNPY, "bad magic"},
		{"no version", []byte("\x93NUMPY\x01"), ErrHeader, "file ends inside the version number"},
		{"version 4.0 real", append([]byte("\x93NUMPY\x04\x00"), 0, 0, 0, 0), ErrVersion, "unsupported .npy format version 4.0 (supported: 1.0, 2.0, 3.0)"},
		{"version 1.1", []byte("\x93NUMPY\x01\x01\x00\x00"), ErrVersion, "version 1.1"},
		{"version 0.0", []byte("\x93NUMPY\x00\x00\x00\x00"), ErrVersion, "version 0.0"},
		{"short header length", []byte("\x93NUMPY\x02\x00\x10\x00"), ErrHeader, "file ends inside the header length (2 of 4 bytes)"},
		{"header past end", append([]byte("\x93NUMPY\x01\x00\x50\x00"), "{'descr'"...), ErrHeader, "file ends inside the header (8 of 80 bytes)"},
		{"header too long", []byte("\x93NUMPY\x02\x00\x00\x00\x00\x10"), ErrHeader, "header length 268435456 exceeds the 1048576 byte limit"},
		{"not a dict", v1("[1, 2]"), ErrHeader, "header is [1, 2], not a dictionary"},
		{"missing shape", v1("{'descr': '<f4', 'fortran_order': False}"), ErrHeader, "missing key 'shape'"},
		{"missing descr", v1("{'shape': (), 'fortran_order': False}"), ErrHeader, "missing key 'descr'"},
		{"unexpected key", v1("{'descr': '<f4', 'fortran_order': False, 'shape': (), 'order': 'C'}"), ErrHeader, "unexpected key 'order'"},
		{"duplicate key", v1("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': ()}"), ErrHeader, `duplicate key "descr"`},
		{"non-string key", v1("{1: 2}"), ErrHeader, "dictionary key 1 is not a string"},
		{"fortran not bool", v1(hdr("'<f4'", "'yes'", "()")), ErrHeader, "fortran_order is 'yes', not True or False"},
		{"fortran None", v1(hdr("'<f4'", "None", "()")), ErrHeader, "fortran_order is None"},
		{"shape list", v1(hdr("'<f4'", "False", "[2, 3]")), ErrHeader, "shape is [2, 3], not a tuple"},
		{"shape int", v1(hdr("'<f4'", "False", "(3)")), ErrHeader, "shape is 3, not a tuple"},
		{"shape negative", v1(hdr("'<f4'", "False", "(2, -1)")), ErrHeader, "shape (2, -1) has -1, not a non-negative integer"},
		{"shape string", v1(hdr("'<f4'", "False", "(2, 'a')")), ErrHeader, "shape (2, 'a') has 'a'"},
		{"shape float", v1(hdr("'<f4'", "False", "(2.5,)")), ErrHeader, "expected an integer"},
		{"shape huge int", v1(hdr("'<f4'", "False", "(99999999999999999999,)")), ErrHeader, "integer 99999999999999999999 out of range"},
		{"shape too large", v1(hdr("'<f4'", "False", "(4611686018427387904, 4)")), ErrHeader, "shape (4611686018427387904, 4) is too large"},
		{"unterminated string", v1("{'descr: '<f4'}"), ErrHeader, "expected ':'"},
		{"unterminated string at end", v1("{'descr"), ErrHeader, "unterminated string"},
		{"missing brace", v1("{'descr': '<f4', 'fortran_order': False, 'shape': ()"), ErrHeader, "missing '}'"},
		{"garbage after", v1(hdr("'<f4'", "False", "()") + "x"), ErrHeader, `unexpected "x" after the dictionary`},
		{"unknown name", v1(hdr("'<f4'", "false", "()")), ErrHeader, `unexpected name "false"`},
		{"empty header", v1(""), ErrHeader, "unexpected end of header"},
		{"deep nesting", v1(strings.Repeat("(", 100)), ErrHeader, "nested too deeply"},
		{"descr not string", v1(hdr("5", "False", "()")), ErrHeader, "descr is 5, not a dtype string"},
		{"complex", v1(hdr("'<c8'", "False", "()")), ErrDType, "unsupported dtype: descr '<c8'"},
		{"uint16", v1(hdr("'<u2'", "False", "()")), ErrDType, "descr '<u2'"},
		{"unicode", v1(hdr("'<U5'", "False", "()")), ErrDType, "descr '<U5'"},
		{"object", v1(hdr("'|O'", "False", "()")), ErrDType, "object arrays (descr '|O') hold pickled Python objects"},
		{"structured", v1(hdr("[('a', '<f4'), ('b', '<i8')]", "False", "()")), ErrDType, "structured dtype [('a', '<f4'), ('b', '<i8')]"},
		{"truncated data", npyBytes(1, hdr("'<f4'", "False", "(2, 3)"), make([]byte, 20)), ErrTruncated,
			"truncated data: expected 24 bytes of data for shape (2, 3) float32, file has 20"},
		{"no data", npyBytes(1, hdr("'|b1'", "False", "(1,)"), nil), ErrTruncated,
			"expected 1 bytes of data for shape (1,) bool, file has 0"},
		{"huge shape, no data", npyBytes(1, hdr("'<f8'", "False", "(1000000000000,)"), f64s(1)), ErrTruncated,
			"expected 8000000000000 bytes of data for shape (1000000000000,) float64, file has 8"},
	}
	dir := t.TempDir()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read(bytes.NewReader(tc.in))
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Read: err = %v, want %v containing %q", err, tc.is, tc.want)
			}
			// ReadFile knows the size up front and takes other paths; the
			// messages must agree and name the file.
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".npy")
			if err := os.WriteFile(path, tc.in, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err = ReadFile(path)
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("ReadFile: err = %v, want %v containing %q and the path", err, tc.is, tc.want)
			}
		})
	}
}

func TestReadFileUnsupportedFixtures(t *testing.T) {
	tests := []struct {
		file string
		want string
	}{
		{"object.npy", "testdata/object.npy: unsupported dtype: object arrays (descr '|O')"},
		{"structured.npy", "testdata/structured.npy: unsupported dtype: structured dtype [('a', '<f4'), ('b', '<i8')]"},
		{"u2.npy", "testdata/u2.npy: unsupported dtype: descr '<u2'"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			_, err := ReadFile("testdata/" + tc.file)
			if !errors.Is(err, ErrDType) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestReadFileMissing(t *testing.T) {
	_, err := ReadFile("testdata/does-not-exist.npy")
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "does-not-exist.npy") {
		t.Errorf("err = %v", err)
	}
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		a    Array
	}{
		{"float32 2x3", Array{"float32", []int64{2, 3}, f32s(1, 2, 3, 4, 5, float32(math.Inf(-1)))}},
		{"float64 scalar", Array{"float64", []int64{}, f64s(math.NaN())}},
		{"float16", Array{"float16", []int64{2}, []byte{0x00, 0x3c, 0xff, 0x7b}}},
		{"int64", Array{"int64", []int64{3}, i64s(math.MinInt64, 0, math.MaxInt64)}},
		{"int32 3d", Array{"int32", []int64{2, 1, 2}, i32s(1, 2, 3, 4)}},
		{"int16", Array{"int16", []int64{1}, i16s(-1)}},
		{"int8", Array{"int8", []int64{2}, []byte{0x80, 0x7f}}},
		{"uint8", Array{"uint8", []int64{2, 2}, []byte{0, 1, 2, 255}}},
		{"bool", Array{"bool", []int64{3}, []byte{1, 0, 1}}},
		{"empty", Array{"int64", []int64{0}, []byte{}}},
		{"empty 2d", Array{"float32", []int64{3, 0}, []byte{}}},
		{"big first dim", Array{"uint8", []int64{123456789012, 0}, []byte{}}},
	}
	dir := t.TempDir()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Write(&buf, &tc.a); err != nil {
				t.Fatal(err)
			}
			if buf.Len()-len(tc.a.Data) != 128 {
				t.Errorf("preamble is %d bytes, want 128 (64-byte aligned)", buf.Len()-len(tc.a.Data))
			}
			got, err := Read(&buf)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tc.a) {
				t.Errorf("Read(Write) = %+v, want %+v", *got, tc.a)
			}
			path := filepath.Join(dir, "a.npy")
			if err := WriteFile(path, &tc.a); err != nil {
				t.Fatal(err)
			}
			got, err = ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tc.a) {
				t.Errorf("ReadFile(WriteFile) = %+v, want %+v", *got, tc.a)
			}
		})
	}
}

// A header over 64 KiB no longer fits version 1.0's length field.
func TestWriteVersion2(t *testing.T) {
	a := &Array{DType: "uint8", Shape: ones(30000), Data: []byte{42}}
	var buf bytes.Buffer
	if err := Write(&buf, a); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if b[6] != 2 || b[7] != 0 {
		t.Fatalf("version %d.%d, want 2.0", b[6], b[7])
	}
	if hl := binary.LittleEndian.Uint32(b[8:12]); (12+int(hl))%64 != 0 || b[11+hl] != '\n' {
		t.Errorf("header length %d is not 64-byte aligned or lacks the newline", hl)
	}
	got, err := Read(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, a) {
		t.Errorf("round trip changed the array")
	}
}

func TestWriteErrors(t *testing.T) {
	tests := []struct {
		name string
		a    *Array
		is   error
		want string
	}{
		{"nil", nil, ErrInvalidArgs, "nil array"},
		{"unknown dtype", &Array{DType: "complex64", Shape: []int64{}}, ErrDType, `unsupported dtype "complex64"`},
		{"short data", &Array{DType: "float32", Shape: []int64{2, 2}, Data: make([]byte, 15)}, ErrInvalidArgs, "shape (2, 2) float32 needs 16 bytes of data, have 15"},
		{"negative dim", &Array{DType: "float32", Shape: []int64{-2}}, ErrInvalidArgs, "negative dimension in shape (-2,)"},
		{"overflow", &Array{DType: "float64", Shape: []int64{1 << 40, 1 << 40}}, ErrInvalidArgs, "too large"},
	}
	dir := t.TempDir()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Write(&bytes.Buffer{}, tc.a)
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Write: err = %v, want %v containing %q", err, tc.is, tc.want)
			}
			path := filepath.Join(dir, "x.npy")
			err = WriteFile(path, tc.a)
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("WriteFile: err = %v, want %v containing %q and the path", err, tc.is, tc.want)
			}
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Errorf("a failed WriteFile left %s behind", path)
			}
		})
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "w.npy")
	a := &Array{DType: "int32", Shape: []int64{1}, Data: i32s(1)}
	if err := WriteFile(path, a); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o644 {
		t.Errorf("new file mode %v, want 0644", st.Mode().Perm())
	}
	// Overwriting keeps the existing file's permissions.
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	b := &Array{DType: "int32", Shape: []int64{2}, Data: i32s(2, 3)}
	if err := WriteFile(path, b); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFile(path)
	if err != nil || !reflect.DeepEqual(got, b) {
		t.Fatalf("after overwrite: %+v, %v", got, err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("overwritten file mode %v, want 0600", st.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	// A folder that does not exist fails with the path in the message.
	bad := filepath.Join(dir, "missing", "x.npy")
	if err := WriteFile(bad, a); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("WriteFile into a missing folder: %v", err)
	}
}

func TestItemSize(t *testing.T) {
	tests := []struct {
		dtype string
		want  int
	}{
		{"float16", 2}, {"float32", 4}, {"float64", 8}, {"int8", 1}, {"int16", 2},
		{"int32", 4}, {"int64", 8}, {"uint8", 1}, {"bool", 1},
	}
	for _, tc := range tests {
		if got, err := ItemSize(tc.dtype); err != nil || got != tc.want {
			t.Errorf("ItemSize(%q) = %d, %v, want %d", tc.dtype, got, err, tc.want)
		}
	}
	if _, err := ItemSize("bfloat16"); !errors.Is(err, ErrDType) {
		t.Errorf("ItemSize(bfloat16) err = %v, want ErrDType", err)
	}
}

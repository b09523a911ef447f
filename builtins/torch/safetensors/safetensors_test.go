package safetensors

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

func f32s(v ...float32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

// file assembles a safetensors file by hand from a header and a buffer.
func file(hdr string, buf []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(hdr)))
	return append(append(b, hdr...), buf...)
}

// The reference implementation's own serialisation tests fix these bytes.
func TestEncodeMatchesReference(t *testing.T) {
	data := f32s(0, 1, 2, 3, 4, 5)
	tests := []struct {
		name     string
		tensors  []Tensor
		metadata map[string]string
		want     []byte
	}{
		{"one tensor, no padding needed", []Tensor{{"attn.0", "F32", []int64{1, 2, 3}, data}}, nil,
			file(`{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}`, data)},
		{"padding to 8", []Tensor{{"attn0", "F32", []int64{1, 1, 2, 3}, data}}, nil,
			file(`{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}       `, data)},
		{"empty", nil, nil, file(`{}      `, nil)},
		{"metadata only", nil, map[string]string{"framework": "pt"},
			file(`{"__metadata__":{"framework":"pt"}}     `, nil)},
		{"order given, metadata sorted, no HTML escaping", []Tensor{
			{"z", "U8", []int64{2}, []byte{1, 2}},
			{"a<b>&", "BOOL", []int64{}, []byte{1}},
		}, map[string]string{"b": "2", "a": "x<y"},
			file(`{"__metadata__":{"a":"x<y","b":"2"},"z":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"a<b>&":{"dtype":"BOOL","shape":[],"data_offsets":[2,3]}}       `, []byte{1, 2, 1})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Encode(tc.tensors, tc.metadata)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tc.want) {
				t.Errorf("got\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	tensors := []Tensor{
		{"w", "F32", []int64{2, 3}, f32s(1, 2, 3, 4, 5, 6)},
		{"empty", "F64", []int64{0, 4}, []byte{}},
		{"b", "BF16", []int64{1}, []byte{0x80, 0x3f}},
		{"h", "F16", []int64{2}, []byte{0, 0x3c, 0, 0xc0}},
		{"step", "I64", []int64{}, binary.LittleEndian.AppendUint64(nil, 42)},
		{"i32", "I32", []int64{1, 1}, []byte{1, 0, 0, 0}},
		{"i16", "I16", []int64{1}, []byte{0xff, 0xff}},
		{"i8", "I8", []int64{3}, []byte{0x80, 0, 0x7f}},
		{"mask", "BOOL", []int64{2, 1}, []byte{1, 0}},
		{"pixels", "U8", []int64{4}, []byte{0, 1, 2, 255}},
		{"", "U8", []int64{0}, []byte{}},
		{"ünïcode \"quoted\"", "U8", []int64{1}, []byte{7}},
	}
	tests := []struct {
		name     string
		tensors  []Tensor
		metadata map[string]string
	}{
		{"all dtypes with metadata", tensors, map[string]string{"format": "pt", "epoch": "3", "note": "line\nbreak"}},
		{"reversed without metadata", reverse(tensors), nil},
		{"nothing", nil, nil},
	}
	dir := t.TempDir()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, "m.safetensors")
			if err := Write(path, tc.tensors, tc.metadata); err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if n := binary.LittleEndian.Uint64(raw); n%8 != 0 {
				t.Errorf("header length %d is not a multiple of 8", n)
			}
			f, err := Read(path)
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Tensors) != len(tc.tensors) {
				t.Fatalf("read %d tensors, wrote %d", len(f.Tensors), len(tc.tensors))
			}
			for i, want := range tc.tensors {
				if got := f.Tensors[i]; got.Name != want.Name || got.DType != want.DType ||
					!reflect.DeepEqual(got.Shape, want.Shape) || !bytes.Equal(got.Data, want.Data) {
					t.Errorf("tensor %d = %+v, want %+v", i, got, want)
				}
			}
			if !reflect.DeepEqual(f.Metadata, tc.metadata) {
				t.Errorf("metadata = %v, want %v", f.Metadata, tc.metadata)
			}
		})
	}
}

func reverse(ts []Tensor) []Tensor {
	out := make([]Tensor, len(ts))
	for i, t := range ts {
		out[len(ts)-1-i] = t
	}
	return out
}

func TestReadOrdersByOffset(t *testing.T) {
	// The header lists tensors in another order than their data, as older
	// writers sorted by name; zero-size tensors share offsets and keep their
	// header order.
	hdr := `{"b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]},"z0":{"dtype":"F32","shape":[0],"data_offsets":[1,1]},` +
		`"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"y0":{"dtype":"F32","shape":[0],"data_offsets":[1,1]},` +
		`"__metadata__":{},"c":{"dtype":"U8","shape":[1],"data_offsets":[3,4],"extra":"ignored"}}`
	f, err := Decode(file(hdr, []byte{10, 20, 30, 40}))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, t := range f.Tensors {
		names = append(names, t.Name)
	}
	if want := []string{"a", "z0", "y0", "b", "c"}; !reflect.DeepEqual(names, want) {
		t.Errorf("order %v, want %v", names, want)
	}
	if b, ok := f.Tensor("b"); !ok || !bytes.Equal(b.Data, []byte{20, 30}) {
		t.Errorf("tensor b = %+v, %v", b, ok)
	}
	if _, ok := f.Tensor("nope"); ok {
		t.Error("found a tensor that is not there")
	}
	if f.Metadata == nil || len(f.Metadata) != 0 {
		t.Errorf("empty __metadata__ read as %#v, want an empty map", f.Metadata)
	}
}

func TestDecodeErrors(t *testing.T) {
	entry := func(name, dtype, shape, offs string) string {
		return `"` + name + `":{"dtype":` + dtype + `,"shape":` + shape + `,"data_offsets":` + offs + `}`
	}
	one := func(dtype, shape, offs string, buf []byte) []byte {
		return file("{"+entry("w", dtype, shape, offs)+"}", buf)
	}
	hugeLen := binary.LittleEndian.AppendUint64(nil, 1<<40)
	tests := []struct {
		name   string
		in     []byte
		tensor string // "" when the error is about the whole file
		want   string
	}{
		{"empty file", nil, "", "file is 0 bytes, too short to hold the 8-byte header length"},
		{"short file", []byte{1, 2, 3}, "", "file is 3 bytes"},
		{"header too large", append(hugeLen, "{}"...), "", "header length 1099511627776 exceeds the 100000000 byte limit"},
		{"header past end", append(binary.LittleEndian.AppendUint64(nil, 100), "{}"...), "", "header length 100 runs past the end of the file (10 bytes)"},
		{"not utf-8", file("{\"\xff\":1}", nil), "", "header is not valid UTF-8"},
		{"not json", file(`{"w":`, nil), "", "header is not a valid JSON object"},
		{"json array", file(`[1, 2]`, nil), "", "found [ instead of an object"},
		{"data after object", file(`{} {}`, nil), "", "header is not a valid JSON object"},
		{"empty header", file(``, nil), "", "header is not a valid JSON object: EOF"},
		{"duplicate tensor", file("{"+entry("w", `"U8"`, "[1]", "[0,1]")+","+entry("w", `"U8"`, "[1]", "[1,2]")+"}", []byte{1, 2}), "w", "appears twice in the header"},
		{"duplicate metadata", file(`{"__metadata__":{},"__metadata__":{}}`, nil), "", "__metadata__ appears twice"},
		{"metadata not object", file(`{"__metadata__":"pt"}`, nil), "", "__metadata__ must be an object of strings"},
		{"metadata value not string", file(`{"__metadata__":{"epoch":3}}`, nil), "", `key "epoch" has 3`},
		{"entry not object", file(`{"w":[0,4]}`, nil), "w", "entry must be an object with dtype, shape and data_offsets"},
		{"missing dtype", file(`{"w":{"shape":[1],"data_offsets":[0,1]}}`, []byte{0}), "w", `entry has no "dtype"`},
		{"missing shape", file(`{"w":{"dtype":"U8","data_offsets":[0,1]}}`, []byte{0}), "w", `entry has no "shape"`},
		{"missing offsets", file(`{"w":{"dtype":"U8","shape":[1]}}`, []byte{0}), "w", `entry has no "data_offsets"`},
		{"dtype not string", one(`4`, "[1]", "[0,4]", make([]byte, 4)), "w", "dtype is 4, not a string"},
		{"unknown dtype", one(`"F8_E4M3"`, "[1]", "[0,1]", []byte{0}), "w", `unsupported dtype "F8_E4M3" (supported: F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL)`},
		{"lower-case dtype", one(`"f32"`, "[1]", "[0,4]", make([]byte, 4)), "w", `unsupported dtype "f32"`},
		{"negative dim", one(`"U8"`, "[-1]", "[0,0]", nil), "w", "shape is [-1], not a list of non-negative integers"},
		{"fractional dim", one(`"U8"`, "[1.5]", "[0,1]", []byte{0}), "w", "shape is [1.5]"},
		{"quoted dim", one(`"U8"`, `["1"]`, "[0,1]", []byte{0}), "w", `shape is ["1"]`},
		{"shape not list", one(`"U8"`, `1`, "[0,1]", []byte{0}), "w", "shape is 1"},
		{"dim over int64", one(`"U8"`, `[9223372036854775808]`, "[0,1]", []byte{0}), "w", "shape [9223372036854775808] is too large"},
		{"shape overflow", one(`"F32"`, `[1099511627776,1099511627776]`, "[0,4]", make([]byte, 4)), "w", "shape [1099511627776, 1099511627776] is too large"},
		{"one offset", one(`"U8"`, "[1]", "[0]", []byte{0}), "w", "data_offsets is [0], not [begin, end]"},
		{"three offsets", one(`"U8"`, "[1]", "[0,1,2]", []byte{0}), "w", "data_offsets is [0,1,2]"},
		{"offsets object", one(`"U8"`, "[1]", `{"begin":0}`, []byte{0}), "w", `data_offsets is {"begin":0}`},
		{"offset too big", one(`"U8"`, "[1]", "[0,18446744073709551616]", []byte{0}), "w", "data_offsets is [0,18446744073709551616]"},
		{"end before begin", one(`"U8"`, "[1]", "[4,3]", []byte{0}), "w", "data_offsets [4, 3] end before they begin"},
		{"size mismatch", one(`"F32"`, "[2,3]", "[0,20]", make([]byte, 20)), "w", "data_offsets [0, 20] hold 20 bytes but shape [2, 3] F32 needs 24"},
		{"gap at start", one(`"U8"`, "[1]", "[8,9]", make([]byte, 9)), "w", "data_offsets [8, 9] leave bytes [0, 8) of the data buffer unused"},
		{"gap between", file("{"+entry("a", `"U8"`, "[1]", "[0,1]")+","+entry("b", `"U8"`, "[1]", "[3,4]")+"}", make([]byte, 4)), "b",
			`data_offsets [3, 4] leave a gap of 2 bytes after tensor "a"`},
		{"overlap", file("{"+entry("a", `"F32"`, "[2]", "[0,8]")+","+entry("b", `"F32"`, "[1]", "[4,8]")+"}", make([]byte, 8)), "b",
			`data_offsets [4, 8] overlap tensor "a", which ends at 8`},
		{"same offsets", file("{"+entry("a", `"U8"`, "[1]", "[0,1]")+","+entry("b", `"U8"`, "[1]", "[0,1]")+"}", make([]byte, 1)), "b",
			`data_offsets [0, 1] overlap tensor "a", which ends at 1`},
		{"truncated data", one(`"F32"`, "[2,3]", "[0,24]", make([]byte, 20)), "w", "data_offsets [0, 24] run past the end of the 20-byte data buffer (file truncated?)"},
		{"trailing bytes", one(`"U8"`, "[1]", "[0,1]", []byte{1, 2, 3}), "", "tensors cover 1 bytes but the data buffer has 3"},
		{"no tensors but data", file(`{}`, []byte{1}), "", "tensors cover 0 bytes but the data buffer has 1"},
	}
	dir := t.TempDir()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			check := func(err error, path string) {
				t.Helper()
				var fe *FormatError
				if !errors.As(err, &fe) {
					t.Fatalf("err = %v, want a *FormatError", err)
				}
				if !strings.Contains(err.Error(), tc.want) {
					t.Errorf("err = %q, want it to contain %q", err, tc.want)
				}
				if fe.Path != path {
					t.Errorf("err names file %q, want %q", fe.Path, path)
				}
				if fe.HasTensor != (tc.tensor != "") || fe.Tensor != tc.tensor {
					t.Errorf("err names tensor %q (%v), want %q", fe.Tensor, fe.HasTensor, tc.tensor)
				}
			}
			_, err := Decode(tc.in)
			check(err, "")
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".safetensors")
			if err := os.WriteFile(path, tc.in, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err = Read(path)
			check(err, path)
			if !strings.HasPrefix(err.Error(), "safetensors: "+path+": ") {
				t.Errorf("err = %q, want it to start with the path", err)
			}
		})
	}
}

func TestReadMissingFile(t *testing.T) {
	_, err := Read("testdata/nope.safetensors")
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "nope.safetensors") {
		t.Errorf("err = %v", err)
	}
}

// Every proper prefix of a valid file must be rejected, and no single-byte
// corruption may panic.
func TestTruncationAndCorruption(t *testing.T) {
	good, err := Encode([]Tensor{
		{"a", "F32", []int64{2}, f32s(1, 2)},
		{"b", "I64", []int64{1}, make([]byte, 8)},
	}, map[string]string{"k": "v"})
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(good) {
		if _, err := Decode(good[:n]); err == nil {
			t.Errorf("a file cut to %d of %d bytes was accepted", n, len(good))
		}
	}
	for i := range good {
		for _, x := range []byte{0x00, 0xff, '"', '}', '1', ' '} {
			bad := bytes.Clone(good)
			bad[i] = x
			Decode(bad) // must not panic; the result may be valid
		}
	}
}

func TestWriteErrors(t *testing.T) {
	tests := []struct {
		name     string
		tensors  []Tensor
		metadata map[string]string
		tensor   string
		want     string
	}{
		{"reserved name", []Tensor{{"__metadata__", "U8", []int64{0}, nil}}, nil, "__metadata__", "the name is reserved for the metadata"},
		{"duplicate", []Tensor{{"w", "U8", []int64{0}, nil}, {"w", "U8", []int64{0}, nil}}, nil, "w", "appears twice"},
		{"bad dtype", []Tensor{{"w", "float32", []int64{1}, make([]byte, 4)}}, nil, "w", `unsupported dtype "float32"`},
		{"short data", []Tensor{{"w", "F32", []int64{2, 2}, make([]byte, 12)}}, nil, "w", "shape [2, 2] F32 needs 16 bytes of data, have 12"},
		{"negative dim", []Tensor{{"w", "F32", []int64{-1}, nil}}, nil, "w", "negative dimension in shape [-1]"},
		{"overflow", []Tensor{{"w", "F64", []int64{1 << 40, 1 << 40}, nil}}, nil, "w", "is too large"},
		{"invalid utf-8 name", []Tensor{{"\xff", "U8", []int64{0}, nil}}, nil, "\xff", "the name is not valid UTF-8"},
		{"invalid utf-8 metadata", nil, map[string]string{"k": "\xfe"}, "", `metadata key "k" or its value is not valid UTF-8`},
	}
	dir := t.TempDir()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, "x.safetensors")
			err := Write(path, tc.tensors, tc.metadata)
			var fe *FormatError
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), tc.want) || fe.Path != path || fe.Tensor != tc.tensor {
				t.Errorf("Write: err = %v, want one naming %q and tensor %q with %q", err, path, tc.tensor, tc.want)
			}
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Errorf("a failed Write left %s behind", path)
			}
			if _, err := Encode(tc.tensors, tc.metadata); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Encode: err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestWriteAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	first := []Tensor{{"w", "U8", []int64{1}, []byte{1}}}
	if err := Write(path, first, nil); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o644 {
		t.Errorf("new file mode %v, want 0644", st.Mode().Perm())
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	second := []Tensor{{"v", "U8", []int64{2}, []byte{2, 3}}}
	if err := Write(path, second, nil); err != nil {
		t.Fatal(err)
	}
	f, err := Read(path)
	if err != nil || len(f.Tensors) != 1 || f.Tensors[0].Name != "v" {
		t.Fatalf("after overwrite: %+v, %v", f, err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("overwritten file mode %v, want 0600", st.Mode().Perm())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	bad := filepath.Join(dir, "missing", "m.safetensors")
	if err := Write(bad, first, nil); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("Write into a missing folder: %v", err)
	}
}

func TestDTypes(t *testing.T) {
	tests := []struct {
		st    string
		torch string
		size  int
	}{
		{"F64", "float64", 8}, {"F32", "float32", 4}, {"F16", "float16", 2}, {"BF16", "bfloat16", 2},
		{"I64", "int64", 8}, {"I32", "int32", 4}, {"I16", "int16", 2}, {"I8", "int8", 1},
		{"U8", "uint8", 1}, {"BOOL", "bool", 1},
	}
	for _, tc := range tests {
		if got, err := TorchDType(tc.st); err != nil || got != tc.torch {
			t.Errorf("TorchDType(%s) = %q, %v", tc.st, got, err)
		}
		if got, err := FromTorchDType(tc.torch); err != nil || got != tc.st {
			t.Errorf("FromTorchDType(%s) = %q, %v", tc.torch, got, err)
		}
		if got, err := ItemSize(tc.st); err != nil || got != tc.size {
			t.Errorf("ItemSize(%s) = %d, %v", tc.st, got, err)
		}
	}
	if _, err := TorchDType("U16"); err == nil {
		t.Error("TorchDType(U16) succeeded")
	}
	if _, err := FromTorchDType("complex64"); err == nil {
		t.Error("FromTorchDType(complex64) succeeded")
	}
	if _, err := ItemSize("F8_E5M2"); err == nil {
		t.Error("ItemSize(F8_E5M2) succeeded")
	}
}

// TestForeign: files of other formats say what they are, not what their
// first 8 bytes would mean as a header length (a zip's are 7.6e18).
func TestForeign(t *testing.T) {
	cases := map[string]string{
		"PK\x03\x04\x14\x00\x00\x00\x00\x00rest of a zip":  "not a safetensors file: it is a zip archive, as PyTorch's torch.save writes",
		"\x80\x02\x8a\x0alZ\xfc\x9cF\xf9 j\xa8P\x19.":      "not a safetensors file: it is a Python pickle",
		"\x93NUMPY\x01\x00v\x00{'descr': '<f4', }        ": "not a safetensors file: it is a NumPy .npy file",
	}
	for in, want := range cases {
		if _, err := Decode([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", in[:4], err, want)
		}
	}
}

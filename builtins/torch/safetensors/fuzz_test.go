package safetensors

import (
	"bytes"
	"reflect"
	"testing"
)

// FuzzDecode checks that no input makes Decode panic, and that whatever it
// accepts encodes back to a file that decodes to the same tensors.
func FuzzDecode(f *testing.F) {
	good, _ := Encode([]Tensor{
		{"a", "F32", []int64{2}, f32s(1, 2)},
		{"empty", "BF16", []int64{0}, nil},
		{"b", "BOOL", []int64{}, []byte{1}},
	}, map[string]string{"framework": "pt"})
	f.Add(good)
	f.Add(file(`{}      `, nil))
	f.Add(file(`{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"v":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, []byte{1, 2}))
	f.Add(file(`{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}}`, make([]byte, 20)))
	f.Fuzz(func(t *testing.T, in []byte) {
		file, err := Decode(in)
		if err != nil {
			if file != nil {
				t.Fatal("file returned with an error")
			}
			return
		}
		out, err := Encode(file.Tensors, file.Metadata)
		if err != nil {
			t.Fatalf("cannot encode what was decoded: %v", err)
		}
		again, err := Decode(out)
		if err != nil {
			t.Fatalf("cannot decode what was encoded: %v", err)
		}
		if len(again.Tensors) != len(file.Tensors) {
			t.Fatalf("%d tensors became %d", len(file.Tensors), len(again.Tensors))
		}
		for i, a := range file.Tensors {
			b := again.Tensors[i]
			if a.Name != b.Name || a.DType != b.DType || !reflect.DeepEqual(a.Shape, b.Shape) || !bytes.Equal(a.Data, b.Data) {
				t.Fatalf("tensor %d changed from %+v to %+v", i, a, b)
			}
		}
		if len(file.Metadata) > 0 && !reflect.DeepEqual(file.Metadata, again.Metadata) {
			t.Fatalf("metadata changed from %v to %v", file.Metadata, again.Metadata)
		}
	})
}

// FuzzReadObject checks the copy-free object reader against the one built
// on encoding/json's decoder: same keys, same values, same verdict.
func FuzzReadObject(f *testing.F) {
	for _, s := range []string{`{}`, ` {"a": 1, "b" : [1, {"c": "}\"]"}], "d":null}  `, `{"a":1,"a":2}`, `[1]`, `{"a":1} x`,
		`{"__metadata__":{"k":"v\u00e9\\n"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		k1, v1, err1 := readObject(b)
		k2, v2, err2 := readObjectSlow(b)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("fast: %v, slow: %v", err1, err2)
		}
		if !reflect.DeepEqual(k1, k2) || len(v1) != len(v2) {
			t.Fatalf("keys %q and %q", k1, k2)
		}
		for k, v := range v1 {
			if !bytes.Equal(v, v2[k]) {
				t.Fatalf("%q: %s and %s", k, v, v2[k])
			}
		}
	})
}

package npy

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzRead checks that no input makes Read panic or return an inconsistent
// array, and that whatever it accepts survives a write and a second read.
func FuzzRead(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.npy"))
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Add(npyBytes(1, "{'descr': '>i2', 'fortran_order': True, 'shape': (3, 2), }", make([]byte, 12)))
	f.Add(npyBytes(2, "{'descr': '<f8', 'fortran_order': False, 'shape': (2L,), }", make([]byte, 16)))
	f.Add(npyBytes(3, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (), }", nil))
	f.Add([]byte("\x93NUMPY"))
	f.Fuzz(func(t *testing.T, in []byte) {
		a, err := Read(bytes.NewReader(in))
		if err != nil {
			if a != nil {
				t.Fatal("array returned with an error")
			}
			return
		}
		size, err := ItemSize(a.DType)
		if err != nil {
			t.Fatalf("accepted dtype %q: %v", a.DType, err)
		}
		n := int64(size)
		for _, d := range a.Shape {
			n *= d
		}
		if int64(len(a.Data)) != n {
			t.Fatalf("shape %v %s with %d bytes", a.Shape, a.DType, len(a.Data))
		}
		var buf bytes.Buffer
		if err := Write(&buf, a); err != nil {
			t.Fatalf("cannot write what was read: %v", err)
		}
		b, err := Read(&buf)
		if err != nil {
			t.Fatalf("cannot read what was written: %v", err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("round trip changed %+v to %+v", a, b)
		}
	})
}

package ptfile

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
)

// seedFiles are the fixtures and the small hand-made hostile files.
func seedFiles() [][]byte {
	var out [][]byte
	for _, n := range []string{"state_dict.pth", "mixed.pth", "checkpoint.pth"} {
		b, _ := os.ReadFile("testdata/" + n)
		out = append(out, b)
	}
	for _, c := range hostileCases() {
		if heavy(c.name) {
			// Large, slow to make or slow to refuse: the fuzzer would spend
			// its time minimizing them. The tests run them.
			continue
		}
		out = append(out, c.file())
	}
	return out
}

func heavy(name string) bool {
	for _, w := range []string{"MB", "GB", "3M", "1.1M", "1000", "longer", "100000", "2^64"} {
		if strings.Contains(name, w) {
			return true
		}
	}
	return false
}

// checkTensors is what every accepted file must satisfy: its consumers
// copy numel(shape) elements from Data.
func checkTensors(t *testing.T, ts []Tensor, err error) {
	if err != nil {
		if strings.Contains(err.Error(), "internal error") {
			t.Fatal(err)
		}
		if ts != nil {
			t.Fatal("tensors returned with an error")
		}
		return
	}
	for _, x := range ts {
		n := int64(elemSize(x.DType))
		if n == 0 {
			t.Fatalf("%s: unknown dtype %q", x.Name, x.DType)
		}
		for _, d := range x.Shape {
			if d < 0 {
				t.Fatalf("%s: shape %v", x.Name, x.Shape)
			}
			n *= d
		}
		if n != int64(len(x.Data)) {
			t.Fatalf("%s: %d bytes for shape %v of %s", x.Name, len(x.Data), x.Shape, x.DType)
		}
	}
}

// FuzzRead: no file may panic the reader, exhaust memory, or yield a tensor
// whose bytes do not match its shape. Seeded with the fixtures and the
// hand-made hostile files.
func FuzzRead(f *testing.F) {
	for _, b := range seedFiles() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ts, err := ReadFrom(bytes.NewReader(b), int64(len(b)))
		checkTensors(t, ts, err)
	})
}

// FuzzPickle runs the pickle machine alone on data.pkl bytes (the zip
// around them costs the fuzzer most of its mutations), with storages of
// zeros of the declared sizes.
func FuzzPickle(f *testing.F) {
	for _, b := range seedFiles() {
		if z, err := zipReader(b); err == nil {
			for _, zf := range z.File {
				if strings.HasSuffix(zf.Name, "data.pkl") && zf.UncompressedSize64 < 1<<20 {
					if rc, err := zf.Open(); err == nil {
						pk, _ := io.ReadAll(rc)
						f.Add(pk)
					}
				}
			}
		}
	}
	f.Fuzz(func(t *testing.T, pk []byte) {
		size := int64(len(pk)) + 1<<16
		b := &budget{limit: size + slackBytes, left: size + slackBytes, fileSize: size}
		m := newMachine(pk, b, func(st *storage) ([]byte, error) {
			n := st.numel * int64(st.size)
			if n > 1<<16 {
				return nil, fmt.Errorf("storage of %d bytes", n)
			}
			if err := b.charge(n, "storage"); err != nil {
				return nil, err
			}
			return make([]byte, n), nil
		})
		ts, err := m.load()
		checkTensors(t, ts, err)
	})
}

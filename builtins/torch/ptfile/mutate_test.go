package ptfile

import (
	"bytes"
	"math/rand"
	"os"
	"testing"
	"time"
)

// TestMutatedInputs feeds damaged copies of the fixtures (bytes changed,
// dropped and inserted) to the reader: each must end, with or without an
// error, within a time limit and without panicking.
func TestMutatedInputs(t *testing.T) {
	var seeds [][]byte
	for _, n := range []string{"state_dict.pth", "mixed.pth", "checkpoint.pth"} {
		b, _ := os.ReadFile("testdata/" + n)
		seeds = append(seeds, b)
	}
	r := rand.New(rand.NewSource(2))
	for i := 0; i < 20000; i++ {
		b := append([]byte{}, seeds[r.Intn(3)]...)
		for k := 0; k < 1+r.Intn(6); k++ {
			p := r.Intn(len(b))
			switch r.Intn(4) {
			case 0:
				b[p] = byte(r.Intn(256))
			case 1:
				b = append(b[:p], b[min(len(b), p+1+r.Intn(8)):]...)
			case 2:
				ins := make([]byte, 1+r.Intn(8))
				r.Read(ins)
				b = append(b[:p], append(ins, b[p:]...)...)
			case 3:
				b[p] = []byte{0, 0xff, 0x7f, 0x80}[r.Intn(4)]
			}
			if len(b) == 0 {
				b = []byte{0}
			}
		}
		done := make(chan struct{})
		go func() { ReadFrom(bytes.NewReader(b), int64(len(b))); close(done) }()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			t.Fatalf("input %d (%d bytes) did not finish in 2s", i, len(b))
		}
	}
}

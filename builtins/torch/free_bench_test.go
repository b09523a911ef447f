package torch

import (
	"testing"

	"github.com/dadash/dadash/builtins/torch/aten"
)

// The same add as BenchmarkAddGotorch, its result freed at once (as
// Python's reference count does) or by a finalizer after a collection: the
// difference is what deferred freeing costs per operator.
func BenchmarkAddAtenFreed(b *testing.B)     { benchAtenAdd(b, true) }
func BenchmarkAddAtenFinalized(b *testing.B) { benchAtenAdd(b, false) }

func benchAtenAdd(b *testing.B, free bool) {
	x, y := smallTensors()
	xa, ya := fromGotorch(x), fromGotorch(y)
	op, err := aten.LookupOp("aten::add")
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t, err := op.Call1(aten.T(xa), aten.T(ya))
		if err != nil {
			b.Fatal(err)
		}
		if free {
			t.Free()
		}
	}
}

package aten

import (
	"math"
	"strings"
	"testing"
)

func TestCallOverloads(t *testing.T) {
	x, err := FromFloat64s([]float64{1, 2, 3, 4, 5, 6}, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	sum := mustOp(t, "aten::sum")
	s, err := sum.Call1(T(x))
	if err != nil {
		t.Fatal(err)
	}
	v, _ := s.Float64s()
	if v[0] != 21 {
		t.Fatalf("sum = %v", v)
	}
	s, err = sum.Call1(T(x), KW("dim", I(1)), KW("keepdim", B(true)))
	if err != nil {
		t.Fatal(err)
	}
	if sh := s.Shape(); len(sh) != 2 || sh[0] != 2 || sh[1] != 1 {
		t.Fatalf("shape %v", sh)
	}
	v, _ = s.Float64s()
	if v[0] != 6 || v[1] != 15 {
		t.Fatalf("sum dim = %v", v)
	}
	// max.dim returns a named tuple
	rs, err := mustOp(t, "aten::max").Call(T(x), I(1))
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || rs[0].Name != "values" || rs[1].Name != "indices" {
		t.Fatalf("max.dim results %+v", rs)
	}
	// add with a Python number uses the wrapped-scalar path
	y, err := mustOp(t, "aten::add").Call1(T(x), F(0.5))
	if err != nil {
		t.Fatal(err)
	}
	v, _ = y.Float64s()
	if v[0] != 1.5 {
		t.Fatalf("add = %v", v)
	}
	// error: mm of incompatible shapes names the shapes
	_, err = mustOp(t, "aten::mm").Call1(T(x), T(x))
	if err == nil || !strings.Contains(err.Error(), "2x3") {
		t.Fatalf("mm err = %v", err)
	}
	_, err = sum.Call1(T(x), KW("bogus", I(1)))
	if err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Fatalf("bogus kw err = %v", err)
	}
	ls, err := mustOp(t, "aten::logsumexp").Call1(T(x), I(1))
	if err != nil {
		t.Fatal(err)
	}
	v, _ = ls.Float64s()
	want := math.Log(math.Exp(1) + math.Exp(2) + math.Exp(3))
	if math.Abs(v[0]-want) > 1e-12 {
		t.Fatalf("logsumexp %v want %v", v, want)
	}
}

func BenchmarkCallAdd(b *testing.B) {
	x, _ := FromFloat32s([]float32{1, 2, 3, 4}, 4)
	op := mustOp(b, "aten::add")
	for i := 0; i < b.N; i++ {
		op.Call1(T(x), T(x))
	}
}

func BenchmarkGotorchAdd(b *testing.B) {
	x, _ := FromFloat32s([]float32{1, 2, 3, 4}, 4)
	for i := 0; i < b.N; i++ {
		x.Tensor.Add(x.Tensor, 1)
	}
}

// mustOp resolves an operator every supported libtorch has.
func mustOp(t testing.TB, qualname string) *Op {
	t.Helper()
	op, err := LookupOp(qualname)
	if err != nil {
		t.Fatal(err)
	}
	return op
}

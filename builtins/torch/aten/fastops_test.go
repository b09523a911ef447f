package aten

import (
	"fmt"
	"math"
	"math/rand"
	"strings"
	"testing"
)

// dadash's operators (ext_fastops.cc) against the aten operators they stand
// in for: the same values and the same gradients.

func randT(t *testing.T, rng *rand.Rand, dtype DType, shape ...int64) Tensor {
	t.Helper()
	n := int64(1)
	for _, s := range shape {
		n *= s
	}
	v := make([]float64, n)
	for i := range v {
		v[i] = rng.NormFloat64()
	}
	x, err := FromFloat64s(v, shape...)
	if err != nil {
		t.Fatal(err)
	}
	if dtype != Float64 {
		if x, err = x.To(dtype, "", false); err != nil {
			t.Fatal(err)
		}
	}
	return x
}

// valueAndGrad runs op on a fresh leaf copy of x and backpropagates g
// (a tensor of the result's shape).
func valueAndGrad(t *testing.T, x Tensor, g func(out Tensor) Tensor, op string, args ...Arg) (out, grad []float64) {
	t.Helper()
	leaf, err := x.To(x.DType(), "", true)
	if err != nil {
		t.Fatal(err)
	}
	if err := leaf.SetRequiresGrad(true); err != nil {
		t.Fatal(err)
	}
	o, err := Run(op, append([]Arg{T(leaf)}, args...)...)
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	if err := o.Backward(g(o), false, false); err != nil {
		t.Fatalf("%s backward: %v", op, err)
	}
	gr, ok, err := leaf.Grad()
	if err != nil || !ok {
		t.Fatalf("%s: no gradient (%v)", op, err)
	}
	out, _ = o.Float64s()
	grad, _ = gr.Float64s()
	return out, grad
}

func sameFloats(t *testing.T, what string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if math.IsNaN(g) && math.IsNaN(w) {
			continue
		}
		if g == w {
			continue
		}
		if math.Abs(g-w) > tol*math.Max(1, math.Abs(w)) {
			t.Fatalf("%s[%d] = %.17g, aten gives %.17g", what, i, g, w)
		}
	}
}

func TestMaxPool2dMatchesAten(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	cases := []struct {
		shape      []int64
		k, s, p, d []int64
		ceil       bool
	}{
		{[]int64{3, 4, 8, 8}, []int64{2, 2}, []int64{2, 2}, []int64{0, 0}, []int64{1, 1}, false},
		{[]int64{2, 3, 9, 7}, []int64{2, 2}, []int64{2, 2}, []int64{0, 0}, []int64{1, 1}, false},   // odd sizes drop the last row/column
		{[]int64{2, 3, 11, 10}, []int64{3, 3}, []int64{2, 2}, []int64{1, 1}, []int64{1, 1}, false}, // ResNet's stem pool
		{[]int64{3, 6, 5}, []int64{3, 2}, []int64{1, 2}, []int64{1, 0}, []int64{1, 1}, false},      // 3-d input, overlapping rows
		{[]int64{2, 3, 20, 21}, []int64{2, 2}, []int64{2, 2}, []int64{0, 0}, []int64{1, 1}, false}, // rows long enough for the vector loop
		{[]int64{2, 3, 23, 30}, []int64{3, 3}, []int64{2, 2}, []int64{1, 1}, []int64{1, 1}, false},
		{[]int64{2, 2, 9, 17}, []int64{3, 3}, []int64{1, 1}, []int64{1, 1}, []int64{1, 1}, false}, // stride 1
		{[]int64{1, 2, 6, 19}, []int64{2, 4}, []int64{3, 2}, []int64{1, 2}, []int64{1, 1}, false}, // wide windows
		{[]int64{2, 2, 7, 7}, []int64{2, 2}, []int64{2, 2}, []int64{0, 0}, []int64{1, 1}, true},   // ceil_mode: aten's path
		{[]int64{2, 2, 9, 9}, []int64{3, 3}, []int64{2, 2}, []int64{0, 0}, []int64{2, 2}, false},  // dilation: aten's path
	}
	for _, dt := range []DType{Float32, Float64} {
		for ci, c := range cases {
			x := randT(t, rng, dt, c.shape...)
			// Ties (ReLU's zeros) and NaNs, where the chosen index matters.
			relu, _ := Run("relu", T(x))
			vals, _ := relu.Float64s()
			for i := range vals {
				switch r := rng.Float64(); {
				case r < 0.05:
					vals[i] = math.NaN()
				case r < 0.08:
					vals[i] = math.Inf(-1)
				}
			}
			x, _ = FromFloat64s(vals, c.shape...)
			x, _ = x.To(dt, "", false)
			args := []Arg{Is(c.k...), Is(c.s...), Is(c.p...), Is(c.d...), B(c.ceil)}
			// Upstream gradients that differ per output, so that a wrong
			// index shows.
			g := func(o Tensor) Tensor { r, _ := Run("rand_like", T(o)); return r }
			rng2 := func() func(o Tensor) Tensor {
				ManualSeed(uint64(ci))
				return g
			}
			ow, gw := valueAndGrad(t, x, rng2(), "max_pool2d", args...)
			og, gg := valueAndGrad(t, x, rng2(), "dadash::max_pool2d", args...)
			what := fmt.Sprintf("%s case %d", dt, ci)
			sameFloats(t, what+" output", og, ow, 0)
			sameFloats(t, what+" gradient", gg, gw, 0)
		}
	}
	// A non-contiguous input (here a transposed one) takes aten's path and
	// gives aten's values.
	xt, _ := Run("transpose", T(randT(t, rng, Float32, 2, 3, 10, 12)), I(2), I(3))
	args := []Arg{Is(2, 2), Is(2, 2), Is(0, 0), Is(1, 1), B(false)}
	ones := func(o Tensor) Tensor { r, _ := Run("ones_like", T(o)); return r }
	ow, gw := valueAndGrad(t, xt, ones, "max_pool2d", args...)
	og, gg := valueAndGrad(t, xt, ones, "dadash::max_pool2d", args...)
	sameFloats(t, "transposed output", og, ow, 0)
	sameFloats(t, "transposed gradient", gg, gw, 0)
	// Bad arguments get aten's messages.
	x := randT(t, rng, Float32, 1, 1, 4, 4)
	if _, err := Run("dadash::max_pool2d", T(x), Is(2, 2), Is(2, 2), Is(2, 2), Is(1, 1), B(false)); err == nil || !strings.Contains(err.Error(), "pad should be") {
		t.Fatalf("padding larger than half the kernel: %v", err)
	}
	if _, err := Run("dadash::max_pool2d", T(x), Is(5, 5), Is(1, 1), Is(0, 0), Is(1, 1), B(false)); err == nil || !strings.HasPrefix(err.Error(), "max_pool2d: ") {
		t.Fatalf("kernel larger than the input: %v", err)
	}
}

func TestNuclearNormMatchesAten(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	ones := func(o Tensor) Tensor { r, _ := Run("ones_like", T(o)); return r }
	for _, shape := range [][]int64{{6, 40}, {50, 7}, {5, 6}, {3, 5, 12}} {
		for _, dt := range []DType{Float64, Float32} {
			x := randT(t, rng, dt, shape...)
			if len(shape) == 2 {
				x, _ = Run("softmax", T(x), I(1)) // DADA's class probabilities
			}
			tol := 1e-12
			if dt == Float32 {
				tol = 2e-5
			}
			var args []Arg
			if len(shape) == 3 {
				args = []Arg{S("nuc"), Is(-2, -1)}
			} else {
				args = []Arg{S("nuc")}
			}
			ow, gw := valueAndGrad(t, x, ones, "linalg_matrix_norm", args...)
			og, gg := valueAndGrad(t, x, ones, "dadash::nuclear_norm")
			what := fmt.Sprintf("%s %v", dt, shape)
			sameFloats(t, what+" value", og, ow, tol)
			sameFloats(t, what+" gradient", gg, gw, tol)
			// Without autograd: the singular values only.
			err := NoGrad(func() error {
				v, err := Run("dadash::nuclear_norm", T(x))
				if err != nil {
					return err
				}
				f, _ := v.Float64s()
				sameFloats(t, what+" value without grad", f, ow, tol)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
}

// The pooling of the glyph recipe's first block and of ResNet's stem, by
// libtorch's kernel and by dadash's (forward only).
func BenchmarkMaxPool2d(b *testing.B) {
	for _, c := range []struct {
		name    string
		shape   []int64
		k, s, p int64
		threads int
	}{{"glyph_60x32x32x32_k2", []int64{60, 32, 32, 32}, 2, 2, 0, 1}, {"resnet_8x64x112x112_k3s2p1", []int64{8, 64, 112, 112}, 3, 2, 1, 1}} {
		for _, op := range []string{"max_pool2d", "dadash::max_pool2d"} {
			b.Run(c.name+"/"+op, func(b *testing.B) {
				defer SetNumThreads(NumThreads())
				SetNumThreads(c.threads)
				x, err := Run("randn", Is(c.shape...))
				if err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					y, err := Run(op, T(x), Is(c.k, c.k), Is(c.s, c.s), Is(c.p, c.p), Is(1, 1), B(false))
					if err != nil {
						b.Fatal(err)
					}
					y.Free()
				}
			})
		}
	}
}

// DADA's nuclear norm of a 60 x 1,800 probability matrix, forward and
// backward: libtorch's linalg_matrix_norm(p, "nuc") against dadash's.
func BenchmarkNuclearNorm(b *testing.B) {
	for _, op := range []string{"linalg_matrix_norm", "dadash::nuclear_norm"} {
		b.Run(op, func(b *testing.B) {
			defer SetNumThreads(NumThreads())
			SetNumThreads(1)
			z, err := Run("randn", Is(60, 1800))
			if err != nil {
				b.Fatal(err)
			}
			p, _ := Run("softmax", T(z), I(1))
			if err := p.SetRequiresGrad(true); err != nil {
				b.Fatal(err)
			}
			var args []Arg
			if op == "linalg_matrix_norm" {
				args = []Arg{S("nuc")}
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				n, err := Run(op, append([]Arg{T(p)}, args...)...)
				if err != nil {
					b.Fatal(err)
				}
				if err := n.Backward(Tensor{}, false, false); err != nil {
					b.Fatal(err)
				}
				n.Free()
			}
		})
	}
}

package losses

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/builtins/losses/lossref"
	"github.com/dadash/dadash/builtins/nn"
	"github.com/dadash/dadash/builtins/torch"
	"github.com/dadash/dadash/builtins/torch/aten"
)

// The losses against lossref, the plain-Go float64 implementations of
// their formulas: values, and gradients of the tensor code (autograd)
// against central finite differences of the plain-Go functions.

const tol = 1e-6

func near(a, b float64) bool { return math.Abs(a-b) <= tol*math.Max(1, math.Abs(b)) }

func randMat(r *rand.Rand, rows, cols int, scale float64) lossref.Mat {
	m := make(lossref.Mat, rows)
	for i := range m {
		m[i] = make([]float64, cols)
		for j := range m[i] {
			m[i][j] = scale * r.NormFloat64()
		}
	}
	return m
}

func tensorOf(t *testing.T, m lossref.Mat, grad bool) aten.Tensor {
	t.Helper()
	x, err := aten.FromFloat64s(m.Flat(), int64(len(m)), int64(len(m[0])))
	if err != nil {
		t.Fatal(err)
	}
	if grad {
		if err := x.SetRequiresGrad(true); err != nil {
			t.Fatal(err)
		}
	}
	return x
}

func labelsOf(t *testing.T, y []int) aten.Tensor {
	t.Helper()
	v := make([]int64, len(y))
	for i, k := range y {
		v[i] = int64(k)
	}
	l, err := aten.FromInt64s(v, int64(len(v)))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// build calls a losses constructor as a script would, in float64, and
// loads the given proxies.
func build(t *testing.T, ctor string, proxies lossref.Mat, args starlark.Tuple, kwargs ...starlark.Tuple) Loss {
	t.Helper()
	kwargs = append(kwargs, starlark.Tuple{starlark.String("dtype"), torch.NewDType(aten.Float64)})
	v, err := starlark.Call(&starlark.Thread{}, Module.Members()[ctor].(starlark.Callable), args, kwargs)
	if err != nil {
		t.Fatal(err)
	}
	m := v.(*nn.Module)
	if _, err := m.LoadStateDict(map[string]aten.Tensor{"proxies": tensorOf(t, proxies, false)}, []string{"proxies"}, true); err != nil {
		t.Fatal(err)
	}
	l, err := Of(m)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func ints(v ...int) starlark.Tuple {
	out := make(starlark.Tuple, len(v))
	for i, x := range v {
		out[i] = starlark.MakeInt(x)
	}
	return out
}

func kw(name string, v float64) starlark.Tuple {
	return starlark.Tuple{starlark.String(name), starlark.Float(v)}
}

func values(t *testing.T, x aten.Tensor) []float64 {
	t.Helper()
	v, err := x.Float64s()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func gradOf(t *testing.T, x aten.Tensor) []float64 {
	t.Helper()
	g, ok, err := x.Grad()
	if err != nil || !ok {
		t.Fatalf("no gradient (%v)", err)
	}
	return values(t, g)
}

func compare(t *testing.T, what string, got, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if !near(got[i], want[i]) {
			t.Errorf("%s[%d] = %.12g, want %.12g", what, i, got[i], want[i])
		}
	}
}

// check runs the tensor loss on (x, y, pos), compares its value and parts
// with ref, and its gradients with respect to x, the proxies and pos with
// finite differences of ref.
func check(t *testing.T, l Loss, x lossref.Mat, y []int, proxies, pos lossref.Mat, ref func(x, p, pos lossref.Mat) []float64, partNames ...string) {
	t.Helper()
	xt, yt := tensorOf(t, x, true), labelsOf(t, y)
	var posT aten.Tensor
	if pos != nil {
		posT = tensorOf(t, pos, true)
	}
	loss, parts, err := l.Compute(xt, yt, posT)
	if err != nil {
		t.Fatal(err)
	}
	want := ref(x, proxies, pos)
	compare(t, "loss", values(t, loss), want[:1])
	if len(parts) != len(partNames) {
		t.Fatalf("parts %v, want %v", parts, partNames)
	}
	for i, p := range parts {
		if p.Name != partNames[i] {
			t.Errorf("part %d is %q, want %q", i, p.Name, partNames[i])
		}
		compare(t, "part "+p.Name, values(t, p.Value), want[1+i:2+i])
	}
	if err := loss.Backward(aten.Tensor{}, false, false); err != nil {
		t.Fatal(err)
	}
	f := func() float64 { return ref(x, proxies, pos)[0] }
	compare(t, "d loss / d embeddings", gradOf(t, xt), lossref.MatGrad(f, x, 1e-6))
	compare(t, "d loss / d proxies", gradOf(t, l.Module().Param("proxies").ATen()), lossref.MatGrad(f, proxies, 1e-6))
	if pos != nil {
		compare(t, "d loss / d pos_proxies", gradOf(t, posT), lossref.MatGrad(f, pos, 1e-6))
	}
}

func TestOProxyAgainstReference(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	cases := []struct {
		name    string
		classes int
		y       []int
		hp      lossref.OProxyParams
		pos     bool
	}{
		// class 1 has one sample (its positive mask holds only i == j), class 3 none
		{"mixed batch", 4, []int{0, 0, 1, 2, 2, 2}, lossref.OProxyParams{PosAlpha: 32, NegAlpha: 32, PosDelta: 0.1, NegDelta: -0.1}, false},
		// one class: the negative mask of class 2 is empty along dim 0
		{"one class", 4, []int{2, 2, 2}, lossref.OProxyParams{PosAlpha: 32, NegAlpha: 32, PosDelta: 0.1, NegDelta: -0.1}, false},
		// one class in total: every negative mask is empty, neg = 0
		{"C = 1", 1, []int{0, 0, 0, 0}, lossref.OProxyParams{PosAlpha: 32, NegAlpha: 32, PosDelta: 0.1, NegDelta: -0.1}, false},
		{"single sample", 3, []int{1}, lossref.OProxyParams{PosAlpha: 32, NegAlpha: 32, PosDelta: 0.1, NegDelta: -0.1}, false},
		{"CUB recipe alphas", 5, []int{4, 0, 4, 1, 3, 3, 0}, lossref.OProxyParams{PosAlpha: 40, NegAlpha: 100, PosDelta: 0.2, NegDelta: 0.05}, false},
		{"pos_proxies", 4, []int{0, 0, 1, 3, 3}, lossref.OProxyParams{PosAlpha: 32, NegAlpha: 32, PosDelta: 0.1, NegDelta: -0.1}, true},
	}
	for _, tc := range cases {
		for _, dim := range []int{0, 1} {
			t.Run(fmt.Sprintf("%s/dim=%d", tc.name, dim), func(t *testing.T) {
				const d = 5
				hp := tc.hp
				hp.Dim = dim
				x := randMat(r, len(tc.y), d, 1)
				p := randMat(r, tc.classes, d, 1.0/8)
				var pos lossref.Mat
				if tc.pos {
					pos = randMat(r, len(tc.y), d, 1.0/8)
				}
				ctor := "proxy_anchor"
				if dim == 1 {
					ctor = "proxy_nca"
				}
				l := build(t, ctor, p, ints(tc.classes, d), kw("pos_alpha", hp.PosAlpha), kw("neg_alpha", hp.NegAlpha), kw("pos_delta", hp.PosDelta), kw("neg_delta", hp.NegDelta))
				ref := func(x, p, pos lossref.Mat) []float64 {
					a, b, c := lossref.OProxy(x, tc.y, p, pos, hp)
					return []float64{a, b, c}
				}
				check(t, l, x, tc.y, p, pos, ref, "pos", "neg")
				if tc.classes == 1 {
					if _, _, neg := lossref.OProxy(x, tc.y, p, pos, hp); neg != 0 {
						t.Errorf("neg = %g with every negative mask empty, want 0", neg)
					}
				}
			})
		}
	}
}

// Values pasted from a step-by-step hand computation, for one case small
// enough to follow: B = 2, C = 2, d = 2, x0 = (1, 0), x1 = (0, 1),
// P0 = (1, 0), P1 = (0, 2) (normalised (0, 1)), labels (0, 1), alpha 1,
// deltas 0. S = identity; positive mask = identity, negative = anti-identity.
// pos (dim 0 or 1) = mean over 2 of log(1 + e^-1); neg = log(1 + e^0).
func TestOProxyByHand(t *testing.T) {
	x := lossref.Mat{{1, 0}, {0, 1}}
	p := lossref.Mat{{1, 0}, {0, 2}}
	wantPos, wantNeg := math.Log(1+math.Exp(-1)), math.Log(2)
	for _, ctor := range []string{"proxy_anchor", "proxy_nca"} {
		l := build(t, ctor, p, ints(2, 2), kw("pos_alpha", 1), kw("neg_alpha", 1), kw("pos_delta", 0), kw("neg_delta", 0))
		loss, parts, err := l.Compute(tensorOf(t, x, false), labelsOf(t, []int{0, 1}), aten.Tensor{})
		if err != nil {
			t.Fatal(err)
		}
		compare(t, ctor+" loss", values(t, loss), []float64{wantPos + wantNeg})
		compare(t, ctor+" pos", values(t, parts[0].Value), []float64{wantPos})
		compare(t, ctor+" neg", values(t, parts[1].Value), []float64{wantNeg})
	}
}

func TestSoftTripleAgainstReference(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	cases := []struct {
		name                   string
		classes, k             int
		y                      []int
		la, gamma, margin, tau float64
	}{
		{"defaults", 3, 3, []int{0, 2, 2, 1, 0}, 20, 0.1, 0.01, 0.2},
		{"one centre", 4, 1, []int{3, 1, 1}, 20, 0.1, 0.01, 0.2},
		{"no regulariser", 2, 2, []int{1, 1, 0}, 10, 0.5, 0.1, 0},
		{"one class", 3, 2, []int{2, 2, 2, 2}, 20, 0.1, 0.01, 0.2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			const d = 4
			x := randMat(r, len(tc.y), d, 1)
			p := randMat(r, tc.classes*tc.k, d, 0.3)
			l := build(t, "soft_triple", p, ints(tc.classes, d), starlark.Tuple{starlark.String("centers_per_class"), starlark.MakeInt(tc.k)},
				kw("la", tc.la), kw("gamma", tc.gamma), kw("margin", tc.margin), kw("tau", tc.tau))
			ref := func(x, p, _ lossref.Mat) []float64 {
				a, b, c := lossref.SoftTriple(x, tc.y, p, tc.k, tc.la, tc.gamma, tc.margin, tc.tau)
				return []float64{a, b, c}
			}
			check(t, l, x, tc.y, p, nil, ref, "classify", "reg")

			// proxy_for: the nearest centre of the class, or the class mean.
			near, err := l.ProxyFor(tensorOf(t, x, false), labelsOf(t, tc.y))
			if err != nil {
				t.Fatal(err)
			}
			compare(t, "nearest centre", values(t, near), p.Rows(lossref.SoftTripleNearest(x, tc.y, p, tc.k)).Flat())
			mean, err := l.ProxyFor(aten.Tensor{}, labelsOf(t, tc.y))
			if err != nil {
				t.Fatal(err)
			}
			var want []float64
			for _, c := range tc.y {
				for j := 0; j < d; j++ {
					s := 0.0
					for k := 0; k < tc.k; k++ {
						s += p[c*tc.k+k][j]
					}
					want = append(want, s/float64(tc.k))
				}
			}
			compare(t, "mean centre", values(t, mean), want)
			sim, err := l.ClassSimilarity(tensorOf(t, x, false))
			if err != nil {
				t.Fatal(err)
			}
			compare(t, "class similarity", values(t, sim), lossref.SoftTripleSim(x, p, tc.k, tc.gamma).Flat())
		})
	}
}

func TestNormSoftmaxAgainstReference(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	for _, temp := range []float64{0.05, 1} {
		t.Run(fmt.Sprint(temp), func(t *testing.T) {
			y := []int{0, 3, 3, 1, 2, 0}
			x := randMat(r, len(y), 5, 1)
			p := randMat(r, 4, 5, 0.2)
			l := build(t, "norm_softmax", p, ints(4, 5), kw("temperature", temp))
			ref := func(x, p, _ lossref.Mat) []float64 {
				v := lossref.NormSoftmax(x, y, p, temp)
				return []float64{v, v}
			}
			check(t, l, x, y, p, nil, ref, "ce")
			sim, err := l.ClassSimilarity(tensorOf(t, x, false))
			if err != nil {
				t.Fatal(err)
			}
			compare(t, "class similarity", values(t, sim), lossref.Cosine(x, p).Flat())
		})
	}
}

func TestProxyForOProxy(t *testing.T) {
	p := randMat(rand.New(rand.NewSource(4)), 3, 2, 1)
	l := build(t, "proxy_anchor", p, ints(3, 2))
	got, err := l.ProxyFor(aten.Tensor{}, labelsOf(t, []int{2, 0, 2}))
	if err != nil {
		t.Fatal(err)
	}
	compare(t, "proxies[y]", values(t, got), p.Rows([]int{2, 0, 2}).Flat())
}

func TestNuclearNormReference(t *testing.T) {
	// [[1, 1], [0, 1]]: (s1 + s2)^2 = s1^2 + s2^2 + 2 |det| = 3 + 2.
	if got := lossref.NuclearNorm(lossref.Mat{{1, 1}, {0, 1}}); !near(got, math.Sqrt(5)) {
		t.Errorf("nuclear norm = %v, want sqrt(5)", got)
	}
	if got := lossref.NuclearNorm(lossref.Mat{{3, 0, 0}, {0, -2, 0}}); !near(got, 5) {
		t.Errorf("nuclear norm = %v, want 5", got)
	}
	// against libtorch on a random 7 x 4 matrix
	m := randMat(rand.New(rand.NewSource(5)), 7, 4, 1)
	n, err := aten.Run("linalg_matrix_norm", aten.T(tensorOf(t, m, false)), aten.S("nuc"))
	if err != nil {
		t.Fatal(err)
	}
	compare(t, "nuclear norm", []float64{lossref.NuclearNorm(m)}, values(t, n))
}

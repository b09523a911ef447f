package pca

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
)

// TestHandMade: four points in 3-D spread along two known orthonormal
// directions, u with coefficients ±3 and v with ±1, around a mean. The
// covariance has eigenvalues 4·9/3 = 12 and 4·1/3 = 4/3 along u and v, so
// the ratios are 0.9 and 0.1 and the projections are the coefficients.
func TestHandMade(t *testing.T) {
	s := 1 / math.Sqrt(2)
	u := []float64{s, s, 0}  // largest entry positive (ties: the first)
	v := []float64{0, 0, -1} // FlipSign turns it into (0, 0, 1)
	mean := []float64{1, -2, 5}
	coef := [][2]float64{{3, 1}, {3, -1}, {-3, 1}, {-3, -1}}
	var x []float64
	for _, c := range coef {
		for j := 0; j < 3; j++ {
			x = append(x, mean[j]+c[0]*u[j]+c[1]*v[j])
		}
	}
	for _, solver := range []string{"full", "randomized"} {
		r, err := FitContext(context.Background(), x, 4, 3, 2, Options{Solver: solver})
		if err != nil {
			t.Fatal(err)
		}
		near := func(what string, got, want []float64) {
			t.Helper()
			for i := range want {
				if math.Abs(got[i]-want[i]) > 1e-9 {
					t.Fatalf("%s: %s = %v, want %v", solver, what, got, want)
				}
			}
		}
		near("mean", r.Mean, mean)
		near("components", r.Components, []float64{s, s, 0, 0, 0, 1})
		near("explained variance", r.ExplainedVariance, []float64{12, 4.0 / 3})
		near("ratio", r.ExplainedVarianceRatio, []float64{0.9, 0.1})
		near("projection", r.Projection, []float64{3, -1, 3, 1, -3, -1, -3, 1})
	}
}

// lowRank makes n×d data with a decaying spectrum: k strong directions
// plus small noise.
func lowRank(n, d int, seed uint64) []float64 {
	r := rand.New(rand.NewPCG(seed, 1))
	const k = 8
	basis := make([]float64, k*d)
	for i := range basis {
		basis[i] = r.NormFloat64()
	}
	x := make([]float64, n*d)
	for i := 0; i < n; i++ {
		for c := 0; c < k; c++ {
			a := r.NormFloat64() * float64(k-c) * 3
			for j := 0; j < d; j++ {
				x[i*d+j] += a * basis[c*d+j]
			}
		}
		for j := 0; j < d; j++ {
			x[i*d+j] += 0.1*r.NormFloat64() + float64(j%3)
		}
	}
	return x
}

// TestSolversAgree: covariance, Gram (n < d) and randomized solutions of
// the same problem match, and components are orthonormal.
func TestSolversAgree(t *testing.T) {
	ctx := context.Background()
	for _, sz := range [][2]int{{200, 30}, {40, 90}} {
		n, d := sz[0], sz[1]
		x := lowRank(n, d, uint64(n))
		full, err := FitContext(ctx, x, n, d, 5, Options{Solver: "full"})
		if err != nil {
			t.Fatal(err)
		}
		want := "covariance"
		if n < d {
			want = "gram"
		}
		if full.Solver != want {
			t.Fatalf("solver %s, want %s", full.Solver, want)
		}
		rnd, err := FitContext(ctx, x, n, d, 5, Options{Solver: "randomized", Seed: 3})
		if err != nil {
			t.Fatal(err)
		}
		for c := 0; c < 5; c++ {
			ev, rv := full.ExplainedVariance[c], rnd.ExplainedVariance[c]
			if math.Abs(ev-rv) > 1e-8*ev {
				t.Errorf("%v: variance %d: full %v randomized %v", sz, c, ev, rv)
			}
			for j := 0; j < d; j++ {
				if a, b := full.Components[c*d+j], rnd.Components[c*d+j]; math.Abs(a-b) > 1e-6 {
					t.Fatalf("%v: component %d differs at %d: %v vs %v", sz, c, j, a, b)
				}
			}
			for c2 := 0; c2 <= c; c2++ {
				var s float64
				for j := 0; j < d; j++ {
					s += full.Components[c*d+j] * full.Components[c2*d+j]
				}
				if c == c2 {
					s--
				}
				if math.Abs(s) > 1e-10 {
					t.Fatalf("%v: components %d,%d not orthonormal (%g)", sz, c, c2, s)
				}
			}
		}
	}
}

// TestRankDeficient asks for every component of data of rank 1: the
// extra components must still be orthonormal, with zero variance.
func TestRankDeficient(t *testing.T) {
	x := []float64{0, 0, 0, 0, 1, 2, 3, 4, 2, 4, 6, 8} // 3 samples, 4 features, rank 1
	r, err := Fit(x, 3, 4, 3)
	if err != nil {
		t.Fatal(err)
	}
	if r.Solver != "gram" {
		t.Fatalf("solver %s", r.Solver)
	}
	if math.Abs(r.ExplainedVarianceRatio[0]-1) > 1e-12 || r.ExplainedVariance[1] > 1e-12 {
		t.Fatalf("variance %v", r.ExplainedVariance)
	}
	for a := 0; a < 3; a++ {
		for b := 0; b < 3; b++ {
			var s float64
			for j := 0; j < 4; j++ {
				s += r.Components[a*4+j] * r.Components[b*4+j]
			}
			if a == b {
				s--
			}
			if math.Abs(s) > 1e-10 {
				t.Fatalf("components %d,%d: %g", a, b, s)
			}
		}
	}
}

func TestErrors(t *testing.T) {
	for _, c := range []struct {
		x       []float64
		n, d, k int
		want    string
	}{
		{[]float64{1, 2}, 1, 2, 1, "at least 2 samples"},
		{[]float64{1, 2, 3}, 2, 2, 1, "has 3 values"},
		{[]float64{1, 2, 3, 4}, 2, 2, 3, "n_components=3"},
		{[]float64{1, math.NaN(), 3, 4}, 2, 2, 1, "NaN"},
	} {
		_, err := Fit(c.x, c.n, c.d, c.k)
		if err == nil || !contains(err.Error(), c.want) {
			t.Errorf("Fit(%v): error %v, want %q", c.x, err, c.want)
		}
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// BenchmarkFit512 is the reduction t-SNE does on CUB-sized data.
func BenchmarkFit512(b *testing.B) {
	const n, d = 5924, 512
	x := lowRank(n, d, 9)
	for b.Loop() {
		if _, err := Fit(x, n, d, 50); err != nil {
			b.Fatal(err)
		}
	}
}

package linalg

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSymEig checks A·v = λ·v, orthonormality, ordering and signs on
// random symmetric matrices, including ones with repeated eigenvalues.
func TestSymEig(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, m := range []int{1, 2, 3, 5, 17, 64, 130} {
		for trial := 0; trial < 2; trial++ {
			a := make([]float64, m*m)
			if trial == 0 {
				for i := 0; i < m; i++ {
					for j := 0; j <= i; j++ {
						v := r.NormFloat64()
						a[i*m+j], a[j*m+i] = v, v
					}
				}
			} else {
				// Low rank plus identity: many equal eigenvalues.
				for k := 0; k < 3; k++ {
					u := make([]float64, m)
					for i := range u {
						u[i] = r.NormFloat64()
					}
					for i := 0; i < m; i++ {
						for j := 0; j < m; j++ {
							a[i*m+j] += u[i] * u[j]
						}
					}
				}
				for i := 0; i < m; i++ {
					a[i*m+i]++
				}
			}
			orig := append([]float64(nil), a...)
			vals, vecs, err := SymEig(a, m)
			if err != nil {
				t.Fatal(err)
			}
			scale := 0.0
			for _, v := range vals {
				scale = math.Max(scale, math.Abs(v))
			}
			for k := 0; k < m; k++ {
				if k > 0 && vals[k] > vals[k-1] {
					t.Fatalf("m=%d: eigenvalues not descending: %v", m, vals)
				}
				v := vecs[k*m : k*m+m]
				for i := 0; i < m; i++ {
					av := dot(orig[i*m:i*m+m], v)
					if math.Abs(av-vals[k]*v[i]) > 1e-10*(1+scale) {
						t.Fatalf("m=%d trial %d: residual %g for eigenpair %d", m, trial, av-vals[k]*v[i], k)
					}
				}
				for l := 0; l <= k; l++ {
					want := 0.0
					if l == k {
						want = 1
					}
					if got := dot(v, vecs[l*m:l*m+m]); math.Abs(got-want) > 1e-10 {
						t.Fatalf("m=%d: <v%d,v%d> = %g", m, k, l, got)
					}
				}
				best := 0.0
				for _, x := range v {
					if math.Abs(x) > math.Abs(best)+1e-15 {
						best = x
					}
				}
				if best < 0 {
					t.Fatalf("m=%d: sign convention broken for vector %d", m, k)
				}
			}
		}
	}
}

func TestSymEigDiagonal(t *testing.T) {
	a := []float64{2, 0, 0, 0, 5, 0, 0, 0, -1}
	vals, vecs, err := SymEig(a, 3)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{5, 2, -1}
	for i := range want {
		if vals[i] != want[i] {
			t.Fatalf("vals = %v, want %v", vals, want)
		}
	}
	if vecs[1] != 1 || vecs[3] != 1 || vecs[8] != 1 {
		t.Fatalf("vecs = %v", vecs)
	}
}

func BenchmarkSymEig512(b *testing.B) {
	const m = 512
	r := rand.New(rand.NewPCG(5, 6))
	src := make([]float64, m*m)
	for i := 0; i < m; i++ {
		for j := 0; j <= i; j++ {
			v := r.NormFloat64()
			src[i*m+j], src[j*m+i] = v, v
		}
	}
	a := make([]float64, m*m)
	for b.Loop() {
		copy(a, src)
		if _, _, err := SymEig(a, m); err != nil {
			b.Fatal(err)
		}
	}
}

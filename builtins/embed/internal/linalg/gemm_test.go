package linalg

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestMulABt(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, sz := range [][3]int{{1, 1, 1}, {5, 7, 3}, {8, 8, 50}, {13, 6, 17}} {
		m, n, k := sz[0], sz[1], sz[2]
		a := make([]float64, m*k)
		b := make([]float64, n*k)
		for i := range a {
			a[i] = r.NormFloat64()
		}
		for i := range b {
			b[i] = r.NormFloat64()
		}
		c := make([]float64, m*(n+2))
		MulABt(a, m, b, n, k, c, n+2)
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				var want float64
				for t := 0; t < k; t++ {
					want += a[i*k+t] * b[j*k+t]
				}
				if got := c[i*(n+2)+j]; math.Abs(got-want) > 1e-12*(1+math.Abs(want)) {
					t.Fatalf("%v: C[%d][%d] = %v, want %v", sz, i, j, got, want)
				}
			}
		}
	}
}

func BenchmarkMulABt(b *testing.B) {
	const m, n, k = 64, 2048, 50
	x := make([]float64, m*k)
	y := make([]float64, n*k)
	for i := range x {
		x[i] = float64(i%7) - 3
	}
	for i := range y {
		y[i] = float64(i%5) - 2
	}
	c := make([]float64, m*n)
	b.SetBytes(int64(m * n * k * 8)) // "bytes" = multiply-adds ×8, so MB/s/8 = M mul-add/s
	for b.Loop() {
		MulABt(x, m, y, n, k, c, n)
	}
}

func TestGramAndPar(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	const m, k = 37, 11
	a := make([]float64, m*k)
	for i := range a {
		a[i] = r.NormFloat64()
	}
	want := make([]float64, m*m)
	MulABt(a, m, a, m, k, want, m)
	for _, th := range []int{1, 2, 3} {
		got := make([]float64, m*m)
		Gram(a, m, k, got, th)
		par := make([]float64, m*m)
		ParMulABt(a, m, a, m, k, par, m, th)
		for i := range want {
			if math.Abs(got[i]-want[i]) > 1e-12 || par[i] != want[i] {
				t.Fatalf("threads %d: entry %d: gram %v par %v want %v", th, i, got[i], par[i], want[i])
			}
		}
	}
	tr := Transpose(a, m, k)
	for i := 0; i < m; i++ {
		for j := 0; j < k; j++ {
			if tr[j*m+i] != a[i*k+j] {
				t.Fatal("transpose")
			}
		}
	}
}

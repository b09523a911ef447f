package tsne

import (
	"context"
	"math/rand/v2"
	"syscall"
	"testing"

	"github.com/dadash/dadash/builtins/embed/quality"
)

// benchSetup makes the sparse P of n points of 100 classes in 50-D and a
// layout like a converged map of them: 100 blobs on a 10×10 grid.
func benchSetup(b testing.TB, n int) (*csr, []float64) {
	x, labels := quality.Clusters(n, 50, 100, 1, 1)
	p, err := sparsePerplexity(context.Background(), x, n, 50, 91, 30, 0)
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 1))
	y := make([]float64, 2*n)
	for i := 0; i < n; i++ {
		c := labels[i]
		y[2*i] = float64(c%10)*10 + 1.5*r.NormFloat64()
		y[2*i+1] = float64(c/10)*10 + 1.5*r.NormFloat64()
	}
	return p, y
}

func benchGradient(b *testing.B, n, threads int) {
	p, y := benchSetup(b, n)
	obj := newBarnesHut(p, n, 0.5, threads)
	grad := make([]float64, 2*n)
	b.ResetTimer()
	c0 := cpuTime()
	for b.Loop() {
		obj.gradient(y, grad, 1, false)
	}
	// CPU time per gradient as well: the test machines are shared, and
	// wall time under load says little.
	b.ReportMetric(float64(cpuTime()-c0)/float64(b.N), "cpu-ns/op")
}

func cpuTime() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func BenchmarkGradient5924x1(b *testing.B)  { benchGradient(b, 5924, 1) }
func BenchmarkGradient20000x1(b *testing.B) { benchGradient(b, 20000, 1) }

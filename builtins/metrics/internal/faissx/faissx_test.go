package faissx

import (
	"errors"
	"math/rand"
	"slices"
	"testing"
)

func blobs(n, d, k int, seed int64) []float32 {
	r := rand.New(rand.NewSource(seed))
	centers := make([]float32, k*d)
	for i := range centers {
		centers[i] = float32(r.NormFloat64() * 3)
	}
	x := make([]float32, n*d)
	for i := 0; i < n; i++ {
		c := r.Intn(k)
		for j := 0; j < d; j++ {
			x[i*d+j] = centers[c*d+j] + float32(r.NormFloat64())
		}
	}
	return x
}

// Running the iterations one train() call at a time (so that they can be
// interrupted) gives the same bits as one call with all of them.
func TestStepwiseEqualsOneCall(t *testing.T) {
	const n, d, k = 600, 8, 12
	x := blobs(n, d, k, 1)
	p := KMeansParams{K: k, Iter: 20, Seed: DefaultSeed}
	c1, a1, err := KMeans(x, n, d, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	steps := 0
	c2, a2, err := KMeans(x, n, d, p, func(int) error { steps++; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if steps != 20 {
		t.Errorf("step called %d times, want 20", steps)
	}
	if !slices.Equal(c1, c2) || !slices.Equal(a1, a2) {
		t.Errorf("stepwise k-means differs from one call")
	}
	// Every point is assigned to its nearest centroid.
	for i := 0; i < n; i++ {
		best, bd := -1, float32(0)
		for c := 0; c < k; c++ {
			var s float32
			for j := 0; j < d; j++ {
				v := x[i*d+j] - c2[c*d+j]
				s += v * v
			}
			if best < 0 || s < bd {
				best, bd = c, s
			}
		}
		if int64(best) != a2[i] {
			var s float32
			for j := 0; j < d; j++ {
				v := x[i*d+j] - c2[int(a2[i])*d+j]
				s += v * v
			}
			if s-bd > 1e-4*bd {
				t.Fatalf("point %d assigned to %d (%g), nearest is %d (%g)", i, a2[i], s, best, bd)
			}
		}
	}
}

func TestKMeansStopsAndChecks(t *testing.T) {
	x := blobs(50, 4, 3, 2)
	stop := errors.New("stop")
	_, _, err := KMeans(x, 50, 4, KMeansParams{K: 3, Iter: 5, Seed: 1}, func(it int) error {
		if it == 1 {
			return stop
		}
		return nil
	})
	if err != stop {
		t.Errorf("err = %v, want the step's error", err)
	}
	if _, _, err := KMeans(x, 50, 4, KMeansParams{K: 51, Iter: 5}, nil); err == nil {
		t.Errorf("k > n accepted")
	}
	if _, _, err := KMeans(x, 50, 4, KMeansParams{K: 3, Iter: 0}, nil); err == nil {
		t.Errorf("niter = 0 accepted")
	}
}

func TestSetThreads(t *testing.T) {
	if got := SetThreads(1); got != 1 {
		t.Errorf("SetThreads(1) = %d", got)
	}
	if got := SetThreads(0); got < 1 {
		t.Errorf("SetThreads(0) = %d", got)
	}
}

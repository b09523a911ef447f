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

// dadash's fused assignment index gives faiss's IndexFlatL2 clustering bit
// for bit.
func TestFusedIndexEqualsStock(t *testing.T) {
	const n, d, k = 3000, 64, 50
	x := blobs(n, d, k, 5)
	p := KMeansParams{K: k, Iter: 10, Seed: DefaultSeed}
	c1, a1, err := KMeans(x, n, d, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	p.StockIndex = true
	c2, a2, err := KMeans(x, n, d, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a1, a2) {
		t.Errorf("assignments differ")
	}
	if !slices.Equal(c1, c2) {
		t.Errorf("centroids differ")
	}
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

// The symmetric search equals a brute-force ranking by (squared L2
// distance, index), on small-integer vectors (exact in float32, many ties),
// across block and column-chunk boundaries.
func TestSelfKNN(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	// Blocks: one; many with a partial last one (odd and even counts).
	for _, tc := range []struct{ n, d, k, block int }{{5, 2, 4, 0}, {300, 3, 7, 64}, {300, 3, 7, 50}, {4500, 2, 30, 0}, {257, 4, 256, 100}} {
		x := make([]float32, tc.n*tc.d)
		for i := range x {
			x[i] = float32(r.Intn(5) - 2)
		}
		s, err := NewSelfKNN(x, tc.n, tc.d, tc.k, tc.block)
		if err != nil {
			t.Fatal(err)
		}
		for {
			done, err := s.Step()
			if err != nil {
				t.Fatal(err)
			}
			if done {
				break
			}
		}
		for row0 := 0; row0 < tc.n; row0 += 97 {
			dist, ids, err := s.Rows(row0, min(97, tc.n-row0))
			if err != nil {
				t.Fatal(err)
			}
			for b := 0; b < len(ids)/tc.k; b++ {
				i := row0 + b
				if tc.n > 1000 && i%37 != 0 {
					continue // the brute force is slow: a sample of the rows
				}
				want := bruteRow(x, tc.n, tc.d, i)[:tc.k]
				for j := 0; j < tc.k; j++ {
					if ids[b*tc.k+j] != int64(want[j].i) || dist[b*tc.k+j] != want[j].dist {
						t.Fatalf("n=%d row %d: neighbour %d is %d at %g, want %d at %g", tc.n, i, j,
							ids[b*tc.k+j], dist[b*tc.k+j], want[j].i, want[j].dist)
					}
				}
			}
		}
		// Reading rows again gives them again.
		d1, i1, _ := s.Rows(0, 2)
		d1, i1 = slices.Clone(d1), slices.Clone(i1)
		d2, i2, _ := s.Rows(0, 2)
		if !slices.Equal(d1, d2) || !slices.Equal(i1, i2) {
			t.Errorf("rows read twice differ")
		}
		s.Close()
	}
	if _, err := NewSelfKNN(make([]float32, 6), 3, 2, 3, 0); err == nil {
		t.Error("k = n accepted")
	}
}

type cand struct {
	dist float32
	i    int
}

func bruteRow(x []float32, n, d, q int) []cand {
	var cs []cand
	for j := 0; j < n; j++ {
		if j == q {
			continue
		}
		var s float32
		for c := 0; c < d; c++ {
			v := x[q*d+c] - x[j*d+c]
			s += v * v
		}
		cs = append(cs, cand{s, j})
	}
	slices.SortFunc(cs, func(a, b cand) int {
		if a.dist != b.dist {
			if a.dist < b.dist {
				return -1
			}
			return 1
		}
		return a.i - b.i
	})
	return cs
}

// Package quality measures how well a low-dimensional map of an embedding
// keeps its neighbourhoods, and makes the synthetic clustered data that
// dadash's t-SNE is tested and benchmarked on.
package quality

import (
	"math"
	"math/rand/v2"
	"slices"

	"github.com/dadash/dadash/builtins/embed/internal/linalg"
)

// Clusters returns n points in d dimensions from `classes` Gaussian
// clusters (row-major) and their labels. Centres are drawn with standard
// deviation spread per coordinate, and each class has its own noise scale
// in [0.5, 1.5], so clusters differ in size as real classes do. Labels are
// assigned round-robin, so class sizes differ by at most one.
func Clusters(n, d, classes int, spread float64, seed uint64) ([]float64, []int) {
	r := rand.New(rand.NewPCG(seed, 0xc1))
	centres := make([]float64, classes*d)
	for i := range centres {
		centres[i] = spread * r.NormFloat64()
	}
	scale := make([]float64, classes)
	for c := range scale {
		scale[c] = 0.5 + r.Float64()
	}
	x := make([]float64, n*d)
	labels := make([]int, n)
	for i := 0; i < n; i++ {
		c := i % classes
		labels[i] = c
		for j := 0; j < d; j++ {
			x[i*d+j] = centres[c*d+j] + scale[c]*r.NormFloat64()
		}
	}
	return x, labels
}

// ranked is a candidate neighbour for sorting: by distance, then index.
type ranked struct {
	d float64
	j int
}

func byDistance(a, b ranked) int {
	switch {
	case a.d < b.d:
		return -1
	case a.d > b.d:
		return 1
	}
	return a.j - b.j
}

// sortedRow fills c with all points ordered by distance from point i,
// from the Gram matrix g (n×n); the point itself is given distance
// self so that callers can put it first or last.
func sortedRow(g []float64, n, i int, self float64, c []ranked) {
	for j := 0; j < n; j++ {
		c[j] = ranked{g[i*n+i] + g[j*n+j] - 2*g[i*n+j], j}
	}
	c[i].d = self
	slices.SortFunc(c, byDistance)
}

// neighbours returns each point's k nearest other points in the n×d x
// (squared Euclidean, ties by index), nearest first. It is brute force,
// O(n²·d): fine for the sizes that are checked.
func neighbours(x []float64, n, d, k int) [][]int {
	g := make([]float64, n*n)
	linalg.Gram(x, n, d, g, 0)
	out := make([][]int, n)
	linalg.For(n, 16, 0, func(lo, hi int) {
		c := make([]ranked, n)
		for i := lo; i < hi; i++ {
			sortedRow(g, n, i, math.Inf(1), c)
			row := make([]int, k)
			for t := range row {
				row[t] = c[t].j
			}
			out[i] = row
		}
	})
	return out
}

// ClassNeighbourFraction is the mean, over points, of the fraction of each
// point's k nearest neighbours in y (n×dim) that share its label: the
// neighbourhood preservation of classes in a map.
func ClassNeighbourFraction(y []float64, n, dim int, labels []int, k int) float64 {
	nb := neighbours(y, n, dim, k)
	var same int
	for i, row := range nb {
		for _, j := range row {
			if labels[j] == labels[i] {
				same++
			}
		}
	}
	return float64(same) / float64(n*k)
}

// Trustworthiness is scikit-learn's sklearn.manifold.trustworthiness
// (Venna & Kaski 2001): 1 minus a penalty for every point that is among
// the k nearest neighbours of a point in the map y but not in the original
// x, weighted by how far down the original ranking it is. 1 is perfect;
// a random map scores about 0.5.
func Trustworthiness(x []float64, d int, y []float64, dim, n, k int) float64 {
	// Ranks in the original space: rank[i][j] = position of j among i's
	// neighbours (1 = nearest).
	g := make([]float64, n*n)
	linalg.Gram(x, n, d, g, 0)
	nbY := neighbours(y, n, dim, k)
	var penalty float64
	pen := make([]float64, n)
	linalg.For(n, 16, 0, func(lo, hi int) {
		c := make([]ranked, n)
		rank := make([]int, n)
		for i := lo; i < hi; i++ {
			sortedRow(g, n, i, math.Inf(-1), c) // the point itself ranks 0
			for r, e := range c {
				rank[e.j] = r
			}
			var p float64
			for _, j := range nbY[i] {
				if r := rank[j]; r > k {
					p += float64(r - k)
				}
			}
			pen[i] = p
		}
	})
	for _, p := range pen {
		penalty += p
	}
	nf, kf := float64(n), float64(k)
	return 1 - penalty*2/(nf*kf*(2*nf-3*kf-1))
}

package metrics

import (
	"fmt"
	"math"
	"sort"
)

// checkVectors validates an n x d row-major block of embeddings; what names
// it in errors ("embeddings", "query embeddings").
func checkVectors(what string, x []float32, n, d int) error {
	if n <= 0 {
		return fmt.Errorf("%s are empty (0 rows): there is nothing to evaluate", what)
	}
	if d <= 0 {
		return fmt.Errorf("%s have %d dimensions; each row needs at least one value", what, d)
	}
	if len(x) != n*d {
		return fmt.Errorf("%s: %d values do not make %d rows of %d dimensions", what, len(x), n, d)
	}
	for i, v := range x {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			bad := "NaN"
			if !math.IsNaN(float64(v)) {
				bad = "an infinite value"
			}
			return fmt.Errorf("%s row %d has %s (column %d); the model diverged or the data is broken, no metric is defined for it", what, i/d, bad, i%d)
		}
	}
	return nil
}

// normalized returns a copy of x with every row scaled to unit L2 norm (in
// float64, then rounded). A zero row has no direction and is an error.
func normalized(what string, x []float32, n, d int) ([]float32, error) {
	out := make([]float32, len(x))
	for i := 0; i < n; i++ {
		row := x[i*d : (i+1)*d]
		var s float64
		for _, v := range row {
			s += float64(v) * float64(v)
		}
		if s == 0 {
			return nil, fmt.Errorf("%s row %d is all zeros: it has no direction to normalise (pass normalize=False to use the vectors as they are)", what, i)
		}
		inv := 1 / math.Sqrt(s)
		o := out[i*d : (i+1)*d]
		for j, v := range row {
			o[j] = float32(float64(v) * inv)
		}
	}
	return out, nil
}

// classes maps arbitrary integer labels to dense class ids 0..C-1 (in
// increasing label order, so results do not depend on map iteration).
type classes struct {
	labels []int64 // class id -> label
	index  map[int64]int32
}

func newClasses(sets ...[]int64) *classes {
	seen := map[int64]bool{}
	for _, s := range sets {
		for _, l := range s {
			seen[l] = true
		}
	}
	c := &classes{index: make(map[int64]int32, len(seen))}
	for l := range seen {
		c.labels = append(c.labels, l)
	}
	sort.Slice(c.labels, func(i, j int) bool { return c.labels[i] < c.labels[j] })
	for i, l := range c.labels {
		c.index[l] = int32(i)
	}
	return c
}

func (c *classes) ids(labels []int64) []int32 {
	out := make([]int32, len(labels))
	for i, l := range labels {
		out[i] = c.index[l]
	}
	return out
}

// distinct counts the different values in ids.
func distinct(ids []int32) int {
	seen := map[int32]bool{}
	for _, v := range ids {
		seen[v] = true
	}
	return len(seen)
}

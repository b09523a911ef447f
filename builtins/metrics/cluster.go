package metrics

import (
	"math"
	"sort"
)

// contingency is the sparse table of a labelling against a clustering:
// cells[i] = n_ij for one (class, cluster) pair that occurs, with the row
// (class) sums a and column (cluster) sums b of the non-empty ones.
type contingency struct {
	n     int
	cells []int64
	a, b  []int64
	cellA []int64 // the row sum of each cell's class
	cellB []int64 // the column sum of each cell's cluster
}

// newContingency counts classes x clusters by sorting (class, cluster) keys:
// O(n log n), never the dense C x K table.
func newContingency(class []int32, cluster []int64) *contingency {
	n := len(class)
	keys := make([]uint64, n)
	for i := range class {
		keys[i] = uint64(class[i])<<32 | uint64(uint32(cluster[i]))
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	t := &contingency{n: n}
	rowSum := map[int32]int64{}
	colSum := map[int32]int64{}
	var rows, cols []int32
	for i := 0; i < n; {
		j := i + 1
		for j < n && keys[j] == keys[i] {
			j++
		}
		r, c := int32(keys[i]>>32), int32(uint32(keys[i]))
		cnt := int64(j - i)
		t.cells = append(t.cells, cnt)
		rows = append(rows, r)
		cols = append(cols, c)
		rowSum[r] += cnt
		colSum[c] += cnt
		i = j
	}
	t.a = sortedValues(rowSum)
	t.b = sortedValues(colSum)
	for i := range t.cells {
		t.cellA = append(t.cellA, rowSum[rows[i]])
		t.cellB = append(t.cellB, colSum[cols[i]])
	}
	return t
}

func sortedValues(m map[int32]int64) []int64 {
	keys := make([]int32, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	out := make([]int64, len(keys))
	for i, k := range keys {
		out[i] = m[k]
	}
	return out
}

// entropy of a partition with the given part sizes, in nats, written as
// sklearn's entropy() evaluates it.
func entropy(sizes []int64) float64 {
	if len(sizes) <= 1 {
		return 0
	}
	var sum float64
	for _, s := range sizes {
		sum += float64(s)
	}
	logSum := math.Log(sum)
	var h float64
	for _, s := range sizes {
		p := float64(s)
		h += (p / sum) * (math.Log(p) - logSum)
	}
	return -h
}

// mutualInfo is sklearn's mutual_info_score from the table (nats),
// including its rounding of per-cell terms below machine epsilon to 0 and
// its clipping at 0.
func (t *contingency) mutualInfo() float64 {
	if len(t.a) == 1 || len(t.b) == 1 {
		return 0
	}
	total := float64(t.n)
	logTotal := math.Log(total)
	var mi float64
	for i, c := range t.cells {
		cnm := float64(c) / total
		outer := float64(t.cellA[i] * t.cellB[i])
		logOuter := -math.Log(outer) + logTotal + logTotal
		v := cnm*(math.Log(float64(c))-logTotal) + cnm*logOuter
		if math.Abs(v) < eps64 {
			v = 0
		}
		mi += v
	}
	return math.Max(mi, 0)
}

const eps64 = 2.220446049250313e-16 // numpy's finfo(float64).eps

// expectedMutualInfo is E[MI] of two random partitions with the table's
// row and column sums (the hypergeometric model of Vinh et al., as
// sklearn's expected_mutual_information). The term of a cell depends only
// on (a_i, b_j), so rows and columns are grouped by size: the cost is
// (distinct a) x (distinct b) x min(a, b), not classes x clusters.
func (t *contingency) expectedMutualInfo() float64 {
	N := t.n
	na := countSizes(t.a)
	nb := countSizes(t.b)
	lgN1 := lgamma(float64(N) + 1)
	logN := math.Log(float64(N))
	var emi float64
	for a, ca := range na {
		for b, cb := range nb {
			start := max(1, a+b-N)
			end := min(a, b)
			glnA, glnB := lgamma(float64(a)+1), lgamma(float64(b)+1)
			glnNa, glnNb := lgamma(float64(N-a)+1), lgamma(float64(N-b)+1)
			logA, logB := math.Log(float64(a)), math.Log(float64(b))
			var e float64
			for nij := start; nij <= end; nij++ {
				fn := float64(nij)
				term1 := fn / float64(N)
				term2 := logN + math.Log(fn) - logA - logB
				gln := glnA + glnB + glnNa + glnNb - (lgamma(fn+1) + lgN1) -
					lgamma(float64(a-nij)+1) - lgamma(float64(b-nij)+1) -
					lgamma(float64(N-a-b+nij)+1)
				e += term1 * term2 * math.Exp(gln)
			}
			emi += float64(ca) * float64(cb) * e
		}
	}
	return emi
}

func countSizes(sizes []int64) map[int]int {
	m := map[int]int{}
	for _, s := range sizes {
		m[int(s)]++
	}
	return m
}

func lgamma(x float64) float64 {
	v, _ := math.Lgamma(x)
	return v
}

// nmi is sklearn's normalized_mutual_info_score with the arithmetic mean
// of the two entropies (its default).
func (t *contingency) nmi() float64 {
	if len(t.a) == len(t.b) && len(t.a) <= 1 {
		return 1 // one class and one cluster: a perfect, if trivial, match
	}
	mi := t.mutualInfo()
	if mi == 0 {
		return 0
	}
	return mi / ((entropy(t.a) + entropy(t.b)) / 2)
}

// ami is sklearn's adjusted_mutual_info_score (arithmetic normalisation):
// (MI - E[MI]) / (mean(H) - E[MI]), the denominator kept away from 0 with
// its sign as sklearn does.
func (t *contingency) ami() float64 {
	if len(t.a) == len(t.b) && len(t.a) <= 1 {
		return 1
	}
	mi := t.mutualInfo()
	emi := t.expectedMutualInfo()
	den := (entropy(t.a)+entropy(t.b))/2 - emi
	if den < 0 {
		den = math.Min(den, -eps64)
	} else {
		den = math.Max(den, eps64)
	}
	return (mi - emi) / den
}

// f1 is the reference's pair-counting F1: of the pairs in the same class,
// tp are also in the same cluster; P = tp / same-class pairs, R = tp /
// same-cluster pairs, F1 = 2PR / (P + R). With no pair in common (tp = 0,
// where the reference divides 0 by 0) it is 0.
func (t *contingency) f1() float64 {
	pairs := func(n int64) float64 { return float64(n) * float64(n-1) / 2 }
	var tp, sameClass, sameCluster float64
	for _, c := range t.cells {
		tp += pairs(c)
	}
	for _, a := range t.a {
		sameClass += pairs(a)
	}
	for _, b := range t.b {
		sameCluster += pairs(b)
	}
	if tp == 0 {
		return 0
	}
	p, r := tp/sameClass, tp/sameCluster
	return 2 * p * r / (p + r)
}

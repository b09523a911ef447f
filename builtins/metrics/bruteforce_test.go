package metrics

import (
	"context"
	"math"
	"math/rand"
	"sort"
	"testing"
)

// The chunked faiss path equals an O(N^2) implementation of each
// definition, written independently below, on random sets. The vectors are
// chosen so that float32 arithmetic is exact (small integers, or +-1/2 after
// normalisation): every distance, and so every tie, is the same in faiss and
// here, and ties are plentiful.

// ternary makes n rows of d values with exactly 4 entries +-1 (norm 2: the
// normalised rows are exact in float32) and labels with classes of random
// sizes, including classes of one item.
func ternary(r *rand.Rand, n, d int) ([]float32, []int64) {
	x := make([]float32, n*d)
	for i := 0; i < n; i++ {
		for _, j := range r.Perm(d)[:4] {
			x[i*d+j] = float32(2*r.Intn(2) - 1)
		}
	}
	return x, randomLabels(r, n)
}

// integers makes rows of small integers (never all zero).
func integers(r *rand.Rand, n, d int) ([]float32, []int64) {
	x := make([]float32, n*d)
	for i := 0; i < n; i++ {
		for {
			zero := true
			for j := 0; j < d; j++ {
				x[i*d+j] = float32(r.Intn(7) - 3)
				zero = zero && x[i*d+j] == 0
			}
			if !zero {
				break
			}
		}
	}
	return x, randomLabels(r, n)
}

func randomLabels(r *rand.Rand, n int) []int64 {
	l := make([]int64, n)
	for i := range l {
		if r.Intn(10) == 0 {
			l[i] = int64(1000 + i) // a class of its own
		} else {
			l[i] = int64(r.Intn(12)) * 7
		}
	}
	return l
}

// bruteKNN ranks the whole gallery for each query by squared L2 distance
// (float64), then by index; self leaves out the query's own row.
func bruteKNN(gal []float32, ng int, qry []float32, nq, d int, self bool) [][]int {
	out := make([][]int, nq)
	for q := 0; q < nq; q++ {
		type cand struct {
			dist float64
			i    int
		}
		var cs []cand
		for g := 0; g < ng; g++ {
			if self && g == q {
				continue
			}
			var s float64
			for j := 0; j < d; j++ {
				v := float64(qry[q*d+j]) - float64(gal[g*d+j])
				s += v * v
			}
			cs = append(cs, cand{s, g})
		}
		sort.Slice(cs, func(a, b int) bool {
			if cs[a].dist != cs[b].dist {
				return cs[a].dist < cs[b].dist
			}
			return cs[a].i < cs[b].i
		})
		for _, c := range cs {
			out[q] = append(out[q], c.i)
		}
	}
	return out
}

// bruteRanking computes the neighbour metrics from full rankings.
func bruteRanking(name string, rank [][]int, gl, ql []int64, self bool) float64 {
	size := map[int64]int{}
	for _, l := range gl {
		size[l]++
	}
	var sum float64
	var cnt int
	for q, nbrs := range rank {
		y := ql[q]
		nc := size[y]
		others := nc
		if self {
			others--
		}
		hit := func(i int) bool { return i < len(nbrs) && gl[nbrs[i]] == y }
		prec := func(i int) float64 { // precision at rank i+1
			h := 0
			for j := 0; j <= i; j++ {
				if hit(j) {
					h++
				}
			}
			return float64(h) / float64(i+1)
		}
		apSum := func(ranks int) float64 {
			var s float64
			for i := 0; i < ranks; i++ {
				if hit(i) {
					s += prec(i)
				}
			}
			return s
		}
		switch name {
		case "e_recall@1", "e_recall@3", "e_recall@10", "c_recall@3":
			k := map[string]int{"e_recall@1": 1, "e_recall@3": 3, "e_recall@10": 10, "c_recall@3": 3}[name]
			for i := 0; i < k; i++ {
				if hit(i) {
					sum++
					break
				}
			}
			cnt++
		case "precision_at_1":
			if others > 0 {
				if hit(0) {
					sum++
				}
				cnt++
			}
		case "r_precision":
			if others > 0 {
				h := 0
				for i := 0; i < others; i++ {
					if hit(i) {
						h++
					}
				}
				sum += float64(h) / float64(others)
				cnt++
			}
		case "map_at_r":
			if others > 0 {
				sum += apSum(others) / float64(others)
				cnt++
			}
		case "mAP_R":
			if nc > 0 {
				sum += apSum(nc) / float64(nc)
			}
			cnt++
		case "mAP_1000":
			if nc > 0 {
				sum += apSum(1000) / float64(nc)
			}
			cnt++
		}
	}
	if cnt == 0 {
		return 0
	}
	return sum / float64(cnt)
}

// bruteCluster: F1 by looking at every pair; NMI and AMI from the dense
// contingency table, E[MI] cell by cell.
func bruteCluster(name string, cls []int64, asg []int64) float64 {
	n := len(cls)
	switch name {
	case "f1":
		var tp, sc, sk float64
		for i := 0; i < n; i++ {
			for j := i + 1; j < n; j++ {
				c, k := cls[i] == cls[j], asg[i] == asg[j]
				if c {
					sc++
				}
				if k {
					sk++
				}
				if c && k {
					tp++
				}
			}
		}
		if tp == 0 {
			return 0
		}
		p, r := tp/sc, tp/sk
		return 2 * p * r / (p + r)
	}
	ci, ki := map[int64]int{}, map[int64]int{}
	for i := 0; i < n; i++ {
		if _, ok := ci[cls[i]]; !ok {
			ci[cls[i]] = len(ci)
		}
		if _, ok := ki[asg[i]]; !ok {
			ki[asg[i]] = len(ki)
		}
	}
	tab := make([][]float64, len(ci))
	for i := range tab {
		tab[i] = make([]float64, len(ki))
	}
	a, b := make([]float64, len(ci)), make([]float64, len(ki))
	for i := 0; i < n; i++ {
		tab[ci[cls[i]]][ki[asg[i]]]++
		a[ci[cls[i]]]++
		b[ki[asg[i]]]++
	}
	N := float64(n)
	var mi, ha, hb float64
	for i := range tab {
		for j := range tab[i] {
			if v := tab[i][j]; v > 0 {
				mi += v / N * math.Log(N*v/(a[i]*b[j]))
			}
		}
	}
	for _, v := range a {
		ha -= v / N * math.Log(v/N)
	}
	for _, v := range b {
		hb -= v / N * math.Log(v/N)
	}
	if name == "nmi" {
		return mi / ((ha + hb) / 2)
	}
	lf := func(x float64) float64 { v, _ := math.Lgamma(x + 1); return v }
	var emi float64
	for _, ai := range a {
		for _, bj := range b {
			for nij := math.Max(1, ai+bj-N); nij <= math.Min(ai, bj); nij++ {
				p := math.Exp(lf(ai) + lf(bj) + lf(N-ai) + lf(N-bj) - lf(N) - lf(nij) - lf(ai-nij) - lf(bj-nij) - lf(N-ai-bj+nij))
				emi += nij / N * math.Log(N*nij/(ai*bj)) * p
			}
		}
	}
	return (mi - emi) / ((ha+hb)/2 - emi)
}

// jacobiEigen returns the eigenvalues of a symmetric matrix (cyclic Jacobi).
func jacobiEigen(a [][]float64) []float64 {
	n := len(a)
	for sweep := 0; sweep < 100; sweep++ {
		var off float64
		for p := 0; p < n; p++ {
			for q := p + 1; q < n; q++ {
				off += a[p][q] * a[p][q]
			}
		}
		if off < 1e-26 {
			break
		}
		for p := 0; p < n; p++ {
			for q := p + 1; q < n; q++ {
				if a[p][q] == 0 {
					continue
				}
				theta := (a[q][q] - a[p][p]) / (2 * a[p][q])
				t := math.Copysign(1, theta) / (math.Abs(theta) + math.Sqrt(theta*theta+1))
				c := 1 / math.Sqrt(t*t+1)
				s := t * c
				for k := 0; k < n; k++ {
					akp, akq := a[k][p], a[k][q]
					a[k][p], a[k][q] = c*akp-s*akq, s*akp+c*akq
				}
				for k := 0; k < n; k++ {
					apk, aqk := a[p][k], a[q][k]
					a[p][k], a[q][k] = c*apk-s*aqk, s*apk+c*aqk
				}
			}
		}
	}
	ev := make([]float64, n)
	for i := range ev {
		ev[i] = a[i][i]
	}
	return ev
}

func bruteRho(x []float32, n, d, mode int) float64 {
	g := make([][]float64, d)
	for i := range g {
		g[i] = make([]float64, d)
		for j := range g[i] {
			for r := 0; r < n; r++ {
				g[i][j] += float64(x[r*d+i]) * float64(x[r*d+j])
			}
		}
	}
	ev := jacobiEigen(g)
	sort.Sort(sort.Reverse(sort.Float64Slice(ev)))
	var s []float64
	for _, v := range ev[:d-1] {
		s = append(s, math.Sqrt(math.Max(v, 0)))
	}
	k := mode
	if k < 0 {
		k = -k
	}
	s = s[k-1:]
	var tot float64
	for _, v := range s {
		tot += v
	}
	var kl float64
	u := 1 / float64(len(s))
	for _, v := range s {
		p := v / tot
		if mode > 0 {
			kl += u * math.Log(u/p)
		} else if p > 0 {
			kl += p * math.Log(p/u)
		}
	}
	return kl
}

func bruteDists(name string, x []float32, n, d int, cls []int64) float64 {
	unit := func(v []float64) []float64 {
		var s float64
		for _, e := range v {
			s += e * e
		}
		out := make([]float64, len(v))
		for i, e := range v {
			out[i] = e / math.Sqrt(s)
		}
		return out
	}
	row := func(i int) []float64 {
		v := make([]float64, d)
		for j := range v {
			v[j] = float64(x[i*d+j])
		}
		return v
	}
	cosd := func(a, b []float64) float64 { return 1 - dot(unit(a), unit(b)) }
	members := map[int64][]int{}
	var order []int64
	for i, c := range cls {
		if _, ok := members[c]; !ok {
			order = append(order, c)
		}
		members[c] = append(members[c], i)
	}
	var intra []float64
	singles := 0
	for _, c := range order {
		m := members[c]
		if len(m) == 1 {
			singles++
			continue
		}
		var s float64
		for _, i := range m {
			for _, j := range m {
				if i != j {
					s += cosd(row(i), row(j))
				}
			}
		}
		intra = append(intra, s/float64(len(m)*(len(m)-1)))
	}
	mx, tot := math.Inf(-1), 0.0
	for _, v := range intra {
		mx = math.Max(mx, v)
		tot += v
	}
	intraV := (tot + float64(singles)*mx) / float64(len(intra)+singles)
	var centres [][]float64
	for _, c := range order {
		m := make([]float64, d)
		for _, i := range members[c] {
			for j := range m {
				m[j] += float64(x[i*d+j]) / float64(len(members[c]))
			}
		}
		centres = append(centres, m)
	}
	var s float64
	for i := range centres {
		for j := range centres {
			if i != j {
				s += cosd(centres[i], centres[j])
			}
		}
	}
	interV := s / float64(len(centres)*(len(centres)-1))
	switch name {
	case "dists@intra":
		return intraV
	case "dists@inter":
		return interV
	}
	return intraV / math.Max(interV, 1e-8)
}

var (
	rankingNames = []string{"e_recall@1", "e_recall@3", "e_recall@10", "precision_at_1", "r_precision", "map_at_r", "mAP_R", "mAP_1000"}
	setNames     = []string{"nmi", "ami", "f1", "rho_spectrum@1", "rho_spectrum@2", "rho_spectrum@-1", "dists@intra", "dists@inter", "dists@intra_over_inter"}
)

func checkAgainstBrute(t *testing.T, x []float32, n, d int, labels []int64, o Options, names []string) {
	t.Helper()
	res, err := Compute(context.Background(), x, n, d, labels, names, o)
	if err != nil {
		t.Fatal(err)
	}
	// What the metrics see.
	self := o.Query == nil
	gal, qry, nq, ql := x, o.Query, len(o.QueryLabels), o.QueryLabels
	if !o.NoNormalize {
		gal, _ = normalized("", x, n, d)
		if !self {
			qry, _ = normalized("", o.Query, nq, d)
		}
	}
	if self {
		qry, nq, ql = gal, n, labels
	}
	rank := bruteKNN(gal, n, qry, nq, d, self)
	cosRank := rank
	evalX, evalL, evalN := gal, labels, n
	if !self {
		evalX = append(append([]float32(nil), qry...), gal...)
		evalL = append(append([]int64(nil), ql...), labels...)
		evalN = nq + n
	}
	var asg []int64
	for _, v := range res.Values {
		var want float64
		switch {
		case v.Name == "c_recall@3":
			want = bruteRanking(v.Name, cosRank, labels, ql, self)
		case v.Name == "nmi" || v.Name == "ami" || v.Name == "f1":
			if asg == nil {
				k := len(distinctLabels(evalL))
				if _, asg, err = KMeans(context.Background(), evalX, evalN, d, k, KMeansOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			want = bruteCluster(v.Name, evalL, asg)
		case v.Name[0] == 'r' && v.Name[1] == 'h':
			mode := map[string]int{"rho_spectrum@1": 1, "rho_spectrum@2": 2, "rho_spectrum@-1": -1}[v.Name]
			want = bruteRho(evalX, evalN, d, mode)
		case v.Name[0] == 'd':
			want = bruteDists(v.Name, evalX, evalN, d, evalL)
		default:
			want = bruteRanking(v.Name, rank, labels, ql, self)
		}
		if math.Abs(v.Value-want) > 1e-9*math.Max(1, math.Abs(want)) {
			t.Errorf("%s = %.15g, brute force %.15g", v.Name, v.Value, want)
		}
	}
}

func distinctLabels(l []int64) map[int64]bool {
	m := map[int64]bool{}
	for _, v := range l {
		m[v] = true
	}
	return m
}

func TestAgainstBruteForce(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	all := append(append(append([]string{}, rankingNames...), "c_recall@3"), setNames...)
	for trial := 0; trial < 3; trial++ {
		// Unit rows (after normalisation), exact: every metric.
		n, d := 150+40*trial, 8
		x, l := ternary(r, n, d)
		checkAgainstBrute(t, x, n, d, l, Options{}, all) // the symmetric search
		checkAgainstBrute(t, x, n, d, l, Options{chunkedSelf: true, ChunkSize: 7}, all)
		// Integer rows as given (no cosine metric: normalising them is not exact).
		xi, li := integers(r, n, 5)
		noCos := append(append([]string{}, rankingNames...), setNames...)
		checkAgainstBrute(t, xi, n, 5, li, Options{NoNormalize: true}, noCos)
		checkAgainstBrute(t, xi, n, 5, li, Options{NoNormalize: true, chunkedSelf: true, ChunkSize: 13}, noCos)
		// A separate gallery (queries of classes the gallery lacks included).
		qx, qlab := ternary(r, 60, d)
		checkAgainstBrute(t, x, n, d, l, Options{Query: qx, QueryLabels: qlab, ChunkSize: 16}, all)
	}
}

// An IVF index probing every list is an exhaustive search: the same numbers
// as the flat index where no tie straddles the k-th place.
func TestIVFExhaustive(t *testing.T) {
	names := []string{"e_recall@1", "e_recall@2", "e_recall@3", "mAP_R", "map_at_r", "mAP_1000"}
	flat := compute(t, circleX, 2, circleLabels, names, Options{})
	ivf := compute(t, circleX, 2, circleLabels, names, Options{Index: "ivf", NList: 2, NProbe: 2})
	for i := range flat.Values {
		if flat.Values[i] != ivf.Values[i] {
			t.Errorf("ivf %v, flat %v", ivf.Values[i], flat.Values[i])
		}
	}
}

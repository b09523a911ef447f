package metrics

import (
	"context"
	"math"
	"math/rand"
	"strings"
	"testing"

	"github.com/dadash/dadash/lang"
)

func newRand(seed int64) *rand.Rand { return rand.New(rand.NewSource(seed)) }

// circle puts unit vectors at the given angles (degrees): their cosine
// ranking is the ranking by angular difference.
func circle(deg ...float64) []float32 {
	var x []float32
	for _, a := range deg {
		r := a * math.Pi / 180
		x = append(x, float32(math.Cos(r)), float32(math.Sin(r)))
	}
	return x
}

func compute(t *testing.T, x []float32, d int, labels []int64, names []string, o Options) Result {
	t.Helper()
	r, err := Compute(context.Background(), x, len(x)/d, d, labels, names, o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func expect(t *testing.T, r Result, want map[string]float64) {
	t.Helper()
	for name, w := range want {
		g, ok := r.Get(name)
		if !ok {
			t.Errorf("%s missing from the result", name)
			continue
		}
		if math.Abs(g-w) > 1e-7 { // inputs are float32
			t.Errorf("%s = %.12g, want %.12g", name, g, w)
		}
	}
}

// Six points on a circle; classes A = {0, 1, 3}, B = {2, 4}, C = {5} (one item).
//
//	row:    0    1    2    3    4    5
//	angle:  0   10   30   35   90  100
//	class:  A    A    B    A    B    C
//
// Each row's neighbours by angular difference (the row itself left out),
// with hit = same class:
//
//	q0 A: 1(10) 2(30) 3(35) 4(90) 5(100)  hits 1 0 1 0 0
//	q1 A: 0(10) 2(20) 3(25) 4(80) 5(90)   hits 1 0 1 0 0
//	q2 B: 3(5)  1(20) 0(30) 4(60) 5(70)   hits 0 0 0 1 0
//	q3 A: 2(5)  1(25) 0(35) 4(55) 5(65)   hits 0 1 1 0 0
//	q4 B: 5(10) 3(55) 2(60) 1(80) 0(90)   hits 0 0 1 0 0
//	q5 C: 4(10) 3(65) 2(70) 1(90) 0(100)  hits 0 0 0 0 0
var (
	circleX      = circle(0, 10, 30, 35, 90, 100)
	circleLabels = []int64{7, 7, 3, 7, 3, 9} // A = 7, B = 3, C = 9
)

func TestHandMadeRanking(t *testing.T) {
	names := []string{"e_recall@1", "e_recall@2", "e_recall@3", "e_recall@4", "e_recall@5", "c_recall@2",
		"precision_at_1", "mAP_R", "map_at_r", "r_precision", "mAP_1000"}
	want := map[string]float64{
		// First hit at rank 1 for q0, q1; rank 2 for q3; rank 3 for q4;
		// rank 4 for q2; never for q5 (its class has no other item).
		"e_recall@1": 2.0 / 6, "e_recall@2": 3.0 / 6, "e_recall@3": 4.0 / 6,
		"e_recall@4": 5.0 / 6, "e_recall@5": 5.0 / 6, "c_recall@2": 3.0 / 6,
		// pytorch-metric-learning skips q5 (no other C): q0, q1 hit of 5.
		"precision_at_1": 2.0 / 5,
		// mAP_R, R = n_c: q0, q1 (R=3, hits 1 0 1): (1 + 2/3)/3 = 5/9;
		// q3 (R=3, 0 1 1): (1/2 + 2/3)/3 = 7/18; q2, q4 (R=2): 0; q5 (R=1): 0.
		// (5/9 + 5/9 + 7/18) / 6 = (27/18) / 6 = 1/4.
		"mAP_R": 0.25,
		// map_at_r, R = n_c - 1, q5 skipped: q0, q1 (R=2, 1 0): 1/2;
		// q3 (R=2, 0 1): (1/2)/2 = 1/4; q2, q4 (R=1): 0. 1.25 / 5 = 1/4.
		"map_at_r": 0.25,
		// r_precision: hits in the first R = n_c - 1: q0, q1, q3 1/2; q2, q4 0.
		"r_precision": 1.5 / 5,
		// mAP_1000 over all 5 neighbours, divided by n_c: q0, q1 5/9;
		// q2 (hit at 4) (1/4)/2 = 1/8; q3 7/18; q4 (hit at 3) (1/3)/2 = 1/6;
		// q5 0. Sum = (40 + 40 + 9 + 28 + 12)/72 = 129/72; mean 129/432.
		"mAP_1000": 129.0 / 432,
	}
	r := compute(t, circleX, 2, circleLabels, names, Options{})
	expect(t, r, want)
	for i, v := range r.Values { // the requested order
		if v.Name != names[i] {
			t.Fatalf("value %d is %s, want %s", i, v.Name, names[i])
		}
	}
	if r.Neighbors != 5 {
		t.Errorf("searched %d neighbours, want 5", r.Neighbors)
	}
	// Without normalisation (the vectors are unit already) the Euclidean
	// and cosine searches are separate and agree; faiss's chunked search
	// (small chunks) agrees with the symmetric one.
	expect(t, compute(t, circleX, 2, circleLabels, names, Options{NoNormalize: true}), want)
	expect(t, compute(t, circleX, 2, circleLabels, names, Options{chunkedSelf: true, ChunkSize: 4}), want)
	// Scaling rows changes nothing once they are normalised.
	scaled := append([]float32(nil), circleX...)
	for i := range scaled {
		scaled[i] *= float32(1 + i/2)
	}
	expect(t, compute(t, scaled, 2, circleLabels, names, Options{ChunkSize: 1}), want)
}

// Ties: rows 0, 1, 2, 4 are the same vector e1, row 3 is e2.
//
//	row:   0   1   2   3   4
//	class: A   B   A   B   C
//
// Ties are ordered by row index, and the row itself is left out by index
// even where faiss, keeping the smallest indices among the tied ones,
// never returns it (q2 and q4 searching 2 deep get rows 0 and 1):
//
//	q0 A: 1 2 4 | 3      hits 0 1 0 0
//	q1 B: 0 2 4 | 3      hits 0 0 0 1
//	q2 A: 0 1 4 | 3      hits 1 0 0 0
//	q3 B: 0 1 2 4 (all at cosine 0)  hits 0 1 0 0
//	q4 C: 0 1 2 | 3      hits 0 0 0 0
func TestTies(t *testing.T) {
	x := []float32{1, 0, 1, 0, 1, 0, 0, 1, 1, 0}
	labels := []int64{0, 1, 0, 1, 2}
	want := map[string]float64{
		"e_recall@1": 1.0 / 5, // q2 only
		"e_recall@2": 3.0 / 5, // q0, q2, q3
		"e_recall@3": 3.0 / 5,
		"e_recall@4": 4.0 / 5, // + q1
		// mAP_R (R = 2 for A and B, 1 for C): q0 (0 1) (1/2)/2 = 1/4;
		// q1 (0 0) 0; q2 (1 0) 1/2; q3 (0 1) 1/4; q4 0. Mean 1/5.
		"mAP_R": 0.2,
		// precision_at_1 over q0..q3 (q4 is alone in C): q2 hits.
		"precision_at_1": 0.25,
	}
	names := []string{"e_recall@1", "e_recall@2", "e_recall@3", "e_recall@4", "mAP_R", "precision_at_1"}
	expect(t, compute(t, x, 2, labels, names, Options{}), want)
	expect(t, compute(t, x, 2, labels, names, Options{NoNormalize: true}), want) // squared L2: 0 or 2
	expect(t, compute(t, x, 2, labels, names, Options{chunkedSelf: true}), want)
	// faiss's 1-deep searches (2 with the row itself) exercise the
	// row-not-returned path.
	expect(t, compute(t, x, 2, labels, []string{"e_recall@1"}, Options{chunkedSelf: true}), map[string]float64{"e_recall@1": 0.2})

	// KNN reports the same order, with cosine distances.
	nb, err := KNN(context.Background(), x, 5, 2, nil, 4, KNNOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantIdx := [][]int64{{1, 2, 4, 3}, {0, 2, 4, 3}, {0, 1, 4, 3}, {0, 1, 2, 4}, {0, 1, 2, 3}}
	for q, w := range wantIdx {
		for j := range w {
			if nb.Index[q*4+j] != w[j] {
				t.Fatalf("knn row %d = %v, want %v", q, nb.Index[q*4:q*4+4], w)
			}
		}
	}
	if nb.Dist[0] != 0 || nb.Dist[3] != 1 {
		t.Errorf("cosine distances of row 0 = %v, want 0 ... 1", nb.Dist[:4])
	}
	// A larger set so that faiss takes its BLAS path (20 or more queries):
	// 30 copies of e1 in classes 0, 1, 2, 0, 1, 2, ...; every query's nearest
	// other row is the smallest other index.
	var big []float32
	var bl []int64
	for i := 0; i < 30; i++ {
		big = append(big, 1, 0)
		bl = append(bl, int64(i%3))
	}
	// Row 0's neighbour is row 1 (class 1, a miss), row 3's is row 0 (a hit),
	// every other row's is row 0: hits for rows 3, 6, ..., 27 (9 of 30).
	expect(t, compute(t, big, 2, bl, []string{"e_recall@1"}, Options{}), map[string]float64{"e_recall@1": 9.0 / 30})
	expect(t, compute(t, big, 2, bl, []string{"e_recall@1"}, Options{chunkedSelf: true}), map[string]float64{"e_recall@1": 9.0 / 30})
}

// A class of one item never hits; pytorch-metric-learning's metrics skip
// it, and with only such classes they are 0.
func TestSingletons(t *testing.T) {
	x := circle(0, 50, 100, 150)
	r := compute(t, x, 2, []int64{1, 2, 3, 4}, []string{"e_recall@1", "mAP_R", "map_at_r", "r_precision", "precision_at_1", "mAP_1000"}, Options{})
	expect(t, r, map[string]float64{"e_recall@1": 0, "mAP_R": 0, "map_at_r": 0, "r_precision": 0, "precision_at_1": 0, "mAP_1000": 0})
}

// In-Shop: queries search a separate gallery and nothing is left out (q0 is
// a copy of g3 and finds it first).
//
//	gallery: g0 10deg A, g1 80deg B, g2 20deg B, g3 0deg A
//	q0  0deg A: g3(0) g0(10) g2(20) g1(80)   hits 1 1 0 0
//	q1 90deg B: g1(10) g2(70) g0(80) g3(90)  hits 1 1 0 0
//	q2 60deg D: g1(20) g2(40) g0(50) g3(60)  D is not in the gallery
func TestQueryGallery(t *testing.T) {
	gal := circle(10, 80, 20, 0)
	gl := []int64{0, 1, 1, 0}
	o := Options{Query: circle(0, 90, 60), QueryLabels: []int64{0, 1, 5}}
	r := compute(t, gal, 2, gl, []string{"e_recall@1", "e_recall@4", "mAP_R", "map_at_r", "precision_at_1", "mAP_1000"}, o)
	expect(t, r, map[string]float64{
		"e_recall@1": 2.0 / 3, "e_recall@4": 2.0 / 3,
		// R = n_c = 2 in the gallery: q0 and q1 score (1 + 1)/2 = 1, q2 (R = 0) 0.
		"mAP_R": 2.0 / 3,
		// q2 has no item of its class in the gallery: skipped.
		"map_at_r": 1, "precision_at_1": 1,
		"mAP_1000": 2.0 / 3,
	})
	// The whole gallery can be searched: e_recall@4 is fine, @5 is not.
	_, err := Compute(context.Background(), gal, 4, 2, gl, []string{"e_recall@5"}, o)
	wantErr(t, err, "e_recall@5 needs the 5 nearest neighbours of each query, but the gallery has 4 items")
}

// Pair-counting F1 and mutual information from a fixed labelling and
// clustering, against sklearn 1.2.1 (numbers pasted, computed with
// normalized_mutual_info_score / adjusted_mutual_info_score).
func TestClusterScores(t *testing.T) {
	cls := []int32{0, 0, 0, 1, 1, 1, 2, 2, 2, 2}
	asg := []int64{0, 0, 1, 1, 1, 2, 2, 2, 2, 0}
	tab := newContingency(cls, asg)
	// Same-class pairs: 3 + 3 + 6 = 12. Cells: (0,0)=2 (0,1)=1 (1,1)=2
	// (1,2)=1 (2,2)=3 (2,0)=1, so tp = 1 + 1 + 3 = 5. Cluster sizes 3, 3, 4:
	// 12 same-cluster pairs. P = R = 5/12, F1 = 5/12.
	near(t, "f1", tab.f1(), 5.0/12, 1e-15)
	near(t, "nmi", tab.nmi(), 0.44270128334605013, 1e-13)
	near(t, "ami", tab.ami(), 0.23728877770133577, 1e-12)

	// 300 points, 7 classes against 9 clusters, from integer formulas that
	// the Python side reproduced:
	//   true[i] = (i*i + 3*i) % 7, pred[i] = (5*i + i//3) % 9
	cls, asg = nil, nil
	for i := 0; i < 300; i++ {
		cls = append(cls, int32((i*i+3*i)%7))
		asg = append(asg, int64((5*i+i/3)%9))
	}
	tab = newContingency(cls, asg)
	near(t, "nmi", tab.nmi(), 0.0024916709306374712, 1e-13)
	near(t, "ami", tab.ami(), -0.02135960892161351, 1e-12)
	near(t, "f1", tab.f1(), 0.14271973067211735, 1e-14)

	// Limits as sklearn has them: identical partitions 1; one class and one
	// cluster 1; everything in its own cluster against one class: NMI 0.
	same := newContingency([]int32{0, 0, 1, 1, 2}, []int64{4, 4, 0, 0, 9})
	near(t, "nmi", same.nmi(), 1, 1e-15)
	near(t, "ami", same.ami(), 1, 1e-15)
	near(t, "f1", same.f1(), 1, 0)
	one := newContingency([]int32{3, 3, 3}, []int64{0, 0, 0})
	near(t, "nmi", one.nmi(), 1, 0)
	near(t, "ami", one.ami(), 1, 0)
	split := newContingency([]int32{0, 0, 0, 0}, []int64{0, 1, 2, 3})
	near(t, "nmi", split.nmi(), 0, 0)
	near(t, "ami", split.ami(), 0, 0)
	near(t, "f1", split.f1(), 0, 0) // no pair shares a cluster: tp = 0
}

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol || math.IsNaN(got) {
		t.Errorf("%s = %.17g, want %.17g", what, got, want)
	}
}

// Singular values 4, 3, 2, 1 (orthogonal rows, not normalised). The
// reference keeps the top d-1 = 3: s = (4, 3, 2)/9.
//
//	rho@1  = KL(U || s) = 1/3 [ln(3/4) + ln(1) + ln(3/2)] = ln(9/8)/3
//	rho@2  drops the first: s = (3, 2)/5, KL = 1/2 [ln(5/6) + ln(5/4)] = ln(25/24)/2
//	rho@-1 = KL(s || U) = 4/9 ln(4/3) + 3/9 ln(1) + 2/9 ln(2/3)
//
// Normalised, the rows are e1..e4: a flat spectrum, rho = 0.
func TestRhoSpectrum(t *testing.T) {
	x := []float32{4, 0, 0, 0, 0, 3, 0, 0, 0, 0, 2, 0, 0, 0, 0, 1}
	labels := []int64{0, 0, 1, 1}
	names := []string{"rho_spectrum@1", "rho_spectrum", "rho_spectrum@2", "rho_spectrum@-1", "rho_spectrum@3"}
	r := compute(t, x, 4, labels, names, Options{NoNormalize: true})
	expect(t, r, map[string]float64{
		"rho_spectrum@1":  math.Log(9.0/8) / 3,
		"rho_spectrum":    math.Log(25.0/24) / 2,
		"rho_spectrum@2":  math.Log(25.0/24) / 2,
		"rho_spectrum@-1": 4.0/9*math.Log(4.0/3) + 2.0/9*math.Log(2.0/3),
		"rho_spectrum@3":  0, // one value left: uniform
	})
	r = compute(t, x, 4, labels, names, Options{})
	for _, v := range r.Values {
		near(t, v.Name, v.Value, 0, 1e-12)
	}
	_, err := Compute(context.Background(), x, 4, 4, labels, []string{"rho_spectrum@4"}, Options{})
	wantErr(t, err, "rho_spectrum@4 drops the first 3 singular values")
}

// Class A at 0 and 60 degrees: cosine distance 1 - cos 60 = 1/2.
// Class B at 180 and 270: 1 - cos 90 = 1. Class C (one item, 45deg): no
// pair; it takes the largest class value, 1. intra = (1/2 + 1 + 1)/3 = 5/6.
// Centres: A at 30deg, B at 225deg, C at 45deg; distances A-B 1 - cos 165,
// A-C 1 - cos 15, B-C 2; cos 165 = -cos 15, so the three sum to 4 and the
// mean over pairs is 4/3. Their ratio is 5/8.
func TestDists(t *testing.T) {
	x := circle(0, 60, 180, 270, 45)
	labels := []int64{0, 0, 1, 1, 2}
	r := compute(t, x, 2, labels, []string{"dists@intra", "dists@inter", "dists@intra_over_inter"}, Options{})
	expect(t, r, map[string]float64{"dists@intra": 5.0 / 6, "dists@inter": 4.0 / 3, "dists@intra_over_inter": 5.0 / 8})
	// Cosine distances do not depend on the rows' lengths.
	for i := range x {
		x[i] *= 3
	}
	r = compute(t, x, 2, labels, []string{"dists@intra", "dists@inter"}, Options{NoNormalize: true})
	expect(t, r, map[string]float64{"dists@intra": 5.0 / 6, "dists@inter": 4.0 / 3})
	_, err := Compute(context.Background(), x, 5, 2, []int64{0, 0, 0, 0, 0}, []string{"dists@inter"}, Options{})
	wantErr(t, err, "dists@inter needs at least 2 classes, got 1")
	_, err = Compute(context.Background(), x, 5, 2, []int64{0, 1, 2, 3, 4}, []string{"dists@intra"}, Options{})
	wantErr(t, err, "dists@intra needs a class with at least 2 items")
}

// nmi, ami and f1 share one k-means: well separated blobs are recovered.
func TestClusteringMetrics(t *testing.T) {
	x := circle(0, 2, 4, 120, 122, 124, 240, 242, 244)
	labels := []int64{0, 0, 0, 1, 1, 1, 2, 2, 2}
	r := compute(t, x, 2, labels, []string{"nmi", "ami", "f1"}, Options{})
	expect(t, r, map[string]float64{"nmi": 1, "ami": 1, "f1": 1})
	if r.Clusters != 3 {
		t.Errorf("k-means with %d clusters, want 3", r.Clusters)
	}
}

func wantErr(t *testing.T, err error, sub string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", sub)
	}
	if !strings.Contains(err.Error(), sub) {
		t.Fatalf("error %q does not contain %q", err, sub)
	}
}

func TestBadInput(t *testing.T) {
	ctx := context.Background()
	x := circle(0, 10, 20, 30)
	l := []int64{0, 0, 1, 1}
	_, err := Compute(ctx, x, 4, 2, l, []string{"e_recal@1"}, Options{})
	wantErr(t, err, `unknown metric "e_recal@1" (did you mean "e_recall@1"?); known metrics: e_recall@k, c_recall@k,`)
	_, err = Compute(ctx, x, 4, 2, l, []string{"MAP_R"}, Options{})
	wantErr(t, err, `did you mean "mAP_R"?`)
	_, err = Compute(ctx, x, 4, 2, l, []string{"recall@5"}, Options{})
	wantErr(t, err, `did you mean "e_recall@5"?`)
	_, err = Compute(ctx, x, 4, 2, l, []string{"e_recall@0"}, Options{})
	wantErr(t, err, "k must be a positive integer")
	_, err = Compute(ctx, x, 4, 2, l, []string{"rho_spectrum@0"}, Options{})
	wantErr(t, err, "k = 0 is the normalised spectrum itself")
	_, err = Compute(ctx, x, 4, 2, l, nil, Options{})
	wantErr(t, err, "no metric names given")

	// k larger than the gallery: 50 items, the query itself left out.
	var x50 []float32
	var l50 []int64
	for i := 0; i < 50; i++ {
		x50 = append(x50, circle(float64(i))...)
		l50 = append(l50, int64(i%5))
	}
	_, err = Compute(ctx, x50, 50, 2, l50, []string{"e_recall@1", "e_recall@100"}, Options{})
	wantErr(t, err, "e_recall@100 needs the 100 nearest neighbours of each query, but the gallery has 50 items (49 besides the query itself)")
	_, err = Compute(ctx, x50, 50, 2, l50, []string{"e_recall@50"}, Options{})
	wantErr(t, err, "gallery has 50 items (49 besides")
	// mAP_1000 and mAP_R cap their depth at the gallery instead.
	if _, err = Compute(ctx, x50, 50, 2, l50, []string{"e_recall@49", "mAP_1000", "mAP_R"}, Options{}); err != nil {
		t.Error(err)
	}

	_, err = Compute(ctx, x, 4, 2, []int64{0, 1, 1}, []string{"e_recall@1"}, Options{})
	wantErr(t, err, "3 labels for 4 embeddings")
	bad := append([]float32(nil), x...)
	bad[5] = float32(math.NaN())
	_, err = Compute(ctx, bad, 4, 2, l, []string{"e_recall@1"}, Options{})
	wantErr(t, err, "embeddings row 2 has NaN (column 1)")
	bad[5] = float32(math.Inf(-1))
	_, err = Compute(ctx, bad, 4, 2, l, []string{"e_recall@1"}, Options{})
	wantErr(t, err, "embeddings row 2 has an infinite value (column 1)")
	_, err = Compute(ctx, nil, 0, 2, nil, []string{"e_recall@1"}, Options{})
	wantErr(t, err, "embeddings are empty (0 rows)")
	zero := append([]float32(nil), x...)
	zero[2], zero[3] = 0, 0
	_, err = Compute(ctx, zero, 4, 2, l, []string{"e_recall@1"}, Options{})
	wantErr(t, err, "embeddings row 1 is all zeros")
	_, err = Compute(ctx, x, 4, 2, l, []string{"e_recall@1"}, Options{Index: "hnsw"})
	wantErr(t, err, `unknown index "hnsw"`)
	_, err = Compute(ctx, x, 4, 2, l, []string{"e_recall@1"}, Options{Query: circle(5), QueryLabels: []int64{0, 1}})
	wantErr(t, err, "2 query labels for 2 query values")
	qbad := circle(5, 6)
	qbad[0] = float32(math.NaN())
	_, err = Compute(ctx, x, 4, 2, l, []string{"e_recall@1"}, Options{Query: qbad, QueryLabels: []int64{0, 1}})
	wantErr(t, err, "query embeddings row 0 has NaN")

	ctx2, cancel := context.WithCancel(ctx)
	cancel()
	_, err = Compute(ctx2, x, 4, 2, l, []string{"e_recall@1"}, Options{})
	if err != context.Canceled {
		t.Errorf("cancelled run: err = %v", err)
	}
}

// countdown is a context that reports cancellation after n checks.
type countdown struct {
	context.Context
	n int
}

func (c *countdown) Err() error {
	if c.n--; c.n < 0 {
		return context.Canceled
	}
	return nil
}

// A run stops at the next check after cancellation: between the search's
// steps and between k-means iterations.
func TestCancelMidRun(t *testing.T) {
	r := newRand(1)
	x, l := ternary(r, 3000, 8)
	for _, names := range [][]string{{"e_recall@1"}, {"nmi"}} {
		for _, n := range []int{0, 1, 3} {
			_, err := Compute(&countdown{context.Background(), n}, x, 3000, 8, l, names, Options{})
			if err != context.Canceled {
				t.Errorf("%v, cancelled after %d checks: err = %v", names, n, err)
			}
		}
	}
}

func TestInterruptedInScripts(t *testing.T) {
	if err := callErr("metrics.compute", context.Canceled); err != lang.ErrInterrupted {
		t.Errorf("a cancelled run reads %v, want lang.ErrInterrupted", err)
	}
}

// Package metrics evaluates embeddings for deep metric learning, with the
// metric names and definitions of the reference pipeline (Roth et al.,
// "Revisiting Training Strategies and Generalization Performance in Deep
// Metric Learning", which DADA's code uses) and of pytorch-metric-learning,
// on faiss. It is both a Go API (Compute, KNN, KMeans: used by the training
// loop and `dadash eval`) and the `metrics` module of scripts.
//
// One Compute call shares one kNN search between all the neighbour-based
// metrics it is asked for (searching as deep as the deepest of them needs)
// and one k-means run between nmi, ami and f1. Metrics are accumulated query
// by query, so the neighbours of all queries are never stored.
//
// # Protocol
//
// Embeddings are L2-normalised first (the reference's models end in a
// normalising layer, and its numbers are computed on unit vectors);
// Options.NoNormalize uses them as given. By default the query set is the
// gallery and each query's own index is left out of its neighbours; with
// Options.Query the queries search a separate gallery (the In-Shop protocol)
// and nothing is left out.
//
// Neighbours are ranked by squared L2 distance as faiss's IndexFlatL2
// computes it, as the reference ranks e_recall and mAP; for unit vectors
// that is also the cosine ranking of its c_recall (IndexFlatIP), so e_recall
// and c_recall share the search. Without normalisation the Euclidean metrics
// search the vectors as given and c_recall their normalised copies, in two
// searches. Ties in distance are ordered by gallery index (the smaller index
// is nearer), both inside the k results and at the k-th place.
//
// A set searched against itself uses dadash's symmetric exact search
// (native/faiss_c: each pair of rows multiplied once with faiss's BLAS call,
// half the flops of IndexFlatL2) while its heaps (n * k * 8 bytes) fit in
// 1 GiB; otherwise, and for a separate gallery or an IVF index, faiss's
// index is searched a chunk of queries at a time.
//
// # Metrics
//
// The names are rows of one table (metricTable in names.go) that drives
// Available, parsing, the search depth of each kNN metric and the help
// text of metrics.compute; the definitions:
//
// Let N_q(i) be the i-th neighbour of query q, hit_i = [class(N_q(i)) =
// class(q)], P@i the fraction of hits among the first i, n_c the size of the
// query's class in the gallery (counting the query itself when the gallery
// is the query set) and o_c the number of other items of the class in the
// gallery (n_c - 1, or n_c with a separate gallery).
//
//   - e_recall@k, c_recall@k: the fraction of queries with a hit among their
//     first k neighbours (all queries count; one whose class has no other
//     item never hits). k larger than the gallery is an error.
//   - mAP_R (the reference's MAP@R): mean over all queries of
//     sum_{i<=R} hit_i P@i / R with R = min(n_c, 1000). Because n_c counts
//     the query, a perfect ranking scores (n_c - 1) / n_c and a class of one
//     item scores 0 (and counts); ranks beyond the gallery are misses.
//   - map_at_r (pytorch-metric-learning's MAP@R): the same sum with
//     R = min(o_c, 1000), divided by R; queries with o_c = 0 are skipped.
//   - mAP_1000: sum_{i<=1000} hit_i P@i / n_c over the first 1000
//     neighbours (fewer when the gallery is smaller), mean over all queries.
//   - precision_at_1: P@1, mean over the queries with o_c > 0.
//   - r_precision: the hits among the first R = min(o_c, 1000) neighbours,
//     divided by R; queries with o_c = 0 are skipped.
//   - nmi, ami: k-means (faiss, k = the number of classes in the evaluated
//     set, 20 iterations, seed 1234, each point assigned to its nearest
//     centroid) against the labels: sklearn's normalized_mutual_info_score
//     and adjusted_mutual_info_score (arithmetic mean of the entropies).
//   - f1: pair counting over the same clustering: tp = pairs in the same
//     class and the same cluster, F1 = 2PR/(P+R) with P = tp / same-class
//     pairs and R = tp / same-cluster pairs (0 when tp = 0).
//   - rho_spectrum@k: the spectral decay of the embeddings: their top d-1
//     singular values without the first |k|-1, normalised to sum 1, and
//     KL(uniform || spectrum) for k > 0, KL(spectrum || uniform) for k < 0.
//     rho_spectrum alone is rho_spectrum@2.
//   - dists@intra, dists@inter, dists@intra_over_inter: mean intra-class
//     cosine distance, mean cosine distance between class centres, and
//     intra / max(inter, 1e-8) (see classDists).
//
// With a separate gallery, the clustering and embedding-space metrics (nmi,
// ami, f1, rho_spectrum, dists) use the queries and the gallery together.
package metrics

import (
	"context"
	"fmt"
	"io"
	"math"
	"runtime"
	"strings"
	"time"

	"github.com/dadash/dadash/builtins/metrics/internal/faissx"
	"github.com/dadash/dadash/lang"
)

// DefaultChunkSize is the number of queries per faiss search call: large
// enough for faiss's BLAS blocks, small enough that one chunk of neighbours
// at k = 1000 stays near 50 MB.
const DefaultChunkSize = 4096

// Options configure Compute. The zero value is the reference protocol.
type Options struct {
	// Query and QueryLabels, when set, are searched against the gallery
	// (Compute's embeddings and labels) instead of the gallery itself.
	Query       []float32
	QueryLabels []int64

	// NoNormalize skips the L2 normalisation of the embeddings.
	NoNormalize bool

	// Index is "flat" (exact, the default) or "ivf" (approximate; for sets
	// too large for exhaustive search). NList and NProbe size the IVF index
	// (defaults: 4 sqrt(gallery) lists, at most gallery/39, and 32 probes).
	// IVF can miss neighbours, and where ties straddle the k-th place it
	// keeps whichever it scanned first rather than the smaller index.
	Index  string
	NList  int
	NProbe int

	// ChunkSize is the number of queries searched at once (default 4096).
	ChunkSize int

	// Threads for faiss (OpenMP); 0 means dadash's --threads, else all
	// cores. dadash's kernels run BLAS single-threaded inside these threads;
	// faiss's own searches (a separate gallery, IVF) multiply with OpenBLAS's
	// thread pool, which dadash --threads also sizes.
	Threads int

	// KMeansIter (default 20) and KMeansSeed (0: faiss's default 1234, which
	// the reference uses) control the k-means of nmi, ami and f1.
	KMeansIter int
	KMeansSeed int

	// Log, when set, receives a line per finished stage with its time.
	Log io.Writer

	// chunkedSelf makes a search of the set against itself use faiss's
	// chunked search instead of the symmetric one (tests compare the two).
	chunkedSelf bool
}

// Value is one computed metric.
type Value struct {
	Name  string
	Value float64
}

// Stage is the wall time of one part of a Compute call.
type Stage struct {
	Name    string
	Seconds float64
}

// Result holds the metrics in the order they were asked for.
type Result struct {
	Values    []Value
	Neighbors int // neighbours searched per query (0: no kNN metric)
	Clusters  int // k-means clusters (0: no clustering metric)
	Stages    []Stage

	// Queries is the number of queries (the set itself, or Options.Query).
	Queries int
	// QueriesWithoutRelevant counts the queries with no other item of
	// their class in the gallery: per-query metrics score them 0 (recall,
	// mAP_R, mAP_1000) or skip them (map_at_r, precision_at_1,
	// r_precision), as each metric's row in the table says.
	QueriesWithoutRelevant int
	// Warnings say what a reader of the values should know, one sentence
	// each (today: the queries without a relevant item, when a per-query
	// metric was asked for). metrics.compute prints them to stderr.
	Warnings []string
}

// Get returns the value of the named metric.
func (r Result) Get(name string) (float64, bool) {
	for _, v := range r.Values {
		if v.Name == name {
			return v.Value, true
		}
	}
	return 0, false
}

// String prints one "name value" line per metric, values with 6 decimals.
func (r Result) String() string {
	var b strings.Builder
	for _, v := range r.Values {
		fmt.Fprintf(&b, "%s %.6f\n", v.Name, v.Value)
	}
	return b.String()
}

// run is the state of one Compute call.
type run struct {
	opts   *Options
	specs  []spec
	values []float64
	d      int
	self   bool
	ng, nq int     // gallery and query rows
	gClass []int32 // class id of each gallery row
	qClass []int32 // class id of each query row
	gCount []int32 // gallery rows per class id
	cls    *classes
	stages []Stage
}

func (r *run) stage(name string, t0 time.Time) {
	s := Stage{name, time.Since(t0).Seconds()}
	r.stages = append(r.stages, s)
	if r.opts.Log != nil {
		fmt.Fprintf(r.opts.Log, "metrics: %s %.1f s\n", name, s.Seconds)
	}
}

// Compute evaluates the n x d row-major embeddings emb with integer class
// labels (one per row) on the named metrics; see the package documentation
// for the protocol and each definition. It stops with ctx's error when ctx
// is cancelled (checked between search chunks and k-means iterations).
func Compute(ctx context.Context, emb []float32, n, d int, labels []int64, names []string, opts Options) (Result, error) {
	specs, err := parseNames(names)
	if err != nil {
		return Result{}, err
	}
	if err := checkVectors("embeddings", emb, n, d); err != nil {
		return Result{}, err
	}
	if len(labels) != n {
		return Result{}, fmt.Errorf("%d labels for %d embeddings: give one label per embedding row", len(labels), n)
	}
	r := &run{opts: &opts, specs: specs, values: make([]float64, len(specs)), d: d, ng: n, nq: n, self: true}
	if opts.Query != nil || opts.QueryLabels != nil {
		r.self = false
		r.nq = len(opts.QueryLabels)
		if r.nq == 0 {
			return Result{}, fmt.Errorf("query labels are empty: give one label per query embedding row")
		}
		if len(opts.Query) != r.nq*d {
			return Result{}, fmt.Errorf("%d query labels for %d query values: with %d dimensions the query embeddings need %d values (one label per row)", r.nq, len(opts.Query), d, r.nq*d)
		}
		if err := checkVectors("query embeddings", opts.Query, r.nq, d); err != nil {
			return Result{}, err
		}
	}
	setThreads(opts.Threads)

	r.cls = newClasses(labels, opts.QueryLabels)
	r.gClass = r.cls.ids(labels)
	r.qClass = r.gClass
	if !r.self {
		r.qClass = r.cls.ids(opts.QueryLabels)
	}
	r.gCount = make([]int32, len(r.cls.labels))
	for _, c := range r.gClass {
		r.gCount[c]++
	}

	// The vectors every metric sees.
	gal, qry := emb, opts.Query
	if !opts.NoNormalize {
		if gal, err = normalized("embeddings", emb, n, d); err != nil {
			return Result{}, err
		}
		if !r.self {
			if qry, err = normalized("query embeddings", opts.Query, r.nq, d); err != nil {
				return Result{}, err
			}
		}
	}
	if r.self {
		qry = gal
	}

	passes, err := r.plan()
	if err != nil {
		return Result{}, err
	}
	var searched int
	for _, p := range passes {
		t0 := time.Now()
		g, q := gal, qry
		if p.cosine && opts.NoNormalize {
			if g, err = normalized("embeddings", emb, n, d); err != nil {
				return Result{}, err
			}
			q = g
			if !r.self {
				if q, err = normalized("query embeddings", opts.Query, r.nq, d); err != nil {
					return Result{}, err
				}
			}
		}
		if err := r.knnPass(ctx, p, g, q); err != nil {
			return Result{}, err
		}
		searched = max(searched, p.k)
		what := "normalised"
		if opts.NoNormalize && !p.cosine {
			what = "as given"
		}
		r.stage(fmt.Sprintf("knn (k=%d, %d queries, %s, %s)", p.k, r.nq, what, p.method), t0)
	}

	clusters, err := r.setMetrics(ctx, gal, qry)
	if err != nil {
		return Result{}, err
	}

	res := Result{Neighbors: searched, Clusters: clusters, Stages: r.stages, Queries: r.nq, QueriesWithoutRelevant: r.lonely()}
	for i, s := range specs {
		res.Values = append(res.Values, Value{s.name, r.values[i]})
	}
	if w := loneWarning(res.QueriesWithoutRelevant, r.nq, r.self, specs); w != "" {
		res.Warnings = append(res.Warnings, w)
	}
	return res, nil
}

// lonely counts the queries with no other item of their class in the
// gallery.
func (r *run) lonely() int {
	n := 0
	for _, c := range r.qClass {
		others := r.gCount[c]
		if r.self {
			others--
		}
		if others == 0 {
			n++
		}
	}
	return n
}

// loneWarning says how many queries have no relevant item and what the
// asked-for per-query metrics did with them; "" when there are none or no
// per-query metric was asked for.
func loneWarning(lone, queries int, self bool, specs []spec) string {
	var zero, skip []string
	for _, s := range specs {
		switch s.def.lone {
		case loneScoresZero:
			zero = append(zero, s.name)
		case loneSkipped:
			skip = append(skip, s.name)
		}
	}
	if lone == 0 || len(zero)+len(skip) == 0 {
		return ""
	}
	what := fmt.Sprintf("%d of %d queries have no item of their class in the gallery", lone, queries)
	if self {
		what = fmt.Sprintf("%d of %d queries are the only item of their class", lone, queries)
	}
	var effects []string
	if len(zero) > 0 {
		effects = append(effects, strings.Join(zero, ", ")+" score them 0")
	}
	if len(skip) > 0 {
		effects = append(effects, strings.Join(skip, ", ")+" leave them out")
	}
	return what + ": " + strings.Join(effects, "; ")
}

// plan groups the neighbour metrics into searches and sets each search's
// depth, checking that the gallery is deep enough for every recall@k.
func (r *run) plan() ([]*pass, error) {
	avail := r.ng
	if r.self {
		avail--
	}
	maxNc := 0 // the largest n_c over the queries' classes
	seen := map[int32]bool{}
	for _, c := range r.qClass {
		if !seen[c] {
			seen[c] = true
			maxNc = max(maxNc, int(r.gCount[c]))
		}
	}
	maxOthers := maxNc
	if r.self {
		maxOthers--
	}
	var euclid, cosine *pass
	for i, s := range r.specs {
		if !s.needsKNN() {
			continue
		}
		need, apNeed := s.def.depth(s, maxNc, maxOthers)
		if s.def.exact && need > avail {
			return nil, fmt.Errorf("%s needs the %d nearest neighbours of each query, but %s", s.name, need, gallerySize(r.ng, r.self))
		}
		p := &euclid
		if s.cosine || !r.opts.NoNormalize {
			p = &cosine // unit vectors: one inner-product search serves all
		}
		if *p == nil {
			*p = &pass{cosine: p == &cosine}
		}
		(*p).specs = append((*p).specs, i)
		(*p).k = max((*p).k, min(need, avail))
		(*p).apLen = max((*p).apLen, min(apNeed, avail))
	}
	var out []*pass
	for _, p := range []*pass{euclid, cosine} {
		if p != nil {
			p.apLen = min(p.apLen, p.k)
			out = append(out, p)
		}
	}
	return out, nil
}

// setMetrics computes the clustering and embedding-space metrics over the
// evaluated set (the gallery, or queries and gallery together); it returns
// the number of k-means clusters (0 when none ran).
func (r *run) setMetrics(ctx context.Context, gal, qry []float32) (int, error) {
	var wantKMeans, wantRho, wantIntra, wantInter bool
	for _, s := range r.specs {
		switch s.def.needs {
		case needKMeans:
			wantKMeans = true
		case needSVD:
			wantRho = true
		case needClassMeans:
			wantIntra = wantIntra || s.kind != kindDistsInter
			wantInter = wantInter || s.kind != kindDistsIntra
		}
	}
	if !wantKMeans && !wantRho && !wantIntra && !wantInter {
		return 0, nil
	}
	x, cls, n := gal, r.gClass, r.ng
	if !r.self {
		x = append(append(make([]float32, 0, len(qry)+len(gal)), qry...), gal...)
		cls = append(append(make([]int32, 0, r.nq+r.ng), r.qClass...), r.gClass...)
		n = r.nq + r.ng
	}
	clusters := 0
	if wantKMeans {
		t0 := time.Now()
		clusters = distinct(cls)
		iter := r.opts.KMeansIter
		if iter <= 0 {
			iter = 20
		}
		seed := r.opts.KMeansSeed
		if seed == 0 {
			seed = faissx.DefaultSeed
		}
		_, assign, err := faissx.KMeans(x, n, r.d, faissx.KMeansParams{K: clusters, Iter: iter, Seed: seed}, func(int) error {
			return ctx.Err()
		})
		if err != nil {
			return 0, err
		}
		t := newContingency(cls, assign)
		for i, s := range r.specs {
			switch s.kind {
			case kindNMI:
				r.values[i] = t.nmi()
			case kindAMI:
				r.values[i] = t.ami()
			case kindF1:
				r.values[i] = t.f1()
			}
		}
		r.stage(fmt.Sprintf("kmeans (k=%d, %d iterations, %d points)", clusters, iter, n), t0)
	}
	if wantRho {
		t0 := time.Now()
		sv, err := singularValues(x, n, r.d)
		if err != nil {
			return 0, fmt.Errorf("rho_spectrum: %v", err)
		}
		for i, s := range r.specs {
			if s.kind == kindRho {
				if r.values[i], err = rhoSpectrum(sv, s.k); err != nil {
					return 0, err
				}
			}
		}
		r.stage("rho_spectrum", t0)
	}
	if wantIntra || wantInter {
		t0 := time.Now()
		intra, inter, err := classDists(x, n, r.d, cls, r.cls.labels, wantIntra, wantInter)
		if err != nil {
			return 0, err
		}
		for i, s := range r.specs {
			switch s.kind {
			case kindDistsIntra:
				r.values[i] = intra
			case kindDistsInter:
				r.values[i] = inter
			case kindDistsRatio:
				r.values[i] = intra / math.Max(inter, 1e-8)
			}
		}
		r.stage("dists", t0)
	}
	return clusters, nil
}

// setThreads gives faiss its OpenMP thread count: n, else dadash's
// --threads, else one per core.
func setThreads(n int) {
	if n <= 0 {
		n = lang.Threads()
	}
	if n <= 0 {
		n = runtime.NumCPU()
	}
	faissx.SetThreads(n)
}

// KMeansOptions configure KMeans.
type KMeansOptions struct {
	Iter    int // default 20
	Seed    int // 0: faiss's default 1234
	Threads int
}

// KMeans clusters the n x d vectors x (as given, not normalised) into k
// clusters with faiss, as Compute does for nmi, ami and f1: it returns the
// k x d centroids and each point's nearest centroid.
func KMeans(ctx context.Context, x []float32, n, d, k int, o KMeansOptions) (centroids []float32, assign []int64, err error) {
	if err := checkVectors("vectors", x, n, d); err != nil {
		return nil, nil, err
	}
	if k < 1 || k > n {
		return nil, nil, fmt.Errorf("k = %d clusters for %d points: k must be between 1 and the number of points", k, n)
	}
	if o.Iter <= 0 {
		o.Iter = 20
	}
	if o.Seed == 0 {
		o.Seed = faissx.DefaultSeed
	}
	setThreads(o.Threads)
	return faissx.KMeans(x, n, d, faissx.KMeansParams{K: k, Iter: o.Iter, Seed: o.Seed}, func(int) error { return ctx.Err() })
}

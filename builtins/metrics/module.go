package metrics

import (
	"context"
	"errors"
	"fmt"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/dadash/dadash/builtins/torch"
	"github.com/dadash/dadash/builtins/torch/aten"
	"github.com/dadash/dadash/lang"
)

// Module is the metrics module value.
var Module *torch.Namespace

func init() {
	members := starlark.StringDict{
		"compute":   lang.Func("metrics.compute", docCompute, fnCompute),
		"available": lang.Func("metrics.available", docAvailable, fnAvailable),
		"check":     lang.Func("metrics.check", docCheck, fnCheck),
		"knn":       lang.Func("metrics.knn", docKNN, fnKNN),
		"kmeans":    lang.Func("metrics.kmeans", docKMeans, fnKMeans),
	}
	Module = torch.NewNamespace("metrics", "-", docModule, members)
	lang.Register(lang.Module{Name: "metrics", Value: Module, Doc: docModule})
}

const docModule = `metrics: retrieval and clustering metrics of embeddings, on faiss.

    metrics.compute(emb, labels, ["e_recall@1", "mAP_R", "nmi", "f1"])
    {"e_recall@1": 0.7291, "mAP_R": 0.2714, "nmi": 0.6823, "f1": 0.3511}

Functions: metrics.compute, metrics.available, metrics.check, metrics.knn, metrics.kmeans.
Names and definitions follow the reference pipeline (Roth et al., which DADA
uses) and pytorch-metric-learning; help(metrics.compute) defines each.`

// docCompute's list of names is generated from the table of metrics
// (names.go).
var docCompute = `metrics.compute(embeddings, labels, names, query_embeddings=None, query_labels=None,
                normalize=True, index="flat", nlist=0, nprobe=0, chunk_size=4096, threads=0,
                kmeans_iter=20, kmeans_seed=1234, verbose=False)

Evaluates embeddings (an N x d tensor of any floating dtype on any device, or a list of
rows) with integer class labels (a tensor or list of N ints) and returns a dict
name -> float in the order of names. One call runs one kNN search, as deep as the deepest
metric needs, and one k-means, shared by all the metrics that use them.

Protocol: rows are L2-normalised first (normalize=False uses them as given). The query set
is the gallery and each query's own row is left out of its neighbours; with
query_embeddings/query_labels those are searched against the gallery (embeddings, labels)
and nothing is left out (the In-Shop protocol). Neighbours are ranked by Euclidean distance
(faiss IndexFlatL2, as the reference), which for unit vectors is the cosine ranking; ties in
distance by row index, smaller first.

Queries without a relevant item (no other item of their class in the gallery) score 0 in
some metrics and are left out of others, as listed below; when there are any, compute
prints one line to stderr, once per distinct message in a run:
  metrics.compute: warning: 3 of 120 queries have no item of their class in the gallery:
  e_recall@1 score them 0; map_at_r leave them out

Names (metrics.available() lists them, metrics.check(names) validates a list); n_c is the
query's class size in the gallery (counting the query itself when the gallery is the query
set), o_c its other items there:
` + namesDoc() + `

index="ivf" searches an approximate IVF index (nlist lists, nprobe probed) for very large
sets; threads sets faiss's threads (0: dadash --threads, else all cores); verbose prints
the time of each stage to stderr.`

const docAvailable = `metrics.available(details=False): the metric names metrics.compute accepts, as a list;
"@k" stands for a positive integer (any non-zero integer for rho_spectrum). With
details=True, a list of structs with the fields name, needs ("knn", "kmeans", "svd" or
"class_means": what is computed first, once for all the metrics that need it), without_relevant
(per-query metrics: what a query with no relevant item does, "scores 0" or "is skipped";
"" for the others) and doc.`

const docCheck = `metrics.check(names, query_gallery=False): validates metric names without computing
anything, so a run can refuse a misspelt name before its first step. Returns one struct per
distinct name, in order, with the fields name, metric (its pattern in metrics.available()),
needs, without_relevant, scope (what it is computed over: "each item against the others" or
"the whole set"; with query_gallery=True, "each query against the gallery" or "queries and
gallery together") and doc. An unknown name is an error with the nearest known one:
    metrics.check(["recal@1"])  ->  unknown metric "recal@1" (did you mean "e_recall@1"?)`

const docKNN = `metrics.knn(embeddings, k, query=None, metric="cosine", index="flat", nlist=0, nprobe=0)

The k nearest rows of embeddings for each row of query, as a tuple (distances, indices) of
(nq, k) tensors (float32 and int64). Without query each row of embeddings is a query and
its own row is left out. metric="cosine" ranks by cosine similarity and reports the cosine
distance 1 - cos; metric="l2" ranks the vectors as given by Euclidean distance and reports
it. Ties are ordered by row index.`

const docKMeans = `metrics.kmeans(x, k, niter=20, seed=1234)

k-means of the rows of x (as given, not normalised) with faiss, as metrics.compute runs it
for nmi/ami/f1: returns (centroids, assignments), a (k, d) float32 tensor and an (N,) int64
tensor with each row's nearest centroid. seed 1234 is faiss's default, which the reference
pipeline uses.`

// ---------------------------------------------------------------- conversions

// matrixArg reads an N x d float matrix from a tensor or a list of rows.
func matrixArg(fn, what string, v starlark.Value) ([]float32, int, int, error) {
	if t, ok := v.(*torch.Tensor); ok {
		a := t.ATen()
		if !a.DType().IsFloating() {
			return nil, 0, 0, fmt.Errorf("%s: %s must be a floating-point tensor, got %s (convert with .float())", fn, what, a.DType())
		}
		shape := a.Shape()
		if len(shape) != 2 {
			return nil, 0, 0, fmt.Errorf("%s: %s must be 2-D (N, d), got %s", fn, what, lang.Size(shape))
		}
		x, err := a.Float32s() // a copy on the CPU, whatever the device
		if err != nil {
			return nil, 0, 0, fmt.Errorf("%s: %s: %v", fn, what, err)
		}
		return x, int(shape[0]), int(shape[1]), nil
	}
	rows, ok := v.(starlark.Indexable)
	if !ok {
		return nil, 0, 0, fmt.Errorf("%s: %s must be a tensor or a list of rows, got %s", fn, what, v.Type())
	}
	n := rows.Len()
	var x []float32
	d := -1
	for i := 0; i < n; i++ {
		row, ok := rows.Index(i).(starlark.Indexable)
		if !ok {
			return nil, 0, 0, fmt.Errorf("%s: %s[%d] is a %s, not a list of numbers", fn, what, i, rows.Index(i).Type())
		}
		if d < 0 {
			d = row.Len()
		} else if row.Len() != d {
			return nil, 0, 0, fmt.Errorf("%s: %s[%d] has %d values, the rows before it %d", fn, what, i, row.Len(), d)
		}
		for j := 0; j < row.Len(); j++ {
			f, ok := starlark.AsFloat(row.Index(j))
			if !ok {
				return nil, 0, 0, fmt.Errorf("%s: %s[%d][%d] is a %s, not a number", fn, what, i, j, row.Index(j).Type())
			}
			x = append(x, float32(f))
		}
	}
	return x, n, max(d, 0), nil
}

// labelsArg reads integer labels from a 1-D integer tensor or a list of ints.
func labelsArg(fn, what string, v starlark.Value) ([]int64, error) {
	if t, ok := v.(*torch.Tensor); ok {
		a := t.ATen()
		if a.DType().IsFloating() || a.DType() == aten.Bool {
			return nil, fmt.Errorf("%s: %s must be an integer tensor, got %s (convert with .long())", fn, what, a.DType())
		}
		if s := a.Shape(); len(s) != 1 {
			return nil, fmt.Errorf("%s: %s must be 1-D (one label per row), got %s", fn, what, lang.Size(s))
		}
		return a.Int64s()
	}
	seq, ok := v.(starlark.Indexable)
	if !ok {
		return nil, fmt.Errorf("%s: %s must be a tensor or a list of ints, got %s", fn, what, v.Type())
	}
	out := make([]int64, seq.Len())
	for i := range out {
		n, ok := seq.Index(i).(starlark.Int)
		if !ok {
			return nil, fmt.Errorf("%s: %s[%d] is a %s, not an int", fn, what, i, seq.Index(i).Type())
		}
		v, ok := n.Int64()
		if !ok {
			return nil, fmt.Errorf("%s: %s[%d] = %s does not fit in 64 bits", fn, what, i, n)
		}
		out[i] = v
	}
	return out, nil
}

func namesArg(fn string, v starlark.Value) ([]string, error) {
	if s, ok := v.(starlark.String); ok {
		return []string{string(s)}, nil
	}
	seq, ok := v.(starlark.Indexable)
	if !ok {
		return nil, fmt.Errorf("%s: names must be a list of metric names, got %s", fn, v.Type())
	}
	out := make([]string, seq.Len())
	for i := range out {
		s, ok := starlark.AsString(seq.Index(i))
		if !ok {
			return nil, fmt.Errorf("%s: names[%d] is a %s, not a string", fn, i, seq.Index(i).Type())
		}
		out[i] = s
	}
	return out, nil
}

// callErr prefixes the function name and turns a cancelled run into
// lang.ErrInterrupted, which the host reports as an interruption.
func callErr(fn string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return lang.ErrInterrupted
	}
	return fmt.Errorf("%s: %w", fn, err)
}

// ---------------------------------------------------------------- builtins

func fnCompute(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var emb, labels, names starlark.Value
	var qEmb, qLabels starlark.Value = starlark.None, starlark.None
	normalize, verbose := true, false
	index := "flat"
	var nlist, nprobe, chunk, threads, iter, seed int = 0, 0, 0, 0, 20, 1234
	if err := lang.UnpackArgs(b.Name(), args, kwargs,
		"embeddings", &emb, "labels", &labels, "names", &names,
		"query_embeddings?", &qEmb, "query_labels?", &qLabels,
		"normalize?", &normalize, "index?", &index, "nlist?", &nlist, "nprobe?", &nprobe,
		"chunk_size?", &chunk, "threads?", &threads,
		"kmeans_iter?", &iter, "kmeans_seed?", &seed, "verbose?", &verbose); err != nil {
		return nil, err
	}
	fn := b.Name()
	nm, err := namesArg(fn, names)
	if err != nil {
		return nil, err
	}
	x, n, d, err := matrixArg(fn, "embeddings", emb)
	if err != nil {
		return nil, err
	}
	lab, err := labelsArg(fn, "labels", labels)
	if err != nil {
		return nil, err
	}
	opts := Options{NoNormalize: !normalize, Index: index, NList: nlist, NProbe: nprobe,
		ChunkSize: chunk, Threads: threads, KMeansIter: iter, KMeansSeed: seed}
	if iter < 1 {
		return nil, fmt.Errorf("%s: kmeans_iter = %d; k-means needs at least one iteration", fn, iter)
	}
	if seed == 0 {
		return nil, fmt.Errorf("%s: kmeans_seed = 0 is reserved for the default (1234); pick another seed", fn)
	}
	if (qEmb == starlark.None) != (qLabels == starlark.None) {
		return nil, fmt.Errorf("%s: give query_embeddings and query_labels together", fn)
	}
	if qEmb != starlark.None {
		q, nq, qd, err := matrixArg(fn, "query_embeddings", qEmb)
		if err != nil {
			return nil, err
		}
		if nq > 0 && qd != d {
			return nil, fmt.Errorf("%s: query_embeddings have %d dimensions, embeddings %d", fn, qd, d)
		}
		ql, err := labelsArg(fn, "query_labels", qLabels)
		if err != nil {
			return nil, err
		}
		if len(ql) != nq {
			return nil, fmt.Errorf("%s: %d query_labels for %d query_embeddings: give one label per query row", fn, len(ql), nq)
		}
		if nq == 0 {
			return nil, fmt.Errorf("%s: query_embeddings are empty (0 rows): there is nothing to evaluate", fn)
		}
		opts.Query, opts.QueryLabels = q, ql
	}
	if verbose {
		opts.Log = lang.Stderr(thread)
	}
	res, err := Compute(lang.Context(thread), x, n, d, lab, nm, opts)
	if err != nil {
		return nil, callErr(fn, err)
	}
	for _, w := range res.Warnings {
		warnOnce(thread, fn, w)
	}
	out := starlark.NewDict(len(res.Values))
	for _, v := range res.Values {
		out.SetKey(starlark.String(v.Name), starlark.Float(v.Value))
	}
	return out, nil
}

func fnAvailable(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	details := false
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "details?", &details); err != nil {
		return nil, err
	}
	var out []starlark.Value
	for i := range metricTable {
		d := &metricTable[i]
		if !details {
			out = append(out, starlark.String(d.pattern))
			continue
		}
		out = append(out, starlarkstruct.FromStringDict(starlark.String("metric"), starlark.StringDict{
			"name":             starlark.String(d.pattern),
			"needs":            starlark.String(d.needs),
			"without_relevant": starlark.String(d.lone),
			"doc":              starlark.String(d.doc),
		}))
	}
	return starlark.NewList(out), nil
}

func fnCheck(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var names starlark.Value
	queryGallery := false
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "names", &names, "query_gallery?", &queryGallery); err != nil {
		return nil, err
	}
	nm, err := namesArg(b.Name(), names)
	if err != nil {
		return nil, err
	}
	specs, err := parseNames(nm)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	out := make([]starlark.Value, len(specs))
	for i, s := range specs {
		out[i] = starlarkstruct.FromStringDict(starlark.String("metric"), starlark.StringDict{
			"name":             starlark.String(s.name),
			"metric":           starlark.String(s.def.pattern),
			"needs":            starlark.String(s.def.needs),
			"without_relevant": starlark.String(s.def.lone),
			"scope":            starlark.String(s.def.scope(queryGallery)),
			"doc":              starlark.String(s.def.doc),
		})
	}
	return starlark.NewList(out), nil
}

// warnOnce prints a warning to the thread's stderr unless this thread has
// printed it before: the training loop evaluates every epoch, and one line
// per run says it.
func warnOnce(thread *starlark.Thread, fn, msg string) {
	const key = "dadash.metrics.warned"
	seen, _ := thread.Local(key).(map[string]bool)
	if seen == nil {
		seen = map[string]bool{}
		thread.SetLocal(key, seen)
	}
	if seen[msg] {
		return
	}
	seen[msg] = true
	fmt.Fprintf(lang.Stderr(thread), "%s: warning: %s\n", fn, msg)
}

func fnKNN(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var emb starlark.Value
	var k int
	var query starlark.Value = starlark.None
	metric, index := "cosine", "flat"
	var nlist, nprobe int
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "embeddings", &emb, "k", &k, "query?", &query,
		"metric?", &metric, "index?", &index, "nlist?", &nlist, "nprobe?", &nprobe); err != nil {
		return nil, err
	}
	fn := b.Name()
	if metric != "cosine" && metric != "l2" {
		return nil, fmt.Errorf("%s: metric %q: use \"cosine\" or \"l2\"", fn, metric)
	}
	x, n, d, err := matrixArg(fn, "embeddings", emb)
	if err != nil {
		return nil, err
	}
	var q []float32
	if query != starlark.None {
		var nq, qd int
		if q, nq, qd, err = matrixArg(fn, "query", query); err != nil {
			return nil, err
		}
		if nq == 0 {
			return nil, fmt.Errorf("%s: query is empty (0 rows)", fn)
		}
		if qd != d {
			return nil, fmt.Errorf("%s: query has %d dimensions, embeddings %d", fn, qd, d)
		}
	}
	nb, err := KNN(lang.Context(thread), x, n, d, q, k, KNNOptions{L2: metric == "l2", Index: index, NList: nlist, NProbe: nprobe})
	if err != nil {
		return nil, callErr(fn, err)
	}
	rows := int64(len(nb.Index) / k)
	dt, err := aten.FromFloat32s(nb.Dist, rows, int64(k))
	if err != nil {
		return nil, err
	}
	it, err := aten.FromInt64s(nb.Index, rows, int64(k))
	if err != nil {
		return nil, err
	}
	return starlark.Tuple{torch.New(dt), torch.New(it)}, nil
}

func fnKMeans(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var xv starlark.Value
	var k int
	niter, seed := 20, 1234
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "x", &xv, "k", &k, "niter?", &niter, "seed?", &seed); err != nil {
		return nil, err
	}
	fn := b.Name()
	x, n, d, err := matrixArg(fn, "x", xv)
	if err != nil {
		return nil, err
	}
	if niter < 1 {
		return nil, fmt.Errorf("%s: niter = %d; k-means needs at least one iteration", fn, niter)
	}
	if seed == 0 {
		return nil, fmt.Errorf("%s: seed = 0 is reserved for the default (1234); pick another seed", fn)
	}
	c, assign, err := KMeans(lang.Context(thread), x, n, d, k, KMeansOptions{Iter: niter, Seed: seed})
	if err != nil {
		return nil, callErr(fn, err)
	}
	ct, err := aten.FromFloat32s(c, int64(k), int64(d))
	if err != nil {
		return nil, err
	}
	at, err := aten.FromInt64s(assign, int64(n))
	if err != nil {
		return nil, err
	}
	return starlark.Tuple{torch.New(ct), torch.New(at)}, nil
}

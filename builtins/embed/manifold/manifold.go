// Package manifold is the `manifold` module of dadash scripts: 2-D maps of
// embeddings by t-SNE and PCA (packages builtins/embed/tsne and
// builtins/embed/pca), taking tensors or nested lists and returning
// manifold.array values.
package manifold

import (
	"context"
	"errors"
	"fmt"
	"github.com/dadash/dadash/internal/progress"
	"math"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/dadash/dadash/builtins/embed/pca"
	"github.com/dadash/dadash/builtins/embed/tsne"
	"github.com/dadash/dadash/lang"
)

// Module is the manifold module value.
var Module = lang.NewNamespace("manifold", docModule, starlark.StringDict{
	"tsne": lang.Func("manifold.tsne", docTSNE, fnTSNE),
	"pca":  lang.Func("manifold.pca", docPCA, fnPCA),
}, nil)

func init() {
	lang.Register(lang.Module{Name: "manifold", Value: Module, Doc: docModule})
	lang.SetDoc("manifold.array", docArray)
}

const docModule = `manifold: 2-D maps of embeddings, by t-SNE and PCA.

    m = manifold.tsne(emb)                  # emb: N x d tensor or list of rows
    m.embedding                             # N x 2 manifold.array; m.embedding.tolist()
    m.kl_divergence
    p = manifold.pca(emb, n_components=2)   # p.embedding, p.explained_variance_ratio

Functions: manifold.tsne, manifold.pca. Results are manifold.array values (read-only
matrices that index and iterate by rows; tolist() gives nested lists).`

const docTSNE = `manifold.tsne(x, perplexity=30.0, n_iter=1000, learning_rate="auto", seed=0,
              method="auto", early_exaggeration=12.0, theta=0.5, init="pca", pca_dims=50,
              threads=0, progress=True)

t-SNE of the rows of x (an N x d tensor, or a list of N rows of d numbers) into 2-D.
Returns a struct with
  embedding       N x 2 manifold.array
  kl_divergence   final KL(P||Q) (float)
  n_iter          iterations run (fewer than n_iter when it converged early)
  method          "exact" or "barnes_hut"
  learning_rate   the learning rate used (float)

Follows scikit-learn's TSNE (1.2) so that results compare: perplexity calibration,
early exaggeration (x12 for the first 250 iterations, momentum 0.5, then 0.8), gains,
learning_rate "auto" = max(N / early_exaggeration / 4, 50), PCA initialisation scaled to
std 1e-4, and the same stopping rules. Differences: inputs with more than pca_dims features
are first reduced to pca_dims principal components (pca_dims=-1: never).
method: "exact" (all pairs, O(N^2) per iteration; the default below 1,000 points) or
"barnes_hut" (P over the 3*perplexity nearest neighbours, quadtree repulsion with accuracy
theta; the default from 1,000 points). kl_divergence is exact for "exact"; for "barnes_hut"
it is taken over the sparse P with the normaliser of Q from the same Barnes-Hut
approximation, as scikit-learn reports it.
The result is the same for a given seed whatever the number of threads (0: all cores).
seed only matters with init="random". perplexity must be less than N.
progress=True prints progress lines to stderr. Ctrl-C stops it between iterations.`

const docPCA = `manifold.pca(x, n_components=2, solver="auto", seed=0, threads=0)

Principal component analysis of the rows of x (N x d tensor or list of rows). Returns a
struct with
  embedding                  N x n_components manifold.array: the centred data projected
  components                 n_components x d manifold.array (unit rows)
  explained_variance         list of floats (variance along each component, / (N-1))
  explained_variance_ratio   list of floats (share of the total variance)
  mean                       list of d floats
  solver                     "covariance", "gram" or "randomized"
Components are eigenvectors of the covariance matrix (or of the Gram matrix when N < d),
signed so that their largest-magnitude coordinate is positive (scikit-learn's signs can
differ). Above 1,024 for min(N, d), or with solver="randomized", a randomized subspace
iteration from seed finds the leading components.`

// matrix reads a tensor (lang.Numeric) or a list/tuple of equal-length rows
// of numbers as row-major float64 data.
func matrix(fn, param string, v starlark.Value) ([]float64, int, int, error) {
	if num, ok := v.(lang.Numeric); ok {
		data, shape, err := num.NumericData()
		if err != nil {
			return nil, 0, 0, fmt.Errorf("%s: %s: %v", fn, param, err)
		}
		if len(shape) != 2 {
			return nil, 0, 0, fmt.Errorf("%s: %s must be 2-D (n_samples, n_features), got %s", fn, param, lang.Size(shape))
		}
		return data, int(shape[0]), int(shape[1]), nil
	}
	rows, ok := v.(starlark.Indexable)
	if !ok {
		return nil, 0, 0, fmt.Errorf("%s: %s must be a 2-D tensor or a list of rows, got %s", fn, param, v.Type())
	}
	if _, isStr := v.(starlark.String); isStr {
		return nil, 0, 0, fmt.Errorf("%s: %s must be a 2-D tensor or a list of rows, got string", fn, param)
	}
	n := rows.Len()
	var data []float64
	d := -1
	for i := 0; i < n; i++ {
		r := rows.Index(i)
		var vals []float64
		switch r := r.(type) {
		case lang.Numeric:
			rd, shape, err := r.NumericData()
			if err != nil {
				return nil, 0, 0, fmt.Errorf("%s: %s row %d: %v", fn, param, i, err)
			}
			if len(shape) != 1 {
				return nil, 0, 0, fmt.Errorf("%s: %s row %d must be 1-D, got %s", fn, param, i, lang.Size(shape))
			}
			vals = rd
		case starlark.Indexable:
			if _, isStr := r.(starlark.String); isStr {
				return nil, 0, 0, fmt.Errorf("%s: %s row %d must be a list of numbers, got string", fn, param, i)
			}
			vals = make([]float64, r.Len())
			for j := range vals {
				f, ok := number(r.Index(j))
				if !ok {
					return nil, 0, 0, fmt.Errorf("%s: %s[%d][%d] must be a number, got %s", fn, param, i, j, r.Index(j).Type())
				}
				vals[j] = f
			}
		default:
			return nil, 0, 0, fmt.Errorf("%s: %s must be 2-D: row %d is a %s, not a list of numbers", fn, param, i, r.Type())
		}
		if d < 0 {
			d = len(vals)
			data = make([]float64, 0, n*d)
		} else if len(vals) != d {
			return nil, 0, 0, fmt.Errorf("%s: %s rows differ in length: row %d has %d values, row 0 has %d", fn, param, i, len(vals), d)
		}
		data = append(data, vals...)
	}
	if n == 0 || d == 0 {
		return nil, 0, 0, fmt.Errorf("%s: %s is empty", fn, param)
	}
	return data, n, d, nil
}

func number(v starlark.Value) (float64, bool) {
	switch v := v.(type) {
	case starlark.Int:
		return float64(v.Float()), true
	case starlark.Float:
		return float64(v), true
	case lang.Numeric:
		d, _, err := v.NumericData()
		if err == nil && len(d) == 1 {
			return d[0], true
		}
	}
	return 0, false
}

// goError turns an error of the Go packages into the builtin's: their
// "tsne: " / "pca: " prefixes become the function's name, and a cancelled
// run becomes lang.ErrInterrupted, which the host reports as Ctrl-C.
func goError(fn string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return lang.ErrInterrupted
	}
	msg := err.Error()
	for _, p := range []string{"tsne: ", "pca: "} {
		msg = strings.TrimPrefix(msg, p)
	}
	return fmt.Errorf("%s: %s", fn, msg)
}

func threadCount(n int) int {
	if n > 0 {
		return n
	}
	return lang.Threads() // 0 (all cores) unless dadash --threads said
}

func fnTSNE(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		x                 starlark.Value
		perplexity        = 30.0
		nIter             = 1000
		seed              int
		method            = "auto"
		earlyExaggeration = 12.0
		theta             = 0.5
		init              = "pca"
		pcaDims           = 50
		threads           int
		showProgress      = true
	)
	var lr starlark.Value = starlark.String("auto")
	if err := lang.UnpackArgs(b.Name(), args, kwargs,
		"x", &x, "perplexity?", &perplexity, "n_iter?", &nIter, "learning_rate?", &lr, "seed?", &seed,
		"method?", &method, "early_exaggeration?", &earlyExaggeration, "theta?", &theta, "init?", &init,
		"pca_dims?", &pcaDims, "threads?", &threads, "progress?", &showProgress); err != nil {
		return nil, err
	}
	data, n, d, err := matrix(b.Name(), "x", x)
	if err != nil {
		return nil, err
	}
	opts := tsne.Options{
		Perplexity: perplexity, Iterations: nIter, EarlyExaggeration: earlyExaggeration,
		Seed: uint64(seed), Method: method, Theta: theta, Init: init, Threads: threadCount(threads),
	}
	// The Go API's zero values mean "default": refuse them here, where 0 is
	// what the user typed.
	switch {
	case nIter < 1:
		return nil, fmt.Errorf("%s: n_iter must be positive, got %d", b.Name(), nIter)
	case perplexity <= 0:
		return nil, fmt.Errorf("%s: perplexity must be positive, got %v", b.Name(), perplexity)
	case theta <= 0:
		return nil, fmt.Errorf("%s: theta must be in (0, 1], got %v", b.Name(), theta)
	case earlyExaggeration < 1:
		return nil, fmt.Errorf("%s: early_exaggeration must be at least 1, got %v", b.Name(), earlyExaggeration)
	case seed < 0:
		return nil, fmt.Errorf("%s: seed must not be negative, got %d", b.Name(), seed)
	}
	switch pcaDims {
	case 0:
		return nil, fmt.Errorf("%s: pca_dims must be positive, or -1 for no reduction", b.Name())
	default:
		opts.PCADims = pcaDims
		if pcaDims < 0 {
			opts.PCADims = -1
		}
	}
	switch v := lr.(type) {
	case starlark.String:
		if v != "auto" {
			return nil, fmt.Errorf("%s: learning_rate must be \"auto\" or a positive number, got %q", b.Name(), string(v))
		}
	default:
		f, ok := number(v)
		if !ok || !(f > 0) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("%s: learning_rate must be \"auto\" or a positive number, got %s", b.Name(), v)
		}
		opts.LearningRate = f
	}
	if showProgress {
		p := progress.New(lang.Stderr(thread), nIter, "t-SNE")
		defer p.Done()
		opts.Progress = p
	}
	r, err := tsne.RunDetailed(lang.Context(thread), data, n, d, opts)
	if err != nil {
		return nil, goError(b.Name(), err)
	}
	return starlarkstruct.FromStringDict(starlark.String("tsne"), starlark.StringDict{
		"embedding":     NewArray(r.Y, n, 2),
		"kl_divergence": starlark.Float(r.KL),
		"n_iter":        starlark.MakeInt(r.Iterations),
		"method":        starlark.String(r.Method),
		"learning_rate": starlark.Float(r.LearningRate),
	}), nil
}

func fnPCA(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		x       starlark.Value
		k       = 2
		solver  = "auto"
		seed    int
		threads int
	)
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "x", &x, "n_components?", &k, "solver?", &solver, "seed?", &seed, "threads?", &threads); err != nil {
		return nil, err
	}
	data, n, d, err := matrix(b.Name(), "x", x)
	if err != nil {
		return nil, err
	}
	if seed < 0 {
		return nil, fmt.Errorf("%s: seed must not be negative, got %d", b.Name(), seed)
	}
	r, err := pca.FitContext(lang.Context(thread), data, n, d, k, pca.Options{Threads: threadCount(threads), Solver: solver, Seed: uint64(seed)})
	if err != nil {
		return nil, goError(b.Name(), err)
	}
	floats := func(v []float64) *starlark.List {
		out := make([]starlark.Value, len(v))
		for i, f := range v {
			out[i] = starlark.Float(f)
		}
		return starlark.NewList(out)
	}
	return starlarkstruct.FromStringDict(starlark.String("pca"), starlark.StringDict{
		"embedding":                NewArray(r.Projection, n, k),
		"components":               NewArray(r.Components, k, d),
		"explained_variance":       floats(r.ExplainedVariance),
		"explained_variance_ratio": floats(r.ExplainedVarianceRatio),
		"mean":                     floats(r.Mean),
		"solver":                   starlark.String(r.Solver),
	}), nil
}

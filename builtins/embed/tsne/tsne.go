// Package tsne is t-distributed stochastic neighbour embedding (van der
// Maaten & Hinton 2008) to two dimensions, in pure Go, for looking at where
// the classes of an embedding lie.
//
// It follows scikit-learn's TSNE (1.2) closely so that results and KL
// divergences can be compared with it: the same perplexity calibration
// (binary search on the precision of each point's Gaussian to an entropy of
// log(perplexity), tolerance 1e-5, at most 100 steps), the same optimiser
// (gradient descent with momentum 0.5 for the first 250 iterations under
// early exaggeration 12, then momentum 0.8; per-coordinate gains, +0.2 or
// ×0.8, at least 0.01; learning rate "auto" = max(N/12/4, 50)); the same
// stopping rules (gradient norm below 1e-7, or no progress of the KL
// divergence, checked every 50 iterations, for 300 iterations) and the same
// PCA initialisation scaled to a standard deviation of 1e-4.
//
// Methods:
//
//   - "exact": P over all pairs and the exact O(N²) gradient; the default
//     below 1,000 points.
//   - "barnes_hut": P over the k = ⌊3·perplexity⌋+1 nearest neighbours of
//     each point (exact neighbours, by blocked dot products), attractive
//     forces over those pairs, and repulsive forces from a quadtree with the
//     Barnes-Hut criterion cell width / distance < theta (van der Maaten
//     2014); the default from 1,000 points.
//
// Before anything else, inputs with more than 50 features are reduced to
// their first 50 principal components (Options.PCADims), as openTSNE,
// FIt-SNE and most t-SNE guides do: it denoises, and makes the neighbour
// search ten times cheaper for 512-D embeddings. scikit-learn does not do
// this, so its P differs slightly on the same input; set PCADims to -1 to
// match it.
//
// Results are deterministic for a given seed, and also do not depend on the
// number of threads: every parallel loop writes per-point results, and all
// sums across points are taken afterwards in index order. (Across CPU
// architectures they may differ in the last bits, and t-SNE amplifies
// those: Go fuses multiply-adds on arm64 but not on amd64.)
package tsne

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/dadash/dadash/builtins/embed/internal/linalg"
	"github.com/dadash/dadash/builtins/embed/pca"
)

// Progress receives updates while the optimisation runs: Add(1) after each
// iteration, and SetInfo with the current KL divergence when it is
// computed (every 50 iterations). It is the subset of dadash's progress
// bar (internal/progress) that t-SNE needs, kept as an interface here
// so that this package does not depend on how progress is shown.
type Progress interface {
	Add(n int)
	SetInfo(info string)
}

// Options of Run. The zero value of each field means its default.
type Options struct {
	// Perplexity, the effective number of neighbours (default 30). It must
	// be less than the number of points.
	Perplexity float64
	// Iterations in all, including the early-exaggeration phase (default
	// 1000, scikit-learn's n_iter).
	Iterations int
	// LearningRate; 0 means "auto": max(N / EarlyExaggeration / 4, 50).
	LearningRate float64
	// EarlyExaggeration multiplies P during the first
	// ExaggerationIterations iterations (defaults 12 and 250). Use 1 to
	// switch it off.
	EarlyExaggeration      float64
	ExaggerationIterations int
	// Seed of the random initialisation (Init "random"); PCA initialisation
	// does not use it.
	Seed uint64
	// Method: "auto" (or ""), "exact" or "barnes_hut".
	Method string
	// Theta, the Barnes-Hut accuracy (default 0.5; smaller is slower and
	// more accurate). Ignored by "exact".
	Theta float64
	// Threads; < 1 means all cores.
	Threads int
	// PCADims: inputs with more features are first reduced to this many
	// principal components (default 50); negative disables it.
	PCADims int
	// Init: "pca" (default) or "random" (Gaussian with standard deviation
	// 1e-4, from Seed).
	Init string
	// ExactKL asks a Barnes-Hut run to also report the KL divergence with
	// the exact normalisation of Q (an O(N²) sum after the last iteration)
	// in Result.KLExactZ.
	ExactKL bool
	// Progress, if not nil, is told about each iteration.
	Progress Progress
}

// Result is what RunDetailed returns.
type Result struct {
	Y            []float64 // N×2 row-major embedding
	N            int
	KL           float64 // final KL divergence; see RunDetailed
	KLExactZ     float64 // with Options.ExactKL, the KL with the exact Z; NaN otherwise
	Iterations   int     // iterations done (fewer than asked when it converged early)
	Method       string  // "exact" or "barnes_hut"
	LearningRate float64
	Neighbours   int // k of the sparse P (0 for exact)
	Timings      Timings
}

// Timings split the run into its phases.
type Timings struct {
	PCA, Affinities, Optimise time.Duration
}

// ExactLimit is the size from which method "auto" switches from exact to
// Barnes-Hut, as in most implementations (exact costs O(N²) per iteration
// and O(N²) memory).
const ExactLimit = 1000

// maxExact bounds method "exact" explicitly asked for: its N×N matrix of
// P takes 8·N² bytes (800 MB at this size).
const maxExact = 10000

// Run embeds the n×d row-major x into two dimensions and returns the n×2
// row-major embedding and its final KL divergence (see RunDetailed).
func Run(ctx context.Context, x []float64, n, d int, opts Options) (y []float64, kl float64, err error) {
	r, err := RunDetailed(ctx, x, n, d, opts)
	if err != nil {
		return nil, 0, err
	}
	return r.Y, r.KL, nil
}

// RunDetailed is Run with more about the run.
//
// The KL divergence reported is KL(P‖Q) after the last iteration, for the
// P that was optimised (without exaggeration):
//
//   - exact: Σ over all pairs i≠j of P_ij·log(P_ij/Q_ij), Q exact: what
//     scikit-learn reports for method="exact".
//   - barnes_hut: the sum over the nonzero entries of the sparse P, with
//     Q_ij = w_ij/Z, w_ij = 1/(1+‖y_i-y_j‖²) exact for those pairs and the
//     normaliser Z = Σ w over all pairs from the same Barnes-Hut
//     approximation as the gradient: what scikit-learn reports for
//     method="barnes_hut". Options.ExactKL adds the same sum with the exact
//     Z in Result.KLExactZ.
func RunDetailed(ctx context.Context, x []float64, n, d int, opts Options) (*Result, error) {
	o, err := opts.resolve(n)
	if err != nil {
		return nil, err
	}
	if n < 2 {
		return nil, fmt.Errorf("tsne: need at least 2 points, got %d", n)
	}
	if d < 1 || len(x) != n*d {
		return nil, fmt.Errorf("tsne: data has %d values, want %d×%d = %d", len(x), n, d, n*d)
	}
	for _, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, errors.New("tsne: input contains NaN or infinity")
		}
	}
	res := &Result{N: n, Method: o.Method, KLExactZ: math.NaN()}

	// Reduce, then initialise from the first two principal components of
	// what is left (the same two as of the raw input: PCA nests).
	t0 := time.Now()
	data, dim := x, d
	var init []float64
	if o.PCADims > 0 && d > o.PCADims && n > o.PCADims {
		p, err := pca.FitContext(ctx, x, n, d, o.PCADims, pca.Options{Threads: o.Threads, Seed: o.Seed})
		if err != nil {
			return nil, err
		}
		data, dim = p.Projection, o.PCADims
		if o.Init == "pca" {
			init = make([]float64, 2*n)
			for i := 0; i < n; i++ {
				init[2*i], init[2*i+1] = data[i*dim], data[i*dim+1]
			}
		}
	}
	y := make([]float64, 2*n)
	switch {
	case o.Init == "pca" && init != nil:
		copy(y, init)
	case o.Init == "pca" && d >= 2:
		p, err := pca.FitContext(ctx, data, n, dim, 2, pca.Options{Threads: o.Threads, Seed: o.Seed})
		if err != nil {
			return nil, err
		}
		copy(y, p.Projection)
	default: // random, or PCA of one feature (nothing to project onto)
		rng := rand.New(rand.NewPCG(o.Seed, 0x75e))
		for i := range y {
			y[i] = rng.NormFloat64()
		}
	}
	// scikit-learn scales the initial layout to std 1e-4 along the first
	// axis (np.std, population); a layout with no spread stays as is.
	var mean, ss float64
	for i := 0; i < n; i++ {
		mean += y[2*i]
	}
	mean /= float64(n)
	for i := 0; i < n; i++ {
		ss += (y[2*i] - mean) * (y[2*i] - mean)
	}
	if sd := math.Sqrt(ss / float64(n)); sd > 0 {
		for i := range y {
			y[i] = y[i] / sd * 1e-4
		}
	}
	res.Timings.PCA = time.Since(t0)
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	t0 = time.Now()
	var obj objective
	switch o.Method {
	case "exact":
		p, err := densePerplexity(ctx, data, n, dim, o.Perplexity, o.Threads)
		if err != nil {
			return nil, err
		}
		obj = newExact(p, n, o.Threads)
	case "barnes_hut":
		k := min(n-1, int(3*o.Perplexity+1))
		res.Neighbours = k
		p, err := sparsePerplexity(ctx, data, n, dim, k, o.Perplexity, o.Threads)
		if err != nil {
			return nil, err
		}
		obj = newBarnesHut(p, n, o.Theta, o.Threads)
	}
	res.Timings.Affinities = time.Since(t0)

	t0 = time.Now()
	res.LearningRate = o.LearningRate
	iters, kl, err := optimise(ctx, obj, y, n, o)
	if err != nil {
		return nil, err
	}
	res.Timings.Optimise = time.Since(t0)
	res.Y, res.KL, res.Iterations = y, kl, iters
	if o.ExactKL {
		if s, ok := obj.(*barnesHut); ok {
			res.KLExactZ = s.klExactZ(y)
		} else {
			res.KLExactZ = kl
		}
	}
	return res, nil
}

// resolve fills in defaults and checks the options against n points.
func (o Options) resolve(n int) (Options, error) {
	if o.Perplexity == 0 {
		o.Perplexity = 30
	}
	if o.Iterations == 0 {
		o.Iterations = 1000
	}
	if o.EarlyExaggeration == 0 {
		o.EarlyExaggeration = 12
	}
	if o.ExaggerationIterations == 0 {
		o.ExaggerationIterations = 250
	}
	if o.Theta == 0 {
		o.Theta = 0.5
	}
	if o.PCADims == 0 {
		o.PCADims = 50
	}
	if o.Init == "" {
		o.Init = "pca"
	}
	o.Threads = linalg.Threads(o.Threads)
	switch {
	case !(o.Perplexity > 0) || math.IsInf(o.Perplexity, 0):
		return o, fmt.Errorf("tsne: perplexity must be positive, got %v", o.Perplexity)
	case n >= 2 && o.Perplexity >= float64(n):
		return o, fmt.Errorf("tsne: perplexity must be less than the number of points (perplexity=%v, n_samples=%d)", o.Perplexity, n)
	case o.Iterations < 1:
		return o, fmt.Errorf("tsne: iterations must be positive, got %d", o.Iterations)
	case o.ExaggerationIterations < 0:
		return o, fmt.Errorf("tsne: exaggeration iterations must not be negative, got %d", o.ExaggerationIterations)
	case !(o.EarlyExaggeration >= 1) || math.IsInf(o.EarlyExaggeration, 0):
		return o, fmt.Errorf("tsne: early_exaggeration must be at least 1, got %v", o.EarlyExaggeration)
	case o.LearningRate < 0 || math.IsNaN(o.LearningRate) || math.IsInf(o.LearningRate, 0):
		return o, fmt.Errorf("tsne: learning rate must be positive (or 0 for auto), got %v", o.LearningRate)
	case !(o.Theta > 0) || o.Theta > 1:
		return o, fmt.Errorf("tsne: theta must be in (0, 1], got %v", o.Theta)
	case o.Init != "pca" && o.Init != "random":
		return o, fmt.Errorf("tsne: init must be \"pca\" or \"random\", got %q", o.Init)
	}
	if o.LearningRate == 0 {
		o.LearningRate = math.Max(float64(n)/o.EarlyExaggeration/4, 50)
	}
	switch o.Method {
	case "", "auto":
		o.Method = "barnes_hut"
		if n < ExactLimit {
			o.Method = "exact"
		}
	case "exact":
		if n > maxExact {
			return o, fmt.Errorf("tsne: method \"exact\" needs an N×N matrix; %d points is too many (at most %d), use \"barnes_hut\"", n, maxExact)
		}
	case "barnes_hut":
	default:
		return o, fmt.Errorf("tsne: unknown method %q (auto, exact, barnes_hut)", o.Method)
	}
	return o, nil
}

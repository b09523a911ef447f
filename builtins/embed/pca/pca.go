// Package pca is principal component analysis for dadash's embedding tools:
// the 2-D maps of embeddings, and the reduction to 50 dimensions and the
// initial layout that t-SNE starts from.
//
// Fit centres the data and takes the top eigenvectors of the covariance
// matrix (d×d) or, when there are fewer samples than features, of the Gram
// matrix (n×n), whichever is smaller, with a dense symmetric eigensolver.
// Above 1,024 for that size a dense solve costs tens of seconds, so Fit
// switches to randomized subspace iteration (Halko, Martinsson & Tropp
// 2011) for the leading components, as scikit-learn's "randomized" solver
// does; its start is drawn from Options.Seed, so it is deterministic too.
//
// Conventions follow scikit-learn's PCA: explained variance is divided by
// n-1, the ratio is against the total variance of all features. Components
// are unit vectors whose largest-magnitude coordinate is positive
// (scikit-learn flips signs by a different rule, so individual components
// may differ from it in sign, never in direction).
package pca

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/dadash/dadash/builtins/embed/internal/linalg"
)

// Result is a fitted PCA.
type Result struct {
	N, D, K                int
	Mean                   []float64 // D
	Components             []float64 // K×D row-major, orthonormal rows
	ExplainedVariance      []float64 // K: variance along each component (÷ n-1)
	ExplainedVarianceRatio []float64 // K: ExplainedVariance ÷ total variance
	TotalVariance          float64   // sum of the per-feature variances
	Projection             []float64 // N×K: (x - Mean)·Componentsᵀ
	Solver                 string    // "covariance", "gram" or "randomized"
}

// Options tune FitContext; the zero value is the default.
type Options struct {
	// Threads for the matrix products; < 1 means all cores.
	Threads int
	// Solver forces "full" (dense eigensolver) or "randomized"; "" or
	// "auto" picks by size (see the package comment).
	Solver string
	// Seed of the randomized solver's start.
	Seed uint64
}

// denseLimit is the largest covariance or Gram matrix solved densely.
const denseLimit = 1024

// Fit reduces the n×d row-major x to its first k principal components with
// default options.
func Fit(x []float64, n, d, k int) (*Result, error) {
	return FitContext(context.Background(), x, n, d, k, Options{})
}

// FitContext is Fit with cancellation and options.
func FitContext(ctx context.Context, x []float64, n, d, k int, opt Options) (*Result, error) {
	switch {
	case n < 2:
		return nil, fmt.Errorf("pca: need at least 2 samples, got %d", n)
	case d < 1:
		return nil, fmt.Errorf("pca: need at least 1 feature, got %d", d)
	case len(x) != n*d:
		return nil, fmt.Errorf("pca: data has %d values, want %d×%d = %d", len(x), n, d, n*d)
	case k < 1 || k > min(n, d):
		return nil, fmt.Errorf("pca: n_components=%d must be between 1 and min(n_samples, n_features) = %d", k, min(n, d))
	}
	for _, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, errors.New("pca: input contains NaN or infinity")
		}
	}
	threads := linalg.Threads(opt.Threads)
	r := &Result{N: n, D: d, K: k, Mean: make([]float64, d)}
	for i := 0; i < n; i++ {
		row := x[i*d : i*d+d]
		for j, v := range row {
			r.Mean[j] += v
		}
	}
	for j := range r.Mean {
		r.Mean[j] /= float64(n)
	}
	xc := make([]float64, n*d)
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			v := x[i*d+j] - r.Mean[j]
			xc[i*d+j] = v
			r.TotalVariance += v * v
		}
	}
	r.TotalVariance /= float64(n - 1)
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	m := min(n, d)
	solver := opt.Solver
	if solver == "" || solver == "auto" {
		solver = "full"
		if m > denseLimit {
			solver = "randomized"
		}
	}
	var err error
	switch solver {
	case "full":
		if d <= n {
			err = r.fromCovariance(xc, threads)
		} else {
			err = r.fromGram(xc, threads)
		}
	case "randomized":
		err = r.randomized(ctx, xc, opt.Seed, threads)
	default:
		return nil, fmt.Errorf("pca: unknown solver %q (auto, full, randomized)", opt.Solver)
	}
	if err != nil {
		return nil, err
	}
	for i := 0; i < k; i++ {
		if r.TotalVariance > 0 {
			r.ExplainedVarianceRatio[i] = r.ExplainedVariance[i] / r.TotalVariance
		}
	}
	r.Projection = make([]float64, n*k)
	linalg.ParMulABt(xc, n, r.Components, k, d, r.Projection, k, threads)
	return r, nil
}

func (r *Result) alloc() {
	r.Components = make([]float64, r.K*r.D)
	r.ExplainedVariance = make([]float64, r.K)
	r.ExplainedVarianceRatio = make([]float64, r.K)
}

// fromCovariance: eigenvectors of C = Xcᵀ·Xc/(n-1), d×d. The product is
// formed from the transposed data so that its entries are dot products of
// contiguous feature columns.
func (r *Result) fromCovariance(xc []float64, threads int) error {
	n, d := r.N, r.D
	xt := linalg.Transpose(xc, n, d)
	c := make([]float64, d*d)
	linalg.Gram(xt, d, n, c, threads)
	for i := range c {
		c[i] /= float64(n - 1)
	}
	vals, vecs, err := linalg.SymEig(c, d)
	if err != nil {
		return err
	}
	r.Solver = "covariance"
	r.alloc()
	copy(r.Components, vecs[:r.K*d])
	for i := 0; i < r.K; i++ {
		r.ExplainedVariance[i] = math.Max(vals[i], 0)
	}
	return nil
}

// fromGram: with n < d the n×n Gram matrix G = Xc·Xcᵀ has the same nonzero
// eigenvalues (times n-1) as the covariance, and each eigenvector u maps to
// the component Xcᵀu/‖Xcᵀu‖.
func (r *Result) fromGram(xc []float64, threads int) error {
	n, d := r.N, r.D
	g := make([]float64, n*n)
	linalg.Gram(xc, n, d, g, threads)
	vals, vecs, err := linalg.SymEig(g, n)
	if err != nil {
		return err
	}
	r.Solver = "gram"
	r.alloc()
	for i := 0; i < r.K; i++ {
		u := vecs[i*n : i*n+n]
		v := r.Components[i*d : i*d+d]
		for s, us := range u {
			row := xc[s*d : s*d+d]
			for j, xv := range row {
				v[j] += us * xv
			}
		}
		r.ExplainedVariance[i] = math.Max(vals[i], 0) / float64(n-1)
	}
	completeBasis(r.Components, r.K, d, 1e-9*math.Sqrt(math.Max(vals[0], 0)))
	return nil
}

// completeBasis orthonormalises the k rows of v in order (Gram-Schmidt,
// twice for accuracy). A row that is numerically zero (norm at most tiny)
// or almost entirely in the span of the rows before it, which happens for
// components beyond the rank of the data, is replaced by the first
// coordinate axis that is independent of the rows before it: what is left
// of such a row is rounding noise, not a direction, and normalising it
// would give a vector that is not orthogonal to the others.
func completeBasis(v []float64, k, d int, tiny float64) {
	axis := 0
	for i := 0; i < k; i++ {
		row := v[i*d : i*d+d]
		norm0 := math.Sqrt(linalg.Dot(row, row))
		norm := orthogonalise(v, i, d)
		for (norm <= tiny || norm <= 1e-8*norm0) && axis < d {
			// An axis is independent of the rows before it when a fair
			// part of it is left after projecting them out.
			for j := range row {
				row[j] = 0
			}
			row[axis] = 1
			axis++
			norm = orthogonalise(v, i, d)
			if norm > 1e-3 {
				break
			}
		}
		for j := range row {
			row[j] /= norm
		}
		linalg.FlipSign(row)
	}
}

// orthogonalise removes from row i of v its projections on rows 0..i-1
// and returns the remaining norm.
func orthogonalise(v []float64, i, d int) float64 {
	row := v[i*d : i*d+d]
	for pass := 0; pass < 2; pass++ {
		for p := 0; p < i; p++ {
			prev := v[p*d : p*d+d]
			s := linalg.Dot(prev, row)
			for j := range row {
				row[j] -= s * prev[j]
			}
		}
	}
	return math.Sqrt(linalg.Dot(row, row))
}

// randomized finds the leading components by subspace iteration on Xc
// without forming the d×d covariance: start from l = k+10 Gaussian
// directions, alternate multiplications by Xc and Xcᵀ with
// re-orthonormalisation, then solve the small l×l problem (Rayleigh-Ritz).
// Seven power iterations are what scikit-learn uses for few components; the
// extra directions make the leading k converge fast even with slowly
// decaying spectra.
func (r *Result) randomized(ctx context.Context, xc []float64, seed uint64, threads int) error {
	n, d, k := r.N, r.D, r.K
	l := min(k+10, min(n, d))
	rng := rand.New(rand.NewPCG(seed, 0x9ca))
	q := make([]float64, l*d) // rows: basis of the subspace in feature space
	for i := range q {
		q[i] = rng.NormFloat64()
	}
	completeBasis(q, l, d, 0)
	y := make([]float64, n*l) // Xc·Qᵀ
	xt := linalg.Transpose(xc, n, d)
	yt := make([]float64, l*n)
	for it := 0; it < 8; it++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		linalg.ParMulABt(xc, n, q, l, d, y, l, threads)
		copy(yt, linalg.Transpose(y, n, l))
		// Q ← orth((Xcᵀ·Y)ᵀ) = orth(Yᵀ·Xc): rows of length d.
		linalg.ParMulABt(yt, l, xt, d, n, q, d, threads)
		completeBasis(q, l, d, 0)
	}
	// Rayleigh-Ritz: B = (Xc·Qᵀ)ᵀ(Xc·Qᵀ)/(n-1), l×l.
	linalg.ParMulABt(xc, n, q, l, d, y, l, threads)
	yt = linalg.Transpose(y, n, l)
	b := make([]float64, l*l)
	linalg.Gram(yt, l, n, b, threads)
	for i := range b {
		b[i] /= float64(n - 1)
	}
	vals, vecs, err := linalg.SymEig(b, l)
	if err != nil {
		return err
	}
	r.Solver = "randomized"
	r.alloc()
	for i := 0; i < k; i++ {
		v := r.Components[i*d : i*d+d]
		for s := 0; s < l; s++ {
			w := vecs[i*l+s]
			row := q[s*d : s*d+d]
			for j, qv := range row {
				v[j] += w * qv
			}
		}
		r.ExplainedVariance[i] = math.Max(vals[i], 0)
	}
	completeBasis(r.Components, k, d, 0)
	return nil
}

// Transform projects new n×d rows onto the fitted components (n×K).
func (r *Result) Transform(x []float64, n int) ([]float64, error) {
	if len(x) != n*r.D {
		return nil, fmt.Errorf("pca: data has %d values, want %d×%d", len(x), n, r.D)
	}
	xc := make([]float64, len(x))
	for i := 0; i < n; i++ {
		for j := 0; j < r.D; j++ {
			xc[i*r.D+j] = x[i*r.D+j] - r.Mean[j]
		}
	}
	out := make([]float64, n*r.K)
	linalg.ParMulABt(xc, n, r.Components, r.K, r.D, out, r.K, 0)
	return out, nil
}

package tsne

import (
	"context"
	"fmt"
	"math"
)

// Optimiser constants, scikit-learn's.
const (
	checkEvery          = 50   // iterations between KL/convergence checks
	minGain             = 0.01 // floor of the per-coordinate gains
	minGradNorm         = 1e-7
	noProgressIters     = 300 // after exaggeration
	momentumExaggerated = 0.5
	momentumFinal       = 0.8
)

// optimise runs the two phases of gradient descent on y in place and
// returns the number of iterations done and the final KL divergence.
//
// Each phase starts with fresh gains and a zero update, as scikit-learn
// calls its _gradient_descent once per phase. The update is the
// delta-bar-delta scheme of Jacobs (1988) that t-SNE has always used: a
// coordinate whose gradient keeps its sign speeds up (+0.2), one that flips
// slows down (×0.8).
func optimise(ctx context.Context, obj objective, y []float64, n int, o Options) (int, float64, error) {
	grad := make([]float64, 2*n)
	update := make([]float64, 2*n)
	gains := make([]float64, 2*n)
	kl := math.NaN()
	it := 0
	phases := []struct {
		end          int
		exaggeration float64
		momentum     float64
		patience     int
	}{
		{min(o.ExaggerationIterations, o.Iterations), o.EarlyExaggeration, momentumExaggerated, o.ExaggerationIterations},
		{o.Iterations, 1, momentumFinal, noProgressIters},
	}
	for _, ph := range phases {
		if it >= ph.end {
			continue
		}
		for k := range gains {
			gains[k] = 1
			update[k] = 0
		}
		best, bestIter := math.Inf(1), it
		for ; it < ph.end; it++ {
			if err := ctx.Err(); err != nil {
				return it, kl, err
			}
			check := (it+1)%checkEvery == 0
			// The KL is always that of the unexaggerated P; during
			// exaggeration scikit-learn reports the exaggerated one.
			e := obj.gradient(y, grad, ph.exaggeration, check)
			if check {
				kl = e
			}
			var gn float64
			for k, g := range grad {
				if update[k]*g < 0 {
					gains[k] += 0.2
				} else {
					gains[k] *= 0.8
				}
				gains[k] = math.Max(gains[k], minGain)
				g *= gains[k]
				gn += g * g
				update[k] = ph.momentum*update[k] - o.LearningRate*g
				y[k] += update[k]
			}
			if o.Progress != nil {
				o.Progress.Add(1)
				if check {
					o.Progress.SetInfo(fmt.Sprintf("KL %.4f", kl))
				}
			}
			if check {
				if e < best {
					best, bestIter = e, it
				} else if it-bestIter > ph.patience {
					it++
					break
				}
				if math.Sqrt(gn) <= minGradNorm {
					it++
					break
				}
			}
		}
	}
	// The KL of the final layout, after the last update: one more
	// gradient evaluation (whose gradient is discarded).
	kl = obj.gradient(y, grad, 1, true)
	if math.IsNaN(kl) || math.IsInf(kl, 0) {
		return it, kl, fmt.Errorf("tsne: the optimisation diverged (KL divergence %v); try a smaller learning rate", kl)
	}
	return it, kl, nil
}

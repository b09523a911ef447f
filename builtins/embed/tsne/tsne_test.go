package tsne

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/dadash/dadash/builtins/embed/quality"
)

// refData is a small fixed data set and layout that the reference values
// below were computed on with scikit-learn 1.2.1 (Debian 12's
// python3-sklearn), by hand:
//
//	X[i][j] = (i % 3)·2 + sin(1.7i + 0.3j), 60×5
//	Y[i]    = (cos(i)·(1+i/60), sin(1.3i)·(1+i/60))
//	P = _joint_probabilities(pairwise_distances(X, squared=True), 10, 0)
//	kl, grad = _kl_divergence(Y.ravel(), P, 1, 60, 2)
//
// and, for the sparse P of Barnes-Hut (k = 31 exact neighbours),
// _joint_probabilities_nn then _kl_divergence_bh with angle=0.
func refData() (x []float64, n, d int, y []float64) {
	n, d = 60, 5
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			x = append(x, float64(i%3)*2+math.Sin(float64(i)*1.7+float64(j)*0.3))
		}
		s := 1 + float64(i)/60
		y = append(y, math.Cos(float64(i))*s, math.Sin(1.3*float64(i))*s)
	}
	return x, n, d, y
}

func near(t *testing.T, what string, got, want, rel float64) {
	t.Helper()
	if math.Abs(got-want) > rel*math.Abs(want) {
		t.Errorf("%s = %.12g, want %.12g (relative error %.2g > %.2g)", what, got, want, math.Abs(got-want)/math.Abs(want), rel)
	}
}

// TestExactAgainstScikitLearn checks P, the KL divergence and the gradient
// of the exact method against scikit-learn's values for the same X and Y.
// scikit-learn calibrates P on float32 distances, hence the tolerances.
func TestExactAgainstScikitLearn(t *testing.T) {
	x, n, d, y := refData()
	p, err := densePerplexity(context.Background(), x, n, d, 10, 2)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "P[0,3]", p.p[0*n+3], 7.852122665208938e-05, 1e-5)
	near(t, "P[5,59]", p.p[5*n+59], 0.0005769225772308203, 1e-5)
	near(t, "P[0,1]", p.p[0*n+1], 3.2777224218784706e-13, 1e-3)
	grad := make([]float64, 2*n)
	kl := newExact(p, n, 2).gradient(y, grad, 1, true)
	near(t, "KL", kl, 2.025448270035178, 1e-6)
	want := []float64{0.00660236124326747, 0.00405749426170997, 0.0049664659816072,
		-0.00424494374634072, -0.00077110909209212, -0.0001377139887144}
	for i, w := range want {
		near(t, "grad", grad[i], w, 1e-5)
	}
}

// TestBarnesHutAgainstScikitLearn: with theta tiny, the Barnes-Hut
// objective is exact over its sparse P and must match scikit-learn's with
// angle=0 (computed in float32 there).
func TestBarnesHutAgainstScikitLearn(t *testing.T) {
	x, n, d, y := refData()
	p, err := sparsePerplexity(context.Background(), x, n, d, 31, 10, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.val) != 2112 {
		t.Errorf("sparse P has %d entries, scikit-learn's 2112", len(p.val))
	}
	at := func(i, j int) float64 {
		for t := p.ptr[i]; t < p.ptr[i+1]; t++ {
			if int(p.col[t]) == j {
				return p.val[t]
			}
		}
		return 0
	}
	near(t, "P[0,3]", at(0, 3), 7.852122674452518e-05, 1e-5)
	if v := at(0, 1); v != 0 {
		t.Errorf("P[0,1] = %v, want 0 (not neighbours)", v)
	}
	grad := make([]float64, 2*n)
	kl := newBarnesHut(p, n, 1e-6, 2).gradient(y, grad, 1, true)
	near(t, "KL", kl, 2.0254435539245605, 1e-6)
	want := []float64{0.006602389, 0.0040575312, 0.0049665067, -0.0042447904, -0.00077111967, -0.00013771473}
	for i, w := range want {
		near(t, "grad", grad[i], w, 1e-4) // float32 there
	}
}

// TestGradientIsDerivative checks both objectives' gradients against
// central differences of their own KL divergence, and the Barnes-Hut
// approximation at theta 0.5 against its exact value.
func TestGradientIsDerivative(t *testing.T) {
	x, n, d, y := refData()
	ctx := context.Background()
	dp, _ := densePerplexity(ctx, x, n, d, 10, 1)
	sp, _ := sparsePerplexity(ctx, x, n, d, 31, 10, 1)
	for _, c := range []struct {
		name string
		obj  objective
	}{{"exact", newExact(dp, n, 1)}, {"barnes_hut", newBarnesHut(sp, n, 1e-9, 1)}} {
		grad := make([]float64, 2*n)
		c.obj.gradient(y, grad, 1, true)
		scratch := make([]float64, 2*n)
		for _, k := range []int{0, 1, 17, 64, 119} {
			const h = 1e-5
			yp := append([]float64(nil), y...)
			yp[k] += h
			fp := c.obj.gradient(yp, scratch, 1, true)
			yp[k] -= 2 * h
			fm := c.obj.gradient(yp, scratch, 1, true)
			num := (fp - fm) / (2 * h)
			if math.Abs(num-grad[k]) > 1e-6+1e-4*math.Abs(num) {
				t.Errorf("%s: dKL/dy[%d] = %g by differences, gradient says %g", c.name, k, num, grad[k])
			}
		}
	}
	// theta 0.5 approximates the exact repulsion closely.
	exactGrad := make([]float64, 2*n)
	approxGrad := make([]float64, 2*n)
	klExact := newBarnesHut(sp, n, 1e-9, 1).gradient(y, exactGrad, 1, true)
	klApprox := newBarnesHut(sp, n, 0.5, 1).gradient(y, approxGrad, 1, true)
	near(t, "KL at theta 0.5", klApprox, klExact, 1e-2)
	var num, den float64
	for k := range exactGrad {
		num += (approxGrad[k] - exactGrad[k]) * (approxGrad[k] - exactGrad[k])
		den += exactGrad[k] * exactGrad[k]
	}
	if r := math.Sqrt(num / den); r > 0.05 {
		t.Errorf("theta 0.5 gradient relative error %.3f", r)
	}
}

// TestFullRunAgainstScikitLearn runs the exact method on the reference
// data end to end; scikit-learn's TSNE(perplexity=10, method="exact",
// init="pca", learning_rate="auto", random_state=0) ends at KL 0.18888 (its
// optimisation runs in float64 too, but its PCA initialisation differs in
// sign conventions, so the layouts differ by a reflection at most). The
// end point is chaotic in the start: scikit-learn itself ends between
// 0.182 and 0.205 when its initial layout is only rounded differently
// (float32 or float64), so the tolerance is 10%.
func TestFullRunAgainstScikitLearn(t *testing.T) {
	x, n, d, _ := refData()
	r, err := RunDetailed(context.Background(), x, n, d, Options{Perplexity: 10, Method: "exact"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("KL %.6f after %d iterations; scikit-learn %.6f", r.KL, r.Iterations, refFullKL)
	near(t, "final KL", r.KL, refFullKL, 0.1)
	if r.Method != "exact" || r.LearningRate != 50 {
		t.Errorf("method %s, learning rate %v", r.Method, r.LearningRate)
	}
}

// clusters is the separation test's data: 10 Gaussian clusters in 50-D.
func clusters(n int) ([]float64, []int) { return quality.Clusters(n, 50, 10, 1, 7) }

// TestClustersStaySeparate: for well-separated clusters, each point's 10
// nearest neighbours in the map are (almost) all from its own cluster, and
// the map is trustworthy, with either method.
func TestClustersStaySeparate(t *testing.T) {
	for _, c := range []struct {
		n      int
		method string
	}{{600, "exact"}, {2000, "barnes_hut"}} {
		x, labels := clusters(c.n)
		r, err := RunDetailed(context.Background(), x, c.n, 50, Options{Method: c.method, Iterations: 750})
		if err != nil {
			t.Fatal(err)
		}
		frac := quality.ClassNeighbourFraction(r.Y, c.n, 2, labels, 10)
		tw := quality.Trustworthiness(x, 50, r.Y, 2, c.n, 10)
		t.Logf("%s n=%d: KL %.4f, same-cluster 10-NN %.4f, trustworthiness %.4f", c.method, c.n, r.KL, frac, tw)
		if frac < 0.95 {
			t.Errorf("%s: only %.3f of the 10 nearest neighbours in the map share the cluster", c.method, frac)
		}
		if tw < 0.85 {
			t.Errorf("%s: trustworthiness %.3f", c.method, tw)
		}
	}
}

// TestExactAndBarnesHutAgree: on the same medium-sized data the two
// methods reach similar KL divergences (they optimise slightly different
// P, dense and k-nearest, so they are not equal).
func TestExactAndBarnesHutAgree(t *testing.T) {
	x, _ := clusters(800)
	var kl [2]float64
	for i, m := range []string{"exact", "barnes_hut"} {
		r, err := RunDetailed(context.Background(), x, 800, 50, Options{Method: m, Iterations: 750, ExactKL: true})
		if err != nil {
			t.Fatal(err)
		}
		kl[i] = r.KL
		if m == "barnes_hut" {
			near(t, "Barnes-Hut KL against its exact-Z value", r.KL, r.KLExactZ, 0.01)
		}
	}
	t.Logf("KL exact %.4f, Barnes-Hut %.4f", kl[0], kl[1])
	near(t, "Barnes-Hut KL against exact", kl[1], kl[0], 0.1)
}

// TestDeterministic: the same input and seed give bit-identical layouts,
// whatever the number of threads.
func TestDeterministic(t *testing.T) {
	x, _ := clusters(1200)
	var first []float64
	var firstKL float64
	for _, threads := range []int{1, 2, 3, 1} {
		for _, init := range []string{"pca"} {
			y, kl, err := Run(context.Background(), x, 1200, 50, Options{Threads: threads, Iterations: 300, Init: init, Seed: 5})
			if err != nil {
				t.Fatal(err)
			}
			if first == nil {
				first, firstKL = y, kl
				continue
			}
			if kl != firstKL {
				t.Fatalf("threads %d: KL %v, first run %v", threads, kl, firstKL)
			}
			for i := range y {
				if y[i] != first[i] {
					t.Fatalf("threads %d: y[%d] = %v, first run %v", threads, i, y[i], first[i])
				}
			}
		}
	}
	// Random initialisation: the seed decides.
	a, _, _ := Run(context.Background(), x[:300*50], 300, 50, Options{Init: "random", Seed: 1, Iterations: 100})
	b, _, _ := Run(context.Background(), x[:300*50], 300, 50, Options{Init: "random", Seed: 1, Iterations: 100})
	c, _, _ := Run(context.Background(), x[:300*50], 300, 50, Options{Init: "random", Seed: 2, Iterations: 100})
	if a[0] != b[0] || a[0] == c[0] {
		t.Errorf("random init: seed 1 gives %v and %v, seed 2 %v", a[0], b[0], c[0])
	}
}

// TestPCAReduction: with more than 50 features the input is reduced first;
// the result is still a good map, and PCADims -1 runs on the raw input.
func TestPCAReduction(t *testing.T) {
	x, labels := quality.Clusters(500, 120, 5, 1, 3)
	for _, dims := range []int{0, -1} {
		y, _, err := Run(context.Background(), x, 500, 120, Options{PCADims: dims, Iterations: 500})
		if err != nil {
			t.Fatal(err)
		}
		if f := quality.ClassNeighbourFraction(y, 500, 2, labels, 10); f < 0.95 {
			t.Errorf("PCADims %d: same-cluster fraction %.3f", dims, f)
		}
	}
}

type countProgress struct {
	adds  int
	infos []string
}

func (c *countProgress) Add(n int)        { c.adds += n }
func (c *countProgress) SetInfo(s string) { c.infos = append(c.infos, s) }

func TestProgressAndCancel(t *testing.T) {
	x, _ := clusters(300)
	var p countProgress
	r, err := RunDetailed(context.Background(), x, 300, 50, Options{Iterations: 260, Progress: &p})
	if err != nil {
		t.Fatal(err)
	}
	if p.adds != r.Iterations || r.Iterations != 260 {
		t.Errorf("progress saw %d iterations, run did %d", p.adds, r.Iterations)
	}
	if len(p.infos) != 5 || !strings.HasPrefix(p.infos[0], "KL ") {
		t.Errorf("progress infos %q", p.infos)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := Run(ctx, x, 300, 50, Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled run: %v", err)
	}
	// Cancelled during the iterations.
	ctx, cancel = context.WithCancel(context.Background())
	stop := &cancelAfter{n: 10, cancel: cancel}
	if _, _, err := Run(ctx, x, 300, 50, Options{Progress: stop}); !errors.Is(err, context.Canceled) || stop.seen > 11 {
		t.Errorf("cancelled after 10 iterations: %v after %d", err, stop.seen)
	}
}

type cancelAfter struct {
	n, seen int
	cancel  func()
}

func (c *cancelAfter) Add(n int) {
	c.seen += n
	if c.seen >= c.n {
		c.cancel()
	}
}
func (c *cancelAfter) SetInfo(string) {}

func TestErrors(t *testing.T) {
	ok := make([]float64, 20)
	for i := range ok {
		ok[i] = float64(i * i % 7)
	}
	nan := append([]float64(nil), ok...)
	nan[3] = math.NaN()
	for _, c := range []struct {
		x    []float64
		n, d int
		o    Options
		want string
	}{
		{ok, 10, 2, Options{}, "perplexity must be less than the number of points"},
		{ok, 10, 2, Options{Perplexity: 10}, "perplexity must be less"},
		{ok, 10, 2, Options{Perplexity: -1}, "perplexity must be positive"},
		{ok, 10, 3, Options{Perplexity: 3}, "data has 20 values"},
		{ok[:2], 1, 2, Options{Perplexity: 0.5}, "at least 2 points"},
		{nan, 10, 2, Options{Perplexity: 3}, "NaN"},
		{ok, 10, 2, Options{Perplexity: 3, Method: "fast"}, "unknown method"},
		{ok, 10, 2, Options{Perplexity: 3, Theta: 2}, "theta"},
		{ok, 10, 2, Options{Perplexity: 3, LearningRate: -1}, "learning rate"},
		{ok, 10, 2, Options{Perplexity: 3, Init: "spectral"}, "init"},
		{ok, 10, 2, Options{Perplexity: 3, EarlyExaggeration: 0.5}, "early_exaggeration"},
	} {
		_, _, err := Run(context.Background(), c.x, c.n, c.d, c.o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Run(n=%d, d=%d, %+v): error %v, want %q", c.n, c.d, c.o, err, c.want)
		}
	}
	// Tiny but valid inputs work with either method.
	for _, m := range []string{"exact", "barnes_hut"} {
		y, kl, err := Run(context.Background(), ok, 10, 2, Options{Perplexity: 3, Method: m, Iterations: 300})
		if err != nil || len(y) != 20 || math.IsNaN(kl) {
			t.Errorf("%s on 10 points: %v, %v, %v", m, y, kl, err)
		}
	}
	// Duplicated points do not break the tree or the calibration.
	dup := make([]float64, 2*1500)
	_, kl, err := Run(context.Background(), dup, 1500, 2, Options{Iterations: 300})
	if err != nil || math.IsNaN(kl) {
		t.Errorf("identical points: KL %v, %v", kl, err)
	}
}

// refFullKL is scikit-learn's kl_divergence_ for TestFullRunAgainstScikitLearn.
const refFullKL = 0.1888759481480026

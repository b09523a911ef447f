package stdlib_test

// The training loop against an independent reference: stdlib's train()
// runs a few steps at float64 on fixed data (testdata/loopref/loop.star
// records the state after every step), and this file replays the same
// steps with plain-Go float64 code written from the formulas of DADA.md's
// "Reference details" and PyTorch 1.13's Adam and StepLR: the optimiser
// groups and their learning rates, the warm-ups, the schedule, the two
// forwards of a DADA step and what they do to BatchNorm's running
// statistics. Gradients are central finite differences of the reference
// objectives (lossref), so nothing here shares code with the tensor side.

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/builtins/losses/lossref"
	"github.com/dadash/dadash/interp"
	"github.com/dadash/dadash/stdlib"
)

type mat = lossref.Mat

// The settings of testdata/loopref/loop.star.
const (
	lrModel    = 1e-2
	decay      = 1e-3
	disDecay   = 2e-3
	advProxyLR = 3e-2
	classifLR  = 2e-2
	lrMulti    = 4.0
	gamma      = 0.5 // StepLR(step_size=1)
	warmup     = 1
	dStep      = 2
	dDisRatio  = 0.3
	oproxyW    = 0.5
	disGamma   = 0.7
	discRatio  = 0.5 // d_discrepancy_ratio (default)
	alpha      = 8.0
)

type snapshot struct {
	Epoch    int                  `json:"epoch"`
	Step     int                  `json:"step"`
	Features [][]float64          `json:"features"`
	Labels   []int                `json:"labels"`
	LRs      map[string][]float64 `json:"lrs"`
	State    map[string][]float64 `json:"state"`
}

// runLoop runs loop.star in MODE and returns its snapshots.
func runLoop(t *testing.T, mode string) []snapshot {
	t.Helper()
	dir := t.TempDir()
	out := filepath.Join(dir, "steps.json")
	var stdout strings.Builder
	h, err := interp.New(interp.Options{Stdlib: stdlib.FS, Stdout: &stdout, Stderr: &stdout, Predeclared: starlark.StringDict{
		"MODE": starlark.String(mode), "OUT": starlark.String(out), "TMPDIR": starlark.String(filepath.Join(dir, "run")),
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.RunFile(context.Background(), "testdata/loopref/loop.star", nil); err != nil {
		t.Fatalf("loop.star (%s): %v\n%s", mode, err, stdout.String())
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var steps []snapshot
	if err := json.Unmarshal(raw, &steps); err != nil {
		t.Fatal(err)
	}
	return steps
}

// ---------------------------------------------------------------- the network

// params holds every parameter and buffer, flat, by the names the
// snapshots use; shapes are fixed by the script.
type params map[string][]float64

func (p params) clone() params {
	out := params{}
	for k, v := range p {
		out[k] = append([]float64(nil), v...)
	}
	return out
}

// linear is x W^T + b with W (out x in) stored row by row.
func linear(x mat, w, b []float64) mat {
	out := make(mat, len(x))
	nOut := len(b)
	nIn := len(w) / nOut
	for i, r := range x {
		out[i] = make([]float64, nOut)
		for o := 0; o < nOut; o++ {
			out[i][o] = lossref.Dot(r, w[o*nIn:(o+1)*nIn]) + b[o]
		}
	}
	return out
}

// batchNorm in training mode: normalised with the batch's mean and biased
// variance; also returns the statistics the running buffers take (the
// unbiased variance, as PyTorch).
func batchNorm(x mat, w, b []float64) (out mat, mean, unbiased []float64) {
	n, rows := len(w), float64(len(x))
	mean, unbiased = make([]float64, n), make([]float64, n)
	variance := make([]float64, n)
	for j := 0; j < n; j++ {
		for i := range x {
			mean[j] += x[i][j]
		}
		mean[j] /= rows
		for i := range x {
			variance[j] += (x[i][j] - mean[j]) * (x[i][j] - mean[j])
		}
		unbiased[j] = variance[j] / (rows - 1)
		variance[j] /= rows
	}
	out = make(mat, len(x))
	for i := range x {
		out[i] = make([]float64, n)
		for j := 0; j < n; j++ {
			out[i][j] = (x[i][j]-mean[j])/math.Sqrt(variance[j]+1e-5)*w[j] + b[j]
		}
	}
	return out, mean, unbiased
}

// bnStats records the statistics a training-mode forward feeds a
// BatchNorm's running buffers, in call order.
type bnStats struct {
	name           string
	mean, unbiased []float64
}

// bn applies prefix's BatchNorm and, when rec is not nil, records its
// batch statistics.
func bn(x mat, p params, prefix string, rec *[]bnStats) mat {
	y, m, v := batchNorm(x, p[prefix+"weight"], p[prefix+"bias"])
	if rec != nil {
		*rec = append(*rec, bnStats{prefix, m, v})
	}
	return y
}

// updateRunning is BatchNorm's momentum update (0.1) of its buffers.
func updateRunning(p params, recs []bnStats) {
	for _, r := range recs {
		rm, rv := p[r.name+"running_mean"], p[r.name+"running_var"]
		for j := range rm {
			rm[j] = 0.9*rm[j] + 0.1*r.mean[j]
			rv[j] = 0.9*rv[j] + 0.1*r.unbiased[j]
		}
		p[r.name+"num_batches_tracked"][0]++
	}
}

func relu(x mat) mat {
	out := x.Clone()
	for _, r := range out {
		for j := range r {
			r[j] = math.Max(r[j], 0)
		}
	}
	return out
}

// embed is the script's model: fc1 - BatchNorm1d - ReLU - head.
func embed(p params, x mat, rec *[]bnStats) mat {
	h := relu(bn(linear(x, p["model.fc1.weight"], p["model.fc1.bias"]), p, "model.bn.", rec))
	return linear(h, p["model.head.weight"], p["model.head.bias"])
}

func rowsOf(flat []float64, cols int) mat {
	out := make(mat, len(flat)/cols)
	for i := range out {
		out[i] = flat[i*cols : (i+1)*cols]
	}
	return out
}

// proxiesName is where the proxies are: inside DADA's wrapper, or the
// plain loss itself.
func proxiesName(p params) string {
	if _, ok := p["criterion.proxies"]; ok {
		return "criterion.proxies"
	}
	return "criterion.loss.proxies"
}

func proxyLoss(p params, x mat, y []int) float64 {
	l, _, _ := lossref.OProxy(x, y, rowsOf(p[proxiesName(p)], 4), nil,
		lossref.OProxyParams{PosAlpha: alpha, NegAlpha: alpha, PosDelta: 0.1, NegDelta: -0.1, Dim: 0})
	return l
}

// dadaObjective is DADA.md's generator or discriminator objective in
// mix_mode "individual" (mix = w x + (1 - w) p), normal=True, dropout 0,
// U's three domains and K's two inputs each a batch of their own.
func dadaObjective(p params, x mat, y []int, generator bool, rec *[]bnStats) float64 {
	P := rowsOf(p["criterion.loss.proxies"], 4)
	w := p["criterion.mix_w"]
	prox := P.Rows(y)
	mix := make(mat, len(x))
	for i := range x {
		mix[i] = make([]float64, len(x[i]))
		for j := range x[i] {
			mix[i][j] = w[j]*x[i][j] + (1-w[j])*prox[i][j]
		}
	}
	xs, ms, ps := lossref.Normalize(x), lossref.Normalize(mix), lossref.Normalize(prox)
	U := func(v mat) mat {
		h := relu(bn(linear(v, p["criterion.U.fc1.weight"], p["criterion.U.fc1.bias"]), p, "criterion.U.bn1_fc.", rec))
		return linear(h, p["criterion.U.fc2.weight"], p["criterion.U.fc2.bias"])
	}
	K := func(v mat) mat {
		h := relu(bn(linear(v, p["criterion.K.fc1.weight"], p["criterion.K.fc1.bias"]), p, "criterion.K.bn1_fc.", rec))
		h = relu(bn(linear(h, p["criterion.K.fc2.weight"], p["criterion.K.fc2.bias"]), p, "criterion.K.bn2_fc.", rec))
		return linear(h, p["criterion.K.fc3.weight"], p["criterion.K.fc3.bias"])
	}
	const1 := func(k int) []int {
		out := make([]int, len(x))
		for i := range out {
			out[i] = k
		}
		return out
	}
	u := lossref.CrossEntropy(U(xs), const1(0)) + lossref.CrossEntropy(U(ms), const1(1)) + lossref.CrossEntropy(U(ps), const1(2))
	kx, km := K(xs), K(ms)
	s := 2 * lossref.CrossEntropy(kx, y)
	dis := discRatio * (lossref.NuclearNorm(lossref.Softmax(kx)) - lossref.NuclearNorm(lossref.Softmax(km))) / float64(len(x))
	r := dDisRatio
	if generator {
		return oproxyW*proxyLoss(p, x, y) + disGamma*(r*(s+dis)-(1-r)*u)
	}
	return (1-r)*u + r*(s-dis)
}

// ---------------------------------------------------------------- optimisers

// adam is PyTorch 1.13's Adam (L2 weight decay added to the gradient, bias
// corrections, eps outside the square root) over named groups.
type adam struct {
	groups []adamGroup
	state  map[string]*adamState
}

type adamGroup struct {
	names    []string
	lr, base float64
	decay    float64
}

type adamState struct {
	step    float64
	m, v    []float64
	started bool
}

func newAdam(groups ...adamGroup) *adam {
	for i := range groups {
		groups[i].base = groups[i].lr
	}
	return &adam{groups: groups, state: map[string]*adamState{}}
}

// step updates the parameters that have a gradient (grads[name] != nil).
func (a *adam) step(p params, grads map[string][]float64) {
	const b1, b2, eps = 0.9, 0.999, 1e-8
	for _, g := range a.groups {
		for _, n := range g.names {
			grad := grads[n]
			if grad == nil {
				continue
			}
			st := a.state[n]
			if st == nil {
				st = &adamState{m: make([]float64, len(grad)), v: make([]float64, len(grad))}
				a.state[n] = st
			}
			st.step++
			bc1 := 1 - math.Pow(b1, st.step)
			bc2 := math.Sqrt(1 - math.Pow(b2, st.step))
			for i := range grad {
				gi := grad[i] + g.decay*p[n][i]
				st.m[i] = b1*st.m[i] + (1-b1)*gi
				st.v[i] = b2*st.v[i] + (1-b2)*gi*gi
				p[n][i] -= g.lr / bc1 * st.m[i] / (math.Sqrt(st.v[i])/bc2 + eps)
			}
		}
	}
}

// schedule is StepLR(step_size=1, gamma): after n scheduler steps each
// group's lr is its initial lr times gamma^n.
func (a *adam) schedule(n int) {
	for i := range a.groups {
		a.groups[i].lr = a.groups[i].base * math.Pow(gamma, float64(n))
	}
}

func (a *adam) lrs() []float64 {
	var out []float64
	for _, g := range a.groups {
		out = append(out, g.lr)
	}
	return out
}

// numGrads differentiates f with respect to each named parameter.
func numGrads(p params, f func() float64, names []string) map[string][]float64 {
	out := map[string][]float64{}
	for _, n := range names {
		out[n] = lossref.NumGrad(f, p[n], 1e-6)
	}
	return out
}

func namesWith(p params, prefix string, skip ...string) []string {
	var out []string
outer:
	for n := range p {
		if !strings.HasPrefix(n, prefix) || strings.Contains(n, "running_") || strings.HasSuffix(n, "num_batches_tracked") {
			continue
		}
		for _, s := range skip {
			if strings.HasPrefix(n, s) {
				continue outer
			}
		}
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// ---------------------------------------------------------------- the replay

// replay runs the reference loop from the first snapshot's state over the
// recorded batches and compares every parameter, buffer and learning rate
// after each step.
func replay(t *testing.T, steps []snapshot, dada bool) {
	p := params{}
	for k, v := range steps[0].State {
		p[k] = append([]float64(nil), v...)
	}
	backbone := []string{"model.bn.bias", "model.bn.weight", "model.fc1.bias", "model.fc1.weight"}
	head := []string{"model.head.bias", "model.head.weight"}
	model := append(append([]string{}, backbone...), head...)
	sort.Strings(model)
	optModel := newAdam(adamGroup{names: model, lr: lrModel, decay: decay})
	var optProxy, optDis *adam
	dWarmup := 0
	if dada {
		dWarmup = 2
		optProxy = newAdam(adamGroup{names: []string{"criterion.loss.proxies"}, lr: advProxyLR},
			adamGroup{names: []string{"criterion.mix_w"}, lr: classifLR})
		optDis = newAdam(adamGroup{names: append(namesWith(p, "criterion.U."), namesWith(p, "criterion.K.")...), lr: classifLR, decay: disDecay})
	} else {
		optProxy = newAdam(adamGroup{names: []string{"criterion.proxies"}, lr: lrModel * lrMulti})
	}
	schedSteps, lastEpoch := 0, 0
	for si, s := range steps[1:] {
		if s.Epoch != lastEpoch {
			// Schedulers step at the end of an epoch, only after both warm-ups.
			for e := lastEpoch; e < s.Epoch; e++ {
				if e >= warmup && e >= dWarmup {
					schedSteps++
				}
			}
			lastEpoch = s.Epoch
			for _, o := range []*adam{optModel, optProxy, optDis} {
				if o != nil {
					o.schedule(schedSteps)
				}
			}
		}
		frozen := s.Epoch < warmup
		trainable := model
		if frozen {
			trainable = head
		}
		x, y := mat(s.Features), s.Labels
		if dada {
			// The no-gradient forward for the discriminator steps (BatchNorm
			// running statistics see it) ...
			var rec []bnStats
			emb := embed(p, x, &rec)
			updateRunning(p, rec)
			dNames := append(namesWith(p, "criterion.U."), namesWith(p, "criterion.K.")...)
			for d := 0; d < dStep; d++ {
				rec = nil
				dadaObjective(p, emb, y, false, &rec)
				g := numGrads(p, func() float64 { return dadaObjective(p, emb, y, false, nil) }, dNames)
				updateRunning(p, rec)
				optDis.step(p, g)
			}
			// ... then, after the discriminator warm-up, the generator's own forward.
			if s.Epoch >= dWarmup {
				rec = nil
				dadaObjective(p, embed(p, x, &rec), y, true, &rec)
				gen := func() float64 { return dadaObjective(p, embed(p, x, nil), y, true, nil) }
				g := numGrads(p, gen, append(append([]string{}, trainable...), "criterion.loss.proxies", "criterion.mix_w"))
				updateRunning(p, rec)
				optProxy.step(p, g)
				optModel.step(p, g)
			}
		} else {
			var rec []bnStats
			embed(p, x, &rec)
			f := func() float64 { return proxyLoss(p, embed(p, x, nil), y) }
			g := numGrads(p, f, append(append([]string{}, trainable...), "criterion.proxies"))
			updateRunning(p, rec)
			optProxy.step(p, g)
			optModel.step(p, g)
		}
		compareState(t, fmt.Sprintf("step %d (epoch %d, step %d)", si+1, s.Epoch+1, s.Step+1), p, s.State)
		wantLR := map[string][]float64{"opt_model": optModel.lrs(), "opt_proxy": optProxy.lrs()}
		if dada {
			wantLR["opt_dis"] = optDis.lrs()
		}
		for k, want := range wantLR {
			// The recorded rates are those the step ran with; ours are for
			// the same epoch.
			if got := s.LRs[k]; !closeAll(got, want, 1e-12) {
				t.Errorf("step %d: %s learning rates %v, reference %v", si+1, k, got, want)
			}
		}
	}
}

func closeAll(a, b []float64, tol float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(a[i]-b[i]) > tol*math.Max(1, math.Abs(b[i])) {
			return false
		}
	}
	return true
}

// compareState checks every tensor of the recorded state against the
// reference's: 1e-6 relative to the tensor's scale is far below what any
// difference in the loop (a wrong rate, a missed update, one BatchNorm
// update too many) produces, and far above finite-difference noise.
func compareState(t *testing.T, when string, ref params, got map[string][]float64) {
	t.Helper()
	if len(got) != len(ref) {
		t.Fatalf("%s: the script recorded %d tensors, the reference has %d", when, len(got), len(ref))
	}
	var names []string
	for n := range got {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		g, r := got[n], ref[n]
		if len(g) != len(r) {
			t.Fatalf("%s: %s has %d values, the reference %d", when, n, len(g), len(r))
		}
		scale := 0.0
		for _, v := range r {
			scale = math.Max(scale, math.Abs(v))
		}
		for i := range g {
			if math.Abs(g[i]-r[i]) > 1e-6*math.Max(scale, 1e-3) {
				t.Fatalf("%s: %s[%d] = %.10g, the reference %.10g", when, n, i, g[i], r[i])
			}
		}
	}
}

func TestLoopAgainstReference(t *testing.T) {
	if testing.Short() {
		t.Skip("trains; skipped with -short")
	}
	for _, mode := range []string{"proxy", "dada"} {
		t.Run(mode, func(t *testing.T) {
			steps := runLoop(t, mode)
			// 4 epochs of 2 steps, plus the starting state.
			if len(steps) != 9 {
				t.Fatalf("%d snapshots, want 9", len(steps))
			}
			replay(t, steps, mode == "dada")
		})
	}
}

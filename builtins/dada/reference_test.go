package dada

import (
	"fmt"
	"math"
	"math/rand"
	"sort"
	"strings"
	"testing"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/builtins/losses"
	"github.com/dadash/dadash/builtins/losses/lossref"
	"github.com/dadash/dadash/builtins/nn"
	"github.com/dadash/dadash/builtins/torch"
	"github.com/dadash/dadash/builtins/torch/aten"
)

// DADA's objectives against a plain-Go float64 implementation written from
// DADA.md (MLPs, BatchNorm, cross entropy, nuclear norm by Jacobi rotations,
// the proxy losses of lossref): values and parts, and every gradient of the
// tensor code (autograd) against central finite differences of the plain-Go
// function. The Beta draws are replaced by fixed values, consumed in the
// order the objectives document.

type mat = lossref.Mat

// refCase configures both the module (through dada.wrap's arguments) and
// the plain-Go objective.
type refCase struct {
	name          string
	loss          string // proxy_anchor, proxy_nca, soft_triple, norm_softmax
	y             []int
	classes       int
	wrap          map[string]starlark.Value
	eval          bool
	draws         []float64
	wantBetaCalls int
}

// opt reads a wrap option with its default.
func (c refCase) f(name string, def float64) float64 {
	if v, ok := c.wrap[name]; ok {
		f, _ := starlark.AsFloat(v)
		return f
	}
	return def
}

func (c refCase) b(name string, def bool) bool {
	if v, ok := c.wrap[name]; ok {
		return bool(v.(starlark.Bool))
	}
	return def
}

func (c refCase) s(name, def string) string {
	if v, ok := c.wrap[name]; ok {
		return string(v.(starlark.String))
	}
	return def
}

const (
	dimD = 4 // embed_dim
	fd1  = 5 // fd_fc1
	fc1  = 5 // fc_fc1
	fc2  = 4 // fc_fc2
	kST  = 2 // SoftTriple centres per class
)

// ---------------------------------------------------------------- plain-Go pieces

func linear(x mat, w, b mat) mat {
	out := make(mat, len(x))
	for i, r := range x {
		out[i] = make([]float64, len(w))
		for o := range w {
			out[i][o] = lossref.Dot(r, w[o]) + b[0][o]
		}
	}
	return out
}

// batchNorm normalises each column with the batch's mean and biased
// variance (training) or the running statistics (eval).
func batchNorm(x mat, p map[string]mat, prefix string, train bool) mat {
	n := len(x[0])
	mean, variance := make([]float64, n), make([]float64, n)
	if train {
		for j := 0; j < n; j++ {
			for i := range x {
				mean[j] += x[i][j]
			}
			mean[j] /= float64(len(x))
			for i := range x {
				variance[j] += (x[i][j] - mean[j]) * (x[i][j] - mean[j])
			}
			variance[j] /= float64(len(x))
		}
	} else {
		copy(mean, p[prefix+"running_mean"][0])
		copy(variance, p[prefix+"running_var"][0])
	}
	out := make(mat, len(x))
	for i := range x {
		out[i] = make([]float64, n)
		for j := 0; j < n; j++ {
			out[i][j] = (x[i][j]-mean[j])/math.Sqrt(variance[j]+1e-5)*p[prefix+"weight"][0][j] + p[prefix+"bias"][0][j]
		}
	}
	return out
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

func refU(x mat, p map[string]mat, c refCase) mat {
	h := relu(batchNorm(linear(x, p["U.fc1.weight"], p["U.fc1.bias"]), p, "U.bn1_fc.", !c.eval))
	o := linear(h, p["U.fc2.weight"], p["U.fc2.bias"])
	if c.b("fd2_bn", false) {
		o = batchNorm(o, p, "U.bn2_fc.", !c.eval)
	}
	return o
}

// refK is K with dropout off (the cases use dropout=0 or eval mode).
func refK(x mat, p map[string]mat, c refCase) mat {
	h := relu(batchNorm(linear(x, p["K.fc1.weight"], p["K.fc1.bias"]), p, "K.bn1_fc.", !c.eval))
	h = relu(batchNorm(linear(h, p["K.fc2.weight"], p["K.fc2.bias"]), p, "K.bn2_fc.", !c.eval))
	o := linear(h, p["K.fc3.weight"], p["K.fc3.bias"])
	if c.b("fc2_bn", false) {
		o = batchNorm(o, p, "K.bn3_fc.", !c.eval)
	}
	return o
}

func constLabels(n, k int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = k
	}
	return out
}

func lin(a mat, s float64, b mat, t float64) mat {
	out := make(mat, len(a))
	for i := range a {
		out[i] = make([]float64, len(a[i]))
		for j := range a[i] {
			out[i][j] = s*a[i][j] + t*b[i][j]
		}
	}
	return out
}

// refObjective is DADA.md's generator or discriminator objective.
func refObjective(c refCase, p map[string]mat, x mat, generator bool) (float64, map[string]float64) {
	draws := append([]float64(nil), c.draws...)
	next := func() float64 { m := draws[0]; draws = draws[1:]; return m }
	y := append([]int(nil), c.y...)
	P := p["loss.proxies"]
	// each sample's proxy
	var prox mat
	if c.loss == "soft_triple" {
		prox = P.Rows(lossref.SoftTripleNearest(x, y, P, kST))
	} else {
		prox = P.Rows(y)
	}
	x = x.Clone()
	extended := false
	if c.b("pos_class_mix", false) {
		seen := map[int][]int{}
		for i, k := range y {
			seen[k] = append(seen[k], i)
		}
		var classes []int
		for k, idx := range seen {
			if len(idx) >= 2 {
				classes = append(classes, k)
			}
		}
		sort.Ints(classes)
		if len(classes) > 0 {
			m := next()
			for _, k := range classes {
				a, b := seen[k][0], seen[k][1]
				x = append(x, lin(mat{x[a]}, m, mat{x[b]}, 1-m)[0])
				y = append(y, k)
				prox = append(prox, append([]float64(nil), prox[a]...))
			}
			extended = true
		}
	}
	parts := map[string]float64{}
	if generator {
		var pos mat
		if extended {
			pos = prox
		}
		switch c.loss {
		case "proxy_anchor", "proxy_nca":
			dim := 0
			if c.loss == "proxy_nca" {
				dim = 1
			}
			parts["proxy"], parts["pos"], parts["neg"] = lossref.OProxy(x, y, P, pos, lossref.OProxyParams{PosAlpha: 32, NegAlpha: 32, PosDelta: 0.1, NegDelta: -0.1, Dim: dim})
		case "soft_triple":
			parts["proxy"], parts["classify"], parts["reg"] = lossref.SoftTriple(x, y, P, kST, 20, 0.1, 0.01, 0.2)
		case "norm_softmax":
			parts["proxy"] = lossref.NormSoftmax(x, y, P, 0.05)
			parts["ce"] = parts["proxy"]
		}
	}
	mode := c.s("mix_mode", "random")
	s := c.f("shift_scale", 1)
	mix := func(m float64) mat {
		switch mode {
		case "individual":
			w := p["mix_w"][0]
			out := make(mat, len(x))
			for i := range x {
				out[i] = make([]float64, len(x[i]))
				for j := range x[i] {
					out[i][j] = w[j]*x[i][j] + (1-w[j])*prox[i][j]
				}
			}
			return out
		case "linear":
			W := p["mix_w"]
			out := make(mat, len(x))
			for i := range x {
				in := append(append([]float64(nil), x[i]...), prox[i]...)
				out[i] = make([]float64, len(W[0]))
				for j := range out[i] {
					for k := range in {
						out[i][j] += in[k] * W[k][j]
					}
				}
			}
			return out
		}
		if s >= 0 {
			return lin(x, 1-m*s, prox, m*s)
		}
		s1 := s + 1
		return lin(x, m*s1, prox, 1-m*s1)
	}
	viewsOf := func(mixed mat) (xs, ms, ps mat, ys []int) {
		xs, ms, ps, ys = x, mixed, prox, y
		if c.b("mix_extension", false) {
			xs = append(x.Clone(), x.Clone()...)
			ms = append(mixed.Clone(), prox.Clone()...)
			ys = append(append([]int(nil), y...), y...)
		}
		if c.b("normal", true) {
			xs, ms, ps = lossref.Normalize(xs), lossref.Normalize(ms), lossref.Normalize(ps)
		}
		return
	}
	mU := 0.0
	if mode == "random" {
		mU = next()
	}
	xs, ms, ps, _ := viewsOf(mix(mU))
	u := lossref.CrossEntropy(refU(xs, p, c), constLabels(len(xs), 0)) +
		lossref.CrossEntropy(refU(ms, p, c), constLabels(len(ms), 1)) +
		lossref.CrossEntropy(refU(ps, p, c), constLabels(len(ps), 2))
	mK := mU
	if mode == "random" && !c.b("shared_mix", false) {
		mK = next()
	}
	xs, ms, _, ys := viewsOf(mix(mK))
	kx, km := refK(xs, p, c), refK(ms, p, c)
	sLoss := 2 * lossref.CrossEntropy(kx, ys)
	px, pm := lossref.Softmax(kx), lossref.Softmax(km)
	var disc float64
	if c.s("dis_mode", "nwd") == "nwd" {
		disc = (lossref.NuclearNorm(px) - lossref.NuclearNorm(pm)) / float64(len(px))
	} else {
		for i := range px {
			for j := range px[i] {
				disc += math.Abs(px[i][j] - pm[i][j])
			}
		}
		disc /= float64(len(px) * len(px[0]))
	}
	dis := c.f("d_discrepancy_ratio", 0.5) * disc
	parts["u"], parts["s"], parts["dis"] = u, sLoss, dis
	r := c.f("d_dis_ratio", 0.01)
	if generator {
		return c.f("oproxy_ratio", 0.0075)*parts["proxy"] + c.f("dis_gamma", 1)*(r*(sLoss+dis)-(1-r)*u), parts
	}
	return (1-r)*u + r*(sLoss-dis), parts
}

// ---------------------------------------------------------------- the tensor side

// fixedBeta hands the mixup code known Beta draws, so the float64 reference
// can use the same mixing weights; the real sampler is tested on its own in
// TestSampleBetaMoments below.
type fixedBeta struct {
	draws []float64
	calls []string
}

func (s *fixedBeta) install(t *testing.T) {
	old := sampleBeta
	sampleBeta = func(a, b float64) (float64, error) {
		s.calls = append(s.calls, fmt.Sprintf("Beta(%g, %g)", a, b))
		if len(s.draws) == 0 {
			return 0, fmt.Errorf("test: no Beta draw left")
		}
		m := s.draws[0]
		s.draws = s.draws[1:]
		return m, nil
	}
	t.Cleanup(func() { sampleBeta = old })
}

func call(t *testing.T, fn starlark.Value, args starlark.Tuple, kwargs []starlark.Tuple) starlark.Value {
	t.Helper()
	v, err := starlark.Call(&starlark.Thread{}, fn.(starlark.Callable), args, kwargs)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// newCriterion builds the loss and DADA in float64 as a script would and
// fills every floating parameter and buffer with values from r.
func newCriterion(t *testing.T, c refCase, r *rand.Rand) (*nn.Module, map[string]mat) {
	t.Helper()
	largs := starlark.Tuple{starlark.MakeInt(c.classes), starlark.MakeInt(dimD)}
	var lkw []starlark.Tuple
	if c.loss == "soft_triple" {
		lkw = append(lkw, starlark.Tuple{starlark.String("centers_per_class"), starlark.MakeInt(kST)})
	}
	lkw = append(lkw, starlark.Tuple{starlark.String("dtype"), torch.NewDType(aten.Float64)})
	loss := call(t, losses.Module.Members()[c.loss], largs, lkw)
	kw := []starlark.Tuple{
		{starlark.String("fd_fc1"), starlark.MakeInt(fd1)}, {starlark.String("fc_fc1"), starlark.MakeInt(fc1)},
		{starlark.String("fc_fc2"), starlark.MakeInt(fc2)}, {starlark.String("dropout"), starlark.Float(0)},
	}
	for k, v := range c.wrap {
		kw = append(kw, starlark.Tuple{starlark.String(k), v})
	}
	m := call(t, Module.Members()["wrap"], starlark.Tuple{loss}, kw).(*nn.Module)
	if c.eval {
		m.SetTraining(false)
		m.Child("K").Child("dropout").SetAttr("p", starlark.Float(0.5)) // eval mode must ignore it
	}
	params := map[string]mat{}
	for _, nt := range m.StateDict() {
		at := nt.Tensor.ATen()
		if !at.DType().IsFloating() {
			continue
		}
		if at.DType() != aten.Float64 {
			t.Fatalf("%s is %s, want float64 like the loss", nt.Name, at.DType())
		}
		sh := at.Shape()
		rows, cols := int64(1), sh[0]
		if len(sh) == 2 {
			rows, cols = sh[0], sh[1]
		}
		v := make(mat, rows)
		for i := range v {
			v[i] = make([]float64, cols)
			for j := range v[i] {
				switch {
				case strings.HasSuffix(nt.Name, "running_var"):
					v[i][j] = 0.5 + math.Abs(r.NormFloat64())
				case strings.Contains(nt.Name, "bn") && strings.HasSuffix(nt.Name, ".weight"):
					v[i][j] = 1 + 0.3*r.NormFloat64()
				default:
					v[i][j] = 0.6 * r.NormFloat64()
				}
			}
		}
		src, err := aten.FromFloat64s(v.Flat(), sh...)
		if err != nil {
			t.Fatal(err)
		}
		if err := aten.NoGrad(func() error { _, err := aten.Run("copy_", aten.T(at), aten.T(src)); return err }); err != nil {
			t.Fatal(err)
		}
		params[nt.Name] = v
	}
	return m, params
}

func tensorOf(t *testing.T, m mat, grad bool) aten.Tensor {
	t.Helper()
	x, err := aten.FromFloat64s(m.Flat(), int64(len(m)), int64(len(m[0])))
	if err != nil {
		t.Fatal(err)
	}
	if grad {
		if err := x.SetRequiresGrad(true); err != nil {
			t.Fatal(err)
		}
	}
	return x
}

func labelsOf(t *testing.T, y []int) aten.Tensor {
	t.Helper()
	v := make([]int64, len(y))
	for i, k := range y {
		v[i] = int64(k)
	}
	l, err := aten.FromInt64s(v, int64(len(v)))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-6*math.Max(1, math.Abs(b)) }

func scalar(t *testing.T, v starlark.Value) float64 {
	t.Helper()
	f, err := v.(*torch.Tensor).ATen().Float64s()
	if err != nil || len(f) != 1 {
		t.Fatalf("not a scalar tensor: %v (%v)", v, err)
	}
	return f[0]
}

func compareGrad(t *testing.T, what string, g aten.Tensor, ok bool, want []float64) {
	t.Helper()
	if !ok {
		for _, w := range want {
			if math.Abs(w) > 1e-9 {
				t.Errorf("%s: no gradient, want %v", what, want)
				return
			}
		}
		return
	}
	got, err := g.Float64s()
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if !near(got[i], want[i]) {
			t.Errorf("%s[%d] = %.10g, finite differences of the reference give %.10g", what, i, got[i], want[i])
		}
	}
}

var refCases = []refCase{
	{name: "defaults", loss: "proxy_anchor", classes: 4, y: []int{0, 0, 1, 2, 2, 2},
		draws: []float64{0.3, 0.8}, wantBetaCalls: 2},
	{name: "weights, l1, extension, individual", loss: "proxy_anchor", classes: 4, y: []int{3, 0, 3, 1, 1, 2},
		wrap: map[string]starlark.Value{"d_dis_ratio": starlark.Float(0.3), "d_discrepancy_ratio": starlark.Float(0.7), "oproxy_ratio": starlark.Float(0.5),
			"dis_gamma": starlark.Float(1.5), "dis_mode": starlark.String("l1"), "mix_extension": starlark.True, "mix_mode": starlark.String("individual")}},
	{name: "linear, pos_class_mix, fd2_bn, fc2_bn", loss: "proxy_anchor", classes: 4, y: []int{2, 0, 2, 1, 0, 2, 3},
		wrap: map[string]starlark.Value{"d_dis_ratio": starlark.Float(0.25), "oproxy_ratio": starlark.Float(0.2), "mix_mode": starlark.String("linear"),
			"pos_class_mix": starlark.True, "fd2_bn": starlark.True, "fc2_bn": starlark.True},
		draws: []float64{0.65}, wantBetaCalls: 1},
	{name: "negative shift, not normal, shared mix, extension", loss: "proxy_anchor", classes: 3, y: []int{0, 1, 2, 1, 0},
		wrap: map[string]starlark.Value{"d_dis_ratio": starlark.Float(0.2), "shift_scale": starlark.Float(-0.4), "normal": starlark.False,
			"shared_mix": starlark.True, "mix_extension": starlark.True, "mix_alpha": starlark.Float(2), "mix_beta": starlark.Float(5)},
		draws: []float64{0.45}, wantBetaCalls: 1},
	{name: "pos_class_mix, singletons only", loss: "proxy_anchor", classes: 5, y: []int{4, 0, 3, 1, 2},
		wrap:  map[string]starlark.Value{"pos_class_mix": starlark.True, "d_dis_ratio": starlark.Float(0.2)},
		draws: []float64{0.5, 0.2}, wantBetaCalls: 2},
	{name: "one class, pos_class_mix", loss: "proxy_anchor", classes: 3, y: []int{1, 1, 1, 1},
		wrap:  map[string]starlark.Value{"pos_class_mix": starlark.True, "d_dis_ratio": starlark.Float(0.2), "oproxy_ratio": starlark.Float(1)},
		draws: []float64{0.35, 0.6, 0.9}, wantBetaCalls: 3},
	{name: "proxy_nca, pos_class_mix", loss: "proxy_nca", classes: 4, y: []int{0, 0, 1, 1, 3, 2},
		wrap:  map[string]starlark.Value{"pos_class_mix": starlark.True, "d_dis_ratio": starlark.Float(0.1), "oproxy_ratio": starlark.Float(1)},
		draws: []float64{0.7, 0.25, 0.55}, wantBetaCalls: 3},
	{name: "pos_class_mix and extension", loss: "proxy_anchor", classes: 4, y: []int{3, 1, 3, 0, 1, 3},
		wrap: map[string]starlark.Value{"pos_class_mix": starlark.True, "mix_extension": starlark.True, "d_dis_ratio": starlark.Float(0.4),
			"oproxy_ratio": starlark.Float(0.3), "shift_scale": starlark.Float(0.6)},
		draws: []float64{0.3, 0.75, 0.1}, wantBetaCalls: 3},
	{name: "soft_triple, pos_class_mix", loss: "soft_triple", classes: 3, y: []int{2, 0, 2, 1, 0, 1},
		wrap:  map[string]starlark.Value{"pos_class_mix": starlark.True, "d_dis_ratio": starlark.Float(0.1), "oproxy_ratio": starlark.Float(1)},
		draws: []float64{0.4, 0.15, 0.85}, wantBetaCalls: 3},
	{name: "norm_softmax, l1", loss: "norm_softmax", classes: 3, y: []int{2, 0, 2, 1, 1},
		wrap:  map[string]starlark.Value{"dis_mode": starlark.String("l1"), "d_dis_ratio": starlark.Float(0.1), "oproxy_ratio": starlark.Float(1)},
		draws: []float64{0.4, 0.6}, wantBetaCalls: 2},
	// K's class probabilities are 6 x 13 and 10 x 2: the nuclear norm's QR
	// route (dadash::nuclear_norm), wide and tall.
	{name: "many classes", loss: "proxy_anchor", classes: 13, y: []int{12, 0, 12, 5, 7, 5},
		wrap:  map[string]starlark.Value{"d_dis_ratio": starlark.Float(0.3), "oproxy_ratio": starlark.Float(1)},
		draws: []float64{0.3, 0.8}, wantBetaCalls: 2},
	{name: "two classes, extension", loss: "proxy_anchor", classes: 2, y: []int{0, 1, 1, 0, 1},
		wrap:  map[string]starlark.Value{"d_dis_ratio": starlark.Float(0.3), "mix_extension": starlark.True},
		draws: []float64{0.6, 0.1}, wantBetaCalls: 2},
	{name: "eval mode, fd2_bn, fc2_bn", loss: "proxy_anchor", classes: 4, y: []int{0, 3, 1, 3, 2},
		wrap: map[string]starlark.Value{"d_dis_ratio": starlark.Float(0.3), "fd2_bn": starlark.True, "fc2_bn": starlark.True},
		eval: true, draws: []float64{0.2, 0.5}, wantBetaCalls: 2},
}

func TestObjectivesAgainstReference(t *testing.T) {
	for ci, c := range refCases {
		for _, generator := range []bool{true, false} {
			name := "discriminator"
			if generator {
				name = "generator"
			}
			t.Run(c.name+"/"+name, func(t *testing.T) {
				r := rand.New(rand.NewSource(int64(100 + ci)))
				m, params := newCriterion(t, c, r)
				fixed := &fixedBeta{draws: append([]float64(nil), c.draws...)}
				fixed.install(t)
				x := make(mat, len(c.y))
				for i := range x {
					x[i] = make([]float64, dimD)
					for j := range x[i] {
						x[i][j] = r.NormFloat64()
					}
				}
				xt := tensorOf(t, x, true)
				method, _ := m.Attr(name + "_loss")
				got := call(t, method, starlark.Tuple{torch.New(xt), torch.New(labelsOf(t, c.y))}, nil)
				if len(fixed.calls) != c.wantBetaCalls {
					t.Errorf("Beta draws %v, want %d", fixed.calls, c.wantBetaCalls)
				}
				want, wantParts := refObjective(c, params, x, generator)
				if v := scalar(t, got); !near(v, want) {
					t.Errorf("objective = %.12g, want %.12g", v, want)
				}
				parts := m.AttrValue("parts").(*starlark.Dict)
				if parts.Len() != len(wantParts) {
					t.Errorf("parts %v, want the keys of %v", parts, wantParts)
				}
				for k, w := range wantParts {
					v, ok, _ := parts.Get(starlark.String(k))
					if !ok {
						t.Errorf("no part %q in %v", k, parts)
						continue
					}
					if g := scalar(t, v); !near(g, w) {
						t.Errorf("part %s = %.12g, want %.12g", k, g, w)
					}
				}

				// gradients: autograd against finite differences of the reference
				if err := got.(*torch.Tensor).ATen().Backward(aten.Tensor{}, false, false); err != nil {
					t.Fatal(err)
				}
				f := func() float64 { v, _ := refObjective(c, params, x, generator); return v }
				g, ok, err := xt.Grad()
				if err != nil {
					t.Fatal(err)
				}
				if generator {
					compareGrad(t, "d/d embeddings", g, ok, lossref.MatGrad(f, x, 1e-6))
				} else if ok {
					t.Errorf("the discriminator objective gave the embeddings a gradient")
				}
				for _, nt := range m.NamedParameters() {
					g, ok, err := nt.Tensor.ATen().Grad()
					if err != nil {
						t.Fatal(err)
					}
					discriminatorSide := strings.HasPrefix(nt.Name, "U.") || strings.HasPrefix(nt.Name, "K.") ||
						(nt.Name == "mix_w" && c.s("mix_mode", "random") == "linear")
					if !generator && !discriminatorSide {
						if ok {
							t.Errorf("the discriminator objective gave %s a gradient", nt.Name)
						}
						continue
					}
					compareGrad(t, "d/d "+nt.Name, g, ok, lossref.MatGrad(f, params[nt.Name], 1e-6))
				}
			})
		}
	}
}

func TestPosPairs(t *testing.T) {
	a, p := posPairs([]int64{5, 2, 5, 2, 2, 7, 9, 5})
	if fmt.Sprint(a, p) != "[1 0] [3 2]" {
		t.Errorf("pairs %v %v, want anchors [1 0] positives [3 2] (class 2 first)", a, p)
	}
	if a, p := posPairs([]int64{1, 2, 3}); len(a) != 0 || len(p) != 0 {
		t.Errorf("singletons gave pairs %v %v", a, p)
	}
}

// sampleBeta draws from Beta(a, b): mean a/(a+b), variance ab/((a+b)^2(a+b+1)).
func TestSampleBetaMoments(t *testing.T) {
	aten.ManualSeed(7)
	for _, ab := range [][2]float64{{0.5, 0.5}, {2, 5}, {3, 0.5}} {
		a, b := ab[0], ab[1]
		const n = 20000
		var s, s2 float64
		for i := 0; i < n; i++ {
			m, err := sampleBeta(a, b)
			if err != nil {
				t.Fatal(err)
			}
			if m < 0 || m > 1 {
				t.Fatalf("Beta(%g, %g) gave %g", a, b, m)
			}
			s += m
			s2 += m * m
		}
		mean, variance := s/n, s2/n-(s/n)*(s/n)
		wantMean, wantVar := a/(a+b), a*b/((a+b)*(a+b)*(a+b+1))
		if math.Abs(mean-wantMean) > 4*math.Sqrt(wantVar/n) {
			t.Errorf("Beta(%g, %g): mean %.4f, want %.4f", a, b, mean, wantMean)
		}
		if math.Abs(variance-wantVar) > 0.05*wantVar {
			t.Errorf("Beta(%g, %g): variance %.4f, want %.4f", a, b, variance, wantVar)
		}
	}
	// the same seed, the same draws
	aten.ManualSeed(3)
	m1, _ := sampleBeta(0.5, 0.5)
	aten.ManualSeed(3)
	m2, _ := sampleBeta(0.5, 0.5)
	if m1 != m2 {
		t.Errorf("draws after the same seed differ: %v, %v", m1, m2)
	}
}

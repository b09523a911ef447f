package optim

import (
	"fmt"
	"math"
	"strings"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/builtins/torch/aten"
	"github.com/dadash/dadash/lang"
)

// hyperKind says how a hyperparameter is read from a group dict.
type hyperKind int

const (
	hyperNumber hyperKind = iota
	hyperBetas
	hyperBool
)

// hyperParam is one constructor keyword, in PyTorch's order, with
// PyTorch's default (nil: required, as SGD's lr).
type hyperParam struct {
	name string
	kind hyperKind
	def  starlark.Value
}

// hyper is a parameter group's hyperparameters, read afresh at every step
// so that scripts and schedulers can change them between steps.
type hyper struct {
	lr, eps, weightDecay        float64
	beta1, beta2                float64
	momentum, dampening         float64
	amsgrad, nesterov, maximize bool
	raw                         map[string]starlark.Value // as the group holds them, for messages
	lrSet, wdSet                bool
}

// algorithm describes one optimizer class.
type algorithm struct {
	name   string
	doc    string
	hypers []hyperParam
	// stateKeys are the per-parameter state entries, in PyTorch's order.
	stateKeys []string
	check     func(h *hyper) error
	update    func(h *hyper, items []item) error
}

var (
	zero       = starlark.MakeInt(0)
	falseV     = starlark.False
	adamBetas  = starlark.Tuple{starlark.Float(0.9), starlark.Float(0.999)}
	adamHypers = func(wd starlark.Value) []hyperParam {
		return []hyperParam{
			{"lr", hyperNumber, starlark.Float(1e-3)},
			{"betas", hyperBetas, adamBetas},
			{"eps", hyperNumber, starlark.Float(1e-8)},
			{"weight_decay", hyperNumber, wd},
			{"amsgrad", hyperBool, falseV},
			{"maximize", hyperBool, falseV},
		}
	}
	adamStateKeys = []string{"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
)

var algorithms = []*algorithm{
	{
		name: "SGD",
		doc:  docSGD,
		hypers: []hyperParam{
			{"lr", hyperNumber, nil},
			{"momentum", hyperNumber, zero},
			{"dampening", hyperNumber, zero},
			{"weight_decay", hyperNumber, zero},
			{"nesterov", hyperBool, falseV},
			{"maximize", hyperBool, falseV},
		},
		stateKeys: []string{"momentum_buffer"},
		check:     checkSGD,
		update:    bucketed(sgdUpdate),
	},
	{
		name:      "Adam",
		doc:       docAdam,
		hypers:    adamHypers(zero),
		stateKeys: adamStateKeys,
		check:     checkAdam,
		update:    bucketed(func(h *hyper, items []item) error { return adamUpdate(h, false, items) }),
	},
	{
		name:      "AdamW",
		doc:       docAdamW,
		hypers:    adamHypers(starlark.Float(1e-2)),
		stateKeys: adamStateKeys,
		check:     checkAdam,
		update:    bucketed(func(h *hyper, items []item) error { return adamUpdate(h, true, items) }),
	},
}

const docSGD = `optim.SGD(params, lr, momentum=0, dampening=0, weight_decay=0, nesterov=False, *, maximize=False)

Stochastic gradient descent, optionally with (Nesterov) momentum, as torch.optim.SGD:
    g = grad (+ weight_decay * p)
    buf = g on the first step, else momentum * buf + (1 - dampening) * g
    g = g + momentum * buf if nesterov else buf        (when momentum != 0)
    p -= lr * g
params: a list of tensors (model.parameters()) or of parameter-group dicts
({"params": [...], "lr": 0.1, ...}) whose keys override the defaults for that group.
lr may be omitted only if every group sets it. Parameters whose .grad is None are skipped.
State per parameter: "momentum_buffer" (None without momentum).`

const docAdam = `optim.Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *, maximize=False)

Adam as torch.optim.Adam (PyTorch 1.13, single-tensor path):
    g = grad + weight_decay * p                 (L2 penalty added to the gradient)
    m = beta1 * m + (1 - beta1) * g;  v = beta2 * v + (1 - beta2) * g * g
    step_size = lr / (1 - beta1 ** t)
    denom = sqrt(v) / sqrt(1 - beta2 ** t) + eps       (v: the running max of v with amsgrad)
    p -= step_size * m / denom
params: a list of tensors or of parameter-group dicts ({"params": [...], "lr": 1e-4,
"weight_decay": 4e-4}) that override the defaults per group. Parameters whose .grad
is None are skipped. State per parameter: "step" (a float32 tensor, as PyTorch 1.13
stores it), "exp_avg", "exp_avg_sq" and, with amsgrad, "max_exp_avg_sq".`

const docAdamW = `optim.AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *, maximize=False)

AdamW as torch.optim.AdamW: Adam with decoupled weight decay, p *= 1 - lr * weight_decay
before the Adam update (the gradient itself is not changed). Same arguments,
parameter groups and state as optim.Adam; only the default weight_decay differs.`

func (a *algorithm) setDocs() {
	lang.SetDoc(a.name, a.doc)
	for _, m := range optimizerMethods {
		lang.SetDoc(a.name+"."+m.name, m.doc)
	}
}

// parse reads and validates a group's hyperparameters. get returns a key's
// value; with partial, missing keys are skipped (the constructor's
// defaults, where SGD's lr may be absent).
func (a *algorithm) parse(get func(string) (starlark.Value, bool), partial bool) (*hyper, error) {
	h := &hyper{raw: map[string]starlark.Value{}}
	for _, hp := range a.hypers {
		v, ok := get(hp.name)
		if !ok {
			if partial {
				continue
			}
			if hp.def == nil {
				return nil, fmt.Errorf("no %q was given: pass %s=... to optim.%s or set it in every parameter group", hp.name, hp.name, a.name)
			}
			var names []string
			for _, hp := range a.hypers {
				names = append(names, hp.name)
			}
			return nil, fmt.Errorf("no %q (an optim.%s parameter group has %s)", hp.name, a.name, strings.Join(names, ", "))
		}
		h.raw[hp.name] = v
		switch hp.kind {
		case hyperNumber:
			f, ok := floatValue(v)
			if !ok {
				return nil, fmt.Errorf("%s must be a number, got %s", hp.name, v.Type())
			}
			switch hp.name {
			case "lr":
				h.lr, h.lrSet = f, true
			case "eps":
				h.eps = f
			case "weight_decay":
				h.weightDecay, h.wdSet = f, true
			case "momentum":
				h.momentum = f
			case "dampening":
				h.dampening = f
			}
		case hyperBetas:
			seq, ok := v.(starlark.Indexable)
			if !ok || seq.Len() != 2 {
				return nil, fmt.Errorf("betas must be a pair of numbers such as (0.9, 0.999), got %s", v)
			}
			for i, dst := range []*float64{&h.beta1, &h.beta2} {
				f, ok := floatValue(seq.Index(i))
				if !ok {
					return nil, fmt.Errorf("betas must be a pair of numbers such as (0.9, 0.999), got %s", v)
				}
				*dst = f
			}
		case hyperBool:
			b, ok := v.(starlark.Bool)
			if !ok {
				return nil, fmt.Errorf("%s must be True or False, got %s", hp.name, v.Type())
			}
			switch hp.name {
			case "amsgrad":
				h.amsgrad = bool(b)
			case "nesterov":
				h.nesterov = bool(b)
			case "maximize":
				h.maximize = bool(b)
			}
		}
	}
	if err := a.check(h); err != nil {
		return nil, err
	}
	return h, nil
}

// The checks are PyTorch's constructor checks; "!(0 <= x)" also catches NaN.

func checkLR(h *hyper) error {
	if h.lrSet && !(0 <= h.lr) {
		return fmt.Errorf("invalid learning rate %s", h.raw["lr"])
	}
	return nil
}

func checkSGD(h *hyper) error {
	if err := checkLR(h); err != nil {
		return err
	}
	if !(0 <= h.momentum) {
		return fmt.Errorf("invalid momentum value %s", h.raw["momentum"])
	}
	if !(0 <= h.weightDecay) {
		return fmt.Errorf("invalid weight_decay value %s", h.raw["weight_decay"])
	}
	if h.nesterov && (h.momentum <= 0 || h.dampening != 0) {
		return fmt.Errorf("Nesterov momentum requires a momentum and zero dampening (momentum=%s, dampening=%s)", h.raw["momentum"], h.raw["dampening"])
	}
	return nil
}

func checkAdam(h *hyper) error {
	if err := checkLR(h); err != nil {
		return err
	}
	if _, ok := h.raw["eps"]; ok && !(0 <= h.eps) {
		return fmt.Errorf("invalid epsilon value %s", h.raw["eps"])
	}
	if betas, ok := h.raw["betas"].(starlark.Indexable); ok {
		for i, b := range []float64{h.beta1, h.beta2} {
			if !(0 <= b && b < 1) {
				return fmt.Errorf("invalid beta parameter at index %d: %s (betas must be in [0, 1))", i, betas.Index(i))
			}
		}
	}
	if h.wdSet && !(0 <= h.weightDecay) {
		return fmt.Errorf("invalid weight_decay value %s", h.raw["weight_decay"])
	}
	return nil
}

// ---------------------------------------------------------------- updates

// An update works on one parameter group at once, through libtorch's
// _foreach_* operators: one dispatcher call per formula term for the whole
// group instead of one per parameter (a ResNet-50 has 161 parameters). On the
// CPU these operators run the same per-tensor kernels as the single-tensor
// calls (add_, mul_, addcmul_, ...), in the same order, so every value is
// bit for bit what PyTorch's single-tensor path gives
// (testdata/reference_updates.star checks it against torch.optim).

// bucketElems bounds the parameters one run of an update takes (1 MiB of
// float32 each for the parameters, their gradients and each state tensor).
// A ResNet-50's update over all 25M parameters at once took every formula
// term through 100 MB: each pass fell out of the caches, and the temporaries
// (sqrt(v)) were 100 MB of fresh pages. In runs of about 2^18 elements the
// terms of one run stay in the cache and the temporaries are freed and
// reused; a parameter larger than that is a run of its own.
const bucketElems = 1 << 18

// bucketed applies an update to consecutive runs of a group's parameters.
// Each parameter's values depend on its own tensors only, so the runs give
// what one call over the group gives.
func bucketed(update func(*hyper, []item) error) func(*hyper, []item) error {
	return func(h *hyper, items []item) error {
		for start := 0; start < len(items); {
			end, n := start, int64(0)
			for end < len(items) && (end == start || n+items[end].p.Numel() <= bucketElems) {
				n += items[end].p.Numel()
				end++
			}
			if err := update(h, items[start:end]); err != nil {
				return err
			}
			start = end
		}
		return nil
	}
}

// item is one parameter of a group that has a gradient.
type item struct {
	p, grad aten.Tensor
	st      *paramState
	index   int // for messages: the parameter's position in the optimizer
}

// paramError attributes an error to one parameter.
type paramError struct {
	index int
	err   error
}

func (e *paramError) Error() string { return e.err.Error() }
func (e *paramError) Unwrap() error { return e.err }

func tensors(items []item, f func(*item) aten.Tensor) []aten.Tensor {
	out := make([]aten.Tensor, len(items))
	for i := range items {
		out[i] = f(&items[i])
	}
	return out
}

// foreach runs an in-place _foreach_ operator (it returns nothing).
func foreach(name string, args ...aten.Arg) error {
	op, err := aten.LookupOp("aten::" + name)
	if err != nil {
		return err
	}
	if _, err := op.Call(args...); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// foreachNew runs an out-of-place _foreach_ operator: one new tensor per input.
func foreachNew(name string, n int, args ...aten.Arg) ([]aten.Tensor, error) {
	op, err := aten.LookupOp("aten::" + name)
	if err != nil {
		return nil, err
	}
	rs, err := op.Call(args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(rs) != 1 || rs[0].Kind != aten.RetList || len(rs[0].List) != n {
		return nil, fmt.Errorf("%s: expected a list of %d tensors", name, n)
	}
	return rs[0].List, nil
}

func freeAll(ts []aten.Tensor) {
	for _, t := range ts {
		t.Free()
	}
}

// run calls an aten operator that returns a new tensor.
func run(name string, args ...aten.Arg) (aten.Tensor, error) { return aten.Run(name, args...) }

// inplace calls an in-place aten operator and drops the extra handle to
// its result (the tensor itself lives on).
func inplace(name string, args ...aten.Arg) error {
	t, err := aten.Run(name, args...)
	if err != nil {
		return err
	}
	t.Free()
	return nil
}

func alpha(f float64) aten.Arg { return aten.KW("alpha", aten.F(f)) }

// sgdUpdate is PyTorch 1.13's _single_tensor_sgd, applied to a group.
func sgdUpdate(h *hyper, items []item) error {
	ps := tensors(items, func(it *item) aten.Tensor { return it.p })
	dps := tensors(items, func(it *item) aten.Tensor { return it.grad })
	var temps []aten.Tensor // new tensors this step made, freed at the end
	defer func() { freeAll(temps) }()
	var err error
	if h.maximize {
		if dps, err = foreachNew("_foreach_neg", len(dps), aten.Ts(dps...)); err != nil {
			return err
		}
		temps = append(temps, dps...)
	}
	if h.weightDecay != 0 {
		if dps, err = foreachNew("_foreach_add", len(dps), aten.Ts(dps...), aten.Ts(ps...), alpha(h.weightDecay)); err != nil {
			return err
		}
		temps = append(temps, dps...)
	}
	if h.momentum != 0 {
		// A parameter's first step starts its buffer as a copy of d_p;
		// the others decay theirs and add d_p, all at once.
		var olds, oldDps []aten.Tensor
		bufs := make([]aten.Tensor, len(items))
		for i := range items {
			buf, ok := items[i].st.get("momentum_buffer")
			if !ok || !buf.Defined() {
				c, err := aten.Run("clone", aten.T(dps[i]))
				if err != nil {
					return &paramError{items[i].index, err}
				}
				if buf, err = c.Detach(); err != nil {
					return &paramError{items[i].index, err}
				}
				items[i].st.set("momentum_buffer", buf)
			} else {
				olds = append(olds, buf)
				oldDps = append(oldDps, dps[i])
			}
			bufs[i] = buf
		}
		if len(olds) > 0 {
			if err := foreach("_foreach_mul_", aten.Ts(olds...), aten.F(h.momentum)); err != nil {
				return err
			}
			if err := foreach("_foreach_add_", aten.Ts(olds...), aten.Ts(oldDps...), alpha(1-h.dampening)); err != nil {
				return err
			}
		}
		if h.nesterov {
			if dps, err = foreachNew("_foreach_add", len(dps), aten.Ts(dps...), aten.Ts(bufs...), alpha(h.momentum)); err != nil {
				return err
			}
			temps = append(temps, dps...)
		} else {
			dps = bufs
		}
	} else {
		for i := range items {
			if _, ok := items[i].st.get("momentum_buffer"); !ok {
				items[i].st.set("momentum_buffer", aten.Tensor{}) // PyTorch records None
			}
		}
	}
	return foreach("_foreach_add_", aten.Ts(ps...), aten.Ts(dps...), alpha(-h.lr))
}

// adamUpdate is PyTorch 1.13's _single_tensor_adam (decoupled = false) or
// _single_tensor_adamw (true), non-capturable branch, applied to a group.
// Parameters are updated together when their step counts agree (always,
// unless a state dict loaded mixed counts); the bias corrections depend on it.
func adamUpdate(h *hyper, decoupled bool, items []item) error {
	for i := range items {
		st := items[i].st
		if !st.empty() {
			continue
		}
		step, err := aten.FromFloat32s([]float32{0}) // torch.tensor(0.): float32, on the CPU
		if err != nil {
			return &paramError{items[i].index, err}
		}
		st.set("step", step)
		names := []string{"exp_avg", "exp_avg_sq"}
		if h.amsgrad {
			names = append(names, "max_exp_avg_sq")
		}
		for _, n := range names {
			z, err := aten.Run("zeros_like", aten.T(items[i].p))
			if err != nil {
				return &paramError{items[i].index, err}
			}
			st.set(n, z)
		}
	}
	type adamState struct{ step, expAvg, expAvgSq, maxSq aten.Tensor }
	sts := make([]adamState, len(items))
	for i := range items {
		st := items[i].st
		step, ok1 := st.get("step")
		expAvg, ok2 := st.get("exp_avg")
		expAvgSq, ok3 := st.get("exp_avg_sq")
		if !ok1 || !ok2 || !ok3 {
			return &paramError{items[i].index, fmt.Errorf("the state lacks step, exp_avg or exp_avg_sq")}
		}
		sts[i] = adamState{step: step, expAvg: expAvg, expAvgSq: expAvgSq}
		if h.amsgrad {
			maxSq, ok := st.get("max_exp_avg_sq")
			if !ok || !maxSq.Defined() {
				return &paramError{items[i].index, fmt.Errorf("amsgrad is on, but the parameter's state has no max_exp_avg_sq (amsgrad was off when the state was created; it cannot be switched on mid-run)")}
			}
			sts[i].maxSq = maxSq
		}
	}
	ps := tensors(items, func(it *item) aten.Tensor { return it.p })
	grads := tensors(items, func(it *item) aten.Tensor { return it.grad })
	pick := func(f func(*adamState) aten.Tensor) []aten.Tensor {
		out := make([]aten.Tensor, len(sts))
		for i := range sts {
			out[i] = f(&sts[i])
		}
		return out
	}
	steps := pick(func(s *adamState) aten.Tensor { return s.step })
	expAvgs := pick(func(s *adamState) aten.Tensor { return s.expAvg })
	expAvgSqs := pick(func(s *adamState) aten.Tensor { return s.expAvgSq })
	var temps []aten.Tensor
	defer func() { freeAll(temps) }()
	var err error
	if h.maximize {
		if grads, err = foreachNew("_foreach_neg", len(grads), aten.Ts(grads...)); err != nil {
			return err
		}
		temps = append(temps, grads...)
	}
	if err := foreach("_foreach_add_", aten.Ts(steps...), aten.I(1)); err != nil {
		return err
	}
	if decoupled {
		if err := foreach("_foreach_mul_", aten.Ts(ps...), aten.F(1-float64(h.lr*h.weightDecay))); err != nil {
			return err
		}
	} else if h.weightDecay != 0 {
		if grads, err = foreachNew("_foreach_add", len(grads), aten.Ts(grads...), aten.Ts(ps...), alpha(h.weightDecay)); err != nil {
			return err
		}
		temps = append(temps, grads...)
	}
	if err := foreach("_foreach_mul_", aten.Ts(expAvgs...), aten.F(h.beta1)); err != nil {
		return err
	}
	if err := foreach("_foreach_add_", aten.Ts(expAvgs...), aten.Ts(grads...), alpha(1-h.beta1)); err != nil {
		return err
	}
	if err := foreach("_foreach_mul_", aten.Ts(expAvgSqs...), aten.F(h.beta2)); err != nil {
		return err
	}
	if err := foreach("_foreach_addcmul_", aten.Ts(expAvgSqs...), aten.Ts(grads...), aten.Ts(grads...), aten.KW("value", aten.F(1-h.beta2))); err != nil {
		return err
	}
	src := expAvgSqs
	if h.amsgrad {
		// torch.maximum(max_sq, v, out=max_sq), in place: the same values.
		maxSqs := pick(func(s *adamState) aten.Tensor { return s.maxSq })
		if err := foreach("_foreach_maximum_", aten.Ts(maxSqs...), aten.Ts(expAvgSqs...)); err != nil {
			return err
		}
		src = maxSqs
	}
	// Split by step count (step_t.item()), normally one run for the group.
	svs := make([]float64, len(items))
	for i, s := range steps {
		sv, err := s.Float64s()
		if err != nil {
			return &paramError{items[i].index, err}
		}
		if len(sv) != 1 {
			return &paramError{items[i].index, fmt.Errorf("the state's step has %d elements, want 1", len(sv))}
		}
		svs[i] = sv[0]
	}
	done := make([]bool, len(items))
	for i := range items {
		if done[i] {
			continue
		}
		var idx []int
		for j := i; j < len(items); j++ {
			if !done[j] && svs[j] == svs[i] {
				idx = append(idx, j)
				done[j] = true
			}
		}
		sel := func(ts []aten.Tensor) []aten.Tensor {
			out := make([]aten.Tensor, len(idx))
			for k, j := range idx {
				out[k] = ts[j]
			}
			return out
		}
		bc1 := 1 - cpow(h.beta1, svs[i])
		bc2 := 1 - cpow(h.beta2, svs[i])
		stepSize := h.lr / bc1
		bc2Sqrt := math.Sqrt(bc2)
		denoms, err := foreachNew("_foreach_sqrt", len(idx), aten.Ts(sel(src)...))
		if err != nil {
			return err
		}
		temps = append(temps, denoms...)
		// sqrt(v) / bc2_sqrt, then + eps: the single-tensor path's order.
		if err := foreach("_foreach_div_", aten.Ts(denoms...), aten.F(bc2Sqrt)); err != nil {
			return err
		}
		if err := foreach("_foreach_add_", aten.Ts(denoms...), aten.F(h.eps)); err != nil {
			return err
		}
		if err := foreach("_foreach_addcdiv_", aten.Ts(sel(ps)...), aten.Ts(sel(expAvgs)...), aten.Ts(denoms...), aten.KW("value", aten.F(-stepSize))); err != nil {
			return err
		}
	}
	return nil
}

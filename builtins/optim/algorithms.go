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
	update    func(h *hyper, p, grad aten.Tensor, st *paramState) error
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
		update:    sgdUpdate,
	},
	{
		name:      "Adam",
		doc:       docAdam,
		hypers:    adamHypers(zero),
		stateKeys: adamStateKeys,
		check:     checkAdam,
		update:    func(h *hyper, p, g aten.Tensor, st *paramState) error { return adamUpdate(h, false, p, g, st) },
	},
	{
		name:      "AdamW",
		doc:       docAdamW,
		hypers:    adamHypers(starlark.Float(1e-2)),
		stateKeys: adamStateKeys,
		check:     checkAdam,
		update:    func(h *hyper, p, g aten.Tensor, st *paramState) error { return adamUpdate(h, true, p, g, st) },
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

// sgdUpdate is PyTorch 1.13's _single_tensor_sgd for one parameter.
func sgdUpdate(h *hyper, p, grad aten.Tensor, st *paramState) error {
	dp := grad
	var err error
	if h.maximize {
		if dp, err = run("neg", aten.T(dp)); err != nil {
			return err
		}
	}
	if h.weightDecay != 0 {
		if dp, err = run("add", aten.T(dp), aten.T(p), alpha(h.weightDecay)); err != nil {
			return err
		}
	}
	if h.momentum != 0 {
		buf, ok := st.get("momentum_buffer")
		if !ok || !buf.Defined() {
			c, err := run("clone", aten.T(dp))
			if err != nil {
				return err
			}
			if buf, err = c.Detach(); err != nil {
				return err
			}
			st.set("momentum_buffer", buf)
		} else {
			if err := inplace("mul_", aten.T(buf), aten.F(h.momentum)); err != nil {
				return err
			}
			if err := inplace("add_", aten.T(buf), aten.T(dp), alpha(1-h.dampening)); err != nil {
				return err
			}
		}
		if h.nesterov {
			if dp, err = run("add", aten.T(dp), aten.T(buf), alpha(h.momentum)); err != nil {
				return err
			}
		} else {
			dp = buf
		}
	} else if _, ok := st.get("momentum_buffer"); !ok {
		st.set("momentum_buffer", aten.Tensor{}) // PyTorch records None
	}
	return inplace("add_", aten.T(p), aten.T(dp), alpha(-h.lr))
}

// adamUpdate is PyTorch 1.13's _single_tensor_adam (decoupled = false) or
// _single_tensor_adamw (true) for one parameter, non-capturable branch.
func adamUpdate(h *hyper, decoupled bool, p, grad aten.Tensor, st *paramState) error {
	if st.empty() {
		step, err := aten.FromFloat32s([]float32{0}) // torch.tensor(0.): float32, on the CPU
		if err != nil {
			return err
		}
		st.set("step", step)
		names := []string{"exp_avg", "exp_avg_sq"}
		if h.amsgrad {
			names = append(names, "max_exp_avg_sq")
		}
		for _, n := range names {
			z, err := run("zeros_like", aten.T(p))
			if err != nil {
				return err
			}
			st.set(n, z)
		}
	}
	step, ok1 := st.get("step")
	expAvg, ok2 := st.get("exp_avg")
	expAvgSq, ok3 := st.get("exp_avg_sq")
	if !ok1 || !ok2 || !ok3 {
		return fmt.Errorf("the state lacks step, exp_avg or exp_avg_sq")
	}
	var maxSq aten.Tensor
	if h.amsgrad {
		var ok bool
		if maxSq, ok = st.get("max_exp_avg_sq"); !ok || !maxSq.Defined() {
			return fmt.Errorf("amsgrad is on, but the parameter's state has no max_exp_avg_sq (amsgrad was off when the state was created; it cannot be switched on mid-run)")
		}
	}
	var err error
	if h.maximize {
		if grad, err = run("neg", aten.T(grad)); err != nil {
			return err
		}
	}
	if err := inplace("add_", aten.T(step), aten.I(1)); err != nil {
		return err
	}
	if decoupled {
		if err := inplace("mul_", aten.T(p), aten.F(1-float64(h.lr*h.weightDecay))); err != nil {
			return err
		}
	} else if h.weightDecay != 0 {
		if grad, err = run("add", aten.T(grad), aten.T(p), alpha(h.weightDecay)); err != nil {
			return err
		}
	}
	if err := inplace("mul_", aten.T(expAvg), aten.F(h.beta1)); err != nil {
		return err
	}
	if err := inplace("add_", aten.T(expAvg), aten.T(grad), alpha(1-h.beta1)); err != nil {
		return err
	}
	if err := inplace("mul_", aten.T(expAvgSq), aten.F(h.beta2)); err != nil {
		return err
	}
	if err := inplace("addcmul_", aten.T(expAvgSq), aten.T(grad), aten.T(grad), aten.KW("value", aten.F(1-h.beta2))); err != nil {
		return err
	}
	sv, err := step.Float64s() // step_t.item()
	if err != nil {
		return err
	}
	if len(sv) != 1 {
		return fmt.Errorf("the state's step has %d elements, want 1", len(sv))
	}
	bc1 := 1 - cpow(h.beta1, sv[0])
	bc2 := 1 - cpow(h.beta2, sv[0])
	stepSize := h.lr / bc1
	bc2Sqrt := math.Sqrt(bc2)
	src := expAvgSq
	if h.amsgrad {
		// torch.maximum(max_sq, v, out=max_sq): the dispatcher has no out=
		// overloads, so compute and copy; the values are the same.
		m, err := run("maximum", aten.T(maxSq), aten.T(expAvgSq))
		if err != nil {
			return err
		}
		err = inplace("copy_", aten.T(maxSq), aten.T(m))
		m.Free()
		if err != nil {
			return err
		}
		src = maxSq
	}
	sq, err := run("sqrt", aten.T(src))
	if err != nil {
		return err
	}
	denom, err := run("div", aten.T(sq), aten.F(bc2Sqrt))
	sq.Free()
	if err != nil {
		return err
	}
	defer denom.Free()
	if err := inplace("add_", aten.T(denom), aten.F(h.eps)); err != nil {
		return err
	}
	return inplace("addcdiv_", aten.T(p), aten.T(expAvg), aten.T(denom), aten.KW("value", aten.F(-stepSize)))
}

// Package optim is the `optim` module of dadash scripts: PyTorch's
// optimizers (SGD, Adam, AdamW), learning-rate schedulers and gradient
// clipping, with PyTorch 1.13's names, arguments, state-dict layout and
// update formulas.
//
// The updates replay, operator for operator, PyTorch's single-tensor code
// path (foreach=False, differentiable=False) through libtorch, with the
// scalar maths done in float64 as CPython does it, so a dadash run and a
// PyTorch run on the same data give the same bits.
package optim

import (
	"fmt"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/builtins/torch"
	"github.com/dadash/dadash/lang"
)

// Module is the optim module value.
var Module *torch.Namespace

func init() {
	members := starlark.StringDict{
		"clip_grad_norm_":  lang.Func("optim.clip_grad_norm_", docClipNorm, fnClipGradNorm),
		"clip_grad_value_": lang.Func("optim.clip_grad_value_", docClipValue, fnClipGradValue),
		"lr_scheduler":     schedulerModule(),
	}
	for _, a := range algorithms {
		members[a.name] = a.constructor()
		a.setDocs()
	}
	Module = torch.NewNamespace("optim", "-", docModule, members)
	lang.Register(lang.Module{Name: "optim", Value: Module, Doc: docModule})
}

const docModule = `optim: optimizers, learning-rate schedulers and gradient clipping (PyTorch 1.13's torch.optim).

Optimizers: optim.SGD, optim.Adam, optim.AdamW. Each takes the tensors to update, e.g.
model.parameters(), or a list of parameter-group dicts whose keys override the
hyperparameters for that group:
    opt = optim.Adam([{"params": backbone, "lr": 1e-4}, {"params": proxies, "lr": 0.04}], weight_decay = 4e-4)
    opt.zero_grad(); loss.backward(); opt.step()
Methods: step(closure=None), zero_grad(set_to_none=False), add_param_group(group),
state_dict(), load_state_dict(state_dict). opt.param_groups is the live list of
group dicts: opt.param_groups[0]["lr"] = 1e-5 applies from the next step.
Schedulers: optim.lr_scheduler.StepLR, MultiStepLR, LinearLR, CosineAnnealingLR.
Clipping: optim.clip_grad_norm_(parameters, max_norm), optim.clip_grad_value_(parameters, clip_value)
(torch.nn.utils' functions).
The updates run PyTorch's single-tensor code path operator for operator, so results equal
PyTorch's bit for bit; they are deterministic for the same gradients (seed the data and
the model with torch.manual_seed for a reproducible run).`

// floatValue reads a number (int or float) that a script gave.
func floatValue(v starlark.Value) (float64, bool) {
	switch x := v.(type) {
	case starlark.Int:
		f, _ := starlark.AsFloat(x)
		return f, true
	case starlark.Float:
		return float64(x), true
	}
	return 0, false
}

// intValue reads an int that a script gave.
func intValue(v starlark.Value) (int, bool) {
	i, ok := v.(starlark.Int)
	if !ok {
		return 0, false
	}
	n, ok := i.Int64()
	if !ok || n != int64(int(n)) {
		return 0, false
	}
	return int(n), true
}

// tensorsOf turns a tensor, or an iterable of tensors, into a slice; what
// names the argument in errors ("parameters").
func tensorsOf(fn, what string, v starlark.Value) ([]*torch.Tensor, error) {
	if t, ok := v.(*torch.Tensor); ok {
		return []*torch.Tensor{t}, nil
	}
	elems, err := iterate(fn, what, v)
	if err != nil {
		return nil, err
	}
	out := make([]*torch.Tensor, len(elems))
	for i, e := range elems {
		t, ok := e.(*torch.Tensor)
		if !ok {
			return nil, fmt.Errorf("%s: %s[%d] is a %s, not a Tensor", fn, what, i, e.Type())
		}
		out[i] = t
	}
	return out, nil
}

// iterate lists the elements of an iterable argument. Dicts and strings are
// refused: iterating them gives keys and characters, never what was meant.
func iterate(fn, what string, v starlark.Value) ([]starlark.Value, error) {
	switch v.(type) {
	case *starlark.Dict:
		return nil, fmt.Errorf("%s: %s must be a list of tensors (or of parameter-group dicts), got a dict; for a dict of named tensors pass list(d.values())", fn, what)
	case starlark.String:
		return nil, fmt.Errorf("%s: %s must be a list of tensors, got a string", fn, what)
	}
	it, ok := v.(starlark.Iterable)
	if !ok {
		return nil, fmt.Errorf("%s: %s must be a list of tensors, got %s", fn, what, v.Type())
	}
	iter := it.Iterate()
	defer iter.Done()
	var out []starlark.Value
	var x starlark.Value
	for iter.Next(&x) {
		out = append(out, x)
	}
	return out, nil
}

func shapeString(s []int64) string { return lang.Size(s) }

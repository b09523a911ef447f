package dada

import (
	"fmt"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/dadash/dadash/builtins/losses"
	"github.com/dadash/dadash/builtins/nn"
	"github.com/dadash/dadash/builtins/torch"
	"github.com/dadash/dadash/builtins/torch/aten"
	"github.com/dadash/dadash/lang"
)

// diagnosticsCall computes the reference's per-class matrices (its
// s_predictions, t_predictions and proxy_sims, plus U's domain
// probabilities) for a set of embeddings.
func (st *structure) diagnosticsCall(thread *starlark.Thread, m *nn.Module, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	const fn = "DADA.diagnostics"
	var x, y *torch.Tensor
	if err := lang.UnpackArgs(fn, args, kwargs, "embeddings", &x, "labels", &y); err != nil {
		return nil, err
	}
	o, err := st.readOptions(fn, m)
	if err != nil {
		return nil, err
	}
	l, proxies, err := st.lossOf(fn, m)
	if err != nil {
		return nil, err
	}
	yy, _, err := losses.CheckInputs(fn, x.ATen(), y.ATen(), st.numClasses, st.embedDim, proxies)
	if err != nil {
		return nil, err
	}
	// Eval mode: no dropout, running BatchNorm statistics, nothing updated.
	var restore []func()
	for _, name := range []string{"U", "K"} {
		if c := m.Child(name); c != nil {
			was := c.Training()
			c.SetTraining(false)
			restore = append(restore, func() { c.SetTraining(was) })
		}
	}
	defer func() {
		for _, r := range restore {
			r()
		}
	}()
	out := starlark.StringDict{}
	err = aten.NoGrad(func() error {
		var c calc
		p, err := l.ProxyFor(x.ATen(), yy)
		c.check(err)
		w := aten.Tensor{}
		if mw := m.Param("mix_w"); mw != nil {
			w = mw.ATen()
		}
		mx := &mixer{mode: st.mixMode, o: o, w: w}
		b := batch{x: x.ATen(), y: yy, p: p}
		o.mixExtension = false
		xs, ms, ps, _ := views(&c, b, mx.mix(&c, b.x, b.p), o)
		oh := c.op("one_hot", aten.T(yy), aten.I(st.numClasses))
		if c.Err == nil {
			oh, err = oh.To(x.ATen().DType(), "", false)
			c.check(err)
		}
		counts := c.op("sum", aten.T(oh), aten.Is(0))
		denom := c.op("unsqueeze", aten.T(c.op("clamp_min", aten.T(counts), aten.F(1))), aten.I(1))
		perClass := func(v aten.Tensor) aten.Tensor {
			return c.op("div", aten.T(c.op("mm", aten.T(c.op("t", aten.T(oh))), aten.T(v))), aten.T(denom))
		}
		sim, err := l.ClassSimilarity(x.ATen())
		c.check(err)
		vals := map[string]aten.Tensor{
			"domain_samples":   perClass(c.softmax(forward(thread, &c, m, "U", xs))),
			"domain_mixed":     perClass(c.softmax(forward(thread, &c, m, "U", ms))),
			"domain_proxies":   perClass(c.softmax(forward(thread, &c, m, "U", ps))),
			"category_samples": perClass(c.softmax(forward(thread, &c, m, "K", xs))),
			"category_mixed":   perClass(c.softmax(forward(thread, &c, m, "K", ms))),
			"proxy_similarity": perClass(sim),
			"counts":           c.op("to", aten.T(counts), aten.D(aten.Int64)),
		}
		if c.Err != nil {
			return c.Err
		}
		for k, v := range vals {
			out[k] = torch.New(v)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn, err)
	}
	return starlarkstruct.FromStringDict(starlark.String("DADADiagnostics"), out), nil
}

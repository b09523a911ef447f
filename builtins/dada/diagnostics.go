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

// tracking reports whether the script asked for the epoch's diagnostics
// (criterion.track_diagnostics = True).
func tracking(m *nn.Module) bool {
	b, ok := m.AttrValue("track_diagnostics").(starlark.Bool)
	return ok && bool(b)
}

// diagAccum sums the per-class diagnostics over the generator steps of an
// epoch, as the reference's criterion collects s_predictions,
// t_predictions and proxy_sims from its training forwards (its
// save_average divides by the class's count at the end). Sums are float64
// so a long epoch does not lose precision.
type diagAccum struct {
	sums   map[string]aten.Tensor // (C, k) float64
	counts map[string]aten.Tensor // (C,) float64: rows seen per class, per matrix
}

// diagRows lists the matrices with the rows that feed them.
var diagNames = []string{"domain_samples", "domain_mixed", "domain_proxies", "category_samples", "category_mixed", "proxy_similarity"}

// add accumulates one generator call's outputs.
func (a *diagAccum) add(l losses.Loss, dom domainOut, cat categoryOut, numClasses int64) error {
	return aten.NoGrad(func() error {
		var c calc
		sim, err := l.ClassSimilarity(cat.xs)
		c.check(err)
		rows := map[string][2]aten.Tensor{
			"domain_samples":   {c.softmax(dom.x), dom.y},
			"domain_mixed":     {c.softmax(dom.mix), dom.y},
			"domain_proxies":   {c.softmax(dom.p), dom.py},
			"category_samples": {c.softmax(cat.x), cat.y},
			"category_mixed":   {c.softmax(cat.mix), cat.y},
			"proxy_similarity": {sim, cat.y},
		}
		if c.Err != nil {
			return c.Err
		}
		if a.sums == nil {
			a.sums, a.counts = map[string]aten.Tensor{}, map[string]aten.Tensor{}
		}
		// Rows are added into their class's row in place (index_add_): a
		// one-hot matrix product costs C x B x k and a new C x k sum per
		// step, about 1.2 GFLOP and 80 MB a step for 1,800 classes.
		for _, name := range diagNames {
			v, y := rows[name][0], rows[name][1]
			v = c.op("to", aten.T(v), aten.D(aten.Float64))
			ones := c.op("ones_like", aten.T(y), aten.KW("dtype", aten.D(aten.Float64)))
			if c.Err != nil {
				return c.Err
			}
			if _, ok := a.sums[name]; !ok {
				a.sums[name] = c.op("new_zeros", aten.T(v), aten.Is(numClasses, v.Shape()[1]))
				a.counts[name] = c.op("new_zeros", aten.T(v), aten.Is(numClasses))
				if c.Err != nil {
					return c.Err
				}
			}
			for _, acc := range [][2]aten.Tensor{{a.sums[name], v}, {a.counts[name], ones}} {
				r, err := aten.Run("index_add_", aten.T(acc[0]), aten.I(0), aten.T(y), aten.T(acc[1]))
				if err != nil {
					return err
				}
				r.Free()
			}
			v.Free()
			ones.Free()
		}
		return c.Err
	})
}

// result is the per-class means (rows of classes never seen are 0) in the
// embeddings' dtype, and resets the sums.
func (a *diagAccum) result(dtype aten.DType) (starlark.Value, error) {
	if a.sums == nil {
		return starlark.None, nil
	}
	out := starlark.StringDict{}
	err := aten.NoGrad(func() error {
		var c calc
		for _, name := range diagNames {
			denom := c.op("unsqueeze", aten.T(c.op("clamp_min", aten.T(a.counts[name]), aten.F(1))), aten.I(1))
			mean := c.op("to", aten.T(c.op("div", aten.T(a.sums[name]), aten.T(denom))), aten.D(dtype))
			if c.Err != nil {
				return c.Err
			}
			out[name] = torch.New(mean)
		}
		out["counts"] = torch.New(c.op("to", aten.T(a.counts["category_samples"]), aten.D(aten.Int64)))
		return c.Err
	})
	a.sums, a.counts = nil, nil
	if err != nil {
		return nil, err
	}
	return starlarkstruct.FromStringDict(starlark.String("DADADiagnostics"), out), nil
}

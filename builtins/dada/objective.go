package dada

import (
	"fmt"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/builtins/losses"
	"github.com/dadash/dadash/builtins/nn"
	"github.com/dadash/dadash/builtins/torch"
	"github.com/dadash/dadash/builtins/torch/aten"
	"github.com/dadash/dadash/lang"
)

// lossOf returns the wrapped loss, checking it still fits U and K (a
// script may assign criterion.loss).
func (st *structure) lossOf(fn string, m *nn.Module) (losses.Loss, aten.Tensor, error) {
	child := m.Child("loss")
	if child == nil {
		return nil, aten.Tensor{}, fmt.Errorf("%s: criterion.loss is None; assign a proxy loss", fn)
	}
	l, err := losses.Of(child)
	if err != nil {
		return nil, aten.Tensor{}, fmt.Errorf("%s: criterion.loss: %w", fn, err)
	}
	if l.NumClasses() != st.numClasses || l.EmbedDim() != st.embedDim {
		return nil, aten.Tensor{}, fmt.Errorf("%s: criterion.loss has %d classes of dimension %d, but the discriminators were built for %d classes of dimension %d", fn, l.NumClasses(), l.EmbedDim(), st.numClasses, st.embedDim)
	}
	return l, child.Param("proxies").ATen(), nil
}

// objectiveCall is the Starlark side of generator_loss / discriminator_loss.
func (st *structure) objectiveCall(thread *starlark.Thread, m *nn.Module, fn string, generator bool, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x, y *torch.Tensor
	if err := lang.UnpackArgs(fn, args, kwargs, "embeddings", &x, "labels", &y); err != nil {
		return nil, err
	}
	total, parts, err := st.objective(thread, m, fn, generator, x.ATen(), y.ATen())
	if err != nil {
		return nil, err
	}
	d, err := losses.PartsDict(parts)
	if err != nil {
		return nil, err
	}
	m.SetAttr("parts", d)
	return torch.New(total), nil
}

// objective computes the generator objective
//
//	oproxy_ratio * proxy + dis_gamma * (r * (s + dis) - (1 - r) * u)
//
// or the discriminator objective (1 - r) * u + r * (s - dis), r = d_dis_ratio,
// and their parts. The order of random draws is the reference's: the
// positive-pair m, U's mix m, K's mix m, then K's dropout.
func (st *structure) objective(thread *starlark.Thread, m *nn.Module, fn string, generator bool, x, y aten.Tensor) (aten.Tensor, []losses.Part, error) {
	o, err := st.readOptions(fn, m)
	if err != nil {
		return aten.Tensor{}, nil, err
	}
	l, proxies, err := st.lossOf(fn, m)
	if err != nil {
		return aten.Tensor{}, nil, err
	}
	yy, labels, err := losses.CheckInputs(fn, x, y, st.numClasses, st.embedDim, proxies)
	if err != nil {
		return aten.Tensor{}, nil, err
	}
	var c calc
	w := aten.Tensor{}
	if p := m.Param("mix_w"); p != nil {
		w = p.ATen()
	}
	if !generator {
		// Only U, K (and W) learn from this objective: cut the rest off.
		x = c.detach(x)
		if st.mixMode == "individual" {
			w = c.detach(w)
		}
	}
	p, err := l.ProxyFor(x, yy)
	c.check(err)
	if !generator {
		p = c.detach(p)
	}
	b := batch{x: x, y: yy, p: p}
	if o.posClassMix {
		b = posMix(&c, b, labels)
	}
	var parts []losses.Part
	var proxyLoss aten.Tensor
	if generator && c.Err == nil {
		var pos aten.Tensor
		if b.extended {
			pos = b.p
		}
		var own []losses.Part
		proxyLoss, own, err = l.Compute(b.x, b.y, pos)
		if err != nil {
			return aten.Tensor{}, nil, fmt.Errorf("%s: %s: %w", fn, l.Module().TypeName(), err)
		}
		parts = append(append(parts, losses.Part{Name: partProxy, Value: proxyLoss}), own...)
	}
	mxU := &mixer{mode: st.mixMode, o: o, w: w}
	u, dom := st.domain(thread, &c, m, b, mxU, o)
	mxK := mxU
	if !o.sharedMix {
		mxK = &mixer{mode: st.mixMode, o: o, w: w}
	}
	s, dis, cat := st.category(thread, &c, m, b, mxK, o)
	if generator && c.Err == nil && tracking(m) {
		// The reference collects its per-class predictions from the
		// generator's own forward (training mode), over the whole epoch.
		if st.diag == nil {
			st.diag = &diagAccum{}
		}
		c.check(st.diag.add(l, dom, cat, st.numClasses))
	}
	r := o.dDisRatio
	var total aten.Tensor
	if generator {
		adv := c.sub(c.scale(c.add(s, dis), r), c.scale(u, 1-r))
		total = c.add(c.scale(proxyLoss, o.oproxyRatio), c.scale(adv, o.disGamma))
	} else {
		total = c.add(c.scale(u, 1-r), c.scale(c.sub(s, dis), r))
	}
	if c.Err != nil {
		return aten.Tensor{}, nil, fmt.Errorf("%s: %w", fn, c.Err)
	}
	parts = append(parts, losses.Part{Name: partU, Value: u}, losses.Part{Name: partS, Value: s}, losses.Part{Name: partDis, Value: dis})
	return total, parts, nil
}

// forward runs a child module (U or K) on one tensor.
func forward(thread *starlark.Thread, c *calc, m *nn.Module, child string, x aten.Tensor) aten.Tensor {
	if c.Err != nil {
		return aten.Tensor{}
	}
	mod := m.Child(child)
	if mod == nil {
		c.Err = fmt.Errorf("criterion.%s is None", child)
		return aten.Tensor{}
	}
	t, err := mod.ForwardTensor(thread, x)
	if err != nil {
		c.Err = fmt.Errorf("%s: %w", child, err)
	}
	return t
}

// views returns what the discriminators compare: samples, mixed points,
// proxies and labels, after mix extension and normalisation.
func views(c *calc, b batch, mix aten.Tensor, o options) (xs, ms, ps, ys aten.Tensor) {
	xs, ms, ps, ys = b.x, mix, b.p, b.y
	if o.mixExtension {
		xs, ms, ys = c.cat(b.x, b.x), c.cat(mix, b.p), c.cat(b.y, b.y)
	}
	if o.normal {
		xs, ms, ps = c.normalize(xs), c.normalize(ms), c.normalize(ps)
	}
	return
}

// domain is u = CE(U(x), 0) + CE(U(mix), 1) + CE(U(p), 2), each domain a
// separate batch through U (BatchNorm statistics per domain, as in the
// reference).
func (st *structure) domain(thread *starlark.Thread, c *calc, m *nn.Module, b batch, mx *mixer, o options) (aten.Tensor, domainOut) {
	xs, ms, ps, ys := views(c, b, mx.mix(c, b.x, b.p), o)
	target := func(rows aten.Tensor, k int64) aten.Tensor {
		if c.Err != nil {
			return aten.Tensor{}
		}
		return c.op("new_full", aten.T(b.y), aten.Is(rows.Shape()[0]), aten.I(k))
	}
	lx := forward(thread, c, m, "U", xs)
	lm := forward(thread, c, m, "U", ms)
	lp := forward(thread, c, m, "U", ps)
	u := c.add(c.add(c.ce(lx, target(xs, 0)), c.ce(lm, target(ms, 1))), c.ce(lp, target(ps, 2)))
	return u, domainOut{x: lx, mix: lm, p: lp, y: ys, py: b.y}
}

// domainOut and categoryOut are the discriminators' logits of one
// objective call, with the labels of their rows, for the diagnostics.
type domainOut struct{ x, mix, p, y, py aten.Tensor }

type categoryOut struct{ xs, x, mix, y aten.Tensor }

// category is s = 2 CE(K(x), y) and dis = d_discrepancy_ratio * the
// discrepancy between K's class predictions for samples and mixed points.
func (st *structure) category(thread *starlark.Thread, c *calc, m *nn.Module, b batch, mx *mixer, o options) (s, dis aten.Tensor, out categoryOut) {
	xs, ms, _, ys := views(c, b, mx.mix(c, b.x, b.p), o)
	kx := forward(thread, c, m, "K", xs)
	km := forward(thread, c, m, "K", ms)
	s = c.scale(c.ce(kx, ys), 2)
	px, pm := c.softmax(kx), c.softmax(km)
	var disc aten.Tensor
	switch o.disMode {
	case "nwd":
		// linalg_matrix_norm(t, "nuc"), through a QR of the wide matrix
		// (builtins/torch/aten/ext_fastops.cc).
		nuc := func(t aten.Tensor) aten.Tensor { return c.op("dadash::nuclear_norm", aten.T(t)) }
		if c.Err == nil {
			disc = c.scale(c.sub(nuc(px), nuc(pm)), 1/float64(kx.Shape()[0]))
		}
	case "l1":
		disc = c.mean(c.op("abs", aten.T(c.sub(px, pm))))
	}
	return s, c.scale(disc, o.dDiscrepancyRatio), categoryOut{xs: xs, x: kx, mix: km, y: ys}
}

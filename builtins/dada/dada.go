// Package dada is the `dada` module of dadash scripts: DADA, data-augmented
// domain adaptation for proxy-based deep metric learning (Ren et al., AAAI
// 2024; ../shared/DADA.md). dada.wrap(loss, ...) takes a proxy loss of the
// losses module and returns an nn module holding it (child `loss`), the
// domain-level discriminator U (child `U`), the category-level
// discriminator K (child `K`) and, in the learnable mix modes, the mix
// parameter `mix_w`. Its methods compute the discriminator and generator
// objectives and the reference's per-class diagnostic matrices, and hand
// out the parameter groups that get their own optimisers.
//
// Where the reference code and the paper differ, the reference's behaviour
// is the default (DADA.md's rule); the choices are listed in docWrap.
package dada

import (
	"fmt"
	"math"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/builtins/losses"
	"github.com/dadash/dadash/builtins/losses/option"
	"github.com/dadash/dadash/builtins/nn"
	"github.com/dadash/dadash/builtins/torch"
	"github.com/dadash/dadash/builtins/torch/aten"
	"github.com/dadash/dadash/lang"
)

// Module is the dada module value.
var Module *torch.Namespace

func init() {
	members := starlark.StringDict{
		"wrap":     lang.Func("dada.wrap", docWrap, fnWrap),
		"defaults": lang.Func("dada.defaults", docDefaults, fnDefaults),
		"options":  lang.Func("dada.options", docOptions, fnOptions),
		"parts":    lang.Func("dada.parts", docParts, fnParts),
	}
	Module = torch.NewNamespace("dada", "-", docModule, members)
	lang.Register(lang.Module{Name: "dada", Value: Module, Doc: docModule})
	for name, doc := range map[string]string{"discriminator_loss": docDiscriminatorLoss, "generator_loss": docGeneratorLoss,
		"proxy_parameters": docProxyParameters, "discriminator_parameters": docDiscriminatorParameters,
		"generator_parameters": docGeneratorParameters, "diagnostics": docDiagnostics} {
		lang.SetDoc("DADA."+name, doc)
	}
}

const docModule = `dada: DADA (data-augmented domain adaptation, AAAI 2024) around a proxy loss.

criterion = dada.wrap(losses.proxy_anchor(C, d), d_dis_ratio=0.01, mix_alpha=0.5, ...)
dada.defaults() / dada.options() describe wrap's options; dada.parts() the logged parts.
Per batch: d_step times criterion.discriminator_loss(emb.detach(), y) -> backward -> the
discriminator optimiser; then criterion.generator_loss(emb, y) (= criterion(emb, y)) -> backward
-> the model and proxy optimisers. criterion.parts names the last call's parts.
Parameter groups: proxy_parameters(), discriminator_parameters(), generator_parameters().
criterion.diagnostics(emb, y) gives the per-class matrices of the reference for plotting.`

// docWrap is generated from the table of options (options.go), so the
// signature, the defaults and the option list cannot drift from the code.
var docWrap = wrapSignature() + `

DADA around a proxy loss of the losses module (num_classes and embed_dim come from it). The
module holds loss, U (domain discriminator: Linear(d, fd_fc1) - BatchNorm1d - ReLU -
Linear(fd_fc1, 3) [- BatchNorm1d(3) if fd2_bn]), K (category discriminator: Linear(d, fc_fc1) -
BN - ReLU - Dropout - Linear(fc_fc1, fc_fc2) - BN - ReLU - Dropout - Linear(fc_fc2, C) [- BN(C)
if fc2_bn]) and mix_w (1 x d in mix_mode "individual", 2d x d in "linear"), all on the loss's
dtype and device. Child names follow the reference (fc1, bn1_fc, fc2, bn2_fc, fc3, bn3_fc).

For embeddings x (B x d), labels y, p = loss.proxy_for(y, x) (the class proxy of each sample):
 - pos_class_mix: for each class with >= 2 samples, its first and second sample (a, b) give
   m*x_a + (1-m)*x_b, m ~ Beta(2, 2) once per call, appended with label y_a and proxy p_a.
 - mix(x, p), s = shift_scale in (-1, 1] (fixed, as in the reference): "random": m ~
   Beta(mix_alpha, mix_beta); s >= 0: (1-m*s)*x + m*s*p; s < 0: m*s'*x + (1-m*s')*p, s' = s+1.
   "individual": w*x + (1-w)*p. "linear": [x, p] @ W. As in the reference, U's and K's terms
   each draw their own m (shared_mix=True: one m for both).
 - mix_extension: the discriminators see [x; x] against [mix; p] (K's labels [y; y]).
 - normal: x, mix and p are L2-normalised before U and K.
 - u = CE(U(x), 0) + CE(U(mix), 1) + CE(U(p), 2);  s = 2 * CE(K(x), y)
 - dis = d_discrepancy_ratio * (nwd: (||softmax K(x)||_* - ||softmax K(mix)||_*) / rows;
                                l1:  mean |softmax K(x) - softmax K(mix)|)
 - discriminator_loss = (1 - r) * u + r * (s - dis), r = d_dis_ratio
 - generator_loss = oproxy_ratio * proxy + dis_gamma * (r * (s + dis) - (1 - r) * u)
Beta draws use libtorch's generator: torch.manual_seed makes runs reproducible.

Options (dada.options() lists them, dada.defaults() gives the defaults).
` + option.Fill("Attributes read at each call, which a script may change between steps: "+optionNames(option.PerCall)+".", "", "", option.Width) + `
` + option.Fill("Fixed at wrap (they shape the layers; assigning another value is an error): "+optionNames(option.Fixed)+".", "", "", option.Width) + `
` + wrapTable.Describe("  ")

var (
	docDiscriminatorLoss = `criterion.discriminator_loss(embeddings, labels): (1 - r) * u + r * (s - dis), r = d_dis_ratio,
the objective of U, K (and W in linear mode). The embeddings, the proxies and the individual mix
weights are detached inside (the reference computes the embeddings under no_grad), so only the
discriminators get gradients; passing emb.detach() costs nothing extra. Sets criterion.parts to
{` + partNames(objectiveParts[1:]) + `} (unweighted, detached; dada.parts() says what each is).`
	docGeneratorLoss = `criterion.generator_loss(embeddings, labels): oproxy_ratio * proxy + dis_gamma * (r * (s + dis) -
(1 - r) * u), the objective of the backbone, the proxies (and w in individual mode); the same as
criterion(embeddings, labels). Sets criterion.parts to {` + partNames(objectiveParts[:1]) + `, <the loss's parts>,
` + partNames(objectiveParts[1:]) + `} (unweighted, detached; dada.parts(loss) says what each is).`
	docEpochDiagnostics = `criterion.epoch_diagnostics(): the per-class diagnostics collected from the generator steps
since the last call (set criterion.track_diagnostics = True to collect), then starts afresh; None
when nothing was collected. The same fields as criterion.diagnostics(...), but as the reference
computes them: from the generator's own training-mode forwards (dropout and batch statistics as
the step saw them, positive-pair mixes included), averaged per class over every row of the
epoch. counts is the number of rows of each class that category_samples averaged.`
	docProxyParameters         = `criterion.proxy_parameters(): the proxy loss's parameters (its proxies). DADA's recipe: Adam, lr 0.04.`
	docDiscriminatorParameters = `criterion.discriminator_parameters(): U's and K's parameters, and W in mix_mode "linear". DADA's recipe: Adam, lr 5e-4, weight_decay = dis_decay.`
	docGeneratorParameters     = `criterion.generator_parameters(): the extra generator-side parameters: w in mix_mode "individual" (the reference trains it with the proxies' optimiser at lr 5e-4), else an empty list.`
	docDiagnostics             = `criterion.diagnostics(embeddings, labels): the reference's per-class matrices, for plotting.
Computed without gradient with U and K in eval mode (restored afterwards; BatchNorm's running
statistics are not touched), one random-mode m for the call, no positive-pair mixup or mix
extension. Returns a struct of tensors, C = number of classes, rows of absent classes 0:
  counts            (C,)    samples of each class in the input
  domain_samples    (C, 3)  mean softmax(U(x)) over each class's samples (domains: sample, mixed, proxy)
  domain_mixed      (C, 3)  mean softmax(U(mix))
  domain_proxies    (C, 3)  mean softmax(U(p)) (p: each sample's class proxy)
  category_samples  (C, C)  mean softmax(K(x)) (the reference's s_predictions)
  category_mixed    (C, C)  mean softmax(K(mix)) (t_predictions)
  proxy_similarity  (C, C)  mean cosine similarity of each class's samples to every class proxy
                            (SoftTriple: its relaxed class similarity) (proxy_sims)`
)

// ---------------------------------------------------------------- wrap

func fnWrap(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	req, vals, err := wrapTable.Bind(b.Name(), args, kwargs, "loss")
	if err != nil {
		return nil, err
	}
	o, st := fromValues(vals)
	l, err := losses.Of(req[0])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	st.numClasses, st.embedDim = l.NumClasses(), l.EmbedDim()
	if st.numClasses < 1 || st.embedDim < 1 {
		return nil, fmt.Errorf("%s: the loss has no usable proxies (num_classes %d, embed_dim %d)", b.Name(), st.numClasses, st.embedDim)
	}
	m, err := st.build(thread, l, o)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return m, nil
}

// build makes the DADA module: children loss, U, K; parameter mix_w.
func (st *structure) build(thread *starlark.Thread, l losses.Loss, o options) (*nn.Module, error) {
	proxies := l.Module().Param("proxies").ATen()
	u, err := st.domainDiscriminator(thread)
	if err != nil {
		return nil, err
	}
	k, err := st.categoryDiscriminator(thread)
	if err != nil {
		return nil, err
	}
	m := nn.NewModule("DADA", func(thread *starlark.Thread, m *nn.Module, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		return st.objectiveCall(thread, m, "DADA", true, args, kwargs)
	})
	for _, c := range []struct {
		n string
		m *nn.Module
	}{{"loss", l.Module()}, {"U", u}, {"K", k}} {
		if err := m.AddChild(c.n, c.m); err != nil {
			return nil, err
		}
	}
	if st.mixMode != "random" {
		w, err := st.mixWeights()
		if err != nil {
			return nil, err
		}
		if err := m.AddParam("mix_w", w); err != nil {
			return nil, err
		}
	}
	// U, K and mix_w follow the loss's dtype and device.
	if err := m.To(proxies.DType(), proxies.Device()); err != nil {
		return nil, err
	}
	m.SetAttr("num_classes", starlark.MakeInt64(st.numClasses))
	m.SetAttr("embed_dim", starlark.MakeInt64(st.embedDim))
	setAttrs(m, &o, st)
	m.SetAttr("parts", starlark.NewDict(0))
	m.ExtraRepr = extraRepr
	m.SetHook = setHook
	m.AddMethod("discriminator_loss", docDiscriminatorLoss, func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		return st.objectiveCall(thread, b.Receiver().(*nn.Module), "DADA.discriminator_loss", false, args, kwargs)
	})
	m.AddMethod("generator_loss", docGeneratorLoss, func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		return st.objectiveCall(thread, b.Receiver().(*nn.Module), "DADA.generator_loss", true, args, kwargs)
	})
	m.AddMethod("proxy_parameters", docProxyParameters, st.paramsMethod("proxy_parameters", func(m *nn.Module) []*nn.Module { return []*nn.Module{m.Child("loss")} }, ""))
	m.AddMethod("discriminator_parameters", docDiscriminatorParameters, st.paramsMethod("discriminator_parameters", func(m *nn.Module) []*nn.Module { return []*nn.Module{m.Child("U"), m.Child("K")} }, "linear"))
	m.AddMethod("generator_parameters", docGeneratorParameters, st.paramsMethod("generator_parameters", func(m *nn.Module) []*nn.Module { return nil }, "individual"))
	m.AddMethod("epoch_diagnostics", docEpochDiagnostics, func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
			return nil, err
		}
		dt := aten.Float32
		if l, p, err := st.lossOf(b.Name(), b.Receiver().(*nn.Module)); err == nil && l != nil {
			dt = p.DType()
		}
		if st.diag == nil {
			return starlark.None, nil
		}
		v, err := st.diag.result(dt)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name(), err)
		}
		return v, nil
	})
	m.AddMethod("diagnostics", docDiagnostics, func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		return st.diagnosticsCall(thread, b.Receiver().(*nn.Module), args, kwargs)
	})
	return m, nil
}

// paramsMethod lists the parameters of some children, plus mix_w when the
// mix mode is withMixIn.
func (st *structure) paramsMethod(name string, children func(*nn.Module) []*nn.Module, withMixIn string) func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
	return func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if err := lang.UnpackArgs("DADA."+name, args, kwargs); err != nil {
			return nil, err
		}
		m := b.Receiver().(*nn.Module)
		var vals []starlark.Value
		for _, c := range children(m) {
			if c == nil {
				continue
			}
			for _, nt := range c.NamedParameters() {
				vals = append(vals, nt.Tensor)
			}
		}
		if st.mixMode == withMixIn {
			if w := m.Param("mix_w"); w != nil {
				vals = append(vals, w)
			}
		}
		return starlark.NewList(vals), nil
	}
}

// mixWeights initialises mix_w as the reference does: xavier_uniform_ with
// gain 1.414 on (1, d) for "individual", (2d, d) for "linear".
func (st *structure) mixWeights() (aten.Tensor, error) {
	rows, cols := int64(1), st.embedDim
	if st.mixMode == "linear" {
		rows = 2 * st.embedDim
	}
	// torch's fans of a (rows, cols) matrix: fan_in = cols, fan_out = rows.
	bound := 1.414 * math.Sqrt(6/float64(rows+cols))
	w, err := aten.Run("empty", aten.Is(rows, cols), aten.KW("dtype", aten.D(aten.Float32)))
	if err != nil {
		return w, err
	}
	err = aten.NoGrad(func() error {
		_, err := aten.Run("uniform_", aten.T(w), aten.F(-bound), aten.F(bound))
		return err
	})
	return w, err
}

// ---------------------------------------------------------------- discriminators

// layer calls an nn constructor (nn.Linear, nn.BatchNorm1d, ...) as a
// script would, so the layers get PyTorch's initialisation.
func layer(thread *starlark.Thread, name string, args ...int64) (*nn.Module, error) {
	ctor, ok := nn.NN.Members()[name].(starlark.Callable)
	if !ok {
		return nil, fmt.Errorf("nn.%s is missing", name)
	}
	var sargs starlark.Tuple
	for _, a := range args {
		sargs = append(sargs, starlark.MakeInt64(a))
	}
	v, err := starlark.Call(thread, ctor, sargs, nil)
	if err != nil {
		return nil, err
	}
	return v.(*nn.Module), nil
}

type named struct {
	name string
	make func() (*nn.Module, error)
}

// sequence makes a module whose forward applies its children in order.
func sequence(thread *starlark.Thread, typeName string, layers []named) (*nn.Module, error) {
	m := nn.NewModule(typeName, nil)
	var order []string
	for _, l := range layers {
		order = append(order, l.name)
		if m.Child(l.name) != nil {
			continue // a parameter-free layer used twice (relu, dropout)
		}
		c, err := l.make()
		if err != nil {
			return nil, err
		}
		if err := m.AddChild(l.name, c); err != nil {
			return nil, err
		}
	}
	m.SetForward(func(thread *starlark.Thread, m *nn.Module, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var x *torch.Tensor
		if err := starlark.UnpackPositionalArgs(m.TypeName(), args, kwargs, 1, &x); err != nil {
			return nil, err
		}
		t := x.ATen()
		for _, n := range order {
			var err error
			if t, err = m.Child(n).ForwardTensor(thread, t); err != nil {
				return nil, fmt.Errorf("%s.%s: %w", m.TypeName(), n, err)
			}
		}
		return torch.New(t), nil
	})
	return m, nil
}

func (st *structure) domainDiscriminator(thread *starlark.Thread) (*nn.Module, error) {
	d, h := st.embedDim, st.fdFC1
	ls := []named{
		{"fc1", func() (*nn.Module, error) { return layer(thread, "Linear", d, h) }},
		{"bn1_fc", func() (*nn.Module, error) { return layer(thread, "BatchNorm1d", h) }},
		{"relu", func() (*nn.Module, error) { return layer(thread, "ReLU") }},
		{"fc2", func() (*nn.Module, error) { return layer(thread, "Linear", h, 3) }},
	}
	if st.fd2BN {
		ls = append(ls, named{"bn2_fc", func() (*nn.Module, error) { return layer(thread, "BatchNorm1d", 3) }})
	}
	return sequence(thread, "DomainDiscriminator", ls)
}

func (st *structure) categoryDiscriminator(thread *starlark.Thread) (*nn.Module, error) {
	d, h1, h2, c := st.embedDim, st.fcFC1, st.fcFC2, st.numClasses
	dropout := func() (*nn.Module, error) { return nn.NewDropout(st.dropout), nil }
	relu := func() (*nn.Module, error) { return layer(thread, "ReLU") }
	ls := []named{
		{"fc1", func() (*nn.Module, error) { return layer(thread, "Linear", d, h1) }},
		{"bn1_fc", func() (*nn.Module, error) { return layer(thread, "BatchNorm1d", h1) }},
		{"relu", relu},
		{"dropout", dropout},
		{"fc2", func() (*nn.Module, error) { return layer(thread, "Linear", h1, h2) }},
		{"bn2_fc", func() (*nn.Module, error) { return layer(thread, "BatchNorm1d", h2) }},
		{"relu", relu},
		{"dropout", dropout},
		{"fc3", func() (*nn.Module, error) { return layer(thread, "Linear", h2, c) }},
	}
	if st.fc2BN {
		ls = append(ls, named{"bn3_fc", func() (*nn.Module, error) { return layer(thread, "BatchNorm1d", c) }})
	}
	return sequence(thread, "CategoryDiscriminator", ls)
}

package dada

import (
	"fmt"
	"strings"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/builtins/losses"
	"github.com/dadash/dadash/builtins/losses/option"
	"github.com/dadash/dadash/builtins/nn"
	"github.com/dadash/dadash/lang"
)

// structure is what wrap fixes: changing it needs new layers.
type structure struct {
	mixMode             string
	fdFC1, fcFC1, fcFC2 int64
	fd2BN, fc2BN        bool
	dropout             float64
	numClasses          int64
	embedDim            int64
	diag                *diagAccum // the epoch's diagnostics, while track_diagnostics is on
}

// options are the weights and switches, read from the module's attributes
// at every call so a script may change them between steps.
type options struct {
	dDisRatio, dDiscrepancyRatio, oproxyRatio, disGamma float64
	disMode                                             string
	shiftScale, mixAlpha, mixBeta                       float64
	posClassMix, mixExtension, normal, sharedMix        bool
}

// wrapOption is a row of the table of dada.wrap's options: the option and
// the Go field that holds its value (in options for the PerCall ones, in
// structure for the Fixed ones).
type wrapOption struct {
	option.Spec
	field func(o *options, st *structure) any
}

func f64(v float64) starlark.Value { return starlark.Float(v) }

// wrapOptions is the one definition of dada.wrap's options, in its
// signature's order, with the reference's defaults (../shared/DADA.md).
var wrapOptions = []wrapOption{
	{option.Spec{Name: "d_dis_ratio", Kind: option.Float, Default: f64(0.01),
		Doc: "r, the weight of the adversarial terms against u in both objectives"},
		func(o *options, _ *structure) any { return &o.dDisRatio }},
	{option.Spec{Name: "d_discrepancy_ratio", Kind: option.Float, Default: f64(0.5),
		Doc: "the weight of the discrepancy dis"},
		func(o *options, _ *structure) any { return &o.dDiscrepancyRatio }},
	{option.Spec{Name: "oproxy_ratio", Kind: option.Float, Default: f64(0.0075),
		Doc: "the weight of the proxy loss in the generator objective"},
		func(o *options, _ *structure) any { return &o.oproxyRatio }},
	{option.Spec{Name: "dis_gamma", Kind: option.Float, Default: f64(1),
		Doc: "the weight of the adversarial part of the generator objective"},
		func(o *options, _ *structure) any { return &o.disGamma }},
	{option.Spec{Name: "dis_mode", Kind: option.String, Default: starlark.String("nwd"),
		Doc:     "the discrepancy between K's class predictions for samples and for mixed points",
		Choices: []option.Choice{{Value: "nwd", Doc: "nuclear-norm discrepancy"}, {Value: "l1", Doc: "mean absolute difference"}}},
		func(o *options, _ *structure) any { return &o.disMode }},
	{option.Spec{Name: "mix_mode", Kind: option.String, Default: starlark.String("random"), Use: option.Fixed,
		Doc: "how samples and proxies are mixed",
		Choices: []option.Choice{{Value: "random", Doc: "m ~ Beta(mix_alpha, mix_beta) at each call"},
			{Value: "individual", Doc: "a learnt weight per dimension, mix_w (1 x d)"},
			{Value: "linear", Doc: "a learnt map [x, p] @ W, mix_w (2d x d)"}}},
		func(_ *options, st *structure) any { return &st.mixMode }},
	{option.Spec{Name: "shift_scale", Kind: option.Float, Default: f64(1),
		Doc: "s, the shift of the random mix: s > 0 towards the proxies, s < 0 towards the samples",
		Check: func(v starlark.Value) string {
			if s := float64(v.(starlark.Float)); !(s > -1 && s <= 1) {
				return "must be in (-1, 1] (s > 0 shifts the mix towards the proxies, s < 0 towards the samples)"
			}
			return ""
		}},
		func(o *options, _ *structure) any { return &o.shiftScale }},
	{option.Spec{Name: "mix_alpha", Kind: option.Float, Default: f64(0.5),
		Doc: "the first parameter of the random mix's Beta distribution", Check: betaParam},
		func(o *options, _ *structure) any { return &o.mixAlpha }},
	{option.Spec{Name: "mix_beta", Kind: option.Float, Default: f64(0.5),
		Doc: "the second parameter of the random mix's Beta distribution", Check: betaParam},
		func(o *options, _ *structure) any { return &o.mixBeta }},
	{option.Spec{Name: "pos_class_mix", Kind: option.Bool, Default: starlark.False,
		Doc: "append a mixup of the first two samples of each class (positive-pair mixup)"},
		func(o *options, _ *structure) any { return &o.posClassMix }},
	{option.Spec{Name: "mix_extension", Kind: option.Bool, Default: starlark.False,
		Doc: "the discriminators see [x; x] against [mix; p]"},
		func(o *options, _ *structure) any { return &o.mixExtension }},
	{option.Spec{Name: "normal", Kind: option.Bool, Default: starlark.True,
		Doc: "L2-normalise samples, mixed points and proxies before U and K"},
		func(o *options, _ *structure) any { return &o.normal }},
	{option.Spec{Name: "fd_fc1", Kind: option.Int, Default: starlark.MakeInt(512), Use: option.Fixed,
		Doc: "the width of U's hidden layer", Check: option.AtLeastOne},
		func(_ *options, st *structure) any { return &st.fdFC1 }},
	{option.Spec{Name: "fc_fc1", Kind: option.Int, Default: starlark.MakeInt(512), Use: option.Fixed,
		Doc: "the width of K's first hidden layer", Check: option.AtLeastOne},
		func(_ *options, st *structure) any { return &st.fcFC1 }},
	{option.Spec{Name: "fc_fc2", Kind: option.Int, Default: starlark.MakeInt(128), Use: option.Fixed,
		Doc: "the width of K's second hidden layer", Check: option.AtLeastOne},
		func(_ *options, st *structure) any { return &st.fcFC2 }},
	{option.Spec{Name: "fd2_bn", Kind: option.Bool, Default: starlark.False, Use: option.Fixed,
		Doc: "end U with BatchNorm1d(3)"},
		func(_ *options, st *structure) any { return &st.fd2BN }},
	{option.Spec{Name: "fc2_bn", Kind: option.Bool, Default: starlark.False, Use: option.Fixed,
		Doc: "end K with BatchNorm1d(C)"},
		func(_ *options, st *structure) any { return &st.fc2BN }},
	{option.Spec{Name: "dropout", Kind: option.Float, Default: f64(0.5), Use: option.Fixed,
		Doc: "the dropout probability of K's hidden layers",
		Check: func(v starlark.Value) string {
			if p := float64(v.(starlark.Float)); p < 0 || p >= 1 {
				return "must be in [0, 1)"
			}
			return ""
		}},
		func(_ *options, st *structure) any { return &st.dropout }},
	{option.Spec{Name: "shared_mix", Kind: option.Bool, Default: starlark.False,
		Doc: "one random m for U's and K's terms (the reference draws one each)"},
		func(o *options, _ *structure) any { return &o.sharedMix }},
}

func betaParam(v starlark.Value) string {
	if float64(v.(starlark.Float)) <= 0 {
		return "must be positive (m ~ Beta(mix_alpha, mix_beta))"
	}
	return ""
}

// wrapTable is the options as an option.Table.
var wrapTable = func() option.Table {
	t := make(option.Table, len(wrapOptions))
	for i, w := range wrapOptions {
		t[i] = w.Spec
	}
	return t
}()

// store puts a converted value into a field of options or structure.
func store(field any, v starlark.Value) {
	switch p := field.(type) {
	case *float64:
		*p, _ = starlark.AsFloat(v)
	case *int64:
		*p, _ = v.(starlark.Int).Int64()
	case *bool:
		*p = bool(v.(starlark.Bool))
	case *string:
		*p = string(v.(starlark.String))
	default:
		panic(fmt.Sprintf("dada: option field of type %T", field))
	}
}

// load is the Starlark value of a field.
func load(field any) starlark.Value {
	switch p := field.(type) {
	case *float64:
		return starlark.Float(*p)
	case *int64:
		return starlark.MakeInt64(*p)
	case *bool:
		return starlark.Bool(*p)
	case *string:
		return starlark.String(*p)
	}
	panic(fmt.Sprintf("dada: option field of type %T", field))
}

// fromValues fills options and structure from converted values.
func fromValues(vals map[string]starlark.Value) (options, structure) {
	var o options
	var st structure
	for _, w := range wrapOptions {
		store(w.field(&o, &st), vals[w.Name])
	}
	return o, st
}

// setAttrs writes every option onto the module, where scripts read and
// assign them.
func setAttrs(m *nn.Module, o *options, st *structure) {
	for _, w := range wrapOptions {
		m.SetAttr(w.Name, load(w.field(o, st)))
	}
}

// readOptions reads the options back from the module (scripts may have
// changed the PerCall ones) and checks that the structure was left alone.
func (st *structure) readOptions(fn string, m *nn.Module) (options, error) {
	var o options
	for _, w := range wrapOptions {
		v := m.AttrValue(w.Name)
		if v == nil {
			return o, fmt.Errorf("%s: the attribute %s is missing", fn, w.Name)
		}
		cv, err := w.Convert(v)
		if err != nil {
			return o, fmt.Errorf("%s: DADA.%w", fn, err)
		}
		if w.Use == option.PerCall {
			store(w.field(&o, st), cv)
			continue
		}
		if want := load(w.field(&o, st)); !equal(cv, want) {
			return o, fmt.Errorf("%s: DADA.%s was %s at dada.wrap and cannot change (it shapes the layers); make a new criterion with dada.wrap(loss, %s=...)", fn, w.Name, want, w.Name)
		}
	}
	return o, nil
}

func equal(a, b starlark.Value) bool {
	eq, err := starlark.Equal(a, b)
	return err == nil && eq
}

// setHook checks a script's criterion.name = v against the table.
func setHook(m *nn.Module, name string, v starlark.Value) (starlark.Value, error) {
	isMember := func(n string) bool {
		return m.AttrValue(n) != nil || m.Child(n) != nil || m.Param(n) != nil || m.Buffer(n) != nil
	}
	return wrapTable.Assign("DADA", name, m.AttrValue(name), v, isMember, "at dada.wrap", "make a new criterion with dada.wrap(loss, NAME=...)")
}

// extraRepr prints the sizes and every option, as the table orders them.
func extraRepr(m *nn.Module) string {
	head := fmt.Sprintf("num_classes=%s, embed_dim=%s", m.AttrValue("num_classes"), m.AttrValue("embed_dim"))
	return head + ", " + wrapTable.Repr(m.AttrValue)
}

// ---------------------------------------------------------------- parts

// part is one value an objective reports in criterion.parts, or one of
// the training loop's totals.
type part struct {
	name, meaning string
}

const (
	partProxy = "proxy"
	partU     = "u"
	partS     = "s"
	partDis   = "dis"
)

// objectiveParts are what the objectives report, in the order they report
// them; the wrapped loss's own parts follow "proxy".
var objectiveParts = []part{
	{partProxy, "the wrapped proxy loss, unweighted (generator step only)"},
	{partU, "domain discriminator cross entropy CE(U(x), 0) + CE(U(mix), 1) + CE(U(p), 2) over samples, mixed points and proxies"},
	{partS, "category discriminator cross entropy 2 * CE(K(x), y)"},
	{partDis, "d_discrepancy_ratio * the discrepancy (dis_mode) between K's class predictions for samples and for mixed points"},
}

// loopParts are the totals the training loop logs beside the parts.
var loopParts = []part{
	{"gen", "the generator total (criterion.generator_loss): oproxy_ratio * proxy + dis_gamma * (r * (s + dis) - (1 - r) * u), r = d_dis_ratio"},
	{"disc", "the discriminator total (criterion.discriminator_loss): (1 - r) * u + r * (s - dis), r = d_dis_ratio"},
}

// allParts lists the parts with the loss's own after "proxy" (lossParts
// may be nil), then the loop's totals.
func allParts(lossParts []losses.PartDoc) []part {
	out := []part{objectiveParts[0]}
	for _, p := range lossParts {
		out = append(out, part{p.Name, p.Meaning + " (part of proxy; generator step only)"})
	}
	out = append(out, objectiveParts[1:]...)
	return append(out, loopParts...)
}

func partNames(ps []part) string {
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = fmt.Sprintf("%q", p.name)
	}
	return strings.Join(names, ", ")
}

// ---------------------------------------------------------------- script API

const docDefaults = `dada.defaults(): dada.wrap's options and their defaults, a dict name -> default in the
signature's order. A recipe can keep them in its configuration and pass them back:
    criterion = dada.wrap(loss, **{k: cfg[k] for k in dada.defaults()})`

const docOptions = `dada.options(): dada.wrap's options as a list of structs with the fields name, type ("float",
"int", "bool" or "string"), default, doc, use ("per_call": an attribute read at every call,
which a script may change between steps; "fixed": fixed at dada.wrap, it shapes the layers),
fixed (use == "fixed") and choices (the accepted strings, empty for other types).`

const docParts = `dada.parts(loss=None): the names in criterion.parts and the training loop's totals, a list of
(name, meaning) tuples in the order they are reported. loss (a name of losses.names() or a loss
module) adds the loss's own parts after "proxy". discriminator_loss reports u, s and dis;
generator_loss proxy, the loss's parts, u, s and dis; gen and disc are the objectives' values.`

func fnDefaults(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	return wrapTable.Defaults(), nil
}

func fnOptions(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	return wrapTable.List(), nil
}

func fnParts(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var lossV starlark.Value = starlark.None
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "loss?", &lossV); err != nil {
		return nil, err
	}
	var lossParts []losses.PartDoc
	switch v := lossV.(type) {
	case starlark.NoneType:
	case starlark.String:
		ps, err := losses.PartsOf(string(v))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name(), err)
		}
		lossParts = ps
	default:
		l, err := losses.Of(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name(), err)
		}
		lossParts = losses.PartsOfModule(l.Module())
	}
	var out []starlark.Value
	for _, p := range allParts(lossParts) {
		out = append(out, starlark.Tuple{starlark.String(p.name), starlark.String(p.meaning)})
	}
	return starlark.NewList(out), nil
}

// ---------------------------------------------------------------- docs

// wrapSignature is dada.wrap's signature from the table.
func wrapSignature() string {
	return option.Signature("dada.wrap(", append([]string{"loss"}, wrapTable.Items()...), option.Width)
}

// optionNames lists the options of one use.
func optionNames(use option.Use) string {
	var names []string
	for _, s := range wrapTable {
		if s.Use == use {
			names = append(names, s.Name)
		}
	}
	return strings.Join(names, ", ")
}

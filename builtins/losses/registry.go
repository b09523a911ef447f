package losses

import (
	"fmt"
	"strings"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/builtins/losses/option"
	"github.com/dadash/dadash/builtins/nn"
	"github.com/dadash/dadash/lang"
)

// PartDoc names one part a loss reports in loss.parts and says what it is.
type PartDoc struct {
	Name, Meaning string
}

// kind is one row of the registry: everything about one loss that the
// constructor, losses.make, the docs, help() and the recipes read.
type kind struct {
	name    string   // losses.<name>, and the recipes' loss choice
	types   []string // the module types it makes (oproxy makes either)
	body    string   // the documentation after the signature
	options option.Table
	parts   []PartDoc
	// build makes the module from the sizes and the converted options.
	build func(fn string, numClasses, embedDim int64, vals map[string]starlark.Value, f factory) (*nn.Module, error)
}

// constructorArgs follow every loss's options.
var constructorArgs = option.Table{
	{Name: "dtype", Kind: option.Any, Default: starlark.None, Use: option.Construct,
		Doc: "the proxies' dtype, a floating torch dtype (None: float32)"},
	{Name: "device", Kind: option.Any, Default: starlark.None, Use: option.Construct,
		Doc: `the proxies' device ("cpu", "cuda", ...; None: the CPU)`},
}

func proxyInit(def string) option.Spec {
	return option.Spec{Name: "proxy_init", Kind: option.String, Default: starlark.String(def), Use: option.Construct,
		Doc: "the proxies' initialisation",
		Choices: []option.Choice{{Value: "norm", Doc: "randn / 8, DADA's"},
			{Value: "uniform", Doc: "U(-b, b), the published initialisation of SoftTriple and NormSoftmax"}}}
}

var oproxyOptions = option.Table{
	{Name: "pos_alpha", Kind: option.Float, Default: starlark.Float(32), Doc: "the scale of the positive term"},
	{Name: "neg_alpha", Kind: option.Float, Default: starlark.Float(32), Doc: "the scale of the negative term"},
	{Name: "pos_delta", Kind: option.Float, Default: starlark.Float(0.1), Doc: "the margin of the positive term"},
	{Name: "neg_delta", Kind: option.Float, Default: starlark.Float(-0.1), Doc: "the margin of the negative term"},
	proxyInit("norm"),
}

var oproxyParts = []PartDoc{
	{"pos", "the positive term: pulls each sample towards its class proxy"},
	{"neg", "the negative term: pushes each sample away from the other classes' proxies"},
}

// registry is the one list of losses, in the order losses.names() gives.
var registry = []*kind{
	{
		name: "proxy_anchor", types: []string{"ProxyAnchor"},
		body:    "losses.oproxy with dim=0. " + docOProxyBody,
		options: oproxyOptions, parts: oproxyParts,
		build: func(fn string, c, d int64, v map[string]starlark.Value, f factory) (*nn.Module, error) {
			return buildOProxy(fn, 0, c, d, v, f)
		},
	},
	{
		name: "proxy_nca", types: []string{"ProxyNCA"},
		body:    "losses.oproxy with dim=1. " + docOProxyBody,
		options: oproxyOptions, parts: oproxyParts,
		build: func(fn string, c, d int64, v map[string]starlark.Value, f factory) (*nn.Module, error) {
			return buildOProxy(fn, 1, c, d, v, f)
		},
	},
	{
		name: "soft_triple", types: []string{"SoftTriple"},
		body: docSoftTriple,
		options: option.Table{
			{Name: "centers_per_class", Kind: option.Int, Default: starlark.MakeInt(10), Use: option.Fixed,
				Doc: "K, the centres of each class (rows c*K .. c*K+K-1 of proxies)", Check: option.AtLeastOne},
			{Name: "la", Kind: option.Float, Default: starlark.Float(20), Doc: "lambda, the scale of the logits"},
			{Name: "gamma", Kind: option.Float, Default: starlark.Float(0.1), Doc: "the temperature of the softmax over a class's centres",
				Check: func(v starlark.Value) string {
					if option.Positive(v) != "" {
						return "must be positive (the softmax over centres uses s / gamma)"
					}
					return ""
				}},
			{Name: "margin", Kind: option.Float, Default: starlark.Float(0.01), Doc: "delta, the margin subtracted from the true class"},
			{Name: "tau", Kind: option.Float, Default: starlark.Float(0.2), Doc: "the weight of the centre regulariser"},
			proxyInit("uniform"),
		},
		parts: []PartDoc{
			{"classify", "cross entropy of the margin-adjusted relaxed class similarities"},
			{"reg", "the regulariser that merges a class's nearby centres (unweighted; the loss adds tau * reg)"},
		},
		build: buildSoftTriple,
	},
	{
		name: "norm_softmax", types: []string{"NormSoftmax"},
		body: docNormSoftmax,
		options: option.Table{
			{Name: "temperature", Kind: option.Float, Default: starlark.Float(0.05), Doc: "the softmax temperature of the cosine logits",
				Check: option.Positive},
			proxyInit("uniform"),
		},
		parts: []PartDoc{{"ce", "cross entropy of the cosine similarities to the class proxies / temperature"}},
		build: buildNormSoftmax,
	},
	{
		name: "oproxy", types: []string{"ProxyAnchor", "ProxyNCA"},
		body: docOProxyBody,
		options: append(option.Table{
			{Name: "dim", Kind: option.Int, Default: starlark.MakeInt(0), Use: option.Construct,
				Doc: "the dimension reduced: 0 over samples (Proxy-Anchor, makes a ProxyAnchor), 1 over proxies (Proxy-NCA, a ProxyNCA)",
				Check: func(v starlark.Value) string {
					if i, _ := starlark.AsInt32(v); i != 0 && i != 1 {
						return "must be 0 (reduce over samples, Proxy-Anchor) or 1 (over proxies, Proxy-NCA)"
					}
					return ""
				}},
		}, oproxyOptions...),
		parts: oproxyParts,
		build: func(fn string, c, d int64, v map[string]starlark.Value, f factory) (*nn.Module, error) {
			dim, _ := starlark.AsInt32(v["dim"])
			return buildOProxy(fn, dim, c, d, v, f)
		},
	},
}

// constructorTable is a loss's options followed by dtype and device.
func (k *kind) constructorTable() option.Table {
	return append(append(option.Table{}, k.options...), constructorArgs...)
}

// signature is "losses.name(num_classes, embed_dim, a=1, ...)".
func (k *kind) signature() string {
	return option.Signature("losses."+k.name+"(", append([]string{"num_classes", "embed_dim"}, k.constructorTable().Items()...), option.Width)
}

// doc is the constructor's help text, generated from the row.
func (k *kind) doc() string {
	var parts []string
	for _, p := range k.parts {
		parts = append(parts, option.Fill(p.Name+": "+p.Meaning, "  ", "      ", option.Width))
	}
	return k.signature() + "\n\n" + k.body +
		"\n\nOptions (losses.defaults(\"" + k.name + "\"); per_call ones are attributes read at every call):\n" +
		k.constructorTable().Describe("  ") +
		"\nParts (loss.parts after a call; losses.parts(\"" + k.name + "\")):\n" + strings.Join(parts, "\n")
}

// make is the constructor: losses.<name>(num_classes, embed_dim, **options).
func (k *kind) make(fn string, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	req, vals, err := k.constructorTable().Bind(fn, args, kwargs, "num_classes", "embed_dim")
	if err != nil {
		return nil, err
	}
	var sizes [2]int64
	for i, n := range []string{"num_classes", "embed_dim"} {
		v, ok := req[i].(starlark.Int)
		if !ok {
			return nil, fmt.Errorf("%s: %s must be an int, got %s", fn, n, req[i].Type())
		}
		if sizes[i], ok = v.Int64(); !ok || sizes[i] < 1 {
			return nil, fmt.Errorf("%s: %s must be at least 1, got %s", fn, n, v)
		}
	}
	var f factory
	if err := f.unpack(fn, vals["dtype"], vals["device"]); err != nil {
		return nil, err
	}
	m, err := k.build(fn, sizes[0], sizes[1], vals, f)
	if err != nil {
		return nil, err
	}
	for _, s := range k.options {
		if s.Use != option.Construct {
			m.SetAttr(s.Name, vals[s.Name])
		}
	}
	m.SetHook = setHook
	m.ExtraRepr = extraRepr
	return m, nil
}

// lookup finds a loss by its name.
func lookup(name string) (*kind, error) {
	for _, k := range registry {
		if k.name == name {
			return k, nil
		}
	}
	names := Names()
	msg := fmt.Sprintf("unknown loss %q", name)
	if n := option.Nearest(name, names); n != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", n)
	}
	return nil, fmt.Errorf("%s; the losses are %s", msg, strings.Join(names, ", "))
}

// ofType finds the row of a module type; the first row that makes it
// (proxy_anchor before oproxy).
func ofType(typeName string) *kind {
	for _, k := range registry {
		for _, t := range k.types {
			if t == typeName {
				return k
			}
		}
	}
	return nil
}

// Names lists the losses, as losses.names() does.
func Names() []string {
	out := make([]string, len(registry))
	for i, k := range registry {
		out[i] = k.name
	}
	return out
}

// PartsOf lists the parts the named loss reports.
func PartsOf(name string) ([]PartDoc, error) {
	k, err := lookup(name)
	if err != nil {
		return nil, err
	}
	return k.parts, nil
}

// PartsOfModule lists the parts a loss module reports (nil for a module
// this package did not make).
func PartsOfModule(m *nn.Module) []PartDoc {
	if k := ofType(m.TypeName()); k != nil {
		return k.parts
	}
	return nil
}

// param reads a loss module's float option from its attribute, checked
// by the table (scripts may change it between calls: loss.pos_alpha = 40).
func param(m *nn.Module, name string) (float64, error) {
	k := ofType(m.TypeName())
	if k == nil {
		return 0, fmt.Errorf("%s is not a loss of the losses module", m.TypeName())
	}
	s, ok := k.options.Lookup(name)
	if !ok {
		return 0, fmt.Errorf("%s has no option %s", m.TypeName(), name)
	}
	v := m.AttrValue(name)
	if v == nil {
		return 0, fmt.Errorf("%s.%s is missing", m.TypeName(), name)
	}
	cv, err := s.Convert(v)
	if err != nil {
		return 0, fmt.Errorf("%s.%w", m.TypeName(), err)
	}
	f, _ := starlark.AsFloat(cv)
	return f, nil
}

// setHook checks a script's loss.name = v against the loss's options.
func setHook(m *nn.Module, name string, v starlark.Value) (starlark.Value, error) {
	k := ofType(m.TypeName())
	if k == nil {
		return v, nil
	}
	isMember := func(n string) bool {
		return m.AttrValue(n) != nil || m.Child(n) != nil || m.Param(n) != nil || m.Buffer(n) != nil
	}
	return k.options.Assign(m.TypeName(), name, m.AttrValue(name), v, isMember, "when the loss was made",
		"make a new loss with losses."+k.name+"(num_classes, embed_dim, NAME=...)")
}

// extraRepr prints the sizes and the options the module holds.
func extraRepr(m *nn.Module) string {
	l, err := Of(m)
	head := ""
	if err == nil {
		head = fmt.Sprintf("num_classes=%d, embed_dim=%d", l.NumClasses(), l.EmbedDim())
	}
	k := ofType(m.TypeName())
	if k == nil {
		return head
	}
	attr := func(n string) starlark.Value {
		if v := m.AttrValue(n); v != nil {
			return v
		}
		return starlark.None
	}
	return head + ", " + k.options.Repr(attr)
}

// ---------------------------------------------------------------- script API

const docNames = `losses.names(): the losses, a list of the names losses.make and the recipes' loss setting accept.`

const docDefaults = `losses.defaults(name): the options of the named loss and their defaults, a dict in the
constructor's order (without dtype and device). losses.make(name, C, d, **losses.defaults(name))
is losses.<name>(C, d).`

const docOptions = `losses.options(name): the named loss's options as a list of structs with the fields name, type,
default, doc, use ("per_call": an attribute read at every call; "fixed": fixed when made, it
shapes the proxies; "construct": used only when made), fixed and choices.`

const docParts = `losses.parts(name): what the named loss reports in loss.parts after a call, a list of
(name, meaning) tuples in the order they are reported.`

const docMake = `losses.make(name, num_classes, embed_dim, **options): the loss of that name (losses.names()),
as losses.<name>(num_classes, embed_dim, **options); options are the loss's own
(losses.defaults(name)) and dtype, device. An unknown name or option is an error that lists the
known ones.`

func nameArg(fn string, args starlark.Tuple, kwargs []starlark.Tuple) (*kind, error) {
	var name string
	if err := starlark.UnpackArgs(fn, args, kwargs, "name", &name); err != nil {
		return nil, err
	}
	k, err := lookup(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn, err)
	}
	return k, nil
}

func fnNames(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	var out []starlark.Value
	for _, n := range Names() {
		out = append(out, starlark.String(n))
	}
	return starlark.NewList(out), nil
}

func fnDefaults(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	k, err := nameArg(b.Name(), args, kwargs)
	if err != nil {
		return nil, err
	}
	return k.options.Defaults(), nil
}

func fnOptions(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	k, err := nameArg(b.Name(), args, kwargs)
	if err != nil {
		return nil, err
	}
	return k.options.List(), nil
}

func fnParts(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	k, err := nameArg(b.Name(), args, kwargs)
	if err != nil {
		return nil, err
	}
	var out []starlark.Value
	for _, p := range k.parts {
		out = append(out, starlark.Tuple{starlark.String(p.Name), starlark.String(p.Meaning)})
	}
	return starlark.NewList(out), nil
}

func fnMake(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("%s: missing the loss's name (one of %s)", b.Name(), strings.Join(Names(), ", "))
	}
	name, ok := starlark.AsString(args[0])
	if !ok {
		return nil, fmt.Errorf("%s: the loss's name must be a string (one of %s), got %s", b.Name(), strings.Join(Names(), ", "), args[0].Type())
	}
	k, err := lookup(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return k.make(fmt.Sprintf("%s(%q)", b.Name(), name), args[1:], kwargs)
}

// members are the constructors, one per row, and the registry's functions.
func members() starlark.StringDict {
	out := starlark.StringDict{
		"names":    lang.Func("losses.names", docNames, fnNames),
		"defaults": lang.Func("losses.defaults", docDefaults, fnDefaults),
		"options":  lang.Func("losses.options", docOptions, fnOptions),
		"parts":    lang.Func("losses.parts", docParts, fnParts),
		"make":     lang.Func("losses.make", docMake, fnMake),
	}
	for _, k := range registry {
		k := k
		out[k.name] = lang.Func("losses."+k.name, k.doc(), func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			return k.make(b.Name(), args, kwargs)
		})
	}
	return out
}

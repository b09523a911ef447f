// Package losses is the `losses` module of dadash scripts: proxy-based deep
// metric learning losses, each an nn module that owns its learnable proxies
// (the parameter `proxies`), so parameters(), state_dict(), to(device) and
// optimisers work as for any layer.
//
//   - losses.proxy_anchor / losses.proxy_nca / losses.oproxy: the DADA
//     reference's proxy loss ("oproxy", ../shared/DADA.md), reducing over
//     samples (dim=0, Proxy-Anchor flavour) or over proxies (dim=1,
//     Proxy-NCA flavour);
//   - losses.soft_triple: SoftTriple (Qian et al., ICCV 2019);
//   - losses.norm_softmax: Normalized Softmax (Zhai & Wu, BMVC 2019).
//
// A call loss(embeddings, labels, pos_proxies=None) returns the scalar loss;
// loss.parts then holds the named sub-losses of that call (detached, for
// logging). loss.proxy_for(labels, embeddings=None) gives each sample's
// class proxy, which DADA mixes with the samples. Go code (builtins/dada)
// reaches the same through Of.
package losses

import (
	"fmt"
	"strings"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/builtins/nn"
	"github.com/dadash/dadash/builtins/torch"
	"github.com/dadash/dadash/builtins/torch/aten"
	"github.com/dadash/dadash/lang"
)

// Part is one named sub-loss of a call.
type Part struct {
	Name  string
	Value aten.Tensor
}

// Loss is the Go side of a proxy loss module: what DADA needs from it.
// Compute and the other methods expect inputs that CheckInputs accepted.
type Loss interface {
	// Module is the Starlark value (parameters, state_dict, to()).
	Module() *nn.Module
	NumClasses() int64
	EmbedDim() int64
	// Compute returns the scalar loss and its parts. pos (B x d, may be
	// undefined) replaces the per-sample positive proxies P[y]; losses that
	// compare every sample with all classes (SoftTriple, NormSoftmax) have
	// no per-sample positive and ignore it.
	Compute(x, y, pos aten.Tensor) (aten.Tensor, []Part, error)
	// ProxyFor returns the (unnormalised) proxy of each sample's class, B x d.
	// x may be undefined; SoftTriple uses it to pick the nearest centre.
	ProxyFor(x, y aten.Tensor) (aten.Tensor, error)
	// ClassSimilarity is the loss's similarity of each sample to each class
	// (B x C), for diagnostics.
	ClassSimilarity(x aten.Tensor) (aten.Tensor, error)
}

// Of returns the Go side of a loss made by this package.
func Of(v starlark.Value) (Loss, error) {
	m, ok := v.(*nn.Module)
	if !ok {
		return nil, fmt.Errorf("expected a proxy loss from the losses module (losses.%s), got a %s", strings.Join(Names(), ", losses."), v.Type())
	}
	if m.Param("proxies") != nil {
		switch m.TypeName() {
		case "ProxyAnchor", "ProxyNCA":
			return oproxy{m}, nil
		case "SoftTriple":
			return softTriple{m}, nil
		case "NormSoftmax":
			return normSoftmax{m}, nil
		}
	}
	return nil, fmt.Errorf("expected a proxy loss from the losses module (losses.%s), got the module %s", strings.Join(Names(), ", losses."), m.TypeName())
}

// Module is the losses module value.
var Module *torch.Namespace

func init() {
	Module = torch.NewNamespace("losses", "-", docModule, members())
	lang.Register(lang.Module{Name: "losses", Value: Module, Doc: docModule})
	lang.SetDoc("loss.proxy_for", docProxyFor)
}

const docModule = `losses: proxy-based metric learning losses, each an nn module with learnable proxies.

proxy_anchor, proxy_nca (= oproxy with dim 0 / 1: DADA's proxy loss), soft_triple, norm_softmax.
loss(embeddings, labels, pos_proxies=None) returns the scalar loss; loss.parts is a dict of the
last call's sub-losses (detached): {"pos", "neg"} for oproxy, {"classify", "reg"} for SoftTriple,
{"ce"} for NormSoftmax. loss.proxies is the parameter (C x d; SoftTriple: C*K x d);
loss.proxy_for(labels, embeddings=None) gives each sample's class proxy (B x d).
Wrap any of them with dada.wrap(loss, ...) for DADA.
The registry: losses.names(), losses.defaults(name), losses.options(name), losses.parts(name),
losses.make(name, num_classes, embed_dim, **options).`

const docProxyFor = `loss.proxy_for(labels, embeddings=None): the unnormalised proxy of each sample's class (B x d),
with gradient to loss.proxies. ProxyAnchor/ProxyNCA/NormSoftmax: proxies[labels]. SoftTriple: with
embeddings, the centre of the sample's class most similar (cosine) to the sample; without, the mean
of the class's centres. DADA mixes samples with these.`

// ---------------------------------------------------------------- shared helpers

// proxyAxis is the size of the proxies' axis (0: rows, 1: embedding
// width), or 0 when a script has removed the proxies.
func proxyAxis(m *nn.Module, axis int) int64 {
	if p := m.Param("proxies"); p != nil {
		return p.ATen().Shape()[axis]
	}
	return 0
}

func proxiesOf(m *nn.Module) (aten.Tensor, error) {
	p := m.Param("proxies")
	if p == nil {
		return aten.Tensor{}, fmt.Errorf("%s.proxies is None; assign nn.Parameter(tensor) of shape (num_classes, embed_dim)", m.TypeName())
	}
	return p.ATen(), nil
}

// shape prints a tensor's shape as scripts see t.shape: (6, 5).
func shape(t aten.Tensor) string { return lang.Size(t.Shape()) }

// CheckInputs validates a loss call's embeddings (B x d, floating, the
// proxies' dtype and device) and labels (B class indices in [0, C)), and
// returns the labels as int64 on the embeddings' device plus their values.
// fn names the caller in errors.
func CheckInputs(fn string, x, y aten.Tensor, numClasses, embedDim int64, proxies aten.Tensor) (aten.Tensor, []int64, error) {
	if x.Dim() != 2 || x.Shape()[1] != embedDim {
		return aten.Tensor{}, nil, fmt.Errorf("%s: embeddings must have shape (batch, %d), got %s", fn, embedDim, shape(x))
	}
	if x.Shape()[0] == 0 {
		return aten.Tensor{}, nil, fmt.Errorf("%s: the batch is empty (embeddings of shape %s); a loss needs at least one sample", fn, shape(x))
	}
	if !x.DType().IsFloating() {
		return aten.Tensor{}, nil, fmt.Errorf("%s: embeddings must be floating point, got %s", fn, x.DType())
	}
	if x.DType() != proxies.DType() {
		return aten.Tensor{}, nil, fmt.Errorf("%s: embeddings are %s but the proxies are %s; convert one (e.g. loss.to(torch.%s) or embeddings.to(torch.%s))", fn, x.DType(), proxies.DType(), x.DType(), proxies.DType())
	}
	if x.Device() != proxies.Device() {
		return aten.Tensor{}, nil, fmt.Errorf("%s: embeddings are on %s but the proxies on %s; move the loss with loss.to(%q)", fn, x.Device(), proxies.Device(), x.Device())
	}
	b := x.Shape()[0]
	if y.Dim() != 1 || y.Shape()[0] != b || y.DType().IsFloating() || y.DType() == aten.Bool {
		return aten.Tensor{}, nil, fmt.Errorf("%s: labels must be a 1-D integer tensor of %d class indices (one per embedding), got shape %s dtype %s", fn, b, shape(y), y.DType())
	}
	vals, err := y.Int64s()
	if err != nil {
		return aten.Tensor{}, nil, fmt.Errorf("%s: labels: %w", fn, err)
	}
	for i, v := range vals {
		if v < 0 || v >= numClasses {
			return aten.Tensor{}, nil, fmt.Errorf("%s: labels must be class indices in [0, %d), got %d at position %d", fn, numClasses, v, i)
		}
	}
	if y.DType() != aten.Int64 || y.Device() != x.Device() {
		if y, err = y.To(aten.Int64, x.Device(), false); err != nil {
			return aten.Tensor{}, nil, fmt.Errorf("%s: labels: %w", fn, err)
		}
	}
	return y, vals, nil
}

// CheckPos validates pos_proxies: B x d like the embeddings.
func CheckPos(fn string, x, pos aten.Tensor) error {
	if !pos.Defined() {
		return nil
	}
	if pos.Dim() != 2 || pos.Shape()[0] != x.Shape()[0] || pos.Shape()[1] != x.Shape()[1] {
		return fmt.Errorf("%s: pos_proxies must have the embeddings' shape %s (one positive proxy per sample), got %s", fn, shape(x), shape(pos))
	}
	if pos.DType() != x.DType() || pos.Device() != x.Device() {
		return fmt.Errorf("%s: pos_proxies are %s on %s, the embeddings %s on %s; they must match", fn, pos.DType(), pos.Device(), x.DType(), x.Device())
	}
	return nil
}

// PartsDict turns parts into the dict scripts read as loss.parts, detaching
// the values so that keeping them for logging keeps no graph alive.
func PartsDict(parts []Part) (*starlark.Dict, error) {
	d := starlark.NewDict(len(parts))
	for _, p := range parts {
		v, err := p.Value.Detach()
		if err != nil {
			return nil, err
		}
		if err := d.SetKey(starlark.String(p.Name), torch.New(v)); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// factory reads the dtype= and device= arguments of a constructor.
type factory struct {
	dtype  aten.DType
	device string
}

func (f *factory) unpack(fn string, dtype, device starlark.Value) error {
	f.dtype = aten.Float32
	switch d := dtype.(type) {
	case torch.DType:
		if !d.ATen().IsFloating() {
			return fmt.Errorf("%s: dtype must be a floating point type, got %s", fn, d)
		}
		f.dtype = d.ATen()
	case nil, starlark.NoneType:
	default:
		return fmt.Errorf("%s: dtype must be a torch dtype such as torch.float64, got %s", fn, dtype.Type())
	}
	switch d := device.(type) {
	case nil, starlark.NoneType:
	case starlark.String:
		f.device = string(d)
	default:
		ds, ok := device.(interface{ DeviceString() string })
		if !ok {
			return fmt.Errorf("%s: device must be a string such as \"cpu\" or \"cuda\", got %s", fn, device.Type())
		}
		f.device = ds.DeviceString()
	}
	if f.device != "" {
		if err := aten.CheckDevice(f.device); err != nil {
			return fmt.Errorf("%s: %w", fn, err)
		}
	}
	return nil
}

// initProxies makes a (rows x d) proxy tensor: "norm" is DADA's
// randn(rows, d) / 8; "uniform" is U(-bound, bound), the published
// initialisation of SoftTriple and NormSoftmax (bound given by the loss).
func (f factory) initProxies(fn, mode string, rows, d int64, bound float64) (aten.Tensor, error) {
	var t aten.Tensor
	err := aten.NoGrad(func() error {
		var err error
		switch mode {
		case "norm":
			if t, err = aten.Run("randn", aten.Is(rows, d), aten.KW("dtype", aten.D(f.dtype))); err != nil {
				return err
			}
			_, err = aten.Run("div_", aten.T(t), aten.F(8))
		case "uniform":
			if t, err = aten.Run("empty", aten.Is(rows, d), aten.KW("dtype", aten.D(f.dtype))); err != nil {
				return err
			}
			_, err = aten.Run("uniform_", aten.T(t), aten.F(-bound), aten.F(bound))
		default:
			return fmt.Errorf("proxy_init must be \"norm\" (randn / 8) or \"uniform\", got %q", mode)
		}
		if err == nil && f.device != "" && f.device != "cpu" {
			t, err = t.To(-1, f.device, false)
		}
		return err
	})
	if err != nil {
		return aten.Tensor{}, fmt.Errorf("%s: %w", fn, err)
	}
	return t, nil
}

// newLoss builds the module shared by every loss: the proxies parameter,
// the forward with argument checks, parts, and proxy_for.
func newLoss(typeName string, proxies aten.Tensor, of func(*nn.Module) Loss) (*nn.Module, error) {
	m := nn.NewModule(typeName, func(thread *starlark.Thread, m *nn.Module, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var x, y *torch.Tensor
		var posV starlark.Value = starlark.None
		if err := lang.UnpackArgs(m.TypeName(), args, kwargs, "embeddings", &x, "labels", &y, "pos_proxies?", &posV); err != nil {
			return nil, err
		}
		l := of(m)
		p, err := proxiesOf(m)
		if err != nil {
			return nil, err
		}
		yy, _, err := CheckInputs(m.TypeName(), x.ATen(), y.ATen(), l.NumClasses(), l.EmbedDim(), p)
		if err != nil {
			return nil, err
		}
		var pos aten.Tensor
		switch v := posV.(type) {
		case *torch.Tensor:
			pos = v.ATen()
		case starlark.NoneType:
		default:
			return nil, fmt.Errorf("%s: pos_proxies must be a tensor or None, got %s", m.TypeName(), posV.Type())
		}
		if err := CheckPos(m.TypeName(), x.ATen(), pos); err != nil {
			return nil, err
		}
		loss, parts, err := l.Compute(x.ATen(), yy, pos)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.TypeName(), err)
		}
		d, err := PartsDict(parts)
		if err != nil {
			return nil, err
		}
		m.SetAttr("parts", d)
		return torch.New(loss), nil
	})
	if err := m.AddParam("proxies", proxies); err != nil {
		return nil, err
	}
	m.SetAttr("parts", starlark.NewDict(0))
	m.AddMethod("proxy_for", docProxyFor, func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		m := b.Receiver().(*nn.Module)
		var y *torch.Tensor
		var xV starlark.Value = starlark.None
		fn := m.TypeName() + ".proxy_for"
		if err := lang.UnpackArgs(fn, args, kwargs, "labels", &y, "embeddings?", &xV); err != nil {
			return nil, err
		}
		l := of(m)
		p, err := proxiesOf(m)
		if err != nil {
			return nil, err
		}
		var x aten.Tensor
		switch v := xV.(type) {
		case *torch.Tensor:
			x = v.ATen()
		case starlark.NoneType:
			// Labels alone: validate them against a stand-in batch.
			if y.ATen().Dim() != 1 {
				return nil, fmt.Errorf("%s: labels must be a 1-D integer tensor, got shape %s", fn, shape(y.ATen()))
			}
			if y.ATen().Numel() == 0 {
				out, err := aten.Run("new_zeros", aten.T(p), aten.Is(0, l.EmbedDim()))
				if err != nil {
					return nil, err
				}
				return torch.New(out), nil
			}
		default:
			return nil, fmt.Errorf("%s: embeddings must be a tensor or None, got %s", fn, xV.Type())
		}
		probe := x
		if !probe.Defined() {
			var err error
			if probe, err = aten.Run("new_zeros", aten.T(p), aten.Is(y.ATen().Shape()[0], l.EmbedDim())); err != nil {
				return nil, err
			}
		}
		yy, _, err := CheckInputs(fn, probe, y.ATen(), l.NumClasses(), l.EmbedDim(), p)
		if err != nil {
			return nil, err
		}
		out, err := l.ProxyFor(x, yy)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", fn, err)
		}
		return torch.New(out), nil
	})
	return m, nil
}

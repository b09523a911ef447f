package losses

import (
	"fmt"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/builtins/nn"
	"github.com/dadash/dadash/builtins/torch/aten"
	"github.com/dadash/dadash/lang"
)

// normSoftmax is Normalized Softmax (Zhai & Wu, BMVC 2019): cross entropy
// of cosine similarities to the class proxies divided by a temperature,
//
//	loss = CE(xn @ Pn^T / temperature, y).
//
// The authors' model L2-normalises its embeddings before the loss; here the
// loss normalises them, so it takes raw embeddings like the other losses.
type normSoftmax struct{ m *nn.Module }

func (l normSoftmax) Module() *nn.Module { return l.m }

func (l normSoftmax) NumClasses() int64 { return proxyAxis(l.m, 0) }

func (l normSoftmax) EmbedDim() int64 { return proxyAxis(l.m, 1) }

func (l normSoftmax) Compute(x, y, pos aten.Tensor) (aten.Tensor, []Part, error) {
	temp, err := hyper(l.m, "temperature")
	if err != nil {
		return aten.Tensor{}, nil, err
	}
	if temp <= 0 {
		return aten.Tensor{}, nil, fmt.Errorf("NormSoftmax.temperature must be positive, got %g", temp)
	}
	sim, err := l.ClassSimilarity(x)
	if err != nil {
		return aten.Tensor{}, nil, err
	}
	var c calc
	ce := c.op("cross_entropy_loss", aten.T(c.scale(sim, 1/temp)), aten.T(y), aten.None(), aten.I(1), aten.I(-100), aten.F(0))
	if c.Err != nil {
		return aten.Tensor{}, nil, c.Err
	}
	return ce, []Part{{"ce", ce}}, nil
}

func (l normSoftmax) ProxyFor(x, y aten.Tensor) (aten.Tensor, error) {
	p, err := proxiesOf(l.m)
	if err != nil {
		return aten.Tensor{}, err
	}
	return aten.Run("index_select", aten.T(p), aten.I(0), aten.T(y))
}

func (l normSoftmax) ClassSimilarity(x aten.Tensor) (aten.Tensor, error) {
	p, err := proxiesOf(l.m)
	if err != nil {
		return aten.Tensor{}, err
	}
	return cosine(x, p)
}

const docNormSoftmax = `losses.norm_softmax(num_classes, embed_dim, temperature=0.05, proxy_init="uniform", dtype=None, device=None)

Normalized Softmax (Zhai & Wu, BMVC 2019): loss = cross_entropy(xn @ Pn^T / temperature, y)
with xn, Pn the L2-normalised embeddings and proxies (C x d); loss.parts = {"ce": ...}.
Initialisation as the authors': U(+-1/sqrt(d)); proxy_init="norm" gives randn / 8.
pos_proxies is accepted and ignored (every sample is compared with every class).`

func fnNormSoftmax(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var numClasses, embedDim int
	temp := 0.05
	init := "uniform"
	var dtype, device starlark.Value = starlark.None, starlark.None
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "num_classes", &numClasses, "embed_dim", &embedDim,
		"temperature?", &temp, "proxy_init?", &init, "dtype?", &dtype, "device?", &device); err != nil {
		return nil, err
	}
	if err := checkSizes(b.Name(), numClasses, embedDim); err != nil {
		return nil, err
	}
	if err := finite(b.Name(), "temperature", temp); err != nil {
		return nil, err
	}
	if temp <= 0 {
		return nil, fmt.Errorf("%s: temperature must be positive, got %g", b.Name(), temp)
	}
	var f factory
	if err := f.unpack(b.Name(), dtype, device); err != nil {
		return nil, err
	}
	p, err := f.initProxies(b.Name(), init, int64(numClasses), int64(embedDim), 1/sqrtf(embedDim))
	if err != nil {
		return nil, err
	}
	m, err := newLoss("NormSoftmax", p, func(m *nn.Module) Loss { return normSoftmax{m} })
	if err != nil {
		return nil, err
	}
	m.SetAttr("temperature", starlark.Float(temp))
	m.ExtraRepr = func(m *nn.Module) string {
		l := normSoftmax{m}
		return fmt.Sprintf("num_classes=%d, embed_dim=%d, temperature=%s", l.NumClasses(), l.EmbedDim(), attrStr(m, "temperature"))
	}
	return m, nil
}

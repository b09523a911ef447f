package losses

import (
	"math"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/builtins/nn"
	"github.com/dadash/dadash/builtins/torch/aten"
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
	temp, err := param(l.m, "temperature")
	if err != nil {
		return aten.Tensor{}, nil, err
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

const docNormSoftmax = `Normalized Softmax (Zhai & Wu, BMVC 2019): loss = cross_entropy(xn @ Pn^T / temperature, y)
with xn, Pn the L2-normalised embeddings and proxies (C x d); loss.parts = {"ce": ...}.
Initialisation as the authors': U(+-1/sqrt(d)); proxy_init="norm" gives randn / 8.
pos_proxies is accepted and ignored (every sample is compared with every class).`

func buildNormSoftmax(fn string, numClasses, embedDim int64, vals map[string]starlark.Value, f factory) (*nn.Module, error) {
	p, err := f.initProxies(fn, string(vals["proxy_init"].(starlark.String)), numClasses, embedDim, 1/math.Sqrt(float64(embedDim)))
	if err != nil {
		return nil, err
	}
	return newLoss("NormSoftmax", p, func(m *nn.Module) Loss { return normSoftmax{m} })
}

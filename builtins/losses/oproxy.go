package losses

import (
	"math"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/builtins/nn"
	"github.com/dadash/dadash/builtins/torch/aten"
)

// oproxy is the DADA reference's proxy loss, as DADA.md defines it. With
// xn, Pn the L2-normalised embeddings and proxies and pn the normalised
// positive proxy of each sample (Pn[y] unless pos_proxies replaces it):
//
//	pos = mean(lse_m(-a_pos * (xn @ pn^T - d_pos), y_i == y_j, dim))   B x B
//	neg = mean(lse_m( a_neg * (xn @ Pn^T - d_neg), c != y_i,  dim))   B x C
//	loss = pos + neg
//
// dim = 0 reduces over samples (ProxyAnchor), dim = 1 over proxies
// (ProxyNCA). The positive mask includes i == j, so its rows and columns are
// never empty; the negative mask is empty along dim 0 for a class that
// makes up the whole batch, and along dim 1 only when C = 1. Both parts are
// means over all B (resp. C) entries of the reduced dimension, as in the
// reference, not over the non-empty ones as Proxy-Anchor's paper divides.
type oproxy struct{ m *nn.Module }

func (l oproxy) Module() *nn.Module { return l.m }

func (l oproxy) NumClasses() int64 { return proxyAxis(l.m, 0) }

func (l oproxy) EmbedDim() int64 { return proxyAxis(l.m, 1) }

func (l oproxy) dim() int64 {
	if l.m.TypeName() == "ProxyNCA" {
		return 1
	}
	return 0
}

func (l oproxy) Compute(x, y, pos aten.Tensor) (aten.Tensor, []Part, error) {
	var hp [4]float64
	for i, n := range []string{"pos_alpha", "neg_alpha", "pos_delta", "neg_delta"} {
		v, err := param(l.m, n)
		if err != nil {
			return aten.Tensor{}, nil, err
		}
		hp[i] = v
	}
	aPos, aNeg, dPos, dNeg := hp[0], hp[1], hp[2], hp[3]
	p, err := proxiesOf(l.m)
	if err != nil {
		return aten.Tensor{}, nil, err
	}
	var c calc
	xn := c.normalize(x)
	pn := c.normalize(p)
	var pp aten.Tensor
	if pos.Defined() {
		pp = c.normalize(pos)
	} else {
		pp = c.op("index_select", aten.T(pn), aten.I(0), aten.T(y))
	}
	sPos := c.mm(xn, c.t(pp)) // B x B: sample i against the positive proxy of sample j
	sNeg := c.mm(xn, c.t(pn)) // B x C
	maskPos := c.op("eq", aten.T(c.op("unsqueeze", aten.T(y), aten.I(1))), aten.T(c.op("unsqueeze", aten.T(y), aten.I(0))))
	maskNeg := c.op("eq", aten.T(c.op("one_hot", aten.T(y), aten.I(l.NumClasses()))), aten.I(0))
	d := l.dim()
	posPart := c.mean(c.lseMasked(c.affine(sPos, -aPos, aPos*dPos), maskPos, d))
	negPart := c.mean(c.lseMasked(c.affine(sNeg, aNeg, -aNeg*dNeg), maskNeg, d))
	loss := c.add(posPart, negPart)
	if c.Err != nil {
		return aten.Tensor{}, nil, c.Err
	}
	return loss, []Part{{"pos", posPart}, {"neg", negPart}}, nil
}

func (l oproxy) ProxyFor(x, y aten.Tensor) (aten.Tensor, error) {
	p, err := proxiesOf(l.m)
	if err != nil {
		return aten.Tensor{}, err
	}
	return aten.Run("index_select", aten.T(p), aten.I(0), aten.T(y))
}

func (l oproxy) ClassSimilarity(x aten.Tensor) (aten.Tensor, error) {
	p, err := proxiesOf(l.m)
	if err != nil {
		return aten.Tensor{}, err
	}
	return cosine(x, p)
}

// cosine is xn @ Pn^T.
func cosine(x, p aten.Tensor) (aten.Tensor, error) {
	var c calc
	s := c.mm(c.normalize(x), c.t(c.normalize(p)))
	return s, c.Err
}

const docOProxyBody = `DADA's proxy loss ("oproxy"), cosine based. With xn, Pn the L2-normalised
embeddings and proxies and lse_m(S, mask, dim) = log(1 + sum of exp(S) over the
masked entries along dim), 0 where the mask is empty:
  pos = mean(lse_m(-pos_alpha * (xn @ Pn[y]^T - pos_delta), y_i == y_j, dim))   (B x B)
  neg = mean(lse_m( neg_alpha * (xn @ Pn^T  - neg_delta), c != y_i, dim))      (B x C)
  loss = pos + neg;  loss.parts = {"pos": ..., "neg": ...}
dim 0 reduces over samples (Proxy-Anchor flavour), dim 1 over proxies (Proxy-NCA
flavour). pos_proxies (B x d) in a call replaces Pn[y] (DADA's positive-pair
mixup). proxies: C x d, initialised randn(C, d) / 8 ("norm"), or U(+-1/sqrt(d))
with proxy_init="uniform". Hyperparameters are attributes (loss.pos_alpha = 40
takes effect at the next call).`

// buildOProxy makes a ProxyAnchor (dim 0) or a ProxyNCA (dim 1).
func buildOProxy(fn string, dim int, numClasses, embedDim int64, vals map[string]starlark.Value, f factory) (*nn.Module, error) {
	p, err := f.initProxies(fn, string(vals["proxy_init"].(starlark.String)), numClasses, embedDim, 1/math.Sqrt(float64(embedDim)))
	if err != nil {
		return nil, err
	}
	name := "ProxyAnchor"
	if dim == 1 {
		name = "ProxyNCA"
	}
	return newLoss(name, p, func(m *nn.Module) Loss { return oproxy{m} })
}

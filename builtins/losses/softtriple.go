package losses

import (
	"fmt"
	"math"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/builtins/nn"
	"github.com/dadash/dadash/builtins/torch/aten"
)

// softTriple is SoftTriple (Qian et al., ICCV 2019) with K centres per
// class, the rows c*K .. c*K+K-1 of proxies. With xn and the normalised
// centres w, s_ck = xn . w_ck:
//
//	S_c      = sum_k softmax_k(s_ck / gamma) * s_ck          relaxed class similarity
//	classify = CE(la * (S - margin * onehot(y)), y)
//	reg      = sum over classes and pairs k < k' of sqrt(2 + 1e-5 - 2 w_ck . w_ck') / (C K (K-1))
//	loss     = classify + tau * reg                          (reg is 0 when K = 1)
//
// as the authors' code computes it (the regulariser's denominator counts
// ordered pairs although the sum runs over unordered ones).
type softTriple struct{ m *nn.Module }

func (l softTriple) Module() *nn.Module { return l.m }

func (l softTriple) k() int64 {
	if i, err := starlark.AsInt32(l.m.AttrValue("centers_per_class")); err == nil && i > 0 {
		return int64(i)
	}
	return 0
}

func (l softTriple) check() (p aten.Tensor, k int64, err error) {
	if p, err = proxiesOf(l.m); err != nil {
		return
	}
	k = l.k()
	if k < 1 || p.Dim() != 2 || p.Shape()[0]%k != 0 {
		return p, k, fmt.Errorf("SoftTriple.centers_per_class (%v) must be a positive int that divides the number of rows of proxies %s", l.m.AttrValue("centers_per_class"), shape(p))
	}
	return p, k, nil
}

func (l softTriple) NumClasses() int64 {
	p, k, err := l.check()
	if err != nil {
		return 0
	}
	return p.Shape()[0] / k
}

func (l softTriple) EmbedDim() int64 { return proxyAxis(l.m, 1) }

// classSim returns S (B x C) and the normalised centres.
func (l softTriple) classSim(c *calc, x aten.Tensor, gamma float64) (sim, centers aten.Tensor) {
	p, k, err := l.check()
	if err != nil {
		c.Err = err
		return
	}
	n := p.Shape()[0] / k
	centers = c.normalize(p)
	s := c.op("view", aten.T(c.mm(c.normalize(x), c.t(centers))), aten.Is(-1, n, k))
	w := c.op("softmax", aten.T(c.scale(s, 1/gamma)), aten.I(2))
	sim = c.op("sum", aten.T(c.mul(w, s)), aten.Is(2))
	return sim, centers
}

func (l softTriple) Compute(x, y, pos aten.Tensor) (aten.Tensor, []Part, error) {
	var hp [4]float64
	for i, n := range []string{"la", "gamma", "margin", "tau"} {
		v, err := param(l.m, n)
		if err != nil {
			return aten.Tensor{}, nil, err
		}
		hp[i] = v
	}
	la, gamma, margin, tau := hp[0], hp[1], hp[2], hp[3]
	var c calc
	sim, centers := l.classSim(&c, x, gamma)
	n, k, d := l.NumClasses(), l.k(), l.EmbedDim()
	if c.Err != nil {
		return aten.Tensor{}, nil, c.Err
	}
	oh, err := c.op("one_hot", aten.T(y), aten.I(n)).To(x.DType(), "", false)
	if c.Err == nil && err != nil {
		c.Err = err
	}
	logits := c.scale(c.op("sub", aten.T(sim), aten.T(c.scale(oh, margin))), la)
	classify := c.op("cross_entropy_loss", aten.T(logits), aten.T(y), aten.None(), aten.I(1), aten.I(-100), aten.F(0))
	var reg aten.Tensor
	if k > 1 {
		w := c.op("view", aten.T(centers), aten.Is(n, k, d))
		gram := c.op("bmm", aten.T(w), aten.T(c.op("transpose", aten.T(w), aten.I(1), aten.I(2)))) // C x K x K
		upper := c.op("triu", aten.T(c.op("ones_like", aten.T(gram), aten.KW("dtype", aten.D(aten.Bool)))), aten.I(1))
		pairs := c.op("masked_select", aten.T(gram), aten.T(upper))
		dist := c.op("sqrt", aten.T(c.affine(pairs, -2, 2+1e-5)))
		reg = c.scale(c.op("sum", aten.T(dist)), 1/float64(n*k*(k-1)))
	} else {
		reg = c.op("zeros_like", aten.T(classify))
	}
	loss := c.add(classify, c.scale(reg, tau))
	if c.Err != nil {
		return aten.Tensor{}, nil, c.Err
	}
	return loss, []Part{{"classify", classify}, {"reg", reg}}, nil
}

// ProxyFor picks, for each sample, the centre of its class most similar to
// it (a real centre, so DADA's proxy domain is made of centres); without
// embeddings, the mean of the class's centres.
func (l softTriple) ProxyFor(x, y aten.Tensor) (aten.Tensor, error) {
	p, k, err := l.check()
	if err != nil {
		return aten.Tensor{}, err
	}
	n, d := p.Shape()[0]/k, p.Shape()[1]
	var c calc
	if !x.Defined() {
		means := c.op("mean", aten.T(c.op("view", aten.T(p), aten.Is(n, k, d))), aten.Is(1))
		out := c.op("index_select", aten.T(means), aten.I(0), aten.T(y))
		return out, c.Err
	}
	var idx aten.Tensor
	err = aten.NoGrad(func() error {
		w := c.op("view", aten.T(c.normalize(p)), aten.Is(n, k, d))
		own := c.op("index_select", aten.T(w), aten.I(0), aten.T(y))                                // B x K x d
		s := c.op("bmm", aten.T(own), aten.T(c.op("unsqueeze", aten.T(c.normalize(x)), aten.I(2)))) // B x K x 1
		best := c.op("argmax", aten.T(c.op("squeeze", aten.T(s), aten.I(2))), aten.I(1))
		idx = c.add(c.op("mul", aten.T(y), aten.I(k)), best)
		return c.Err
	})
	if err != nil {
		return aten.Tensor{}, err
	}
	return aten.Run("index_select", aten.T(p), aten.I(0), aten.T(idx))
}

func (l softTriple) ClassSimilarity(x aten.Tensor) (aten.Tensor, error) {
	gamma, err := param(l.m, "gamma")
	if err != nil {
		return aten.Tensor{}, err
	}
	var c calc
	sim, _ := l.classSim(&c, x, gamma)
	return sim, c.Err
}

const docSoftTriple = `SoftTriple (Qian et al., ICCV 2019): K = centers_per_class learnable centres per class,
the rows c*K .. c*K+K-1 of proxies (C*K x d). With cosine similarities s_ck of a sample to
the normalised centres:
  S_c = sum_k softmax_k(s_ck / gamma) * s_ck
  classify = cross_entropy(la * (S - margin * onehot(y)), y)
  reg = sum_c sum_{k<k'} sqrt(2 + 1e-5 - 2 w_ck . w_ck') / (C * K * (K - 1))
  loss = classify + tau * reg;  loss.parts = {"classify": ..., "reg": ...}
Initialisation as the authors': U(+-1/sqrt(C*K)); proxy_init="norm" gives randn / 8.
pos_proxies is accepted and ignored (every sample is compared with every class).
proxy_for(labels, embeddings) gives each sample's nearest centre of its class.`

func buildSoftTriple(fn string, numClasses, embedDim int64, vals map[string]starlark.Value, f factory) (*nn.Module, error) {
	k, _ := vals["centers_per_class"].(starlark.Int).Int64()
	rows := numClasses * k
	p, err := f.initProxies(fn, string(vals["proxy_init"].(starlark.String)), rows, embedDim, 1/math.Sqrt(float64(rows)))
	if err != nil {
		return nil, err
	}
	return newLoss("SoftTriple", p, func(m *nn.Module) Loss { return softTriple{m} })
}

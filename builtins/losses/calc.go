package losses

import (
	"math"

	"github.com/dadash/dadash/builtins/nn"
	"github.com/dadash/dadash/builtins/torch/aten"
)

// calc is aten.Calc with this package's shorthands.
type calc struct{ aten.Calc }

func (c *calc) op(name string, args ...aten.Arg) aten.Tensor { return c.Op(name, args...) }

func (c *calc) mm(a, b aten.Tensor) aten.Tensor  { return c.op("mm", aten.T(a), aten.T(b)) }
func (c *calc) t(a aten.Tensor) aten.Tensor      { return c.op("t", aten.T(a)) }
func (c *calc) add(a, b aten.Tensor) aten.Tensor { return c.op("add", aten.T(a), aten.T(b)) }
func (c *calc) mul(a, b aten.Tensor) aten.Tensor { return c.op("mul", aten.T(a), aten.T(b)) }
func (c *calc) mean(a aten.Tensor) aten.Tensor   { return c.op("mean", aten.T(a)) }

// affine is s*a + k for scalars s and k.
func (c *calc) affine(a aten.Tensor, s, k float64) aten.Tensor {
	return c.op("add", aten.T(c.op("mul", aten.T(a), aten.F(s))), aten.F(k))
}

func (c *calc) scale(a aten.Tensor, s float64) aten.Tensor {
	return c.op("mul", aten.T(a), aten.F(s))
}

// normalize is F.normalize(a, dim=-1): rows divided by max(||row||, 1e-12).
func (c *calc) normalize(a aten.Tensor) aten.Tensor {
	if c.Err != nil {
		return aten.Tensor{}
	}
	t, err := nn.Normalize(a, 2, -1, 1e-12)
	if err != nil {
		c.Err = err
	}
	return t
}

func (c *calc) detach(a aten.Tensor) aten.Tensor {
	if c.Err != nil {
		return aten.Tensor{}
	}
	t, err := a.Detach()
	if err != nil {
		c.Err = err
	}
	return t
}

// lseMasked is DADA.md's lse_m(S, mask, dim) = log(1 + sum of exp(S) over
// the masked entries along dim), kept as a size-1 dimension. A zero column
// is the "1 +": masked-out entries are -inf, so an empty mask gives exactly
// log(1) = 0 with a zero gradient, and large alphas cannot overflow.
func (c *calc) lseMasked(s, mask aten.Tensor, dim int64) aten.Tensor {
	filled := c.op("masked_fill", aten.T(s), aten.T(c.op("logical_not", aten.T(mask))), aten.F(math.Inf(-1)))
	zero := c.op("zeros_like", aten.T(c.op("narrow", aten.T(filled), aten.I(dim), aten.I(0), aten.I(1))))
	return c.op("logsumexp", aten.T(c.op("cat", aten.Ts(filled, zero), aten.I(dim))), aten.Is(dim), aten.B(true))
}

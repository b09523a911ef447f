package dada

import (
	"github.com/dadash/dadash/builtins/nn"
	"github.com/dadash/dadash/builtins/torch/aten"
)

// calc is aten.Calc with this package's shorthands.
type calc struct{ aten.Calc }

func (c *calc) op(name string, args ...aten.Arg) aten.Tensor { return c.Op(name, args...) }

func (c *calc) add(a, b aten.Tensor) aten.Tensor { return c.op("add", aten.T(a), aten.T(b)) }
func (c *calc) sub(a, b aten.Tensor) aten.Tensor { return c.op("sub", aten.T(a), aten.T(b)) }
func (c *calc) mul(a, b aten.Tensor) aten.Tensor { return c.op("mul", aten.T(a), aten.T(b)) }
func (c *calc) mean(a aten.Tensor) aten.Tensor   { return c.op("mean", aten.T(a)) }
func (c *calc) scale(a aten.Tensor, s float64) aten.Tensor {
	return c.op("mul", aten.T(a), aten.F(s))
}

// cat joins tensors along dim 0.
func (c *calc) cat(ts ...aten.Tensor) aten.Tensor { return c.op("cat", aten.Ts(ts...), aten.I(0)) }

func (c *calc) rows(a, idx aten.Tensor) aten.Tensor {
	return c.op("index_select", aten.T(a), aten.I(0), aten.T(idx))
}

func (c *calc) softmax(a aten.Tensor) aten.Tensor { return c.op("softmax", aten.T(a), aten.I(1)) }

// ce is F.cross_entropy(logits, target) with mean reduction.
func (c *calc) ce(logits, target aten.Tensor) aten.Tensor {
	if c.Err != nil {
		return aten.Tensor{}
	}
	t, err := nn.CrossEntropy(logits, target, 0)
	if err != nil {
		c.Err = err
	}
	return t
}

// normalize is F.normalize(a, dim=-1).
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
	if c.Err != nil || !a.Defined() {
		return a
	}
	t, err := a.Detach()
	if err != nil {
		c.Err = err
	}
	return t
}

func (c *calc) check(err error) {
	if c.Err == nil && err != nil {
		c.Err = err
	}
}

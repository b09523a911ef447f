package torch

import (
	"fmt"
	"math"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/builtins/torch/aten"
	"github.com/dadash/dadash/lang"
)

var autogradModule = NewNamespace("torch.autograd", "-", "torch.autograd: gradcheck (finite-difference check of gradients).", starlark.StringDict{
	"gradcheck": lang.Func("torch.autograd.gradcheck", docGradcheck, fnGradcheck),
})

const docGradcheck = `torch.autograd.gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3)

Checks the gradients autograd computes for fn(*inputs) against central finite
differences, for every input that requires grad (use float64 inputs). fn may
return a tensor or a tuple of tensors. Returns True, or fails naming the
output, input and element whose derivative differs.`

func tensorList(fn, what string, v starlark.Value) ([]*Tensor, error) {
	if t, ok := v.(*Tensor); ok {
		return []*Tensor{t}, nil
	}
	seq, ok := v.(starlark.Indexable)
	if !ok {
		return nil, fmt.Errorf("%s: %s must be a Tensor or a tuple of tensors, got %s", fn, what, v.Type())
	}
	out := make([]*Tensor, seq.Len())
	for i := range out {
		t, ok := seq.Index(i).(*Tensor)
		if !ok {
			return nil, fmt.Errorf("%s: %s[%d] is a %s, not a Tensor", fn, what, i, seq.Index(i).Type())
		}
		out[i] = t
	}
	return out, nil
}

func fnGradcheck(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var fn starlark.Callable
	var inputsV starlark.Value
	eps, atol, rtol := 1e-6, 1e-5, 1e-3
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "fn", &fn, "inputs", &inputsV, "eps?", &eps, "atol?", &atol, "rtol?", &rtol); err != nil {
		return nil, err
	}
	inputs, err := tensorList(b.Name(), "inputs", inputsV)
	if err != nil {
		return nil, err
	}
	callArgs := make(starlark.Tuple, len(inputs))
	for i, t := range inputs {
		callArgs[i] = t
	}
	outputs := func() ([]*Tensor, error) {
		v, err := starlark.Call(thread, fn, callArgs, nil)
		if err != nil {
			return nil, err
		}
		return tensorList(b.Name(), "the result of fn", v)
	}
	values := func() ([]float64, error) {
		var all []float64
		err := aten.NoGrad(func() error {
			outs, err := outputs()
			if err != nil {
				return err
			}
			for _, o := range outs {
				v, err := o.t.Float64s()
				if err != nil {
					return err
				}
				all = append(all, v...)
			}
			return nil
		})
		return all, err
	}

	// Analytical Jacobian: one backward pass per output element.
	outs, err := outputs()
	if err != nil {
		return nil, err
	}
	type entry struct{ out, outElem, in, inElem int }
	analytic := map[entry]float64{}
	for oi, o := range outs {
		if !o.t.RequiresGrad() {
			continue
		}
		n := o.t.Numel()
		for j := int64(0); j < n; j++ {
			oneHot := make([]float64, n)
			oneHot[j] = 1
			g, err := aten.FromFloat64s(oneHot, o.t.Shape()...)
			if err != nil {
				return nil, err
			}
			if g, err = g.To(o.t.DType(), o.t.Device(), false); err != nil {
				return nil, err
			}
			for _, in := range inputs {
				if err := in.t.SetGrad(aten.Tensor{}); err != nil {
					return nil, err
				}
			}
			if err := o.t.Backward(g, true, false); err != nil {
				return nil, fmt.Errorf("%s: backward of output %d: %w", b.Name(), oi, err)
			}
			for ii, in := range inputs {
				if !in.t.RequiresGrad() {
					continue
				}
				gr, ok, err := in.t.Grad()
				if err != nil {
					return nil, err
				}
				if !ok {
					continue
				}
				gv, err := gr.Float64s()
				if err != nil {
					return nil, err
				}
				for k, v := range gv {
					analytic[entry{oi, int(j), ii, k}] = v
				}
			}
		}
	}
	for _, in := range inputs {
		_ = in.t.SetGrad(aten.Tensor{})
	}

	// Numerical Jacobian: central differences on a detached view that
	// shares the input's storage.
	outSizes := make([]int, len(outs))
	for i, o := range outs {
		outSizes[i] = int(o.t.Numel())
	}
	for ii, in := range inputs {
		if !in.t.RequiresGrad() {
			continue
		}
		flat, err := in.t.Detach()
		if err != nil {
			return nil, err
		}
		if flat, err = aten.Run("view", aten.T(flat), aten.Is(-1)); err != nil {
			return nil, fmt.Errorf("%s: input %d must be contiguous: %w", b.Name(), ii, err)
		}
		orig, err := flat.Float64s()
		if err != nil {
			return nil, err
		}
		for k, x0 := range orig {
			at := []aten.IndexItem{{Kind: aten.IndexInt, I: int64(k)}}
			if err := flat.IndexPut(at, aten.Tensor{}, x0+eps); err != nil {
				return nil, err
			}
			plus, err := values()
			if err != nil {
				return nil, err
			}
			if err := flat.IndexPut(at, aten.Tensor{}, x0-eps); err != nil {
				return nil, err
			}
			minus, err := values()
			if err != nil {
				return nil, err
			}
			if err := flat.IndexPut(at, aten.Tensor{}, x0); err != nil {
				return nil, err
			}
			pos := 0
			for oi, n := range outSizes {
				for j := 0; j < n; j++ {
					num := (plus[pos+j] - minus[pos+j]) / (2 * eps)
					ana := analytic[entry{oi, j, ii, k}]
					if math.IsNaN(num) != math.IsNaN(ana) || math.Abs(num-ana) > atol+rtol*math.Abs(num) {
						return nil, fmt.Errorf("%s: Jacobian mismatch for output %d with respect to input %d, output element %d, input element %d: numerical %.8g, analytical %.8g", b.Name(), oi, ii, j, k, num, ana)
					}
				}
				pos += n
			}
		}
	}
	return starlark.True, nil
}

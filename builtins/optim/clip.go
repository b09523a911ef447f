package optim

import (
	"fmt"
	"math"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/builtins/torch"
	"github.com/dadash/dadash/builtins/torch/aten"
	"github.com/dadash/dadash/lang"
)

const docClipNorm = `optim.clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False)

torch.nn.utils.clip_grad_norm_: scales the gradients of parameters (a tensor or a list of
tensors; those without .grad are ignored) in place so that their total norm, computed as if
they were one vector, is at most max_norm:
    total_norm = norm([norm(g, norm_type) for g in grads], norm_type)   (max |g| for norm_type=inf)
    g *= min(max_norm / (total_norm + 1e-6), 1)
Returns total_norm (before clipping) as a tensor. norm_type may be float("inf").
error_if_nonfinite=True makes a NaN or infinite total norm an error instead.`

const docClipValue = `optim.clip_grad_value_(parameters, clip_value)

torch.nn.utils.clip_grad_value_: clamps every gradient of parameters (a tensor or a list of
tensors) in place to [-clip_value, clip_value]. Returns None.`

// grads returns the defined gradients of the parameters.
func grads(fn string, params starlark.Value) ([]aten.Tensor, error) {
	ts, err := tensorsOf(fn, "parameters", params)
	if err != nil {
		return nil, err
	}
	var out []aten.Tensor
	for _, t := range ts {
		g, ok, err := t.ATen().Grad()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", fn, err)
		}
		if ok {
			out = append(out, g)
		}
	}
	return out, nil
}

func fnClipGradNorm(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var params starlark.Value
	var maxNorm float64
	normType := 2.0
	errorIfNonfinite := false
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "parameters", &params, "max_norm", &maxNorm, "norm_type?", &normType, "error_if_nonfinite?", &errorIfNonfinite); err != nil {
		return nil, err
	}
	gs, err := grads(b.Name(), params)
	if err != nil {
		return nil, err
	}
	if len(gs) == 0 {
		t, err := aten.FromFloat32s([]float32{0})
		if err != nil {
			return nil, err
		}
		return torch.New(t), nil
	}
	var total aten.Tensor
	err = aten.NoGrad(func() error {
		device := gs[0].Device()
		norms := make([]aten.Tensor, len(gs))
		for i, g := range gs {
			d, err := g.Detach()
			if err != nil {
				return err
			}
			var n aten.Tensor
			if math.IsInf(normType, 1) {
				a, err := run("abs", aten.T(d))
				if err != nil {
					return err
				}
				n, err = run("max", aten.T(a))
				if err != nil {
					return err
				}
			} else {
				// torch.norm(g, p) with a number p and no dim: aten::norm over all dims.
				dims := make([]int64, d.Dim())
				for k := range dims {
					dims[k] = int64(k)
				}
				n, err = run("norm", aten.T(d), aten.F(normType), aten.Is(dims...), aten.KW("keepdim", aten.B(false)))
				if err != nil {
					return err
				}
			}
			if n, err = n.To(-1, device, false); err != nil {
				return err
			}
			norms[i] = n
		}
		stacked, err := run("stack", aten.Ts(norms...))
		if math.IsInf(normType, 1) {
			if len(norms) == 1 {
				total = norms[0]
			} else if err == nil {
				total, err = run("max", aten.T(stacked))
			}
		} else if err == nil {
			total, err = run("norm", aten.T(stacked), aten.F(normType), aten.Is(0), aten.KW("keepdim", aten.B(false)))
		}
		if err != nil {
			return err
		}
		if errorIfNonfinite {
			v, err := total.Float64s()
			if err != nil {
				return err
			}
			if math.IsNaN(v[0]) || math.IsInf(v[0], 0) {
				return fmt.Errorf("the total norm of order %s for gradients from `parameters` is non-finite, so it cannot be clipped. To disable this error and scale the gradients by the non-finite norm anyway, set error_if_nonfinite=False", starlark.Float(normType))
			}
		}
		// max_norm / (total_norm + 1e-6) is Tensor.__rtruediv__, i.e. reciprocal() * max_norm.
		plus, err := run("add", aten.T(total), aten.F(1e-6))
		if err != nil {
			return err
		}
		recip, err := run("reciprocal", aten.T(plus))
		if err != nil {
			return err
		}
		coef, err := run("mul", aten.T(recip), aten.F(maxNorm))
		if err != nil {
			return err
		}
		clamped, err := run("clamp", aten.T(coef), aten.KW("max", aten.F(1.0)))
		if err != nil {
			return err
		}
		for _, g := range gs {
			c, err := clamped.To(-1, g.Device(), false)
			if err != nil {
				return err
			}
			d, err := g.Detach()
			if err != nil {
				return err
			}
			if err := inplace("mul_", aten.T(d), aten.T(c)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return torch.New(total), nil
}

func fnClipGradValue(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var params starlark.Value
	var clip float64
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "parameters", &params, "clip_value", &clip); err != nil {
		return nil, err
	}
	gs, err := grads(b.Name(), params)
	if err != nil {
		return nil, err
	}
	err = aten.NoGrad(func() error {
		for _, g := range gs {
			if err := inplace("clamp_", aten.T(g), aten.KW("min", aten.F(-clip)), aten.KW("max", aten.F(clip))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return starlark.None, nil
}

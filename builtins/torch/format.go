package torch

import (
	"fmt"

	"github.com/dadash/dadash/builtins/torch/aten"
	"github.com/dadash/dadash/builtins/torch/tensorfmt"
	"github.com/dadash/dadash/lang"
)

// String prints the tensor as PyTorch's repr does.
func (x *Tensor) String() string {
	s, err := formatTensor(x.t)
	if err != nil {
		return fmt.Sprintf("<Tensor shape=%s dtype=%s: %v>", lang.Size(x.t.Shape()), x.t.DType(), err)
	}
	return s
}

func formatTensor(t aten.Tensor) (string, error) {
	if !t.Defined() {
		return "tensor(<undefined>)", nil
	}
	opts := tensorfmt.Options{DType: t.DType().String(), Device: t.Device(), GradFn: t.GradFnName()}
	if opts.GradFn == "" {
		opts.RequiresGrad = t.RequiresGrad()
	}
	shape := t.Shape()
	src := t
	edges := t.Numel() > tensorfmt.DefaultThreshold
	if edges {
		// Copy out only what the summary shows, so printing a 60,000 x 512
		// embedding matrix moves 36 numbers, not 31 million.
		var err error
		if src, err = edgeTensor(t, shape); err != nil {
			return "", err
		}
	}
	var data tensorfmt.Data
	var err error
	switch dt := t.DType(); {
	case dt == aten.Bool:
		data.B, err = src.Bools()
	case dt.IsFloating():
		data.F, err = src.Float64s()
	default:
		data.I, err = src.Int64s()
	}
	if err != nil {
		return "", err
	}
	if edges {
		return tensorfmt.FormatEdges(data, shape, opts)
	}
	return tensorfmt.Format(data, shape, opts)
}

// edgeTensor keeps the first and last EdgeItems of every long dimension.
func edgeTensor(t aten.Tensor, shape []int64) (aten.Tensor, error) {
	e := int64(tensorfmt.DefaultEdgeItems)
	out, err := t.Detach()
	if err != nil {
		return out, err
	}
	for d, n := range shape {
		if n <= 2*e {
			continue
		}
		idx := make([]int64, 0, 2*e)
		for i := int64(0); i < e; i++ {
			idx = append(idx, i)
		}
		for i := n - e; i < n; i++ {
			idx = append(idx, i)
		}
		it, err := aten.FromInt64s(idx, int64(len(idx)))
		if err != nil {
			return out, err
		}
		if dev := t.Device(); dev != "cpu" {
			if it, err = it.To(-1, dev, false); err != nil {
				return out, err
			}
		}
		if out, err = aten.Run("index_select", aten.T(out), aten.I(int64(d)), aten.T(it)); err != nil {
			return out, err
		}
	}
	return out, nil
}

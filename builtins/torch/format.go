package torch

import (
	"fmt"

	"github.com/dadash/dadash/builtins/torch/aten"
	"github.com/dadash/dadash/builtins/torch/tensorfmt"
)

// String prints the tensor as PyTorch's repr does.
func (x *Tensor) String() string {
	s, err := formatTensor(x.t)
	if err != nil {
		return fmt.Sprintf("<Tensor shape=%s dtype=%s: %v>", shapeString(x.t.Shape()), x.t.DType(), err)
	}
	return s
}

func formatTensor(t aten.Tensor) (string, error) {
	if !t.Defined() {
		return "tensor(<undefined>)", nil
	}
	var data tensorfmt.Data
	var err error
	switch dt := t.DType(); {
	case dt == aten.Bool:
		data.B, err = t.Bools()
	case dt.IsFloating():
		data.F, err = t.Float64s()
	default:
		data.I, err = t.Int64s()
	}
	if err != nil {
		return "", err
	}
	opts := tensorfmt.Options{DType: t.DType().String(), Device: t.Device(), GradFn: t.GradFnName()}
	if opts.GradFn == "" {
		opts.RequiresGrad = t.RequiresGrad()
	}
	return tensorfmt.Format(data, t.Shape(), opts)
}

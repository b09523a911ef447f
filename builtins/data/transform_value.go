package data

import (
	"fmt"
	"strings"
	"unsafe"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/builtins/data/imgproc"
	"github.com/dadash/dadash/builtins/torch"
	"github.com/dadash/dadash/builtins/torch/aten"
	"github.com/dadash/dadash/lang"
)

// Transform is a sequence of image operations (one op, or a compose).
// Calling it applies it to an image tensor: t(image, seed=0).
type Transform struct {
	ops []op
}

var (
	_ starlark.Callable = (*Transform)(nil)
	_ starlark.HasAttrs = (*Transform)(nil)
)

func single(o op) *Transform { return &Transform{ops: []op{o}} }

func (t *Transform) String() string {
	if len(t.ops) == 1 {
		return "data." + t.ops[0].String()
	}
	parts := make([]string, len(t.ops))
	for i, o := range t.ops {
		parts[i] = o.String()
	}
	return "data.compose([" + strings.Join(parts, ", ") + "])"
}
func (t *Transform) Type() string          { return "data.Transform" }
func (t *Transform) Freeze()               {}
func (t *Transform) Truth() starlark.Bool  { return true }
func (t *Transform) Hash() (uint32, error) { return starlark.String(t.String()).Hash() }
func (t *Transform) Name() string          { return "data.Transform" }

func (t *Transform) AttrNames() []string { return []string{"steps"} }

func (t *Transform) Attr(name string) (starlark.Value, error) {
	if name == "steps" {
		out := make([]string, len(t.ops))
		for i, o := range t.ops {
			out[i] = o.String()
		}
		return stringList(out), nil
	}
	return nil, nil
}

// run applies the operations in order, fusing to_tensor with a normalize
// that directly follows it into one table lookup per pixel.
func (t *Transform) run(s *sample) error {
	for i := 0; i < len(t.ops); i++ {
		o := t.ops[i]
		if tt, ok := o.(*toTensor); ok && i+1 < len(t.ops) {
			if n, ok := t.ops[i+1].(*normalize); ok && tt.norm == nil {
				o = &toTensor{scale: tt.scale, norm: n}
				i++
			}
		}
		if err := o.apply(s); err != nil {
			return err
		}
	}
	return nil
}

// CallInternal applies the transform to one image tensor: uint8 (C, H, W)
// or (H, W) for images, float (C, H, W) for what to_tensor made. The result
// is a float32 tensor after to_tensor, else a uint8 (C, H, W) tensor.
func (t *Transform) CallInternal(thread *starlark.Thread, args starlark.Tuple, kwargs []starlark.Tuple) (_ starlark.Value, err error) {
	defer lang.Recover("data.Transform", &err)
	var img *torch.Tensor
	seed := 0
	if err := starlark.UnpackArgs("data.Transform", args, kwargs, "image", &img, "seed?", &seed); err != nil {
		return nil, err
	}
	s, err := sampleFromTensor(img.ATen())
	if err != nil {
		return nil, fmt.Errorf("data.Transform: %w", err)
	}
	s.rng = newRNG(uint64(seed), streamTransform, 0, 0, 0)
	if err := t.run(s); err != nil {
		return nil, fmt.Errorf("%s: %w", t, err)
	}
	return sampleTensor(s)
}

func sampleFromTensor(a aten.Tensor) (*sample, error) {
	shape := a.Shape()
	if a.Device() != "cpu" {
		return nil, fmt.Errorf("the image is on %s; transforms run on the CPU (use .cpu())", a.Device())
	}
	if a.DType() == aten.Uint8 {
		var c, h, w int
		switch len(shape) {
		case 2:
			c, h, w = 1, int(shape[0]), int(shape[1])
		case 3:
			c, h, w = int(shape[0]), int(shape[1]), int(shape[2])
		default:
			return nil, fmt.Errorf("expected an image of shape (C, H, W) or (H, W), got %s", lang.Size(shape))
		}
		if c != 1 && c != 3 {
			return nil, fmt.Errorf("expected 1 or 3 channels (shape (C, H, W)), got %d", c)
		}
		planes := make([]byte, c*h*w)
		if len(planes) > 0 {
			if err := a.CopyOut(aten.Uint8, unsafe.Pointer(&planes[0]), len(planes)); err != nil {
				return nil, err
			}
		}
		m := imgproc.New(w, h, c)
		for ch := 0; ch < c; ch++ {
			for i := 0; i < h*w; i++ {
				m.Pix[i*c+ch] = planes[ch*h*w+i]
			}
		}
		return &sample{path: "image", img: m, w: w, h: h}, nil
	}
	if a.DType().IsFloating() && len(shape) == 3 {
		t := &chw{C: int(shape[0]), H: int(shape[1]), W: int(shape[2])}
		t.Data = make([]float32, t.C*t.H*t.W)
		if len(t.Data) > 0 {
			if err := a.CopyOut(aten.Float32, unsafe.Pointer(&t.Data[0]), 4*len(t.Data)); err != nil {
				return nil, err
			}
		}
		return &sample{path: "image", t: t, w: t.W, h: t.H}, nil
	}
	return nil, fmt.Errorf("expected a uint8 image tensor (C, H, W) or a float tensor (C, H, W), got %s of shape %s", a.DType(), lang.Size(shape))
}

func ptr(b []byte) unsafe.Pointer {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Pointer(&b[0])
}

// transformArg accepts a Transform, a list of them (composed), or None.
func transformArg(fn string, v starlark.Value) (*Transform, error) {
	if v == nil || v == starlark.None {
		return nil, nil
	}
	var ops []op
	var add func(v starlark.Value) error
	add = func(v starlark.Value) error {
		switch x := v.(type) {
		case *Transform:
			ops = append(ops, x.ops...)
			return nil
		case *starlark.List, starlark.Tuple:
			it := starlark.Iterate(x)
			defer it.Done()
			var e starlark.Value
			for it.Next(&e) {
				if err := add(e); err != nil {
					return err
				}
			}
			return nil
		}
		return fmt.Errorf("%s: expected a data transform (e.g. data.to_tensor()) or a list of them, got %s", fn, v.Type())
	}
	if err := add(v); err != nil {
		return nil, err
	}
	return &Transform{ops: ops}, nil
}

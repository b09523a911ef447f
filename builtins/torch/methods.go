package torch

import (
	"fmt"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/builtins/torch/aten"
	"github.com/dadash/dadash/lang"
)

type method struct {
	fn  func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error)
	doc string
}

// tensorMethods are the methods implemented in Go (PyTorch's Python-level
// methods); every other name goes to aten.
var tensorMethods map[string]method

func init() {
	tensorMethods = map[string]method{
		"size":              {mSize, "t.size(dim=None): the shape as a tuple, or the size of one dimension."},
		"dim":               {mDim, "t.dim(): the number of dimensions."},
		"numel":             {mNumel, "t.numel(): the number of elements."},
		"nelement":          {mNumel, "t.nelement(): the number of elements."},
		"element_size":      {mElementSize, "t.element_size(): bytes per element."},
		"item":              {mItem, "t.item(): the value of a one-element tensor as a Python number."},
		"tolist":            {mTolist, "t.tolist(): the elements as nested lists of numbers."},
		"to":                {mTo, "t.to(dtype) / t.to(device) / t.to(device, dtype) / t.to(other) / t.to(dtype=, device=, copy=False): converted tensor."},
		"float":             {castTo(aten.Float32), "t.float(): as float32."},
		"double":            {castTo(aten.Float64), "t.double(): as float64."},
		"half":              {castTo(aten.Float16), "t.half(): as float16."},
		"bfloat16":          {castTo(aten.BFloat16), "t.bfloat16(): as bfloat16."},
		"long":              {castTo(aten.Int64), "t.long(): as int64."},
		"int":               {castTo(aten.Int32), "t.int(): as int32."},
		"short":             {castTo(aten.Int16), "t.short(): as int16."},
		"char":              {castTo(aten.Int8), "t.char(): as int8."},
		"byte":              {castTo(aten.Uint8), "t.byte(): as uint8."},
		"bool":              {castTo(aten.Bool), "t.bool(): as bool."},
		"cpu":               {mCPU, "t.cpu(): the tensor on the CPU."},
		"cuda":              {mCUDA, "t.cuda(device=None): the tensor on a GPU."},
		"view":              {varShape("view"), "t.view(*shape): same data, new shape (-1 infers one dimension)."},
		"reshape":           {varShape("reshape"), "t.reshape(*shape): new shape, copying only if needed."},
		"permute":           {varShape("permute"), "t.permute(*dims): dimensions reordered."},
		"repeat":            {varShape("repeat"), "t.repeat(*sizes): tiled copies along each dimension."},
		"expand":            {varShape("expand"), "t.expand(*sizes): broadcast view (-1 keeps a dimension)."},
		"tile":              {varShape("tile"), "t.tile(*dims): tiled copies."},
		"flip":              {varShape("flip"), "t.flip(*dims): reversed along dims."},
		"backward":          {mBackward, "t.backward(gradient=None, retain_graph=None, create_graph=False): backpropagates into the .grad of the leaves."},
		"detach":            {mDetach, "t.detach(): same data, outside the autograd graph."},
		"requires_grad_":    {mRequiresGrad, "t.requires_grad_(requires_grad=True): switches gradient recording for this leaf; returns t."},
		"retain_grad":       {mRetainGrad, "t.retain_grad(): keep .grad for this non-leaf tensor."},
		"unique":            {mUnique, docUnique},
		"norm":              {mNorm, docNorm},
		"type":              {mType, "t.type(): the legacy type name, e.g. 'torch.FloatTensor'."},
		"is_contiguous":     {mIsContiguous, "t.is_contiguous(): whether the elements are laid out densely in row-major order."},
		"is_floating_point": {mIsFloating, "t.is_floating_point(): whether the dtype is a floating type."},
	}
	for name, m := range tensorMethods {
		lang.SetDoc("Tensor."+name, m.doc)
		m.fn = lang.Safe(m.fn)
		tensorMethods[name] = m
	}
}

func recv(b *starlark.Builtin) *Tensor { return b.Receiver().(*Tensor) }

func mSize(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var dim starlark.Value = starlark.None
	if err := lang.UnpackArgs("Tensor.size", args, kwargs, "dim?", &dim); err != nil {
		return nil, err
	}
	sh := recv(b).t.Shape()
	if dim == starlark.None {
		return shapeTuple(sh), nil
	}
	d, err := starlark.AsInt32(dim)
	if err != nil {
		return nil, fmt.Errorf("Tensor.size: dim must be an int")
	}
	if d < 0 {
		d += len(sh)
	}
	if d < 0 || d >= len(sh) {
		return nil, fmt.Errorf("Tensor.size: dimension out of range (expected to be in range of [%d, %d], but got %d)", -len(sh), len(sh)-1, dim)
	}
	return starlark.MakeInt64(sh[d]), nil
}

func mDim(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := lang.UnpackArgs("Tensor.dim", args, kwargs); err != nil {
		return nil, err
	}
	return starlark.MakeInt(recv(b).t.Dim()), nil
}

func mNumel(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := lang.UnpackArgs("Tensor.numel", args, kwargs); err != nil {
		return nil, err
	}
	return starlark.MakeInt64(recv(b).t.Numel()), nil
}

func mElementSize(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := lang.UnpackArgs("Tensor.element_size", args, kwargs); err != nil {
		return nil, err
	}
	return starlark.MakeInt(recv(b).t.DType().ElemSize()), nil
}

func mItem(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := lang.UnpackArgs("Tensor.item", args, kwargs); err != nil {
		return nil, err
	}
	x := recv(b)
	if n := x.t.Numel(); n != 1 {
		return nil, fmt.Errorf("Tensor.item: a Tensor with %d elements cannot be converted to a Python number (shape %s)", n, lang.Size(x.t.Shape()))
	}
	return scalarValue(x.t, 0)
}

// scalarValue returns element i (row-major) as a Starlark number or bool.
func scalarValue(t aten.Tensor, i int) (starlark.Value, error) {
	switch dt := t.DType(); {
	case dt == aten.Bool:
		v, err := t.Bools()
		if err != nil {
			return nil, err
		}
		return starlark.Bool(v[i]), nil
	case dt.IsFloating():
		v, err := t.Float64s()
		if err != nil {
			return nil, err
		}
		return starlark.Float(v[i]), nil
	default:
		v, err := t.Int64s()
		if err != nil {
			return nil, err
		}
		return starlark.MakeInt64(v[i]), nil
	}
}

func mTolist(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := lang.UnpackArgs("Tensor.tolist", args, kwargs); err != nil {
		return nil, err
	}
	x := recv(b)
	var elems []starlark.Value
	switch dt := x.t.DType(); {
	case dt == aten.Bool:
		v, err := x.t.Bools()
		if err != nil {
			return nil, err
		}
		for _, e := range v {
			elems = append(elems, starlark.Bool(e))
		}
	case dt.IsFloating():
		v, err := x.t.Float64s()
		if err != nil {
			return nil, err
		}
		for _, e := range v {
			elems = append(elems, starlark.Float(e))
		}
	default:
		v, err := x.t.Int64s()
		if err != nil {
			return nil, err
		}
		for _, e := range v {
			elems = append(elems, starlark.MakeInt64(e))
		}
	}
	sh := x.t.Shape()
	if len(sh) == 0 {
		return elems[0], nil
	}
	v, _ := nest(elems, sh)
	return v, nil
}

// nest builds nested lists of the given shape from row-major elements.
func nest(elems []starlark.Value, shape []int64) (starlark.Value, []starlark.Value) {
	if len(shape) == 1 {
		n := int(shape[0])
		return starlark.NewList(append([]starlark.Value{}, elems[:n]...)), elems[n:]
	}
	out := make([]starlark.Value, shape[0])
	for i := range out {
		out[i], elems = nest(elems, shape[1:])
	}
	return starlark.NewList(out), elems
}

func mTo(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	x := recv(b)
	dtype := aten.DType(-1)
	device := ""
	copyFlag := false
	set := func(v starlark.Value) error {
		switch v := v.(type) {
		case DType:
			dtype = v.d
		case starlark.String:
			device = string(v)
		case Device:
			device = v.s
		case *Tensor:
			dtype, device = v.t.DType(), v.t.Device()
		case starlark.NoneType:
		default:
			return fmt.Errorf("Tensor.to: expected a dtype, a device or a tensor, got %s", v.Type())
		}
		return nil
	}
	for _, a := range args {
		if err := set(a); err != nil {
			return nil, err
		}
	}
	for _, kv := range kwargs {
		switch k := string(kv[0].(starlark.String)); k {
		case "dtype", "device", "other":
			if err := set(kv[1]); err != nil {
				return nil, err
			}
		case "copy":
			c, ok := kv[1].(starlark.Bool)
			if !ok {
				return nil, fmt.Errorf("Tensor.to: copy must be a bool")
			}
			copyFlag = bool(c)
		case "non_blocking":
		default:
			return nil, fmt.Errorf("Tensor.to: unexpected keyword argument %q", k)
		}
	}
	t, err := x.t.To(dtype, device, copyFlag)
	if err != nil {
		return nil, fmt.Errorf("Tensor.to: %w", err)
	}
	return newTensor(t), nil
}

func castTo(d aten.DType) func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
	return func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if err := lang.UnpackArgs("Tensor."+b.Name(), args, kwargs); err != nil {
			return nil, err
		}
		t, err := recv(b).t.To(d, "", false)
		if err != nil {
			return nil, fmt.Errorf("Tensor.%s: %w", b.Name(), err)
		}
		return newTensor(t), nil
	}
}

func mCPU(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := lang.UnpackArgs("Tensor.cpu", args, kwargs); err != nil {
		return nil, err
	}
	t, err := recv(b).t.To(-1, "cpu", false)
	if err != nil {
		return nil, err
	}
	return newTensor(t), nil
}

func mCUDA(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var dev starlark.Value = starlark.None
	if err := lang.UnpackArgs("Tensor.cuda", args, kwargs, "device?", &dev); err != nil {
		return nil, err
	}
	d := "cuda"
	switch v := dev.(type) {
	case starlark.Int:
		d = fmt.Sprintf("cuda:%s", v)
	case starlark.String:
		d = string(v)
	case Device:
		d = v.s
	}
	t, err := recv(b).t.To(-1, d, false)
	if err != nil {
		return nil, fmt.Errorf("Tensor.cuda: %w", err)
	}
	return newTensor(t), nil
}

// varShape accepts t.view(2, 3) as well as t.view((2, 3)).
func varShape(name string) func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
	return func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if len(args) > 0 {
			sz, err := sizeArgs("Tensor."+name, args)
			if err != nil {
				return nil, err
			}
			args = starlark.Tuple{sz}
		}
		return recv(b).callMethod(name, args, kwargs)
	}
}

func mBackward(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var grad, retain starlark.Value = starlark.None, starlark.None
	create := false
	if err := lang.UnpackArgs("Tensor.backward", args, kwargs, "gradient?", &grad, "retain_graph?", &retain, "create_graph?", &create); err != nil {
		return nil, err
	}
	x := recv(b)
	var g aten.Tensor
	if grad != starlark.None {
		gt, ok := grad.(*Tensor)
		if !ok {
			return nil, fmt.Errorf("Tensor.backward: gradient must be a Tensor, got %s", grad.Type())
		}
		g = gt.t
	} else if x.t.Numel() != 1 {
		return nil, fmt.Errorf("Tensor.backward: grad can be implicitly created only for scalar outputs (this tensor has shape %s); pass gradient=", lang.Size(x.t.Shape()))
	}
	retainGraph := create
	if retain != starlark.None {
		r, ok := retain.(starlark.Bool)
		if !ok {
			return nil, fmt.Errorf("Tensor.backward: retain_graph must be a bool")
		}
		retainGraph = bool(r)
	}
	if !x.t.RequiresGrad() {
		return nil, fmt.Errorf("Tensor.backward: element 0 of tensors does not require grad and does not have a grad_fn (did you call requires_grad_() on the inputs, or compute it inside torch.no_grad?)")
	}
	if err := x.t.Backward(g, retainGraph, create); err != nil {
		return nil, fmt.Errorf("Tensor.backward: %w", err)
	}
	return starlark.None, nil
}

func mDetach(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := lang.UnpackArgs("Tensor.detach", args, kwargs); err != nil {
		return nil, err
	}
	t, err := recv(b).t.Detach()
	if err != nil {
		return nil, err
	}
	return newTensor(t), nil
}

func mRequiresGrad(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	on := true
	if err := lang.UnpackArgs("Tensor.requires_grad_", args, kwargs, "requires_grad?", &on); err != nil {
		return nil, err
	}
	x := recv(b)
	if err := setRequiresGrad("Tensor.requires_grad_", x, on); err != nil {
		return nil, err
	}
	return x, nil
}

func mRetainGrad(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := lang.UnpackArgs("Tensor.retain_grad", args, kwargs); err != nil {
		return nil, err
	}
	if err := recv(b).t.RetainGrad(); err != nil {
		return nil, fmt.Errorf("Tensor.retain_grad: %w", err)
	}
	return starlark.None, nil
}

func mUnique(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	sorted, inverse, counts := true, false, false
	var dim starlark.Value = starlark.None
	if err := lang.UnpackArgs("Tensor.unique", args, kwargs, "sorted?", &sorted, "return_inverse?", &inverse, "return_counts?", &counts, "dim?", &dim); err != nil {
		return nil, err
	}
	return recv(b).unique("Tensor.unique", sorted, inverse, counts, dim)
}

func mNorm(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var p starlark.Value = starlark.String("fro")
	var dim, dtype starlark.Value = starlark.None, starlark.None
	keepdim := false
	if err := lang.UnpackArgs("Tensor.norm", args, kwargs, "p?", &p, "dim?", &dim, "keepdim?", &keepdim, "dtype?", &dtype); err != nil {
		return nil, err
	}
	return recv(b).norm("Tensor.norm", p, dim, keepdim, dtype)
}

var legacyTypes = map[aten.DType]string{
	aten.Float32: "FloatTensor", aten.Float64: "DoubleTensor", aten.Float16: "HalfTensor", aten.BFloat16: "BFloat16Tensor",
	aten.Int64: "LongTensor", aten.Int32: "IntTensor", aten.Int16: "ShortTensor", aten.Int8: "CharTensor",
	aten.Uint8: "ByteTensor", aten.Bool: "BoolTensor",
}

func mType(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var dtype starlark.Value = starlark.None
	if err := lang.UnpackArgs("Tensor.type", args, kwargs, "dtype?", &dtype); err != nil {
		return nil, err
	}
	x := recv(b)
	if d, ok := dtype.(DType); ok {
		t, err := x.t.To(d.d, "", false)
		if err != nil {
			return nil, err
		}
		return newTensor(t), nil
	}
	prefix := "torch."
	if x.t.Device() != "cpu" {
		prefix = "torch.cuda."
	}
	return starlark.String(prefix + legacyTypes[x.t.DType()]), nil
}

func mIsFloating(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := lang.UnpackArgs("Tensor.is_floating_point", args, kwargs); err != nil {
		return nil, err
	}
	return starlark.Bool(recv(b).t.DType().IsFloating()), nil
}

func mIsContiguous(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := lang.UnpackArgs("Tensor.is_contiguous", args, kwargs); err != nil {
		return nil, err
	}
	return starlark.Bool(recv(b).t.IsContiguous()), nil
}

package nn

import (
	"fmt"
	"math"
	"strings"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/builtins/torch"
	"github.com/dadash/dadash/builtins/torch/aten"
	"github.com/dadash/dadash/lang"
)

// ---------------------------------------------------------------- helpers

// input1 returns the single tensor argument of a forward call.
func input1(m *Module, args starlark.Tuple, kwargs []starlark.Tuple) (aten.Tensor, error) {
	var x *torch.Tensor
	if err := starlark.UnpackPositionalArgs(m.typeName, args, kwargs, 1, &x); err != nil {
		return aten.Tensor{}, err
	}
	return x.ATen(), nil
}

func out1(t aten.Tensor, err error) (starlark.Value, error) {
	if err != nil {
		return nil, err
	}
	return torch.New(t), nil
}

func wrapErr(m *Module, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", m.typeName, err)
}

// paramT returns a parameter's tensor or an undefined one (None).
func (m *Module) paramT(name string) aten.Tensor {
	if t := m.paramVal[name]; t != nil {
		return t.ATen()
	}
	return aten.Tensor{}
}

func (m *Module) bufferT(name string) aten.Tensor {
	if t := m.bufferVal[name]; t != nil {
		return t.ATen()
	}
	return aten.Tensor{}
}

func (m *Module) intAttr(name string) int64 {
	i, _ := starlark.AsInt32(m.attrs[name])
	return int64(i)
}

func (m *Module) floatAttr(name string) float64 {
	f, _ := starlark.AsFloat(m.attrs[name])
	return f
}

func (m *Module) boolAttr(name string) bool {
	b, _ := m.attrs[name].(starlark.Bool)
	return bool(b)
}

// ints reads an int or a tuple/list of ints, expanded to n values.
func ints(fn, name string, v starlark.Value, n int) ([]int64, error) {
	if i, ok := v.(starlark.Int); ok {
		x, _ := i.Int64()
		out := make([]int64, n)
		for k := range out {
			out[k] = x
		}
		return out, nil
	}
	seq, ok := v.(starlark.Indexable)
	if !ok {
		return nil, fmt.Errorf("%s: %s must be an int or a tuple of %d ints, got %s", fn, name, n, v.Type())
	}
	if seq.Len() != n {
		return nil, fmt.Errorf("%s: %s must have %d values, got %d", fn, name, n, seq.Len())
	}
	out := make([]int64, n)
	for k := range out {
		i, err := starlark.AsInt32(seq.Index(k))
		if err != nil {
			return nil, fmt.Errorf("%s: %s[%d] must be an int", fn, name, k)
		}
		out[k] = int64(i)
	}
	return out, nil
}

func intsValue(v []int64) starlark.Value {
	t := make(starlark.Tuple, len(v))
	for i, x := range v {
		t[i] = starlark.MakeInt64(x)
	}
	return t
}

// factory options shared by layers that create parameters.
type factory struct {
	dtype  aten.DType
	device string
}

func (f *factory) unpack(v starlark.Value, dev starlark.Value) error {
	f.dtype = aten.Float32
	if d, ok := v.(torch.DType); ok {
		f.dtype = d.ATen()
	} else if v != nil && v != starlark.None {
		return fmt.Errorf("dtype must be a torch dtype, got %s", v.Type())
	}
	switch d := dev.(type) {
	case nil, starlark.NoneType:
	case starlark.String:
		f.device = string(d)
	default:
		if ds, ok := dev.(interface{ DeviceString() string }); ok {
			f.device = ds.DeviceString()
		} else {
			return fmt.Errorf("device must be a string such as \"cpu\", got %s", dev.Type())
		}
	}
	if f.device != "" {
		return aten.CheckDevice(f.device)
	}
	return nil
}

func (f factory) empty(shape ...int64) (aten.Tensor, error) {
	t, err := aten.Run("empty", aten.Is(shape...), aten.KW("dtype", aten.D(f.dtype)))
	if err != nil || f.device == "" || f.device == "cpu" {
		return t, err
	}
	return t.To(-1, f.device, false)
}

func (f factory) fill(value float64, shape ...int64) (aten.Tensor, error) {
	t, err := f.empty(shape...)
	if err != nil {
		return t, err
	}
	_, err = aten.Run("fill_", aten.T(t), aten.F(value))
	return t, err
}

// uniformInit fills t with U(-bound, bound) outside autograd.
func uniformInit(t aten.Tensor, bound float64) error {
	return aten.NoGrad(func() error {
		_, err := aten.Run("uniform_", aten.T(t), aten.F(-bound), aten.F(bound))
		return err
	})
}

// resetLinearLike applies PyTorch's default init of Linear and Conv:
// kaiming_uniform_(a=sqrt(5)) for the weight, U(+-1/sqrt(fan_in)) for the bias.
func resetLinearLike(w, b aten.Tensor) error {
	fanIn, _ := fans(w.Shape())
	gain := math.Sqrt(2.0 / (1 + 5))
	if err := uniformInit(w, gain*math.Sqrt(3.0/float64(fanIn))); err != nil {
		return err
	}
	if b.Defined() && fanIn > 0 {
		return uniformInit(b, 1/math.Sqrt(float64(fanIn)))
	}
	return nil
}

// fans is torch.nn.init._calculate_fan_in_and_fan_out.
func fans(shape []int64) (fanIn, fanOut int64) {
	if len(shape) < 2 {
		return 0, 0
	}
	rf := int64(1)
	for _, s := range shape[2:] {
		rf *= s
	}
	return shape[1] * rf, shape[0] * rf
}

func boolStr(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

func tupleStr(v []int64) string {
	p := make([]string, len(v))
	for i, x := range v {
		p[i] = fmt.Sprint(x)
	}
	if len(p) == 1 {
		return "(" + p[0] + ",)"
	}
	return "(" + strings.Join(p, ", ") + ")"
}

// builtin registers a layer constructor as nn.<name>.
func builtin(name, doc string, fn func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error)) *starlark.Builtin {
	return lang.Func("nn."+name, doc, fn)
}

// ---------------------------------------------------------------- Linear

// NewLinear makes nn.Linear with PyTorch's initialisation.
func NewLinear(in, out int64, bias bool, f factory) (*Module, error) {
	m := NewModule("Linear", linearForward)
	w, err := f.empty(out, in)
	if err != nil {
		return nil, err
	}
	var b aten.Tensor
	if bias {
		if b, err = f.empty(out); err != nil {
			return nil, err
		}
	}
	if err := resetLinearLike(w, b); err != nil {
		return nil, err
	}
	m.SetAttr("in_features", starlark.MakeInt64(in))
	m.SetAttr("out_features", starlark.MakeInt64(out))
	if err := m.AddParam("weight", w); err != nil {
		return nil, err
	}
	if err := m.AddParam("bias", b); err != nil {
		return nil, err
	}
	m.ExtraRepr = func(m *Module) string {
		return fmt.Sprintf("in_features=%d, out_features=%d, bias=%s", m.intAttr("in_features"), m.intAttr("out_features"), boolStr(m.paramVal["bias"] != nil))
	}
	return m, nil
}

// NewLinearDefault is nn.Linear(in, out) in float32 on the CPU.
func NewLinearDefault(in, out int64, bias bool) (*Module, error) {
	return NewLinear(in, out, bias, factory{dtype: aten.Float32})
}

func linearForward(thread *starlark.Thread, m *Module, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	x, err := input1(m, args, kwargs)
	if err != nil {
		return nil, err
	}
	t, err := aten.Run("linear", aten.T(x), aten.T(m.paramT("weight")), aten.T(m.paramT("bias")))
	if err != nil {
		return nil, fmt.Errorf("Linear(in_features=%d): %w (input shape %s)", m.intAttr("in_features"), err, shapeStr(x.Shape()))
	}
	return torch.New(t), nil
}

func fnLinear(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var in, out int
	bias := true
	var dtype, device starlark.Value = starlark.None, starlark.None
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "in_features", &in, "out_features", &out, "bias?", &bias, "device?", &device, "dtype?", &dtype); err != nil {
		return nil, err
	}
	if in < 0 || out < 0 {
		return nil, fmt.Errorf("%s: sizes must not be negative (in_features=%d, out_features=%d)", b.Name(), in, out)
	}
	var f factory
	if err := f.unpack(dtype, device); err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	m, err := NewLinear(int64(in), int64(out), bias, f)
	return m, wrapErr(&Module{typeName: b.Name()}, err)
}

// ---------------------------------------------------------------- Conv2d

// NewConv2d makes nn.Conv2d (padding "same"/"valid" or per-side ints).
func NewConv2d(in, out int64, kernel, stride, padding, dilation []int64, padMode string, groups int64, bias bool, f factory) (*Module, error) {
	if in%groups != 0 || out%groups != 0 {
		return nil, fmt.Errorf("in_channels (%d) and out_channels (%d) must be divisible by groups (%d)", in, out, groups)
	}
	m := NewModule("Conv2d", conv2dForward)
	w, err := f.empty(out, in/groups, kernel[0], kernel[1])
	if err != nil {
		return nil, err
	}
	var b aten.Tensor
	if bias {
		if b, err = f.empty(out); err != nil {
			return nil, err
		}
	}
	if err := resetLinearLike(w, b); err != nil {
		return nil, err
	}
	m.SetAttr("in_channels", starlark.MakeInt64(in))
	m.SetAttr("out_channels", starlark.MakeInt64(out))
	m.SetAttr("kernel_size", intsValue(kernel))
	m.SetAttr("stride", intsValue(stride))
	if padMode != "" {
		m.SetAttr("padding", starlark.String(padMode))
	} else {
		m.SetAttr("padding", intsValue(padding))
	}
	m.SetAttr("dilation", intsValue(dilation))
	m.SetAttr("groups", starlark.MakeInt64(groups))
	if err := m.AddParam("weight", w); err != nil {
		return nil, err
	}
	if err := m.AddParam("bias", b); err != nil {
		return nil, err
	}
	m.ExtraRepr = func(m *Module) string {
		k, _ := ints("", "", m.attrs["kernel_size"], 2)
		s, _ := ints("", "", m.attrs["stride"], 2)
		r := fmt.Sprintf("%d, %d, kernel_size=%s, stride=%s", m.intAttr("in_channels"), m.intAttr("out_channels"), tupleStr(k), tupleStr(s))
		switch p := m.attrs["padding"].(type) {
		case starlark.String:
			r += fmt.Sprintf(", padding=%s", p.String())
		default:
			pv, _ := ints("", "", p, 2)
			if pv[0] != 0 || pv[1] != 0 {
				r += ", padding=" + tupleStr(pv)
			}
		}
		if d, _ := ints("", "", m.attrs["dilation"], 2); d[0] != 1 || d[1] != 1 {
			r += ", dilation=" + tupleStr(d)
		}
		if g := m.intAttr("groups"); g != 1 {
			r += fmt.Sprintf(", groups=%d", g)
		}
		if m.paramVal["bias"] == nil {
			r += ", bias=False"
		}
		return r
	}
	return m, nil
}

func conv2dForward(thread *starlark.Thread, m *Module, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	x, err := input1(m, args, kwargs)
	if err != nil {
		return nil, err
	}
	stride, _ := ints("", "", m.attrs["stride"], 2)
	dil, _ := ints("", "", m.attrs["dilation"], 2)
	var pad aten.Arg
	if p, ok := m.attrs["padding"].(starlark.String); ok {
		pad = aten.S(string(p))
	} else {
		pv, _ := ints("", "", m.attrs["padding"], 2)
		pad = aten.Is(pv...)
	}
	t, err := aten.Run("conv2d", aten.T(x), aten.T(m.paramT("weight")), aten.T(m.paramT("bias")), aten.Is(stride...), pad, aten.Is(dil...), aten.I(m.intAttr("groups")))
	if err != nil {
		return nil, fmt.Errorf("Conv2d(%d, %d): %w (input shape %s)", m.intAttr("in_channels"), m.intAttr("out_channels"), err, shapeStr(x.Shape()))
	}
	return torch.New(t), nil
}

func fnConv2d(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var in, out int
	var kernel starlark.Value
	var stride, padding, dilation starlark.Value = starlark.MakeInt(1), starlark.MakeInt(0), starlark.MakeInt(1)
	groups := 1
	bias := true
	padMode := "zeros"
	var dtype, device starlark.Value = starlark.None, starlark.None
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "in_channels", &in, "out_channels", &out, "kernel_size", &kernel,
		"stride?", &stride, "padding?", &padding, "dilation?", &dilation, "groups?", &groups, "bias?", &bias,
		"padding_mode?", &padMode, "device?", &device, "dtype?", &dtype); err != nil {
		return nil, err
	}
	if padMode != "zeros" {
		return nil, fmt.Errorf("%s: only padding_mode='zeros' is supported, got %q", b.Name(), padMode)
	}
	k, err := ints(b.Name(), "kernel_size", kernel, 2)
	if err != nil {
		return nil, err
	}
	s, err := ints(b.Name(), "stride", stride, 2)
	if err != nil {
		return nil, err
	}
	d, err := ints(b.Name(), "dilation", dilation, 2)
	if err != nil {
		return nil, err
	}
	var p []int64
	mode := ""
	if ps, ok := padding.(starlark.String); ok {
		mode = string(ps)
		if mode != "same" && mode != "valid" {
			return nil, fmt.Errorf("%s: padding must be an int, a pair, 'same' or 'valid', got %q", b.Name(), mode)
		}
	} else if p, err = ints(b.Name(), "padding", padding, 2); err != nil {
		return nil, err
	}
	if groups < 1 {
		return nil, fmt.Errorf("%s: groups must be positive", b.Name())
	}
	var f factory
	if err := f.unpack(dtype, device); err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	m, err := NewConv2d(int64(in), int64(out), k, s, p, d, mode, int64(groups), bias, f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return m, nil
}

// ---------------------------------------------------------------- BatchNorm

// NewBatchNorm makes nn.BatchNorm1d / BatchNorm2d (dims = 1 or 2).
func NewBatchNorm(dims int, num int64, eps float64, momentum starlark.Value, affine, track bool, f factory) (*Module, error) {
	m := NewModule(fmt.Sprintf("BatchNorm%dd", dims), batchNormForward)
	m.SetAttr("num_features", starlark.MakeInt64(num))
	m.SetAttr("eps", starlark.Float(eps))
	m.SetAttr("momentum", momentum)
	m.SetAttr("affine", starlark.Bool(affine))
	m.SetAttr("track_running_stats", starlark.Bool(track))
	m.SetAttr("dims", starlark.MakeInt(dims))
	var w, b aten.Tensor
	var err error
	if affine {
		if w, err = f.fill(1, num); err != nil {
			return nil, err
		}
		if b, err = f.fill(0, num); err != nil {
			return nil, err
		}
	}
	if err := m.AddParam("weight", w); err != nil {
		return nil, err
	}
	if err := m.AddParam("bias", b); err != nil {
		return nil, err
	}
	var rm, rv, nbt aten.Tensor
	if track {
		if rm, err = f.fill(0, num); err != nil {
			return nil, err
		}
		if rv, err = f.fill(1, num); err != nil {
			return nil, err
		}
		if nbt, err = aten.Run("zeros", aten.Is(), aten.KW("dtype", aten.D(aten.Int64))); err != nil {
			return nil, err
		}
	}
	for _, nb := range []struct {
		n string
		t aten.Tensor
	}{{"running_mean", rm}, {"running_var", rv}, {"num_batches_tracked", nbt}} {
		if err := m.AddBuffer(nb.n, nb.t, true); err != nil {
			return nil, err
		}
	}
	m.ExtraRepr = func(m *Module) string {
		return fmt.Sprintf("%d, eps=%s, momentum=%s, affine=%s, track_running_stats=%s", m.intAttr("num_features"),
			pyFloat(m.floatAttr("eps")), pyRepr(m.attrs["momentum"]), boolStr(m.boolAttr("affine")), boolStr(m.boolAttr("track_running_stats")))
	}
	return m, nil
}

func pyFloat(f float64) string { return starlark.Float(f).String() }

func pyRepr(v starlark.Value) string {
	if v == nil {
		return "None"
	}
	return v.String()
}

func batchNormForward(thread *starlark.Thread, m *Module, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	x, err := input1(m, args, kwargs)
	if err != nil {
		return nil, err
	}
	dims := m.intAttr("dims")
	d := x.Dim()
	if (dims == 1 && d != 2 && d != 3) || (dims == 2 && d != 4) {
		want := "2D or 3D"
		if dims == 2 {
			want = "4D"
		}
		return nil, fmt.Errorf("%s: expected %s input (got %dD input of shape %s)", m.typeName, want, d, shapeStr(x.Shape()))
	}
	training := m.Training()
	eaf := 0.0
	if mom, ok := m.attrs["momentum"].(starlark.Float); ok {
		eaf = float64(mom)
	}
	track := m.boolAttr("track_running_stats")
	if training && track {
		nbt := m.bufferT("num_batches_tracked")
		if nbt.Defined() {
			if err := aten.NoGrad(func() error {
				_, err := aten.Run("add_", aten.T(nbt), aten.I(1))
				return err
			}); err != nil {
				return nil, err
			}
			if m.attrs["momentum"] == starlark.None {
				n, err := nbt.Int64s()
				if err != nil {
					return nil, err
				}
				eaf = 1 / float64(n[0])
			}
		}
	}
	rm, rv := m.bufferT("running_mean"), m.bufferT("running_var")
	useBatchStats := training || !rm.Defined()
	if useBatchStats {
		if err := verifyBatchSize(m.typeName, x.Shape()); err != nil {
			return nil, err
		}
	}
	if !(!training || track) {
		rm, rv = aten.Tensor{}, aten.Tensor{}
	}
	t, err := aten.Run("batch_norm", aten.T(x), aten.T(m.paramT("weight")), aten.T(m.paramT("bias")), aten.T(rm), aten.T(rv),
		aten.B(useBatchStats), aten.F(eaf), aten.F(m.floatAttr("eps")), aten.B(true))
	if err != nil {
		return nil, fmt.Errorf("%s(%d): %w (input shape %s)", m.typeName, m.intAttr("num_features"), err, shapeStr(x.Shape()))
	}
	return torch.New(t), nil
}

func batchNormCtor(dims int) func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
	return func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var num int
		eps := 1e-5
		var momentum starlark.Value = starlark.Float(0.1)
		affine, track := true, true
		var dtype, device starlark.Value = starlark.None, starlark.None
		if err := lang.UnpackArgs(b.Name(), args, kwargs, "num_features", &num, "eps?", &eps, "momentum?", &momentum,
			"affine?", &affine, "track_running_stats?", &track, "device?", &device, "dtype?", &dtype); err != nil {
			return nil, err
		}
		switch mv := momentum.(type) {
		case starlark.Int:
			f, _ := starlark.AsFloat(mv)
			momentum = starlark.Float(f)
		case starlark.Float, starlark.NoneType:
		default:
			return nil, fmt.Errorf("%s: momentum must be a number or None", b.Name())
		}
		var f factory
		if err := f.unpack(dtype, device); err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name(), err)
		}
		m, err := NewBatchNorm(dims, int64(num), eps, momentum, affine, track, f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name(), err)
		}
		return m, nil
	}
}

// ---------------------------------------------------------------- LayerNorm

// NewLayerNorm makes nn.LayerNorm over the last dimensions.
func NewLayerNorm(shape []int64, eps float64, affine bool, f factory) (*Module, error) {
	m := NewModule("LayerNorm", layerNormForward)
	m.SetAttr("normalized_shape", intsValue(shape))
	m.SetAttr("eps", starlark.Float(eps))
	m.SetAttr("elementwise_affine", starlark.Bool(affine))
	var w, b aten.Tensor
	var err error
	if affine {
		if w, err = f.fill(1, shape...); err != nil {
			return nil, err
		}
		if b, err = f.fill(0, shape...); err != nil {
			return nil, err
		}
	}
	if err := m.AddParam("weight", w); err != nil {
		return nil, err
	}
	if err := m.AddParam("bias", b); err != nil {
		return nil, err
	}
	m.ExtraRepr = func(m *Module) string {
		s, _ := ints("", "", m.attrs["normalized_shape"], len(m.attrs["normalized_shape"].(starlark.Tuple)))
		return fmt.Sprintf("%s, eps=%s, elementwise_affine=%s", tupleStr(s), pyFloat(m.floatAttr("eps")), boolStr(m.boolAttr("elementwise_affine")))
	}
	return m, nil
}

// NewLayerNormDefault is nn.LayerNorm(dim, elementwise_affine=affine).
func NewLayerNormDefault(dim int64, affine bool) (*Module, error) {
	return NewLayerNorm([]int64{dim}, 1e-5, affine, factory{dtype: aten.Float32})
}

// NewConv2dDefault is nn.Conv2d(in, out, k, stride, padding, bias=bias).
func NewConv2dDefault(in, out, k, stride, padding int64, bias bool) (*Module, error) {
	return NewConv2d(in, out, []int64{k, k}, []int64{stride, stride}, []int64{padding, padding}, []int64{1, 1}, "", 1, bias, factory{dtype: aten.Float32})
}

// NewBatchNorm2dDefault is nn.BatchNorm2d(num).
func NewBatchNorm2dDefault(num int64) (*Module, error) {
	return NewBatchNorm(2, num, 1e-5, starlark.Float(0.1), true, true, factory{dtype: aten.Float32})
}

func layerNormForward(thread *starlark.Thread, m *Module, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	x, err := input1(m, args, kwargs)
	if err != nil {
		return nil, err
	}
	tup := m.attrs["normalized_shape"].(starlark.Tuple)
	shape, _ := ints("", "", tup, len(tup))
	t, err := aten.Run("layer_norm", aten.T(x), aten.Is(shape...), aten.T(m.paramT("weight")), aten.T(m.paramT("bias")), aten.F(m.floatAttr("eps")))
	if err != nil {
		return nil, fmt.Errorf("LayerNorm%s: %w (input shape %s)", tupleStr(shape), err, shapeStr(x.Shape()))
	}
	return torch.New(t), nil
}

func fnLayerNorm(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var shapeV starlark.Value
	eps := 1e-5
	affine := true
	var dtype, device starlark.Value = starlark.None, starlark.None
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "normalized_shape", &shapeV, "eps?", &eps, "elementwise_affine?", &affine, "device?", &device, "dtype?", &dtype); err != nil {
		return nil, err
	}
	n := 1
	if seq, ok := shapeV.(starlark.Indexable); ok {
		n = seq.Len()
	}
	shape, err := ints(b.Name(), "normalized_shape", shapeV, n)
	if err != nil {
		return nil, err
	}
	var f factory
	if err := f.unpack(dtype, device); err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	m, err := NewLayerNorm(shape, eps, affine, f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return m, nil
}

// ---------------------------------------------------------------- parameter-free layers

// NewActivation makes a layer that applies one aten operator (ReLU, ...).
func NewActivation(typeName, op string, extra ...aten.Arg) *Module {
	m := NewModule(typeName, func(thread *starlark.Thread, m *Module, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		x, err := input1(m, args, kwargs)
		if err != nil {
			return nil, err
		}
		t, err := aten.Run(op, append([]aten.Arg{aten.T(x)}, extra...)...)
		return out1(t, wrapErr(m, err))
	})
	return m
}

// NewDropout makes nn.Dropout(p).
func NewDropout(p float64) *Module {
	m := NewModule("Dropout", func(thread *starlark.Thread, m *Module, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		x, err := input1(m, args, kwargs)
		if err != nil {
			return nil, err
		}
		t, err := aten.Run("dropout", aten.T(x), aten.F(m.floatAttr("p")), aten.B(m.Training()))
		return out1(t, wrapErr(m, err))
	})
	m.SetAttr("p", starlark.Float(p))
	m.ExtraRepr = func(m *Module) string { return fmt.Sprintf("p=%s, inplace=False", pyFloat(m.floatAttr("p"))) }
	return m
}

// NewPool2d makes MaxPool2d / AvgPool2d.
func NewPool2d(kind string, kernel, stride, padding []int64, ceil bool) *Module {
	m := NewModule(kind, func(thread *starlark.Thread, m *Module, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		x, err := input1(m, args, kwargs)
		if err != nil {
			return nil, err
		}
		k, _ := ints("", "", m.attrs["kernel_size"], 2)
		s, _ := ints("", "", m.attrs["stride"], 2)
		p, _ := ints("", "", m.attrs["padding"], 2)
		var t aten.Tensor
		if kind == "MaxPool2d" {
			t, err = aten.Run("dadash::max_pool2d", aten.T(x), aten.Is(k...), aten.Is(s...), aten.Is(p...), aten.Is(1, 1), aten.B(m.boolAttr("ceil_mode")))
		} else {
			t, err = aten.Run("avg_pool2d", aten.T(x), aten.Is(k...), aten.Is(s...), aten.Is(p...), aten.B(m.boolAttr("ceil_mode")), aten.B(true))
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w (input shape %s)", kind, err, shapeStr(x.Shape()))
		}
		return torch.New(t), nil
	})
	m.SetAttr("kernel_size", intsValue(kernel))
	m.SetAttr("stride", intsValue(stride))
	m.SetAttr("padding", intsValue(padding))
	m.SetAttr("ceil_mode", starlark.Bool(ceil))
	m.ExtraRepr = func(m *Module) string {
		k, _ := ints("", "", m.attrs["kernel_size"], 2)
		s, _ := ints("", "", m.attrs["stride"], 2)
		p, _ := ints("", "", m.attrs["padding"], 2)
		one := func(v []int64) string {
			if v[0] == v[1] {
				return fmt.Sprint(v[0])
			}
			return tupleStr(v)
		}
		if kind == "MaxPool2d" {
			return fmt.Sprintf("kernel_size=%s, stride=%s, padding=%s, dilation=1, ceil_mode=%s", one(k), one(s), one(p), boolStr(m.boolAttr("ceil_mode")))
		}
		return fmt.Sprintf("kernel_size=%s, stride=%s, padding=%s", one(k), one(s), one(p))
	}
	return m
}

func poolCtor(kind string) func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
	return func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var kernel starlark.Value
		var stride starlark.Value = starlark.None
		var padding starlark.Value = starlark.MakeInt(0)
		var dilation starlark.Value = starlark.MakeInt(1)
		ceil, retIdx, countPad := false, false, true
		var divisor starlark.Value = starlark.None
		var err error
		if kind == "MaxPool2d" {
			err = lang.UnpackArgs(b.Name(), args, kwargs, "kernel_size", &kernel, "stride?", &stride, "padding?", &padding, "dilation?", &dilation, "return_indices?", &retIdx, "ceil_mode?", &ceil)
		} else {
			err = lang.UnpackArgs(b.Name(), args, kwargs, "kernel_size", &kernel, "stride?", &stride, "padding?", &padding, "ceil_mode?", &ceil, "count_include_pad?", &countPad, "divisor_override?", &divisor)
		}
		if err != nil {
			return nil, err
		}
		if retIdx || !countPad || divisor != starlark.None {
			return nil, fmt.Errorf("%s: return_indices, count_include_pad=False and divisor_override are not supported; use nn.functional", b.Name())
		}
		if d, _ := ints(b.Name(), "dilation", dilation, 2); d[0] != 1 || d[1] != 1 {
			return nil, fmt.Errorf("%s: dilation other than 1 is not supported", b.Name())
		}
		k, err := ints(b.Name(), "kernel_size", kernel, 2)
		if err != nil {
			return nil, err
		}
		s := k
		if stride != starlark.None {
			if s, err = ints(b.Name(), "stride", stride, 2); err != nil {
				return nil, err
			}
		}
		p, err := ints(b.Name(), "padding", padding, 2)
		if err != nil {
			return nil, err
		}
		return NewPool2d(kind, k, s, p, ceil), nil
	}
}

// NewAdaptivePool2d makes AdaptiveAvgPool2d / AdaptiveMaxPool2d.
func NewAdaptivePool2d(kind string, size []int64) *Module {
	m := NewModule(kind, func(thread *starlark.Thread, m *Module, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		x, err := input1(m, args, kwargs)
		if err != nil {
			return nil, err
		}
		sz, _ := ints("", "", m.attrs["output_size"], 2)
		if kind == "AdaptiveAvgPool2d" {
			t, err := aten.Run("adaptive_avg_pool2d", aten.T(x), aten.Is(sz...))
			return out1(t, wrapErr(m, err))
		}
		rs, err := aten.RunAll("adaptive_max_pool2d", aten.T(x), aten.Is(sz...))
		if err != nil {
			return nil, wrapErr(m, err)
		}
		return torch.New(rs[0].T), nil
	})
	m.SetAttr("output_size", intsValue(size))
	m.ExtraRepr = func(m *Module) string {
		sz, _ := ints("", "", m.attrs["output_size"], 2)
		if sz[0] == sz[1] {
			return fmt.Sprintf("output_size=%d", sz[0])
		}
		return "output_size=" + tupleStr(sz)
	}
	return m
}

func adaptiveCtor(kind string) func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
	return func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var size starlark.Value
		retIdx := false
		if kind == "AdaptiveMaxPool2d" {
			if err := lang.UnpackArgs(b.Name(), args, kwargs, "output_size", &size, "return_indices?", &retIdx); err != nil {
				return nil, err
			}
		} else if err := lang.UnpackArgs(b.Name(), args, kwargs, "output_size", &size); err != nil {
			return nil, err
		}
		if retIdx {
			return nil, fmt.Errorf("%s: return_indices is not supported; use nn.functional.adaptive_max_pool2d", b.Name())
		}
		sz, err := ints(b.Name(), "output_size", size, 2)
		if err != nil {
			return nil, err
		}
		return NewAdaptivePool2d(kind, sz), nil
	}
}

// NewFlatten makes nn.Flatten(start_dim, end_dim).
func NewFlatten(start, end int64) *Module {
	m := NewModule("Flatten", func(thread *starlark.Thread, m *Module, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		x, err := input1(m, args, kwargs)
		if err != nil {
			return nil, err
		}
		t, err := aten.Run("flatten", aten.T(x), aten.I(m.intAttr("start_dim")), aten.I(m.intAttr("end_dim")))
		return out1(t, wrapErr(m, err))
	})
	m.SetAttr("start_dim", starlark.MakeInt64(start))
	m.SetAttr("end_dim", starlark.MakeInt64(end))
	m.ExtraRepr = func(m *Module) string {
		return fmt.Sprintf("start_dim=%d, end_dim=%d", m.intAttr("start_dim"), m.intAttr("end_dim"))
	}
	return m
}

// NewIdentity makes nn.Identity.
func NewIdentity() *Module {
	return NewModule("Identity", func(thread *starlark.Thread, m *Module, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if len(args) != 1 {
			return nil, fmt.Errorf("Identity takes one input, got %d", len(args))
		}
		return args[0], nil
	})
}

// ---------------------------------------------------------------- containers

// NewSequential chains modules; children are named 0, 1, ... (or by the
// given names).
func NewSequential(names []string, mods []*Module) (*Module, error) {
	m := NewModule("Sequential", sequentialForward)
	m.indexed = true
	for i, c := range mods {
		name := fmt.Sprint(i)
		if names != nil {
			name = names[i]
		}
		if err := m.AddChild(name, c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func sequentialForward(thread *starlark.Thread, m *Module, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(args) != 1 || len(kwargs) != 0 {
		return nil, fmt.Errorf("Sequential takes one input, got %d", len(args)+len(kwargs))
	}
	v := args[0]
	var in aten.Tensor
	if t, ok := v.(*torch.Tensor); ok {
		in = t.ATen()
	}
	madeByNative := false // v is private to this chain: a native layer made it
	var prevChild *Module
	for _, n := range m.children {
		c := m.childVal[n]
		if c == nil {
			continue
		}
		prev := v
		native := c.Native()
		var err error
		if pt, ok := prev.(*torch.Tensor); ok && madeByNative && ReLUInPlace(prevChild, c) {
			var t aten.Tensor
			if t, err = aten.Run("relu_", aten.T(pt.ATen())); err != nil {
				return nil, wrapErr(c, err)
			}
			v = torch.New(t)
		} else if v, err = c.Forward(thread, starlark.Tuple{v}, nil); err != nil {
			return nil, err
		}
		prevChild = c
		// A result one native layer made and another consumed is dead.
		pt, ok1 := prev.(*torch.Tensor)
		nt, ok2 := v.(*torch.Tensor)
		if ok1 && ok2 && madeByNative && native {
			ReleaseIntermediate(pt.ATen(), in, nt.ATen())
		}
		madeByNative = native
	}
	return v, nil
}

func modulesFrom(fn string, args starlark.Tuple) ([]string, []*Module, error) {
	if len(args) == 1 {
		if d, ok := args[0].(*starlark.Dict); ok {
			var names []string
			var mods []*Module
			for _, item := range d.Items() {
				k, ok1 := item[0].(starlark.String)
				m, ok2 := item[1].(*Module)
				if !ok1 || !ok2 {
					return nil, nil, fmt.Errorf("%s: a dict argument must map names to modules", fn)
				}
				names = append(names, string(k))
				mods = append(mods, m)
			}
			return names, mods, nil
		}
		if l, ok := args[0].(*starlark.List); ok {
			args = make(starlark.Tuple, l.Len())
			for i := range args {
				args[i] = l.Index(i)
			}
		}
	}
	mods := make([]*Module, len(args))
	for i, a := range args {
		m, ok := a.(*Module)
		if !ok {
			return nil, nil, fmt.Errorf("%s: argument %d is a %s, not an nn module", fn, i+1, a.Type())
		}
		mods[i] = m
	}
	return nil, mods, nil
}

func fnSequential(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(kwargs) > 0 {
		return nil, fmt.Errorf("%s: takes modules (or one dict of name -> module), not keyword arguments", b.Name())
	}
	names, mods, err := modulesFrom(b.Name(), args)
	if err != nil {
		return nil, err
	}
	return NewSequential(names, mods)
}

func fnModuleList(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var mods starlark.Value = starlark.NewList(nil)
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "modules?", &mods); err != nil {
		return nil, err
	}
	_, ms, err := modulesFrom(b.Name(), starlark.Tuple{mods})
	if err != nil {
		return nil, err
	}
	m := NewModule("ModuleList", nil)
	m.indexed = true
	for i, c := range ms {
		if err := m.AddChild(fmt.Sprint(i), c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// fnModule makes a script-defined module: nn.Module(forward, **members).
// Members that are modules become submodules, leaf tensors that require
// grad (nn.Parameter) become parameters, other tensors buffers, and the
// rest plain attributes. forward is called as forward(self, *args).
func fnModule(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(args) > 1 {
		return nil, fmt.Errorf("%s: takes forward and keyword members, e.g. nn.Module(forward, fc=nn.Linear(4, 2))", b.Name())
	}
	name := "Module"
	m := NewModule(name, nil)
	if len(args) == 1 {
		fn, ok := args[0].(starlark.Callable)
		if !ok {
			return nil, fmt.Errorf("%s: forward must be a function taking (self, *inputs), got %s", b.Name(), args[0].Type())
		}
		m.pyForward = fn
		if f, ok := fn.(*starlark.Function); ok && f.Name() != "lambda" {
			m.typeName = f.Name()
		}
	}
	for _, kv := range kwargs {
		k := string(kv[0].(starlark.String))
		if k == "name" {
			if s, ok := kv[1].(starlark.String); ok {
				m.typeName = string(s)
				continue
			}
		}
		var err error
		switch v := kv[1].(type) {
		case *Module:
			err = m.AddChild(k, v)
		case *torch.Tensor:
			if v.ATen().RequiresGrad() && v.ATen().IsLeaf() {
				err = m.AddParamValue(k, v)
			} else {
				if err = m.AddBuffer(k, aten.Tensor{}, true); err == nil {
					m.bufferVal[k] = v
				}
			}
		default:
			m.SetAttr(k, v)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name(), err)
		}
	}
	return m, nil
}

// fnParameter is nn.Parameter(data, requires_grad=True): a leaf tensor
// sharing data with `data`, which modules register as a parameter.
func fnParameter(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var t *torch.Tensor
	rg := true
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "data", &t, "requires_grad?", &rg); err != nil {
		return nil, err
	}
	d, err := t.ATen().Detach()
	if err != nil {
		return nil, err
	}
	if rg && !d.DType().IsFloating() {
		return nil, fmt.Errorf("%s: only floating point tensors can require gradients (got %s)", b.Name(), d.DType())
	}
	if err := d.SetRequiresGrad(rg); err != nil {
		return nil, err
	}
	return torch.New(d), nil
}

// verifyBatchSize refuses batch statistics of a single value per channel
// (their variance is undefined), as torch.nn.functional.batch_norm does.
func verifyBatchSize(fn string, shape []int64) error {
	n := int64(1)
	for i, d := range shape {
		if i != 1 {
			n *= d
		}
	}
	if n == 1 {
		return fmt.Errorf("%s: expected more than 1 value per channel when training, got input size %s", fn, shapeStr(shape))
	}
	return nil
}

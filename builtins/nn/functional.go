package nn

import (
	"fmt"
	"math"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/builtins/torch"
	"github.com/dadash/dadash/builtins/torch/aten"
	"github.com/dadash/dadash/lang"
)

// nn.functional: Python-level functions of torch.nn.functional written here
// (they take strings such as reduction="mean" where aten takes enums, or are
// compositions); every other name falls through to the aten operator of the
// same name (relu, softmax, conv2d, gelu, cosine_similarity, ...).
var functionalModule = torch.NewNamespace("nn.functional", "", docFunctional, starlark.StringDict{
	"normalize":                        ffn("normalize", "F.normalize(input, p=2.0, dim=1, eps=1e-12): input / max(||input||_p along dim, eps).", fNormalize),
	"linear":                           ffn("linear", "F.linear(input, weight, bias=None): input @ weight.T + bias.", fLinear),
	"cross_entropy":                    ffn("cross_entropy", "F.cross_entropy(input, target, weight=None, ignore_index=-100, reduction='mean', label_smoothing=0.0): softmax cross entropy with class indices (or probabilities) as target.", fCrossEntropy),
	"nll_loss":                         ffn("nll_loss", "F.nll_loss(input, target, weight=None, ignore_index=-100, reduction='mean'): negative log likelihood of log-probabilities.", fNLLLoss),
	"mse_loss":                         ffn("mse_loss", "F.mse_loss(input, target, reduction='mean')", lossFn("mse_loss")),
	"l1_loss":                          ffn("l1_loss", "F.l1_loss(input, target, reduction='mean')", lossFn("l1_loss")),
	"smooth_l1_loss":                   ffn("smooth_l1_loss", "F.smooth_l1_loss(input, target, reduction='mean', beta=1.0)", lossFn("smooth_l1_loss")),
	"binary_cross_entropy":             ffn("binary_cross_entropy", "F.binary_cross_entropy(input, target, weight=None, reduction='mean')", lossFn("binary_cross_entropy")),
	"binary_cross_entropy_with_logits": ffn("binary_cross_entropy_with_logits", "F.binary_cross_entropy_with_logits(input, target, weight=None, reduction='mean', pos_weight=None)", lossFn("binary_cross_entropy_with_logits")),
	"kl_div":                           ffn("kl_div", "F.kl_div(input, target, reduction='mean', log_target=False); reduction='batchmean' divides the sum by the batch size.", fKLDiv),
	"dropout":                          ffn("dropout", "F.dropout(input, p=0.5, training=True): zeroes elements with probability p when training.", fDropout),
	"batch_norm":                       ffn("batch_norm", "F.batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5)", fBatchNorm),
	"layer_norm":                       ffn("layer_norm", "F.layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5)", fLayerNorm),
	"one_hot":                          ffn("one_hot", "F.one_hot(tensor, num_classes=-1): int64 one-hot encoding of class indices.", fOneHot),
	"max_pool2d":                       ffn("max_pool2d", "F.max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False)", fMaxPool2d),
	"adaptive_max_pool2d":              ffn("adaptive_max_pool2d", "F.adaptive_max_pool2d(input, output_size, return_indices=False)", fAdaptiveMaxPool2d),
})

const docFunctional = `nn.functional (often bound as F = nn.functional): the functions of torch.nn.functional.
normalize, linear, cross_entropy (with label_smoothing), nll_loss, mse_loss, l1_loss, smooth_l1_loss,
binary_cross_entropy(_with_logits), kl_div, dropout, batch_norm, layer_norm, one_hot, max_pool2d,
adaptive_max_pool2d; any other name is libtorch's operator (relu, gelu, softmax, log_softmax, conv2d,
avg_pool2d, adaptive_avg_pool2d, cosine_similarity, pairwise_distance, ...).`

func ffn(name, doc string, fn func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error)) *starlark.Builtin {
	return lang.Func("nn.functional."+name, doc, fn)
}

func tensorOrNone(v starlark.Value) (aten.Tensor, error) {
	switch t := v.(type) {
	case *torch.Tensor:
		return t.ATen(), nil
	case starlark.NoneType, nil:
		return aten.Tensor{}, nil
	}
	return aten.Tensor{}, fmt.Errorf("expected a Tensor or None, got %s", v.Type())
}

func reductionCode(fn, r string) (int64, error) {
	switch r {
	case "none":
		return 0, nil
	case "mean":
		return 1, nil
	case "sum":
		return 2, nil
	}
	return 0, fmt.Errorf("%s: reduction must be 'none', 'mean' or 'sum', got %q", fn, r)
}

// Normalize is F.normalize for Go callers.
func Normalize(x aten.Tensor, p float64, dim int64, eps float64) (aten.Tensor, error) {
	n, err := aten.Run("linalg_vector_norm", aten.T(x), aten.F(p), aten.Is(dim), aten.B(true))
	if err != nil {
		return n, err
	}
	if n, err = aten.Run("clamp_min", aten.T(n), aten.F(eps)); err != nil {
		return n, err
	}
	if n, err = aten.Run("expand_as", aten.T(n), aten.T(x)); err != nil {
		return n, err
	}
	return aten.Run("div", aten.T(x), aten.T(n))
}

func fNormalize(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x *torch.Tensor
	p, eps := 2.0, 1e-12
	dim := 1
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "input", &x, "p?", &p, "dim?", &dim, "eps?", &eps); err != nil {
		return nil, err
	}
	t, err := Normalize(x.ATen(), p, int64(dim), eps)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return torch.New(t), nil
}

func fLinear(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x, w *torch.Tensor
	var bias starlark.Value = starlark.None
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "input", &x, "weight", &w, "bias?", &bias); err != nil {
		return nil, err
	}
	bt, err := tensorOrNone(bias)
	if err != nil {
		return nil, fmt.Errorf("%s: bias: %w", b.Name(), err)
	}
	t, err := aten.Run("linear", aten.T(x.ATen()), aten.T(w.ATen()), aten.T(bt))
	if err != nil {
		return nil, fmt.Errorf("%s: %w (input %s, weight %s)", b.Name(), err, shapeStr(x.ATen().Shape()), shapeStr(w.ATen().Shape()))
	}
	return torch.New(t), nil
}

// CrossEntropy is F.cross_entropy for Go callers (mean reduction).
func CrossEntropy(logits, target aten.Tensor, labelSmoothing float64) (aten.Tensor, error) {
	return aten.Run("cross_entropy_loss", aten.T(logits), aten.T(target), aten.None(), aten.I(1), aten.I(-100), aten.F(labelSmoothing))
}

func fCrossEntropy(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x, y *torch.Tensor
	var weight starlark.Value = starlark.None
	ignore := -100
	reduction := "mean"
	smoothing := 0.0
	var sizeAvg, reduce starlark.Value
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "input", &x, "target", &y, "weight?", &weight, "size_average?", &sizeAvg, "ignore_index?", &ignore, "reduce?", &reduce, "reduction?", &reduction, "label_smoothing?", &smoothing); err != nil {
		return nil, err
	}
	w, err := tensorOrNone(weight)
	if err != nil {
		return nil, fmt.Errorf("%s: weight: %w", b.Name(), err)
	}
	r, err := reductionCode(b.Name(), reduction)
	if err != nil {
		return nil, err
	}
	if smoothing < 0 || smoothing > 1 {
		return nil, fmt.Errorf("%s: label_smoothing must be between 0.0 and 1.0, got %g", b.Name(), smoothing)
	}
	t, err := aten.Run("cross_entropy_loss", aten.T(x.ATen()), aten.T(y.ATen()), aten.T(w), aten.I(r), aten.I(int64(ignore)), aten.F(smoothing))
	if err != nil {
		return nil, fmt.Errorf("%s: %w (input %s, target %s %s)", b.Name(), err, shapeStr(x.ATen().Shape()), shapeStr(y.ATen().Shape()), y.ATen().DType())
	}
	return torch.New(t), nil
}

func fNLLLoss(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x, y *torch.Tensor
	var weight starlark.Value = starlark.None
	ignore := -100
	reduction := "mean"
	var sizeAvg, reduce starlark.Value
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "input", &x, "target", &y, "weight?", &weight, "size_average?", &sizeAvg, "ignore_index?", &ignore, "reduce?", &reduce, "reduction?", &reduction); err != nil {
		return nil, err
	}
	w, err := tensorOrNone(weight)
	if err != nil {
		return nil, fmt.Errorf("%s: weight: %w", b.Name(), err)
	}
	r, err := reductionCode(b.Name(), reduction)
	if err != nil {
		return nil, err
	}
	t, err := aten.Run("nll_loss_nd", aten.T(x.ATen()), aten.T(y.ATen()), aten.T(w), aten.I(r), aten.I(int64(ignore)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w (input %s, target %s)", b.Name(), err, shapeStr(x.ATen().Shape()), shapeStr(y.ATen().Shape()))
	}
	return torch.New(t), nil
}

// lossFn wraps aten losses that take (self, target, ..., reduction int).
func lossFn(op string) func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
	return func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var x, y *torch.Tensor
		var weight, posWeight starlark.Value = starlark.None, starlark.None
		reduction := "mean"
		beta := 1.0
		var sizeAvg, reduce starlark.Value
		var err error
		switch op {
		case "binary_cross_entropy":
			err = lang.UnpackArgs(b.Name(), args, kwargs, "input", &x, "target", &y, "weight?", &weight, "size_average?", &sizeAvg, "reduce?", &reduce, "reduction?", &reduction)
		case "binary_cross_entropy_with_logits":
			err = lang.UnpackArgs(b.Name(), args, kwargs, "input", &x, "target", &y, "weight?", &weight, "size_average?", &sizeAvg, "reduce?", &reduce, "reduction?", &reduction, "pos_weight?", &posWeight)
		case "smooth_l1_loss":
			err = lang.UnpackArgs(b.Name(), args, kwargs, "input", &x, "target", &y, "size_average?", &sizeAvg, "reduce?", &reduce, "reduction?", &reduction, "beta?", &beta)
		default:
			err = lang.UnpackArgs(b.Name(), args, kwargs, "input", &x, "target", &y, "size_average?", &sizeAvg, "reduce?", &reduce, "reduction?", &reduction)
		}
		if err != nil {
			return nil, err
		}
		r, err := reductionCode(b.Name(), reduction)
		if err != nil {
			return nil, err
		}
		w, err := tensorOrNone(weight)
		if err != nil {
			return nil, fmt.Errorf("%s: weight: %w", b.Name(), err)
		}
		pw, err := tensorOrNone(posWeight)
		if err != nil {
			return nil, fmt.Errorf("%s: pos_weight: %w", b.Name(), err)
		}
		xa, ya := aten.T(x.ATen()), aten.T(y.ATen())
		var t aten.Tensor
		switch op {
		case "binary_cross_entropy":
			t, err = aten.Run(op, xa, ya, aten.T(w), aten.I(r))
		case "binary_cross_entropy_with_logits":
			t, err = aten.Run(op, xa, ya, aten.T(w), aten.T(pw), aten.I(r))
		case "smooth_l1_loss":
			t, err = aten.Run(op, xa, ya, aten.I(r), aten.F(beta))
		default:
			t, err = aten.Run(op, xa, ya, aten.I(r))
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w (input %s, target %s)", b.Name(), err, shapeStr(x.ATen().Shape()), shapeStr(y.ATen().Shape()))
		}
		return torch.New(t), nil
	}
}

func fKLDiv(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x, y *torch.Tensor
	reduction := "mean"
	logTarget := false
	var sizeAvg, reduce starlark.Value
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "input", &x, "target", &y, "size_average?", &sizeAvg, "reduce?", &reduce, "reduction?", &reduction, "log_target?", &logTarget); err != nil {
		return nil, err
	}
	code := int64(0)
	if reduction != "batchmean" {
		var err error
		if code, err = reductionCode(b.Name(), reduction); err != nil {
			return nil, err
		}
	}
	if reduction == "batchmean" {
		code = 2
	}
	t, err := aten.Run("kl_div", aten.T(x.ATen()), aten.T(y.ATen()), aten.I(code), aten.B(logTarget))
	if err == nil && reduction == "batchmean" && x.ATen().Dim() > 0 {
		t, err = aten.Run("div", aten.T(t), aten.I(x.ATen().Shape()[0]))
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return torch.New(t), nil
}

func fDropout(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x *torch.Tensor
	p := 0.5
	training, inplace := true, false
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "input", &x, "p?", &p, "training?", &training, "inplace?", &inplace); err != nil {
		return nil, err
	}
	if p < 0 || p > 1 {
		return nil, fmt.Errorf("%s: dropout probability has to be between 0 and 1, but got %g", b.Name(), p)
	}
	t, err := aten.Run("dropout", aten.T(x.ATen()), aten.F(p), aten.B(training))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return torch.New(t), nil
}

func fBatchNorm(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x *torch.Tensor
	var rm, rv, w, bias starlark.Value = starlark.None, starlark.None, starlark.None, starlark.None
	training := false
	momentum, eps := 0.1, 1e-5
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "input", &x, "running_mean", &rm, "running_var", &rv, "weight?", &w, "bias?", &bias, "training?", &training, "momentum?", &momentum, "eps?", &eps); err != nil {
		return nil, err
	}
	var ts [4]aten.Tensor
	for i, v := range []starlark.Value{rm, rv, w, bias} {
		t, err := tensorOrNone(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name(), err)
		}
		ts[i] = t
	}
	if training {
		if err := verifyBatchSize(b.Name(), x.ATen().Shape()); err != nil {
			return nil, err
		}
	}
	t, err := aten.Run("batch_norm", aten.T(x.ATen()), aten.T(ts[2]), aten.T(ts[3]), aten.T(ts[0]), aten.T(ts[1]), aten.B(training), aten.F(momentum), aten.F(eps), aten.B(true))
	if err != nil {
		return nil, fmt.Errorf("%s: %w (input %s)", b.Name(), err, shapeStr(x.ATen().Shape()))
	}
	return torch.New(t), nil
}

func fLayerNorm(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x *torch.Tensor
	var shapeV starlark.Value
	var w, bias starlark.Value = starlark.None, starlark.None
	eps := 1e-5
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "input", &x, "normalized_shape", &shapeV, "weight?", &w, "bias?", &bias, "eps?", &eps); err != nil {
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
	wt, err := tensorOrNone(w)
	if err != nil {
		return nil, err
	}
	bt, err := tensorOrNone(bias)
	if err != nil {
		return nil, err
	}
	t, err := aten.Run("layer_norm", aten.T(x.ATen()), aten.Is(shape...), aten.T(wt), aten.T(bt), aten.F(eps))
	if err != nil {
		return nil, fmt.Errorf("%s: %w (input %s)", b.Name(), err, shapeStr(x.ATen().Shape()))
	}
	return torch.New(t), nil
}

func fOneHot(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x *torch.Tensor
	n := -1
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "tensor", &x, "num_classes?", &n); err != nil {
		return nil, err
	}
	t, err := aten.Run("one_hot", aten.T(x.ATen()), aten.I(int64(n)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return torch.New(t), nil
}

func fMaxPool2d(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x *torch.Tensor
	var kernel starlark.Value
	var stride starlark.Value = starlark.None
	var padding, dilation starlark.Value = starlark.MakeInt(0), starlark.MakeInt(1)
	ceil, retIdx := false, false
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "input", &x, "kernel_size", &kernel, "stride?", &stride, "padding?", &padding, "dilation?", &dilation, "ceil_mode?", &ceil, "return_indices?", &retIdx); err != nil {
		return nil, err
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
	d, err := ints(b.Name(), "dilation", dilation, 2)
	if err != nil {
		return nil, err
	}
	if retIdx {
		rs, err := aten.RunAll("max_pool2d_with_indices", aten.T(x.ATen()), aten.Is(k...), aten.Is(s...), aten.Is(p...), aten.Is(d...), aten.B(ceil))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name(), err)
		}
		return starlark.Tuple{torch.New(rs[0].T), torch.New(rs[1].T)}, nil
	}
	t, err := aten.Run("dadash::max_pool2d", aten.T(x.ATen()), aten.Is(k...), aten.Is(s...), aten.Is(p...), aten.Is(d...), aten.B(ceil))
	if err != nil {
		return nil, fmt.Errorf("%s: %w (input %s)", b.Name(), err, shapeStr(x.ATen().Shape()))
	}
	return torch.New(t), nil
}

func fAdaptiveMaxPool2d(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x *torch.Tensor
	var size starlark.Value
	retIdx := false
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "input", &x, "output_size", &size, "return_indices?", &retIdx); err != nil {
		return nil, err
	}
	sz, err := ints(b.Name(), "output_size", size, 2)
	if err != nil {
		return nil, err
	}
	rs, err := aten.RunAll("adaptive_max_pool2d", aten.T(x.ATen()), aten.Is(sz...))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	if retIdx {
		return starlark.Tuple{torch.New(rs[0].T), torch.New(rs[1].T)}, nil
	}
	return torch.New(rs[0].T), nil
}

// ---------------------------------------------------------------- nn.init

var initModule = torch.NewNamespace("nn.init", "-", docInit, starlark.StringDict{
	"calculate_gain":   lang.Func("nn.init.calculate_gain", "nn.init.calculate_gain(nonlinearity, param=None): the recommended gain (relu: sqrt(2), tanh: 5/3, leaky_relu: sqrt(2/(1+slope^2)), linear/sigmoid/conv: 1).", iCalculateGain),
	"uniform_":         lang.Func("nn.init.uniform_", "nn.init.uniform_(tensor, a=0.0, b=1.0): fills with U(a, b); returns tensor.", iUniform),
	"normal_":          lang.Func("nn.init.normal_", "nn.init.normal_(tensor, mean=0.0, std=1.0): fills with N(mean, std^2); returns tensor.", iNormal),
	"constant_":        lang.Func("nn.init.constant_", "nn.init.constant_(tensor, val): fills with val.", iConstant),
	"zeros_":           lang.Func("nn.init.zeros_", "nn.init.zeros_(tensor): fills with 0.", iFill(0)),
	"ones_":            lang.Func("nn.init.ones_", "nn.init.ones_(tensor): fills with 1.", iFill(1)),
	"xavier_uniform_":  lang.Func("nn.init.xavier_uniform_", "nn.init.xavier_uniform_(tensor, gain=1.0): U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out)).", iXavier(false)),
	"xavier_normal_":   lang.Func("nn.init.xavier_normal_", "nn.init.xavier_normal_(tensor, gain=1.0): N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out)).", iXavier(true)),
	"kaiming_uniform_": lang.Func("nn.init.kaiming_uniform_", "nn.init.kaiming_uniform_(tensor, a=0, mode='fan_in', nonlinearity='leaky_relu'): U(-b, b), b = gain * sqrt(3 / fan).", iKaiming(false)),
	"kaiming_normal_":  lang.Func("nn.init.kaiming_normal_", "nn.init.kaiming_normal_(tensor, a=0, mode='fan_in', nonlinearity='leaky_relu'): N(0, std^2), std = gain / sqrt(fan).", iKaiming(true)),
	"trunc_normal_":    lang.Func("nn.init.trunc_normal_", "nn.init.trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0): normal values restricted to [a, b] (inverse-CDF method, as PyTorch).", iTruncNormal),
})

const docInit = `nn.init: weight initialisation as torch.nn.init (in place, outside autograd, returning the tensor):
uniform_, normal_, constant_, zeros_, ones_, xavier_uniform_, xavier_normal_, kaiming_uniform_,
kaiming_normal_, trunc_normal_, calculate_gain. Layers already start with PyTorch's defaults.`

// Gain is nn.init.calculate_gain.
func Gain(nonlinearity string, param starlark.Value) (float64, error) {
	switch nonlinearity {
	case "linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "sigmoid":
		return 1, nil
	case "tanh":
		return 5.0 / 3, nil
	case "relu":
		return math.Sqrt(2), nil
	case "selu":
		return 3.0 / 4, nil
	case "leaky_relu":
		slope := 0.01
		if param != nil && param != starlark.None {
			f, ok := starlark.AsFloat(param)
			if !ok {
				return 0, fmt.Errorf("negative_slope %s is not a number", param)
			}
			slope = f
		}
		return math.Sqrt(2 / (1 + slope*slope)), nil
	}
	return 0, fmt.Errorf("unsupported nonlinearity %q", nonlinearity)
}

func iCalculateGain(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var nl string
	var param starlark.Value = starlark.None
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "nonlinearity", &nl, "param?", &param); err != nil {
		return nil, err
	}
	g, err := Gain(nl, param)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return starlark.Float(g), nil
}

func inPlace(b *starlark.Builtin, t *torch.Tensor, op string, args ...aten.Arg) (starlark.Value, error) {
	err := aten.NoGrad(func() error {
		_, err := aten.Run(op, append([]aten.Arg{aten.T(t.ATen())}, args...)...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return t, nil
}

func iUniform(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var t *torch.Tensor
	lo, hi := 0.0, 1.0
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "tensor", &t, "a?", &lo, "b?", &hi); err != nil {
		return nil, err
	}
	return inPlace(b, t, "uniform_", aten.F(lo), aten.F(hi))
}

func iNormal(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var t *torch.Tensor
	mean, std := 0.0, 1.0
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "tensor", &t, "mean?", &mean, "std?", &std); err != nil {
		return nil, err
	}
	return inPlace(b, t, "normal_", aten.F(mean), aten.F(std))
}

func iConstant(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var t *torch.Tensor
	var val float64
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "tensor", &t, "val", &val); err != nil {
		return nil, err
	}
	return inPlace(b, t, "fill_", aten.F(val))
}

func iFill(v float64) func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
	return func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var t *torch.Tensor
		if err := lang.UnpackArgs(b.Name(), args, kwargs, "tensor", &t); err != nil {
			return nil, err
		}
		return inPlace(b, t, "fill_", aten.F(v))
	}
}

func fanOf(fn string, t *torch.Tensor) (int64, int64, error) {
	sh := t.ATen().Shape()
	if len(sh) < 2 {
		return 0, 0, fmt.Errorf("%s: fan in and fan out can not be computed for a tensor with fewer than 2 dimensions (shape %s)", fn, shapeStr(sh))
	}
	in, out := fans(sh)
	return in, out, nil
}

func iXavier(normal bool) func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
	return func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var t *torch.Tensor
		gain := 1.0
		if err := lang.UnpackArgs(b.Name(), args, kwargs, "tensor", &t, "gain?", &gain); err != nil {
			return nil, err
		}
		in, out, err := fanOf(b.Name(), t)
		if err != nil {
			return nil, err
		}
		std := gain * math.Sqrt(2/float64(in+out))
		if normal {
			return inPlace(b, t, "normal_", aten.F(0), aten.F(std))
		}
		a := math.Sqrt(3) * std
		return inPlace(b, t, "uniform_", aten.F(-a), aten.F(a))
	}
}

func iKaiming(normal bool) func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
	return func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var t *torch.Tensor
		var a starlark.Value = starlark.MakeInt(0)
		mode, nl := "fan_in", "leaky_relu"
		if err := lang.UnpackArgs(b.Name(), args, kwargs, "tensor", &t, "a?", &a, "mode?", &mode, "nonlinearity?", &nl); err != nil {
			return nil, err
		}
		in, out, err := fanOf(b.Name(), t)
		if err != nil {
			return nil, err
		}
		fan := in
		switch mode {
		case "fan_in":
		case "fan_out":
			fan = out
		default:
			return nil, fmt.Errorf("%s: mode %q not supported, please use one of fan_in, fan_out", b.Name(), mode)
		}
		gain, err := Gain(nl, a)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name(), err)
		}
		std := gain / math.Sqrt(float64(fan))
		if normal {
			return inPlace(b, t, "normal_", aten.F(0), aten.F(std))
		}
		bound := math.Sqrt(3) * std
		return inPlace(b, t, "uniform_", aten.F(-bound), aten.F(bound))
	}
}

func iTruncNormal(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var t *torch.Tensor
	mean, std, lo, hi := 0.0, 1.0, -2.0, 2.0
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "tensor", &t, "mean?", &mean, "std?", &std, "a?", &lo, "b?", &hi); err != nil {
		return nil, err
	}
	cdf := func(x float64) float64 { return (1 + math.Erf(x/math.Sqrt2)) / 2 }
	l, u := cdf((lo-mean)/std), cdf((hi-mean)/std)
	x := t.ATen()
	err := aten.NoGrad(func() error {
		steps := []struct {
			op   string
			args []aten.Arg
		}{
			{"uniform_", []aten.Arg{aten.F(2*l - 1), aten.F(2*u - 1)}},
			{"erfinv_", nil},
			{"mul_", []aten.Arg{aten.F(std * math.Sqrt2)}},
			{"add_", []aten.Arg{aten.F(mean)}},
			{"clamp_", []aten.Arg{aten.F(lo), aten.F(hi)}},
		}
		for _, s := range steps {
			if _, err := aten.Run(s.op, append([]aten.Arg{aten.T(x)}, s.args...)...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return t, nil
}

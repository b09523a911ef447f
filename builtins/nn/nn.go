package nn

import (
	"fmt"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/builtins/torch"
	"github.com/dadash/dadash/builtins/torch/aten"
	"github.com/dadash/dadash/lang"
)

// Module value of `nn`.
var NN *torch.Namespace

func simpleCtor(typeName, op string, doc string, params ...string) *starlark.Builtin {
	return builtin(typeName, doc, func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		switch typeName {
		case "LeakyReLU":
			slope := 0.01
			inplace := false
			if err := lang.UnpackArgs(b.Name(), args, kwargs, "negative_slope?", &slope, "inplace?", &inplace); err != nil {
				return nil, err
			}
			m := NewActivation(typeName, op, aten.F(slope))
			m.SetAttr("negative_slope", starlark.Float(slope))
			m.ExtraRepr = func(m *Module) string { return "negative_slope=" + pyFloat(m.floatAttr("negative_slope")) }
			return m, nil
		case "Softmax", "LogSoftmax":
			var dim starlark.Value = starlark.None
			if err := lang.UnpackArgs(b.Name(), args, kwargs, "dim?", &dim); err != nil {
				return nil, err
			}
			d, err := starlark.AsInt32(dim)
			if err != nil {
				return nil, fmt.Errorf("%s: dim must be an int", b.Name())
			}
			m := NewActivation(typeName, op, aten.I(int64(d)))
			m.SetAttr("dim", dim)
			m.ExtraRepr = func(m *Module) string { return "dim=" + m.attrs["dim"].String() }
			return m, nil
		}
		inplace := false
		if err := lang.UnpackArgs(b.Name(), args, kwargs, "inplace?", &inplace); err != nil {
			return nil, err
		}
		return NewActivation(typeName, op), nil
	})
}

func init() {
	members := starlark.StringDict{
		"Module":            builtin("Module", docModule, fnModule),
		"Parameter":         builtin("Parameter", "nn.Parameter(data, requires_grad=True): a leaf tensor sharing data's memory, registered as a parameter when assigned to a module or passed to nn.Module.", fnParameter),
		"Linear":            builtin("Linear", "nn.Linear(in_features, out_features, bias=True, device=None, dtype=None): y = x W^T + b. weight (out, in) and bias initialised as PyTorch does (kaiming_uniform_(a=sqrt(5)), U(+-1/sqrt(in))).", fnLinear),
		"Conv2d":            builtin("Conv2d", "nn.Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True): 2-D convolution; padding may be 'same' or 'valid'.", fnConv2d),
		"BatchNorm1d":       builtin("BatchNorm1d", "nn.BatchNorm1d(num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True): batch normalisation of (N, C) or (N, C, L) inputs.", batchNormCtor(1)),
		"BatchNorm2d":       builtin("BatchNorm2d", "nn.BatchNorm2d(num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True): batch normalisation of (N, C, H, W) inputs.", batchNormCtor(2)),
		"LayerNorm":         builtin("LayerNorm", "nn.LayerNorm(normalized_shape, eps=1e-5, elementwise_affine=True): layer normalisation over the last dimensions; elementwise_affine=False has no parameters (DADA's embedding head).", fnLayerNorm),
		"Dropout":           builtin("Dropout", "nn.Dropout(p=0.5): zeroes elements with probability p in training mode and scales the rest by 1/(1-p).", fnDropout),
		"ReLU":              simpleCtor("ReLU", "relu", "nn.ReLU(inplace=False): max(x, 0)."),
		"LeakyReLU":         simpleCtor("LeakyReLU", "leaky_relu", "nn.LeakyReLU(negative_slope=0.01): max(x, 0) + negative_slope * min(x, 0)."),
		"GELU":              simpleCtor("GELU", "gelu", "nn.GELU(): the Gaussian error linear unit."),
		"Sigmoid":           simpleCtor("Sigmoid", "sigmoid", "nn.Sigmoid()"),
		"Tanh":              simpleCtor("Tanh", "tanh", "nn.Tanh()"),
		"Softmax":           simpleCtor("Softmax", "softmax", "nn.Softmax(dim): softmax along dim."),
		"LogSoftmax":        simpleCtor("LogSoftmax", "log_softmax", "nn.LogSoftmax(dim): log-softmax along dim."),
		"MaxPool2d":         builtin("MaxPool2d", "nn.MaxPool2d(kernel_size, stride=None, padding=0, ceil_mode=False): max pooling (stride defaults to kernel_size).", poolCtor("MaxPool2d")),
		"AvgPool2d":         builtin("AvgPool2d", "nn.AvgPool2d(kernel_size, stride=None, padding=0, ceil_mode=False): average pooling.", poolCtor("AvgPool2d")),
		"AdaptiveAvgPool2d": builtin("AdaptiveAvgPool2d", "nn.AdaptiveAvgPool2d(output_size): average pooling to a fixed output size (1: global average pooling).", adaptiveCtor("AdaptiveAvgPool2d")),
		"AdaptiveMaxPool2d": builtin("AdaptiveMaxPool2d", "nn.AdaptiveMaxPool2d(output_size): max pooling to a fixed output size (1: global max pooling).", adaptiveCtor("AdaptiveMaxPool2d")),
		"Flatten":           builtin("Flatten", "nn.Flatten(start_dim=1, end_dim=-1): flattens a range of dimensions.", fnFlatten),
		"Identity":          builtin("Identity", "nn.Identity(): returns its input.", fnIdentity),
		"Sequential":        builtin("Sequential", "nn.Sequential(*modules) or nn.Sequential({name: module, ...}): applies the modules in order; indexable, iterable, len().", fnSequential),
		"ModuleList":        builtin("ModuleList", "nn.ModuleList(modules=[]): a list of submodules (registered, so their parameters count); indexable, append().", fnModuleList),
		"functional":        functionalModule,
		"init":              initModule,
	}
	NN = torch.NewNamespace("nn", "-", docNN, members)
	// torch.nn and torch.jit live here (they need modules); PyTorch code
	// reaches them through torch.
	torch.Module.Members()["nn"] = NN
	torch.Module.Members()["jit"] = jitModule
	lang.Register(lang.Module{Name: "nn", Value: NN, Doc: docNN})
}

const docNN = `nn: neural network layers as in torch.nn.

Layers: Linear, Conv2d, BatchNorm1d, BatchNorm2d, LayerNorm, Dropout, ReLU, LeakyReLU, GELU, Sigmoid,
Tanh, Softmax, LogSoftmax, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, AdaptiveMaxPool2d, Flatten,
Identity; containers Sequential and ModuleList; nn.Module(forward, **members) for your own modules;
nn.Parameter. Every module: m(x), train()/eval(), parameters(), named_parameters(), buffers(),
state_dict(), load_state_dict(sd, strict=True), to(device), requires_grad_(), zero_grad().
nn.functional (F) and nn.init hold the functions.`

const docModule = `nn.Module(forward, **members)

A module written in the script. forward(self, *inputs) computes the output;
members become attributes: modules are submodules, nn.Parameter(t) (or any
leaf tensor that requires grad) a parameter, other tensors buffers, and the
rest plain values. For example:

    def mlp(self, x):
        return self.fc2(self.fc1(x).relu()) * self.scale
    net = nn.Module(mlp, fc1 = nn.Linear(4, 8), fc2 = nn.Linear(8, 2),
                    scale = nn.Parameter(torch.ones(1)))

Attributes may be added later (net.head = nn.Linear(2, 2)). name="..." sets
the name shown when printing.`

func fnDropout(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	p := 0.5
	inplace := false
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "p?", &p, "inplace?", &inplace); err != nil {
		return nil, err
	}
	if p < 0 || p > 1 {
		return nil, fmt.Errorf("%s: dropout probability has to be between 0 and 1, but got %g", b.Name(), p)
	}
	return NewDropout(p), nil
}

func fnFlatten(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	start, end := 1, -1
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "start_dim?", &start, "end_dim?", &end); err != nil {
		return nil, err
	}
	return NewFlatten(int64(start), int64(end)), nil
}

func fnIdentity(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	return NewIdentity(), nil // PyTorch's Identity ignores its arguments
}

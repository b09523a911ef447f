package models

import (
	"fmt"
	"math"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/builtins/nn"
	"github.com/dadash/dadash/builtins/torch"
	"github.com/dadash/dadash/builtins/torch/aten"
)

// resnetSpecs are torchvision's depths: block kind and blocks per stage.
var resnetSpecs = map[string]struct {
	bottleneck bool
	layers     [4]int
}{
	"resnet18":  {false, [4]int{2, 2, 2, 2}},
	"resnet34":  {false, [4]int{3, 4, 6, 3}},
	"resnet50":  {true, [4]int{3, 4, 6, 3}},
	"resnet101": {true, [4]int{3, 4, 23, 3}},
}

// kaimingFanOut is torchvision's conv init: kaiming_normal_(mode="fan_out",
// nonlinearity="relu").
func kaimingFanOut(conv *nn.Module) error {
	w := conv.Param("weight").ATen()
	sh := w.Shape()
	fanOut := sh[0] * sh[2] * sh[3]
	return aten.NoGrad(func() error {
		_, err := aten.Run("normal_", aten.T(w), aten.F(0), aten.F(math.Sqrt(2/float64(fanOut))))
		return err
	})
}

func conv(in, out, k, stride, pad int64) (*nn.Module, error) {
	c, err := nn.NewConv2dDefault(in, out, k, stride, pad, false)
	if err != nil {
		return nil, err
	}
	return c, kaimingFanOut(c)
}

// block builds one BasicBlock or Bottleneck with torchvision's names
// (stride on the 3x3 convolution, as torchvision v1.5 does).
func block(bottleneck bool, in, planes, stride int64) (*nn.Module, int64, error) {
	typeName := "BasicBlock"
	out := planes
	if bottleneck {
		typeName, out = "Bottleneck", planes*4
	}
	b := nn.NewModule(typeName, nil)
	type layer struct {
		name string
		m    *nn.Module
	}
	var layers []layer
	add := func(name string, m *nn.Module, err error) error {
		if err != nil {
			return err
		}
		layers = append(layers, layer{name, m})
		return nil
	}
	var steps []error
	if bottleneck {
		c1, e1 := conv(in, planes, 1, 1, 0)
		b1, e2 := nn.NewBatchNorm2dDefault(planes)
		c2, e3 := conv(planes, planes, 3, stride, 1)
		b2, e4 := nn.NewBatchNorm2dDefault(planes)
		c3, e5 := conv(planes, out, 1, 1, 0)
		b3, e6 := nn.NewBatchNorm2dDefault(out)
		steps = []error{add("conv1", c1, e1), add("bn1", b1, e2), add("conv2", c2, e3), add("bn2", b2, e4), add("conv3", c3, e5), add("bn3", b3, e6)}
	} else {
		c1, e1 := conv(in, planes, 3, stride, 1)
		b1, e2 := nn.NewBatchNorm2dDefault(planes)
		c2, e3 := conv(planes, planes, 3, 1, 1)
		b2, e4 := nn.NewBatchNorm2dDefault(planes)
		steps = []error{add("conv1", c1, e1), add("bn1", b1, e2), add("conv2", c2, e3), add("bn2", b2, e4)}
	}
	for _, e := range steps {
		if e != nil {
			return nil, 0, e
		}
	}
	for _, l := range layers {
		if err := b.AddChild(l.name, l.m); err != nil {
			return nil, 0, err
		}
	}
	if err := b.AddChild("relu", nn.NewActivation("ReLU", "relu")); err != nil {
		return nil, 0, err
	}
	if stride != 1 || in != out {
		dc, err := conv(in, out, 1, stride, 0)
		if err != nil {
			return nil, 0, err
		}
		db, err := nn.NewBatchNorm2dDefault(out)
		if err != nil {
			return nil, 0, err
		}
		ds, err := nn.NewSequential(nil, []*nn.Module{dc, db})
		if err != nil {
			return nil, 0, err
		}
		if err := b.AddChild("downsample", ds); err != nil {
			return nil, 0, err
		}
	}
	b.SetForward(blockForward)
	return b, out, nil
}

func blockForward(thread *starlark.Thread, b *nn.Module, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var xv *torch.Tensor
	if err := starlark.UnpackPositionalArgs(b.TypeName(), args, kwargs, 1, &xv); err != nil {
		return nil, err
	}
	x := xv.ATen()
	seq := []string{"conv1", "bn1", "relu", "conv2", "bn2"}
	if b.TypeName() == "Bottleneck" {
		seq = []string{"conv1", "bn1", "relu", "conv2", "bn2", "relu", "conv3", "bn3"}
	}
	// With native layers only (the block as built), each intermediate
	// result is freed once the next layer has consumed it.
	native := b.Native()
	step := func(prev, next aten.Tensor) {
		if native {
			nn.ReleaseIntermediate(prev, x, next)
		}
	}
	out := x
	var err error
	for _, n := range seq {
		prev := out
		if n == "relu" {
			out, err = aten.Run("relu_", aten.T(out))
		} else {
			out, err = b.Child(n).ForwardTensor(thread, out)
		}
		if err != nil {
			return nil, err
		}
		step(prev, out)
	}
	identity := x
	if ds := b.Child("downsample"); ds != nil {
		if identity, err = ds.ForwardTensor(thread, x); err != nil {
			return nil, err
		}
	}
	prev := out
	if out, err = aten.Run("add_", aten.T(out), aten.T(identity)); err != nil {
		return nil, err
	}
	step(prev, out)
	step(identity, out)
	prev = out
	if out, err = aten.Run("relu_", aten.T(out)); err != nil {
		return nil, err
	}
	step(prev, out)
	return torch.New(out), nil
}

// NewResNet builds torchvision's ResNet trunk (without fc) as children of a
// module named ResNet; it returns the module and its feature dimension.
func NewResNet(name string) (*nn.Module, int64, error) {
	spec, ok := resnetSpecs[name]
	if !ok {
		return nil, 0, fmt.Errorf("unknown ResNet %q", name)
	}
	m := nn.NewModule("ResNet", nil)
	c1, err := conv(3, 64, 7, 2, 3)
	if err != nil {
		return nil, 0, err
	}
	b1, err := nn.NewBatchNorm2dDefault(64)
	if err != nil {
		return nil, 0, err
	}
	for _, c := range []struct {
		n string
		m *nn.Module
	}{{"conv1", c1}, {"bn1", b1}, {"relu", nn.NewActivation("ReLU", "relu")}, {"maxpool", nn.NewPool2d("MaxPool2d", []int64{3, 3}, []int64{2, 2}, []int64{1, 1}, false)}} {
		if err := m.AddChild(c.n, c.m); err != nil {
			return nil, 0, err
		}
	}
	in := int64(64)
	for stage := 0; stage < 4; stage++ {
		planes := int64(64) << stage
		stride := int64(2)
		if stage == 0 {
			stride = 1
		}
		var blocks []*nn.Module
		for i := 0; i < spec.layers[stage]; i++ {
			s := int64(1)
			if i == 0 {
				s = stride
			}
			blk, out, err := block(spec.bottleneck, in, planes, s)
			if err != nil {
				return nil, 0, err
			}
			blocks = append(blocks, blk)
			in = out
		}
		seq, err := nn.NewSequential(nil, blocks)
		if err != nil {
			return nil, 0, err
		}
		if err := m.AddChild(fmt.Sprintf("layer%d", stage+1), seq); err != nil {
			return nil, 0, err
		}
	}
	return m, in, nil
}

// resnetTrunk runs conv1 .. layer4.
// With native layers only, each intermediate result is freed once the next
// layer has consumed it (nn.ReleaseIntermediate).
func resnetTrunk(thread *starlark.Thread, m *nn.Module, x aten.Tensor) (aten.Tensor, error) {
	in, h := x, x
	madeByNative := false
	var prev *nn.Module
	for _, n := range []string{"conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4"} {
		c := m.Child(n)
		native := c.Native()
		var next aten.Tensor
		var err error
		if madeByNative && nn.ReLUInPlace(prev, c) {
			next, err = aten.Run("relu_", aten.T(h)) // torchvision's ReLU(inplace=True)
		} else {
			next, err = c.ForwardTensor(thread, h)
		}
		if err != nil {
			return next, fmt.Errorf("%s.%s: %w", m.TypeName(), n, err)
		}
		prev = c
		if madeByNative && native {
			nn.ReleaseIntermediate(h, in, next)
		}
		h, madeByNative = next, native
	}
	return h, nil
}

func resnetFn(name string) func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
	return func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		ma, err := parseModelArgs(thread, b.Name(), args, kwargs, 512)
		if err != nil {
			return nil, err
		}
		m, feat, err := NewResNet(name)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name(), err)
		}
		if _, err := NewEmbeddingNet(m, resnetTrunk, feat, ma.head); err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name(), err)
		}
		addBackboneMethods(m, []string{"conv1", "bn1", "layer1", "layer2", "layer3", "layer4"})
		return finish(thread, b.Name(), m, ma)
	}
}

// addBackboneMethods gives a model freeze_backbone(on): the named
// children stop (or resume) learning, for warm-up epochs.
func addBackboneMethods(m *nn.Module, backbone []string) {
	m.AddMethod("freeze_backbone", "model.freeze_backbone(frozen=True): stop (frozen=False: resume) training the backbone; the embedding head keeps learning. DADA freezes it for the first `warmup` epochs.",
		func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			frozen := true
			if err := starlark.UnpackArgs("freeze_backbone", args, kwargs, "frozen?", &frozen); err != nil {
				return nil, err
			}
			mod := b.Receiver().(*nn.Module)
			for _, n := range backbone {
				c := mod.Child(n)
				if c == nil {
					continue
				}
				for _, nt := range c.NamedParameters() {
					if err := nt.Tensor.ATen().SetRequiresGrad(!frozen); err != nil {
						return nil, err
					}
				}
			}
			mod.SetAttr("backbone_frozen", starlark.Bool(frozen))
			return mod, nil
		})
	m.AddMethod("backbone_parameters", "model.backbone_parameters(): the parameters of the backbone (for an optimiser group of its own).",
		func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			mod := b.Receiver().(*nn.Module)
			var vals []starlark.Value
			for _, n := range backbone {
				if c := mod.Child(n); c != nil {
					for _, nt := range c.NamedParameters() {
						vals = append(vals, nt.Tensor)
					}
				}
			}
			return starlark.NewList(vals), nil
		})
	m.AddMethod("head_parameters", "model.head_parameters(): the parameters of the embedding head (last_linear).",
		func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			mod := b.Receiver().(*nn.Module)
			inBackbone := map[*torch.Tensor]bool{}
			for _, n := range backbone {
				if c := mod.Child(n); c != nil {
					for _, nt := range c.NamedParameters() {
						inBackbone[nt.Tensor] = true
					}
				}
			}
			var vals []starlark.Value
			for _, nt := range mod.NamedParameters() {
				if !inBackbone[nt.Tensor] {
					vals = append(vals, nt.Tensor)
				}
			}
			return starlark.NewList(vals), nil
		})
}

// ---------------------------------------------------------------- small CNN

const docSmallCNN = `models.small_cnn(in_channels=1, width=32, embed_dim=64, pooling="avg", layernorm=False, normalize=False, frozen_bn=False, pretrained=None)

A small CNN for small grey images (Fashion-MNIST, glyphs): three stages of
conv3x3-BatchNorm-ReLU (width, 2*width, 4*width channels; max-pooling after the
first two), then the embedding head as for the ResNets. Returns (embedding, features).
pooling="grid" averages the last feature map over a 4 x 4 grid and flattens it
(16 * 4 * width features) instead of pooling it to one vector, so that the
embedding still knows where things are: what tells one character from another.`

func fnSmallCNN(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	inCh, width := 1, 32
	ma, err := parseModelArgs(thread, b.Name(), args, kwargs, 64, "in_channels?", &inCh, "width?", &width)
	if err != nil {
		return nil, err
	}
	if inCh < 1 || width < 1 {
		return nil, fmt.Errorf("%s: in_channels and width must be positive", b.Name())
	}
	m := nn.NewModule("SmallCNN", nil)
	in := int64(inCh)
	var names []string
	for i, out := range []int64{int64(width), int64(2 * width), int64(4 * width)} {
		c, err := nn.NewConv2dDefault(in, out, 3, 1, 1, false)
		if err != nil {
			return nil, err
		}
		bn, err := nn.NewBatchNorm2dDefault(out)
		if err != nil {
			return nil, err
		}
		mods := []*nn.Module{c, bn, nn.NewActivation("ReLU", "relu")}
		if i < 2 {
			mods = append(mods, nn.NewPool2d("MaxPool2d", []int64{2, 2}, []int64{2, 2}, []int64{0, 0}, false))
		}
		seq, err := nn.NewSequential(nil, mods)
		if err != nil {
			return nil, err
		}
		name := fmt.Sprintf("block%d", i+1)
		if err := m.AddChild(name, seq); err != nil {
			return nil, err
		}
		names = append(names, name)
		in = out
	}
	trunk := func(thread *starlark.Thread, m *nn.Module, x aten.Tensor) (aten.Tensor, error) {
		var err error
		for _, n := range names {
			if x, err = m.Child(n).ForwardTensor(thread, x); err != nil {
				return x, fmt.Errorf("SmallCNN.%s: %w", n, err)
			}
		}
		return x, nil
	}
	if _, err := NewEmbeddingNet(m, trunk, in, ma.head); err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	addBackboneMethods(m, names)
	return finish(thread, b.Name(), m, ma)
}

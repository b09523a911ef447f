package models

import (
	"fmt"
	"slices"
	"strings"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/builtins/nn"
	"github.com/dadash/dadash/builtins/torch"
	"github.com/dadash/dadash/builtins/torch/aten"
	"github.com/dadash/dadash/lang"
)

// BN-Inception (Ioffe & Szegedy 2015) as Cadene's pretrainedmodels ports
// it from Caffe (pretrainedmodels/models/bninception.py), the backbone of
// the DML references (Proxy-NCA, Proxy-Anchor, "Revisiting DML"). Layer
// names, channels, strides and pooling follow that port so its ImageNet
// state dict (bn_inception-52deb4733.pth) loads by name:
//
//   - every convolution has a bias and is followed by BatchNorm2d(eps=1e-5,
//     momentum=0.9: the port's value, kept) and an in-place ReLU; the
//     inception blocks concatenate the ReLU'd outputs of their branches;
//   - the stem's max pools and the pass-through blocks' max pools use
//     ceil_mode=True;
//   - branch order of each block: 1x1, 3x3 (reduce then 3x3), double 3x3
//     (reduce, 3x3, 3x3), pool (+ 1x1 projection). Blocks 3c and 4e have no
//     1x1 branch, stride 2 on the last 3x3 of both 3x3 branches and pass the
//     max-pooled input through without projection; 5b pools with a max pool
//     (3x3, stride 1, padding 1), the other blocks with an average pool
//     (3x3, stride 1, padding 1, count_include_pad=True).
//
// The input is 3x224x224 in BGR order with values 0..255 minus the mean
// (104, 117, 128), as the Caffe weights expect (the data module's
// norm="bninception"); the 7x7x1024 map of 5b is pooled to 1024 features.

// bnInceptionBlock is one inception block; c1 == 0 and proj == 0 mark the
// pass-through blocks (3c, 4e).
type bnInceptionBlock struct {
	name                    string
	in                      int64
	c1                      int64 // 1x1 branch
	r3, c3                  int64 // 3x3 branch: reduce, 3x3
	rd, d3                  int64 // double 3x3 branch: reduce, both 3x3
	proj                    int64 // 1x1 projection after the pool branch
	pool                    string
	stride                  int64 // of the last 3x3 of both 3x3 branches and of the max pool
	poolKernel, poolPadding int64
}

func (b bnInceptionBlock) out() int64 {
	if b.proj == 0 {
		return b.c3 + b.d3 + b.in
	}
	return b.c1 + b.c3 + b.d3 + b.proj
}

var bnInceptionBlocks = []bnInceptionBlock{
	{"3a", 192, 64, 64, 64, 64, 96, 32, "avg", 1, 3, 1},
	{"3b", 256, 64, 64, 96, 64, 96, 64, "avg", 1, 3, 1},
	{"3c", 320, 0, 128, 160, 64, 96, 0, "max", 2, 3, 0},
	{"4a", 576, 224, 64, 96, 96, 128, 128, "avg", 1, 3, 1},
	{"4b", 576, 192, 96, 128, 96, 128, 128, "avg", 1, 3, 1},
	{"4c", 576, 160, 128, 160, 128, 160, 128, "avg", 1, 3, 1},
	{"4d", 608, 96, 128, 192, 160, 192, 128, "avg", 1, 3, 1},
	{"4e", 608, 0, 128, 192, 192, 256, 0, "max", 2, 3, 0},
	{"5a", 1056, 352, 192, 320, 160, 224, 128, "avg", 1, 3, 1},
	{"5b", 1024, 352, 192, 320, 192, 224, 128, "max", 1, 3, 1},
}

// bnInceptionUnit names a conv - BatchNorm - ReLU triple.
type bnInceptionUnit struct{ conv, bn, relu string }

// bnInceptionPlan is the order in which the trunk runs the children.
type bnInceptionPlan struct {
	names  []string          // the children, all of them backbone
	stem   []bnInceptionUnit // conv-BN-ReLU units and the max pools (bn == "")
	blocks []bnInceptionBlockPlan
}

type bnInceptionBlockPlan struct {
	branches [][]bnInceptionUnit // 1x1, 3x3, double 3x3 (units applied in order)
	pool     string              // the pool child
	proj     *bnInceptionUnit    // nil: pass-through
}

// newBNInception builds the trunk (without classifier) as children of a
// module named BNInception; it returns the module, the order the trunk
// runs its children in, and the feature dimension (1024).
func newBNInception() (*nn.Module, *bnInceptionPlan, int64, error) {
	m := nn.NewModule("BNInception", nil)
	plan := &bnInceptionPlan{}
	add := func(name string, c *nn.Module) error {
		plan.names = append(plan.names, name)
		return m.AddChild(name, c)
	}
	unit := func(conv, bn, relu string, in, out, k, stride, pad int64) (bnInceptionUnit, error) {
		u := bnInceptionUnit{conv, bn, relu}
		c, err := nn.NewConv2dDefault(in, out, k, stride, pad, true)
		if err != nil {
			return u, err
		}
		b, err := nn.NewBatchNorm2dDefault(out)
		if err != nil {
			return u, err
		}
		b.SetAttr("momentum", starlark.Float(0.9)) // as the Caffe port sets it
		if err := add(conv, c); err != nil {
			return u, err
		}
		if err := add(bn, b); err != nil {
			return u, err
		}
		return u, add(relu, nn.NewActivation("ReLU", "relu"))
	}
	maxPool := func(name string, k, s, p int64) error {
		return add(name, nn.NewPool2d("MaxPool2d", []int64{k, k}, []int64{s, s}, []int64{p, p}, true))
	}

	// Stem: conv 7x7/2 - pool - conv 1x1 - conv 3x3 - pool.
	for _, s := range []struct {
		conv, relu         string
		in, out, k, st, pd int64
		pool               string
	}{
		{"conv1_7x7_s2", "conv1_relu_7x7", 3, 64, 7, 2, 3, "pool1_3x3_s2"},
		{"conv2_3x3_reduce", "conv2_relu_3x3_reduce", 64, 64, 1, 1, 0, ""},
		{"conv2_3x3", "conv2_relu_3x3", 64, 192, 3, 1, 1, "pool2_3x3_s2"},
	} {
		u, err := unit(s.conv, s.conv+"_bn", s.relu, s.in, s.out, s.k, s.st, s.pd)
		if err != nil {
			return nil, nil, 0, err
		}
		plan.stem = append(plan.stem, u)
		if s.pool != "" {
			if err := maxPool(s.pool, 3, 2, 0); err != nil {
				return nil, nil, 0, err
			}
			plan.stem = append(plan.stem, bnInceptionUnit{conv: s.pool})
		}
	}

	in := int64(192)
	for _, b := range bnInceptionBlocks {
		if b.in != in {
			return nil, nil, 0, fmt.Errorf("BN-Inception block %s: %d input channels, the previous block gives %d", b.name, b.in, in)
		}
		p := "inception_" + b.name + "_"
		u := func(suffix string, in, out, k, stride, pad int64) (bnInceptionUnit, error) {
			return unit(p+suffix, p+suffix+"_bn", p+"relu_"+suffix, in, out, k, stride, pad)
		}
		var bp bnInceptionBlockPlan
		var err error
		var units []bnInceptionUnit
		one := func(suffix string, in, out, k, stride, pad int64) {
			if err != nil {
				return
			}
			var x bnInceptionUnit
			if x, err = u(suffix, in, out, k, stride, pad); err == nil {
				units = append(units, x)
			}
		}
		branch := func() {
			bp.branches = append(bp.branches, units)
			units = nil
		}
		if b.c1 > 0 {
			one("1x1", b.in, b.c1, 1, 1, 0)
			branch()
		}
		one("3x3_reduce", b.in, b.r3, 1, 1, 0)
		one("3x3", b.r3, b.c3, 3, b.stride, 1)
		branch()
		one("double_3x3_reduce", b.in, b.rd, 1, 1, 0)
		one("double_3x3_1", b.rd, b.d3, 3, 1, 1)
		one("double_3x3_2", b.d3, b.d3, 3, b.stride, 1)
		branch()
		if err != nil {
			return nil, nil, 0, err
		}
		bp.pool = p + "pool"
		k, s, pd := []int64{b.poolKernel, b.poolKernel}, []int64{b.stride, b.stride}, []int64{b.poolPadding, b.poolPadding}
		kind := "MaxPool2d"
		if b.pool == "avg" {
			kind = "AvgPool2d"
		}
		if err := add(bp.pool, nn.NewPool2d(kind, k, s, pd, true)); err != nil {
			return nil, nil, 0, err
		}
		if b.proj > 0 {
			x, err := u("pool_proj", b.in, b.proj, 1, 1, 0)
			if err != nil {
				return nil, nil, 0, err
			}
			bp.proj = &x
		}
		plan.blocks = append(plan.blocks, bp)
		in = b.out()
	}
	return m, plan, in, nil
}

// run applies conv - BatchNorm - ReLU (a bare pool when bn is empty).
func (u bnInceptionUnit) run(thread *starlark.Thread, m *nn.Module, x aten.Tensor) (aten.Tensor, error) {
	var err error
	if x, err = m.Child(u.conv).ForwardTensor(thread, x); err != nil {
		return x, fmt.Errorf("BNInception.%s: %w", u.conv, err)
	}
	if u.bn == "" {
		return x, nil
	}
	if x, err = m.Child(u.bn).ForwardTensor(thread, x); err != nil {
		return x, fmt.Errorf("BNInception.%s: %w", u.bn, err)
	}
	if x, err = aten.Run("relu_", aten.T(x)); err != nil {
		return x, fmt.Errorf("BNInception.%s: %w", u.relu, err)
	}
	return x, nil
}

// trunk runs the stem and the ten inception blocks: (N, 1024, 7, 7) at 224.
func (plan *bnInceptionPlan) trunk(thread *starlark.Thread, m *nn.Module, x aten.Tensor) (aten.Tensor, error) {
	var err error
	if x.Dim() == 4 && x.Shape()[1] != 3 {
		return x, fmt.Errorf("BNInception: expected 3-channel (BGR) images, got %s", lang.Size(x.Shape()))
	}
	for _, u := range plan.stem {
		if x, err = u.run(thread, m, x); err != nil {
			return x, err
		}
	}
	for _, b := range plan.blocks {
		outs := make([]aten.Tensor, 0, 4)
		for _, br := range b.branches {
			y := x
			for _, u := range br {
				if y, err = u.run(thread, m, y); err != nil {
					return x, err
				}
			}
			outs = append(outs, y)
		}
		y, err := m.Child(b.pool).ForwardTensor(thread, x)
		if err != nil {
			return x, fmt.Errorf("BNInception.%s: %w", b.pool, err)
		}
		if b.proj != nil {
			if y, err = b.proj.run(thread, m, y); err != nil {
				return x, err
			}
		}
		outs = append(outs, y)
		if x, err = aten.Run("cat", aten.Ts(outs...), aten.I(1)); err != nil {
			return x, fmt.Errorf("BNInception: concatenating %s: %w", b.pool, err)
		}
	}
	return x, nil
}

const docBNInception = `models.bninception(pretrained=None, embed_dim=512, pooling="avg", layernorm=False, normalize=False, frozen_bn=False, strict=False)

BN-Inception as Cadene's pretrainedmodels ports it from Caffe (the backbone of Proxy-NCA,
Proxy-Anchor and "Revisiting DML"), with that port's parameter names (conv1_7x7_s2,
conv1_7x7_s2_bn, conv2_3x3_reduce, ..., inception_3a_1x1, inception_3a_1x1_bn, ...,
inception_5b_pool_proj_bn): 10,270,240 parameters without the classifier; convolutions with bias,
BatchNorm2d(eps=1e-5, momentum=0.9) as in the port, max pools with ceil_mode=True. 1024 features
from the 7x7 map of inception_5b, then the embedding head: pooling ("avg", "max" or "max+avg"),
last_linear = Linear(1024, embed_dim) (embed_dim=None: none), LayerNorm without affine when
layernorm=True, L2 normalisation when normalize=True; frozen_bn keeps every BatchNorm in eval mode.

Input: (N, 3, 224, 224) in BGR order with values 0..255 minus the mean (104, 117, 128), as the
Caffe weights expect: data.train_transform(norm="bninception") / data.eval_transform(norm="bninception").

pretrained is a path to the port's ImageNet state dict (bn_inception-52deb4733.pth) or any state
dict of this model (.pth, .pt, .safetensors). The file's 1000-class last_linear.* keys are skipped
when their shape differs from the embedding layer's, and reported as ignored with what else did not
match (model.pretrained_keys holds (missing_keys, unexpected_keys)); strict=True makes any mismatch
an error. Returns a module whose output is (embedding, features).`

func fnBNInception(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	ma, err := parseModelArgs(thread, b.Name(), args, kwargs, 512)
	if err != nil {
		return nil, err
	}
	m, plan, feat, err := newBNInception()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	if _, err := NewEmbeddingNet(m, plan.trunk, feat, ma.head); err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	addBackboneMethods(m, plan.names)
	if ma.pretrained != "" {
		res, skipped, err := loadBNInception(m, ma.pretrained, ma.strict)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name(), err)
		}
		report := nn.LoadResult{Missing: res.Missing, Unexpected: res.Unexpected[:len(res.Unexpected)-len(skipped)]}
		var parts []string
		if len(report.Missing) > 0 || len(report.Unexpected) > 0 {
			parts = append(parts, describeMismatch(report))
		}
		if len(skipped) > 0 {
			parts = append(parts, fmt.Sprintf("ignored the file's classifier, which does not fit the embedding layer (%s); last_linear keeps its initial values", strings.Join(skipped, "; ")))
		}
		if len(parts) > 0 {
			fmt.Fprintf(lang.Stderr(thread), "%s: loaded %s; %s\n", b.Name(), ma.pretrained, strings.Join(parts, "; "))
		}
		strs := func(v []string) *starlark.List {
			l := make([]starlark.Value, len(v))
			for i, s := range v {
				l[i] = starlark.String(s)
			}
			return starlark.NewList(l)
		}
		m.SetAttr("pretrained_keys", torch.NewReturnTuple("IncompatibleKeys", []string{"missing_keys", "unexpected_keys"}, []starlark.Value{strs(res.Missing), strs(res.Unexpected)}))
	}
	return m, nil
}

// loadBNInception loads a state dict file by name, skipping the file's
// last_linear.* tensors whose shape differs from the model's (the port's
// 1000-class ImageNet classifier against our embedding layer): they are
// reported as unexpected (ignored) instead of failing as a size mismatch.
// A file without any num_batches_tracked (saved before PyTorch 0.4.1)
// leaves those counters at zero without reporting them, as PyTorch does.
func loadBNInception(m *nn.Module, path string, strict bool) (nn.LoadResult, []string, error) {
	file, err := ReadWeights(path)
	if err != nil {
		return nn.LoadResult{}, nil, err
	}
	own := m.StateDict()
	shapes := map[string][]int64{}
	for _, nt := range own {
		shapes[nt.Name] = nt.Tensor.ATen().Shape()
	}
	sd, order := matchNames(own, file)
	var skipped []string
	var skipNotes []string
	kept := order[:0:0]
	hasNBT := false
	for _, k := range order {
		if strings.HasSuffix(k, ".num_batches_tracked") {
			hasNBT = true
		}
		if strings.HasPrefix(k, "last_linear.") {
			if want, ok := shapes[k]; ok && !slices.Equal(want, sd[k].Shape()) {
				skipped = append(skipped, k)
				skipNotes = append(skipNotes, fmt.Sprintf("%s %s in the file, %s in the model", k, sizeStr(sd[k].Shape()), sizeStr(want)))
				delete(sd, k)
				continue
			}
		}
		kept = append(kept, k)
	}
	res, err := m.LoadStateDict(sd, kept, false)
	if err != nil {
		return res, nil, fmt.Errorf("loading %s: %w", path, err)
	}
	if len(res.Missing) == len(own) && len(own) > 0 {
		return res, nil, fmt.Errorf("loading %s: none of its %d tensors matches a parameter of the model (first names in the file: %s; in the model: %s)", path, len(file), firstNames(file), firstOwn(m))
	}
	if !hasNBT {
		missing := res.Missing[:0:0]
		for _, k := range res.Missing {
			if !strings.HasSuffix(k, ".num_batches_tracked") {
				missing = append(missing, k)
			}
		}
		res.Missing = missing
	}
	// The skipped keys are in the file and ignored; our layer of the same
	// name keeps its initial values, which is the point: not "missing".
	skip := map[string]bool{}
	for _, k := range skipped {
		skip[k] = true
	}
	missing := res.Missing[:0:0]
	for _, k := range res.Missing {
		if !skip[k] {
			missing = append(missing, k)
		}
	}
	res.Missing = missing
	res.Unexpected = append(res.Unexpected, skipped...)
	if strict && (len(res.Missing) > 0 || len(res.Unexpected) > 0) {
		msg := fmt.Sprintf("loading %s (strict=True): %s", path, describeMismatch(res))
		if len(skipNotes) > 0 {
			msg += fmt.Sprintf("; the file's classifier does not fit the embedding layer (%s): strict=False skips it", strings.Join(skipNotes, "; "))
		}
		return res, nil, fmt.Errorf("%s", msg)
	}
	return res, skipNotes, nil
}

// sizeStr writes a shape as PyTorch prints torch.Size's list: [1000, 1024].
func sizeStr(s []int64) string {
	parts := make([]string, len(s))
	for i, v := range s {
		parts[i] = fmt.Sprint(v)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

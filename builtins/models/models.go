// Package models is the `models` module of dadash scripts: the backbones
// of deep metric learning (torchvision's ResNets, the reference's
// BN-Inception, a small CNN for 28x28 grey images) with the embedding head
// of the DADA reference composed from options: frozen BatchNorm, average /
// max / max+avg ("double") pooling, a Linear layer to embed_dim, LayerNorm
// without affine parameters, and optional L2 normalisation.
//
// Parameter names follow torchvision (conv1, bn1, layer1.0.conv1, ...) and
// the reference (last_linear for the embedding layer), so torchvision's
// ResNet .pth files and the reference's checkpoints load by name.
package models

import (
	"fmt"
	"strings"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/builtins/nn"
	"github.com/dadash/dadash/builtins/torch"
	"github.com/dadash/dadash/builtins/torch/aten"
	"github.com/dadash/dadash/internal/sandbox"
	"github.com/dadash/dadash/lang"
)

// Head describes the embedding head on top of a backbone's feature map.
type Head struct {
	Pooling   string // "avg", "max", "max+avg", "grid"
	EmbedDim  int64  // 0: no Linear, the pooled features are the embedding
	LayerNorm bool   // LayerNorm(embed_dim) without affine parameters
	Normalize bool   // L2-normalise the embedding
	FrozenBN  bool   // BatchNorm layers stay in eval mode
}

// gridSide is the side of pooling "grid"'s grid.
const (
	gridSide  = 4
	gridCells = gridSide * gridSide
)

// Trunk computes a feature map from images (the backbone without head).
type Trunk func(thread *starlark.Thread, m *nn.Module, x aten.Tensor) (aten.Tensor, error)

// NewEmbeddingNet completes a backbone module (whose children are already
// registered) with the head and a forward returning (embedding, features).
func NewEmbeddingNet(m *nn.Module, trunk Trunk, featDim int64, h Head) (*nn.Module, error) {
	switch h.Pooling {
	case "avg", "max", "max+avg":
	case "grid":
		// The feature map averaged over a 4 x 4 grid and flattened: where
		// things are survives the pooling (strokes of a character), at 16
		// times the feature width.
		featDim *= gridCells
	default:
		return nil, fmt.Errorf("pooling must be 'avg', 'max', 'max+avg' or 'grid', got %q", h.Pooling)
	}
	m.SetAttr("pooling", starlark.String(h.Pooling))
	m.SetAttr("feature_dim", starlark.MakeInt64(featDim))
	m.SetAttr("embed_dim", starlark.MakeInt64(h.EmbedDim))
	m.SetAttr("normalize", starlark.Bool(h.Normalize))
	dim := featDim
	if h.EmbedDim > 0 {
		lin, err := nn.NewLinearDefault(featDim, h.EmbedDim, true)
		if err != nil {
			return nil, err
		}
		if err := m.AddChild("last_linear", lin); err != nil {
			return nil, err
		}
		dim = h.EmbedDim
	}
	if h.LayerNorm {
		ln, err := nn.NewLayerNormDefault(dim, false)
		if err != nil {
			return nil, err
		}
		if err := m.AddChild("layer_norm", ln); err != nil {
			return nil, err
		}
	}
	if h.FrozenBN {
		freezeBN(m)
	}
	m.SetForward(func(thread *starlark.Thread, m *nn.Module, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var x *torch.Tensor
		if err := starlark.UnpackPositionalArgs(m.TypeName(), args, kwargs, 1, &x); err != nil {
			return nil, err
		}
		if d := x.ATen().Dim(); d != 4 {
			return nil, fmt.Errorf("%s: expected images of shape (N, C, H, W), got %s", m.TypeName(), lang.Size(x.ATen().Shape()))
		}
		fm, err := trunk(thread, m, x.ATen())
		if err != nil {
			return nil, err
		}
		emb, feat, err := applyHead(thread, m, fm)
		if err != nil {
			return nil, err
		}
		return torch.NewReturnTuple(m.TypeName(), []string{"embedding", "features"}, []starlark.Value{torch.New(emb), torch.New(feat)}), nil
	})
	return m, nil
}

// applyHead pools the feature map and maps it to the embedding.
func applyHead(thread *starlark.Thread, m *nn.Module, fm aten.Tensor) (emb, feat aten.Tensor, err error) {
	pooling := string(m.AttrValue("pooling").(starlark.String))
	if fm.Dim() == 2 { // a backbone that pools itself (e.g. a TorchScript export)
		pooling = "none"
	}
	var avg, mx aten.Tensor
	if pooling == "grid" {
		if avg, err = aten.Run("adaptive_avg_pool2d", aten.T(fm), aten.Is(gridSide, gridSide)); err != nil {
			return
		}
	}
	if pooling == "avg" || pooling == "max+avg" {
		if avg, err = aten.Run("adaptive_avg_pool2d", aten.T(fm), aten.Is(1, 1)); err != nil {
			return
		}
	}
	if pooling == "max" || pooling == "max+avg" {
		rs, e := aten.RunAll("adaptive_max_pool2d", aten.T(fm), aten.Is(1, 1))
		if e != nil {
			return emb, feat, e
		}
		mx = rs[0].T
	}
	switch pooling {
	case "none":
		feat = fm
	case "avg", "grid":
		feat = avg
	case "max":
		feat = mx
	default:
		if feat, err = aten.Run("add", aten.T(mx), aten.T(avg)); err != nil {
			return
		}
	}
	if feat, err = aten.Run("flatten", aten.T(feat), aten.I(1)); err != nil {
		return
	}
	emb = feat
	if lin := m.Child("last_linear"); lin != nil {
		if emb, err = lin.ForwardTensor(thread, emb); err != nil {
			return
		}
	}
	if ln := m.Child("layer_norm"); ln != nil {
		if emb, err = ln.ForwardTensor(thread, emb); err != nil {
			return
		}
	}
	if b, _ := m.AttrValue("normalize").(starlark.Bool); b {
		if emb, err = nn.Normalize(emb, 2, 1, 1e-12); err != nil {
			return
		}
	}
	return emb, feat, nil
}

// freezeBN keeps every BatchNorm of m in eval mode (running statistics
// frozen; their affine parameters still learn, as in the reference).
func freezeBN(m *nn.Module) {
	var rec func(*nn.Module)
	rec = func(mod *nn.Module) {
		if strings.HasPrefix(mod.TypeName(), "BatchNorm") {
			mod.FrozenEval = true
		}
		for _, c := range mod.Children() {
			if c != nil {
				rec(c)
			}
		}
	}
	rec(m)
}

// headFromKwargs reads the head options shared by every model function.
type modelArgs struct {
	pretrained string
	head       Head
	strict     bool
}

func parseModelArgs(thread *starlark.Thread, fn string, args starlark.Tuple, kwargs []starlark.Tuple, defaultEmbed int64, extra ...any) (*modelArgs, error) {
	ma := &modelArgs{head: Head{Pooling: "avg", EmbedDim: defaultEmbed}}
	var pretrained starlark.Value = starlark.None
	embed := int(defaultEmbed)
	var embedV starlark.Value = starlark.MakeInt(embed)
	pairs := []any{"pretrained?", &pretrained, "embed_dim?", &embedV, "pooling?", &ma.head.Pooling,
		"layernorm?", &ma.head.LayerNorm, "normalize?", &ma.head.Normalize, "frozen_bn?", &ma.head.FrozenBN,
		"strict?", &ma.strict}
	pairs = append(pairs, extra...)
	if err := lang.UnpackArgs(fn, args, kwargs, pairs...); err != nil {
		return nil, err
	}
	switch p := pretrained.(type) {
	case starlark.String:
		ma.pretrained = string(p)
		if err := sandbox.Read(thread, fn, ma.pretrained); err != nil {
			return nil, err
		}
	case starlark.NoneType:
	case starlark.Bool:
		if p {
			return nil, fmt.Errorf("%s: pretrained=True needs a weights file: dadash downloads nothing. Download e.g. torchvision's resnet50-11ad3fa6.pth yourself and pass pretrained=\"/path/to/resnet50-11ad3fa6.pth\"", fn)
		}
	default:
		return nil, fmt.Errorf("%s: pretrained must be a path to a weights file (.pth, .pt or .safetensors), got %s", fn, pretrained.Type())
	}
	switch e := embedV.(type) {
	case starlark.NoneType:
		ma.head.EmbedDim = 0
	case starlark.Int:
		v, _ := e.Int64()
		if v < 0 {
			return nil, fmt.Errorf("%s: embed_dim must be positive or None, got %d", fn, v)
		}
		ma.head.EmbedDim = v
	default:
		return nil, fmt.Errorf("%s: embed_dim must be an int or None, got %s", fn, embedV.Type())
	}
	if ma.head.Pooling == "double" {
		ma.head.Pooling = "max+avg"
	}
	return ma, nil
}

// finish loads pretrained weights and reports what did not match.
func finish(thread *starlark.Thread, fn string, m *nn.Module, ma *modelArgs) (starlark.Value, error) {
	if ma.pretrained != "" {
		res, err := LoadWeights(m, ma.pretrained, ma.strict)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", fn, err)
		}
		if len(res.Missing) > 0 || len(res.Unexpected) > 0 {
			fmt.Fprintf(lang.Stderr(thread), "%s: loaded %s; %s\n", fn, ma.pretrained, describeMismatch(res))
		}
	}
	return m, nil
}

func describeMismatch(r nn.LoadResult) string {
	var parts []string
	if len(r.Missing) > 0 {
		parts = append(parts, fmt.Sprintf("not in the file (kept their initial values): %s", shortList(r.Missing)))
	}
	if len(r.Unexpected) > 0 {
		parts = append(parts, fmt.Sprintf("in the file but not in the model (ignored): %s", shortList(r.Unexpected)))
	}
	return strings.Join(parts, "; ")
}

func shortList(v []string) string {
	if len(v) > 6 {
		return strings.Join(v[:6], ", ") + fmt.Sprintf(", ... (%d in all)", len(v))
	}
	return strings.Join(v, ", ")
}

// ---------------------------------------------------------------- module

// Module is the models module value.
var Module *torch.Namespace

func init() {
	members := starlark.StringDict{
		"resnet18":         lang.Func("models.resnet18", docResNet("resnet18", 512), resnetFn("resnet18")),
		"resnet34":         lang.Func("models.resnet34", docResNet("resnet34", 512), resnetFn("resnet34")),
		"resnet50":         lang.Func("models.resnet50", docResNet("resnet50", 2048), resnetFn("resnet50")),
		"resnet101":        lang.Func("models.resnet101", docResNet("resnet101", 2048), resnetFn("resnet101")),
		"small_cnn":        lang.Func("models.small_cnn", docSmallCNN, fnSmallCNN),
		"bninception":      lang.Func("models.bninception", docBNInception, fnBNInception),
		"load_torchscript": lang.Func("models.load_torchscript", docLoadTorchScript, fnLoadTorchScript),
		"load_weights":     lang.Func("models.load_weights", docLoadWeights, fnLoadWeights),
		"read_weights":     lang.Func("models.read_weights", "models.read_weights(path): the tensors of a .safetensors, .pth or .pt state-dict file, as a dict of name -> tensor.", fnReadWeights),
	}
	Module = torch.NewNamespace("models", "-", docModels, members)
	lang.Register(lang.Module{Name: "models", Value: Module, Doc: docModels})
}

const docModels = `models: backbones with DADA's embedding head.

resnet18, resnet34, resnet50, resnet101 (torchvision's parameter names), small_cnn (28x28 grey images).
Each takes pretrained="path/to/weights.pth" (nothing is downloaded), embed_dim (None: no Linear),
pooling ("avg", "max", "max+avg"), layernorm (LayerNorm without affine), normalize (L2), frozen_bn.
model(images) returns (embedding, features): unpack it or use .embedding / .features.
model.freeze_backbone(True) trains only the head (DADA's warm-up epochs).
load_weights(model, path, strict=False) and read_weights(path) read .safetensors and PyTorch .pth files.`

func docResNet(name string, feat int) string {
	return fmt.Sprintf(`models.%s(pretrained=None, embed_dim=512, pooling="avg", layernorm=False, normalize=False, frozen_bn=False, strict=False)

torchvision's %s (parameter names conv1, bn1, layer1.0.conv1, ...; %d features) with the
embedding head: pooling ("avg", "max" or "max+avg", also "double"), last_linear =
Linear(%d, embed_dim) (embed_dim=None: none), LayerNorm without affine when layernorm=True, L2
normalisation when normalize=True. frozen_bn keeps every BatchNorm in eval mode. pretrained is a
path to torchvision's .pth file (or any state dict, .safetensors too); its fc.* keys are ignored and
what does not match is reported (strict=True makes it an error). Returns a module whose output is
(embedding, features). DADA's recipe: models.%s(pretrained=..., frozen_bn=True, pooling="max+avg",
embed_dim=512, layernorm=True).`, name, name, feat, feat, name)
}

const docLoadTorchScript = `models.load_torchscript(path, input_size=(3, 224, 224), embed_dim=512, pooling="avg", layernorm=False, normalize=False, frozen_bn=False)

Any backbone exported from Python with torch.jit.save, trained as the backbone
of an embedding network: its output may be a feature map (N, C, H, W), which
is pooled, or features (N, D). The feature size is found by running one input
of input_size. The scripted module's parameters are trained with the head.`

func fnLoadTorchScript(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var path string
	var inputSize starlark.Value = starlark.Tuple{starlark.MakeInt(3), starlark.MakeInt(224), starlark.MakeInt(224)}
	if len(args) > 0 {
		p, ok := args[0].(starlark.String)
		if !ok {
			return nil, fmt.Errorf("%s: path must be a string", b.Name())
		}
		path, args = string(p), args[1:]
	}
	ma, err := parseModelArgs(thread, b.Name(), args, kwargs, 512, "path?", &path, "input_size?", &inputSize)
	if err != nil {
		return nil, err
	}
	if path == "" {
		return nil, fmt.Errorf("%s: missing the path of a torch.jit.save file", b.Name())
	}
	if err := sandbox.Read(thread, b.Name(), path); err != nil {
		return nil, err
	}
	j, err := aten.JITLoad(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", b.Name(), path, err)
	}
	backbone, err := nn.NewScriptModule(j, path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	seq, ok := inputSize.(starlark.Indexable)
	if !ok {
		return nil, fmt.Errorf("%s: input_size must be a tuple such as (3, 224, 224)", b.Name())
	}
	shape := []int64{1}
	for i := 0; i < seq.Len(); i++ {
		v, err := starlark.AsInt32(seq.Index(i))
		if err != nil {
			return nil, fmt.Errorf("%s: input_size must hold ints", b.Name())
		}
		shape = append(shape, int64(v))
	}
	// One dummy pass (eval mode, no grad) tells the feature size.
	var featDim int64
	err = aten.NoGrad(func() error {
		backbone.SetTraining(false)
		defer backbone.SetTraining(true)
		x, err := aten.Run("zeros", aten.Is(shape...))
		if err != nil {
			return err
		}
		out, err := backbone.ForwardTensor(thread, x)
		if err != nil {
			return err
		}
		sh := out.Shape()
		if len(sh) != 2 && len(sh) != 4 {
			return fmt.Errorf("the backbone's output has shape %s; expected (N, C, H, W) or (N, D)", lang.Size(sh))
		}
		featDim = sh[1]
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", b.Name(), path, err)
	}
	m := nn.NewModule("ScriptEmbeddingNet", nil)
	if err := m.AddChild("backbone", backbone); err != nil {
		return nil, err
	}
	trunk := func(thread *starlark.Thread, m *nn.Module, x aten.Tensor) (aten.Tensor, error) {
		return m.Child("backbone").ForwardTensor(thread, x)
	}
	if _, err := NewEmbeddingNet(m, trunk, featDim, ma.head); err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	addBackboneMethods(m, []string{"backbone"})
	return finish(thread, b.Name(), m, ma)
}

package models

import (
	"fmt"
	"os"
	"strings"
	"unsafe"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/builtins/nn"
	"github.com/dadash/dadash/builtins/torch"
	"github.com/dadash/dadash/builtins/torch/aten"
	"github.com/dadash/dadash/builtins/torch/ptfile"
	"github.com/dadash/dadash/builtins/torch/safetensors"
	"github.com/dadash/dadash/internal/sandbox"
	"github.com/dadash/dadash/lang"
)

const docLoadWeights = `models.load_weights(model, path, strict=False)

Loads a state dict file into model by parameter name: .safetensors, or a
PyTorch .pth/.pt file written by torch.save (zip format, e.g. torchvision's
resnet50-*.pth). Checkpoints that wrap the state dict ({"state_dict": ...},
{"model": ...}) and names with a "module." or "model." prefix (DataParallel,
the DADA reference) are recognised. Returns (missing_keys, unexpected_keys);
strict=True makes either an error. A shape mismatch is always an error
naming the key and both shapes.`

// ReadWeights reads a state dict file: .safetensors, else PyTorch's zip
// pickle format.
func ReadWeights(path string) ([]aten.Named, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read weights %s: %w", path, unwrap(err))
	}
	if st.IsDir() {
		return nil, fmt.Errorf("weights %s is a folder, not a file", path)
	}
	if strings.HasSuffix(path, ".safetensors") {
		f, err := safetensors.Read(path)
		if err != nil {
			return nil, err
		}
		out := make([]aten.Named, 0, len(f.Tensors))
		for _, t := range f.Tensors {
			torchName, err := safetensors.TorchDType(t.DType)
			if err != nil {
				return nil, fmt.Errorf("%s: tensor %q: %w", path, t.Name, err)
			}
			at, err := fromRaw(path, t.Name, torchName, t.Shape, t.Data)
			if err != nil {
				return nil, err
			}
			out = append(out, aten.Named{Name: t.Name, Tensor: at})
		}
		return out, nil
	}
	pts, err := ptfile.Read(path)
	if err != nil {
		return nil, err
	}
	out := make([]aten.Named, 0, len(pts))
	for _, t := range pts {
		at, err := fromRaw(path, t.Name, t.DType, t.Shape, t.Data)
		if err != nil {
			return nil, err
		}
		out = append(out, aten.Named{Name: t.Name, Tensor: at})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no tensors: not a state dict", path)
	}
	return out, nil
}

// fromRaw makes a tensor from little-endian bytes.
func fromRaw(path, name, dtype string, shape []int64, data []byte) (aten.Tensor, error) {
	dt, ok := dtypeCode(dtype)
	if !ok {
		return aten.Tensor{}, fmt.Errorf("%s: tensor %q has dtype %s, which dadash does not support", path, name, dtype)
	}
	var p unsafe.Pointer
	if len(data) > 0 {
		p = unsafe.Pointer(&data[0])
	}
	t, err := aten.FromData(p, dt, shape)
	if err != nil {
		return t, fmt.Errorf("%s: tensor %q: %w", path, name, err)
	}
	return t, nil
}

func unwrap(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

func dtypeCode(name string) (aten.DType, bool) {
	for _, d := range []aten.DType{aten.Float32, aten.Float64, aten.Float16, aten.BFloat16, aten.Int64, aten.Int32, aten.Int16, aten.Int8, aten.Uint8, aten.Bool} {
		if d.String() == name {
			return d, true
		}
	}
	return 0, false
}

// matchNames maps file names onto the model's: unwraps checkpoint
// containers and strips a common prefix when that makes names match.
func matchNames(model []nn.NamedTensor, file []aten.Named) (map[string]aten.Tensor, []string) {
	own := map[string]bool{}
	for _, nt := range model {
		own[nt.Name] = true
	}
	score := func(strip string) int {
		n := 0
		for _, f := range file {
			if strings.HasPrefix(f.Name, strip) && own[strings.TrimPrefix(f.Name, strip)] {
				n++
			}
		}
		return n
	}
	best, bestScore := "", score("")
	for _, p := range []string{"state_dict.", "model_state_dict.", "model.", "module.", "state_dict.module.", "model.module.", "net.", "backbone."} {
		if s := score(p); s > bestScore {
			best, bestScore = p, s
		}
	}
	sd := map[string]aten.Tensor{}
	var order []string
	for _, f := range file {
		if !strings.HasPrefix(f.Name, best) {
			continue
		}
		name := strings.TrimPrefix(f.Name, best)
		sd[name] = f.Tensor
		order = append(order, name)
	}
	return sd, order
}

// LoadWeights loads a weights file into m by name.
func LoadWeights(m *nn.Module, path string, strict bool) (nn.LoadResult, error) {
	file, err := ReadWeights(path)
	if err != nil {
		return nn.LoadResult{}, err
	}
	sd, order := matchNames(m.StateDict(), file)
	res, err := m.LoadStateDict(sd, order, strict)
	if err != nil {
		return res, fmt.Errorf("loading %s: %w", path, err)
	}
	if len(res.Missing) == len(m.StateDict()) && len(m.StateDict()) > 0 {
		return res, fmt.Errorf("loading %s: none of its %d tensors matches a parameter of the model (first names in the file: %s; in the model: %s)", path, len(file), firstNames(file), firstOwn(m))
	}
	return res, nil
}

func firstNames(v []aten.Named) string {
	var s []string
	for i, n := range v {
		if i == 3 {
			break
		}
		s = append(s, n.Name)
	}
	return strings.Join(s, ", ")
}

func firstOwn(m *nn.Module) string {
	var s []string
	for i, n := range m.StateDict() {
		if i == 3 {
			break
		}
		s = append(s, n.Name)
	}
	return strings.Join(s, ", ")
}

func fnLoadWeights(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var m *nn.Module
	var path string
	strict := false
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "model", &m, "path", &path, "strict?", &strict); err != nil {
		return nil, err
	}
	if err := sandbox.Read(thread, b.Name(), path); err != nil {
		return nil, err
	}
	res, err := LoadWeights(m, path, strict)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	strs := func(v []string) *starlark.List {
		l := make([]starlark.Value, len(v))
		for i, s := range v {
			l[i] = starlark.String(s)
		}
		return starlark.NewList(l)
	}
	return torch.NewReturnTuple("IncompatibleKeys", []string{"missing_keys", "unexpected_keys"}, []starlark.Value{strs(res.Missing), strs(res.Unexpected)}), nil
}

func fnReadWeights(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var path string
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "path", &path); err != nil {
		return nil, err
	}
	if err := sandbox.Read(thread, b.Name(), path); err != nil {
		return nil, err
	}
	file, err := ReadWeights(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	d := starlark.NewDict(len(file))
	for _, f := range file {
		d.SetKey(starlark.String(f.Name), torch.New(f.Tensor))
	}
	return d, nil
}

package torch

import (
	"bytes"
	"fmt"
	"github.com/dadash/dadash/lang"
	"io"
	"os"
	"strings"
	"unsafe"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/builtins/torch/aten"
	"github.com/dadash/dadash/builtins/torch/npy"
	"github.com/dadash/dadash/builtins/torch/ptfile"
	"github.com/dadash/dadash/builtins/torch/safetensors"
	"github.com/dadash/dadash/internal/atomicfile"
	"github.com/dadash/dadash/internal/sandbox"
)

const docSave = `torch.save(obj, path)

Writes a tensor, or a dict of name -> tensor, to path atomically (a temporary
file renamed into place). The format follows the file name:
  .pth / .pt   PyTorch's own zip format (a dict of tensors): Python's torch.load reads it
  .npy         a NumPy array (one tensor)
  otherwise    safetensors (https://huggingface.co/docs/safetensors): an 8-byte header
               length, a JSON header of names, dtypes, shapes and offsets, then the raw
               little-endian data; Python reads it with safetensors.torch.load_file.`

const docLoad = `torch.load(path, map_location=None)

Reads what torch.save wrote: a tensor, or a dict of name -> tensor (in file
order). Any safetensors file works; .npy files give a tensor; .pth/.pt files
written by PyTorch's torch.save (zip format) give their tensors by dotted
name (nested dicts such as {"state_dict": ...} become "state_dict.name").
map_location ("cpu", "cuda:0") moves the tensors to that device.`

// rawBytes copies a tensor's elements (on the CPU, contiguous) as bytes.
func rawBytes(t aten.Tensor) ([]byte, error) {
	n := int(t.Numel()) * t.DType().ElemSize()
	buf := make([]byte, n)
	var p unsafe.Pointer
	if n > 0 {
		p = unsafe.Pointer(&buf[0])
	}
	return buf, t.CopyOut(t.DType(), p, n)
}

func fromRaw(data []byte, dt aten.DType, shape []int64) (aten.Tensor, error) {
	var p unsafe.Pointer
	if len(data) > 0 {
		p = unsafe.Pointer(&data[0])
	}
	return aten.FromData(p, dt, shape)
}

func dtypeByName(name string) (aten.DType, bool) {
	d, ok := dtypes[name]
	return d, ok
}

var safetensorsDTypes = map[aten.DType]string{
	aten.Float32: "F32", aten.Float64: "F64", aten.Float16: "F16", aten.BFloat16: "BF16",
	aten.Int64: "I64", aten.Int32: "I32", aten.Int16: "I16", aten.Int8: "I8", aten.Uint8: "U8", aten.Bool: "BOOL",
}

func fnSave(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var obj starlark.Value
	var path string
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "obj", &obj, "f", &path); err != nil {
		return nil, err
	}
	if err := sandbox.Write(thread, b.Name(), path); err != nil {
		return nil, err
	}
	if strings.HasSuffix(path, ".npy") {
		t, ok := obj.(*Tensor)
		if !ok {
			return nil, fmt.Errorf("%s: a .npy file holds one tensor, got a %s", b.Name(), obj.Type())
		}
		return starlark.None, saveNpy(b.Name(), t.t, path)
	}
	if isPickle(path) {
		return starlark.None, savePickle(b.Name(), obj, path)
	}
	var tensors []safetensors.Tensor
	kind := "dict"
	add := func(name string, t aten.Tensor) error {
		data, err := rawBytes(t)
		if err != nil {
			return err
		}
		tensors = append(tensors, safetensors.Tensor{Name: name, DType: safetensorsDTypes[t.DType()], Shape: t.Shape(), Data: data})
		return nil
	}
	switch o := obj.(type) {
	case *Tensor:
		kind = "tensor"
		if err := add("tensor", o.t); err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name(), err)
		}
	case *starlark.Dict:
		for _, item := range o.Items() {
			k, ok := item[0].(starlark.String)
			if !ok {
				return nil, fmt.Errorf("%s: dict keys must be strings, got %s", b.Name(), item[0].Type())
			}
			t, ok := item[1].(*Tensor)
			if !ok {
				return nil, fmt.Errorf("%s: the value of %q is a %s; torch.save stores tensors only (use the checkpoint module for whole training states)", b.Name(), string(k), item[1].Type())
			}
			if err := add(string(k), t.t); err != nil {
				return nil, fmt.Errorf("%s: %q: %w", b.Name(), string(k), err)
			}
		}
	default:
		return nil, fmt.Errorf("%s: can save a Tensor or a dict of name -> Tensor, got %s", b.Name(), obj.Type())
	}
	if err := safetensors.Write(path, tensors, map[string]string{"format": "pt", "dadash": kind}); err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return starlark.None, nil
}

func fnLoad(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var path string
	var loc starlark.Value = starlark.None
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "f", &path, "map_location?", &loc); err != nil {
		return nil, err
	}
	if err := sandbox.Read(thread, b.Name(), path); err != nil {
		return nil, err
	}
	device := ""
	switch l := loc.(type) {
	case starlark.String:
		device = string(l)
	case Device:
		device = l.s
	case starlark.NoneType:
	default:
		return nil, fmt.Errorf("%s: map_location must be a device string such as \"cpu\"", b.Name())
	}
	if device != "" {
		if err := aten.CheckDevice(device); err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name(), err)
		}
	}
	place := func(t aten.Tensor) (starlark.Value, error) {
		if device != "" && device != "cpu" {
			var err error
			if t, err = t.To(-1, device, false); err != nil {
				return nil, err
			}
		}
		return newTensor(t), nil
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("%s: cannot read %s: %w", b.Name(), path, unwrapPathError(err))
	}
	kind := sniff(path)
	if kind == "npy" || kind == "" && strings.HasSuffix(path, ".npy") {
		t, err := loadNpy(path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name(), err)
		}
		return place(t)
	}
	if kind == "pickle" || kind == "" && isPickle(path) {
		items, err := ptfile.Read(path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name(), err)
		}
		d := starlark.NewDict(len(items))
		for _, it := range items {
			dt, ok := dtypeByName(it.DType)
			if !ok {
				return nil, fmt.Errorf("%s: %s: tensor %q has dtype %s, which dadash does not support", b.Name(), path, it.Name, it.DType)
			}
			t, err := fromRaw(it.Data, dt, it.Shape)
			if err != nil {
				return nil, fmt.Errorf("%s: %s: tensor %q: %w", b.Name(), path, it.Name, err)
			}
			v, err := place(t)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", b.Name(), err)
			}
			d.SetKey(starlark.String(it.Name), v)
		}
		return d, nil
	}
	f, err := safetensors.Read(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	d := starlark.NewDict(len(f.Tensors))
	for _, st := range f.Tensors {
		dt, ok := dtypeFromSafetensors(st.DType)
		if !ok {
			return nil, fmt.Errorf("%s: %s: tensor %q has dtype %s, which dadash does not support", b.Name(), path, st.Name, st.DType)
		}
		t, err := fromRaw(st.Data, dt, st.Shape)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: tensor %q: %w", b.Name(), path, st.Name, err)
		}
		v, err := place(t)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name(), err)
		}
		if f.Metadata["dadash"] == "tensor" && len(f.Tensors) == 1 {
			return v, nil
		}
		if err := d.SetKey(starlark.String(st.Name), v); err != nil {
			return nil, err
		}
	}
	return d, nil
}

func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

func dtypeFromSafetensors(s string) (aten.DType, bool) {
	for d, n := range safetensorsDTypes {
		if n == s {
			return d, true
		}
	}
	return 0, false
}

func saveNpy(fn string, t aten.Tensor, path string) error {
	data, err := rawBytes(t)
	if err != nil {
		return fmt.Errorf("%s: %w", fn, err)
	}
	name := t.DType().String()
	if _, err := npy.ItemSize(name); err != nil {
		return fmt.Errorf("%s: NumPy has no %s dtype; convert first (e.g. t.float())", fn, name)
	}
	if err := npy.WriteFile(path, &npy.Array{DType: name, Shape: t.Shape(), Data: data}); err != nil {
		return fmt.Errorf("%s: %w", fn, err)
	}
	return nil
}

func loadNpy(path string) (aten.Tensor, error) {
	a, err := npy.ReadFile(path)
	if err != nil {
		return aten.Tensor{}, err
	}
	dt, ok := dtypeByName(a.DType)
	if !ok {
		return aten.Tensor{}, fmt.Errorf("%s: dtype %s is not supported", path, a.DType)
	}
	return fromRaw(a.Data, dt, a.Shape)
}

func fnSaveNpy(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var t *Tensor
	var path string
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "tensor", &t, "path", &path); err != nil {
		return nil, err
	}
	if err := sandbox.Write(thread, b.Name(), path); err != nil {
		return nil, err
	}
	return starlark.None, saveNpy(b.Name(), t.t, path)
}

func fnLoadNpy(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var path string
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "path", &path); err != nil {
		return nil, err
	}
	if err := sandbox.Read(thread, b.Name(), path); err != nil {
		return nil, err
	}
	t, err := loadNpy(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return newTensor(t), nil
}

// sniff tells a file's format by its first bytes, so that torch.load reads
// a torch.save file whatever its name (a .ckpt from another tool): "npy",
// "pickle" (a zip archive or a bare pickle), or "" (by the name, then).
func sniff(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	head := make([]byte, 6)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, []byte("\x93NUMPY")):
		return "npy"
	case bytes.HasPrefix(head, []byte("PK\x03\x04")), len(head) > 1 && head[0] == 0x80 && head[1] >= 2 && head[1] <= 5:
		return "pickle"
	}
	return ""
}

func isPickle(path string) bool {
	return strings.HasSuffix(path, ".pth") || strings.HasSuffix(path, ".pt")
}

// savePickle writes a dict of name -> tensor as torch.save does, so Python's
// torch.load reads it; written to a temporary file and renamed into place.
func savePickle(fn string, obj starlark.Value, path string) error {
	d, ok := obj.(*starlark.Dict)
	if !ok {
		return fmt.Errorf("%s: a .pth/.pt file written by dadash holds a dict of name -> tensor (a state dict), got %s", fn, obj.Type())
	}
	var items []aten.Named
	for _, kv := range d.Items() {
		k, ok1 := kv[0].(starlark.String)
		t, ok2 := kv[1].(*Tensor)
		if !ok1 || !ok2 {
			return fmt.Errorf("%s: a state dict maps names to tensors; got %s -> %s", fn, kv[0].Type(), kv[1].Type())
		}
		items = append(items, aten.Named{Name: string(k), Tensor: t.t})
	}
	if err := atomicfile.WritePath(path, func(tmp string) error { return aten.PickleSave(tmp, items) }); err != nil {
		return fmt.Errorf("%s: %w", fn, err)
	}
	return nil
}

package torch

import (
	"fmt"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/dadash/dadash/builtins/torch/aten"
)

// DType is a Starlark value for a tensor element type (torch.float32, ...).
type DType struct{ d aten.DType }

var (
	_ starlark.HasAttrs   = DType{}
	_ starlark.Comparable = DType{}
)

func (d DType) String() string { return "torch." + d.d.String() }

// NewDType wraps an aten dtype as a Starlark value.
func NewDType(d aten.DType) DType { return DType{d} }

// ATen is the dtype's libtorch code.
func (d DType) ATen() aten.DType      { return d.d }
func (d DType) Type() string          { return "dtype" }
func (d DType) Freeze()               {}
func (d DType) Truth() starlark.Bool  { return true }
func (d DType) Hash() (uint32, error) { return uint32(d.d) + 7, nil }
func (d DType) CompareSameType(op syntax.Token, y starlark.Value, depth int) (bool, error) {
	e := d.d == y.(DType).d
	switch op {
	case syntax.EQL:
		return e, nil
	case syntax.NEQ:
		return !e, nil
	}
	return false, fmt.Errorf("dtype %s dtype not supported", op)
}

// Attr gives PyTorch's dtype attributes.
func (d DType) Attr(name string) (starlark.Value, error) {
	switch name {
	case "is_floating_point":
		return starlark.Bool(d.d.IsFloating()), nil
	case "itemsize":
		return starlark.MakeInt(d.d.ElemSize()), nil
	}
	return nil, nil
}
func (d DType) AttrNames() []string { return []string{"is_floating_point", "itemsize"} }

// dtypes lists the dtypes scripts can name, with PyTorch's aliases.
var dtypes = map[string]aten.DType{
	"float32": aten.Float32, "float": aten.Float32,
	"float64": aten.Float64, "double": aten.Float64,
	"float16": aten.Float16, "half": aten.Float16,
	"bfloat16": aten.BFloat16,
	"int64":    aten.Int64, "long": aten.Int64,
	"int32": aten.Int32, "int": aten.Int32,
	"int16": aten.Int16, "short": aten.Int16,
	"int8":  aten.Int8,
	"uint8": aten.Uint8,
	"bool":  aten.Bool,
}

// Device is a Starlark value for a device; it compares equal to its string.
type Device struct{ s string }

var (
	_ starlark.HasAttrs = Device{}
)

func (d Device) String() string {
	typ, idx := d.parts()
	if idx == "" {
		return fmt.Sprintf("device(type='%s')", typ)
	}
	return fmt.Sprintf("device(type='%s', index=%s)", typ, idx)
}
func (d Device) parts() (string, string) {
	for i := 0; i < len(d.s); i++ {
		if d.s[i] == ':' {
			return d.s[:i], d.s[i+1:]
		}
	}
	return d.s, ""
}
func (d Device) Type() string { return "device" }

// DeviceString is the device as "cpu" or "cuda:N".
func (d Device) DeviceString() string  { return d.s }
func (d Device) Freeze()               {}
func (d Device) Truth() starlark.Bool  { return true }
func (d Device) Hash() (uint32, error) { return starlark.String(d.s).Hash() }

// RichCompare lets t.device == "cpu" work as in PyTorch.
func (d Device) RichCompare(op syntax.Token, y starlark.Value, reflected bool) (starlark.Value, error) {
	var other string
	switch y := y.(type) {
	case Device:
		other = y.s
	case starlark.String:
		other = normDevice(string(y))
	default:
		return nil, nil
	}
	switch op {
	case syntax.EQL:
		return starlark.Bool(normDevice(d.s) == other || d.s == other), nil
	case syntax.NEQ:
		return starlark.Bool(!(normDevice(d.s) == other || d.s == other)), nil
	}
	return nil, nil
}

// normDevice treats "cuda" and "cuda:0" alike.
func normDevice(s string) string {
	if s == "cuda" {
		return "cuda:0"
	}
	return s
}

func (d Device) Attr(name string) (starlark.Value, error) {
	typ, idx := d.parts()
	switch name {
	case "type":
		return starlark.String(typ), nil
	case "index":
		if idx == "" {
			return starlark.None, nil
		}
		var n int
		fmt.Sscan(idx, &n)
		return starlark.MakeInt(n), nil
	}
	return nil, nil
}
func (d Device) AttrNames() []string { return []string{"index", "type"} }

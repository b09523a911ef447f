package torch

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/wangkuiyi/gotorch"
	"go.starlark.net/starlark"

	"github.com/dadash/dadash/builtins/torch/aten"
	"github.com/dadash/dadash/lang"
)

// toArg converts one Starlark value to an operator argument. name is the
// keyword (or "" for a positional argument); it only changes how strings
// given as device= are checked.
func toArg(name string, v starlark.Value) (aten.Arg, error) {
	a, err := toArg1(name, v)
	a.Name = name
	return a, err
}

func toArg1(name string, v starlark.Value) (aten.Arg, error) {
	switch v := v.(type) {
	case *Tensor:
		return aten.T(v.t), nil
	case starlark.NoneType:
		return aten.None(), nil
	case starlark.Bool:
		return aten.B(bool(v)), nil
	case starlark.Int:
		i, ok := v.Int64()
		if !ok {
			return aten.Arg{}, fmt.Errorf("integer %s is too large for a 64-bit tensor index or size", v)
		}
		return aten.I(i), nil
	case starlark.Float:
		return aten.F(float64(v)), nil
	case starlark.String:
		if name == "device" {
			if err := aten.CheckDevice(string(v)); err != nil {
				return aten.Arg{}, err
			}
			return aten.Arg{Kind: aten.ArgDevice, S: string(v)}, nil
		}
		return aten.S(string(v)), nil
	case DType:
		return aten.D(v.d), nil
	case Device:
		if err := aten.CheckDevice(v.s); err != nil {
			return aten.Arg{}, err
		}
		return aten.Arg{Kind: aten.ArgDevice, S: v.s}, nil
	case starlark.Indexable: // list or tuple
		return seqArg(v)
	}
	return aten.Arg{}, fmt.Errorf("cannot pass a %s to a torch operator", v.Type())
}

// seqArg converts a list or tuple: ints -> int[], numbers -> float[],
// tensors (and None) -> Tensor[].
func seqArg(v starlark.Indexable) (aten.Arg, error) {
	n := v.Len()
	var ints []int64
	var floats []float64
	var tensors []aten.Tensor
	nInt, nFloat, nTensor, nNone := 0, 0, 0, 0
	for i := 0; i < n; i++ {
		switch e := v.Index(i).(type) {
		case starlark.Int:
			x, ok := e.Int64()
			if !ok {
				return aten.Arg{}, fmt.Errorf("integer %s is too large", e)
			}
			ints = append(ints, x)
			floats = append(floats, float64(x))
			nInt++
		case starlark.Float:
			floats = append(floats, float64(e))
			nFloat++
		case *Tensor:
			tensors = append(tensors, e.t)
			nTensor++
		case starlark.NoneType:
			tensors = append(tensors, aten.Tensor{})
			nNone++
		default:
			return aten.Arg{}, fmt.Errorf("a list passed to a torch operator holds a %s; expected ints, floats or tensors", e.Type())
		}
	}
	switch {
	case nInt == n:
		return aten.Is(ints...), nil
	case nInt+nFloat == n:
		return aten.Fs(floats...), nil
	case nTensor+nNone == n:
		return aten.Ts(tensors...), nil
	}
	return aten.Arg{}, fmt.Errorf("a list passed to a torch operator mixes tensors and numbers")
}

// argsFor converts positional and keyword arguments; prefix is prepended
// (e.g. self for methods).
func argsFor(prefix []aten.Arg, args starlark.Tuple, kwargs []starlark.Tuple) ([]aten.Arg, error) {
	out := make([]aten.Arg, 0, len(prefix)+len(args)+len(kwargs))
	out = append(out, prefix...)
	return appendArgs(out, args, kwargs)
}

// argBuf is the size of the stack buffers that the hot paths convert
// arguments into: most operator calls have fewer, so they allocate no slice.
const argBuf = 6

// argsForBuf is argsFor with self first, appending to buf (a stack array's
// slice in the callers, so that a method call allocates no argument slice).
func argsForBuf(buf []aten.Arg, self aten.Arg, args starlark.Tuple, kwargs []starlark.Tuple) ([]aten.Arg, error) {
	return appendArgs(append(buf, self), args, kwargs)
}

func appendArgs(out []aten.Arg, args starlark.Tuple, kwargs []starlark.Tuple) ([]aten.Arg, error) {
	for i, a := range args {
		c, err := toArg("", a)
		if err != nil {
			return nil, fmt.Errorf("argument %d: %w", i+1, err)
		}
		out = append(out, c)
	}
	for _, kv := range kwargs {
		k := string(kv[0].(starlark.String))
		c, err := toArg(k, kv[1])
		if err != nil {
			return nil, fmt.Errorf("argument %s: %w", k, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// describeArgs summarises arguments for error messages: shapes and dtypes
// of tensors, values of the rest, as Python would write them.
func describeArgs(args []aten.Arg) string {
	var b strings.Builder
	for i, a := range args {
		if i > 0 {
			b.WriteString(", ")
		}
		if a.Name != "" {
			b.WriteString(a.Name + "=")
		}
		b.WriteString(describeArg(a))
	}
	return b.String()
}

func describeArg(a aten.Arg) string {
	switch a.Kind {
	case aten.ArgTensor:
		return describeTensor(a.T)
	case aten.ArgTensors:
		parts := make([]string, len(a.Tensors))
		for j, t := range a.Tensors {
			parts[j] = "None"
			if t.Defined() {
				parts[j] = describeTensor(t)
			}
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case aten.ArgInt:
		return strconv.FormatInt(a.I, 10)
	case aten.ArgFloat:
		return starlark.Float(a.F).String()
	case aten.ArgBool:
		return starlark.Bool(a.I != 0).String()
	case aten.ArgStr, aten.ArgDevice:
		return strconv.Quote(a.S)
	case aten.ArgInts:
		parts := make([]string, len(a.Ints))
		for j, v := range a.Ints {
			parts[j] = strconv.FormatInt(v, 10)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case aten.ArgFloats:
		parts := make([]string, len(a.Floats))
		for j, v := range a.Floats {
			parts[j] = starlark.Float(v).String()
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case aten.ArgDType:
		return "torch." + aten.DType(a.I).String()
	}
	return "None"
}

// describeTensor is how messages show a tensor argument:
// "float32 tensor of torch.Size([2, 3])" (and its device unless the CPU).
func describeTensor(t aten.Tensor) string {
	d := ""
	if dev := t.Device(); dev != "cpu" {
		d = " on " + dev
	}
	return fmt.Sprintf("%s tensor of %s%s", t.DType(), lang.Size(t.Shape()), d)
}

// describeCall writes a call as the user would: torch.zeros(2, 3) for a
// call whose only positional argument is a size, else the arguments as
// describeArgs writes them.
func describeCall(display string, args []aten.Arg) string {
	positional := 0
	for _, a := range args {
		if a.Name == "" {
			positional++
		}
	}
	if positional == 1 && args[0].Name == "" && args[0].Kind == aten.ArgInts {
		a := args[0]
		parts := make([]string, len(a.Ints))
		for j, v := range a.Ints {
			parts[j] = strconv.FormatInt(v, 10)
		}
		rest := describeArgs(args[1:])
		if rest != "" {
			rest = ", " + rest
		}
		return display + "(" + strings.Join(parts, ", ") + rest + ")"
	}
	return display + "(" + describeArgs(args) + ")"
}

// callOp runs an operator and converts its results. display names the
// function for errors ("torch.sum", "Tensor.sum").
func callOp(display string, op *aten.Op, args []aten.Arg) (starlark.Value, error) {
	var rb [2]aten.Ret
	rs, err := op.CallBuf(rb[:0], args...)
	if err != nil {
		return nil, opError(display, op, args, err)
	}
	return fromRets(op.Name, rs), nil
}

// opError words a failed operator call: running out of memory names the
// call and the memory it needs; argument mismatches already list the
// signatures; other errors get the arguments' shapes so the user sees what
// did not fit.
func opError(display string, op *aten.Op, args []aten.Arg, err error) error {
	var oom *aten.OutOfMemoryError
	if errors.As(err, &oom) {
		return fmt.Errorf("%s: %s", display, oom.For(describeCall(display, args)))
	}
	msg := err.Error()
	if !strings.Contains(msg, "no signature matches") && len(args) > 0 {
		msg += "\n  arguments: " + describeArgs(args)
	} else {
		msg = strings.Replace(msg, strings.TrimPrefix(op.Name, "aten::")+"(): ", "", 1)
	}
	return fmt.Errorf("%s: %s", display, msg)
}

func fromRet(r aten.Ret) starlark.Value {
	switch r.Kind {
	case aten.RetTensor:
		return newTensor(r.T)
	case aten.RetInt:
		return starlark.MakeInt64(r.I)
	case aten.RetFloat:
		return starlark.Float(r.F)
	case aten.RetBool:
		return starlark.Bool(r.I != 0)
	case aten.RetStr:
		return starlark.String(r.S)
	case aten.RetList:
		l := make([]starlark.Value, len(r.List))
		for i, t := range r.List {
			l[i] = newTensor(t)
		}
		return starlark.NewList(l)
	}
	return starlark.None
}

func fromRets(opname string, rs []aten.Ret) starlark.Value {
	switch len(rs) {
	case 0:
		return starlark.None
	case 1:
		return fromRet(rs[0])
	}
	vals := make(starlark.Tuple, len(rs))
	named := true
	names := make([]string, len(rs))
	for i, r := range rs {
		vals[i] = fromRet(r)
		names[i] = r.Name
		if r.Name == "" {
			named = false
		}
	}
	if !named {
		return vals
	}
	return &ReturnTuple{name: strings.TrimPrefix(opname, "aten::"), names: names, vals: vals}
}

// NewReturnTuple makes a named tuple of results (e.g. a model's
// (embedding, features)) that unpacks like a tuple and has attributes.
func NewReturnTuple(name string, names []string, vals []starlark.Value) *ReturnTuple {
	return &ReturnTuple{name: name, names: names, vals: starlark.Tuple(vals)}
}

// ReturnTuple is PyTorch's named tuple of results (torch.return_types.max):
// indexable, unpackable, and with attributes (.values, .indices).
type ReturnTuple struct {
	name  string
	names []string
	vals  starlark.Tuple
}

var (
	_ starlark.Indexable = (*ReturnTuple)(nil)
	_ starlark.Iterable  = (*ReturnTuple)(nil)
	_ starlark.HasAttrs  = (*ReturnTuple)(nil)
)

func (r *ReturnTuple) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "torch.return_types.%s(\n", r.name)
	for i, n := range r.names {
		fmt.Fprintf(&b, "%s=%s", n, r.vals[i])
		if i < len(r.names)-1 {
			b.WriteString(",\n")
		}
	}
	b.WriteString(")")
	return b.String()
}
func (r *ReturnTuple) Type() string               { return "return_types." + r.name }
func (r *ReturnTuple) Freeze()                    {}
func (r *ReturnTuple) Truth() starlark.Bool       { return true }
func (r *ReturnTuple) Hash() (uint32, error)      { return 0, fmt.Errorf("unhashable: %s", r.Type()) }
func (r *ReturnTuple) Len() int                   { return len(r.vals) }
func (r *ReturnTuple) Index(i int) starlark.Value { return r.vals[i] }
func (r *ReturnTuple) Iterate() starlark.Iterator { return r.vals.Iterate() }
func (r *ReturnTuple) AttrNames() []string        { return append([]string{}, r.names...) }
func (r *ReturnTuple) Attr(n string) (starlark.Value, error) {
	for i, m := range r.names {
		if m == n {
			return r.vals[i], nil
		}
	}
	return nil, nil
}

// ---------------------------------------------------------------- nested data

// flatData holds the elements of a nested list of numbers.
type flatData struct {
	shape  []int64
	floats []float64
	ints   []int64
	bools  []bool
	kind   int // 0 bool, 1 int, 2 float: the widest kind seen
}

// flatten walks nested lists/tuples of numbers (or tensors of one element),
// checking that the nesting is rectangular as torch.tensor does.
func flatten(v starlark.Value) (*flatData, error) {
	f := &flatData{}
	if err := f.shapeOf(v, 0); err != nil {
		return nil, err
	}
	if err := f.walk(v, 0, nil); err != nil {
		return nil, err
	}
	return f, nil
}

func (f *flatData) shapeOf(v starlark.Value, depth int) error {
	if s, ok := v.(starlark.Indexable); ok && !isTensor(v) {
		if _, isStr := v.(starlark.String); isStr {
			return fmt.Errorf("torch.tensor: strings are not numbers")
		}
		f.shape = append(f.shape, int64(s.Len()))
		if s.Len() > 0 {
			return f.shapeOf(s.Index(0), depth+1)
		}
	}
	return nil
}

func isTensor(v starlark.Value) bool { _, ok := v.(*Tensor); return ok }

func (f *flatData) walk(v starlark.Value, depth int, path []int) error {
	if depth < len(f.shape) {
		s, ok := v.(starlark.Indexable)
		if !ok || isTensor(v) {
			return fmt.Errorf("torch.tensor: expected a sequence at %v, got %s (nested lists must be rectangular)", path, v.Type())
		}
		if int64(s.Len()) != f.shape[depth] {
			return fmt.Errorf("torch.tensor: expected sequence of length %d at dim %d (got %d)", f.shape[depth], depth, s.Len())
		}
		for i := 0; i < s.Len(); i++ {
			if err := f.walk(s.Index(i), depth+1, append(path, i)); err != nil {
				return err
			}
		}
		return nil
	}
	switch x := v.(type) {
	case starlark.Bool:
		f.bools = append(f.bools, bool(x))
		f.ints = append(f.ints, b2i(bool(x)))
		f.floats = append(f.floats, float64(b2i(bool(x))))
	case starlark.Int:
		i, ok := x.Int64()
		if !ok {
			return fmt.Errorf("torch.tensor: integer %s overflows int64", x)
		}
		f.ints = append(f.ints, i)
		f.floats = append(f.floats, float64(i))
		f.bools = append(f.bools, i != 0)
		f.kind = max(f.kind, 1)
	case starlark.Float:
		f.floats = append(f.floats, float64(x))
		f.ints = append(f.ints, int64(x))
		f.bools = append(f.bools, x != 0)
		f.kind = 2
	case *Tensor:
		if x.t.Numel() != 1 {
			return fmt.Errorf("torch.tensor: only one-element tensors can be list elements (got %s)", lang.Size(x.t.Shape()))
		}
		vals, err := x.t.Float64s()
		if err != nil {
			return err
		}
		f.floats = append(f.floats, vals[0])
		f.ints = append(f.ints, int64(vals[0]))
		f.bools = append(f.bools, vals[0] != 0)
		if x.t.DType().IsFloating() {
			f.kind = 2
		} else if x.t.DType() != aten.Bool {
			f.kind = max(f.kind, 1)
		}
	default:
		return fmt.Errorf("torch.tensor: cannot make a tensor element from a %s", v.Type())
	}
	return nil
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// tensorFromData makes a tensor of the given dtype (or the natural one:
// bool, int64, float32) from flattened data.
func tensorFromData(f *flatData, dtype *aten.DType) (aten.Tensor, error) {
	var t aten.Tensor
	var err error
	switch f.kind {
	case 0:
		if len(f.bools) == 0 { // empty list: float32 as in PyTorch
			t, err = aten.FromFloat32s(nil, f.shape...)
		} else {
			t, err = aten.FromBools(f.bools, f.shape...)
		}
	case 1:
		t, err = aten.FromInt64s(f.ints, f.shape...)
	default:
		if dtype != nil && *dtype == aten.Float64 {
			return aten.FromFloat64s(f.floats, f.shape...)
		}
		fs := make([]float32, len(f.floats))
		for i, x := range f.floats {
			fs[i] = float32(x)
		}
		t, err = aten.FromFloat32s(fs, f.shape...)
	}
	if err != nil || dtype == nil || *dtype == t.DType() {
		return t, err
	}
	return t.To(*dtype, "", false)
}

// asFloat accepts a Starlark int or float.
func asFloat(v starlark.Value) (float64, bool) {
	switch x := v.(type) {
	case starlark.Int:
		f, _ := new(big.Float).SetInt(x.BigInt()).Float64()
		return f, true
	case starlark.Float:
		return float64(x), true
	case starlark.Bool:
		return float64(b2i(bool(x))), true
	}
	return math.NaN(), false
}

// fromGotorch adopts a gotorch tensor (sharing its handle's tensor).
func fromGotorch(t gotorch.Tensor) aten.Tensor { return aten.FromGotorch(t) }

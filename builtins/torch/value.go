package torch

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/dadash/dadash/builtins/torch/aten"
	"github.com/dadash/dadash/lang"
)

// Tensor is the Starlark value of a libtorch tensor.
type Tensor struct {
	t aten.Tensor
}

var (
	_ starlark.HasAttrs  = (*Tensor)(nil)
	_ starlark.HasBinary = (*Tensor)(nil)
	_ starlark.HasUnary  = (*Tensor)(nil)
	_ starlark.Mapping   = (*Tensor)(nil)
	_ starlark.HasSetKey = (*Tensor)(nil)
	_ starlark.Sliceable = (*Tensor)(nil)
	_ starlark.Iterable  = (*Tensor)(nil)
	_ starlark.Sequence  = (*Tensor)(nil)
	_ starlark.Container = (*Tensor)(nil)
	_ lang.RichComparer  = (*Tensor)(nil)
	_ lang.TruthChecker  = (*Tensor)(nil)
	_ lang.Numeric       = (*Tensor)(nil)
	_ lang.MatMuler      = (*Tensor)(nil)
)

func newTensor(t aten.Tensor) *Tensor { return &Tensor{t: t} }

// New wraps an aten tensor as a Starlark value (for other builtin modules).
func New(t aten.Tensor) *Tensor { return newTensor(t) }

// ATen returns the underlying tensor (for other builtin modules).
func (x *Tensor) ATen() aten.Tensor { return x.t }

// Set makes x refer to another tensor. Modules use it for to(device), so
// that the values an optimizer already holds follow the move.
func (x *Tensor) Set(t aten.Tensor) { x.t = t }

func (x *Tensor) Type() string { return "Tensor" }
func (x *Tensor) Freeze()      {} // tensors are native, mutable objects, as in PyTorch

// Hash is identity, as for torch.Tensor in Python.
func (x *Tensor) Hash() (uint32, error) {
	p := uintptr(x.t.Handle())
	return uint32(p>>4) ^ uint32(p>>36), nil
}

// Truth is used only where the interpreter does not ask CheckTruth.
func (x *Tensor) Truth() starlark.Bool {
	b, err := x.CheckTruth()
	return starlark.Bool(b || err != nil)
}

// CheckTruth refuses ambiguous truth values, as PyTorch does.
func (x *Tensor) CheckTruth() (bool, error) {
	n := x.t.Numel()
	if n == 0 {
		return false, fmt.Errorf("Boolean value of Tensor with no values is ambiguous")
	}
	if n > 1 {
		return false, fmt.Errorf("Boolean value of Tensor with more than one value is ambiguous (shape %s); use .any() or .all()", lang.Size(x.t.Shape()))
	}
	v, err := x.t.Float64s()
	if err != nil {
		return false, err
	}
	return v[0] != 0, nil
}

// NumericData exposes elements to assert.allclose.
func (x *Tensor) NumericData() ([]float64, []int64, error) {
	v, err := x.t.Float64s()
	return v, x.t.Shape(), err
}

// Len is the size of the first dimension (0 for a 0-d tensor).
func (x *Tensor) Len() int {
	if x.t.Dim() == 0 {
		return 0
	}
	return int(x.t.Shape()[0])
}

// Iterate yields t[0], t[1], ... as in PyTorch.
func (x *Tensor) Iterate() starlark.Iterator {
	return &tensorIter{x: x, n: x.Len()}
}

type tensorIter struct {
	x    *Tensor
	i, n int
}

func (it *tensorIter) Next(p *starlark.Value) bool {
	if it.i >= it.n {
		return false
	}
	t, err := it.x.t.Index([]aten.IndexItem{{Kind: aten.IndexInt, I: int64(it.i)}})
	if err != nil {
		return false
	}
	*p = newTensor(t)
	it.i++
	return true
}
func (it *tensorIter) Done() {}

// Has implements `v in t`: whether any element equals v.
func (x *Tensor) Has(v starlark.Value) (bool, error) {
	eq, err := binaryOp("eq", x, v, false)
	if err != nil {
		return false, err
	}
	anyT, err := aten.Run("any", aten.T(eq.(*Tensor).t))
	if err != nil {
		return false, err
	}
	return newTensor(anyT).CheckTruth()
}

// ---------------------------------------------------------------- operators

var binaryOps = map[syntax.Token]string{
	syntax.PLUS:       "add",
	syntax.MINUS:      "sub",
	syntax.STAR:       "mul",
	syntax.SLASH:      "div",
	syntax.SLASHSLASH: "floor_divide",
	syntax.PERCENT:    "remainder",
	syntax.STARSTAR:   "pow", // a ** b: the interpreter rewrites it to pow(a, b), which asks Binary
	syntax.AMP:        "bitwise_and",
	syntax.PIPE:       "bitwise_or",
	syntax.CIRCUMFLEX: "bitwise_xor",
	syntax.LTLT:       "bitwise_left_shift",
	syntax.GTGT:       "bitwise_right_shift",
}

// Binary implements + - * / // % & | ^ << >> and the ** and @ operators.
func (x *Tensor) Binary(op syntax.Token, y starlark.Value, side starlark.Side) (_ starlark.Value, err error) {
	defer lang.Recover("Tensor "+op.String(), &err)
	name, ok := binaryOps[op]
	if !ok {
		return nil, nil
	}
	if _, isT := y.(*Tensor); !isT {
		if _, isNum := asFloat(y); !isNum {
			return nil, nil // let Starlark report the unsupported operand
		}
	}
	return binaryOp(name, x, y, side == starlark.Right)
}

// binaryOp computes x <op> y, or y <op> x when reflected.
func binaryOp(name string, x *Tensor, y starlark.Value, reflected bool) (starlark.Value, error) {
	var args [2]aten.Arg // on the stack: an operator costs no argument slice
	args[0] = aten.T(x.t)
	b, err := toArg("", y)
	if err != nil {
		return nil, err
	}
	args[1] = b
	if reflected {
		args[0], args[1] = args[1], args[0]
	}
	op, err := atenOp(name)
	if err != nil {
		return nil, err
	}
	return callOp(operatorName(name), op, args[:])
}

// opsByName caches aten::name by the bare name, so that the hot paths
// (operators, methods) look it up without building "aten::"+name or taking
// aten's lock.
var opsByName sync.Map // string -> *aten.Op

func atenOp(name string) (*aten.Op, error) {
	if op, ok := opsByName.Load(name); ok {
		return op.(*aten.Op), nil
	}
	op, err := aten.LookupOp("aten::" + name)
	if err != nil {
		return nil, err
	}
	opsByName.Store(name, op)
	return op, nil
}

func operatorName(name string) string { return "torch." + name }

// MatMul implements a @ b.
func (x *Tensor) MatMul(y starlark.Value, reflected bool) (_ starlark.Value, err error) {
	defer lang.Recover("Tensor @", &err)
	if _, ok := y.(*Tensor); !ok {
		return nil, nil
	}
	return binaryOp("matmul", x, y, reflected)
}

// Unary implements -t, +t and ~t.
func (x *Tensor) Unary(op syntax.Token) (_ starlark.Value, err error) {
	defer lang.Recover("Tensor "+op.String(), &err)
	var name string
	switch op {
	case syntax.MINUS:
		name = "neg"
	case syntax.PLUS:
		name = "positive"
	case syntax.TILDE:
		name = "bitwise_not"
	default:
		return nil, nil
	}
	return callNamed("torch."+name, name, []aten.Arg{aten.T(x.t)})
}

var compareOps = map[syntax.Token]string{
	syntax.EQL: "eq", syntax.NEQ: "ne", syntax.LT: "lt", syntax.LE: "le", syntax.GT: "gt", syntax.GE: "ge",
}

// RichCompare makes comparisons give bool tensors, as in PyTorch. The
// interpreter has already mirrored op when reflected is true.
func (x *Tensor) RichCompare(op syntax.Token, y starlark.Value, reflected bool) (_ starlark.Value, err error) {
	defer lang.Recover("Tensor "+op.String(), &err)
	name, ok := compareOps[op]
	if !ok {
		return nil, nil
	}
	if _, isT := y.(*Tensor); !isT {
		if _, isNum := asFloat(y); !isNum {
			if op == syntax.EQL || op == syntax.NEQ {
				return starlark.Bool(op == syntax.NEQ), nil
			}
			return nil, fmt.Errorf("cannot compare a Tensor with a %s", y.Type())
		}
	}
	return binaryOp(name, x, y, false)
}

// ---------------------------------------------------------------- attributes

// Attr gives properties and methods. Methods not special-cased here are
// libtorch's own: t.name(...) calls aten::name(t, ...).
func (x *Tensor) Attr(name string) (_ starlark.Value, err error) {
	defer lang.Recover("Tensor."+name, &err)
	switch name {
	case "shape":
		return shapeTuple(x.t.Shape()), nil
	case "dtype":
		return DType{x.t.DType()}, nil
	case "device":
		return Device{x.t.Device()}, nil
	case "ndim":
		return starlark.MakeInt(x.t.Dim()), nil
	case "is_cuda":
		return starlark.Bool(strings.HasPrefix(x.t.Device(), "cuda")), nil
	case "requires_grad":
		return starlark.Bool(x.t.RequiresGrad()), nil
	case "is_leaf":
		return starlark.Bool(x.t.IsLeaf()), nil
	case "grad_fn":
		if n := x.t.GradFnName(); n != "" {
			return starlark.String(n), nil
		}
		return starlark.None, nil
	case "grad":
		g, ok, err := x.t.Grad()
		if err != nil {
			return nil, err
		}
		if !ok {
			return starlark.None, nil
		}
		return newTensor(g), nil
	case "data":
		d, err := x.t.Detach()
		if err != nil {
			return nil, err
		}
		return newTensor(d), nil
	case "T":
		return x.callMethod("numpy_T", nil, nil)
	case "mT":
		return x.callMethod("transpose", starlark.Tuple{starlark.MakeInt(-2), starlark.MakeInt(-1)}, nil)
	}
	// The unbound builtin is made once per method name (methods are per
	// type, not per tensor); an access only binds it to x.
	if m, ok := boundMethods.Load(name); ok {
		return m.(*starlark.Builtin).BindReceiver(x), nil
	}
	var unbound *starlark.Builtin
	if m, ok := tensorMethods[name]; ok {
		unbound = starlark.NewBuiltin(name, m.fn)
	} else if op := methodOp(name); op != nil {
		display := "Tensor." + name
		unbound = starlark.NewBuiltin(name, lang.Safe(func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			self := b.Receiver().(*Tensor)
			var buf [argBuf]aten.Arg
			cargs, err := argsForBuf(buf[:0], aten.T(self.t), args, kwargs)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", display, err)
			}
			return callOp(display, op, cargs)
		}))
	} else {
		return nil, nil
	}
	m, _ := boundMethods.LoadOrStore(name, unbound)
	return m.(*starlark.Builtin).BindReceiver(x), nil
}

// boundMethods holds, per method name, the builtin that Attr binds to a
// tensor: Go-implemented methods and aten ones alike.
var boundMethods sync.Map // string -> *starlark.Builtin

// callMethod calls aten::name with x first.
func (x *Tensor) callMethod(name string, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	op, err := atenOp(name)
	if err != nil {
		return nil, err
	}
	var buf [argBuf]aten.Arg
	cargs, err := argsForBuf(buf[:0], aten.T(x.t), args, kwargs)
	if err != nil {
		return nil, fmt.Errorf("Tensor.%s: %w", name, err)
	}
	return callOp("Tensor."+name, op, cargs)
}

var (
	methodOpsMu sync.Mutex
	methodOps   = map[string]*aten.Op{}
)

// methodOp resolves t.name to aten::name when libtorch has such an operator
// whose first argument is self.
func methodOp(name string) *aten.Op {
	if name == "" || strings.HasPrefix(name, "_") {
		return nil
	}
	methodOpsMu.Lock()
	defer methodOpsMu.Unlock()
	if op, ok := methodOps[name]; ok {
		return op
	}
	op, err := aten.LookupOp("aten::" + name)
	if err == nil {
		schemas := op.Schemas()
		if strings.Contains(schemas, "(Tensor self") || strings.Contains(schemas, "(Tensor(a) self") ||
			strings.Contains(schemas, "(Tensor(a!) self") || strings.Contains(schemas, "(Tensor(a -> *) self") {
			lang.SetDoc("Tensor."+name, fmt.Sprintf("t.%s(...): libtorch's aten::%s with t as self. Signatures:\n%s", name, name, indent(schemas)))
		} else {
			op = nil
		}
	} else {
		op = nil
	}
	methodOps[name] = op
	return op
}

// AttrNames lists the properties and the common methods (for dir() and
// completion); every aten operator also works as a method.
func (x *Tensor) AttrNames() []string {
	names := []string{"shape", "dtype", "device", "ndim", "is_cuda", "requires_grad", "is_leaf", "grad_fn", "grad", "data", "T", "mT"}
	for n := range tensorMethods {
		names = append(names, n)
	}
	names = append(names, commonMethods...)
	sort.Strings(names)
	out := names[:0]
	for i, n := range names {
		if i == 0 || n != names[i-1] {
			out = append(out, n)
		}
	}
	return out
}

// commonMethods are aten operators listed by dir() and completion.
var commonMethods = strings.Fields(`
abs abs_ acos add add_ addmm all allclose amax amin any argmax argmin argsort asin atan bmm
cumsum cumprod ceil chunk clamp clamp_ clamp_min clamp_max clone contiguous cos cosh diag diag_embed
diagonal div div_ dot eq equal erf exp exp_ expand_as fill_ fill_diagonal_ flatten flip floor fmod
gather ge gt index_add index_fill index_put index_select isfinite isinf isnan le lerp log log10 log1p
log2 log_softmax logical_and logical_not logical_or logsumexp lt masked_fill masked_fill_ masked_select
matmul max maximum mean median min minimum mm mul mul_ nan_to_num narrow ne neg nonzero norm normal_
outer pow prod reciprocal relu relu_ remainder repeat_interleave roll round rsqrt scatter scatter_
scatter_add sigmoid sign sin sinh softmax sort split sqrt square squeeze std sub sub_ sum t tanh
topk trace transpose tril triu trunc unbind unflatten uniform_ unsqueeze var where zero_`)

func shapeTuple(s []int64) starlark.Tuple {
	t := make(starlark.Tuple, len(s))
	for i, v := range s {
		t[i] = starlark.MakeInt64(v)
	}
	return t
}

// ---------------------------------------------------------------- indexing

// Get implements t[key] for ints, tuples of indices, tensors, lists, None,
// slices and Ellipsis (see lang.Slice).
func (x *Tensor) Get(key starlark.Value) (_ starlark.Value, _ bool, err error) {
	defer lang.Recover("Tensor index", &err)
	items, err := indexItems(key)
	if err != nil {
		return nil, false, err
	}
	t, err := x.t.Index(items)
	if err != nil {
		return nil, false, fmt.Errorf("Tensor index: %s (tensor shape %s)", err, lang.Size(x.t.Shape()))
	}
	return newTensor(t), true, nil
}

// Slice implements t[a:b:c] on the first dimension.
func (x *Tensor) Slice(start, end, step int) starlark.Value {
	if step <= 0 {
		// Starlark has already normalised the bounds; PyTorch rejects
		// negative steps, and a Slice cannot return an error, so the
		// result is an empty slice of the first dimension.
		step, end = 1, start
	}
	t, err := x.t.Index([]aten.IndexItem{{Kind: aten.IndexSlice, Start: int64(start), Stop: int64(end), Step: int64(step), HasStart: true, HasStop: true}})
	if err != nil {
		return starlark.None
	}
	return newTensor(t)
}

// SetKey implements t[key] = value (a tensor or a number).
func (x *Tensor) SetKey(key, value starlark.Value) (err error) {
	defer lang.Recover("Tensor item assignment", &err)
	items, err := indexItems(key)
	if err != nil {
		return err
	}
	switch v := value.(type) {
	case *Tensor:
		err = x.t.IndexPut(items, v.t, 0)
	case starlark.String:
		return fmt.Errorf("Tensor item assignment: cannot assign a string (use a tensor or a number)")
	default:
		f, ok := asFloat(value)
		if !ok {
			if l, isSeq := value.(starlark.Indexable); isSeq {
				fd, ferr := flatten(l)
				if ferr != nil {
					return ferr
				}
				dt := x.t.DType()
				vt, terr := tensorFromData(fd, &dt)
				if terr != nil {
					return terr
				}
				err = x.t.IndexPut(items, vt, 0)
				break
			}
			return fmt.Errorf("Tensor item assignment: cannot assign a %s (use a tensor or a number)", value.Type())
		}
		err = x.t.IndexPut(items, aten.Tensor{}, f)
	}
	if err != nil {
		return fmt.Errorf("Tensor item assignment: %s (tensor shape %s)", err, lang.Size(x.t.Shape()))
	}
	return nil
}

func indexItems(key starlark.Value) ([]aten.IndexItem, error) {
	if tup, ok := key.(starlark.Tuple); ok {
		items := make([]aten.IndexItem, 0, len(tup))
		for _, k := range tup {
			it, err := indexItem(k)
			if err != nil {
				return nil, err
			}
			items = append(items, it)
		}
		return items, nil
	}
	it, err := indexItem(key)
	if err != nil {
		return nil, err
	}
	return []aten.IndexItem{it}, nil
}

func indexItem(k starlark.Value) (aten.IndexItem, error) {
	switch k := k.(type) {
	case starlark.Int:
		i, ok := k.Int64()
		if !ok {
			return aten.IndexItem{}, fmt.Errorf("index %s out of range", k)
		}
		return aten.IndexItem{Kind: aten.IndexInt, I: i}, nil
	case starlark.Bool:
		t, err := aten.FromBools([]bool{bool(k)})
		return aten.IndexItem{Kind: aten.IndexTensor, T: t}, err
	case starlark.NoneType:
		return aten.IndexItem{Kind: aten.IndexNone}, nil
	case *Tensor:
		return aten.IndexItem{Kind: aten.IndexTensor, T: k.t}, nil
	case *starlark.List:
		fd, err := flatten(k)
		if err != nil {
			return aten.IndexItem{}, err
		}
		t, err := tensorFromData(fd, nil)
		return aten.IndexItem{Kind: aten.IndexTensor, T: t}, err
	case lang.Slice:
		it := aten.IndexItem{Kind: aten.IndexSlice, Step: 1}
		var err error
		if it.Start, it.HasStart, err = sliceBound(k.Start); err != nil {
			return it, err
		}
		if it.Stop, it.HasStop, err = sliceBound(k.Stop); err != nil {
			return it, err
		}
		if k.Step != nil && k.Step != starlark.None {
			s, ok, err := sliceBound(k.Step)
			if err != nil || !ok {
				return it, err
			}
			if s <= 0 {
				return it, fmt.Errorf("slice step must be positive (got %d); use t.flip(dim) to reverse", s)
			}
			it.Step = s
		}
		return it, nil
	case lang.EllipsisType:
		return aten.IndexItem{Kind: aten.IndexEllipsis}, nil
	}
	return aten.IndexItem{}, fmt.Errorf("tensors can only be indexed by ints, slices, None, ..., lists and tensors; got %s", k.Type())
}

func sliceBound(v starlark.Value) (int64, bool, error) {
	if v == nil || v == starlark.None {
		return 0, false, nil
	}
	i, err := starlark.AsInt32(v)
	if err != nil {
		return 0, false, fmt.Errorf("slice bound: %w", err)
	}
	return int64(i), true, nil
}

// Index returns t[i] (used by Starlark's slicing machinery).
func (x *Tensor) Index(i int) starlark.Value {
	t, err := x.t.Index([]aten.IndexItem{{Kind: aten.IndexInt, I: int64(i)}})
	if err != nil {
		return starlark.None
	}
	return newTensor(t)
}

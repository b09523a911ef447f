// Package torch is the `torch` module of dadash scripts: libtorch tensors
// with PyTorch's names, keyword arguments and autograd.
//
// Functions and methods that are not special-cased here come straight from
// libtorch's operator table: torch.name(...) and t.name(...) call aten::name,
// choosing the overload that matches the arguments as PyTorch's Python
// bindings do. help(torch.name) shows the libtorch signatures.
package torch

import (
	"fmt"
	"strings"
	"sync"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/builtins/torch/aten"
	"github.com/dadash/dadash/lang"
)

// Namespace is the module type of dadash (lang.Namespace); torch's
// namespaces resolve libtorch operators as a fallback.
type Namespace = lang.Namespace

// NewNamespace makes a module value whose members are explicit builtins
// plus, as a fallback, every aten operator with the prefix atenPrefix
// (torch: "", torch.linalg: "linalg_", torch.special: "special_"; "-" for
// none). Other builtin packages use it too.
func NewNamespace(name, atenPrefix, doc string, members starlark.StringDict) *Namespace {
	var fb lang.Fallback
	if atenPrefix != "-" {
		// Only torch's own namespaces list their operators for dir() and
		// completion: nn.functional reaches aten too, but PyTorch's F is a
		// short list and thousands of names there would mislead.
		fb = &atenOps{module: name, prefix: atenPrefix, list: name == "torch" || strings.HasPrefix(name, "torch.")}
	}
	return lang.NewNamespace(name, doc, members, fb)
}

// atenOps is the fallback of a torch namespace: name resolves to the aten
// operator prefix+name.
type atenOps struct {
	module string
	prefix string
	list   bool

	dynamic sync.Map // name -> builtin, made on first use
	once    sync.Once
	names   []string
}

func (a *atenOps) Lookup(name string) (starlark.Value, error) {
	if strings.HasPrefix(name, "_") {
		return nil, nil
	}
	if v, ok := a.dynamic.Load(name); ok {
		return v.(starlark.Value), nil
	}
	op, err := aten.LookupOp("aten::" + a.prefix + name)
	if err != nil {
		return nil, nil
	}
	qual := a.module + "." + name
	doc := fmt.Sprintf("%s(...): libtorch's aten::%s%s. Signatures:\n%s", qual, a.prefix, name, indent(op.Schemas()))
	b := lang.Func(qual, doc, func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var buf [argBuf]aten.Arg
		cargs, err := appendArgs(buf[:0], args, kwargs)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", qual, err)
		}
		return callOp(qual, op, cargs)
	})
	v, _ := a.dynamic.LoadOrStore(name, b)
	return v.(starlark.Value), nil
}

// Names lists the operators this libtorch can call with the prefix, read
// from its schemas at the first dir() or completion.
func (a *atenOps) Names() []string {
	if !a.list {
		return nil
	}
	a.once.Do(func() {
		for _, n := range aten.OpNames() {
			rest, ok := strings.CutPrefix(n, a.prefix)
			if !ok || rest == "" {
				continue
			}
			// torch.linalg and torch.special list their own operators.
			if a.prefix == "" && (strings.HasPrefix(n, "linalg_") || strings.HasPrefix(n, "special_")) {
				continue
			}
			a.names = append(a.names, rest)
		}
	})
	return a.names
}

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}

// Module is the torch module value.
var Module *Namespace

func init() {
	members := starlark.StringDict{
		"tensor":            lang.Func("torch.tensor", docTensor, fnTensor),
		"zeros":             sizeCreator("zeros"),
		"ones":              sizeCreator("ones"),
		"empty":             sizeCreator("empty"),
		"randn":             sizeCreator("randn"),
		"rand":              sizeCreator("rand"),
		"full":              lang.Func("torch.full", "torch.full(size, fill_value, *, dtype=None, device=None, requires_grad=False): a tensor filled with fill_value; dtype follows fill_value (bool, int64 or float32) unless given.", fnFull),
		"randint":           lang.Func("torch.randint", "torch.randint(low=0, high, size, *, dtype=torch.int64, device=None): uniform random integers in [low, high).", fnRandint),
		"arange":            creator("arange", "torch.arange(start=0, end, step=1, *, dtype=None, device=None, requires_grad=False): values from start to end (exclusive); int64 when all bounds are ints."),
		"linspace":          creator("linspace", "torch.linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False): steps evenly spaced values from start to end inclusive."),
		"eye":               creator("eye", "torch.eye(n, m=None, *, dtype=None, device=None, requires_grad=False): the identity matrix."),
		"zeros_like":        creator("zeros_like", "torch.zeros_like(input, *, dtype=None, device=None, requires_grad=False)"),
		"ones_like":         creator("ones_like", "torch.ones_like(input, *, dtype=None, device=None, requires_grad=False)"),
		"empty_like":        creator("empty_like", "torch.empty_like(input, *, dtype=None, device=None, requires_grad=False)"),
		"rand_like":         creator("rand_like", "torch.rand_like(input, *, dtype=None, device=None, requires_grad=False)"),
		"randn_like":        creator("randn_like", "torch.randn_like(input, *, dtype=None, device=None, requires_grad=False)"),
		"full_like":         creator("full_like", "torch.full_like(input, fill_value, *, dtype=None, device=None, requires_grad=False)"),
		"randint_like":      creator("randint_like", "torch.randint_like(input, low=0, high, *, dtype=None, device=None)"),
		"get_rng_state":     lang.Func("torch.get_rng_state", "torch.get_rng_state(): the CPU random generator's state as a uint8 tensor (save it to resume a run).", fnGetRNGState),
		"set_rng_state":     lang.Func("torch.set_rng_state", "torch.set_rng_state(new_state): restores a state from torch.get_rng_state().", fnSetRNGState),
		"manual_seed":       lang.Func("torch.manual_seed", "torch.manual_seed(seed): seeds libtorch's random generators (CPU and every CUDA device).", fnManualSeed),
		"is_tensor":         lang.Func("torch.is_tensor", "torch.is_tensor(x): whether x is a Tensor.", fnIsTensor),
		"numel":             lang.Func("torch.numel", "torch.numel(input): the number of elements.", fnNumel),
		"no_grad":           lang.Func("torch.no_grad", docNoGrad, fnNoGrad),
		"enable_grad":       lang.Func("torch.enable_grad", "torch.enable_grad(fn, *args, **kwargs): calls fn with autograd recording on and returns its result.", fnEnableGrad),
		"set_grad_enabled":  lang.Func("torch.set_grad_enabled", "torch.set_grad_enabled(mode): switches autograd recording on or off for the rest of the run.", fnSetGradEnabled),
		"is_grad_enabled":   lang.Func("torch.is_grad_enabled", "torch.is_grad_enabled(): whether autograd records operations.", fnIsGradEnabled),
		"set_num_threads":   lang.Func("torch.set_num_threads", "torch.set_num_threads(n): libtorch's intra-op thread count (default: all cores, or --threads / DADASH_NUM_THREADS / OMP_NUM_THREADS).", fnSetNumThreads),
		"get_num_threads":   lang.Func("torch.get_num_threads", "torch.get_num_threads(): libtorch's intra-op thread count.", fnGetNumThreads),
		"unique":            lang.Func("torch.unique", docUnique, fnUnique),
		"einsum":            lang.Func("torch.einsum", "torch.einsum(equation, *operands): Einstein summation, e.g. torch.einsum('ij,jk->ik', a, b).", fnEinsum),
		"broadcast_tensors": varTensors("broadcast_tensors", "torch.broadcast_tensors(*tensors): broadcasts the tensors to one shape."),
		"meshgrid":          varTensors("meshgrid", "torch.meshgrid(*tensors, indexing='ij'): coordinate grids."),
		"norm":              lang.Func("torch.norm", docNorm, fnNorm),
		"save":              lang.Func("torch.save", docSave, fnSave),
		"load":              lang.Func("torch.load", docLoad, fnLoad),
		"save_npy":          lang.Func("torch.save_npy", "torch.save_npy(tensor, path): writes a NumPy .npy file (atomically).", fnSaveNpy),
		"load_npy":          lang.Func("torch.load_npy", "torch.load_npy(path): reads a NumPy .npy file into a tensor.", fnLoadNpy),
		"cuda":              cudaModule,
		"linalg":            NewNamespace("torch.linalg", "linalg_", "torch.linalg: linear algebra (libtorch's linalg_* operators): norm, vector_norm, matrix_norm (ord='nuc' for the nuclear norm), svd, eigh, inv, det, qr, solve, ...", nil),
		"special":           NewNamespace("torch.special", "special_", "torch.special: special functions (libtorch's special_* operators).", nil),
		"autograd":          autogradModule,
		"__version__":       starlark.String(aten.TorchVersion()),
	}
	for name, d := range dtypes {
		members[name] = DType{d}
	}
	Module = NewNamespace("torch", "", docModule, members)
	lang.Register(lang.Module{Name: "torch", Value: Module, Doc: docModule})
	lang.RegisterVersion(func() (string, string) { return "libtorch", aten.TorchVersion() })
	lang.RegisterVersion(func() (string, string) { return "faiss", aten.FaissVersion() })
	lang.RegisterVersion(func() (string, string) {
		if aten.CUDAAvailable() {
			return "CUDA", fmt.Sprintf("available (%d device(s))", aten.CUDADeviceCount())
		}
		return "CUDA", "not available"
	})
	aten.InitThreads(0)
	lang.RegisterThreads(aten.InitThreads)
}

const docModule = `torch: tensors on libtorch, with PyTorch's names and keyword arguments.

Creation: tensor, zeros, ones, full, empty, randn, rand, randint, arange, linspace, eye, *_like.
Dtypes: torch.float32 (float), float64 (double), float16 (half), bfloat16, int64 (long), int32 (int),
int16, int8, uint8, bool. Devices: "cpu", "cuda", "cuda:N" (torch.cuda.is_available()).
Every libtorch operator is available as torch.name(...) and t.name(...): e.g. logsumexp, cdist,
masked_fill, topk, einsum, nuclear_norm; torch.linalg.* for linear algebra.
Operators: + - * / // % ** @ and comparisons (giving bool tensors) work on tensors and numbers;
indexing follows PyTorch: t[0], t[:, 1:3], t[..., -1], t[mask], t[idx]; t[mask] = 0.
Autograd: x.requires_grad_(), y.backward(), x.grad, torch.no_grad(fn, ...).
I/O: torch.save / torch.load (safetensors format), torch.save_npy / torch.load_npy.`

const docTensor = `torch.tensor(data, *, dtype=None, device=None, requires_grad=False)

Makes a tensor from nested lists of numbers or bools (or one-element tensors).
The dtype is bool, int64 or float32 following the data unless dtype= is given.`

const docNoGrad = `torch.no_grad(fn, *args, **kwargs)

Calls fn(*args, **kwargs) with autograd recording off and returns its result.
Starlark has no 'with' statement, so the block of PyTorch's
    with torch.no_grad(): ...
becomes a function: torch.no_grad(lambda: model(x)) or torch.no_grad(evaluate, model).`

const docUnique = `torch.unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None)

The unique elements; with return_inverse / return_counts a tuple (output, inverse_indices, counts).`

const docNorm = `torch.norm(input, p='fro', dim=None, keepdim=False, dtype=None)

Vector or matrix norm as in PyTorch: p a number, 'fro' or 'nuc' (nuclear norm of a matrix,
or of the last two dims given by dim).`

// sizeCreator makes zeros/ones/empty/randn/rand, which take the size as
// varargs or one sequence: torch.zeros(2, 3) or torch.zeros((2, 3)).
func sizeCreator(name string) *starlark.Builtin {
	qual := "torch." + name
	doc := fmt.Sprintf("%s(*size, dtype=None, device=None, requires_grad=False): a new tensor of the given size (dtype float32 by default).", qual)
	return lang.Func(qual, doc, func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		size, err := sizeArgs(qual, args)
		if err != nil {
			return nil, err
		}
		return create(qual, name, starlark.Tuple{size}, kwargs)
	})
}

// sizeArgs turns (2, 3) or ((2, 3),) into one tuple of ints.
func sizeArgs(fn string, args starlark.Tuple) (starlark.Tuple, error) {
	if len(args) == 1 {
		if seq, ok := args[0].(starlark.Indexable); ok && !isTensor(args[0]) {
			out := make(starlark.Tuple, seq.Len())
			for i := range out {
				out[i] = seq.Index(i)
			}
			args = out
		}
	}
	for i, a := range args {
		if _, ok := a.(starlark.Int); !ok {
			return nil, fmt.Errorf("%s: size must be ints, got %s at position %d", fn, a.Type(), i+1)
		}
	}
	return args, nil
}

// callNamed calls aten::name, resolved at its first use (building
// libtorch's operator table at start-up would slow every command down); a
// libtorch without the operator gives an error, not a crash.
func callNamed(display, name string, args []aten.Arg) (starlark.Value, error) {
	op, err := atenOp(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", display, err)
	}
	return callOp(display, op, args)
}

// creator wraps an aten factory, handling requires_grad= like PyTorch.
func creator(name, doc string) *starlark.Builtin {
	qual := "torch." + name
	return lang.Func(qual, doc, func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		return create(qual, name, args, kwargs)
	})
}

func create(qual, opname string, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	requiresGrad := false
	rest := kwargs[:0:0]
	for _, kv := range kwargs {
		if string(kv[0].(starlark.String)) == "requires_grad" {
			b, ok := kv[1].(starlark.Bool)
			if !ok {
				return nil, fmt.Errorf("%s: requires_grad must be a bool", qual)
			}
			requiresGrad = bool(b)
			continue
		}
		rest = append(rest, kv)
	}
	cargs, err := argsFor(nil, args, rest)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", qual, err)
	}
	v, err := callNamed(qual, opname, cargs)
	if err != nil {
		return nil, err
	}
	if requiresGrad {
		if err := setRequiresGrad(qual, v.(*Tensor), true); err != nil {
			return nil, err
		}
	}
	return v, nil
}

func setRequiresGrad(fn string, t *Tensor, on bool) error {
	if on && !t.t.DType().IsFloating() {
		return fmt.Errorf("%s: only floating point tensors can require gradients (this one is %s)", fn, t.t.DType())
	}
	if err := t.t.SetRequiresGrad(on); err != nil {
		return fmt.Errorf("%s: %w", fn, err)
	}
	return nil
}

// optionKwargs reads dtype=, device=, requires_grad= for functions
// implemented in Go.
type options struct {
	dtype        *aten.DType
	device       string
	requiresGrad bool
}

func (o *options) unpack(fn string, kwargs []starlark.Tuple) ([]starlark.Tuple, error) {
	rest := kwargs[:0:0]
	for _, kv := range kwargs {
		k := string(kv[0].(starlark.String))
		switch k {
		case "dtype":
			if kv[1] == starlark.None {
				continue
			}
			d, ok := kv[1].(DType)
			if !ok {
				return nil, fmt.Errorf("%s: dtype must be a torch dtype such as torch.float32, got %s", fn, kv[1].Type())
			}
			o.dtype = &d.d
		case "device":
			switch d := kv[1].(type) {
			case starlark.String:
				o.device = string(d)
			case Device:
				o.device = d.s
			case starlark.NoneType:
			default:
				return nil, fmt.Errorf("%s: device must be a string such as \"cpu\" or \"cuda:0\", got %s", fn, kv[1].Type())
			}
			if o.device != "" {
				if err := aten.CheckDevice(o.device); err != nil {
					return nil, fmt.Errorf("%s: %w", fn, err)
				}
			}
		case "requires_grad":
			b, ok := kv[1].(starlark.Bool)
			if !ok {
				return nil, fmt.Errorf("%s: requires_grad must be a bool", fn)
			}
			o.requiresGrad = bool(b)
		default:
			rest = append(rest, kv)
		}
	}
	return rest, nil
}

func (o *options) apply(fn string, t aten.Tensor) (starlark.Value, error) {
	var err error
	if o.device != "" && o.device != "cpu" {
		if t, err = t.To(-1, o.device, false); err != nil {
			return nil, fmt.Errorf("%s: %w", fn, err)
		}
	}
	v := newTensor(t)
	if o.requiresGrad {
		if err := setRequiresGrad(fn, v, true); err != nil {
			return nil, err
		}
	}
	return v, nil
}

func fnTensor(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var o options
	kwargs, err := o.unpack(b.Name(), kwargs)
	if err != nil {
		return nil, err
	}
	var data starlark.Value
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "data", &data); err != nil {
		return nil, err
	}
	var t aten.Tensor
	if src, ok := data.(*Tensor); ok {
		dt := src.t.DType()
		if o.dtype != nil {
			dt = *o.dtype
		}
		t, err = src.t.To(dt, "", true)
		if err == nil {
			t, err = t.Detach()
		}
	} else {
		var f *flatData
		if f, err = flatten(data); err != nil {
			return nil, err
		}
		t, err = tensorFromData(f, o.dtype)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return o.apply(b.Name(), t)
}

func fnFull(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var o options
	kwargs, err := o.unpack(b.Name(), kwargs)
	if err != nil {
		return nil, err
	}
	var size, fill starlark.Value
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "size", &size, "fill_value", &fill); err != nil {
		return nil, err
	}
	sz, err := sizeArgs(b.Name(), starlark.Tuple{size})
	if err != nil {
		return nil, err
	}
	dt := o.dtype
	if dt == nil {
		d := aten.Float32
		switch fill.(type) {
		case starlark.Bool:
			d = aten.Bool
		case starlark.Int:
			d = aten.Int64
		}
		dt = &d
	}
	cargs, err := argsFor(nil, starlark.Tuple{sz, fill}, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	cargs = append(cargs, aten.KW("dtype", aten.D(*dt)))
	v, err := callNamed(b.Name(), "full", cargs)
	if err != nil {
		return nil, err
	}
	return o.apply(b.Name(), v.(*Tensor).t)
}

func fnRandint(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var o options
	kwargs, err := o.unpack(b.Name(), kwargs)
	if err != nil {
		return nil, err
	}
	// randint(high, size) or randint(low, high, size), as in PyTorch.
	var low, high, size starlark.Value = starlark.MakeInt(0), nil, nil
	if len(args) == 2 {
		high, size = args[0], args[1]
		args = nil
		err = lang.UnpackArgs(b.Name(), args, kwargs, "low?", &low)
	} else {
		err = lang.UnpackArgs(b.Name(), args, kwargs, "low", &low, "high", &high, "size", &size)
	}
	if err != nil {
		return nil, err
	}
	sz, err := sizeArgs(b.Name(), starlark.Tuple{size})
	if err != nil {
		return nil, err
	}
	cargs, err := argsFor(nil, starlark.Tuple{low, high, sz}, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	dt := aten.Int64
	if o.dtype != nil {
		dt = *o.dtype
	}
	cargs = append(cargs, aten.KW("dtype", aten.D(dt)))
	v, err := callNamed(b.Name(), "randint", cargs)
	if err != nil {
		return nil, err
	}
	return o.apply(b.Name(), v.(*Tensor).t)
}

func fnManualSeed(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var seed int64
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "seed", &seed); err != nil {
		return nil, err
	}
	aten.ManualSeed(uint64(seed))
	return starlark.None, nil
}

func fnGetRNGState(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := lang.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	t, err := aten.RNGState()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return newTensor(t), nil
}

func fnSetRNGState(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var st *Tensor
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "new_state", &st); err != nil {
		return nil, err
	}
	if st.t.DType() != aten.Uint8 {
		return nil, fmt.Errorf("%s: the state must be the uint8 tensor torch.get_rng_state() returns, got %s", b.Name(), st.t.DType())
	}
	if err := aten.SetRNGState(st.t); err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return starlark.None, nil
}

func fnIsTensor(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x starlark.Value
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "obj", &x); err != nil {
		return nil, err
	}
	return starlark.Bool(isTensor(x)), nil
}

func fnNumel(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x *Tensor
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "input", &x); err != nil {
		return nil, err
	}
	return starlark.MakeInt64(x.t.Numel()), nil
}

// withGrad calls fn(*args[1:], **kwargs) with autograd set to on.
func withGrad(on bool, thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("%s: missing the function to call (Starlark has no 'with': write %s(fn, *args))", b.Name(), b.Name())
	}
	fn, ok := args[0].(starlark.Callable)
	if !ok {
		return nil, fmt.Errorf("%s: first argument must be callable, got %s", b.Name(), args[0].Type())
	}
	var out starlark.Value
	run := func() error {
		var err error
		out, err = starlark.Call(thread, fn, args[1:], kwargs)
		return err
	}
	var err error
	if on {
		err = withGradMode(true, run)
	} else {
		err = aten.NoGrad(run)
	}
	return out, err
}

func withGradMode(on bool, fn func() error) error {
	if !on {
		return aten.NoGrad(fn)
	}
	prev := aten.GradEnabled()
	aten.SetGradEnabled(true)
	defer aten.SetGradEnabled(prev)
	return fn()
}

func fnNoGrad(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	return withGrad(false, thread, b, args, kwargs)
}

func fnEnableGrad(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	return withGrad(true, thread, b, args, kwargs)
}

func fnSetGradEnabled(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var mode bool
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "mode", &mode); err != nil {
		return nil, err
	}
	// Scripts run on the main OS thread (gotorch locks it), where the
	// thread-local grad mode lives.
	aten.SetGradEnabled(mode)
	return starlark.None, nil
}

func fnIsGradEnabled(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := lang.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	return starlark.Bool(aten.GradEnabled()), nil
}

func fnSetNumThreads(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var n int
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "n", &n); err != nil {
		return nil, err
	}
	if n < 1 {
		return nil, fmt.Errorf("%s: n must be at least 1, got %d", b.Name(), n)
	}
	// Through lang, so that the other OpenMP users (faiss in metrics) take
	// the same count instead of putting their own back on the shared pool.
	lang.SetThreads(n)
	return starlark.None, nil
}

func fnGetNumThreads(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := lang.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	return starlark.MakeInt(aten.NumThreads()), nil
}

func fnUnique(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x *Tensor
	sorted, inverse, counts := true, false, false
	var dim starlark.Value = starlark.None
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "input", &x, "sorted?", &sorted, "return_inverse?", &inverse, "return_counts?", &counts, "dim?", &dim); err != nil {
		return nil, err
	}
	return x.unique(b.Name(), sorted, inverse, counts, dim)
}

func (x *Tensor) unique(fn string, sorted, inverse, counts bool, dim starlark.Value) (starlark.Value, error) {
	var v starlark.Value
	var err error
	if dim == starlark.None {
		v, err = callNamed(fn, "_unique2", []aten.Arg{aten.T(x.t), aten.B(sorted), aten.B(inverse), aten.B(counts)})
	} else {
		d, ok := dim.(starlark.Int)
		if !ok {
			return nil, fmt.Errorf("%s: dim must be an int or None", fn)
		}
		di, _ := d.Int64()
		v, err = callNamed(fn, "unique_dim", []aten.Arg{aten.T(x.t), aten.I(di), aten.B(sorted), aten.B(inverse), aten.B(counts)})
	}
	if err != nil {
		return nil, err
	}
	tup := v.(starlark.Tuple)
	out := starlark.Tuple{tup[0]}
	if inverse {
		out = append(out, tup[1])
	}
	if counts {
		out = append(out, tup[2])
	}
	if len(out) == 1 {
		return out[0], nil
	}
	return out, nil
}

func fnEinsum(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(args) < 1 {
		return nil, fmt.Errorf("%s: missing the equation", b.Name())
	}
	eq, ok := args[0].(starlark.String)
	if !ok {
		return nil, fmt.Errorf("%s: the equation must be a string such as 'ij,jk->ik'", b.Name())
	}
	ops := args[1:]
	if len(ops) == 1 {
		if l, isList := ops[0].(*starlark.List); isList {
			ops = make(starlark.Tuple, l.Len())
			for i := range ops {
				ops[i] = l.Index(i)
			}
		}
	}
	cargs, err := argsFor(nil, starlark.Tuple{eq, starlark.NewList(ops)}, kwargs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return callNamed(b.Name(), "einsum", cargs)
}

// varTensors wraps an aten operator taking Tensor[] as PyTorch's varargs form.
func varTensors(name, doc string) *starlark.Builtin {
	qual := "torch." + name
	return lang.Func(qual, doc, func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if len(args) == 1 {
			if l, ok := args[0].(*starlark.List); ok {
				args = make(starlark.Tuple, l.Len())
				for i := range args {
					args[i] = l.Index(i)
				}
			}
		}
		cargs, err := argsFor(nil, starlark.Tuple{starlark.NewList(args)}, kwargs)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", qual, err)
		}
		return callNamed(qual, name, cargs)
	})
}

func fnNorm(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x *Tensor
	var p starlark.Value = starlark.String("fro")
	var dim, dtype starlark.Value = starlark.None, starlark.None
	keepdim := false
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "input", &x, "p?", &p, "dim?", &dim, "keepdim?", &keepdim, "dtype?", &dtype); err != nil {
		return nil, err
	}
	return x.norm(b.Name(), p, dim, keepdim, dtype)
}

// norm follows torch.norm: strings select the Frobenius or nuclear norm,
// numbers a vector p-norm over dim (all elements when dim is None).
func (x *Tensor) norm(fn string, p, dim starlark.Value, keepdim bool, dtype starlark.Value) (starlark.Value, error) {
	self := aten.T(x.t)
	if s, ok := p.(starlark.String); ok {
		switch string(s) {
		case "fro":
			if dim == starlark.None {
				return callNamed(fn, "linalg_vector_norm", []aten.Arg{self, aten.F(2), aten.KW("keepdim", aten.B(keepdim))})
			}
			d, err := toArg("dim", dim)
			if err != nil {
				return nil, err
			}
			return callNamed(fn, "linalg_vector_norm", []aten.Arg{self, aten.F(2), d, aten.KW("keepdim", aten.B(keepdim))})
		case "nuc":
			if dim == starlark.None {
				return callNamed(fn, "nuclear_norm", []aten.Arg{self, aten.KW("keepdim", aten.B(keepdim))})
			}
			d, err := toArg("dim", dim)
			if err != nil {
				return nil, err
			}
			return callNamed(fn, "nuclear_norm", []aten.Arg{self, d, aten.KW("keepdim", aten.B(keepdim))})
		}
		return nil, fmt.Errorf("%s: p must be a number, 'fro' or 'nuc', got %q", fn, string(s))
	}
	pa, err := toArg("", p)
	if err != nil {
		return nil, err
	}
	args := []aten.Arg{self, pa}
	if dim != starlark.None {
		d, err := toArg("dim", dim)
		if err != nil {
			return nil, err
		}
		args = append(args, d)
	}
	args = append(args, aten.KW("keepdim", aten.B(keepdim)))
	if dtype != starlark.None {
		d, err := toArg("dtype", dtype)
		if err != nil {
			return nil, err
		}
		args = append(args, d)
	}
	return callNamed(fn, "linalg_vector_norm", args)
}

// ---------------------------------------------------------------- cuda

var cudaModule = NewNamespace("torch.cuda", "-", "torch.cuda: CUDA devices (is_available, device_count, manual_seed_all).", starlark.StringDict{
	"is_available": lang.Func("torch.cuda.is_available", "torch.cuda.is_available(): whether this libtorch has CUDA and a GPU is visible.", func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if err := lang.UnpackArgs(b.Name(), args, kwargs); err != nil {
			return nil, err
		}
		return starlark.Bool(aten.CUDAAvailable()), nil
	}),
	"device_count": lang.Func("torch.cuda.device_count", "torch.cuda.device_count(): the number of visible GPUs.", func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if err := lang.UnpackArgs(b.Name(), args, kwargs); err != nil {
			return nil, err
		}
		return starlark.MakeInt(aten.CUDADeviceCount()), nil
	}),
	"manual_seed_all": lang.Func("torch.cuda.manual_seed_all", "torch.cuda.manual_seed_all(seed): seeds every generator (same as torch.manual_seed).", fnManualSeed),
})

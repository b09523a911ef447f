// Package nn is the `nn` module of dadash scripts: PyTorch's torch.nn
// layers, containers, nn.functional and nn.init, with the same names,
// arguments, parameter names and default initialisation.
//
// A Module is one Go type for every layer: an ordered set of parameters,
// buffers and child modules, a training flag, and a forward function in Go
// (built-in layers) or Starlark (nn.Module(forward, ...) for a script's own
// modules). Parameters are *torch.Tensor values held by identity, so the
// tensors an optimizer holds are the ones the module uses.
package nn

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/dadash/dadash/builtins/torch"
	"github.com/dadash/dadash/builtins/torch/aten"
	"github.com/dadash/dadash/lang"
)

// ForwardFunc computes a module's output.
type ForwardFunc func(thread *starlark.Thread, m *Module, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error)

// Module is the Starlark value of every nn module.
type Module struct {
	typeName string

	params     []string // registration order
	buffers    []string
	children   []string
	paramVal   map[string]*torch.Tensor // nil: a parameter slot that is None (bias=False)
	bufferVal  map[string]*torch.Tensor
	transient  map[string]bool // buffers left out of state_dict
	childVal   map[string]*Module
	attrs      map[string]starlark.Value // hyperparameters and plain attributes
	attrOrder  []string
	training   bool
	FrozenEval bool // stays in eval mode whatever train() says (frozen BatchNorm)

	forward   ForwardFunc
	pyForward starlark.Callable
	// ExtraRepr gives the text inside Linear(...) when printing.
	ExtraRepr func(m *Module) string
	// SetHook, when set, sees a script's m.name = v first and returns the
	// value to store or an error: modules with a table of options (dada,
	// losses) reject a bad value at the assignment, not at the next call.
	SetHook func(m *Module, name string, v starlark.Value) (starlark.Value, error)
	// Indexed containers (Sequential, ModuleList) name children 0, 1, ...
	indexed bool
	// methods added by the code that built this module (e.g. a model's
	// freeze_backbone), looked up after the common ones.
	extra map[string]moduleMethod
}

var (
	_ starlark.Callable    = (*Module)(nil)
	_ starlark.HasAttrs    = (*Module)(nil)
	_ starlark.HasSetField = (*Module)(nil)
	_ starlark.Indexable   = (*Module)(nil)
	_ starlark.Iterable    = (*Module)(nil)
	_ lang.Documented      = (*Module)(nil)
)

// NewModule makes an empty module of the given type name with a Go forward.
func NewModule(typeName string, forward ForwardFunc) *Module {
	return &Module{
		typeName:  typeName,
		paramVal:  map[string]*torch.Tensor{},
		bufferVal: map[string]*torch.Tensor{},
		transient: map[string]bool{},
		childVal:  map[string]*Module{},
		attrs:     map[string]starlark.Value{},
		training:  true,
		forward:   forward,
	}
}

// TypeName is the class name (Linear, Sequential, ResNet, ...).
func (m *Module) TypeName() string { return m.typeName }

// Training reports whether the module is in training mode.
func (m *Module) Training() bool { return m.training && !m.FrozenEval }

// AddParam registers a parameter (t may be nil for an absent bias). The
// tensor becomes a leaf that requires grad.
func (m *Module) AddParam(name string, t aten.Tensor) error {
	if _, dup := m.paramVal[name]; dup || m.has(name) {
		return fmt.Errorf("%s: attribute %q already exists", m.typeName, name)
	}
	m.params = append(m.params, name)
	if !t.Defined() {
		m.paramVal[name] = nil
		return nil
	}
	if err := t.SetRequiresGrad(true); err != nil {
		return fmt.Errorf("%s.%s: %w", m.typeName, name, err)
	}
	m.paramVal[name] = torch.New(t)
	return nil
}

// AddParamValue registers an existing tensor value as a parameter (shared).
func (m *Module) AddParamValue(name string, t *torch.Tensor) error {
	if m.has(name) {
		return fmt.Errorf("%s: attribute %q already exists", m.typeName, name)
	}
	if !t.ATen().RequiresGrad() {
		if err := t.ATen().SetRequiresGrad(true); err != nil {
			return fmt.Errorf("%s.%s: %w", m.typeName, name, err)
		}
	}
	m.params = append(m.params, name)
	m.paramVal[name] = t
	return nil
}

// AddBuffer registers a buffer; persistent buffers go into state_dict.
func (m *Module) AddBuffer(name string, t aten.Tensor, persistent bool) error {
	if m.has(name) {
		return fmt.Errorf("%s: attribute %q already exists", m.typeName, name)
	}
	m.buffers = append(m.buffers, name)
	if t.Defined() {
		m.bufferVal[name] = torch.New(t)
	} else {
		m.bufferVal[name] = nil
	}
	if !persistent {
		m.transient[name] = true
	}
	return nil
}

// AddChild registers a submodule.
func (m *Module) AddChild(name string, c *Module) error {
	if m.has(name) {
		return fmt.Errorf("%s: attribute %q already exists", m.typeName, name)
	}
	m.children = append(m.children, name)
	m.childVal[name] = c
	return nil
}

// SetAttr records a hyperparameter or plain attribute (shown by repr when
// listed in ExtraRepr).
func (m *Module) SetAttr(name string, v starlark.Value) {
	if _, ok := m.attrs[name]; !ok {
		m.attrOrder = append(m.attrOrder, name)
	}
	m.attrs[name] = v
}

func (m *Module) has(name string) bool {
	_, p := m.paramVal[name]
	_, b := m.bufferVal[name]
	_, c := m.childVal[name]
	_, a := m.attrs[name]
	return p || b || c || a
}

// Param returns a parameter (nil when absent or None).
func (m *Module) Param(name string) *torch.Tensor { return m.paramVal[name] }

// Buffer returns a buffer (nil when absent or None).
func (m *Module) Buffer(name string) *torch.Tensor { return m.bufferVal[name] }

// Child returns a submodule or nil.
func (m *Module) Child(name string) *Module { return m.childVal[name] }

// Children returns the submodules in order.
func (m *Module) Children() []*Module {
	out := make([]*Module, len(m.children))
	for i, n := range m.children {
		out[i] = m.childVal[n]
	}
	return out
}

// Attr value of a hyperparameter (nil if none).
func (m *Module) AttrValue(name string) starlark.Value { return m.attrs[name] }

// NamedTensor is a parameter or buffer with its dotted name.
type NamedTensor struct {
	Name   string
	Tensor *torch.Tensor
}

// NamedParameters lists parameters recursively with dotted names, each
// tensor once (shared parameters appear under their first name).
func (m *Module) NamedParameters() []NamedTensor {
	var out []NamedTensor
	seen := map[*torch.Tensor]bool{}
	m.walk("", func(prefix string, mod *Module) {
		for _, n := range mod.params {
			if t := mod.paramVal[n]; t != nil && !seen[t] {
				seen[t] = true
				out = append(out, NamedTensor{prefix + n, t})
			}
		}
	})
	return out
}

// NamedBuffers lists buffers recursively.
func (m *Module) NamedBuffers() []NamedTensor {
	var out []NamedTensor
	m.walk("", func(prefix string, mod *Module) {
		for _, n := range mod.buffers {
			if t := mod.bufferVal[n]; t != nil {
				out = append(out, NamedTensor{prefix + n, t})
			}
		}
	})
	return out
}

// walk visits m and its descendants in PyTorch's order (a module, then its
// children depth-first), with the dotted prefix of each.
func (m *Module) walk(prefix string, f func(prefix string, mod *Module)) {
	seen := map[*Module]bool{}
	var rec func(prefix string, mod *Module)
	rec = func(prefix string, mod *Module) {
		if seen[mod] {
			return
		}
		seen[mod] = true
		f(prefix, mod)
		for _, n := range mod.children {
			if c := mod.childVal[n]; c != nil {
				rec(prefix+n+".", c)
			}
		}
	}
	rec(prefix, m)
}

// StateDict lists the persistent state: parameters, then buffers, of each
// module in walk order, as PyTorch's state_dict does.
func (m *Module) StateDict() []NamedTensor {
	var out []NamedTensor
	m.walk("", func(prefix string, mod *Module) {
		for _, n := range mod.params {
			if t := mod.paramVal[n]; t != nil {
				out = append(out, NamedTensor{prefix + n, t})
			}
		}
		for _, n := range mod.buffers {
			if t := mod.bufferVal[n]; t != nil && !mod.transient[n] {
				out = append(out, NamedTensor{prefix + n, t})
			}
		}
	})
	return out
}

// LoadResult lists the keys load_state_dict did not match.
type LoadResult struct {
	Missing, Unexpected []string
}

// LoadStateDict copies tensors into the module's parameters and buffers
// (in place, keeping the tensors optimizers hold). A shape mismatch is an
// error naming the key and both shapes; with strict, so are missing and
// unexpected keys.
func (m *Module) LoadStateDict(sd map[string]aten.Tensor, order []string, strict bool) (LoadResult, error) {
	var res LoadResult
	own := m.StateDict()
	ownSet := map[string]*torch.Tensor{}
	for _, nt := range own {
		ownSet[nt.Name] = nt.Tensor
	}
	for _, k := range order {
		if _, ok := ownSet[k]; !ok {
			res.Unexpected = append(res.Unexpected, k)
		}
	}
	for _, nt := range own {
		src, ok := sd[nt.Name]
		if !ok {
			res.Missing = append(res.Missing, nt.Name)
			continue
		}
		dst := nt.Tensor.ATen()
		if !slices.Equal(dst.Shape(), src.Shape()) {
			return res, fmt.Errorf("size mismatch for %s: copying a param with shape %s from checkpoint, the shape in current model is %s", nt.Name, shapeStr(src.Shape()), shapeStr(dst.Shape()))
		}
	}
	if strict && (len(res.Missing) > 0 || len(res.Unexpected) > 0) {
		return res, fmt.Errorf("Error(s) in loading state_dict for %s:%s", m.typeName, describeKeys(res))
	}
	err := aten.NoGrad(func() error {
		for _, nt := range own {
			src, ok := sd[nt.Name]
			if !ok {
				continue
			}
			if _, err := aten.Run("copy_", aten.T(nt.Tensor.ATen()), aten.T(src)); err != nil {
				return fmt.Errorf("loading %s: %w", nt.Name, err)
			}
		}
		return nil
	})
	return res, err
}

func describeKeys(r LoadResult) string {
	var b strings.Builder
	if len(r.Missing) > 0 {
		fmt.Fprintf(&b, "\n  Missing key(s) in state_dict: %s.", quoteList(r.Missing))
	}
	if len(r.Unexpected) > 0 {
		fmt.Fprintf(&b, "\n  Unexpected key(s) in state_dict: %s.", quoteList(r.Unexpected))
	}
	return b.String()
}

func quoteList(v []string) string {
	const most = 12
	q := make([]string, 0, len(v))
	for i, s := range v {
		if i == most {
			q = append(q, fmt.Sprintf("... (%d more)", len(v)-most))
			break
		}
		q = append(q, fmt.Sprintf("%q", s))
	}
	return strings.Join(q, ", ")
}

func shapeStr(s []int64) string { return lang.Size(s) }

// SetTraining switches training mode recursively (frozen modules stay in
// eval mode).
func (m *Module) SetTraining(on bool) {
	m.walk("", func(_ string, mod *Module) { mod.training = on })
}

// Forward calls the module.
func (m *Module) Forward(thread *starlark.Thread, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if m.pyForward != nil {
		return starlark.Call(thread, m.pyForward, append(starlark.Tuple{m}, args...), kwargs)
	}
	if m.forward == nil {
		return nil, fmt.Errorf("%s has no forward; it is a container (index it, or use nn.Sequential)", m.typeName)
	}
	return m.forward(thread, m, args, kwargs)
}

// Native reports whether m's forward is dadash's own Go code all the way
// down (no forward written in Starlark in it). Such a forward neither keeps
// nor shows anyone the tensors it makes, so a chain of native layers frees
// each intermediate result's handle as soon as the next layer has consumed
// it (ReleaseIntermediate), as Python's reference counting does. Left to
// the collector, a ResNet-50 step's activations outlived the step and the
// next step's were fresh pages.
func (m *Module) Native() bool {
	if m.pyForward != nil {
		return false
	}
	for _, n := range m.children {
		if c := m.childVal[n]; c != nil && !c.Native() {
			return false
		}
	}
	return true
}

// ReleaseIntermediate frees the handle of old, a result inside a chain of
// native layers that next has replaced, unless it is the chain's input or
// the same handle as next (a layer that returned its input).
func ReleaseIntermediate(old, input, next aten.Tensor) {
	if old.T == nil || old.T == input.T || old.T == next.T {
		return
	}
	old.Free()
}

// ReLUInPlace reports whether a chain of native layers may apply relu, the
// child after prev, in place (as torchvision's ReLU(inplace=True)): the
// input is private to the chain and prev's backward does not read its
// output. In place, relu allocates nothing: on the glyph recipe's first
// block that is 7.8 MB of fresh pages per step, on ResNet's stem 25.7 MB.
func ReLUInPlace(prev, relu *Module) bool {
	if relu == nil || prev == nil || relu.pyForward != nil || relu.typeName != "ReLU" || !prev.Native() {
		return false
	}
	switch prev.typeName {
	case "Conv1d", "Conv2d", "Linear", "BatchNorm1d", "BatchNorm2d":
		return true
	}
	return false
}

// ForwardTensor calls the module on one tensor and expects one tensor.
func (m *Module) ForwardTensor(thread *starlark.Thread, x aten.Tensor) (aten.Tensor, error) {
	v, err := m.Forward(thread, starlark.Tuple{torch.New(x)}, nil)
	if err != nil {
		return aten.Tensor{}, err
	}
	t, ok := v.(*torch.Tensor)
	if !ok {
		return aten.Tensor{}, fmt.Errorf("%s returned a %s, not a Tensor", m.typeName, v.Type())
	}
	return t.ATen(), nil
}

// ---------------------------------------------------------------- Starlark value

func (m *Module) Type() string          { return m.typeName }
func (m *Module) Freeze()               {} // modules are mutable, as in PyTorch
func (m *Module) Truth() starlark.Bool  { return true }
func (m *Module) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: %s", m.typeName) }
func (m *Module) Name() string          { return m.typeName }
func (m *Module) Doc() string {
	if d, ok := lang.DocOf("nn." + m.typeName); ok {
		return d + "\n\n" + m.String()
	}
	return m.String()
}

func (m *Module) CallInternal(thread *starlark.Thread, args starlark.Tuple, kwargs []starlark.Tuple) (_ starlark.Value, err error) {
	defer lang.Recover(m.typeName, &err)
	return m.Forward(thread, args, kwargs)
}

// String prints the module tree as PyTorch does.
func (m *Module) String() string {
	extra := ""
	if m.ExtraRepr != nil {
		extra = m.ExtraRepr(m)
	}
	if len(m.children) == 0 {
		return m.typeName + "(" + extra + ")"
	}
	var b strings.Builder
	b.WriteString(m.typeName + "(")
	if extra != "" {
		b.WriteString("\n  " + extra)
	}
	for _, n := range m.children {
		c := m.childVal[n]
		s := "None"
		if c != nil {
			s = c.String()
		}
		b.WriteString("\n  (" + n + "): " + strings.ReplaceAll(s, "\n", "\n  "))
	}
	b.WriteString("\n)")
	return b.String()
}

// Len and Index make Sequential and ModuleList indexable.
func (m *Module) Len() int { return len(m.children) }
func (m *Module) Index(i int) starlark.Value {
	if c := m.childVal[m.children[i]]; c != nil {
		return c
	}
	return starlark.None
}

// Iterate yields the children (for containers).
func (m *Module) Iterate() starlark.Iterator {
	vals := make([]starlark.Value, len(m.children))
	for i := range m.children {
		vals[i] = m.Index(i)
	}
	return starlark.NewList(vals).Iterate()
}

func (m *Module) Attr(name string) (starlark.Value, error) {
	if name == "__load__" {
		name = "load"
	}
	if t, ok := m.paramVal[name]; ok {
		if t == nil {
			return starlark.None, nil
		}
		return t, nil
	}
	if t, ok := m.bufferVal[name]; ok {
		if t == nil {
			return starlark.None, nil
		}
		return t, nil
	}
	if c, ok := m.childVal[name]; ok {
		if c == nil {
			return starlark.None, nil
		}
		return c, nil
	}
	if v, ok := m.attrs[name]; ok {
		return v, nil
	}
	if name == "training" {
		return starlark.Bool(m.Training()), nil
	}
	if fn, ok := moduleMethods[name]; ok {
		return starlark.NewBuiltin(name, lang.Safe(fn.fn)).BindReceiver(m), nil
	}
	if fn, ok := m.extra[name]; ok {
		return starlark.NewBuiltin(name, lang.Safe(fn.fn)).BindReceiver(m), nil
	}
	return nil, nil
}

// AddMethod gives this module an extra method; doc is shown by help()
// under "<TypeName>.<name>".
func (m *Module) AddMethod(name, doc string, fn func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error)) {
	if m.extra == nil {
		m.extra = map[string]moduleMethod{}
	}
	m.extra[name] = moduleMethod{fn, doc}
	lang.SetDoc(m.typeName+"."+name, doc)
}

// SetForward replaces the module's forward function.
func (m *Module) SetForward(f ForwardFunc) { m.forward = f; m.pyForward = nil }

func (m *Module) AttrNames() []string {
	var names []string
	names = append(names, m.params...)
	names = append(names, m.buffers...)
	names = append(names, m.children...)
	names = append(names, m.attrOrder...)
	names = append(names, "training")
	for n := range moduleMethods {
		names = append(names, n)
	}
	for n := range m.extra {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// SetField lets scripts replace parts: m.fc = nn.Linear(...), m.scale =
// nn.Parameter(...) (a leaf tensor that requires grad becomes a parameter),
// m.count = 3.
func (m *Module) SetField(name string, v starlark.Value) error {
	if m.SetHook != nil {
		var err error
		if v, err = m.SetHook(m, name, v); err != nil {
			return err
		}
	}
	switch x := v.(type) {
	case *Module:
		if _, ok := m.childVal[name]; ok {
			m.childVal[name] = x
			return nil
		}
		m.deleteMember(name)
		return m.AddChild(name, x)
	case *torch.Tensor:
		isParam := x.ATen().RequiresGrad() && x.ATen().IsLeaf()
		if _, ok := m.paramVal[name]; ok {
			if !isParam {
				return fmt.Errorf("%s.%s is a parameter: assign nn.Parameter(t), or copy values in with %s.%s.copy_(t)", m.typeName, name, m.typeName, name)
			}
			m.paramVal[name] = x
			return nil
		}
		if _, ok := m.bufferVal[name]; ok {
			m.bufferVal[name] = x
			return nil
		}
		if isParam {
			// nn.Parameter(t) gives a leaf tensor that requires grad.
			m.deleteMember(name)
			return m.AddParamValue(name, x)
		}
	case starlark.NoneType:
		if _, ok := m.childVal[name]; ok {
			m.childVal[name] = nil
			return nil
		}
		if _, ok := m.paramVal[name]; ok {
			m.paramVal[name] = nil
			return nil
		}
	}
	if _, ok := m.childVal[name]; ok {
		return fmt.Errorf("%s.%s is a submodule; assign a module or None, not a %s", m.typeName, name, v.Type())
	}
	m.SetAttr(name, v)
	return nil
}

func (m *Module) deleteMember(name string) {
	drop := func(list []string) []string {
		out := list[:0]
		for _, n := range list {
			if n != name {
				out = append(out, n)
			}
		}
		return out
	}
	if _, ok := m.attrs[name]; ok {
		delete(m.attrs, name)
		m.attrOrder = drop(m.attrOrder)
	}
	if _, ok := m.bufferVal[name]; ok {
		delete(m.bufferVal, name)
		m.buffers = drop(m.buffers)
	}
}

// ---------------------------------------------------------------- methods

type moduleMethod struct {
	fn  func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error)
	doc string
}

var moduleMethods map[string]moduleMethod

func init() {
	moduleMethods = map[string]moduleMethod{
		"forward":            {mForward, "m.forward(*args): the module's computation (same as m(*args))."},
		"train":              {mTrain, "m.train(mode=True): training mode for m and its submodules (frozen BatchNorm stays in eval mode); returns m."},
		"eval":               {mEval, "m.eval(): evaluation mode (BatchNorm uses running statistics, Dropout is off); returns m."},
		"parameters":         {mParameters, "m.parameters(recurse=True): the parameter tensors, each once."},
		"named_parameters":   {mNamedParameters, "m.named_parameters(prefix='', recurse=True): (name, tensor) pairs with dotted names."},
		"buffers":            {mBuffers, "m.buffers(recurse=True): the buffer tensors (BatchNorm running statistics, ...)."},
		"named_buffers":      {mNamedBuffers, "m.named_buffers(prefix='', recurse=True): (name, tensor) pairs."},
		"children":           {mChildren, "m.children(): the direct submodules."},
		"named_children":     {mNamedChildren, "m.named_children(): (name, module) pairs of the direct submodules."},
		"modules":            {mModules, "m.modules(): m and all its submodules, depth first."},
		"named_modules":      {mNamedModules, "m.named_modules(): (name, module) pairs, m itself named ''."},
		"state_dict":         {mStateDict, "m.state_dict(): an ordered dict of parameter and persistent buffer tensors by dotted name (the tensors themselves, as in PyTorch)."},
		"load_state_dict":    {mLoadStateDict, "m.load_state_dict(state_dict, strict=True): copies tensors in by name. Returns (missing_keys, unexpected_keys); with strict=True either is an error. A shape mismatch names the key and both shapes."},
		"to":                 {mTo, "m.to(device) / m.to(dtype): moves parameters and buffers (in place: optimizers keep working); returns m."},
		"cpu":                {mCPU, "m.cpu(): m.to('cpu')."},
		"cuda":               {mCUDA, "m.cuda(device=None): m.to('cuda')."},
		"float":              {mCast(aten.Float32), "m.float(): floating parameters and buffers as float32."},
		"double":             {mCast(aten.Float64), "m.double(): floating parameters and buffers as float64."},
		"half":               {mCast(aten.Float16), "m.half(): floating parameters and buffers as float16."},
		"requires_grad_":     {mRequiresGrad, "m.requires_grad_(requires_grad=True): switches gradients for every parameter (freeze a backbone with False); returns m."},
		"zero_grad":          {mZeroGrad, "m.zero_grad(set_to_none=False): zeroes (or drops) the gradients of all parameters."},
		"apply":              {mApply, "m.apply(fn): calls fn(module) for every submodule and m itself (children first); returns m."},
		"add_module":         {mAddModule, "m.add_module(name, module): registers a submodule."},
		"register_buffer":    {mRegisterBuffer, "m.register_buffer(name, tensor, persistent=True): registers a buffer."},
		"register_parameter": {mRegisterParameter, "m.register_parameter(name, param): registers a tensor as a parameter (it is made to require grad)."},
		"append":             {mAppend, "seq.append(module): adds a module at the end of a Sequential or ModuleList."},
		"num_parameters":     {mNumParameters, "m.num_parameters(trainable_only=False): the number of parameter elements."},
	}
	for name, mm := range moduleMethods {
		lang.SetDoc("Module."+name, mm.doc)
	}
}

func recv(b *starlark.Builtin) *Module { return b.Receiver().(*Module) }

func mForward(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	return recv(b).Forward(thread, args, kwargs)
}

func mTrain(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	mode := true
	if err := lang.UnpackArgs("train", args, kwargs, "mode?", &mode); err != nil {
		return nil, err
	}
	recv(b).SetTraining(mode)
	return recv(b), nil
}

func mEval(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := lang.UnpackArgs("eval", args, kwargs); err != nil {
		return nil, err
	}
	recv(b).SetTraining(false)
	return recv(b), nil
}

func tensorList(nts []NamedTensor) *starlark.List {
	vals := make([]starlark.Value, len(nts))
	for i, nt := range nts {
		vals[i] = nt.Tensor
	}
	return starlark.NewList(vals)
}

func namedList(prefix string, nts []NamedTensor) *starlark.List {
	if prefix != "" {
		prefix += "."
	}
	vals := make([]starlark.Value, len(nts))
	for i, nt := range nts {
		vals[i] = starlark.Tuple{starlark.String(prefix + nt.Name), nt.Tensor}
	}
	return starlark.NewList(vals)
}

func (m *Module) ownOnly(buffers bool) []NamedTensor {
	var out []NamedTensor
	names, vals := m.params, m.paramVal
	if buffers {
		names, vals = m.buffers, m.bufferVal
	}
	for _, n := range names {
		if t := vals[n]; t != nil {
			out = append(out, NamedTensor{n, t})
		}
	}
	return out
}

func mParameters(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	recurse := true
	if err := lang.UnpackArgs("parameters", args, kwargs, "recurse?", &recurse); err != nil {
		return nil, err
	}
	if !recurse {
		return tensorList(recv(b).ownOnly(false)), nil
	}
	return tensorList(recv(b).NamedParameters()), nil
}

func mNamedParameters(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	prefix := ""
	recurse := true
	if err := lang.UnpackArgs("named_parameters", args, kwargs, "prefix?", &prefix, "recurse?", &recurse); err != nil {
		return nil, err
	}
	if !recurse {
		return namedList(prefix, recv(b).ownOnly(false)), nil
	}
	return namedList(prefix, recv(b).NamedParameters()), nil
}

func mBuffers(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	recurse := true
	if err := lang.UnpackArgs("buffers", args, kwargs, "recurse?", &recurse); err != nil {
		return nil, err
	}
	if !recurse {
		return tensorList(recv(b).ownOnly(true)), nil
	}
	return tensorList(recv(b).NamedBuffers()), nil
}

func mNamedBuffers(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	prefix := ""
	recurse := true
	if err := lang.UnpackArgs("named_buffers", args, kwargs, "prefix?", &prefix, "recurse?", &recurse); err != nil {
		return nil, err
	}
	if !recurse {
		return namedList(prefix, recv(b).ownOnly(true)), nil
	}
	return namedList(prefix, recv(b).NamedBuffers()), nil
}

func mChildren(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := lang.UnpackArgs("children", args, kwargs); err != nil {
		return nil, err
	}
	var vals []starlark.Value
	for _, c := range recv(b).Children() {
		if c != nil {
			vals = append(vals, c)
		}
	}
	return starlark.NewList(vals), nil
}

func mNamedChildren(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := lang.UnpackArgs("named_children", args, kwargs); err != nil {
		return nil, err
	}
	m := recv(b)
	var vals []starlark.Value
	for _, n := range m.children {
		if c := m.childVal[n]; c != nil {
			vals = append(vals, starlark.Tuple{starlark.String(n), c})
		}
	}
	return starlark.NewList(vals), nil
}

func mModules(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := lang.UnpackArgs("modules", args, kwargs); err != nil {
		return nil, err
	}
	var vals []starlark.Value
	recv(b).walk("", func(_ string, mod *Module) { vals = append(vals, mod) })
	return starlark.NewList(vals), nil
}

func mNamedModules(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := lang.UnpackArgs("named_modules", args, kwargs); err != nil {
		return nil, err
	}
	var vals []starlark.Value
	recv(b).walk("", func(prefix string, mod *Module) {
		vals = append(vals, starlark.Tuple{starlark.String(strings.TrimSuffix(prefix, ".")), mod})
	})
	return starlark.NewList(vals), nil
}

func mStateDict(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := lang.UnpackArgs("state_dict", args, kwargs); err != nil {
		return nil, err
	}
	sd := recv(b).StateDict()
	d := starlark.NewDict(len(sd))
	for _, nt := range sd {
		d.SetKey(starlark.String(nt.Name), nt.Tensor)
	}
	return d, nil
}

// StateDictFromValue reads a Starlark dict of name -> tensor.
func StateDictFromValue(fn string, v starlark.Value) (map[string]aten.Tensor, []string, error) {
	d, ok := v.(starlark.IterableMapping)
	if !ok {
		return nil, nil, fmt.Errorf("%s: state_dict must be a dict of name -> tensor, got %s", fn, v.Type())
	}
	out := map[string]aten.Tensor{}
	var order []string
	for _, item := range d.Items() {
		k, ok := item[0].(starlark.String)
		if !ok {
			return nil, nil, fmt.Errorf("%s: state_dict keys must be strings, got %s", fn, item[0].Type())
		}
		t, ok := item[1].(*torch.Tensor)
		if !ok {
			return nil, nil, fmt.Errorf("%s: state_dict[%q] is a %s, not a tensor", fn, string(k), item[1].Type())
		}
		out[string(k)] = t.ATen()
		order = append(order, string(k))
	}
	return out, order, nil
}

func mLoadStateDict(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var sdv starlark.Value
	strict := true
	if err := lang.UnpackArgs("load_state_dict", args, kwargs, "state_dict", &sdv, "strict?", &strict); err != nil {
		return nil, err
	}
	m := recv(b)
	sd, order, err := StateDictFromValue(m.typeName+".load_state_dict", sdv)
	if err != nil {
		return nil, err
	}
	res, err := m.LoadStateDict(sd, order, strict)
	if err != nil {
		return nil, fmt.Errorf("%s.load_state_dict: %w", m.typeName, err)
	}
	return loadResultValue(res), nil
}

func loadResultValue(res LoadResult) starlark.Value {
	strs := func(v []string) *starlark.List {
		l := make([]starlark.Value, len(v))
		for i, s := range v {
			l[i] = starlark.String(s)
		}
		return starlark.NewList(l)
	}
	return starlarkstruct.FromStringDict(starlark.String("IncompatibleKeys"), starlark.StringDict{
		"missing_keys":    strs(res.Missing),
		"unexpected_keys": strs(res.Unexpected),
	})
}

// To moves or casts every parameter and buffer; dtype < 0 keeps dtypes and
// casts apply to floating tensors only, as Module.to does.
func (m *Module) To(dtype aten.DType, device string) error {
	move := func(t *torch.Tensor, param bool) error {
		cur := t.ATen()
		dt := aten.DType(-1)
		if dtype >= 0 && cur.DType().IsFloating() {
			dt = dtype
		}
		if dt < 0 && (device == "" || device == cur.Device() || (device == "cuda" && cur.Device() == "cuda:0")) {
			return nil
		}
		nt, err := cur.To(dt, device, false)
		if err != nil {
			return err
		}
		if param {
			if nt, err = nt.Detach(); err != nil {
				return err
			}
			if err := nt.SetRequiresGrad(cur.RequiresGrad()); err != nil {
				return err
			}
		}
		t.Set(nt)
		return nil
	}
	var err error
	m.walk("", func(_ string, mod *Module) {
		for _, n := range mod.params {
			if t := mod.paramVal[n]; t != nil && err == nil {
				err = move(t, true)
			}
		}
		for _, n := range mod.buffers {
			if t := mod.bufferVal[n]; t != nil && err == nil {
				err = move(t, false)
			}
		}
	})
	return err
}

func mTo(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	m := recv(b)
	dtype := aten.DType(-1)
	device := ""
	set := func(v starlark.Value) error {
		switch v := v.(type) {
		case starlark.String:
			device = string(v)
		case torch.DType:
			dtype = v.ATen()
		case *torch.Tensor:
			dtype, device = v.ATen().DType(), v.ATen().Device()
		case starlark.NoneType:
		default:
			if d, ok := v.(interface{ DeviceString() string }); ok {
				device = d.DeviceString()
				return nil
			}
			return fmt.Errorf("%s.to: expected a device, a dtype or a tensor, got %s", m.typeName, v.Type())
		}
		return nil
	}
	for _, a := range args {
		if err := set(a); err != nil {
			return nil, err
		}
	}
	for _, kv := range kwargs {
		if err := set(kv[1]); err != nil {
			return nil, err
		}
	}
	if device != "" {
		if err := aten.CheckDevice(device); err != nil {
			return nil, fmt.Errorf("%s.to: %w", m.typeName, err)
		}
	}
	if err := m.To(dtype, device); err != nil {
		return nil, fmt.Errorf("%s.to: %w", m.typeName, err)
	}
	return m, nil
}

func mCPU(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := lang.UnpackArgs("cpu", args, kwargs); err != nil {
		return nil, err
	}
	return recv(b), recv(b).To(-1, "cpu")
}

func mCUDA(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var dev starlark.Value = starlark.None
	if err := lang.UnpackArgs("cuda", args, kwargs, "device?", &dev); err != nil {
		return nil, err
	}
	d := "cuda"
	if i, ok := dev.(starlark.Int); ok {
		d = "cuda:" + i.String()
	}
	if err := aten.CheckDevice(d); err != nil {
		return nil, fmt.Errorf("%s.cuda: %w", recv(b).typeName, err)
	}
	return recv(b), recv(b).To(-1, d)
}

func mCast(d aten.DType) func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
	return func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if err := lang.UnpackArgs(b.Name(), args, kwargs); err != nil {
			return nil, err
		}
		return recv(b), recv(b).To(d, "")
	}
}

func mRequiresGrad(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	on := true
	if err := lang.UnpackArgs("requires_grad_", args, kwargs, "requires_grad?", &on); err != nil {
		return nil, err
	}
	for _, nt := range recv(b).NamedParameters() {
		if err := nt.Tensor.ATen().SetRequiresGrad(on); err != nil {
			return nil, fmt.Errorf("requires_grad_: %s: %w", nt.Name, err)
		}
	}
	return recv(b), nil
}

// ZeroGrad zeroes or drops the gradients of all parameters.
func (m *Module) ZeroGrad(setToNone bool) error {
	for _, nt := range m.NamedParameters() {
		if err := ZeroGradOf(nt.Tensor.ATen(), setToNone); err != nil {
			return err
		}
	}
	return nil
}

// ZeroGradOf zeroes (or drops) one tensor's gradient as PyTorch does.
func ZeroGradOf(t aten.Tensor, setToNone bool) error {
	if setToNone {
		return t.SetGrad(aten.Tensor{})
	}
	g, ok, err := t.Grad()
	if err != nil || !ok {
		return err
	}
	if g.GradFnName() != "" {
		if g, err = g.Detach(); err != nil {
			return err
		}
		if err := t.SetGrad(g); err != nil {
			return err
		}
	}
	_, err = aten.Run("zero_", aten.T(g))
	return err
}

func mZeroGrad(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	setToNone := false
	if err := lang.UnpackArgs("zero_grad", args, kwargs, "set_to_none?", &setToNone); err != nil {
		return nil, err
	}
	return starlark.None, recv(b).ZeroGrad(setToNone)
}

func mApply(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var fn starlark.Callable
	if err := lang.UnpackArgs("apply", args, kwargs, "fn", &fn); err != nil {
		return nil, err
	}
	var rec func(m *Module) error
	rec = func(m *Module) error {
		for _, c := range m.Children() {
			if c != nil {
				if err := rec(c); err != nil {
					return err
				}
			}
		}
		_, err := starlark.Call(thread, fn, starlark.Tuple{m}, nil)
		return err
	}
	return recv(b), rec(recv(b))
}

func mAddModule(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	var mod *Module
	if err := lang.UnpackArgs("add_module", args, kwargs, "name", &name, "module", &mod); err != nil {
		return nil, err
	}
	return starlark.None, recv(b).SetField(name, mod)
}

func mRegisterBuffer(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	var t starlark.Value
	persistent := true
	if err := lang.UnpackArgs("register_buffer", args, kwargs, "name", &name, "tensor", &t, "persistent?", &persistent); err != nil {
		return nil, err
	}
	m := recv(b)
	switch x := t.(type) {
	case *torch.Tensor:
		if err := m.AddBuffer(name, aten.Tensor{}, persistent); err != nil {
			return nil, err
		}
		m.bufferVal[name] = x
	case starlark.NoneType:
		return starlark.None, m.AddBuffer(name, aten.Tensor{}, persistent)
	default:
		return nil, fmt.Errorf("register_buffer: %s is not a tensor", t.Type())
	}
	return starlark.None, nil
}

func mRegisterParameter(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	var p starlark.Value
	if err := lang.UnpackArgs("register_parameter", args, kwargs, "name", &name, "param", &p); err != nil {
		return nil, err
	}
	m := recv(b)
	switch x := p.(type) {
	case *torch.Tensor:
		return starlark.None, m.AddParamValue(name, x)
	case starlark.NoneType:
		return starlark.None, m.AddParam(name, aten.Tensor{})
	}
	return nil, fmt.Errorf("register_parameter: %s is not a tensor", p.Type())
}

func mAppend(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var mod *Module
	if err := lang.UnpackArgs("append", args, kwargs, "module", &mod); err != nil {
		return nil, err
	}
	m := recv(b)
	if !m.indexed {
		return nil, fmt.Errorf("append: %s is not a Sequential or ModuleList", m.typeName)
	}
	return m, m.AddChild(fmt.Sprint(len(m.children)), mod)
}

func mNumParameters(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	trainable := false
	if err := lang.UnpackArgs("num_parameters", args, kwargs, "trainable_only?", &trainable); err != nil {
		return nil, err
	}
	var n int64
	for _, nt := range recv(b).NamedParameters() {
		if !trainable || nt.Tensor.ATen().RequiresGrad() {
			n += nt.Tensor.ATen().Numel()
		}
	}
	return starlark.MakeInt64(n), nil
}

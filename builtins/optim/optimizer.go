package optim

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sort"
	"strings"
	"unsafe"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/builtins/torch"
	"github.com/dadash/dadash/builtins/torch/aten"
	"github.com/dadash/dadash/lang"
)

// paramState is one parameter's optimizer state, keys in insertion order
// as PyTorch's state dicts have them; an undefined tensor stands for None.
type paramState struct {
	keys []string
	vals map[string]aten.Tensor
}

func newParamState() *paramState { return &paramState{vals: map[string]aten.Tensor{}} }

func (s *paramState) empty() bool { return len(s.keys) == 0 }

func (s *paramState) get(k string) (aten.Tensor, bool) {
	t, ok := s.vals[k]
	return t, ok
}

func (s *paramState) set(k string, t aten.Tensor) {
	if _, ok := s.vals[k]; !ok {
		s.keys = append(s.keys, k)
	}
	s.vals[k] = t
}

// Optimizer is the value of optim.SGD(...), optim.Adam(...), optim.AdamW(...).
//
// Parameter groups are Starlark dicts that the script sees and may change
// (opt.param_groups[0]["lr"] = 1e-5); every step reads them afresh, which
// is what makes them live. State is keyed by the tensor handle, which is
// what a parameter's identity is for the torch module too (Tensor.Hash).
type Optimizer struct {
	alg      *algorithm
	defaults *starlark.Dict
	groups   *starlark.List
	state    map[unsafe.Pointer]*paramState
}

var (
	_ starlark.HasAttrs = (*Optimizer)(nil)
	_ lang.Documented   = (*Optimizer)(nil)
)

func (o *Optimizer) Type() string          { return o.alg.name }
func (o *Optimizer) Freeze()               {} // like tensors: native, mutable state
func (o *Optimizer) Truth() starlark.Bool  { return true }
func (o *Optimizer) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: %s", o.alg.name) }
func (o *Optimizer) Doc() string           { return o.alg.doc }

// String is PyTorch's repr: the groups' hyperparameters, sorted by name.
func (o *Optimizer) String() string {
	var b strings.Builder
	b.WriteString(o.alg.name + " (")
	for i := 0; i < o.groups.Len(); i++ {
		fmt.Fprintf(&b, "\nParameter Group %d\n", i)
		g, ok := o.groups.Index(i).(*starlark.Dict)
		if !ok {
			continue
		}
		var keys []string
		for _, k := range g.Keys() {
			if s, ok := k.(starlark.String); ok && s != "params" {
				keys = append(keys, string(s))
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			v, _, _ := g.Get(starlark.String(k))
			fmt.Fprintf(&b, "    %s: %s\n", k, v)
		}
	}
	b.WriteString(")")
	return b.String()
}

type method struct {
	name string
	doc  string
	fn   func(o *Optimizer, fn string, thread *starlark.Thread, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error)
}

var optimizerMethods = []method{
	{"step", "opt.step(closure=None): updates every parameter that has a .grad (in place, without recording autograd). closure, if given, is called first with autograd on and its result returned (it should recompute the loss).", (*Optimizer).mStep},
	{"zero_grad", "opt.zero_grad(set_to_none=False): sets the .grad of every parameter to zero (PyTorch 1.13's default), or to None with set_to_none=True (then step() skips the parameter until it gets a gradient again).", (*Optimizer).mZeroGrad},
	{"grads_finite", "opt.grads_finite(): True when the .grad of every parameter that has one is finite (no NaN or inf): the check torch.cuda.amp.GradScaler makes before it lets step() run. The training loop skips a step when it is False (nonfinite=\"skip\", as the reference's GradScaler).", (*Optimizer).mGradsFinite},
	{"add_param_group", "opt.add_param_group(group): adds a parameter-group dict {\"params\": [...], \"lr\": ...}; missing hyperparameters take the optimizer's defaults. A tensor may be in one group only.", (*Optimizer).mAddParamGroup},
	{"state_dict", "opt.state_dict(): PyTorch's layout, {\"state\": {0: {\"step\": tensor(3.), \"exp_avg\": ..., ...}, ...}, \"param_groups\": [{\"lr\": ..., ..., \"params\": [0, 1, ...]}]}; parameters are numbered across groups in order. The tensors are the live state (as in PyTorch): save them before stepping again, or clone them.", (*Optimizer).mStateDict},
	{"load_state_dict", "opt.load_state_dict(state_dict): restores what state_dict() returned (also from PyTorch) onto this optimizer's parameters, matched by position: the number of groups and of parameters per group must agree, and state tensors must have their parameter's shape. Hyperparameters (lr, ...) come from the state dict; state is copied and cast to each parameter's dtype and device.", (*Optimizer).mLoadStateDict},
}

func (o *Optimizer) Attr(name string) (starlark.Value, error) {
	switch name {
	case "param_groups":
		return o.groups, nil
	case "defaults":
		d := starlark.NewDict(o.defaults.Len())
		for _, kv := range o.defaults.Items() {
			d.SetKey(kv[0], kv[1])
		}
		return d, nil
	}
	for _, m := range optimizerMethods {
		if m.name == name {
			m := m
			qual := "optim." + o.alg.name + "." + m.name
			return starlark.NewBuiltin(qual, lang.Safe(func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
				return m.fn(b.Receiver().(*Optimizer), qual, thread, args, kwargs)
			})).BindReceiver(o), nil
		}
	}
	return nil, nil
}

func (o *Optimizer) AttrNames() []string {
	names := []string{"param_groups", "defaults"}
	for _, m := range optimizerMethods {
		names = append(names, m.name)
	}
	sort.Strings(names)
	return names
}

// ---------------------------------------------------------------- construction

func (a *algorithm) constructor() *starlark.Builtin {
	return lang.Func("optim."+a.name, a.doc, func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var params starlark.Value
		vals := make([]starlark.Value, len(a.hypers))
		pairs := []any{"params", &params}
		for i, hp := range a.hypers {
			pairs = append(pairs, hp.name+"?", &vals[i])
		}
		if err := starlark.UnpackArgs(b.Name(), args, kwargs, pairs...); err != nil {
			return nil, err
		}
		defaults := starlark.NewDict(len(a.hypers))
		for i, hp := range a.hypers {
			v := vals[i]
			if v == nil {
				v = hp.def
			}
			if v != nil {
				defaults.SetKey(starlark.String(hp.name), v)
			}
		}
		if _, err := a.parse(dictGetter(defaults), true); err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name(), err)
		}
		o := &Optimizer{alg: a, defaults: defaults, groups: starlark.NewList(nil), state: map[unsafe.Pointer]*paramState{}}
		if err := o.addParams(b.Name(), params); err != nil {
			return nil, err
		}
		return o, nil
	})
}

func dictGetter(d *starlark.Dict) func(string) (starlark.Value, bool) {
	return func(k string) (starlark.Value, bool) {
		v, ok, _ := d.Get(starlark.String(k))
		return v, ok
	}
}

// addParams reads the constructor's params: tensors, or group dicts.
func (o *Optimizer) addParams(fn string, params starlark.Value) error {
	if _, ok := params.(*torch.Tensor); ok {
		return fmt.Errorf("%s: params must be a list of tensors or of parameter-group dicts, got a single Tensor; wrap it in a list: [t]", fn)
	}
	elems, err := iterate(fn, "params", params)
	if err != nil {
		return err
	}
	if len(elems) == 0 {
		return fmt.Errorf("%s: got an empty parameter list", fn)
	}
	if _, isGroup := elems[0].(*starlark.Dict); !isGroup {
		for i, e := range elems {
			if _, ok := e.(*starlark.Dict); ok {
				return fmt.Errorf("%s: params[%d] is a dict, but params[0] is a %s: pass either tensors or parameter-group dicts", fn, i, elems[0].Type())
			}
		}
		g := starlark.NewDict(1)
		g.SetKey(starlark.String("params"), starlark.NewList(elems))
		return o.addGroup(fn, g, true)
	}
	for i, e := range elems {
		g, ok := e.(*starlark.Dict)
		if !ok {
			return fmt.Errorf("%s: params[%d] is a %s, but params[0] is a parameter-group dict: pass either tensors or parameter-group dicts", fn, i, e.Type())
		}
		if err := o.addGroup(fn, g, false); err != nil {
			return err
		}
	}
	return nil
}

// addGroup validates a group dict and appends a copy completed with the
// defaults. plain says the group came from a plain list of tensors, which
// changes only how errors name a parameter.
func (o *Optimizer) addGroup(fn string, src *starlark.Dict, plain bool) error {
	gi := o.groups.Len()
	where := fmt.Sprintf("param_groups[%d]", gi)
	label := func(j int) string {
		if plain {
			return fmt.Sprintf("params[%d]", j)
		}
		return fmt.Sprintf("%s[\"params\"][%d]", where, j)
	}
	pv, ok, _ := src.Get(starlark.String("params"))
	if !ok {
		return fmt.Errorf("%s: %s has no \"params\" key; a parameter group is a dict such as {\"params\": [w, b], \"lr\": 1e-3}", fn, where)
	}
	var elems []starlark.Value
	if t, ok := pv.(*torch.Tensor); ok {
		elems = []starlark.Value{t}
	} else {
		var err error
		if elems, err = iterate(fn, where+"[\"params\"]", pv); err != nil {
			return err
		}
	}
	seen := map[unsafe.Pointer]string{}
	for i := 0; i < gi; i++ {
		ps, err := groupParams(o.groups.Index(i))
		if err != nil {
			return fmt.Errorf("%s: param_groups[%d]: %w", fn, i, err)
		}
		for j, p := range ps {
			seen[p.ATen().Handle()] = fmt.Sprintf("param_groups[%d][\"params\"][%d]", i, j)
		}
	}
	for j, e := range elems {
		t, ok := e.(*torch.Tensor)
		if !ok {
			return fmt.Errorf("%s: %s is a %s, not a Tensor; optimizers update tensors", fn, label(j), e.Type())
		}
		if !t.ATen().IsLeaf() {
			return fmt.Errorf("%s: can't optimize a non-leaf Tensor: %s was computed by %s; pass the leaf tensor it was computed from, or t.detach().requires_grad_()", fn, label(j), t.ATen().GradFnName())
		}
		h := t.ATen().Handle()
		if prev, dup := seen[h]; dup {
			return fmt.Errorf("%s: %s is the same tensor as %s; a parameter may appear only once, in one parameter group", fn, label(j), prev)
		}
		seen[h] = label(j)
	}
	g := starlark.NewDict(src.Len() + len(o.alg.hypers))
	g.SetKey(starlark.String("params"), starlark.NewList(elems))
	for _, kv := range src.Items() {
		k, ok := kv[0].(starlark.String)
		if !ok {
			return fmt.Errorf("%s: %s has a %s key; group keys are strings", fn, where, kv[0].Type())
		}
		if k != "params" {
			g.SetKey(k, kv[1])
		}
	}
	for _, kv := range o.defaults.Items() {
		if _, ok, _ := g.Get(kv[0]); !ok {
			g.SetKey(kv[0], kv[1])
		}
	}
	if _, err := o.alg.parse(dictGetter(g), false); err != nil {
		if plain {
			return fmt.Errorf("%s: %w", fn, err)
		}
		return fmt.Errorf("%s: %s: %w", fn, where, err)
	}
	return o.groups.Append(g)
}

// groupParams reads a group's "params" list.
func groupParams(v starlark.Value) ([]*torch.Tensor, error) {
	g, ok := v.(*starlark.Dict)
	if !ok {
		return nil, fmt.Errorf("a parameter group must be a dict, got %s", v.Type())
	}
	pv, ok, _ := g.Get(starlark.String("params"))
	if !ok {
		return nil, fmt.Errorf("the group has no \"params\"")
	}
	seq, ok := pv.(starlark.Indexable)
	if !ok {
		return nil, fmt.Errorf("\"params\" must be a list of tensors, got %s", pv.Type())
	}
	out := make([]*torch.Tensor, seq.Len())
	for i := range out {
		t, ok := seq.Index(i).(*torch.Tensor)
		if !ok {
			return nil, fmt.Errorf("\"params\"[%d] is a %s, not a Tensor", i, seq.Index(i).Type())
		}
		out[i] = t
	}
	return out, nil
}

// group is one parameter group read for a step.
type group struct {
	h      *hyper
	params []*torch.Tensor
}

func (o *Optimizer) readGroups(fn string) ([]group, error) {
	out := make([]group, o.groups.Len())
	for i := range out {
		v := o.groups.Index(i)
		ps, err := groupParams(v)
		if err != nil {
			return nil, fmt.Errorf("%s: param_groups[%d]: %w", fn, i, err)
		}
		h, err := o.alg.parse(dictGetter(v.(*starlark.Dict)), false)
		if err != nil {
			return nil, fmt.Errorf("%s: param_groups[%d]: %w", fn, i, err)
		}
		out[i] = group{h, ps}
	}
	return out, nil
}

// ---------------------------------------------------------------- methods

func (o *Optimizer) mStep(fn string, thread *starlark.Thread, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var closure starlark.Value = starlark.None
	if err := starlark.UnpackArgs(fn, args, kwargs, "closure?", &closure); err != nil {
		return nil, err
	}
	var loss starlark.Value = starlark.None
	if closure != starlark.None {
		c, ok := closure.(starlark.Callable)
		if !ok {
			return nil, fmt.Errorf("%s: closure must be a function, got %s", fn, closure.Type())
		}
		// PyTorch runs the closure under torch.enable_grad().
		runtime.LockOSThread()
		prev := aten.GradEnabled()
		aten.SetGradEnabled(true)
		var err error
		loss, err = starlark.Call(thread, c, nil, nil)
		aten.SetGradEnabled(prev)
		runtime.UnlockOSThread()
		if err != nil {
			return nil, err
		}
	}
	groups, err := o.readGroups(fn)
	if err != nil {
		return nil, err
	}
	err = aten.NoGrad(func() error {
		id := 0
		for gi, g := range groups {
			items := make([]item, 0, len(g.params))
			where := make([]string, 0, len(g.params))
			for pi, p := range g.params {
				id++
				grad, ok, err := p.ATen().Grad()
				if err != nil {
					return err
				}
				if !ok {
					continue
				}
				h := p.ATen().Handle()
				st := o.state[h]
				if st == nil {
					st = newParamState()
					o.state[h] = st
				}
				items = append(items, item{p: p.ATen(), grad: grad, st: st, index: len(where)})
				where = append(where, fmt.Sprintf("parameter %d (param_groups[%d][\"params\"][%d], shape %s)", id-1, gi, pi, shapeString(p.ATen().Shape())))
			}
			if len(items) == 0 {
				continue
			}
			if err := o.alg.update(g.h, items); err != nil {
				var pe *paramError
				if errors.As(err, &pe) {
					return fmt.Errorf("%s: %s: %w", fn, where[pe.index], pe.err)
				}
				return fmt.Errorf("%s: param_groups[%d]: %w", fn, gi, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return loss, nil
}

func (o *Optimizer) mGradsFinite(fn string, thread *starlark.Thread, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(fn, args, kwargs); err != nil {
		return nil, err
	}
	groups, err := o.paramsOnly(fn)
	if err != nil {
		return nil, err
	}
	finite := true
	err = aten.NoGrad(func() error {
		for _, ps := range groups {
			for _, p := range ps {
				g, ok, err := p.ATen().Grad()
				if err != nil || !ok {
					continue
				}
				// One sum per gradient: a NaN or inf anywhere makes it non-finite
				// (finite values large enough to overflow the sum are far beyond
				// what GradScaler's scaled fp16 gradients allow either).
				s, err := aten.Run("sum", aten.T(g))
				if err != nil {
					return err
				}
				v, err := s.Float64s()
				s.Free()
				if err != nil {
					return err
				}
				if len(v) == 1 && (math.IsNaN(v[0]) || math.IsInf(v[0], 0)) {
					finite = false
					return nil
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn, err)
	}
	return starlark.Bool(finite), nil
}

func (o *Optimizer) mZeroGrad(fn string, thread *starlark.Thread, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	setToNone := false
	if err := starlark.UnpackArgs(fn, args, kwargs, "set_to_none?", &setToNone); err != nil {
		return nil, err
	}
	groups, err := o.paramsOnly(fn)
	if err != nil {
		return nil, err
	}
	err = aten.NoGrad(func() error {
		for _, ps := range groups {
			for _, p := range ps {
				g, ok, err := p.ATen().Grad()
				if err != nil || !ok {
					continue
				}
				if setToNone {
					if err := p.ATen().SetGrad(aten.Tensor{}); err != nil {
						return err
					}
					continue
				}
				if g.GradFnName() != "" {
					if err := inplace("detach_", aten.T(g)); err != nil {
						return err
					}
				} else if g.RequiresGrad() {
					if err := g.SetRequiresGrad(false); err != nil {
						return err
					}
				}
				if err := inplace("zero_", aten.T(g)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn, err)
	}
	return starlark.None, nil
}

func (o *Optimizer) paramsOnly(fn string) ([][]*torch.Tensor, error) {
	out := make([][]*torch.Tensor, o.groups.Len())
	for i := range out {
		ps, err := groupParams(o.groups.Index(i))
		if err != nil {
			return nil, fmt.Errorf("%s: param_groups[%d]: %w", fn, i, err)
		}
		out[i] = ps
	}
	return out, nil
}

func (o *Optimizer) mAddParamGroup(fn string, thread *starlark.Thread, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var g starlark.Value
	if err := starlark.UnpackArgs(fn, args, kwargs, "param_group", &g); err != nil {
		return nil, err
	}
	d, ok := g.(*starlark.Dict)
	if !ok {
		return nil, fmt.Errorf("%s: param_group must be a dict such as {\"params\": [w, b], \"lr\": 1e-3}, got %s", fn, g.Type())
	}
	return starlark.None, o.addGroup(fn, d, false)
}

func (o *Optimizer) mStateDict(fn string, thread *starlark.Thread, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(fn, args, kwargs); err != nil {
		return nil, err
	}
	groups, err := o.paramsOnly(fn)
	if err != nil {
		return nil, err
	}
	packed := make([]starlark.Value, len(groups))
	state := starlark.NewDict(len(o.state))
	id := 0
	for gi, ps := range groups {
		src := o.groups.Index(gi).(*starlark.Dict)
		d := starlark.NewDict(src.Len())
		for _, kv := range src.Items() {
			if kv[0] != starlark.String("params") {
				d.SetKey(kv[0], kv[1])
			}
		}
		ids := make([]starlark.Value, len(ps))
		for j, p := range ps {
			ids[j] = starlark.MakeInt(id)
			if st := o.state[p.ATen().Handle()]; st != nil && !st.empty() {
				sd := starlark.NewDict(len(st.keys))
				for _, k := range st.keys {
					var v starlark.Value = starlark.None
					if t := st.vals[k]; t.Defined() {
						v = torch.New(t)
					}
					sd.SetKey(starlark.String(k), v)
				}
				state.SetKey(starlark.MakeInt(id), sd)
			}
			id++
		}
		d.SetKey(starlark.String("params"), starlark.NewList(ids))
		packed[gi] = d
	}
	out := starlark.NewDict(2)
	out.SetKey(starlark.String("state"), state)
	out.SetKey(starlark.String("param_groups"), starlark.NewList(packed))
	return out, nil
}

func (o *Optimizer) mLoadStateDict(fn string, thread *starlark.Thread, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var sdv starlark.Value
	if err := starlark.UnpackArgs(fn, args, kwargs, "state_dict", &sdv); err != nil {
		return nil, err
	}
	groups, state, err := o.checkStateDict(sdv)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn, err)
	}
	o.groups = starlark.NewList(groups)
	o.state = state
	return starlark.None, nil
}

// checkStateDict validates a state dict against this optimizer and returns
// the new groups and state, without changing anything yet.
func (o *Optimizer) checkStateDict(sdv starlark.Value) ([]starlark.Value, map[unsafe.Pointer]*paramState, error) {
	sd, ok := sdv.(starlark.Mapping)
	if !ok {
		return nil, nil, fmt.Errorf("state_dict must be a dict with \"state\" and \"param_groups\" (what state_dict() returns), got %s", sdv.Type())
	}
	sv, found, _ := sd.Get(starlark.String("state"))
	gv, found2, _ := sd.Get(starlark.String("param_groups"))
	if !found || !found2 {
		return nil, nil, fmt.Errorf("state_dict must have the keys \"state\" and \"param_groups\" (what an optimizer's state_dict() returns)")
	}
	savedGroups, ok := gv.(starlark.Indexable)
	if !ok {
		return nil, nil, fmt.Errorf("state_dict[\"param_groups\"] must be a list of dicts, got %s", gv.Type())
	}
	if savedGroups.Len() != o.groups.Len() {
		return nil, nil, fmt.Errorf("the state dict has %d parameter groups, this optimizer has %d", savedGroups.Len(), o.groups.Len())
	}
	type target struct {
		p      *torch.Tensor
		h      *hyper
		gi, pi int
	}
	byID := map[int]target{}
	newGroups := make([]starlark.Value, savedGroups.Len())
	for gi := range newGroups {
		cur := o.groups.Index(gi).(*starlark.Dict)
		ps, err := groupParams(cur)
		if err != nil {
			return nil, nil, fmt.Errorf("param_groups[%d]: %w", gi, err)
		}
		saved, ok := savedGroups.Index(gi).(*starlark.Dict)
		if !ok {
			return nil, nil, fmt.Errorf("state_dict[\"param_groups\"][%d] must be a dict, got %s", gi, savedGroups.Index(gi).Type())
		}
		idsV, ok, _ := saved.Get(starlark.String("params"))
		if !ok {
			return nil, nil, fmt.Errorf("state_dict[\"param_groups\"][%d] has no \"params\"", gi)
		}
		ids, ok := idsV.(starlark.Indexable)
		if !ok {
			return nil, nil, fmt.Errorf("state_dict[\"param_groups\"][%d][\"params\"] must be a list of ints, got %s", gi, idsV.Type())
		}
		if ids.Len() != len(ps) {
			return nil, nil, fmt.Errorf("parameter group %d has %d parameters in the state dict but %d in this optimizer", gi, ids.Len(), len(ps))
		}
		g := starlark.NewDict(saved.Len())
		for _, kv := range saved.Items() {
			if kv[0] == starlark.String("params") {
				continue
			}
			g.SetKey(kv[0], kv[1])
		}
		curParams, _, _ := cur.Get(starlark.String("params"))
		g.SetKey(starlark.String("params"), curParams)
		h, err := o.alg.parse(dictGetter(g), false)
		if err != nil {
			return nil, nil, fmt.Errorf("state_dict[\"param_groups\"][%d]: %w", gi, err)
		}
		newGroups[gi] = g
		for j := range ps {
			id, ok := intValue(ids.Index(j))
			if !ok {
				return nil, nil, fmt.Errorf("state_dict[\"param_groups\"][%d][\"params\"][%d] must be an int, got %s", gi, j, ids.Index(j).Type())
			}
			byID[id] = target{ps[j], h, gi, j}
		}
	}
	stateMap, ok := sv.(starlark.IterableMapping)
	if !ok {
		return nil, nil, fmt.Errorf("state_dict[\"state\"] must be a dict, got %s", sv.Type())
	}
	newState := map[unsafe.Pointer]*paramState{}
	for _, kv := range stateMap.Items() {
		id, ok := intValue(kv[0])
		if !ok {
			return nil, nil, fmt.Errorf("state_dict[\"state\"] keys must be parameter ids (ints), got %s", kv[0])
		}
		t, ok := byID[id]
		if !ok {
			return nil, nil, fmt.Errorf("state_dict[\"state\"] has an entry for parameter %d, which no parameter group lists", id)
		}
		st, err := o.loadParamState(t.p, t.h, kv[1])
		if err != nil {
			return nil, nil, fmt.Errorf("state_dict[\"state\"][%d] (for param_groups[%d][\"params\"][%d], shape %s): %w", id, t.gi, t.pi, shapeString(t.p.ATen().Shape()), err)
		}
		if !st.empty() {
			newState[t.p.ATen().Handle()] = st
		}
	}
	return newGroups, newState, nil
}

// loadParamState copies one parameter's saved state, casting floating
// tensors to the parameter's dtype and device as PyTorch does ("step"
// excepted).
func (o *Optimizer) loadParamState(p *torch.Tensor, h *hyper, v starlark.Value) (*paramState, error) {
	m, ok := v.(starlark.IterableMapping)
	if !ok {
		return nil, fmt.Errorf("must be a dict of state tensors, got %s", v.Type())
	}
	st := newParamState()
	pt := p.ATen()
	for _, kv := range m.Items() {
		k, ok := kv[0].(starlark.String)
		known := false
		for _, sk := range o.alg.stateKeys {
			known = known || (ok && string(k) == sk)
		}
		if !known {
			return nil, fmt.Errorf("unknown key %s: %s keeps %s (is this the state of another optimizer?)", kv[0], o.alg.name, strings.Join(o.alg.stateKeys, ", "))
		}
		switch x := kv[1].(type) {
		case starlark.NoneType:
			if k != "momentum_buffer" {
				return nil, fmt.Errorf("%q is None; it must be a tensor", string(k))
			}
			st.set(string(k), aten.Tensor{})
		case *torch.Tensor:
			t := x.ATen()
			var err error
			if k == "step" {
				if t.Numel() != 1 {
					return nil, fmt.Errorf("\"step\" must hold one number, has shape %s", shapeString(t.Shape()))
				}
				t, err = t.To(-1, "", true)
			} else {
				if !slices.Equal(t.Shape(), pt.Shape()) {
					return nil, fmt.Errorf("%q has shape %s, but the parameter has shape %s (is this the state of another model?)", string(k), shapeString(t.Shape()), shapeString(pt.Shape()))
				}
				dt := aten.DType(-1)
				if pt.DType().IsFloating() {
					dt = pt.DType()
				}
				t, err = t.To(dt, pt.Device(), true)
			}
			if err != nil {
				return nil, fmt.Errorf("%q: %w", string(k), err)
			}
			st.set(string(k), t)
		default:
			f, isNum := floatValue(kv[1])
			if k != "step" || !isNum {
				return nil, fmt.Errorf("%q is a %s; it must be a tensor", string(k), kv[1].Type())
			}
			// Older PyTorch saved the step as a number; 1.13 converts it.
			t, err := aten.FromFloat32s([]float32{float32(f)})
			if err != nil {
				return nil, err
			}
			st.set("step", t)
		}
	}
	if st.empty() {
		return st, nil
	}
	if o.alg.name != "SGD" {
		for _, k := range []string{"step", "exp_avg", "exp_avg_sq"} {
			if _, ok := st.get(k); !ok {
				return nil, fmt.Errorf("has no %q", k)
			}
		}
		if _, ok := st.get("max_exp_avg_sq"); h.amsgrad && !ok {
			return nil, fmt.Errorf("has no \"max_exp_avg_sq\", which amsgrad=True needs")
		}
	}
	return st, nil
}

// optimizerOf is for the schedulers.
func optimizerOf(v starlark.Value) (*Optimizer, bool) {
	o, ok := v.(*Optimizer)
	return o, ok
}

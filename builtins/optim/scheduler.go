package optim

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/builtins/torch"
	"github.com/dadash/dadash/lang"
)

// Scheduler is the value of the optim.lr_scheduler constructors. It keeps
// PyTorch's _LRScheduler fields and computes learning rates with PyTorch's
// chainable (recursive) formulas from the groups' current lr, so a script
// that steps it like a PyTorch script gets the same floats.
type Scheduler struct {
	kind *schedKind
	opt  *Optimizer

	// the kind's own settings, in the order PyTorch's state_dict lists them
	settings []setting

	baseLRs   []starlark.Value
	lastEpoch int
	stepCount int
	lastLR    []starlark.Value
	verbose   bool
}

type setting struct {
	name string
	v    starlark.Value
}

func (s *Scheduler) setting(name string) starlark.Value {
	for _, st := range s.settings {
		if st.name == name {
			return st.v
		}
	}
	return starlark.None
}

func (s *Scheduler) num(name string) float64 {
	f, _ := floatValue(s.setting(name))
	return f
}

func (s *Scheduler) integer(name string) int {
	i, _ := intValue(s.setting(name))
	return i
}

// schedKind describes one scheduler class.
type schedKind struct {
	name string
	doc  string
	// params are the constructor keywords after optimizer, with defaults
	// (nil: required).
	params []hyperParam
	check  func(s *Scheduler) error
	// chainable is get_lr: the new lr of a group from its current one.
	chainable func(s *Scheduler, i int, lr float64, base float64) (float64, bool)
	// closed is _get_closed_form_lr, used by step(epoch).
	closed func(s *Scheduler, base float64) float64
}

var schedKinds = []*schedKind{
	{
		name:   "StepLR",
		doc:    docStepLR,
		params: []hyperParam{{"step_size", hyperNumber, nil}, {"gamma", hyperNumber, starlark.Float(0.1)}},
		check: func(s *Scheduler) error {
			if n, ok := intValue(s.setting("step_size")); !ok || n <= 0 {
				return fmt.Errorf("step_size must be a positive int, got %s", s.setting("step_size"))
			}
			return checkNumber(s, "gamma")
		},
		chainable: func(s *Scheduler, i int, lr, base float64) (float64, bool) {
			if s.lastEpoch == 0 || s.lastEpoch%s.integer("step_size") != 0 {
				return lr, false
			}
			return lr * s.num("gamma"), true
		},
		closed: func(s *Scheduler, base float64) float64 {
			return base * cpow(s.num("gamma"), float64(floorDiv(s.lastEpoch, s.integer("step_size"))))
		},
	},
	{
		name:   "MultiStepLR",
		doc:    docMultiStepLR,
		params: []hyperParam{{"milestones", hyperNumber, nil}, {"gamma", hyperNumber, starlark.Float(0.1)}},
		check: func(s *Scheduler) error {
			m, err := milestoneCounts(s.setting("milestones"))
			if err != nil {
				return err
			}
			// Stored as PyTorch's Counter: milestone -> how often it was given.
			for i := range s.settings {
				if s.settings[i].name == "milestones" {
					s.settings[i].v = m
				}
			}
			return checkNumber(s, "gamma")
		},
		chainable: func(s *Scheduler, i int, lr, base float64) (float64, bool) {
			n := s.milestoneCount(s.lastEpoch)
			if n == 0 {
				return lr, false
			}
			return lr * cpow(s.num("gamma"), float64(n)), true
		},
		closed: func(s *Scheduler, base float64) float64 {
			passed := 0 // bisect_right over the sorted milestones, with repeats
			for _, kv := range s.setting("milestones").(*starlark.Dict).Items() {
				m, _ := intValue(kv[0])
				c, _ := intValue(kv[1])
				if m <= s.lastEpoch {
					passed += c
				}
			}
			return base * cpow(s.num("gamma"), float64(passed))
		},
	},
	{
		name: "LinearLR",
		doc:  docLinearLR,
		params: []hyperParam{
			{"start_factor", hyperNumber, starlark.Float(1.0 / 3)},
			{"end_factor", hyperNumber, starlark.Float(1.0)},
			{"total_iters", hyperNumber, starlark.MakeInt(5)},
		},
		check: func(s *Scheduler) error {
			sf, ok1 := floatValue(s.setting("start_factor"))
			ef, ok2 := floatValue(s.setting("end_factor"))
			if !ok1 || !(sf > 0 && sf <= 1) {
				return fmt.Errorf("start_factor must be a number in (0, 1], got %s", s.setting("start_factor"))
			}
			if !ok2 || !(ef >= 0 && ef <= 1) {
				return fmt.Errorf("end_factor must be a number in [0, 1], got %s", s.setting("end_factor"))
			}
			if n, ok := intValue(s.setting("total_iters")); !ok || n <= 0 {
				return fmt.Errorf("total_iters must be a positive int, got %s", s.setting("total_iters"))
			}
			return nil
		},
		chainable: func(s *Scheduler, i int, lr, base float64) (float64, bool) {
			sf, ef, n := s.num("start_factor"), s.num("end_factor"), s.integer("total_iters")
			if s.lastEpoch == 0 {
				return lr * sf, true
			}
			if s.lastEpoch > n {
				return lr, false
			}
			// Conversions keep Go from fusing the products into FMAs,
			// which Python does not do.
			d := ef - sf
			denom := float64(float64(n)*sf) + float64(float64(s.lastEpoch-1)*d)
			return lr * (1 + d/denom), true
		},
		closed: func(s *Scheduler, base float64) float64 {
			sf, ef, n := s.num("start_factor"), s.num("end_factor"), s.integer("total_iters")
			return base * (sf + float64((ef-sf)*float64(min(n, s.lastEpoch)))/float64(n))
		},
	},
	{
		name:   "CosineAnnealingLR",
		doc:    docCosine,
		params: []hyperParam{{"T_max", hyperNumber, nil}, {"eta_min", hyperNumber, starlark.MakeInt(0)}},
		check: func(s *Scheduler) error {
			if n, ok := intValue(s.setting("T_max")); !ok || n <= 0 {
				return fmt.Errorf("T_max must be a positive int, got %s", s.setting("T_max"))
			}
			return checkNumber(s, "eta_min")
		},
		chainable: func(s *Scheduler, i int, lr, base float64) (float64, bool) {
			tMax, eta, e := s.integer("T_max"), s.num("eta_min"), s.lastEpoch
			switch {
			case e == 0:
				return lr, false
			case s.stepCount == 1 && e > 0:
				return eta + float64((base-eta)*(1+ccos(float64(float64(e)*math.Pi)/float64(tMax))))/2, true
			case floorMod(e-1-tMax, 2*tMax) == 0:
				return lr + float64((base-eta)*(1-ccos(math.Pi/float64(tMax))))/2, true
			}
			num := 1 + ccos(float64(math.Pi*float64(e))/float64(tMax))
			den := 1 + ccos(float64(math.Pi*float64(e-1))/float64(tMax))
			return float64(num/den*(lr-eta)) + eta, true
		},
		closed: func(s *Scheduler, base float64) float64 {
			tMax, eta, e := s.integer("T_max"), s.num("eta_min"), s.lastEpoch
			return eta + float64((base-eta)*(1+ccos(float64(math.Pi*float64(e))/float64(tMax))))/2
		},
	},
}

const docStepLR = `optim.lr_scheduler.StepLR(optimizer, step_size, gamma=0.1, last_epoch=-1, verbose=False)

Multiplies every group's lr by gamma every step_size epochs (call sched.step() once per epoch,
after opt.step()): lr = initial_lr * gamma ** (epoch // step_size).`

const docMultiStepLR = `optim.lr_scheduler.MultiStepLR(optimizer, milestones, gamma=0.1, last_epoch=-1, verbose=False)

Multiplies every group's lr by gamma when the epoch count reaches each milestone
(a list of ints, e.g. [20, 45, 70]; a milestone given twice multiplies by gamma ** 2).`

const docLinearLR = `optim.lr_scheduler.LinearLR(optimizer, start_factor=1/3, end_factor=1.0, total_iters=5, last_epoch=-1, verbose=False)

Scales every group's lr by a factor that goes linearly from start_factor to end_factor
over total_iters epochs, then stays: lr = initial_lr * (start_factor + (end_factor -
start_factor) * min(epoch, total_iters) / total_iters).`

const docCosine = `optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max, eta_min=0, last_epoch=-1, verbose=False)

Cosine annealing from each group's initial lr down to eta_min over T_max epochs (and back up
over the next T_max, as PyTorch's recursive form does):
lr = eta_min + (initial_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2.`

const docSchedulers = `optim.lr_scheduler: learning-rate schedulers (PyTorch 1.13's torch.optim.lr_scheduler).

StepLR, MultiStepLR, LinearLR, CosineAnnealingLR. Each takes the optimizer, records
"initial_lr" in its parameter groups, and on construction performs the initial step
(last_epoch becomes 0). Call sched.step() once per epoch after opt.step(); the new lrs are
written into opt.param_groups. Methods: step(), get_last_lr(), state_dict(),
load_state_dict(sd); attributes last_epoch, base_lrs, optimizer.
Learning rates follow PyTorch's chainable formulas (each step from the groups' current lr),
so they equal PyTorch's floats for the same sequence of steps.`

var schedulerMethods = []struct {
	name, doc string
	fn        func(s *Scheduler, fn string, thread *starlark.Thread, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error)
}{
	{"step", "sched.step(epoch=None): advances one epoch and writes the new learning rates into the optimizer's param_groups. With epoch (deprecated in PyTorch), jumps to that epoch using the closed-form schedule.", (*Scheduler).mStep},
	{"get_last_lr", "sched.get_last_lr(): the learning rates of the groups after the last step, as a list.", (*Scheduler).mGetLastLR},
	{"state_dict", "sched.state_dict(): the scheduler's fields as a dict (PyTorch's layout: its settings, base_lrs, last_epoch, _step_count, _last_lr, ...); the optimizer is not included.", (*Scheduler).mStateDict},
	{"load_state_dict", "sched.load_state_dict(state_dict): restores the fields from state_dict(); unknown keys are an error.", (*Scheduler).mLoadStateDict},
}

func schedulerModule() *torch.Namespace {
	members := starlark.StringDict{}
	for _, k := range schedKinds {
		members[k.name] = k.constructor()
		lang.SetDoc(k.name, k.doc)
		for _, m := range schedulerMethods {
			lang.SetDoc(k.name+"."+m.name, m.doc)
		}
	}
	lang.SetDoc("optim.lr_scheduler", docSchedulers)
	return torch.NewNamespace("optim.lr_scheduler", "-", docSchedulers, members)
}

func checkNumber(s *Scheduler, name string) error {
	if _, ok := floatValue(s.setting(name)); !ok {
		return fmt.Errorf("%s must be a number, got %s", name, s.setting(name).Type())
	}
	return nil
}

// milestoneCounts turns a list of ints into PyTorch's Counter, as a dict.
func milestoneCounts(v starlark.Value) (*starlark.Dict, error) {
	if d, ok := v.(*starlark.Dict); ok { // already a Counter (from a state dict)
		for _, kv := range d.Items() {
			_, ok1 := intValue(kv[0])
			_, ok2 := intValue(kv[1])
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("milestones must map int epochs to int counts, got %s", d)
			}
		}
		return d, nil
	}
	seq, ok := v.(starlark.Indexable)
	if !ok {
		return nil, fmt.Errorf("milestones must be a list of ints such as [20, 45, 70], got %s", v.Type())
	}
	d := starlark.NewDict(seq.Len())
	for i := 0; i < seq.Len(); i++ {
		m, ok := intValue(seq.Index(i))
		if !ok {
			return nil, fmt.Errorf("milestones must be a list of ints such as [20, 45, 70], got %s at position %d", seq.Index(i).Type(), i)
		}
		k := starlark.MakeInt(m)
		c, found, _ := d.Get(k)
		n := 0
		if found {
			n, _ = intValue(c)
		}
		d.SetKey(k, starlark.MakeInt(n+1))
	}
	return d, nil
}

func (s *Scheduler) milestoneCount(epoch int) int {
	d, ok := s.setting("milestones").(*starlark.Dict)
	if !ok {
		return 0
	}
	c, found, _ := d.Get(starlark.MakeInt(epoch))
	if !found {
		return 0
	}
	n, _ := intValue(c)
	return n
}

// floorDiv and floorMod are Python's // and % on ints.
func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func floorMod(a, b int) int { return a - floorDiv(a, b)*b }

func (k *schedKind) constructor() *starlark.Builtin {
	qual := "optim.lr_scheduler." + k.name
	return lang.Func(qual, k.doc, func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var optV starlark.Value
		vals := make([]starlark.Value, len(k.params))
		lastEpoch, verbose := -1, false
		pairs := []any{"optimizer", &optV}
		for i, p := range k.params {
			name := p.name
			if p.def != nil {
				name += "?"
			}
			pairs = append(pairs, name, &vals[i])
		}
		pairs = append(pairs, "last_epoch?", &lastEpoch, "verbose?", &verbose)
		if err := starlark.UnpackArgs(b.Name(), args, kwargs, pairs...); err != nil {
			return nil, err
		}
		opt, ok := optimizerOf(optV)
		if !ok {
			return nil, fmt.Errorf("%s: optimizer must be an optimizer from optim (SGD, Adam, AdamW), got %s", b.Name(), optV.Type())
		}
		s := &Scheduler{kind: k, opt: opt, lastEpoch: lastEpoch, verbose: verbose}
		for i, p := range k.params {
			v := vals[i]
			if v == nil {
				v = p.def
			}
			s.settings = append(s.settings, setting{p.name, v})
		}
		if err := k.check(s); err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name(), err)
		}
		for i := 0; i < opt.groups.Len(); i++ {
			g, ok := opt.groups.Index(i).(*starlark.Dict)
			if !ok {
				return nil, fmt.Errorf("%s: param_groups[%d] is a %s, not a dict", b.Name(), i, opt.groups.Index(i).Type())
			}
			init, found, _ := g.Get(starlark.String("initial_lr"))
			if lastEpoch == -1 {
				if !found {
					lr, ok, _ := g.Get(starlark.String("lr"))
					if !ok {
						return nil, fmt.Errorf("%s: param_groups[%d] has no \"lr\"", b.Name(), i)
					}
					if err := g.SetKey(starlark.String("initial_lr"), lr); err != nil {
						return nil, fmt.Errorf("%s: param_groups[%d]: %w", b.Name(), i, err)
					}
					init = lr
				}
			} else if !found {
				return nil, fmt.Errorf("%s: param 'initial_lr' is not specified in param_groups[%d] when resuming an optimizer (last_epoch=%d); create the scheduler with last_epoch=-1, or load the optimizer's state dict first", b.Name(), i, lastEpoch)
			}
			if _, ok := floatValue(init); !ok {
				return nil, fmt.Errorf("%s: param_groups[%d][\"initial_lr\"] must be a number, got %s", b.Name(), i, init.Type())
			}
			s.baseLRs = append(s.baseLRs, init)
		}
		// _initial_step: reset the counters and take the first step.
		s.stepCount = 0
		if err := s.step(thread, b.Name(), nil); err != nil {
			return nil, err
		}
		return s, nil
	})
}

// step is _LRScheduler.step.
func (s *Scheduler) step(thread *starlark.Thread, fn string, epoch *int) error {
	s.stepCount++
	groups := s.opt.groups
	n := min(groups.Len(), len(s.baseLRs))
	newLRs := make([]starlark.Value, n)
	if epoch == nil {
		s.lastEpoch++
	} else {
		s.lastEpoch = *epoch
	}
	for i := 0; i < n; i++ {
		g, ok := groups.Index(i).(*starlark.Dict)
		if !ok {
			return fmt.Errorf("%s: param_groups[%d] is a %s, not a dict", fn, i, groups.Index(i).Type())
		}
		cur, _, _ := g.Get(starlark.String("lr"))
		lr, ok := floatValue(cur)
		if !ok {
			return fmt.Errorf("%s: param_groups[%d][\"lr\"] must be a number, got %s", fn, i, typeOf(cur))
		}
		base, _ := floatValue(s.baseLRs[i])
		if epoch != nil {
			newLRs[i] = starlark.Float(s.kind.closed(s, base))
		} else if v, changed := s.kind.chainable(s, i, lr, base); changed {
			newLRs[i] = starlark.Float(v)
		} else {
			newLRs[i] = cur // unchanged: PyTorch keeps the very value
		}
	}
	for i, lr := range newLRs {
		g := groups.Index(i).(*starlark.Dict)
		if err := g.SetKey(starlark.String("lr"), lr); err != nil {
			return fmt.Errorf("%s: param_groups[%d]: %w", fn, i, err)
		}
		if s.verbose {
			f, _ := floatValue(lr)
			if epoch == nil {
				fmt.Fprintf(lang.Stdout(thread), "Adjusting learning rate of group %d to %.4e.\n", i, f)
			} else {
				fmt.Fprintf(lang.Stdout(thread), "Epoch %05d: adjusting learning rate of group %d to %.4e.\n", *epoch, i, f)
			}
		}
	}
	s.lastLR = s.lastLR[:0:0]
	for i := 0; i < groups.Len(); i++ {
		lr, _, _ := groups.Index(i).(*starlark.Dict).Get(starlark.String("lr"))
		s.lastLR = append(s.lastLR, lr)
	}
	return nil
}

func typeOf(v starlark.Value) string {
	if v == nil {
		return "nothing"
	}
	return v.Type()
}

// ---------------------------------------------------------------- value

var _ starlark.HasAttrs = (*Scheduler)(nil)

func (s *Scheduler) Type() string          { return s.kind.name }
func (s *Scheduler) Freeze()               {}
func (s *Scheduler) Truth() starlark.Bool  { return true }
func (s *Scheduler) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: %s", s.kind.name) }
func (s *Scheduler) Doc() string           { return s.kind.doc }

func (s *Scheduler) String() string {
	return fmt.Sprintf("<%s last_epoch=%d lr=%s>", s.kind.name, s.lastEpoch, starlark.NewList(s.lastLR))
}

func (s *Scheduler) Attr(name string) (starlark.Value, error) {
	switch name {
	case "last_epoch":
		return starlark.MakeInt(s.lastEpoch), nil
	case "base_lrs":
		return starlark.NewList(append([]starlark.Value(nil), s.baseLRs...)), nil
	case "optimizer":
		return s.opt, nil
	}
	for _, st := range s.settings {
		if st.name == name {
			return st.v, nil
		}
	}
	for _, m := range schedulerMethods {
		if m.name == name {
			m := m
			qual := "optim.lr_scheduler." + s.kind.name + "." + m.name
			return starlark.NewBuiltin(qual, lang.Safe(func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
				return m.fn(b.Receiver().(*Scheduler), qual, thread, args, kwargs)
			})).BindReceiver(s), nil
		}
	}
	return nil, nil
}

func (s *Scheduler) AttrNames() []string {
	names := []string{"last_epoch", "base_lrs", "optimizer"}
	for _, st := range s.settings {
		names = append(names, st.name)
	}
	for _, m := range schedulerMethods {
		names = append(names, m.name)
	}
	sort.Strings(names)
	return names
}

func (s *Scheduler) mStep(fn string, thread *starlark.Thread, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var epochV starlark.Value = starlark.None
	if err := starlark.UnpackArgs(fn, args, kwargs, "epoch?", &epochV); err != nil {
		return nil, err
	}
	var epoch *int
	if epochV != starlark.None {
		e, ok := intValue(epochV)
		if !ok {
			return nil, fmt.Errorf("%s: epoch must be an int, got %s", fn, epochV.Type())
		}
		epoch = &e
	}
	return starlark.None, s.step(thread, fn, epoch)
}

func (s *Scheduler) mGetLastLR(fn string, thread *starlark.Thread, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(fn, args, kwargs); err != nil {
		return nil, err
	}
	return starlark.NewList(append([]starlark.Value(nil), s.lastLR...)), nil
}

func (s *Scheduler) mStateDict(fn string, thread *starlark.Thread, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(fn, args, kwargs); err != nil {
		return nil, err
	}
	d := starlark.NewDict(len(s.settings) + 6)
	for _, st := range s.settings {
		v := st.v
		if m, ok := v.(*starlark.Dict); ok { // a copy, so the saved dict does not change under the scheduler
			c := starlark.NewDict(m.Len())
			for _, kv := range m.Items() {
				c.SetKey(kv[0], kv[1])
			}
			v = c
		}
		d.SetKey(starlark.String(st.name), v)
	}
	d.SetKey(starlark.String("base_lrs"), starlark.NewList(append([]starlark.Value(nil), s.baseLRs...)))
	d.SetKey(starlark.String("last_epoch"), starlark.MakeInt(s.lastEpoch))
	d.SetKey(starlark.String("verbose"), starlark.Bool(s.verbose))
	d.SetKey(starlark.String("_step_count"), starlark.MakeInt(s.stepCount))
	d.SetKey(starlark.String("_get_lr_called_within_step"), starlark.False)
	d.SetKey(starlark.String("_last_lr"), starlark.NewList(append([]starlark.Value(nil), s.lastLR...)))
	return d, nil
}

func (s *Scheduler) mLoadStateDict(fn string, thread *starlark.Thread, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var sdv starlark.Value
	if err := starlark.UnpackArgs(fn, args, kwargs, "state_dict", &sdv); err != nil {
		return nil, err
	}
	sd, ok := sdv.(starlark.IterableMapping)
	if !ok {
		return nil, fmt.Errorf("%s: state_dict must be a dict (what state_dict() returns), got %s", fn, sdv.Type())
	}
	// Work on a copy so that a bad entry leaves the scheduler as it was.
	c := *s
	c.settings = append([]setting(nil), s.settings...)
	numbers := func(k string, v starlark.Value) ([]starlark.Value, error) {
		seq, ok := v.(starlark.Indexable)
		if !ok {
			return nil, fmt.Errorf("%s: %q must be a list of numbers, got %s", fn, k, v.Type())
		}
		out := make([]starlark.Value, seq.Len())
		for i := range out {
			if _, ok := floatValue(seq.Index(i)); !ok {
				return nil, fmt.Errorf("%s: %q must be a list of numbers, got %s at position %d", fn, k, seq.Index(i).Type(), i)
			}
			out[i] = seq.Index(i)
		}
		return out, nil
	}
	for _, kv := range sd.Items() {
		k, _ := kv[0].(starlark.String)
		v := kv[1]
		var err error
		switch string(k) {
		case "base_lrs":
			c.baseLRs, err = numbers("base_lrs", v)
		case "_last_lr":
			c.lastLR, err = numbers("_last_lr", v)
		case "last_epoch", "_step_count":
			n, ok := intValue(v)
			if !ok {
				return nil, fmt.Errorf("%s: %q must be an int, got %s", fn, string(k), v.Type())
			}
			if k == "last_epoch" {
				c.lastEpoch = n
			} else {
				c.stepCount = n
			}
		case "verbose":
			b, ok := v.(starlark.Bool)
			if !ok {
				return nil, fmt.Errorf("%s: \"verbose\" must be a bool, got %s", fn, v.Type())
			}
			c.verbose = bool(b)
		case "_get_lr_called_within_step":
		default:
			found := false
			for i := range c.settings {
				if c.settings[i].name == string(k) {
					c.settings[i].v, found = v, true
				}
			}
			if !found {
				var known []string
				for _, st := range s.settings {
					known = append(known, st.name)
				}
				return nil, fmt.Errorf("%s: unknown key %s (a %s keeps %s, base_lrs, last_epoch, _step_count, _last_lr; is this the state of another scheduler?)", fn, kv[0], s.kind.name, strings.Join(known, ", "))
			}
		}
		if err != nil {
			return nil, err
		}
	}
	if err := c.kind.check(&c); err != nil {
		return nil, fmt.Errorf("%s: %w", fn, err)
	}
	*s = c
	return starlark.None, nil
}

package lang

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"go.starlark.net/starlark"
)

// BuiltinFunc is the function of a *starlark.Builtin.
type BuiltinFunc = func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error)

// PanicError is a Go panic inside a builtin, turned into an error while the
// thread still knows which script line called the builtin.
type PanicError struct {
	Func  string // the builtin, qualified ("torch.zeros", "Tensor.sum")
	Value any    // what was passed to panic
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("%s: internal error: %v (this is a bug in dadash; please report it with this message)", e.Func, e.Value)
}

// FuncError is an error of a builtin whose message did not name it; Error
// puts the name first, once.
type FuncError struct {
	Func string
	Err  error
}

func (e *FuncError) Error() string { return e.Func + ": " + e.Err.Error() }
func (e *FuncError) Unwrap() error { return e.Err }

// Safe wraps a builtin's function so that a Go panic inside it becomes a
// *PanicError, and an error whose message does not start with the
// builtin's name gets it (see Qualify). Func, Guard and Namespace use it;
// packages that make methods with starlark.NewBuiltin wrap their functions
// with it.
func Safe(fn BuiltinFunc) BuiltinFunc {
	return func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (v starlark.Value, err error) {
		defer func() {
			if r := recover(); r != nil {
				v, err = nil, &PanicError{Func: QualName(b), Value: r}
			}
		}()
		v, err = fn(thread, b, args, kwargs)
		if err != nil {
			err = Qualify(QualName(b), err)
		}
		return v, err
	}
}

// Recover turns a panic into a *PanicError in *err; values whose methods
// the interpreter calls directly (CallInternal of a callable value,
// operators) use it as `defer lang.Recover("Linear", &err)`.
func Recover(name string, err *error) {
	if r := recover(); r != nil {
		*err = &PanicError{Func: name, Value: r}
	}
}

// QualName is the name messages use for a builtin: methods are qualified by
// their receiver's type ("Tensor.sum") unless their name already is.
func QualName(b *starlark.Builtin) string {
	name := b.Name()
	if recv := b.Receiver(); recv != nil && !strings.Contains(name, ".") {
		return recv.Type() + "." + name
	}
	return name
}

// Qualify prefixes err's message with "name: " unless it already starts
// with the function's name, so that every builtin error reads
// "module.function: what went wrong" exactly once. Errors of script code
// called back by the builtin (a *starlark.EvalError) keep their own
// position and name.
func Qualify(name string, err error) error {
	if err == nil || name == "" {
		return err
	}
	var ev *starlark.EvalError
	if errors.As(err, &ev) || errors.Is(err, ErrInterrupted) {
		return err
	}
	if NamesFunc(err.Error(), name) {
		return err
	}
	return &FuncError{Func: name, Err: err}
}

// NamesFunc reports whether msg already starts with the function's name:
// "torch.zeros: ...", "zeros: ...", "Tensor.sum: ..." for a builtin named
// sum, or "Linear(in_features=3): ..." for Linear.
func NamesFunc(msg, name string) bool {
	i := strings.IndexAny(msg, ":(")
	if i <= 0 {
		return false
	}
	lead := msg[:i]
	if strings.ContainsAny(lead, " \n\t") {
		return false
	}
	last := name[strings.LastIndexByte(name, '.')+1:]
	return lead == name || lead == last || strings.HasSuffix(lead, "."+last) || strings.HasSuffix(name, "."+lead)
}

var (
	safeFns   sync.Map // *starlark.Builtin made by Func or Guard -> struct{}
	guardedBy sync.Map // unguarded *starlark.Builtin -> its guarded twin
)

// Guard returns b, or a builtin of the same name that calls b through
// Safe; the result is the same for the same b.
func Guard(b *starlark.Builtin) *starlark.Builtin {
	if _, ok := safeFns.Load(b); ok {
		return b
	}
	if g, ok := guardedBy.Load(b); ok {
		return g.(*starlark.Builtin)
	}
	inner := b
	g := starlark.NewBuiltin(b.Name(), func(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (v starlark.Value, err error) {
		defer func() {
			if r := recover(); r != nil {
				v, err = nil, &PanicError{Func: QualName(inner), Value: r}
			}
		}()
		v, err = inner.CallInternal(thread, args, kwargs)
		if err != nil {
			err = Qualify(QualName(inner), err)
		}
		return v, err
	})
	safeFns.Store(g, struct{}{})
	v, _ := guardedBy.LoadOrStore(b, g)
	return v.(*starlark.Builtin)
}

// IsSafe reports whether b was made by Func or Guard.
func IsSafe(b *starlark.Builtin) bool {
	_, ok := safeFns.Load(b)
	return ok
}

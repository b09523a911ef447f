package interp

import (
	"fmt"

	"github.com/dadash/dadash/lang"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// mirrored is the operator that gives the same answer with the operands
// swapped: x < y is y > x.
var mirrored = map[syntax.Token]syntax.Token{
	syntax.EQL: syntax.EQL,
	syntax.NEQ: syntax.NEQ,
	syntax.LT:  syntax.GT,
	syntax.GT:  syntax.LT,
	syntax.LE:  syntax.GE,
	syntax.GE:  syntax.LE,
}

// Compare evaluates x op y the way scripts do: a lang.RichComparer operand
// is asked first (x, then y with the operator mirrored), and Starlark's own
// comparison decides when neither gives a result.
func Compare(op syntax.Token, x, y starlark.Value) (starlark.Value, error) {
	if rc, ok := x.(lang.RichComparer); ok {
		if v, err := rc.RichCompare(op, y, false); err != nil || v != nil {
			return v, err
		}
	}
	if rc, ok := y.(lang.RichComparer); ok {
		if v, err := rc.RichCompare(mirrored[op], x, true); err != nil || v != nil {
			return v, err
		}
	}
	ok, err := starlark.Compare(op, x, y)
	if err != nil {
		return nil, err
	}
	return starlark.Bool(ok), nil
}

// Truth is the truth value of v as conditions see it: a lang.TruthChecker
// may refuse (an ambiguous multi-element tensor), anything else uses Truth().
func Truth(v starlark.Value) (bool, error) {
	if tc, ok := v.(lang.TruthChecker); ok {
		return tc.CheckTruth()
	}
	return bool(v.Truth()), nil
}

// checked carries a value through a native and/or after its truth was
// established by CheckTruth; pick unwraps it, so scripts never see one.
type checked struct {
	v     starlark.Value
	truth starlark.Bool
}

func (c checked) String() string        { return c.v.String() }
func (c checked) Type() string          { return c.v.Type() }
func (c checked) Freeze()               {}
func (c checked) Truth() starlark.Bool  { return c.truth }
func (c checked) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: %s", c.v.Type()) }

// hiddenBuiltins returns the builtins that rewritten code calls.
func hiddenBuiltins() starlark.StringDict {
	d := starlark.StringDict{
		truthName: guardedBuiltin(truthName, func(args starlark.Tuple) (starlark.Value, error) {
			b, err := Truth(args[0])
			return starlark.Bool(b), err
		}),
		testName: guardedBuiltin(testName, func(args starlark.Tuple) (starlark.Value, error) {
			tc, ok := args[0].(lang.TruthChecker)
			if !ok {
				return args[0], nil // the native Truth() is the right answer
			}
			b, err := tc.CheckTruth()
			if err != nil {
				return nil, err
			}
			return checked{args[0], starlark.Bool(b)}, nil
		}),
		pickName: guardedBuiltin(pickName, func(args starlark.Tuple) (starlark.Value, error) {
			if c, ok := args[0].(checked); ok {
				return c.v, nil
			}
			return args[0], nil
		}),
	}
	d[percentName] = starlark.NewBuiltin(percentName, percentBuiltin)
	d[formatName] = starlark.NewBuiltin(formatName, formatMethodBuiltin)
	for op, name := range compareNames {
		d[name] = guardedBuiltin(name, func(args starlark.Tuple) (starlark.Value, error) {
			return Compare(op, args[0], args[1])
		})
	}
	return d
}

// guardedBuiltin makes a hidden builtin with fixed positional arguments
// that turns a panic in a value's RichCompare or CheckTruth into an error,
// while the thread still knows the script position.
func guardedBuiltin(name string, fn func(args starlark.Tuple) (starlark.Value, error)) *starlark.Builtin {
	return starlark.NewBuiltin(name, func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (v starlark.Value, err error) {
		defer func() {
			if r := recover(); r != nil {
				v, err = nil, &lang.PanicError{Func: operatorLabel(name), Value: r}
			}
		}()
		return fn(args)
	})
}

// operatorLabel names a hidden builtin in messages as what the script wrote.
func operatorLabel(name string) string {
	op := name[len(hiddenPrefix):]
	switch op {
	case "truth", "test", "pick":
		return "truth test"
	}
	return "comparison " + op
}

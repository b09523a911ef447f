package startest

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"

	"github.com/dadash/dadash/interp"
	"github.com/dadash/dadash/lang"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
	"go.starlark.net/syntax"
)

// asserter reports failed assertions at the position of the assert call
// and lets the file go on, as go.starlark.net/starlarktest does.
type asserter struct{ r Reporter }

func assertModule(r Reporter) *starlarkstruct.Module {
	a := asserter{r}
	members := starlark.StringDict{
		"eq":       a.compare("eq", syntax.EQL, "got %s, want %s"),
		"ne":       a.compare("ne", syntax.NEQ, "got %s, want a value other than %s"),
		"lt":       a.compare("lt", syntax.LT, "want %s < %s"),
		"le":       a.compare("le", syntax.LE, "want %s <= %s"),
		"gt":       a.compare("gt", syntax.GT, "want %s > %s"),
		"ge":       a.compare("ge", syntax.GE, "want %s >= %s"),
		"true":     a.truth("true", true),
		"false":    a.truth("false", false),
		"contains": starlark.NewBuiltin("assert.contains", a.contains),
		"fails":    starlark.NewBuiltin("assert.fails", a.fails),
		"allclose": starlark.NewBuiltin("assert.allclose", a.allclose),
	}
	return &starlarkstruct.Module{Name: "assert", Members: members}
}

// failf reports a failure at the caller of the assert builtin.
func (a asserter) failf(thread *starlark.Thread, name, msg, format string, args ...any) {
	if msg == "" {
		msg = "assert." + name
	}
	a.r.Errorf("%s: %s: %s", thread.CallFrame(1).Pos, msg, fmt.Sprintf(format, args...))
}

// holds evaluates x op y with the scripts' semantics.
func holds(op syntax.Token, x, y starlark.Value) (bool, error) {
	v, err := interp.Compare(op, x, y)
	if err != nil {
		return false, err
	}
	return interp.Truth(v)
}

func (a asserter) compare(name string, op syntax.Token, format string) *starlark.Builtin {
	return starlark.NewBuiltin("assert."+name, func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var x, y starlark.Value
		var msg string
		if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 2, &x, &y, &msg); err != nil {
			return nil, err
		}
		ok, err := holds(op, x, y)
		if err != nil {
			a.failf(thread, name, msg, "%v", err)
		} else if !ok {
			a.failf(thread, name, msg, format, x, y)
		}
		return starlark.None, nil
	})
}

func (a asserter) truth(name string, want bool) *starlark.Builtin {
	return starlark.NewBuiltin("assert."+name, func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var x starlark.Value
		var msg string
		if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &x, &msg); err != nil {
			return nil, err
		}
		got, err := interp.Truth(x)
		if err != nil {
			a.failf(thread, name, msg, "%v", err)
		} else if got != want {
			a.failf(thread, name, msg, "got %s, want a %s value", x, map[bool]string{true: "true", false: "false"}[want])
		}
		return starlark.None, nil
	})
}

func (a asserter) contains(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var container, x starlark.Value
	var msg string
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 2, &container, &x, &msg); err != nil {
		return nil, err
	}
	in, err := starlark.Binary(syntax.IN, x, container)
	if err != nil {
		a.failf(thread, "contains", msg, "%v", err)
		return starlark.None, nil
	}
	if ok, err := interp.Truth(in); err != nil {
		a.failf(thread, "contains", msg, "%v", err)
	} else if !ok {
		a.failf(thread, "contains", msg, "%s does not contain %s", container, x)
	}
	return starlark.None, nil
}

// fails calls fn() and requires an error matching pattern; it returns the
// error message so tests can look further.
func (a asserter) fails(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var fn starlark.Callable
	var pattern string
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 2, &fn, &pattern); err != nil {
		return nil, err
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("%s: bad pattern: %v", b.Name(), err)
	}
	_, err = starlark.Call(thread, fn, nil, nil)
	if err == nil {
		a.failf(thread, "fails", "", "%s succeeded, want an error matching %q", fn.Name(), pattern)
		return starlark.None, nil
	}
	if lang.Check(thread) != nil {
		return nil, err // interrupted: stop the file, do not count it as the expected failure
	}
	msg := err.Error()
	var ev *starlark.EvalError
	if errors.As(err, &ev) {
		msg = ev.Msg
	}
	if !re.MatchString(msg) {
		a.failf(thread, "fails", "", "error %q does not match %q", msg, pattern)
	}
	return starlark.String(msg), nil
}

func (a asserter) allclose(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x, y starlark.Value
	rtol, atol := 1e-5, 1e-8
	var msg string
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "a", &x, "b", &y, "rtol?", &rtol, "atol?", &atol, "msg?", &msg); err != nil {
		return nil, err
	}
	if problem := closeness(x, y, rtol, atol); problem != "" {
		a.failf(thread, "allclose", msg, "%s", problem)
	}
	return starlark.None, nil
}

// closeness compares like numpy.allclose (|a-b| <= atol + rtol*|b|, NaN
// never close) and describes the difference, or returns "".
func closeness(x, y starlark.Value, rtol, atol float64) string {
	xd, xs, err := numeric(x)
	if err != nil {
		return err.Error()
	}
	yd, ys, err := numeric(y)
	if err != nil {
		return err.Error()
	}
	if !sameShape(xs, ys) {
		return fmt.Sprintf("shapes differ: %v vs %v", xs, ys)
	}
	bad, worst, worstExcess := 0, -1, 0.0
	for i := range xd {
		a, b := xd[i], yd[i]
		if a == b {
			continue // also equal infinities
		}
		excess := math.Abs(a-b) - (atol + rtol*math.Abs(b))
		if math.IsNaN(excess) {
			excess = math.Inf(1)
		}
		if excess > 0 {
			bad++
			if worst < 0 || excess > worstExcess {
				worst, worstExcess = i, excess
			}
		}
	}
	if bad == 0 {
		return ""
	}
	a, b := xd[worst], yd[worst]
	where := ""
	if len(xs) > 0 {
		where = fmt.Sprintf(" at %v", unravel(worst, xs))
	}
	why := fmt.Sprintf("|diff| %.3g > atol + rtol*|b| = %.3g", math.Abs(a-b), atol+rtol*math.Abs(b))
	if math.IsNaN(a) || math.IsNaN(b) {
		why = "NaN is never close"
	}
	return fmt.Sprintf("%d of %d elements differ; worst%s: %v vs %v (%s)", bad, len(xd), where, a, b, why)
}

// numeric flattens a number, a nested list/tuple of numbers or a
// lang.Numeric value into row-major data and a shape.
func numeric(v starlark.Value) ([]float64, []int64, error) {
	switch v := v.(type) {
	case lang.Numeric:
		return v.NumericData()
	case starlark.Int, starlark.Float:
		f, _ := starlark.AsFloat(v)
		return []float64{f}, nil, nil
	case starlark.Indexable:
		if _, isStr := v.(starlark.String); isStr {
			break
		}
		n := v.Len()
		var data []float64
		var inner []int64
		for i := 0; i < n; i++ {
			d, s, err := numeric(v.Index(i))
			if err != nil {
				return nil, nil, err
			}
			if i > 0 && !sameShape(s, inner) {
				return nil, nil, fmt.Errorf("ragged list: element %d has shape %v, element 0 has %v", i, s, inner)
			}
			inner = s
			data = append(data, d...)
		}
		return data, append([]int64{int64(n)}, inner...), nil
	}
	return nil, nil, fmt.Errorf("%s is not a number, a list of numbers or a tensor", v.Type())
}

func sameShape(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// unravel turns a flat row-major index into "[i, j, ...]".
func unravel(flat int, shape []int64) string {
	idx := make([]string, len(shape))
	for d := len(shape) - 1; d >= 0; d-- {
		n := int(shape[d])
		if n == 0 {
			idx[d] = "0"
			continue
		}
		idx[d] = fmt.Sprint(flat % n)
		flat /= n
	}
	return "[" + strings.Join(idx, ", ") + "]"
}

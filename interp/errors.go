package interp

import (
	"errors"
	"fmt"
	"strings"

	"github.com/dadash/dadash/lang"
	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
	"go.starlark.net/syntax"
)

// InterruptedError is returned by a run that was cancelled (Ctrl-C or its
// context); errors.Is(err, lang.ErrInterrupted) holds for it.
type InterruptedError struct {
	Err error // the error the interrupted thread stopped with
}

func (e *InterruptedError) Error() string        { return "interrupted" }
func (e *InterruptedError) Unwrap() error        { return e.Err }
func (e *InterruptedError) Is(target error) bool { return target == lang.ErrInterrupted }

// InternalError is a panic that escaped a builtin which the host could
// not attribute to a script position.
type InternalError struct {
	Value any
}

func (e *InternalError) Error() string {
	return fmt.Sprintf("internal error: %v (this is a bug in dadash or one of its modules; please report it)", e.Value)
}

// cancelledPrefix is how the interpreter reports thread.Cancel(reason).
const cancelledPrefix = "Starlark computation cancelled: "

// FormatError renders an error of a run for the terminal: the position
// and message first ("file:line:col: message"), then the Starlark
// traceback. It never shows Go stack traces.
func FormatError(err error) string {
	if err == nil {
		return ""
	}
	var ie *InterruptedError
	if errors.As(err, &ie) {
		ev := innermostEval(ie.Err)
		if ev == nil {
			return "interrupted"
		}
		stack := visibleStack(ev.CallStack)
		return fmt.Sprintf("%s: interrupted\n%s", topPosition(stack), strings.TrimRight(stack.String(), "\n"))
	}

	ev := innermostEval(err)
	var se syntax.Error
	var rl resolve.ErrorList
	switch {
	case errors.As(err, &se), errors.As(err, &rl):
		// A file failed to compile. Its errors carry their positions; when
		// it was being loaded, the traceback shows who loaded it.
		head := se.Error()
		if rl != nil {
			lines := make([]string, len(rl))
			for i, e := range rl {
				lines[i] = e.Error()
			}
			head = strings.Join(lines, "\n")
		}
		if ev == nil {
			return head
		}
		return head + "\n" + backtrace(ev.Msg, ev.CallStack)
	case ev == nil:
		return err.Error()
	}
	msg := ev.Msg
	var le *loadError
	if errors.As(err, &le) {
		msg = le.msg // without the interpreter's "cannot load x: " prefix
	}
	// An iterator (a data loader) can only end a loop with an error by
	// cancelling the thread with it; show that error as the error it is.
	msg = strings.TrimPrefix(msg, cancelledPrefix)
	stack := visibleStack(ev.CallStack)
	return topPosition(stack) + ": " + msg + "\n" + backtrace(msg, stack)
}

// backtrace is Starlark's traceback without the hidden operator frames;
// its last line repeats the message and names the failing builtin.
func backtrace(msg string, stack starlark.CallStack) string {
	return (&starlark.EvalError{Msg: msg, CallStack: visibleStack(stack)}).Backtrace()
}

// innermostEval returns the deepest EvalError in err's chain: a failing
// load wraps the loaded file's error, whose stack is the complete one.
func innermostEval(err error) *starlark.EvalError {
	var last *starlark.EvalError
	for e := err; e != nil; e = errors.Unwrap(e) {
		if ev, ok := e.(*starlark.EvalError); ok {
			last = ev
		}
	}
	return last
}

// visibleStack drops the frames of the hidden operator builtins.
func visibleStack(stack starlark.CallStack) starlark.CallStack {
	out := make(starlark.CallStack, 0, len(stack))
	for _, fr := range stack {
		if !isHidden(fr.Name) {
			out = append(out, fr)
		}
	}
	return out
}

// topPosition is the innermost script position of a stack.
func topPosition(stack starlark.CallStack) string {
	for i := len(stack) - 1; i >= 0; i-- {
		if stack[i].Pos.Filename() != "<builtin>" {
			return stack[i].Pos.String()
		}
	}
	return "<unknown>"
}

// hintUndefined adds "did you mean" hints for misspelt predeclared names,
// which the resolver cannot enumerate itself.
func (s *session) hintUndefined(err error) error {
	var rl resolve.ErrorList
	if !errors.As(err, &rl) {
		return err
	}
	var names []string
	names = append(names, visibleNames(s.predeclared)...)
	names = append(names, visibleNames(starlark.Universe)...)
	out := make(resolve.ErrorList, len(rl))
	for i, e := range rl {
		if name, ok := strings.CutPrefix(e.Msg, "undefined: "); ok && !strings.Contains(name, " ") {
			if n := nearest(name, names); n != "" {
				e.Msg += fmt.Sprintf(" (did you mean %s?)", n)
			}
		}
		out[i] = e
	}
	return out
}

// guard returns v with its builtins (recursively through modules) made to
// turn a panic into an error while the thread still knows where the script
// called them.
func guard(v starlark.Value) starlark.Value {
	switch v := v.(type) {
	case *starlarkstruct.Module:
		m := &starlarkstruct.Module{Name: v.Name, Members: make(starlark.StringDict, len(v.Members))}
		for k, mv := range v.Members {
			m.Members[k] = guard(mv)
		}
		return m
	case *starlark.Builtin:
		if v.Receiver() != nil {
			return v
		}
		inner := v
		return starlark.NewBuiltin(v.Name(), func(th *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (res starlark.Value, err error) {
			defer func() {
				if r := recover(); r != nil {
					res, err = nil, panicError(inner.Name(), r)
				}
			}()
			return inner.CallInternal(th, args, kwargs)
		})
	}
	return v
}

// nearest returns the candidate closest to x (ignoring case and
// underscores) if it is close enough to be a plausible typo, else "".
func nearest(x string, candidates []string) string {
	fold := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, "_", "")) }
	fx := fold(x)
	best, bestD := "", (len(fx)+1)/2
	for _, c := range candidates {
		if c == x {
			continue
		}
		if d := lang.EditDistance(fx, fold(c)); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

package interp

import (
	"errors"
	"fmt"
	"strings"

	"github.com/dadash/dadash/lang"
	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
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
	return fmt.Sprintf("internal error: %v (this is a bug in dadash; please report it with this message)", e.Value)
}

// generatedError is the error of a RunGenerated run: file is dadash's own
// code, which messages never show.
type generatedError struct {
	err  error
	file string
}

func (e *generatedError) Error() string { return e.err.Error() }
func (e *generatedError) Unwrap() error { return e.err }

// cancelledPrefix is how the interpreter reports thread.Cancel(reason).
const cancelledPrefix = "Starlark computation cancelled: "

// FormatError renders an error of a run for the terminal, once and in one
// style: "file:line:col: module.function: what went wrong", then the
// traceback of the script's frames. The position is the innermost line of
// the script; a builtin's error is named by the builtin. The frames of the
// standard library appear only when the error happened inside it, and an
// error the library raises with fail() (a message about its caller's
// input) is placed at the script line that called into the library.
// Generated code (RunGenerated) and Go stack traces never appear.
func FormatError(err error) string {
	if err == nil {
		return ""
	}
	hidden := map[string]bool{}
	var ge *generatedError
	if errors.As(err, &ge) {
		hidden[ge.file] = true
	}
	var ie *InterruptedError
	if errors.As(err, &ie) {
		ev := innermostEval(ie.Err)
		if ev == nil {
			return "interrupted"
		}
		code := codeFrames(ev.CallStack, hidden)
		if len(code) == 0 {
			return "interrupted"
		}
		return code[len(code)-1].Pos.String() + ": interrupted\n" + traceback(code)
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
		if code := codeFrames(ev.CallStack, hidden); len(code) > 0 {
			return head + "\n" + traceback(code)
		}
		return head
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
	var pe *lang.PanicError
	return describe(msg, ev.CallStack, hidden, errors.As(err, &pe))
}

// describe is FormatError for a runtime error with its call stack; bug
// says it is a Go panic in a builtin.
func describe(msg string, stack starlark.CallStack, hidden map[string]bool, bug bool) string {
	frames := visibleStack(stack)
	fn := "" // the builtin that failed
	if n := len(frames); n > 0 && frames[n-1].Pos.Filename() == builtinFile {
		fn = frames[n-1].Name
	}
	code := codeFrames(frames, hidden)
	inStdlib := len(code) > 0 && isStdlib(code[len(code)-1])
	var pos starlark.CallFrame
	var shown starlark.CallStack
	switch {
	case inStdlib && fn == "fail":
		// The library's own message about its caller's input: at the
		// script line that called the library, named by the function it
		// called there.
		msg = strings.TrimPrefix(msg, "fail: ")
		k := len(code) - 1
		for k >= 0 && isStdlib(code[k]) {
			k--
		}
		if fn = code[k+1].Name; fn == "<toplevel>" {
			fn = ""
		}
		if k >= 0 {
			pos, shown = code[k], userFrames(code[:k+1])
		}
	case inStdlib && fn != "" && !bug && len(hidden) > 0 && allStdlib(code):
		// A command's generated code called the library, which passed the
		// user's input to a builtin that refused it: the user wrote none
		// of the frames, so the message is all there is to say.
	case inStdlib:
		pos, shown = code[len(code)-1], code
	case len(code) > 0:
		pos, shown = code[len(code)-1], userFrames(code)
	}
	head := msg
	if fn != "" && fn != "fail" && !lang.NamesFunc(msg, fn) {
		head = fn + ": " + msg
	}
	head = destutter(head)
	if pos.Name != "" {
		head = pos.Pos.String() + ": " + head
	}
	if len(shown) == 0 {
		return head
	}
	return head + "\n" + traceback(shown)
}

// builtinFile is the file name of a builtin's frame.
const builtinFile = "<builtin>"

// userFrames drops the standard library's frames.
func userFrames(frames starlark.CallStack) starlark.CallStack {
	var out starlark.CallStack
	for _, fr := range frames {
		if !isStdlib(fr) {
			out = append(out, fr)
		}
	}
	return out
}

func allStdlib(frames starlark.CallStack) bool {
	for _, fr := range frames {
		if !isStdlib(fr) {
			return false
		}
	}
	return true
}

func isStdlib(fr starlark.CallFrame) bool {
	return strings.HasPrefix(fr.Pos.Filename(), stdlibPrefix)
}

// codeFrames are the frames of Starlark code: without builtins, the
// hidden operator builtins and generated files.
func codeFrames(stack starlark.CallStack, hidden map[string]bool) starlark.CallStack {
	var out starlark.CallStack
	for _, fr := range stack {
		if f := fr.Pos.Filename(); f != builtinFile && !hidden[f] && !isHidden(fr.Name) {
			out = append(out, fr)
		}
	}
	return out
}

// traceback lists frames as Starlark does, outermost first, without the
// final error line (the message is said once, in the first line).
func traceback(frames starlark.CallStack) string {
	var b strings.Builder
	b.WriteString("Traceback (most recent call last):")
	for _, fr := range frames {
		fmt.Fprintf(&b, "\n  %s: in %s", fr.Pos, fr.Name)
	}
	return b.String()
}

// destutter drops a second "name: " (or libtorch's "name(): ") that
// repeats the first: "nn.functional.max_pool2d: max_pool2d(): ..." reads
// "nn.functional.max_pool2d: ...".
func destutter(msg string) string {
	first, rest, ok := strings.Cut(msg, ": ")
	if !ok || strings.ContainsAny(first, " \n") {
		return msg
	}
	for {
		second, after, ok := strings.Cut(rest, ": ")
		second = strings.TrimSuffix(second, "()") // libtorch's "fn(): " prefix
		if !ok || strings.ContainsAny(second, " \n(") {
			break
		}
		last := first[strings.LastIndexByte(first, '.')+1:]
		if second != first && second != last && !strings.HasSuffix(first, "."+second) {
			break
		}
		rest = after
	}
	return first + ": " + rest
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

// Package lang holds the conventions shared by the interpreter host (interp)
// and the builtin modules (builtins/...), so that neither imports the other:
// the module registry, documentation for help(), the per-thread context used
// for cancellation and output, and the optional interfaces through which
// values take part in comparisons, truth tests and assertions.
package lang

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"sync"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// ---------------------------------------------------------------- registry

// Module is one builtin module visible to scripts as a predeclared global.
type Module struct {
	Name  string
	Value starlark.Value
	Doc   string
}

var (
	regMu   sync.Mutex
	modules = map[string]Module{}
)

// Register makes a module visible to scripts under its name. Builtin packages
// call it from init; cmd/dadash imports the packages it wants.
func Register(m Module) {
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := modules[m.Name]; dup {
		panic("lang: module registered twice: " + m.Name)
	}
	modules[m.Name] = m
	if m.Doc != "" {
		SetDoc(m.Name, m.Doc)
	}
}

// Modules returns the registered modules sorted by name.
func Modules() []Module {
	regMu.Lock()
	defer regMu.Unlock()
	out := make([]Module, 0, len(modules))
	for _, m := range modules {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// ---------------------------------------------------------------- docs

var (
	docMu sync.RWMutex
	docs  = map[string]string{}
)

// SetDoc records the documentation of a qualified name ("torch.zeros",
// "Tensor.sum", "torch").
func SetDoc(name, doc string) {
	docMu.Lock()
	docs[name] = doc
	docMu.Unlock()
}

// DocOf returns the documentation of a qualified name.
func DocOf(name string) (string, bool) {
	docMu.RLock()
	defer docMu.RUnlock()
	d, ok := docs[name]
	return d, ok
}

// Func makes a builtin whose Name() is the qualified name (so argument
// errors read "torch.zeros: ...") and records its documentation. The
// builtin is Safe: a Go panic inside fn becomes an error at the script
// position, and its errors name it once.
func Func(name, doc string, fn BuiltinFunc) *starlark.Builtin {
	if doc != "" {
		SetDoc(name, doc)
	}
	b := starlark.NewBuiltin(name, Safe(fn))
	safeFns.Store(b, struct{}{})
	return b
}

// Documented values describe themselves for help().
type Documented interface {
	Doc() string
}

// ---------------------------------------------------------------- thread state

const (
	contextKey = "dadash.context"
	stdoutKey  = "dadash.stdout"
	stderrKey  = "dadash.stderr"
)

// SetContext attaches the context that long-running builtins check; the
// host cancels it (together with thread.Cancel) on Ctrl-C.
func SetContext(thread *starlark.Thread, ctx context.Context) { thread.SetLocal(contextKey, ctx) }

// Context returns the thread's context, or context.Background().
func Context(thread *starlark.Thread) context.Context {
	if thread != nil {
		if c, ok := thread.Local(contextKey).(context.Context); ok {
			return c
		}
	}
	return context.Background()
}

// ErrInterrupted is returned by builtins that stop because the run was cancelled.
var ErrInterrupted = errors.New("interrupted")

// Check returns ErrInterrupted once the thread's context is cancelled. Long
// builtins call it between units of work (batches, epochs, chunks).
func Check(thread *starlark.Thread) error {
	if Context(thread).Err() != nil {
		return ErrInterrupted
	}
	return nil
}

// SetOutput sets where print() and progress output go for this thread.
func SetOutput(thread *starlark.Thread, stdout, stderr io.Writer) {
	thread.SetLocal(stdoutKey, stdout)
	thread.SetLocal(stderrKey, stderr)
}

// Stdout is the thread's standard output (os.Stdout by default).
func Stdout(thread *starlark.Thread) io.Writer {
	if thread != nil {
		if w, ok := thread.Local(stdoutKey).(io.Writer); ok {
			return w
		}
	}
	return os.Stdout
}

// Stderr is the thread's diagnostic output (os.Stderr by default).
func Stderr(thread *starlark.Thread) io.Writer {
	if thread != nil {
		if w, ok := thread.Local(stderrKey).(io.Writer); ok {
			return w
		}
	}
	return os.Stderr
}

// ---------------------------------------------------------------- value protocols

// RichComparer values give comparisons a non-bool result (tensors give bool
// tensors). The interpreter rewrites x < y into a call that asks x, then y
// (reflected = true, with the operator mirrored), and falls back to
// Starlark's own comparison when both return (nil, nil).
type RichComparer interface {
	RichCompare(op syntax.Token, other starlark.Value, reflected bool) (starlark.Value, error)
}

// TruthChecker values can refuse a truth test (a tensor of several elements
// is ambiguous, as in PyTorch). The interpreter calls it for conditions of
// if, while, and, or, not and conditional expressions.
type TruthChecker interface {
	CheckTruth() (bool, error)
}

// Numeric values expose their elements for assert.allclose and friends.
type Numeric interface {
	NumericData() (data []float64, shape []int64, err error)
}

// ---------------------------------------------------------------- versions

var (
	versions []func() (string, string)
)

// RegisterVersion adds a line to `dadash version` (e.g. "libtorch", "1.13.0").
func RegisterVersion(f func() (name, version string)) {
	regMu.Lock()
	versions = append(versions, f)
	regMu.Unlock()
}

// Versions returns "name: version" lines of the registered components.
func Versions() []string {
	regMu.Lock()
	fs := append([]func() (string, string){}, versions...)
	regMu.Unlock()
	var out []string
	for _, f := range fs {
		n, v := f()
		out = append(out, fmt.Sprintf("%s: %s", n, v))
	}
	return out
}

// ---------------------------------------------------------------- subscripts

// Slice is one a:b:c part of a multi-dimensional subscript such as
// t[:, 1:3]; the interpreter builds it (Starlark's grammar has slices only
// as the whole subscript). Missing bounds are None.
type Slice struct{ Start, Stop, Step starlark.Value }

func (s Slice) String() string {
	return fmt.Sprintf("slice(%v, %v, %v)", s.Start, s.Stop, s.Step)
}
func (s Slice) Type() string          { return "slice" }
func (s Slice) Freeze()               {}
func (s Slice) Truth() starlark.Bool  { return true }
func (s Slice) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: slice") }

// EllipsisType is the type of `...` in subscripts (t[..., -1]).
type EllipsisType struct{}

// Ellipsis is the value of `...`.
var Ellipsis = EllipsisType{}

func (EllipsisType) String() string        { return "Ellipsis" }
func (EllipsisType) Type() string          { return "ellipsis" }
func (EllipsisType) Freeze()               {}
func (EllipsisType) Truth() starlark.Bool  { return true }
func (EllipsisType) Hash() (uint32, error) { return 0x5e11, nil }

// ---------------------------------------------------------------- threads

var (
	threadHooks []func(int)
	threads     int
	threadsSet  bool
)

// RegisterThreads adds a hook that applies the number of CPU threads the
// user asked for (dadash --threads N), e.g. torch.set_num_threads.
func RegisterThreads(f func(n int)) {
	regMu.Lock()
	threadHooks = append(threadHooks, f)
	regMu.Unlock()
}

// SetThreads records n and calls the registered hooks; cmd/dadash calls it
// once before running anything (n = all cores unless --threads says).
func SetThreads(n int) {
	regMu.Lock()
	threads, threadsSet = n, true
	hooks := append([]func(int){}, threadHooks...)
	regMu.Unlock()
	for _, f := range hooks {
		f(n)
	}
}

// ApplyThreads runs the hooks again with the recorded count, on the calling
// OS thread: OpenMP keeps its thread count per OS thread, so a run that
// locks itself to a new thread applies it there (no-op before SetThreads).
func ApplyThreads() {
	regMu.Lock()
	n, set := threads, threadsSet
	hooks := append([]func(int){}, threadHooks...)
	regMu.Unlock()
	if !set {
		return
	}
	for _, f := range hooks {
		f(n)
	}
}

// Threads returns the number given to SetThreads, or 0 if it was not called.
func Threads() int {
	regMu.Lock()
	defer regMu.Unlock()
	return threads
}

// MatMuler values implement the @ operator (the interpreter rewrites a @ b
// into a form that calls MatMul on a, or on b with reflected = true).
type MatMuler interface {
	MatMul(other starlark.Value, reflected bool) (starlark.Value, error)
}

// UnpackArgs is starlark.UnpackArgs, except that a float parameter
// (a *float64 target) also accepts an int, as Python does: lr=1 and p=2 are
// valid where a float is expected.
func UnpackArgs(fnname string, args starlark.Tuple, kwargs []starlark.Tuple, pairs ...any) error {
	var floats map[string]bool
	var floatPos []bool
	for i := 0; i+1 < len(pairs); i += 2 {
		if _, ok := pairs[i+1].(*float64); ok {
			name, _ := pairs[i].(string)
			for len(name) > 0 && (name[len(name)-1] == '?' || name[len(name)-1] == '*') {
				name = name[:len(name)-1]
			}
			if floats == nil {
				floats = map[string]bool{}
				floatPos = make([]bool, len(pairs)/2)
			}
			floats[name] = true
			floatPos[i/2] = true
		}
	}
	if floats != nil {
		var newArgs starlark.Tuple
		for i, a := range args {
			if i < len(floatPos) && floatPos[i] {
				if n, ok := a.(starlark.Int); ok {
					if newArgs == nil {
						newArgs = append(starlark.Tuple{}, args...)
					}
					newArgs[i] = n.Float()
				}
			}
		}
		if newArgs != nil {
			args = newArgs
		}
		var newKw []starlark.Tuple
		for i, kv := range kwargs {
			if k, ok := kv[0].(starlark.String); ok && floats[string(k)] {
				if n, ok := kv[1].(starlark.Int); ok {
					if newKw == nil {
						newKw = append([]starlark.Tuple{}, kwargs...)
					}
					newKw[i] = starlark.Tuple{kv[0], n.Float()}
				}
			}
		}
		if newKw != nil {
			kwargs = newKw
		}
	}
	return starlark.UnpackArgs(fnname, args, kwargs, pairs...)
}

// EditDistance is the Levenshtein distance between a and b (in bytes),
// for "did you mean" suggestions.
func EditDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

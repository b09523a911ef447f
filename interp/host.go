// Package interp is the Starlark host of dadash: it runs .star scripts and
// the REPL with the builtin modules registered in lang predeclared, resolves
// load() (module names, the embedded @stdlib, files relative to the loading
// file), turns errors into file:line:col messages with backtraces, and makes
// Ctrl-C interrupt a run.
//
// Scripts are rewritten before compiling so that comparisons and truth tests
// go through lang.RichComparer and lang.TruthChecker (see Compare and Truth).
//
// Starlark code always runs on the goroutine that calls Host's methods:
// libtorch keeps thread-local state, so callers should use the main one.
package interp

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"syscall"

	"github.com/dadash/dadash/internal/atomicfile"
	"github.com/dadash/dadash/internal/sandbox"
	"github.com/dadash/dadash/lang"
	"go.starlark.net/lib/json"
	"go.starlark.net/lib/time"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
	"go.starlark.net/syntax"
)

// fileOptions suit notebook-style scripts: top-level loops and ifs,
// reassigned globals, while loops, sets and recursion.
var fileOptions = &syntax.FileOptions{
	Set:             true,
	While:           true,
	TopLevelControl: true,
	GlobalReassign:  true,
	Recursion:       true,
}

// Options configure a Host. The zero value is usable.
type Options struct {
	Stdout io.Writer // print() and REPL results; os.Stdout if nil
	Stderr io.Writer // warnings and progress; os.Stderr if nil

	// Overrides are "key=value" settings (the CLI's --set) that config()
	// applies to its defaults.
	Overrides []string

	// Stdlib holds the files that load("@stdlib/name.star") reads.
	Stdlib fs.FS

	// HistoryFile is where the REPL keeps its history. Empty means
	// $DADASH_HISTORY, else ~/.dadash_history; "-" disables history.
	HistoryFile string

	// Predeclared adds globals to every script (the test harness adds
	// assert); they take precedence over modules of the same name.
	Predeclared starlark.StringDict

	// Flags are the --name value settings given after a script, as
	// "name=value" ("name" alone for a bare flag); like Overrides, but
	// named as the user typed them in messages, and names may be aliases.
	Flags []string

	// Describe makes the script's first config() call print the script's
	// description and settings and end the run with ErrDescribed.
	Describe bool

	// ContinueOnError makes a REPL whose input is not a terminal print
	// each error and go on, as on a terminal, instead of stopping at the
	// first one like a script.
	ContinueOnError bool

	// HandleSignals makes SIGINT (Ctrl-C) interrupt a running script; a
	// second SIGINT during the same run exits the process with status 130,
	// and SIGTERM or SIGHUP exit it at once (143, 129). Before exiting, the
	// temporary files of writes in progress are removed.
	HandleSignals bool

	// Sandbox confines scripts (internal/sandbox): files are read only
	// under AllowRead, AllowWrite and the script's folder (the current
	// folder for RunString and the REPL), written only under AllowWrite;
	// load() stays inside the readable folders and os.getenv is refused.
	Sandbox               bool
	AllowRead, AllowWrite []string

	// MaxSteps stops a run (or a REPL input) after that many Starlark
	// execution steps; 0 means no limit.
	MaxSteps uint64

	// MaxMemory is the budget, in bytes, of script values (the Go heap;
	// tensors are outside it). 0 means DefaultMaxMemory().
	MaxMemory int64
}

// Host runs scripts. Each run (RunFile, RunString, a REPL session) gets
// its own globals, load cache and config() state.
type Host struct {
	opts      Options
	overrides []override
	modules   starlark.StringDict // loadable modules, by name
	policy    *sandbox.Policy     // nil unless Sandbox; without the script's folder
}

// New checks the options and makes a Host. A malformed override is
// reported as an *OverrideError.
func New(opts Options) (*Host, error) {
	if opts.Stdout == nil {
		opts.Stdout = os.Stdout
	}
	if opts.Stderr == nil {
		opts.Stderr = os.Stderr
	}
	ovs, err := parseOverrides(opts.Overrides)
	if err != nil {
		return nil, err
	}
	flags, err := parseFlags(opts.Flags)
	if err != nil {
		return nil, err
	}
	ovs = append(ovs, flags...)
	if opts.MaxMemory < 0 {
		return nil, fmt.Errorf("memory budget %d: want a positive number of bytes", opts.MaxMemory)
	}
	if opts.MaxMemory == 0 {
		opts.MaxMemory = DefaultMaxMemory()
	}
	var policy *sandbox.Policy
	if opts.Sandbox {
		if policy, err = sandbox.New(opts.AllowRead, opts.AllowWrite); err != nil {
			return nil, err
		}
	}
	h := &Host{opts: opts, overrides: ovs, policy: policy, modules: starlark.StringDict{
		"json": lang.FromStruct(json.Module, builtinDocs["json"]),
		"math": lang.FromStruct(mathModule, builtinDocs["math"]),
		"time": lang.FromStruct(time.Module, builtinDocs["time"]),
	}}
	for _, m := range lang.Modules() {
		h.modules[m.Name] = asModule(m.Value, m.Doc)
	}
	return h, nil
}

// asModule gives a registered value the one module type (lang.Namespace,
// which guards its builtins); a registered function is guarded itself.
func asModule(v starlark.Value, doc string) starlark.Value {
	switch v := v.(type) {
	case *starlarkstruct.Module:
		return lang.FromStruct(v, doc)
	case *starlark.Builtin:
		return lang.Guard(v)
	}
	return v
}

// RunFile runs the script at path; argv becomes its args list. Relative
// loads may not leave the script's folder.
func (h *Host) RunFile(ctx context.Context, path string, argv []string) error {
	src, err := os.ReadFile(path)
	if err != nil {
		if os.IsNotExist(err) {
			return fmt.Errorf("no such script %s", path)
		}
		return err
	}
	// Relative loads start from the folder the script really is in (as
	// Python's sys.path[0]), links resolved.
	abs, err := realPath(path)
	if err != nil {
		return err
	}
	dir := filepath.Dir(abs)
	s := h.newSession(argv, h.opts.Stdout)
	s.mainName, s.mainSrc = path, src
	if h.policy != nil {
		sandbox.Set(s.thread, h.policy.WithRead(dir))
	}
	s.files[path] = fileInfo{dir: dir, root: dir}
	s.loading = []loadFrame{{key: abs, name: path}}
	return s.finish(s.exec(ctx, func() error {
		_, err := s.execFile(path, src)
		return err
	}))
}

// RunString runs src as a script named name (used in messages); relative
// loads are resolved from the current directory.
func (h *Host) RunString(ctx context.Context, name, src string, argv []string) error {
	cwd, err := realPath(".")
	if err != nil {
		return err
	}
	s := h.newSession(argv, h.opts.Stdout)
	s.files[name] = fileInfo{dir: cwd, root: cwd}
	return s.finish(s.exec(ctx, func() error {
		_, err := s.execFile(name, []byte(src))
		return err
	}))
}

// RunGenerated runs src, code that dadash wrote for the user (a command
// such as eval calling the standard library), as a file named name. Its
// frames never appear in FormatError's messages: the user did not write
// them. Relative loads are resolved from the current directory.
func (h *Host) RunGenerated(ctx context.Context, name, src string) error {
	if err := h.RunString(ctx, name, src, nil); err != nil {
		return &generatedError{err: err, file: name}
	}
	return nil
}

// A session is the state of one run.
type session struct {
	h           *Host
	thread      *starlark.Thread
	predeclared starlark.StringDict
	globals     starlark.StringDict // REPL only: the persistent globals

	files   map[string]fileInfo // by the name positions use
	cache   map[string]*loadEntry
	loading []loadFrame // files being loaded, outermost first
	used    map[string]bool
	reads   map[string]bool   // settings the run read (config.check)
	aliases map[string]string // other spellings of settings (config's _aliases)

	mainName string // the script run, for --help
	mainSrc  []byte
}

func (h *Host) newSession(argv []string, stdout io.Writer) *session {
	s := &session{
		h:       h,
		files:   map[string]fileInfo{},
		cache:   map[string]*loadEntry{},
		used:    map[string]bool{},
		reads:   map[string]bool{},
		aliases: map[string]string{},
	}
	th := &starlark.Thread{Name: "main", Load: s.load}
	th.Print = func(th *starlark.Thread, msg string) { fmt.Fprintln(lang.Stdout(th), msg) }
	lang.SetOutput(th, stdout, h.opts.Stderr)
	th.SetLocal(budgetKey, &budget{limit: h.opts.MaxMemory})
	if h.policy != nil {
		// The current folder is the script folder of RunString and the
		// REPL; RunFile replaces it with the script's.
		cwd, _ := os.Getwd()
		sandbox.Set(th, h.policy.WithRead(cwd))
	}
	s.thread = th

	args := make([]starlark.Value, len(argv))
	for i, a := range argv {
		args[i] = starlark.String(a)
	}
	argList := starlark.NewList(args)
	argList.Freeze()

	// The host's builtins are Safe too: a panic is an error at its line.
	p := starlark.StringDict{
		"args":       argList,
		"config":     starlark.NewBuiltin("config", lang.Safe(s.config)),
		"dir":        starlark.NewBuiltin("dir", lang.Safe(s.dir)),
		"help":       starlark.NewBuiltin("help", lang.Safe(s.help)),
		"struct":     starlark.NewBuiltin("struct", lang.Safe(starlarkstruct.Make)),
		"slice":      starlark.NewBuiltin("slice", lang.Safe(makeSlice)),
		"Ellipsis":   lang.Ellipsis,
		"pow":        starlark.NewBuiltin("pow", lang.Safe(pyPow)),
		"format":     starlark.NewBuiltin("format", lang.Safe(pyFormat)),
		"sum":        starlark.NewBuiltin("sum", lang.Safe(pySum)),
		"round":      starlark.NewBuiltin("round", lang.Safe(pyRound)),
		"__matmul__": starlark.NewBuiltin("@", makeMatmulOperand),
	}
	for k, v := range h.modules {
		p[k] = v
	}
	for k, v := range h.opts.Predeclared {
		p[k] = v
	}
	for k, v := range hiddenBuiltins() {
		p[k] = v
	}
	for k, v := range budgetBuiltins(p) {
		p[k] = v
	}
	s.predeclared = p
	return s
}

// execFile parses, rewrites, compiles and runs one file; its globals are
// returned frozen, as load() requires.
func (s *session) execFile(name string, src []byte) (starlark.StringDict, error) {
	f, err := fileOptions.Parse(name, rewriteSubscripts(src), 0)
	if err != nil {
		return nil, err
	}
	rewriteFile(f)
	prog, err := starlark.FileProgram(f, s.predeclared.Has)
	if err != nil {
		return nil, s.hintUndefined(err)
	}
	g, err := prog.Init(s.thread, s.predeclared)
	g.Freeze()
	return g, err
}

// exec runs fn on the calling goroutine with cancellation wired up:
// cancelling ctx (or Ctrl-C with HandleSignals) cancels the thread and the
// context builtins see through lang.Check.
func (s *session) exec(ctx context.Context, fn func() error) (err error) {
	// libtorch keeps state per OS thread (autograd mode, OpenMP's thread
	// count): a run stays on one OS thread, with the thread count applied
	// there, or a migrating goroutine would compute with other settings
	// (and sum in another order) from one step to the next.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	lang.ApplyThreads()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	th := s.thread
	th.Uncancel()
	lang.SetContext(th, ctx)
	setStepLimit(th, s.h.opts.MaxSteps)
	defer watchMemory(th)()

	// The watcher must be gone before the deferred cancel runs, or it
	// could cancel the thread after the run (and so the next run).
	done, watched := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(watched)
		select {
		case <-ctx.Done():
			th.Cancel("interrupted")
		case <-done:
		}
	}()
	defer func() {
		close(done)
		<-watched
	}()
	if s.h.opts.HandleSignals {
		defer notifyInterrupt(cancel, s.h.opts.Stderr)()
	}
	defer func() {
		// Something the interpreter calls directly and that is not guarded
		// (an iterator, a value's Index) panicked; the thread's frames are
		// already unwound, so no position is known.
		if r := recover(); r != nil {
			err = &InternalError{Value: r}
		}
	}()
	err = fn()
	if err != nil && ctx.Err() != nil {
		err = &InterruptedError{Err: err}
	}
	return err
}

// notifyInterrupt cancels the run on the first SIGINT and exits on the
// second, or at once on SIGTERM and SIGHUP (a scheduler stopping the job, a
// closed terminal); it returns the function that stops listening. Exiting
// skips deferred cleanup, so the temporary files of writes in progress are
// removed first; the files they were replacing stay whole.
func notifyInterrupt(cancel func(), stderr io.Writer) (stop func()) {
	c := make(chan os.Signal, 2)
	signal.Notify(c, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	quit := make(chan struct{})
	go func() {
		n := 0
		for {
			select {
			case sig := <-c:
				if sig != os.Interrupt {
					atomicfile.RemoveTemps()
					fmt.Fprintf(stderr, "%v: exiting\n", sig)
					os.Exit(128 + int(sig.(syscall.Signal)))
				}
				n++
				if n == 1 {
					cancel()
					continue
				}
				atomicfile.RemoveTemps()
				fmt.Fprintln(stderr, "interrupted again: exiting")
				os.Exit(130)
			case <-quit:
				return
			}
		}
	}()
	return func() {
		signal.Stop(c)
		close(quit)
	}
}

// finish reports overrides that no config() call read, once a run worked.
func (s *session) finish(err error) error {
	if err != nil {
		return err
	}
	for _, o := range s.h.overrides {
		if !s.used[o.key] {
			fmt.Fprintf(s.h.opts.Stderr, "warning: %s was not used: no config() call has a setting %q\n", o.spelled(), o.key)
			continue
		}
		key := o.key
		if t, ok := s.aliases[key]; ok {
			key = t
		}
		if !s.reads[key] {
			fmt.Fprintf(s.h.opts.Stderr, "warning: %s had no effect: nothing in the run read %s\n", o.spelled(), key)
		}
	}
	return nil
}

// visibleNames lists the names of d that scripts can see, sorted.
func visibleNames(d starlark.StringDict) []string {
	var names []string
	for k := range d {
		if !isHidden(k) {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	return names
}

// makeSlice is slice(stop) or slice(start, stop, step=None), the value
// that t[:, 1:3] becomes after rewriteSubscripts.
func makeSlice(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	s := lang.Slice{Start: starlark.None, Stop: starlark.None, Step: starlark.None}
	if len(args) == 1 && len(kwargs) == 0 {
		s.Stop = args[0]
		return s, nil
	}
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 2, &s.Start, &s.Stop, &s.Step); err != nil {
		return nil, err
	}
	return s, nil
}

package interp_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/dadash/dadash/interp"
	"github.com/dadash/dadash/interp/startest"
	"github.com/dadash/dadash/lang"
)

func TestStar(t *testing.T) {
	startest.Run(t, "testdata/*.star", startest.Predeclared(probes()))
}

// run runs src as file name in a fresh host and returns stdout, stderr
// and the formatted error.
func run(t *testing.T, opts interp.Options, name, src string, argv ...string) (stdout, stderr, errText string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	opts.Stdout, opts.Stderr = &out, &errOut
	if opts.Predeclared == nil {
		opts.Predeclared = probes()
	}
	h, err := interp.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	err = h.RunString(context.Background(), name, src, argv)
	return out.String(), errOut.String(), interp.FormatError(err), err
}

func checkNoGoTrace(t *testing.T, text string) {
	t.Helper()
	for _, bad := range []string{"panic:", "goroutine ", "operator "} {
		if strings.Contains(text, bad) {
			t.Errorf("output contains %q:\n%s", bad, text)
		}
	}
}

func TestErrorPositions(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want []string // substrings of the formatted error, in order
	}{
		{"x = 1\ny = x < 'a'\n", []string{"e.star:2:7: int < string not implemented", "Traceback", "e.star:2:7: in <toplevel>"}},
		{"def f(v):\n    if v:\n        pass\nf(amb)\n", []string{"e.star:2:8: the truth value of probe amb is ambiguous", "e.star:4:2: in <toplevel>", "e.star:2:8: in f"}},
		{"x = amb or 1\n", []string{"e.star:1:5: the truth value of probe amb is ambiguous"}},
		{"x = [v for v in [amb] if v]\n", []string{"e.star:1:26: ", "ambiguous"}},
		{"def f():\n    return 1 // 0\nf()\n", []string{"e.star:2:14: floored division by zero", "e.star:3:2: in <toplevel>", "e.star:2:14: in f"}},
		{"testmod.double('x')\n", []string{"e.star:1:15: testmod.double: for parameter x: got string, want int", "Traceback", "e.star:1:15: in <toplevel>"}},
		{"x = (1,\n", []string{"e.star:2:1: got end of file"}},
		{"prnt(1)\n", []string{"e.star:1:1: undefined: prnt (did you mean print?)"}},
		{"x = tstmod.double(1)\n", []string{"undefined: tstmod (did you mean testmod?)"}},
		{"testmod.boom()\n", []string{"e.star:1:13: testmod.boom: internal error: ", "nil map", "please report it"}},
		{"fail('custom message')\n", []string{"e.star:1:5: fail: custom message"}},
	} {
		_, _, text, err := run(t, interp.Options{}, "e.star", tc.src)
		if err == nil {
			t.Errorf("%q: no error", tc.src)
			continue
		}
		rest := text
		for _, w := range tc.want {
			i := strings.Index(rest, w)
			if i < 0 {
				t.Errorf("%q: error lacks %q (in order):\n%s", tc.src, w, text)
				break
			}
			rest = rest[i+len(w):]
		}
		checkNoGoTrace(t, text)
	}
}

func TestPanicInMethod(t *testing.T) {
	// A bound method is not wrapped by the host: the run still ends with
	// an error, not a crash, and a REPL goes on.
	_, _, text, err := run(t, interp.Options{}, "m.star", "p.explode()\n")
	var ie *interp.InternalError
	if !errors.As(err, &ie) || !strings.Contains(text, "internal error: kaboom") {
		t.Errorf("got %v: %s", err, text)
	}
	checkNoGoTrace(t, text)
	var out, errOut bytes.Buffer
	h, _ := interp.New(interp.Options{Stdout: &out, Stderr: &errOut, Predeclared: probes(), ContinueOnError: true})
	if err := h.REPL(context.Background(), strings.NewReader("p.explode()\n1 + 2\n"), &out); err != nil {
		t.Fatal(err)
	}
	if out.String() != "3\n" || !strings.Contains(errOut.String(), "kaboom") {
		t.Errorf("REPL after a panic: %q %q", out.String(), errOut.String())
	}
}

func TestPrintAndArgs(t *testing.T) {
	out, _, _, err := run(t, interp.Options{}, "a.star", "print('hi', args)\n", "x", "--y")
	if err != nil {
		t.Fatal(err)
	}
	if out != `hi ["x", "--y"]`+"\n" {
		t.Errorf("got %q", out)
	}
}

func TestConfigOverrides(t *testing.T) {
	src := `cfg = config(n = 1, lr = 0.1, name = "a", on = False, sizes = [1, 2], names = ["a"], empty = [], any = None, pair = (1, 2))
print(cfg.n, cfg.lr, cfg.name, cfg.on, cfg.sizes, cfg.names, cfg.empty, cfg.any, cfg.pair)
`
	for _, tc := range []struct {
		sets []string
		want string
	}{
		{nil, `1 0.1 a False [1, 2] ["a"] [] None (1, 2)`},
		{[]string{"n=7", "lr=3", "name=hello world", "on=YES"}, `7 3.0 hello world True [1, 2] ["a"] [] None (1, 2)`},
		{[]string{"lr=1e-4", "on=0", "sizes=3, 4,5", "names=x,y"}, `1 0.0001 a False [3, 4, 5] ["x", "y"] [] None (1, 2)`},
		{[]string{"sizes=[7]", "names=['q', \"r\"]", "empty=1,b"}, `1 0.1 a False [7] ["q", "r"] [1, "b"] None (1, 2)`},
		{[]string{"sizes=", "any=[1, 'x']", "pair=3,4"}, `1 0.1 a False [] ["a"] [] [1, "x"] (3, 4)`},
		{[]string{"any=hello", "n=-3", "on=true"}, `-3 0.1 a True [1, 2] ["a"] [] hello (1, 2)`},
		{[]string{"any=2.5", "n=1", "n=2"}, `2 0.1 a False [1, 2] ["a"] [] 2.5 (1, 2)`},
	} {
		out, stderr, text, err := run(t, interp.Options{Overrides: tc.sets}, "c.star", src)
		if err != nil {
			t.Errorf("%v: %s", tc.sets, text)
			continue
		}
		if got := strings.TrimSpace(out); got != tc.want {
			t.Errorf("%v:\ngot  %s\nwant %s", tc.sets, got, tc.want)
		}
		if stderr != "" {
			t.Errorf("%v: unexpected stderr %q", tc.sets, stderr)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	src := "cfg = config(batch_size = 1, lr = 0.1, on = True, sizes = [1], name = 'x')\n"
	for _, tc := range []struct{ set, want string }{
		{"batch_size=abc", `--set batch_size=abc: batch_size is an int, got "abc"`},
		{"batch_size=1.5", `batch_size is an int, got "1.5"`},
		{"lr=fast", `--set lr=fast: lr is a float, got "fast"`},
		{"on=maybe", `on is a bool, got "maybe"`},
		{"sizes=1,x", `sizes is a list of int, got "1,x"`},
		{"batchsize=3", `--set batchsize=3: config() has no setting "batchsize" (did you mean "batch_size"?); its settings: batch_size, lr, name, on, sizes (dadash SCRIPT --help describes them)`},
	} {
		_, _, text, err := run(t, interp.Options{Overrides: []string{tc.set}}, "c.star", src)
		var oe *interp.OverrideError
		if !errors.As(err, &oe) {
			t.Errorf("%s: got %v, want an OverrideError", tc.set, err)
			continue
		}
		if !strings.Contains(oe.Msg, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.set, oe.Msg, tc.want)
		}
		if !strings.Contains(text, "c.star:1:13: ") {
			t.Errorf("%s: the error does not point at config():\n%s", tc.set, text)
		}
	}
	if _, err := interp.New(interp.Options{Overrides: []string{"novalue"}}); err == nil || !strings.Contains(err.Error(), "--set novalue: expected key=value") {
		t.Errorf("malformed override: got %v", err)
	}
}

func TestConfigUnusedWarning(t *testing.T) {
	_, stderr, _, err := run(t, interp.Options{Overrides: []string{"epochs=3"}}, "w.star", "x = 1\n")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr, "warning: --set epochs=3 was not used") {
		t.Errorf("no warning: %q", stderr)
	}
	// A key declared by an earlier config() call is not unknown to a later one.
	_, stderr, text, err := run(t, interp.Options{Overrides: []string{"a=2"}}, "w.star", "x = config(a = 1)\ny = config(b = 1)\nprint(x.a, y.b)\n")
	if err != nil || stderr != "" {
		t.Errorf("two config() calls: %s %q", text, stderr)
	}
}

func TestLoad(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	write := func(path, src string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(root, "lib", "a.star"), "load('b.star', 'b')\nprint('loading a')\na = b + 1\n")
	write(filepath.Join(root, "lib", "b.star"), "b = 1\n")
	write(filepath.Join(root, "lib", "up.star"), "load('../top.star', 'top')\nup = top\n")
	write(filepath.Join(root, "top.star"), "top = 'top'\n")
	write(filepath.Join(root, "lib", "escape.star"), "load('../../x.star', 'x')\n")
	write(filepath.Join(root, "cycle1.star"), "load('cycle2.star', 'c')\n")
	write(filepath.Join(root, "cycle2.star"), "load('cycle1.star', 'c')\nc = 1\n")
	write(filepath.Join(root, "bad.star"), "x = (\n")
	write(filepath.Join(root, "fails.star"), "def f():\n    return 1 // 0\nz = f()\n")
	write(filepath.Join(outside, "ext.star"), "load('near.star', 'near')\next = near * 2\n")
	write(filepath.Join(outside, "near.star"), "near = 21\n")
	stdlib := fstest.MapFS{
		"util.star":     {Data: []byte("load('helper.star', 'h')\ndef twice(x):\n    return h(h(x))\n")},
		"helper.star":   {Data: []byte("def h(x):\n    return x + 1\n")},
		"escapes.star":  {Data: []byte("load('../x.star', 'x')\n")},
		"absolute.star": {Data: []byte("load('" + filepath.Join(outside, "near.star") + "', 'near')\nn = near\n")},
	}

	runMain := func(src string) (string, string, error) {
		t.Helper()
		main := filepath.Join(root, "main.star")
		write(main, src)
		var out bytes.Buffer
		h, err := interp.New(interp.Options{Stdout: &out, Stderr: &out, Stdlib: stdlib})
		if err != nil {
			t.Fatal(err)
		}
		err = h.RunFile(context.Background(), main, nil)
		text := interp.FormatError(err)
		checkNoGoTrace(t, text)
		return out.String(), text, err
	}

	out, text, err := runMain("load('lib/a.star', 'a')\nload('lib/a.star', a2 = 'a')\nload('lib/up.star', 'up')\nprint(a, a2, up)\n")
	if err != nil || out != "loading a\n2 2 top\n" {
		t.Errorf("relative loads: %q %s", out, text)
	}
	out, text, err = runMain("load('" + filepath.Join(outside, "ext.star") + "', 'ext')\nload('@stdlib/util.star', 'twice')\nload('@stdlib/absolute.star', 'n')\nprint(ext, twice(1), n)\n")
	if err != nil || out != "42 3 21\n" {
		t.Errorf("absolute and stdlib loads: %q %s", out, text)
	}
	out, text, err = runMain("load('testmod', 'testmod', 'double')\nprint(double(2), testmod.double(3))\n")
	if err != nil || out != "4 6\n" {
		t.Errorf("module load: %q %s", out, text)
	}

	for _, tc := range []struct{ src, want string }{
		{"load('../x.star', 'x')\n", `main.star:1:1: load("../x.star"): path escapes the script folder ` + root + "; use an absolute path to load files outside it"},
		{"load('lib/escape.star', 'x')\n", `escape.star:1:1: load("../../x.star"): path escapes the script folder ` + root},
		{"load('missing.star', 'x')\n", `main.star:1:1: load("missing.star"): no such file ` + filepath.Join(root, "missing.star")},
		{"load('cycle1.star', 'c')\n", `load cycle: `},
		{"load('bad.star', 'x')\n", "bad.star:2:1: got end of file"},
		{"load('fails.star', 'z')\n", "fails.star:2:14: floored division by zero"},
		{"load('lib/b.star', 'nope')\n", "load: name nope not found in module lib/b.star"},
		{"load('tstmod', 'x')\n", `load("tstmod"): no module named "tstmod" (did you mean "testmod"?)`},
		{"load('@stdlib/nope.star', 'x')\n", `load("@stdlib/nope.star"): no such file in the standard library (it has absolute.star, escapes.star, helper.star, util.star)`},
		{"load('@stdlib/escapes.star', 'x')\n", `load("../x.star"): path escapes the standard library`},
		{"load('@other/x.star', 'x')\n", `unknown prefix`},
	} {
		_, text, err := runMain(tc.src)
		if err == nil || !strings.Contains(text, tc.want) {
			t.Errorf("%q:\ngot  %s\nwant %s", tc.src, text, tc.want)
		}
	}
	// The cycle names every file on it.
	_, text, _ = runMain("load('cycle1.star', 'c')\n")
	if !strings.Contains(text, "cycle1.star -> ") || !strings.Contains(text, "cycle2.star -> ") || strings.Count(text, "cycle1.star") < 2 {
		t.Errorf("cycle message: %s", text)
	}
	// A failure inside a loaded file shows the load chain.
	_, text, _ = runMain("load('fails.star', 'z')\n")
	if !strings.Contains(text, "main.star:1:1: in <toplevel>") || !strings.Contains(text, "fails.star:3:6: in <toplevel>") {
		t.Errorf("loaded file's traceback: %s", text)
	}
}

func TestCancel(t *testing.T) {
	for _, src := range []string{
		"x = 0\nwhile True:\n    x += 1\n",
		"def f():\n    testmod.spin()\nf()\n",
	} {
		ctx, cancel := context.WithCancel(context.Background())
		h, err := interp.New(interp.Options{})
		if err != nil {
			t.Fatal(err)
		}
		time.AfterFunc(100*time.Millisecond, cancel)
		err = h.RunString(ctx, "loop.star", src, nil)
		if !errors.Is(err, lang.ErrInterrupted) {
			t.Fatalf("%q: got %v, want an interruption", src, err)
		}
		text := interp.FormatError(err)
		if !strings.HasPrefix(text, "loop.star:") || !strings.Contains(text, ": interrupted\nTraceback") {
			t.Errorf("%q: %s", src, text)
		}
		if strings.Contains(src, "spin") && !strings.Contains(text, "loop.star:2:17: interrupted") {
			t.Errorf("builtin interrupted at the wrong place: %s", text)
		}
	}
}

func TestHelp(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"help()", "help(x)"},
		{"help()", "Modules (no load needed): json, math, nsmod, testmod, time\n\nIn the REPL"},
		{"help(testmod)", "testmod: a module for the interpreter's tests.\n\nIt has a few functions.\n\nmembers:\n  boom          boom() panics, as a buggy builtin would.\n  double        double(x) returns 2 * x."},
		{"help(testmod)", "  undocumented  builtin_function_or_method\n"},
		{"help(testmod.double)", "double(x) returns 2 * x."},
		{"help('testmod.double')", "double(x) returns 2 * x."},
		{"help(p.mean)", "mean() returns the mean of a probe."},
		{"help(p)", "probe value: p\n\nattributes: mean, shape"},
		{"help(config)", "config(**defaults) -> config"},
		{"help(len)", "len(x) is the number of elements of x."},
		{"help(testmod.undocumented)", "testmod.undocumented: a builtin function (no documentation)"},
		{"def f(a, b = 2, *args, c, d = 4, **kw):\n    \"\"\"Does f.\"\"\"\n    pass\nhelp(f)", "f(a, b = 2, *args, c, d = 4, **kw)  (defined at h.star:1:1)\n\nDoes f."},
		{"def g(a, *, k):\n    pass\nhelp(g)", "g(a, *, k)"},
		{"help(json)", "members:\n  decode"},
	} {
		out, _, text, err := run(t, interp.Options{}, "h.star", tc.src)
		if err != nil {
			t.Errorf("%s: %s", tc.src, text)
			continue
		}
		if !strings.Contains(out, tc.want) {
			t.Errorf("%s:\ngot\n%s\nwant it to contain\n%s", tc.src, out, tc.want)
		}
	}
}

func TestREPLPiped(t *testing.T) {
	input := strings.Join([]string{
		"x = 1",
		"x + 1",
		"_ * 10",
		"None",
		"_",
		"def f(a):",
		"    if a > 0:",
		"        return 'pos'",
		"    else:",
		"        return 'neg'",
		"",
		"f(1), f(-1)",
		"for i in range(2):",
		"    print(i)",
		"print('no blank line needed before me')",
		"y = [1,",
		"",
		"     2]",
		"y",
		"undefined_name",
		"1 // 0",
		"x = )",
		"still_running = True",
		"still_running",
		"load('testmod', 'double')",
		"double(4)",
		"p < 1",
		"if amb:",
		"    pass",
		"",
		"s = '''a",
		"b'''",
		"s",
		"def g():",
		"    return 'at eof'",
	}, "\n") + "\ng()\n"
	var out, errOut bytes.Buffer
	h, err := interp.New(interp.Options{Stdout: &out, Stderr: &errOut, Predeclared: probes(), ContinueOnError: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.REPL(context.Background(), strings.NewReader(input), &out); err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"2", "20", "20", `("pos", "neg")`, "0", "1", "no blank line needed before me",
		"[1, 2]", "True", "8", `"p < 1"`, `"a\nb"`, `"at eof"`,
	}, "\n") + "\n"
	if out.String() != want {
		t.Logf("stderr:\n%s", errOut.String())
		t.Errorf("stdout:\n%s\nwant:\n%s", out.String(), want)
	}
	for _, w := range []string{
		"<stdin>:1:1: undefined: undefined_name",
		"<stdin>:1:3: floored division by zero",
		"<stdin>:1:5: unexpected ')'",
		"<stdin>:1:4: the truth value of probe amb is ambiguous",
	} {
		if !strings.Contains(errOut.String(), w) {
			t.Errorf("stderr lacks %q:\n%s", w, errOut.String())
		}
	}
	checkNoGoTrace(t, errOut.String())
}

// was_set tells a --set value from the default even when they are equal.
func TestConfigWasSet(t *testing.T) {
	src := "cfg = config(n = 1, m = 2)\nprint(cfg.was_set('n'), cfg.was_set('m'), cfg.replace(m = 3).was_set('n'))\n"
	out, _, text, err := run(t, interp.Options{Overrides: []string{"n=1"}}, "c.star", src)
	if err != nil {
		t.Fatal(text)
	}
	if got := strings.TrimSpace(out); got != "True False True" {
		t.Errorf("was_set: %s", got)
	}
}

package interp_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/dadash/dadash/interp"
	"github.com/dadash/dadash/lang"
)

// A Go panic in any builtin of a Namespace module (a member made without
// lang.Func, an operator its fallback resolves) or in a method made with
// lang.Safe is an error at the script position naming the builtin.
func TestPanicsHavePositions(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"x = 1\nnsmod.crash()\n", "e.star:2:12: nsmod.crash: internal error: assignment to entry in nil map (this is a bug in dadash"},
		{"def f():\n    return nsmod.op_crash()\nf()\n", "e.star:2:26: nsmod.op_crash: internal error: runtime error: index out of range [3] with length 0"},
		{"g = nsmod.gadget()\ng.spin()\n", "e.star:2:7: gadget.spin: internal error: gear stripped"},
	} {
		_, _, text, err := run(t, interp.Options{}, "e.star", tc.src)
		var pe *lang.PanicError
		if !errors.As(err, &pe) {
			t.Errorf("%q: got %v, want a *lang.PanicError", tc.src, err)
		}
		if !strings.HasPrefix(text, tc.want) {
			t.Errorf("%q:\ngot  %s\nwant %s...", tc.src, text, tc.want)
		}
		checkNoGoTrace(t, text)
	}
}

// Every module is a lang.Namespace: starlarkstruct modules (json, math,
// time, testmod) and Namespaces (nsmod) alike are listed by help(), have
// type "module", and dir() includes what a fallback resolves.
func TestModulesAlike(t *testing.T) {
	out, _, text, err := run(t, interp.Options{}, "m.star", `help()
print([type(m) for m in [json, math, time, testmod, nsmod]])
print(dir(nsmod))
print(nsmod.op_log2(), nsmod.op_anything())
help(nsmod)
`)
	if err != nil {
		t.Fatal(text)
	}
	for _, w := range []string{
		"Modules (no load needed): json, math, nsmod, testmod, time\n",
		`["module", "module", "module", "module", "module"]`,
		`["crash", "fails", "gadget", "op_log2", "op_logical_and"]`,
		"op_log2 op_anything",
		"nsmod: a Namespace module for the interpreter's tests.\n\nmembers:\n  crash ",
		"and 2 libtorch operators: dir(nsmod) lists them",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

// Errors are said once, in one style: no "Error in"/"Error:" line repeating
// the message, the builtin named once, and its name added when its message
// lacks it.
func TestErrorSaidOnce(t *testing.T) {
	for _, tc := range []struct{ src, head string }{
		{"testmod.double('x')\n", "e.star:1:15: testmod.double: for parameter x: got string, want int"},
		{"nsmod.fails()\n", "e.star:1:12: nsmod.fails: the widget is broken"},
		{"def f():\n    return 1 // 0\nf()\n", "e.star:2:14: floored division by zero"},
		{"fail('custom message')\n", "e.star:1:5: fail: custom message"},
	} {
		_, _, text, err := run(t, interp.Options{}, "e.star", tc.src)
		if err == nil {
			t.Fatalf("%q: no error", tc.src)
		}
		if first, _, _ := strings.Cut(text, "\n"); first != tc.head {
			t.Errorf("%q: first line\n%s\nwant\n%s", tc.src, first, tc.head)
		}
		msg := tc.head[strings.LastIndex(tc.head, ": ")+2:]
		if n := strings.Count(text, msg); n != 1 {
			t.Errorf("%q: the message appears %d times:\n%s", tc.src, n, text)
		}
		if strings.Contains(text, "Error in") || strings.Contains(text, "Error:") {
			t.Errorf("%q: a repeated error line:\n%s", tc.src, text)
		}
	}
}

// The standard library's frames appear only when the error is inside it;
// a fail() of the library is placed at the script line that called it.
func TestStdlibFrames(t *testing.T) {
	stdlib := fstest.MapFS{
		"lib.star": {Data: []byte(`def check(n):
    if n < 0:
        fail("n must be at least 0, got %d" % n)
    return _inner(n)

def _inner(n):
    return 10 // n

def each(xs, fn):
    return [fn(x) for x in xs]
`)},
	}
	runLib := func(src string) string {
		t.Helper()
		var out bytes.Buffer
		h, err := interp.New(interp.Options{Stdout: &out, Stderr: &out, Stdlib: stdlib})
		if err != nil {
			t.Fatal(err)
		}
		err = h.RunString(context.Background(), "user.star", src, nil)
		if err == nil {
			t.Fatalf("%q: no error", src)
		}
		return interp.FormatError(err)
	}
	// fail() inside the library: the user's line, the function called.
	text := runLib("load('@stdlib/lib.star', 'check')\ndef go():\n    check(-1)\ngo()\n")
	want := "user.star:3:10: check: n must be at least 0, got -1\nTraceback (most recent call last):\n  user.star:4:3: in <toplevel>\n  user.star:3:10: in go"
	if text != want {
		t.Errorf("fail in stdlib:\ngot\n%s\nwant\n%s", text, want)
	}
	// A runtime error inside the library shows its frames.
	text = runLib("load('@stdlib/lib.star', 'check')\ncheck(0)\n")
	want = "@stdlib/lib.star:7:15: floored division by zero\nTraceback (most recent call last):\n  user.star:2:6: in <toplevel>\n  @stdlib/lib.star:4:18: in check\n  @stdlib/lib.star:7:15: in _inner"
	if text != want {
		t.Errorf("error in stdlib:\ngot\n%s\nwant\n%s", text, want)
	}
	// The user's own function called back by the library: no library frames.
	text = runLib("load('@stdlib/lib.star', 'each')\ndef bad(x):\n    return x // 0\neach([1], bad)\n")
	want = "user.star:3:14: floored division by zero\nTraceback (most recent call last):\n  user.star:4:5: in <toplevel>\n  user.star:3:14: in bad"
	if text != want {
		t.Errorf("callback error:\ngot\n%s\nwant\n%s", text, want)
	}
}

// Code a command generates (dadash eval) never appears in messages.
func TestGeneratedCodeHidden(t *testing.T) {
	stdlib := fstest.MapFS{
		"lib.star": {Data: []byte("def check(n):\n    if n < 0:\n        fail('n must be at least 0, got %d' % n)\n    return testmod.double(n)\n")},
	}
	h, err := interp.New(interp.Options{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}, Stdlib: stdlib})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ src, want string }{
		{"load('@stdlib/lib.star', 'check')\ncheck(-2)\n", "check: n must be at least 0, got -2"},
		{"load('@stdlib/lib.star', 'check')\ncheck('x')\n", "@stdlib/lib.star:2:10: string < int not implemented\nTraceback (most recent call last):\n  @stdlib/lib.star:2:10: in check"},
		{"x = testmod.double('x')\n", "testmod.double: for parameter x: got string, want int"},
	} {
		err := h.RunGenerated(context.Background(), "<gen>", tc.src)
		text := interp.FormatError(err)
		if text != tc.want {
			t.Errorf("%q:\ngot\n%s\nwant\n%s", tc.src, text, tc.want)
		}
	}
}

// Input that is not a terminal runs like a script: the first error ends
// it, and REPL returns that error.
func TestPipedInputStops(t *testing.T) {
	var out, errOut bytes.Buffer
	h, err := interp.New(interp.Options{Stdout: &out, Stderr: &errOut})
	if err != nil {
		t.Fatal(err)
	}
	err = h.REPL(context.Background(), strings.NewReader("print('before')\nx * y\nprint('after')\n"), &out)
	if err == nil {
		t.Fatal("no error")
	}
	if out.String() != "before\n" || errOut.String() != "" {
		t.Errorf("stdout %q, stderr %q", out.String(), errOut.String())
	}
	if text := interp.FormatError(err); !strings.Contains(text, "<stdin>:1:1: undefined: x") {
		t.Errorf("error: %s", text)
	}
	out.Reset()
	err = h.REPL(context.Background(), strings.NewReader("x = 1\nx // 0\nprint('after')\n"), &out)
	if text := interp.FormatError(err); !strings.HasPrefix(text, "<stdin>:1:3: floored division by zero") || strings.Contains(out.String(), "after") {
		t.Errorf("runtime error: %s; stdout %q", text, out.String())
	}
}

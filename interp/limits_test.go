package interp_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dadash/dadash/interp"
)

// budget is small so that the tests allocate little; every hostile
// expression would take gigabytes.
const testBudget = 256 << 20

// TestMemoryBudget: operations that would make a value larger than the
// budget fail with a clear error before allocating, in every mode.
func TestMemoryBudget(t *testing.T) {
	shared := "x = [0] * 1000\ny = [x] * 1000\nz = [y] * 1000\n" // 10^9 elements when printed, 24 KB in memory
	for _, src := range []string{
		"v = [0] * 10**9",
		"v = 10**9 * [0]",
		"v = (0,) * 10**9",
		"v = 'ab' * 10**9",
		"v = b'ab' * 10**9",
		"v = [0]\nv *= 10**9",
		"d = {'k': [0]}\nd['k'] *= 10**9",
		"v = list(range(10**9))",
		"v = tuple(range(10**9))",
		"v = sorted(range(10**9))",
		"v = enumerate(range(10**9))",
		"v = zip(range(10**9), range(10**9))",
		"v = set(range(10**9))",
		"v = []\nv += range(10**9)",
		"v = []\nv.extend(range(10**9))",
		"v = ','.join(['a' * 1000000] * 1000)",
		"v = ('a' * 100000).replace('a', 'a' * 100000)",
		"v = '%2000000000d' % 1",
		"v = '%*d' % (2000000000, 1)",
		"v = '{:2000000000}'.format(1)",
		"v = '{:{w}}'.format(1, w = 2000000000)",
		shared + "v = str(z)",
		shared + "v = repr(z)",
		shared + "print(z)",
		shared + "v = json.encode(z)",
		shared + "v = '%s' % (z,)",
		shared + "f = '%s'\nv = f % (z,)",
		shared + "v = '{}'.format(z)",
		shared + "f = '{}'\nv = f.format(z)",
		shared + "fail(z)",
		shared + "def f():\n    return str(z)\nf()",
	} {
		t.Run(strings.SplitN(strings.TrimPrefix(src, shared), "\n", 2)[0], func(t *testing.T) {
			_, _, text, err := run(t, interp.Options{MaxMemory: testBudget}, "m.star", src+"\n")
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(text, "memory budget") || !strings.Contains(text, "--max-memory") || !strings.Contains(text, "m.star:") {
				t.Fatalf("unclear error:\n%s", text)
			}
			checkNoGoTrace(t, text)
		})
	}
}

// TestMemoryWatcher: a value grown step by step is stopped by the heap
// watcher once it passes the budget.
func TestMemoryWatcher(t *testing.T) {
	src := "l = []\nfor i in range(10**9):\n    l.append(\"%d\" % i * 100)\n"
	_, _, text, err := run(t, interp.Options{MaxMemory: testBudget}, "grow.star", src)
	if err == nil {
		t.Fatal("no error")
	}
	if !strings.Contains(text, "memory budget exceeded") || !strings.Contains(text, "grow.star:3") {
		t.Fatalf("unclear error:\n%s", text)
	}
	checkNoGoTrace(t, text)
}

// TestStepLimit: an endless loop stops after MaxSteps with the position.
func TestStepLimit(t *testing.T) {
	src := "def spin():\n    n = 0\n    while True:\n        n += 1\nspin()\n"
	_, _, text, err := run(t, interp.Options{MaxSteps: 1000000}, "spin.star", src)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"spin.star:", "1000000 execution steps", "--max-steps"} {
		if !strings.Contains(text, want) {
			t.Errorf("error lacks %q:\n%s", want, text)
		}
	}
	checkNoGoTrace(t, text)
	// Each run starts its count afresh; a short script runs under the limit.
	h, err := interp.New(interp.Options{MaxSteps: 1000, Stdout: &strings.Builder{}, Stderr: &strings.Builder{}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := h.RunString(context.Background(), "short.star", "x = [i for i in range(100)]\n", nil); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
}

// TestLoadSymlinks: load() cannot leave the script folder through a link,
// in every mode (the README's promise), while links inside it work.
func TestLoadSymlinks(t *testing.T) {
	base, _ := filepath.EvalSymlinks(t.TempDir())
	dir, outside := filepath.Join(base, "proj"), filepath.Join(base, "outside")
	for _, d := range []string{filepath.Join(dir, "lib"), outside} {
		os.MkdirAll(d, 0o755)
	}
	write := func(p, src string) {
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(outside, "secret.star"), "secret = 42\n")
	write(filepath.Join(dir, "lib", "util.star"), "util = 1\n")
	os.Symlink(filepath.Join(outside, "secret.star"), filepath.Join(dir, "link.star"))
	os.Symlink(outside, filepath.Join(dir, "outlink"))
	os.Symlink(filepath.Join(dir, "lib", "util.star"), filepath.Join(dir, "alias.star"))
	for _, tc := range []struct{ src, want string }{
		{`load("link.star", "secret")`, "through a symbolic link"},
		{`load("outlink/secret.star", "secret")`, "through a symbolic link"},
		{`load("lib/../outlink/secret.star", "secret")`, "through a symbolic link"},
		{`load("../outside/secret.star", "secret")`, "escapes the script folder"},
		{`load("alias.star", "util")` + "\nprint(util)", ""},
		{`load("lib/util.star", "util")` + "\nprint(util)", ""},
		{`load("` + filepath.Join(outside, "secret.star") + `", "secret")` + "\nprint(secret)", ""}, // absolute: allowed outside --sandbox
	} {
		main := filepath.Join(dir, "main.star")
		write(main, tc.src+"\n")
		var out, errOut strings.Builder
		h, _ := interp.New(interp.Options{Stdout: &out, Stderr: &errOut})
		err := h.RunFile(context.Background(), main, nil)
		text := interp.FormatError(err)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: %s", tc.src, text)
			}
			continue
		}
		if err == nil || !strings.Contains(text, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.src, text, tc.want)
		}
	}
	// In --sandbox, an absolute load outside the readable folders fails.
	main := filepath.Join(dir, "main.star")
	write(main, `load("`+filepath.Join(outside, "secret.star")+`", "secret")`+"\n")
	h, _ := interp.New(interp.Options{Sandbox: true, Stdout: &strings.Builder{}, Stderr: &strings.Builder{}})
	text := interp.FormatError(h.RunFile(context.Background(), main, nil))
	if !strings.Contains(text, "outside the folders this --sandbox run may read") {
		t.Errorf("sandboxed absolute load: %s", text)
	}
	h, _ = interp.New(interp.Options{Sandbox: true, AllowRead: []string{outside}, Stdout: &strings.Builder{}, Stderr: &strings.Builder{}})
	if err := h.RunFile(context.Background(), main, nil); err != nil {
		t.Errorf("--allow-read did not allow the load: %s", interp.FormatError(err))
	}
	// A script run through a link loads relative to where it really is.
	write(filepath.Join(outside, "main2.star"), `load("secret.star", "secret")`+"\n")
	os.Symlink(filepath.Join(outside, "main2.star"), filepath.Join(dir, "run.star"))
	h, _ = interp.New(interp.Options{Stdout: &strings.Builder{}, Stderr: &strings.Builder{}})
	if err := h.RunFile(context.Background(), filepath.Join(dir, "run.star"), nil); err != nil {
		t.Errorf("a linked script: %s", interp.FormatError(err))
	}
}

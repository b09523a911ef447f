package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// binary is dadash built without cgo for these tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "dadash-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "dadash")
	build := exec.Command("go", "build", "-ldflags=-X=main.version=v9.9.9-test", "-o", binary, ".")
	// The binary links libtorch through cgo: the CGO flags come from the
	// environment (make test, or eval "$(make -s env)").
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building dadash: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	code           int
	stdout, stderr string
}

// dadash runs the binary in dir with stdin and returns what it did.
func dadash(t *testing.T, dir, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "DADASH_HISTORY=-")
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	r := result{code, out.String(), errOut.String()}
	for _, bad := range []string{"panic:", "goroutine "} {
		if strings.Contains(r.stdout+r.stderr, bad) {
			t.Errorf("dadash %q printed %q:\n%s%s", args, bad, r.stdout, r.stderr)
		}
	}
	return r
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func (r result) check(t *testing.T, what string, code int, stdout string, stderrParts ...string) {
	t.Helper()
	if r.code != code {
		t.Errorf("%s: exit %d, want %d\nstdout: %s\nstderr: %s", what, r.code, code, r.stdout, r.stderr)
	}
	if stdout != "*" && r.stdout != stdout {
		t.Errorf("%s: stdout %q, want %q", what, r.stdout, stdout)
	}
	for _, p := range stderrParts {
		if !strings.Contains(r.stderr, p) {
			t.Errorf("%s: stderr lacks %q:\n%s", what, p, r.stderr)
		}
	}
}

func TestScripts(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"ok.star":       "load('@stdlib/util.star', 'mean')\nprint('mean', mean([1, 2]), args)\n",
		"fail.star":     "def f(x):\n    return x // 0\n\nf(1)\n",
		"syntax.star":   "x = [1,\n",
		"undef.star":    "print(nope)\n",
		"loadmiss.star": "load('missing.star', 'x')\n",
		"escape.star":   "load('../x.star', 'x')\n",
		"cfg.star":      "cfg = config(epochs = 1, lr = 0.1, tags = ['a'], on = False)\nprint(cfg.epochs, cfg.lr, cfg.tags, cfg.on)\n",
	})
	dadash(t, dir, "", "ok.star", "a", "--set", "k=v", "b", "--", "--set", "x").check(t, "args", 0,
		"mean 1.5 [\"a\", \"b\", \"--set\", \"x\"]\n", "warning: --set k=v was not used")
	dadash(t, dir, "", "run", "ok.star", "z").check(t, "run", 0, "mean 1.5 [\"z\"]\n")
	dadash(t, dir, "", "fail.star").check(t, "runtime error", 1, "",
		"fail.star:2:14: floored division by zero\nTraceback (most recent call last):\n  fail.star:4:2: in <toplevel>\n  fail.star:2:14: in f\n")
	dadash(t, dir, "", "syntax.star").check(t, "syntax error", 1, "", "syntax.star:2:1: got end of file, want ']'")
	dadash(t, dir, "", "undef.star").check(t, "undefined", 1, "", "undef.star:1:7: undefined: nope")
	dadash(t, dir, "", "loadmiss.star").check(t, "missing load", 1, "",
		`loadmiss.star:1:1: load("missing.star"): no such file `+filepath.Join(dir, "missing.star"))
	dadash(t, dir, "", "escape.star").check(t, "escaping load", 1, "",
		`escape.star:1:1: load("../x.star"): path escapes the script folder `+dir+"; use an absolute path")
	// The script path may be anywhere; messages use it as given.
	dadash(t, filepath.Dir(dir), "", filepath.Join(filepath.Base(dir), "fail.star")).check(t, "path as given", 1, "",
		filepath.Join(filepath.Base(dir), "fail.star")+":2:14:")
}

func TestOverrides(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"cfg.star": "cfg = config(epochs = 1, lr = 0.1, tags = ['a'], on = False, batch_size = 8)\nprint(cfg.epochs, cfg.lr, cfg.tags, cfg.on, cfg.batch_size)\n",
	})
	dadash(t, dir, "", "--set=epochs=3", "--set", "lr=1", "cfg.star", "--set", "tags=x,y", "--set=on=yes").check(t, "typed", 0,
		"3 1.0 [\"x\", \"y\"] True 8\n")
	dadash(t, dir, "", "cfg.star", "--set", "batch_size=abc").check(t, "bad int", 2, "",
		`dadash: --set batch_size=abc: batch_size is an int, got "abc"`)
	dadash(t, dir, "", "cfg.star", "--set", "epoch=2").check(t, "unknown key", 2, "",
		`config() has no setting "epoch" (did you mean "epochs"?); its settings: batch_size, epochs, lr, on, tags (dadash SCRIPT --help describes them)`)
	dadash(t, dir, "", "--set", "oops", "cfg.star").check(t, "malformed", 2, "", "--set oops: expected key=value")
	dadash(t, dir, "", "cfg.star", "--set").check(t, "dangling --set", 2, "", "--set needs key=value")
}

func TestProgramAndREPL(t *testing.T) {
	dir := t.TempDir()
	dadash(t, dir, "", "-c", "print(1 + 1, args)", "x").check(t, "-c", 0, "2 [\"x\"]\n")
	dadash(t, dir, "", "--threads", "2", "-c", "print('ok')").check(t, "--threads", 0, "ok\n")
	dadash(t, dir, "", "-c", "1 // 0").check(t, "-c error", 1, "", "<cmd>:1:3: floored division by zero")
	dadash(t, dir, "x = 1\nx + 1\n").check(t, "pipe", 0, "2\n")
	// Piped input runs like a script: it stops at the first error, status 1.
	dadash(t, dir, "def f():\n    return 'f'\n\nf()\nnope\nprint('not reached')\n").check(t, "pipe with errors", 1,
		"\"f\"\n", "<stdin>:1:1: undefined: nope")
	r := dadash(t, dir, "x = config(n = 1).n\nx\n", "--set", "n=5")
	r.check(t, "REPL config", 0, "5\n")
}

func TestUsage(t *testing.T) {
	dir := t.TempDir()
	dadash(t, dir, "", "--frob").check(t, "unknown flag", 2, "", "dadash: unknown flag --frob")
	dadash(t, dir, "", "-c").check(t, "-c without program", 2, "", "-c needs a program")
	dadash(t, dir, "", "frob").check(t, "unknown command", 2, "", "no such script or command frob")
	dadash(t, dir, "", "foo.star").check(t, "missing script", 2, "", "dadash: no such script foo.star")
	dadash(t, dir, "", "run").check(t, "run without script", 2, "", "run: missing script")
	dadash(t, dir, "", "run", "--bad").check(t, "run bad flag", 2, "", "unknown flag --bad")
	dadash(t, dir, "", "version", "extra").check(t, "version args", 2, "", "version takes no arguments")
	dadash(t, dir, "", "--threads", "zero").check(t, "bad threads", 2, "", "--threads zero: want a positive number")
	dadash(t, dir, "", ".").check(t, "folder", 2, "", ". is a folder, not a script")

	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		r := dadash(t, dir, "", args...)
		r.check(t, strings.Join(args, " "), 0, "*")
		for _, w := range []string{"usage: dadash [flags] [FILE.star [args...]]", "run FILE.star [args...]", "version", "--set key=value", "--threads N", "-c PROGRAM"} {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("%v: usage lacks %q:\n%s", args, w, r.stdout)
			}
		}
	}
	for _, args := range [][]string{{"run", "--help"}, {"help", "run"}, {"run", "-h"}} {
		r := dadash(t, dir, "", args...)
		r.check(t, strings.Join(args, " "), 0, "*")
		if !strings.Contains(r.stdout, "usage: dadash run FILE.star [args...]") {
			t.Errorf("%v: %s", args, r.stdout)
		}
	}
	r := dadash(t, dir, "", "version", "--help")
	r.check(t, "version --help", 0, "*")
	if !strings.HasPrefix(r.stdout, "usage: dadash version") {
		t.Errorf("version --help: %s", r.stdout)
	}
}

func TestVersion(t *testing.T) {
	r := dadash(t, t.TempDir(), "", "version")
	r.check(t, "version", 0, "*")
	if !strings.HasPrefix(r.stdout, "dadash v9.9.9-test\n") {
		t.Errorf("version: %q", r.stdout)
	}
}

func TestInterrupt(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"loop.star": "print('started')\nn = 0\nwhile True:\n    n += 1\n",
	})
	cmd := exec.Command(binary, "loop.star")
	cmd.Dir = dir
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "started\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	time.Sleep(100 * time.Millisecond) // well inside the loop
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, stdout)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("dadash did not stop after SIGINT")
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Errorf("exit: %v, want status 130", err)
	}
	text := errOut.String()
	if !strings.Contains(text, ": interrupted") || !strings.Contains(text, "loop.star:3:") && !strings.Contains(text, "loop.star:4:") {
		t.Errorf("stderr does not say where it stopped:\n%s", text)
	}
	if strings.Contains(text, "panic:") || strings.Contains(text, "goroutine ") {
		t.Errorf("Go trace in output:\n%s", text)
	}
}

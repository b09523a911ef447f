package main

import (
	"strings"
	"testing"
)

// firstLine is the first line of an error report.
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// Errors are said once, in one style: "file:line:col: module.function:
// message", the traceback of the user's frames, no repeated "Error:" line,
// no stutter, shapes as torch.Size, native messages translated.
func TestErrorsSaidOnce(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"mean.star": "load('@stdlib/util.star', 'mean')\ndef f(xs):\n    return mean(xs)\nf([])\n",
	})
	for _, tc := range []struct {
		args  []string
		first string   // the first line of stderr
		also  []string // more parts of stderr
		never []string // what stderr must not contain
	}{
		{[]string{"-c", "x = 1\ntorch.zeros('a')"}, "<cmd>:2:12: torch.zeros: size must be ints, got string at position 1",
			nil, []string{"torch.zeros: torch.zeros", "Error"}},
		{[]string{"-c", "torch.zeros(100000, 100000, 100)"},
			"<cmd>:1:12: torch.zeros: out of memory: torch.zeros(100000, 100000, 100) needs 3,725 GiB of CPU memory (this machine has ",
			nil, []string{"enforce fail", "alloc_cpu", "[100000 100000 100]", "Error"}},
		{[]string{"-c", "torch.zeros(2, 3) + torch.ones(4, 5)"}, "<cmd>:1:19: torch.add: The size of tensor a (3) must match the size of tensor b (5) at non-singleton dimension 1",
			[]string{"arguments: float32 tensor of torch.Size([2, 3]), float32 tensor of torch.Size([4, 5])"}, []string{"Tensor[", "Error"}},
		{[]string{"-c", "nn.Linear(3, 4)(torch.zeros(2, 5))"}, "<cmd>:1:16: Linear(in_features=3): linear: mat1 and mat2 shapes cannot be multiplied (2x5 and 3x4) (input shape torch.Size([2, 5]))",
			nil, []string{"Error"}},
		{[]string{"-c", "losses.proxy_anchor(3, 4)(torch.zeros(2, 5), torch.tensor([0, 1]))"}, "",
			[]string{"got torch.Size([2, 5])"}, []string{"(2, 5)", "Error"}},
		{[]string{"-c", "metrics.compute(torch.zeros(4), torch.tensor([0, 0, 1, 1]), ['e_recall@1'])"}, "",
			[]string{"got torch.Size([4])"}, []string{"[4]\n", "Error"}},
		// A fail() inside the standard library is placed at the user's call.
		{[]string{"mean.star"}, "mean.star:3:16: mean: empty list",
			[]string{"Traceback (most recent call last):\n  mean.star:4:2: in <toplevel>\n  mean.star:3:16: in f\n"}, []string{"@stdlib", "fail:", "Error"}},
		// eval's own code and the library's frames are not shown.
		{[]string{"eval", "--test_path", "nonexist.ckpt"}, "checkpoint.load: cannot read nonexist.ckpt: no such file or directory",
			nil, []string{"<eval>", "@stdlib", "Traceback", "Error"}},
	} {
		r := dadash(t, dir, "", tc.args...)
		what := strings.Join(tc.args, " ")
		r.check(t, what, 1, "", tc.also...)
		if tc.first != "" && !strings.HasPrefix(firstLine(r.stderr), tc.first) {
			t.Errorf("%s: first line\n%s\nwant it to start with\n%s", what, firstLine(r.stderr), tc.first)
		}
		for _, bad := range tc.never {
			if strings.Contains(r.stderr, bad) {
				t.Errorf("%s: stderr contains %q:\n%s", what, bad, r.stderr)
			}
		}
		// The message is said once.
		msg := firstLine(r.stderr)
		if i := strings.LastIndex(msg, ": "); i >= 0 {
			msg = msg[i+2:]
		}
		if n := strings.Count(r.stderr, msg); msg != "" && n != 1 {
			t.Errorf("%s: %q appears %d times:\n%s", what, msg, n, r.stderr)
		}
	}
}

// Piped input stops at the first error with status 1, as a script does.
func TestPipedInputStops(t *testing.T) {
	r := dadash(t, t.TempDir(), "x * y\nprint(\"after\")\n")
	r.check(t, "piped error", 1, "", "<stdin>:1:1: undefined: x")
	r = dadash(t, t.TempDir(), "print('before')\nx = 1 // 0\nprint('after')\n")
	r.check(t, "piped runtime error", 1, "before\n", "<stdin>:1:7: floored division by zero")
}

// help() lists every registered module; dir(torch) includes the libtorch
// operators that work; `dadash help CMD` is `dadash CMD --help`.
func TestHelpAndDir(t *testing.T) {
	dir := t.TempDir()
	r := dadash(t, dir, "", "-c", "help()")
	r.check(t, "help()", 0, "*")
	if !strings.Contains(r.stdout, "Modules (no load needed): checkpoint, dada, data, dist, json, losses, manifold, math, metrics, models, nn, optim, os, plot, report, time, torch\n") {
		t.Errorf("help() modules:\n%s", r.stdout)
	}
	r = dadash(t, dir, "", "-c", `names = dir(torch)
print("log2" in names, "logical_and" in names, "zeros" in names, "linalg" in names)
print("norm" in dir(torch.linalg), "_unique2" in names)
print(torch.log2(torch.tensor([8.0])).item(), torch.logical_and(torch.tensor([True, False]), torch.tensor([True, True])).tolist())
`)
	r.check(t, "dir(torch)", 0, "True True True True\nTrue False\n3.0 [True, False]\n")

	for _, name := range []string{"eval", "run", "version"} {
		a := dadash(t, dir, "", "help", name)
		b := dadash(t, dir, "", name, "--help")
		a.check(t, "help "+name, 0, "*")
		if a.stdout != b.stdout || !strings.HasPrefix(a.stdout, "usage: dadash "+name) {
			t.Errorf("dadash help %s differs from dadash %s --help:\n%s\n---\n%s", name, name, a.stdout, b.stdout)
		}
	}
}

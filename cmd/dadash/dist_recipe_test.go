package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// logCells reads a log.csv into rows of column -> value, timings left out.
func logCells(t *testing.T, path string) []map[string]string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	head := strings.Split(lines[0], ",")
	var out []map[string]string
	for _, l := range lines[1:] {
		row := map[string]string{}
		for i, v := range strings.Split(l, ",") {
			if head[i] != "seconds" && head[i] != "data_wait" {
				row[head[i]] = v
			}
		}
		out = append(out, row)
	}
	return out
}

// sameRuns compares two logs cell by cell: equal text, or numbers within
// tol (float32 rounding differs with the batch split; a metric may move by
// one tie in a ranking).
func sameRuns(t *testing.T, what string, got, want []map[string]string, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d epochs, want %d", what, len(got), len(want))
	}
	for e := range want {
		for k, w := range want[e] {
			g := got[e][k]
			if g == w {
				continue
			}
			gf, err1 := strconv.ParseFloat(g, 64)
			wf, err2 := strconv.ParseFloat(w, 64)
			if err1 != nil || err2 != nil || !(gf-wf <= tol && wf-gf <= tol) {
				t.Errorf("%s: epoch %d, %s = %q, want %q", what, e+1, k, g, w)
			}
		}
	}
}

// A recipe run in 2 processes ends as the 1-process run does, writes one
// set of outputs, and resumes with another process count.
func TestDistRecipe(t *testing.T) {
	if testing.Short() {
		t.Skip("trains ResNet-18s in several processes; skipped with -short")
	}
	root, _ := filepath.Abs("../..")
	script := filepath.Join(root, "scripts", "cub200.star")
	dir := t.TempDir()
	common := []string{"--synthetic", "--arch", "resnet18", "--dada", "false", "--d_warmup", "0", "--view", "false"}
	run := func(nproc int, save string, extra ...string) result {
		args := []string{"run"}
		if nproc > 1 {
			args = append(args, "--nproc_per_node", strconv.Itoa(nproc))
		}
		args = append(append(append(args, script), common...), append([]string{"--save_path", save}, extra...)...)
		r, _ := runDadash(t, dir, nil, 10*time.Minute, args...)
		return r
	}
	one := filepath.Join(dir, "one")
	run(1, one, "--epochs", "2").check(t, "1 process", 0, "*")
	two := filepath.Join(dir, "two")
	r := run(2, two, "--epochs", "2")
	r.check(t, "2 processes", 0, "*")
	if strings.Count(r.stdout, "epoch 2: e_recall@1") != 1 || strings.Contains(r.stdout+r.stderr, "[rank 1] epoch") {
		t.Errorf("the evaluation is printed by rank 0 only, once:\n%s\n%s", r.stdout, r.stderr)
	}
	sameRuns(t, "2 processes against 1", logCells(t, filepath.Join(two, "log.csv")), logCells(t, filepath.Join(one, "log.csv")), 2e-3)
	entries, _ := os.ReadDir(two)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	for _, n := range names {
		if strings.HasPrefix(n, ".") || strings.Contains(n, "tmp") {
			t.Errorf("the 2-process run left %s in its folder (%v)", n, names)
		}
	}

	// Stopped after epoch 1 in 2 processes, resumed for epoch 2 in 1.
	mixed := filepath.Join(dir, "mixed")
	run(2, mixed, "--epochs", "1").check(t, "2 processes, epoch 1", 0, "*")
	run(1, mixed, "--epochs", "2", "--resume", filepath.Join(mixed, "checkpoint_last.ckpt")).check(t, "resumed in 1 process", 0, "*")
	sameRuns(t, "2 then 1 processes against 1", logCells(t, filepath.Join(mixed, "log.csv")), logCells(t, filepath.Join(one, "log.csv")), 2e-3)
}

// A process that fails mid-run stops the job: the launcher exits non-zero
// naming it, and the last checkpoint rank 0 wrote loads.
func TestDistFailureKeepsCheckpoint(t *testing.T) {
	if testing.Short() {
		t.Skip("trains in several processes; skipped with -short")
	}
	dir := t.TempDir()
	script, _ := filepath.Abs(filepath.Join("testdata", "dist", "fail_rank1.star"))
	r, _ := runDadash(t, dir, nil, 10*time.Minute, "run", "--nproc_per_node", "2", script)
	r.check(t, "failing rank", 1, "*", "rank 1", "rank 1 gives up in epoch 2")
	ck := filepath.Join(dir, "run", "checkpoint_last.ckpt")
	r, _ = runDadash(t, dir, nil, time.Minute, "-c", `ck = checkpoint.load("`+ck+`"); print(ck.epoch, len(ck.rows))`)
	r.check(t, "checkpoint loads", 0, "0 1\n")
}

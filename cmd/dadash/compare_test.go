package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCompareCommand(t *testing.T) {
	dir := t.TempDir()
	for _, seed := range []string{"0", "1"} {
		run := filepath.Join(dir, "runs", "seed_"+seed)
		os.MkdirAll(run, 0o755)
		log := "epoch,seconds,lr,loss,best,proxy,mAP_R\n1,1,0.1,2,0,2,0.3\n2,1,0.1,1.5,1,1.5,0.3" + seed + "\n"
		os.WriteFile(filepath.Join(run, "log.csv"), []byte(log), 0o644)
		os.WriteFile(filepath.Join(run, "run.json"), []byte(`{"format": "dadash.run", "version": 1, "epochs": 2, "finished": true,
			"metrics": ["mAP_R"], "parts": ["proxy"], "config": {"dataset": "cub200", "seed": `+seed+`, "epochs": 2}}`), 0o644)
	}
	r := dadash(t, dir, "", "compare", "runs", "-o", "out/cmp.html")
	if r.code != 0 || !strings.Contains(r.stdout, "2 runs in 1 group") || !strings.Contains(r.stdout, "compare: out/cmp.html") {
		t.Fatalf("compare: exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
	b, err := os.ReadFile(filepath.Join(dir, "out", "cmp.html"))
	if err != nil || !strings.Contains(string(b), "0.3050 ± 0.0071") || !strings.Contains(string(b), "dadash v9.9.9-test") {
		t.Errorf("the page lacks the group's mean ± std or dadash's version (%v)", err)
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"compare"}, exitUsage, "compare: give the run folders"},
		{[]string{"compare", "runs", "--colour"}, exitUsage, "unknown flag --colour"},
		{[]string{"compare", "runs", "-o"}, exitUsage, "-o needs a value"},
		{[]string{"compare", "nowhere"}, exitError, "dadash compare: nowhere: no such folder"},
		{[]string{"compare", "out"}, exitError, "out is not a run folder: it holds no log.csv"},
	} {
		r := dadash(t, dir, "", c.args...)
		if r.code != c.code || !strings.Contains(r.stderr, c.want) {
			t.Errorf("dadash %v: exit %d, stderr %q; want %d and %q", c.args, r.code, r.stderr, c.code, c.want)
		}
	}
	if r := dadash(t, dir, "", "compare", "--help"); r.code != 0 || !strings.Contains(r.stdout, "usage: dadash compare DIR...") {
		t.Errorf("compare --help: %d %q", r.code, r.stdout)
	}
}

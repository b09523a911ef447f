package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Issue 10's wasted runs, each as the user typed it.

// Flags after the script are settings (the reference's spellings too), and
// --help describes the recipe instead of running it.
func TestRecipeFlags(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a small ResNet-50; skipped with -short")
	}
	root, _ := filepath.Abs("../..")
	script := filepath.Join(root, "scripts", "cub200.star")
	dir := t.TempDir()
	r := dadash(t, dir, "", script, "--help")
	r.check(t, "--help", 0, "*")
	for _, want := range []string{"CUB-200-2011", "Settings", "epochs", "int", "60", "--n_epochs = --epochs", "DADA: "} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("--help does not show %q:\n%s", want, r.stdout)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "log.csv")); err == nil {
		t.Errorf("--help ran the recipe")
	}

	save := filepath.Join(dir, "run")
	dadash(t, dir, "", script, "--synthetic", "--n_epochs", "1", "--lr", "0.1", "--save_path", save).check(t, "flags", 0, "*")
	log, err := os.ReadFile(filepath.Join(save, "log.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(log)), "\n")
	if len(lines) != 2 {
		t.Fatalf("--n_epochs 1 gave %d epochs:\n%s", len(lines)-1, log)
	}
	// The learning rate column holds the backbone's lr of that epoch.
	head, row := strings.Split(lines[0], ","), strings.Split(lines[1], ",")
	for i, h := range head {
		if h == "lr" && row[i] != "0.1" {
			t.Errorf("--lr 0.1 gave lr %s", row[i])
		}
	}
	// A setting the loop does read is not refused: the baseline's proxy
	// rate on a run without DADA, a discriminator setting on one with it.
	for _, args := range [][]string{{"--dada", "false", "--loss_oproxy_lrmulti", "100"}, {"--d_step", "2", "--scheduler", "multi", "--milestones", "1"}} {
		dadash(t, dir, "", append([]string{script, "--synthetic", "--epochs", "1", "--save_path", filepath.Join(dir, "read")}, args...)...).
			check(t, strings.Join(args, " "), 0, "*")
	}
	dadash(t, dir, "", script, "--synthetic", "--n_epoch", "1").
		check(t, "unknown flag", 2, "", `--n_epoch 1: the script has no setting "n_epoch" (did you mean --n_epochs?)`)
	dadash(t, dir, "", script, "--synthetic", "--lr").
		check(t, "bare non-bool", 2, "", "--lr needs a value")
}

// A setting that nothing in the run reads, and settings that can only fail
// later, are errors before the first step: no log.csv is written.
func TestSettingsCheckedBeforeTraining(t *testing.T) {
	root, _ := filepath.Abs("../..")
	cub := filepath.Join(root, "scripts", "cub200.star")
	fmnist := filepath.Join(root, "scripts", "fashion_mnist.star")
	dir := t.TempDir()
	cases := []struct {
		name   string
		args   []string
		status int
		want   string
	}{
		{"DADA option without DADA", []string{cub, "--synthetic", "--dada", "false", "--set", "dis_mode=l1"}, 2,
			"--set dis_mode=l1: nothing in this run reads that setting"},
		{"image setting on Fashion-MNIST", []string{fmnist, "--image_size", "64"}, 2, "--image_size 64: nothing in this run reads that setting"},
		{"misspelt metric", []string{cub, "--synthetic", "--set", "evaluation_metrics=e_recall@1,recal@1"}, 1,
			`unknown metric "recal@1" (did you mean "e_recall@1"?)`},
		{"storage metric not evaluated", []string{cub, "--synthetic", "--set", "storage_metrics=map_at_r"}, 1,
			`storage_metrics: "map_at_r" is not evaluated`},
		{"bad choice", []string{cub, "--synthetic", "--nonfinite", "ignore"}, 1, `nonfinite = "ignore" is not one of "skip", "stop"`},
	}
	for _, c := range cases {
		save := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_"))
		dadash(t, dir, "", append(c.args, "--save_path", save)...).check(t, c.name, c.status, "*", c.want)
		if _, err := os.Stat(filepath.Join(save, "log.csv")); err == nil {
			t.Errorf("%s: the run trained before failing", c.name)
		}
	}
}

// dadash eval works on a run of any dataset dadash trains on, refuses
// options that contradict the checkpoint, and saves embeddings.
func TestEvalAnyRun(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a small CNN; skipped with -short")
	}
	root, _ := filepath.Abs("../..")
	dir := t.TempDir()
	fmnist := filepath.Join(root, "scripts", "fashion_mnist.star")
	dadash(t, dir, "", fmnist, "--epochs", "1", "--train_every", "50", "--width", "8", "--embed_dim", "16").check(t, "train", 0, "*")
	ck := filepath.Join(dir, "runs", "fashion_mnist", "proxy_loss_dada", "seed_0", "checkpoint_last.ckpt")
	emb := filepath.Join(dir, "emb")
	r := dadash(t, dir, "", "eval", "--test_path", ck, "--evaluation_metrics", "e_recall@1,mAP_R", "--save_embeddings", emb)
	r.check(t, "eval fashion_mnist", 0, "*")
	if !strings.HasPrefix(r.stdout, "e_recall@1 0.") {
		t.Errorf("eval output: %q", r.stdout)
	}
	for _, f := range []string{"test_embeddings.npy", "test_labels.npy"} {
		if _, err := os.Stat(filepath.Join(emb, f)); err != nil {
			t.Errorf("--save_embeddings: %v", err)
		}
	}
	// The saved files score the same as the checkpoint.
	r2 := dadash(t, dir, "", "eval", "--embeddings", filepath.Join(emb, "test_embeddings.npy"), "--labels",
		filepath.Join(emb, "test_labels.npy"), "--evaluation_metrics", "e_recall@1,mAP_R")
	r2.check(t, "eval saved", 0, r.stdout)
	dadash(t, dir, "", "eval", "--test_path", ck, "--source_path", "/nonexistent").
		check(t, "source_path on Fashion-MNIST", 1, "", "which does not come from --source_path; leave --source_path out")
	dadash(t, dir, "", "eval", "--test_path", ck, "--evaluation_metrics", "recal@1").
		check(t, "bad metric", 2, "", `did you mean "e_recall@1"`)
}

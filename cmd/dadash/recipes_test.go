package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The four benchmark recipes run end to end on generated datasets in their
// real layouts (--synthetic), and dadash eval scores what they saved.
func TestRecipesSynthetic(t *testing.T) {
	if testing.Short() {
		t.Skip("trains four ResNet-50s on tiny datasets; skipped with -short")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"cub200", "cars196", "online_products", "inshop"} {
		t.Run(name, func(t *testing.T) {
			save := t.TempDir()
			script := filepath.Join(root, "scripts", name+".star")
			// cub200 runs under --sandbox: the folders its command line
			// names are all it needs (its eval writes the dataset again).
			var sandbox, sandboxEval []string
			if name == "cub200" {
				sandbox, sandboxEval = []string{"--sandbox"}, []string{"--sandbox", "--allow-write", save}
			}
			r := dadash(t, save, "", append(sandbox, script, "--synthetic", "--save_path", save, "--set", "epochs=1")...)
			r.check(t, name, 0, "*")
			if !strings.Contains(r.stdout, "epoch 1: e_recall@1") {
				t.Errorf("%s: no evaluation line in the output:\n%s", name, r.stdout)
			}
			log, err := os.ReadFile(filepath.Join(save, "log.csv"))
			if err != nil {
				t.Fatal(err)
			}
			if lines := strings.Split(strings.TrimSpace(string(log)), "\n"); len(lines) != 2 || !strings.Contains(lines[0], "mAP_R") {
				t.Errorf("%s: log.csv:\n%s", name, log)
			}
			ck := filepath.Join(save, "checkpoint_best.ckpt")
			r = dadash(t, save, "", append(sandboxEval, "eval", "--test_path", ck, "--dataset", name, "--evaluation_metrics", "e_recall@1,mAP_R", "--json")...)
			r.check(t, name+" eval", 0, "*")
			var got map[string]float64
			if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || len(got) != 2 {
				t.Errorf("%s eval --json: %q (%v)", name, r.stdout, err)
			}
			r = dadash(t, save, "", "eval", "--test_path", ck, "--dataset", "other")
			r.check(t, name+" eval wrong dataset", 1, "", "was trained on "+name+", not other")
		})
	}
}

// Recipe errors: a dataset folder that is missing, a wrong override type,
// a batch size that does not split into classes.
func TestRecipeErrors(t *testing.T) {
	root, _ := filepath.Abs("../..")
	script := filepath.Join(root, "scripts", "cub200.star")
	dir := t.TempDir()
	dadash(t, dir, "", script, "--source_path", filepath.Join(dir, "nodata"), "--save_path", dir).
		check(t, "missing data", 1, "*", "cub200", "nodata", "--synthetic")
	dadash(t, dir, "", script, "--set", "batch_size=abc").
		check(t, "bad override", 2, "", "batch_size")
	dadash(t, dir, "", script, "--synthetic", "--save_path", dir, "--set", "batch_size=13").
		check(t, "batch size", 1, "*", "batch_size 13 is not divisible by samples_per_class 2")
}

func TestEvalEmbeddings(t *testing.T) {
	dir := t.TempDir()
	dadash(t, dir, "", "-c", `
torch.manual_seed(0)
labels = torch.arange(10).repeat_interleave(4)
emb = torch.randn(10, 8)[labels] + 0.1 * torch.randn(40, 8)
torch.save_npy(emb, "e.npy")
torch.save_npy(emb.double(), "e64.npy")
torch.save_npy(labels, "l.npy")
torch.save_npy(labels[:7], "short.npy")
torch.save_npy(torch.tensor([[float("nan")] * 8] * 40), "nan.npy")
`).check(t, "setup", 0, "")
	// Perfect retrieval: the reference's mAP_R divides by the class size (4,
	// the query included) over R = 4 neighbours, so it is 3/4; map_at_r
	// (pytorch-metric-learning's) divides by the 3 other items.
	dadash(t, dir, "", "eval", "--embeddings", "e.npy", "--labels", "l.npy", "--evaluation_metrics", "e_recall@1,mAP_R,map_at_r").
		check(t, "eval", 0, "e_recall@1 1.000000\nmAP_R 0.750000\nmap_at_r 1.000000\n")
	dadash(t, dir, "", "eval", "--embeddings", "e64.npy", "--labels", "l.npy", "--evaluation_metrics", "e_recall@1", "--json").
		check(t, "eval float64 json", 0, "{\"e_recall@1\": 1}\n")
	dadash(t, dir, "", "eval", "--query_embeddings", "e.npy", "--query_labels", "l.npy", "--gallery_embeddings", "e.npy", "--gallery_labels", "l.npy", "--evaluation_metrics", "e_recall@1").
		check(t, "query/gallery", 0, "e_recall@1 1.000000\n")
	dadash(t, dir, "", "eval", "--embeddings", "e.npy", "--labels", "short.npy").
		check(t, "length mismatch", 1, "", "40 embeddings but short.npy has 7 labels")
	dadash(t, dir, "", "eval", "--embeddings", "e.npy", "--labels", "l.npy", "--evaluation_metrics", "e_recall@100").
		check(t, "k too large", 1, "", "e_recall@100")
	dadash(t, dir, "", "eval", "--embeddings", "e.npy", "--labels", "l.npy", "--evaluation_metrics", "recall_at_1").
		check(t, "unknown metric", 2, "", "unknown metric \"recall_at_1\"")
	dadash(t, dir, "", "eval", "--embeddings", "nan.npy", "--labels", "l.npy").
		check(t, "nan", 1, "", "NaN")
	dadash(t, dir, "", "eval", "--embeddings", "l.npy", "--labels", "l.npy").
		check(t, "not 2-d", 1, "", "must be N x d")
	dadash(t, dir, "", "eval").check(t, "nothing", 2, "", "give --test_path")
	dadash(t, dir, "", "eval", "--help").check(t, "help", 0, evalUsage)
}

// The default main job with a reduced budget: the comparison page exists
// and MAP@R is reported for all three rows.
func TestFashionMNISTDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("trains two small CNNs; skipped with -short")
	}
	root, _ := filepath.Abs("../..")
	dir := t.TempDir()
	r := dadash(t, dir, "", filepath.Join(root, "scripts", "fashion_mnist.star"),
		"--set", "epochs=1", "--set", "train_every=10", "--set", "view_points=400")
	r.check(t, "demo", 0, "*")
	for _, row := range []string{"raw pixels", "proxy loss", "proxy loss + DADA"} {
		found := false
		for _, line := range strings.Split(r.stdout, "\n") {
			f := strings.Fields(strings.TrimPrefix(line, row))
			// method, then e_recall@1, e_recall@4, mAP_R, nmi, f1
			if strings.HasPrefix(line, row+" ") && len(f) == 5 && !strings.Contains(f[0], "+") {
				found = true
			}
		}
		if !found {
			t.Errorf("no result row for %q in:\n%s", row, r.stdout)
		}
	}
	if !strings.Contains(r.stdout, "report: runs/fashion_mnist/report.html") {
		t.Errorf("the demo does not say where its report is:\n%s", r.stdout)
	}
	page, err := os.ReadFile(filepath.Join(dir, "runs", "fashion_mnist", "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"raw pixels", "proxy loss + DADA", "mAP_R", "Embedding of the unseen classes"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	for _, sub := range []string{"proxy_loss", "proxy_loss_dada"} {
		if _, err := os.Stat(filepath.Join(dir, "runs", "fashion_mnist", sub, "seed_0", "report.html")); err != nil {
			t.Errorf("per-run report: %v", err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "runs", "fashion_mnist", "compare.html")); err != nil {
		t.Errorf("comparison of the runs: %v", err)
	}
}

// The glyph main job with a reduced budget (60 training characters, 30 test
// characters, one epoch, the two seeds): rows with a spread, the verdict in
// words (against raw pixels and seed by seed), one folder per method and seed.
func TestGlyphsDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("trains four small CNNs; skipped with -short")
	}
	root, _ := filepath.Abs("../..")
	dir := t.TempDir()
	r := dadash(t, dir, "", filepath.Join(root, "scripts", "glyphs.star"),
		"--train_classes", "60", "--test_classes", "30", "--epochs", "1", "--seeds", "0,1", "--view_points", "200",
		// A loop setting only the DADA runs read: accepted although the
		// proxy-only runs come first.
		"--dada_forward", "twice")
	r.check(t, "glyph demo", 0, "*")
	for _, row := range []string{"proxy loss ", "proxy loss + DADA "} {
		found := false
		for _, line := range strings.Split(r.stdout, "\n") {
			if strings.HasPrefix(line, row) && strings.Count(line, "±") == 5 {
				found = true
			}
		}
		if !found {
			t.Errorf("no row with a spread for %q in:\n%s", row, r.stdout)
		}
	}
	for _, want := range []string{"raw pixels on mAP_R", "Seed by seed (same initialisation and batches), proxy loss + DADA minus proxy loss:",
		"of 2 seeds.", "report: runs/glyphs/report.html"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the demo's output lacks %q:\n%s", want, r.stdout)
		}
	}
	page, err := os.ReadFile(filepath.Join(dir, "runs", "glyphs", "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Glyphs: retrieval of unseen characters", "Seed by seed", "Embedding of the unseen classes"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	for _, sub := range []string{"proxy_loss/seed_0", "proxy_loss/seed_1", "proxy_loss_dada/seed_0", "proxy_loss_dada/seed_1"} {
		if _, err := os.Stat(filepath.Join(dir, "runs", "glyphs", sub, "log.csv")); err != nil {
			t.Errorf("per-run log: %v", err)
		}
	}
}

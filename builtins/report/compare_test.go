package report

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeRun makes a run folder: log.csv with the given text and, unless
// cfg is nil, a run.json as runpage.star writes it.
func writeRun(t *testing.T, dir, log string, cfg map[string]any, metrics []string, finished bool) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "log.csv"), []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	if cfg != nil {
		b, _ := json.Marshal(map[string]any{"format": "dadash.run", "version": 1, "title": "t", "started": "2024-05-01T10:00:00Z",
			"updated": "2024-05-01T11:00:00Z", "epochs": cfg["epochs"], "finished": finished, "metrics": metrics, "parts": []string{"proxy"},
			"config": cfg, "used_keys": nil})
		if err := os.WriteFile(filepath.Join(dir, "run.json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// seedLog is a 3-epoch log whose mAP_R ends at final.
func seedLog(final float64, withNMI bool) string {
	var b strings.Builder
	b.WriteString("epoch,seconds,lr,loss,best,proxy,e_recall@1,mAP_R")
	if withNMI {
		b.WriteString(",nmi")
	}
	b.WriteString("\n")
	for e := 1; e <= 3; e++ {
		fmt.Fprintf(&b, "%d,1.5,0.0003,%g,0,%g,%g,%g", e, 2.0/float64(e), 2.0/float64(e), 0.5+0.1*float64(e), final-0.1*float64(3-e))
		if withNMI {
			b.WriteString(",0.6")
		}
		b.WriteString("\n")
	}
	return b.String()
}

func cfgOf(seed int, dada bool) map[string]any {
	return map[string]any{"dataset": "fashion_mnist", "dada": dada, "lr": 3e-4, "epochs": 3, "seed": seed, "save_path": fmt.Sprint("runs/", seed)}
}

func TestCompareGroupsSeeds(t *testing.T) {
	dir := t.TempDir()
	finals := map[bool][]float64{false: {0.40, 0.42, 0.44}, true: {0.45, 0.47, 0.52}}
	for _, dada := range []bool{false, true} {
		for s, f := range finals[dada] {
			writeRun(t, filepath.Join(dir, fmt.Sprintf("dada_%v", dada), fmt.Sprint("seed_", s)), seedLog(f, dada), cfgOf(s, dada),
				[]string{"e_recall@1", "mAP_R", "nmi"}, true)
		}
	}
	c, err := Compare([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Runs) != 6 || len(c.Groups) != 2 {
		t.Fatalf("%d runs in %d groups, want 6 in 2", len(c.Runs), len(c.Groups))
	}
	if strings.Join(c.Differ, ",") != "dada" || c.Groups[0].Name != "dada=False" || c.Groups[1].Name != "dada=True" {
		t.Errorf("differ %v, groups %q %q", c.Differ, c.Groups[0].Name, c.Groups[1].Name)
	}
	if strings.Join(c.Groups[1].Seeds, ",") != "0,1,2" {
		t.Errorf("seeds %v", c.Groups[1].Seeds)
	}
	// nmi is only in the DADA runs: left out, and said so.
	if strings.Join(c.Metrics, ",") != "e_recall@1,mAP_R" || len(c.LeftOut) != 1 || c.LeftOut[0] != "nmi (in 3 of 6 runs)" {
		t.Errorf("metrics %v, left out %v", c.Metrics, c.LeftOut)
	}
	s := c.Final[c.Groups[1]]["mAP_R"]
	if s.N != 3 || math.Abs(s.Mean-0.48) > 1e-12 || math.Abs(s.Std-math.Sqrt((0.0009+0.0001+0.0016)/2)) > 1e-12 {
		t.Errorf("final mAP_R of the DADA group: %+v, want mean 0.48, std %.6f", s, math.Sqrt(0.0013))
	}
	if s := c.Best[c.Groups[0]]["mAP_R"]; math.Abs(s.Mean-0.42) > 1e-12 || s.Min != 0.40 || s.Max != 0.44 {
		t.Errorf("best mAP_R of the baseline: %+v", s)
	}
	cv := c.Curves[c.Groups[0]]["mAP_R"]
	if len(cv.Epochs) != 3 || cv.Epochs[0] != 1 || cv.Stats[0].N != 3 || math.Abs(cv.Stats[0].Mean-0.22) > 1e-12 {
		t.Errorf("curve %+v", cv)
	}

	out := filepath.Join(dir, "out", "compare.html")
	if err := WriteComparison(c, out, ""); err != nil {
		t.Fatal(err)
	}
	d := checkFile(t, out)
	page, _ := os.ReadFile(out)
	for _, want := range []string{"0.4800 ± 0.0361", "nmi (in 3 of 6 runs)", "dada_true/seed_2"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	// The best of each column is marked, not a row; e_recall@1 ties, so
	// both of its cells are.
	if n := strings.Count(string(page), `class="num best"`); n != 6 {
		t.Errorf("%d best cells, want 6 (mAP_R's best, e_recall@1's two tied, in two tables)", n)
	}
	if len(d.Scripts) < 2 {
		t.Errorf("the page has %d scripts; the curves are missing", len(d.Scripts))
	}
}

// Bad input: each gives a clear message, or a page that says what it
// left out.
func TestCompareBadInput(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	os.MkdirAll(filepath.Join(empty, "sub"), 0o755)
	file := filepath.Join(dir, "file.txt")
	os.WriteFile(file, []byte("x"), 0o644)
	for _, c := range []struct {
		dirs []string
		want string
	}{
		{[]string{filepath.Join(dir, "missing")}, "missing: no such folder"},
		{[]string{empty}, "empty is not a run folder: it holds no log.csv"},
		{[]string{file}, "file.txt is a file; give the run's folder"},
	} {
		_, err := Compare(c.dirs)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Compare(%v): %v, want an error with %q", c.dirs, err, c.want)
		}
	}
	bad := writeRun(t, filepath.Join(dir, "badheader"), ",epoch\n1,2\n", nil, nil, false)
	if _, err := ReadRun(bad); err == nil || !strings.Contains(err.Error(), "column 1 of the header has no name") {
		t.Errorf("a header without a name: %v", err)
	}

	// An empty log (a run that has not finished an epoch), a cut-short one
	// and one with text where a number belongs are read as far as they go.
	runs := filepath.Join(dir, "runs")
	writeRun(t, filepath.Join(runs, "a"), seedLog(0.4, false), cfgOf(0, false), []string{"e_recall@1", "mAP_R"}, true)
	writeRun(t, filepath.Join(runs, "b"), "", cfgOf(1, false), []string{"e_recall@1", "mAP_R"}, false)
	cut := seedLog(0.42, false)
	cut = cut[:len(cut)-12] // the last line loses its last fields
	writeRun(t, filepath.Join(runs, "c"), cut, cfgOf(2, false), []string{"e_recall@1", "mAP_R"}, false)
	writeRun(t, filepath.Join(runs, "d"), strings.Replace(seedLog(0.41, false), "0.0003", "oops", 1), cfgOf(3, false), []string{"e_recall@1", "mAP_R"}, true)
	c, err := Compare([]string{runs})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*Run{}
	for _, r := range c.Runs {
		byName[r.Name] = r
	}
	if r := byName["b"]; len(r.Rows) != 0 || !strings.Contains(strings.Join(r.Notes, ";"), "log.csv is empty") {
		t.Errorf("empty log: %d rows, notes %v", len(r.Rows), r.Notes)
	}
	if r := byName["c"]; len(r.Rows) != 2 || !strings.Contains(strings.Join(r.Notes, ";"), "line 4 has 6 of 8 fields") {
		t.Errorf("cut-short log: %d rows, notes %v", len(r.Rows), r.Notes)
	}
	if r := byName["d"]; len(r.Rows) != 3 || !strings.Contains(strings.Join(r.Notes, ";"), `column "lr" holds text`) {
		t.Errorf("text cell: %d rows, notes %v", len(r.Rows), r.Notes)
	}
	if len(c.Groups) != 1 || c.Final[c.Groups[0]]["mAP_R"].N != 3 || c.Progress != 2 {
		t.Errorf("groups %d, final n %d, in progress %d; want 1, 3 (the empty run has none), 2", len(c.Groups), c.Final[c.Groups[0]]["mAP_R"].N, c.Progress)
	}
	out := filepath.Join(dir, "c.html")
	if err := WriteComparison(c, out, ""); err != nil {
		t.Fatal(err)
	}
	checkFile(t, out)
	b, _ := os.ReadFile(out)
	for _, want := range []string{"b: log.csv is empty", "1 of its 4 runs have no evaluated epoch yet", "no epoch yet"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the page does not say %q", want)
		}
	}
}

// A name with HTML in it (a folder, a setting) comes out as text, and a
// folder named like a URL scheme cannot become a javascript: link.
func TestComparisonEscapes(t *testing.T) {
	dir := t.TempDir()
	for i, name := range []string{hostile, "javascript:alert(1)"} {
		cfg := cfgOf(0, i == 0)
		cfg["note"] = hostile
		d := writeRun(t, filepath.Join(dir, name), seedLog(0.4, false), cfg, []string{"e_recall@1", "mAP_R"}, true)
		os.WriteFile(filepath.Join(d, "report.html"), []byte("<!DOCTYPE html>"), 0o644)
	}
	c, err := Compare([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "compare.html")
	if err := WriteComparison(c, out, "runs of "+hostile); err != nil {
		t.Fatal(err)
	}
	d := checkFile(t, out)
	b, _ := os.ReadFile(out)
	if strings.Contains(string(b), "<script>alert(1)") {
		t.Error("a hostile name reached the page as markup")
	}
	for _, e := range d.Elements {
		if e.Tag == "a" && strings.HasPrefix(strings.ToLower(e.Attrs["href"]), "javascript:") {
			t.Errorf("a link runs script: %q", e.Attrs["href"])
		}
	}
	if !strings.Contains(string(b), `href="./javascript:alert%281%29/report.html"`) && !strings.Contains(string(b), `href="./javascript:alert(1)/report.html"`) {
		t.Errorf("no safe link to the javascript: folder's page")
	}
}

// Runs without run.json (older dadash, other scripts): the configuration
// comes from the checkpoint, epochs counted from 0 are counted from 1, and
// columns are told apart by name.
func TestReadRunWithoutRunJSON(t *testing.T) {
	dir := writeRun(t, filepath.Join(t.TempDir(), "old"), "epoch,seconds,data_wait,lr,loss,proxy,u,mAP_R\n0,1,0,0.1,2,2,1,0.3\n1,1,0,0.1,1.5,1.5,1,0.35\n", nil, nil, false)
	desc := `{"format":"dadash.checkpoint","version":1,"items":[{"name":"epoch","value":1},` +
		`{"name":"cfg","value":{"dict":[["dataset","cub200"],["epochs",2],["tau",{"tuple":[20,45]}],["lr",{"float":"inf"}]]}}]}`
	header, _ := json.Marshal(map[string]any{"__metadata__": map[string]string{"format": "pt", "dadash.checkpoint": desc}})
	f, _ := os.Create(filepath.Join(dir, "checkpoint_last.ckpt"))
	binary.Write(f, binary.LittleEndian, uint64(len(header)))
	f.Write(header)
	f.Close()
	r, err := ReadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	if r.Source != "checkpoint_last.ckpt" || r.Config["dataset"] != "cub200" || SettingString(r.Config["tau"]) != "[20, 45]" || !math.IsInf(r.Config["lr"].(float64), 1) {
		t.Errorf("config from %q: %v", r.Source, r.Config)
	}
	if r.Rows[0]["epoch"] != 1 || r.Rows[1]["epoch"] != 2 || !r.Finished {
		t.Errorf("epochs %v, finished %v", r.Epochs(), r.Finished)
	}
	if strings.Join(r.Metrics, ",") != "mAP_R" || strings.Join(r.Parts, ",") != "proxy,u" {
		t.Errorf("metrics %v, parts %v", r.Metrics, r.Parts)
	}
	// A log without an epoch column (another script's) numbers its rows.
	plain := writeRun(t, filepath.Join(t.TempDir(), "plain"), "mAP_R,loss\n0.3,2\n0.4,1\n", nil, nil, false)
	if r, err := ReadRun(plain); err != nil || r.Rows[1]["epoch"] != 2 || strings.Join(r.Metrics, ",") != "mAP_R" {
		t.Errorf("a log without epochs: %v, %+v", err, r)
	}
	// A checkpoint that is not one is a note, not a failure.
	os.WriteFile(filepath.Join(dir, "checkpoint_last.ckpt"), []byte("garbage!"), 0o644)
	if r, err = ReadRun(dir); err != nil || r.Config != nil || !strings.Contains(strings.Join(r.Notes, ";"), "grouped on its own") {
		t.Errorf("garbage checkpoint: %v, notes %v", err, r.Notes)
	}
}

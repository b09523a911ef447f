package report

import (
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dadash/dadash/builtins/plot"
	"github.com/dadash/dadash/internal/page"
	"github.com/dadash/dadash/internal/page/embview"
	"github.com/dadash/dadash/internal/page/htmlcheck"
	"github.com/dadash/dadash/interp/startest"
	"go.starlark.net/starlark"
)

// hostile is a class name that must come out as text everywhere.
const hostile = `<script>alert(1)</script> & "x"`

func TestStar(t *testing.T) {
	startest.Run(t, "testdata/*.star", startest.Predeclared(starlark.StringDict{
		"tmpdir": starlark.String(t.TempDir()),
	}))
}

// checkFile reads the page on disk and checks it is complete.
func checkFile(t *testing.T, path string) *htmlcheck.Doc {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d, err := htmlcheck.Check(b)
	if err != nil {
		t.Fatalf("%s is not a complete page: %v", path, err)
	}
	return d
}

// block is one append and the element it must add to the page.
type block struct {
	add        func(r *Report) error
	tag, class string
}

func testBlocks(t *testing.T) []block {
	line, err := plot.Line(plot.LineSpec{Axes: plot.Axes{Title: "loss " + hostile, XLabel: "epoch"},
		Series: []plot.Series{{Name: hostile, Y: []float64{3, 2, 1.5, math.NaN(), 1}}, {Name: "test", Y: []float64{4, 3, 2, 1.8, 1.7}}}, LogY: true, Mark: "min"})
	if err != nil {
		t.Fatal(err)
	}
	scatter, err := plot.Scatter(plot.ScatterSpec{X: []float64{0, 1, 2}, Y: []float64{1, 0, 1}, Labels: []int{0, 1, 1},
		ClassNames: []string{hostile, "b"}, Names: []string{"a.jpg", hostile, "c"}})
	if err != nil {
		t.Fatal(err)
	}
	heat, err := plot.Heatmap(plot.HeatmapSpec{Z: [][]float64{{1, 0.5}, {0.5, 1}}, XLabels: []string{hostile, "b"}, YLabels: []string{"a", hostile}})
	if err != nil {
		t.Fatal(err)
	}
	view, err := embview.New([][2]float64{{0, 0}, {1, 1}, {2, 0}}, []int{0, 1, 0}, []string{hostile, "b"},
		[][]int{{0, 2, 1}, {0, 2}, {0, 1}}, [][]float32{{0, 0.5, 1}, {0.3, 0.4}, {0.5, 1}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	img, err := page.ArrayPNG([]float64{0, 0.5, 1, 0.25}, []int64{2, 2})
	if err != nil {
		t.Fatal(err)
	}
	return []block{
		{func(r *Report) error { return r.Config("", []KV{{"dataset", `"cub200"`}, {hostile, hostile}}) }, "details", "config"},
		{func(r *Report) error { return r.Heading("Training "+hostile, 2) }, "h2", ""},
		{func(r *Report) error { return r.Text("**Bold** " + hostile + "\n- one\n- two") }, "ul", ""},
		{func(r *Report) error {
			return r.Table(Table{Header: []string{"epoch", "mAP_R", hostile}, Rows: [][]any{{int64(1), 0.2123, hostile}, {int64(2), 0.2714, nil}}, Highlight: []int{1}})
		}, "table", "data"},
		{func(r *Report) error { return r.Add(line) }, "figure", "line"},
		{func(r *Report) error { return r.Add(scatter) }, "figure", "scatter"},
		{func(r *Report) error { return r.Add(heat) }, "figure", "heatmap"},
		{func(r *Report) error { return r.image(img, hostile, 0, true) }, "img", "picture"},
		{func(r *Report) error { return r.Add(view) }, "section", "embview"},
		{func(r *Report) error { return r.Pre(hostile) }, "pre", ""},
	}
}

// TestAppendsLeaveCompletePages checks the page on disk after every append,
// as a run interrupted right after it would leave it.
func TestAppendsLeaveCompletePages(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run", "report.html")
	r, err := Open(path, "run "+hostile)
	if err != nil {
		t.Fatal(err)
	}
	d := checkFile(t, path)
	if !d.HasText("run " + hostile) {
		t.Error("the empty page lacks its title")
	}
	want := map[[2]string]int{}
	for i, b := range testBlocks(t) {
		if err := b.add(r); err != nil {
			t.Fatalf("block %d: %v", i, err)
		}
		want[[2]string{b.tag, b.class}]++
		d := checkFile(t, path)
		for k, n := range want {
			if got := d.Count(k[0], k[1]); got < n {
				t.Errorf("after block %d: %d <%s class=%q>, want %d", i, got, k[0], k[1], n)
			}
		}
		if r.Len() != i+1 {
			t.Errorf("Len() = %d after %d appends", r.Len(), i+1)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*tmp*")); len(m) != 0 {
		t.Errorf("temporary files left: %v", m)
	}
}

// TestEscaping checks that a hostile class name is text wherever it goes:
// in markup it is escaped, inside the JSON of scripts it cannot close the
// script, and no extra script element appears.
func TestEscaping(t *testing.T) {
	path := filepath.Join(t.TempDir(), "report.html")
	r, err := Open(path, hostile)
	if err != nil {
		t.Fatal(err)
	}
	blocks := testBlocks(t)
	for _, b := range blocks {
		if err := b.add(r); err != nil {
			t.Fatal(err)
		}
	}
	raw, _ := os.ReadFile(path)
	if strings.Contains(string(raw), "<script>alert") {
		t.Error("the hostile name appears unescaped")
	}
	d := checkFile(t, path)
	// The runtime, ECharts (inlined or linked) and one per chart and view.
	charts := 4
	scripts := 2 + charts
	if d.Count("script", "") != scripts {
		t.Errorf("%d <script> elements, want %d", d.Count("script", ""), scripts)
	}
	// The text nodes hold the name as it was, once unescaped.
	for _, text := range []string{hostile, "Training " + hostile} {
		if !d.HasText(text) {
			t.Errorf("no text node holds %q", text)
		}
	}
	n := 0
	for _, s := range d.Scripts {
		if strings.Contains(s, `\u003cscript\u003ealert(1)\u003c/script\u003e \u0026 \"x\"`) {
			n++
		}
	}
	if n != charts {
		t.Errorf("the name is JSON-escaped in %d chart scripts, want %d", n, charts)
	}
}

// TestSelfContained: with ECharts embedded, nothing is loaded from elsewhere.
func TestSelfContained(t *testing.T) {
	if !page.Inlined() {
		t.Skip("this build has no internal/page/assets/echarts.min.js (run make); pages link the CDN")
	}
	path := filepath.Join(t.TempDir(), "report.html")
	r, err := Open(path, "offline")
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range testBlocks(t) {
		if err := b.add(r); err != nil {
			t.Fatal(err)
		}
	}
	d := checkFile(t, path)
	for _, e := range d.Elements {
		for _, attr := range []string{"src", "href"} {
			v, ok := e.Attrs[attr]
			if !ok || (e.Tag == "a" && attr == "href") {
				continue
			}
			if !strings.HasPrefix(v, "data:") && !strings.HasPrefix(v, "#") {
				t.Errorf("<%s %s=%.60q> loads something from outside the page", e.Tag, attr, v)
			}
		}
		if e.Tag == "link" {
			t.Errorf("<link> in a self-contained page: %v", e.Attrs)
		}
	}
}

// TestKilledWriter kills a process that keeps appending to a report at
// arbitrary moments; the page it leaves must always be complete.
func TestKilledWriter(t *testing.T) {
	if path := os.Getenv("DADASH_REPORT_WRITER"); path != "" {
		r, err := Open(path, "killed")
		if err != nil {
			os.Exit(3)
		}
		for i := 0; ; i++ {
			if err := r.Text(strings.Repeat("line of text ", 1000)); err != nil {
				os.Exit(4)
			}
		}
	}
	if testing.Short() {
		t.Skip("short mode")
	}
	dir := t.TempDir()
	for i, delay := range []time.Duration{150, 230, 370, 410} {
		path := filepath.Join(dir, "r.html")
		cmd := exec.Command(os.Args[0], "-test.run=^TestKilledWriter$")
		cmd.Env = append(os.Environ(), "DADASH_REPORT_WRITER="+path)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()
		if _, err := os.Stat(path); err != nil {
			t.Logf("run %d: killed before the first write", i)
			continue
		}
		d := checkFile(t, path)
		t.Logf("run %d: killed after %v; the page holds %d paragraphs", i, delay*time.Millisecond, d.Count("p", ""))
	}
}

func TestFormatNumber(t *testing.T) {
	for v, want := range map[float64]string{
		0: "0", 3: "3", -12: "-12", 0.7291: "0.7291", 0.72914: "0.7291", 0.5: "0.5", 12.3456: "12.35",
		1234.6: "1235", 1.2e-4: "1.2e-04", 2.5e7: "25000000", 2.5e15: "2.5e+15", 123456.7: "123457",
		math.NaN(): "nan", math.Inf(1): "inf", 0.001: "0.001", 0.0125: "0.0125",
	} {
		if got := FormatNumber(v); got != want {
			t.Errorf("FormatNumber(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestMarkdown(t *testing.T) {
	for in, want := range map[string]string{
		"plain <b>text</b> & more":       "<p>plain &lt;b&gt;text&lt;/b&gt; &amp; more</p>\n",
		"**bold** and *it* `a**b`":       "<p><b>bold</b> and <i>it</i> <code>a**b</code></p>\n",
		"mAP_R * 2 * 3":                  "<p>mAP_R * 2 * 3</p>\n",
		"a\nb\n\nc":                      "<p>a<br>\nb</p>\n<p>c</p>\n",
		"intro\n- x\n- y":                "<p>intro</p>\n<ul><li>x</li><li>y</li></ul>\n",
		"1. x\n2. y":                     "<ol><li>x</li><li>y</li></ol>\n",
		"```\n<code>\n\nx\n```":          "<pre>&lt;code&gt;\n\nx</pre>\n",
		"[docs](https://x.org/?a=1&b=2)": `<p><a href="https://x.org/?a=1&amp;b=2" rel="noopener">docs</a></p>` + "\n",
		"[bad](javascript:alert(1))":     "<p>[bad](javascript:alert(1))</p>\n",
		"[rel](runs/a.html)":             `<p><a href="runs/a.html" rel="noopener">rel</a></p>` + "\n",
	} {
		if got := markdown(in); got != want {
			t.Errorf("markdown(%q)\n got %q\nwant %q", in, got, want)
		}
	}
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	r, err := Open(filepath.Join(dir, "r.html"), "t")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Table(Table{Header: []string{"a"}, Rows: [][]any{{1, 2}}}); err == nil || !strings.Contains(err.Error(), "row 0 has 2 cells") {
		t.Errorf("ragged table: %v", err)
	}
	if err := r.Heading("x", 7); err == nil {
		t.Error("no error for heading level 7")
	}
	if err := r.Image(filepath.Join(dir, "missing.png"), "", 0); err == nil {
		t.Error("no error for a missing image")
	}
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("hello"), 0o644)
	if err := r.Image(filepath.Join(dir, "notes.txt"), "", 0); err == nil || !strings.Contains(err.Error(), "not an image") {
		t.Errorf("text file as image: %v", err)
	}
	if r.Len() != 0 {
		t.Errorf("failed appends left %d blocks", r.Len())
	}
	// A page that cannot be written: the block is dropped again.
	os.Remove(filepath.Join(dir, "r.html"))
	os.Chmod(dir, 0o500)
	defer os.Chmod(dir, 0o755)
	if os.Getuid() != 0 { // root writes anyway
		if err := r.Text("x"); err == nil {
			t.Error("no error writing into a read-only folder")
		} else if r.Len() != 0 {
			t.Errorf("a block that could not be written was kept")
		}
	}
}

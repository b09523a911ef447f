package report

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"image/png"
	"math"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dadash/dadash/builtins/plot"
	"github.com/dadash/dadash/internal/page"
	"github.com/dadash/dadash/internal/page/embview"
)

// The headless-browser test: Debian's chromium loads a report offline
// (file://), with every kind of block and hostile class names, and must
// report no JavaScript errors, neither in its console nor in the page's own
// error collector. A second load runs a small script in the page that
// shows every chart's tooltip and opens the neighbour panel of each
// embedding view, then reports what it found; a third takes a screenshot.
//
// chromium is looked up on PATH; when it is missing and the test runs as
// root it is installed with apt-get (skipped in -short mode). Set
// DADASH_SCREENSHOTS=dir to keep the screenshots.

// xssName would run script if it reached the DOM as markup.
const xssName = `<img src=x onerror="window.__xss=1">`

func chromium(t *testing.T) string {
	t.Helper()
	find := func() string {
		for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
			if p, err := exec.LookPath(name); err == nil {
				return p
			}
		}
		return ""
	}
	if p := find(); p != "" {
		return p
	}
	if testing.Short() {
		t.Skip("chromium is not installed (apt-get install chromium); skipped in -short mode")
	}
	if _, err := exec.LookPath("apt-get"); err != nil || os.Getuid() != 0 {
		t.Skip("chromium is not installed and this test cannot install it (not root, or no apt-get): run apt-get install chromium as root")
	}
	install := func() ([]byte, error) {
		cmd := exec.Command("apt-get", "install", "-y", "-q", "--no-install-recommends", "-o", "DPkg::Lock::Timeout=300", "chromium")
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		return cmd.CombinedOutput()
	}
	t.Log("installing chromium with apt-get ...")
	if _, err := install(); err != nil {
		exec.Command("apt-get", "update", "-q").Run()
		if out, err := install(); err != nil {
			t.Skipf("chromium is not installed and apt-get could not install it: %v\n%s", err, lastLines(out, 5))
		}
	}
	if p := find(); p != "" {
		return p
	}
	t.Skip("apt-get installed chromium but it is not on PATH")
	return ""
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// browse runs headless chromium on a file with the flags this machine
// needs and returns its stdout and its console messages.
func browse(t *testing.T, bin, file string, args ...string) (string, []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	flags := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(), "--enable-logging=stderr", "--v=0", "--hide-scrollbars",
		"--virtual-time-budget=15000"}
	cmd := exec.CommandContext(ctx, bin, append(append(flags, args...), "file://"+file)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, lastLines(stderr.Bytes(), 20))
	}
	var console []string
	for _, l := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(l, ":CONSOLE") {
			console = append(console, l)
		}
	}
	return stdout.String(), console
}

// browserReport writes a report with every kind of block, as a recipe
// would, and returns its path.
func browserReport(t *testing.T, dir string) string {
	rng := rand.New(rand.NewSource(1))
	path := filepath.Join(dir, "report.html")
	r, err := Open(path, "Browser test "+hostile)
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(r.Config("", []KV{{"dataset", `"fashion_mnist"`}, {"lr", "0.00012"}, {"classes", `["` + hostile + `"]`}}))
	must(r.Heading("Training", 2))
	must(r.Text("Losses and metrics per epoch. Class names such as `" + hostile + "` are data, not markup."))

	epochs := make([]float64, 30)
	loss, dom, acc := make([]float64, 30), make([]float64, 30), make([]float64, 30)
	for i := range epochs {
		epochs[i] = float64(i + 1)
		loss[i] = 2*math.Exp(-float64(i)/8) + 0.05*rng.Float64()
		dom[i] = 0.7 + 0.1*math.Sin(float64(i)/3)
		acc[i] = 0.8 - 0.5*math.Exp(-float64(i)/6)
	}
	line, err := plot.Line(plot.LineSpec{Axes: plot.Axes{Title: "loss parts", XLabel: "epoch", YLabel: "loss"}, X: epochs,
		Series: []plot.Series{{Name: "proxy", Y: loss}, {Name: xssName, Y: dom}}, LogY: true})
	must(err)
	must(r.Add(line))
	metric, err := plot.Line(plot.LineSpec{Axes: plot.Axes{Title: "MAP@R", XLabel: "epoch"}, X: epochs,
		Series: []plot.Series{{Name: "mAP_R", Y: acc}}, Mark: "max"})
	must(err)
	must(r.Add(metric))
	must(r.Table(Table{Header: []string{"epoch", "mAP_R", "e_recall@1"}, Rows: [][]any{{int64(1), 0.31, 0.52}, {int64(2), 0.4123, 0.6612}, {int64(3), 0.39, 0.65}}, Highlight: []int{1}}))

	// A labelled point cloud with thumbnails, neighbours and hostile names.
	const n, classes, k = 400, 8, 5
	names := make([]string, classes)
	for c := range names {
		names[c] = fmt.Sprintf("class %d", c)
	}
	names[3], names[5] = hostile, xssName
	coords := make([][2]float64, n)
	labels := make([]int, n)
	xs, ys := make([]float64, n), make([]float64, n)
	thumbs := make([]string, n)
	for i := range coords {
		c := i % classes
		a := 2 * math.Pi * float64(c) / classes
		coords[i] = [2]float64{8*math.Cos(a) + rng.NormFloat64(), 8*math.Sin(a) + rng.NormFloat64()}
		labels[i], xs[i], ys[i] = c, coords[i][0], coords[i][1]
		img := make([]float64, 3*12*12)
		for p := range img {
			img[p] = float64((p/144+c)%3) / 2 * rng.Float64()
		}
		thumbs[i], err = page.ArrayPNG(img, []int64{3, 12, 12})
		must(err)
	}
	nn := make([][]int, n)
	nd := make([][]float32, n)
	for i := range coords {
		nn[i], nd[i] = nearest(coords, i, k+1) // includes i itself, which the view drops
	}
	sc, err := plot.Scatter(plot.ScatterSpec{Axes: plot.Axes{Title: "t-SNE of the test set"}, X: xs, Y: ys, Labels: labels,
		ClassNames: names, Thumbnails: thumbs})
	must(err)
	must(r.Add(sc))

	z := make([][]float64, classes)
	for i := range z {
		z[i] = make([]float64, classes)
		for j := range z[i] {
			z[i][j] = math.Cos(2 * math.Pi * float64(i-j) / classes)
		}
	}
	hm, err := plot.Heatmap(plot.HeatmapSpec{Axes: plot.Axes{Title: "proxy similarity"}, Z: z, XLabels: names, YLabels: names})
	must(err)
	must(r.Add(hm))
	var pos, neg []float64
	for i := 0; i < 2000; i++ {
		pos, neg = append(pos, 0.6+0.15*rng.NormFloat64()), append(neg, 1.2+0.2*rng.NormFloat64())
	}
	h, err := plot.Histogram(plot.HistogramSpec{Axes: plot.Axes{Title: "distances", XLabel: "distance"}, Series: []plot.Series{{Name: "positive pairs", Y: pos}, {Name: "negative pairs", Y: neg}}})
	must(err)
	must(r.Add(h))
	b, err := plot.Bar(plot.BarSpec{Axes: plot.Axes{Title: "recall@k"}, Categories: []string{"R@1", "R@2", "R@4"},
		Series: []plot.Series{{Name: "proxy anchor", Y: []float64{0.61, 0.72, 0.81}}, {Name: "+ DADA", Y: []float64{0.66, 0.76, 0.84}}}})
	must(err)
	must(r.Add(b))

	must(r.Heading("Embedding", 2))
	v, err := embview.New(coords, labels, names, nn, nd, thumbs)
	must(err)
	v.SetTitle("test set")
	must(r.Add(v))
	return path
}

// nearest returns the m nearest points to i (brute force) and their distances.
func nearest(pts [][2]float64, i, m int) ([]int, []float32) {
	type cand struct {
		j int
		d float64
	}
	var best []cand
	for j, p := range pts {
		d := math.Hypot(p[0]-pts[i][0], p[1]-pts[i][1])
		best = append(best, cand{j, d})
		for q := len(best) - 1; q > 0 && best[q].d < best[q-1].d; q-- {
			best[q], best[q-1] = best[q-1], best[q]
		}
		if len(best) > m {
			best = best[:m]
		}
	}
	idx, dist := make([]int, len(best)), make([]float32, len(best))
	for q, c := range best {
		idx[q], dist[q] = c.j, float32(c.d)
	}
	return idx, dist
}

// probe runs in the page after it loaded: it shows a tooltip on every
// chart, opens the panel of every embedding view on its first point, and
// writes what it saw into <pre id="probe">.
const probe = `<script>
window.addEventListener("load", function () {
  setTimeout(function () {
    try {
      dadash.charts.forEach(function (c) { c.dispatchAction({ type: "showTip", seriesIndex: 0, dataIndex: 0 }); });
      for (var id in (dadash.select || {})) dadash.select[id](0);
    } catch (e) { dadash.fail("probe", e); }
    setTimeout(function () {
      var out = { xss: !!window.__xss, errors: dadash.errors, charts: dadash.charts.length, tooltips: [], panels: [] };
      dadash.charts.forEach(function (c) { out.tooltips.push(c.getDom().innerText); });
      document.querySelectorAll(".emb-panel").forEach(function (p) {
        out.panels.push({ query: (p.querySelector(".query .label") || {}).textContent, items: p.querySelectorAll("li").length,
          same: p.querySelectorAll("li.same").length, thumbs: p.querySelectorAll("img.thumb").length, text: p.innerText });
      });
      out.markupImgs = document.querySelectorAll("img[onerror]").length;
      var pre = document.createElement("pre");
      pre.id = "probe";
      pre.textContent = JSON.stringify(out);
      document.body.appendChild(pre);
    }, 500);
  }, 200);
});
</script>
`

func withScript(t *testing.T, src, dst, script string) string {
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.LastIndex(b, []byte("</body>")) // ECharts' own text contains "</body>" too
	b = append(b[:i:i], append([]byte(script), b[i:]...)...)
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

var reJSErrors = regexp.MustCompile(`<html[^>]*data-js-errors="(\d+)"`)

func TestBrowser(t *testing.T) {
	if !page.Inlined() {
		t.Skip("this build has no internal/page/assets/echarts.min.js (run make): the page would need the network")
	}
	bin := chromium(t)
	dir := t.TempDir()
	path := browserReport(t, dir)

	// 1. The report as written: no console messages, no collected errors,
	// every chart set up.
	dom, console := browse(t, bin, path, "--dump-dom")
	if len(console) > 0 {
		t.Errorf("console messages:\n%s", strings.Join(console, "\n"))
	}
	if m := reJSErrors.FindStringSubmatch(dom); m != nil {
		t.Errorf("the page collected %s JavaScript errors: %s", m[1], errorBox(dom))
	}
	if !strings.Contains(dom, `data-dadash-ready="7"`) {
		t.Errorf("the page did not report 7 charts ready: %.300s", dom)
	}

	// 2. Interaction: tooltips and the neighbour panel.
	probed := withScript(t, path, filepath.Join(dir, "probed.html"), probe)
	dom, console = browse(t, bin, probed, "--dump-dom")
	if len(console) > 0 {
		t.Errorf("console messages:\n%s", strings.Join(console, "\n"))
	}
	m := regexp.MustCompile(`<pre id="probe">(.*?)</pre>`).FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("the probe wrote no result; errors: %s", errorBox(dom))
	}
	var res struct {
		XSS      bool
		Errors   []string
		Charts   int
		Tooltips []string
		Panels   []struct {
			Query, Text         string
			Items, Same, Thumbs int
		}
		MarkupImgs int
	}
	if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &res); err != nil {
		t.Fatalf("probe result %q: %v", m[1], err)
	}
	if res.XSS || res.MarkupImgs != 0 {
		t.Errorf("a class name became markup (xss=%v, img[onerror]=%d)", res.XSS, res.MarkupImgs)
	}
	if len(res.Errors) > 0 {
		t.Errorf("errors: %v", res.Errors)
	}
	tips := strings.Join(res.Tooltips, "\n")
	for _, want := range []string{"proxy", "class 0", "positive pairs", "R@1"} {
		if !strings.Contains(tips, want) {
			t.Errorf("no tooltip shows %q; tooltips:\n%s", want, tips)
		}
	}
	if len(res.Panels) != 1 || res.Panels[0].Items != 5 || res.Panels[0].Query != "class 0" || res.Panels[0].Thumbs != 6 {
		t.Errorf("neighbour panel: %+v (want 5 neighbours of a class-0 point, 6 thumbnails)", res.Panels)
	}

	// The hostile names come out as text: a tooltip of the heatmap's
	// hostile row, and the panel of a point of that class.
	xss := withScript(t, path, filepath.Join(dir, "xss.html"), `<script>
window.addEventListener("load", function () { setTimeout(function () {
  var hm = dadash.charts[3], sc = dadash.charts[2];
  hm.dispatchAction({ type: "showTip", seriesIndex: 0, dataIndex: 3 * 8 + 5 });
  sc.dispatchAction({ type: "showTip", seriesIndex: 5, dataIndex: 0 });
  for (var id in dadash.select) dadash.select[id](5);
  setTimeout(function () {
    var pre = document.createElement("pre"); pre.id = "probe";
    pre.textContent = JSON.stringify({ xss: !!window.__xss, hm: hm.getDom().innerText, sc: sc.getDom().innerText,
      panel: document.querySelector(".emb-panel").innerText, imgs: document.querySelectorAll("img[onerror]").length });
    document.body.appendChild(pre);
  }, 500); }, 200); });
</script>
`)
	dom, _ = browse(t, bin, xss, "--dump-dom")
	m = regexp.MustCompile(`<pre id="probe">(.*?)</pre>`).FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("the escaping probe wrote no result; errors: %s", errorBox(dom))
	}
	var esc struct {
		XSS           bool
		HM, SC, Panel string
		Imgs          int
	}
	if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &esc); err != nil {
		t.Fatal(err)
	}
	if esc.XSS || esc.Imgs != 0 {
		t.Errorf("a class name became markup: %+v", esc)
	}
	if !strings.Contains(esc.HM, hostile) || !strings.Contains(esc.SC, xssName) || !strings.Contains(esc.Panel, xssName) {
		t.Errorf("hostile names are not shown as text:\nheatmap tooltip %q\nscatter tooltip %q\npanel %q", esc.HM, esc.SC, esc.Panel)
	}

	// 3. Screenshots: the whole report, and its embedding view with the panel open.
	shots := os.Getenv("DADASH_SCREENSHOTS")
	if shots == "" {
		shots = dir
	}
	for _, s := range []struct{ name, file, size string }{
		{"report.png", path, "1280,4200"},
		{"embedding.png", probed, "1280,4200"},
	} {
		out := filepath.Join(shots, s.name)
		browse(t, bin, s.file, "--window-size="+s.size, "--screenshot="+out)
		checkScreenshot(t, out)
	}
}

// errorBox extracts the page's error messages from a DOM dump.
func errorBox(dom string) string {
	if m := regexp.MustCompile(`(?s)<div id="dadash-errors"[^>]*>(.*?)</div>`).FindStringSubmatch(dom); m != nil {
		return m[1]
	}
	return "(no error box)"
}

// checkScreenshot requires a PNG that is not blank: charts draw on canvas,
// so a page whose scripts failed is mostly white.
func checkScreenshot(t *testing.T, path string) { checkColoured(t, path, 0.01) }

// checkColoured requires at least the fraction least of coloured pixels.
func checkColoured(t *testing.T, path string, least float64) {
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot %s: %v", path, err)
	}
	b := img.Bounds()
	colored := 0
	for y := b.Min.Y; y < b.Max.Y; y += 4 {
		for x := b.Min.X; x < b.Max.X; x += 4 {
			r, g, bl, _ := img.At(x, y).RGBA()
			if max(r, g, bl)-min(r, g, bl) > 0x3000 {
				colored++
			}
		}
	}
	frac := float64(colored) / float64((b.Dx()/4)*(b.Dy()/4))
	t.Logf("screenshot %s: %dx%d, %.1f%% coloured pixels", path, b.Dx(), b.Dy(), 100*frac)
	if frac < least {
		t.Errorf("screenshot %s is nearly colourless (%.2f%%): did the charts draw?", path, 100*frac)
	}
}

// TestBrowserCatchesErrors checks the checker: a page with a planted error
// must be reported.
func TestBrowserCatchesErrors(t *testing.T) {
	bin := chromium(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "p.html")
	r, err := Open(path, "planted")
	if err != nil {
		t.Fatal(err)
	}
	r.Text("x")
	planted := withScript(t, path, filepath.Join(dir, "planted.html"), "<script>throw new Error(\"planted\")</script>\n")
	dom, console := browse(t, bin, planted, "--dump-dom")
	if m := reJSErrors.FindStringSubmatch(dom); m == nil || m[1] != "1" {
		t.Errorf("the planted error was not collected: %.400s", dom)
	}
	if len(console) == 0 || !strings.Contains(strings.Join(console, "\n"), "planted") {
		t.Errorf("the planted error is not in the console output: %v", console)
	}
}

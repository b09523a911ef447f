package report

import (
	"encoding/json"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/builtins/plot"
	"github.com/dadash/dadash/internal/page"
	"github.com/dadash/dadash/interp/startest"
)

// The browser test of every kind of page dadash writes besides free-form
// reports: a run page (@stdlib/runpage.star), a comparison page and a REPL
// page (a chart saved on its own). Each must load offline without
// JavaScript errors, draw all its charts, keep hostile names as text, and
// a run or comparison page must show its results table within the first
// screen (1280 x 800).

// pageProbe shows a tooltip on every chart, then reports what the page
// did and where the first results table ends.
const pageProbe = `<script>
window.addEventListener("load", function () {
  setTimeout(function () {
    try {
      dadash.charts.forEach(function (c) { c.dispatchAction({ type: "showTip", seriesIndex: 0, dataIndex: 0 }); });
      for (var id in (dadash.select || {})) dadash.select[id](0);
    } catch (e) { dadash.fail("probe", e); }
    setTimeout(function () {
      var t = document.querySelector("table.data");
      var out = { xss: !!window.__xss, errors: dadash.errors, charts: dadash.charts.length,
        canvases: document.querySelectorAll("canvas").length, markupImgs: document.querySelectorAll("img[onerror]").length,
        tableBottom: t ? t.getBoundingClientRect().bottom : -1, screen: window.innerHeight, text: document.body.innerText };
      var pre = document.createElement("pre");
      pre.id = "probe";
      pre.textContent = JSON.stringify(out);
      document.body.appendChild(pre);
    }, 500);
  }, 200);
});
</script>
`

type probeResult struct {
	XSS         bool
	Errors      []string
	Charts      int
	Canvases    int
	MarkupImgs  int
	TableBottom float64
	Screen      float64
	Text        string
}

// probePage loads the page with the probe at the given window size.
func probePage(t *testing.T, bin, path, size string) probeResult {
	t.Helper()
	probed := withScript(t, path, strings.TrimSuffix(path, ".html")+"-probed.html", pageProbe)
	dom, console := browse(t, bin, probed, "--dump-dom", "--window-size="+size)
	if len(console) > 0 {
		t.Errorf("%s: console messages:\n%s", filepath.Base(path), strings.Join(console, "\n"))
	}
	if m := reJSErrors.FindStringSubmatch(dom); m != nil {
		t.Errorf("%s: the page collected %s JavaScript errors: %s", filepath.Base(path), m[1], errorBox(dom))
	}
	m := regexp.MustCompile(`<pre id="probe">(.*?)</pre>`).FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("%s: the probe wrote no result; errors: %s", filepath.Base(path), errorBox(dom))
	}
	var res probeResult
	if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &res); err != nil {
		t.Fatalf("probe result %q: %v", m[1], err)
	}
	if res.XSS || res.MarkupImgs != 0 {
		t.Errorf("%s: a name became markup (xss=%v, img[onerror]=%d)", filepath.Base(path), res.XSS, res.MarkupImgs)
	}
	if len(res.Errors) > 0 {
		t.Errorf("%s: errors: %v", filepath.Base(path), res.Errors)
	}
	return res
}

// runPage writes the browser test's run page and returns its path.
func runPage(t *testing.T, dir string) string {
	startest.RunFile(t, "testdata/browser/runpage.star", startest.Predeclared(starlark.StringDict{"outdir": starlark.String(dir)}))
	return filepath.Join(dir, "run", "report.html")
}

// comparisonPage writes a comparison of two settings over three seeds,
// one run still going, one metric missing from some runs.
func comparisonPage(t *testing.T, dir string) string {
	for g, dada := range []bool{false, true} {
		for s := 0; s < 3; s++ {
			log := seedLog(0.4+0.05*float64(g)+0.01*float64(s), dada)
			if dada && s == 2 {
				log = log[:strings.LastIndex(strings.TrimSuffix(log, "\n"), "\n")+1] // one epoch fewer
			}
			cfg := cfgOf(s, dada)
			cfg["note"] = xssName
			writeRun(t, filepath.Join(dir, "runs", fmt.Sprintf("%s_%v", xssName, dada), fmt.Sprint("seed_", s)), log, cfg,
				[]string{"e_recall@1", "mAP_R", "nmi"}, !(dada && s == 2))
		}
	}
	c, err := Compare([]string{filepath.Join(dir, "runs")})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "compare.html")
	if err := WriteComparison(c, out, "runs "+xssName); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestBrowserPages(t *testing.T) {
	if !page.Inlined() {
		t.Skip("this build has no internal/page/assets/echarts.min.js (run make): the page would need the network")
	}
	bin := chromium(t)
	dir := t.TempDir()
	shots := os.Getenv("DADASH_SCREENSHOTS")
	if shots == "" {
		shots = dir
	}

	// The run page: 3 small-multiples charts, 3 heatmaps, the embedding view.
	run := runPage(t, dir)
	res := probePage(t, bin, run, "1280,800")
	if res.Charts != 7 || res.Canvases < 7 {
		t.Errorf("run page: %d charts, %d canvases; want 7", res.Charts, res.Canvases)
	}
	for _, want := range []string{"Results", "final (epoch 20)", "DADA's generator objective", "a part named " + xssName, "Provenance"} {
		if !strings.Contains(res.Text, want) {
			t.Errorf("run page: no text %q", want)
		}
	}
	if res.TableBottom <= 0 || res.TableBottom > res.Screen {
		t.Errorf("run page: the results table ends at %.0f px, below the first screen (%.0f px)", res.TableBottom, res.Screen)
	}
	// The first screen holds the table and the first metric charts: thin
	// coloured lines on white, hence the low threshold.
	shot := filepath.Join(shots, "runpage-first-screen.png")
	browse(t, bin, run, "--window-size=1280,800", "--screenshot="+shot)
	checkColoured(t, shot, 0.001)

	// The comparison page: its curves, the results table first.
	cmp := comparisonPage(t, dir)
	res = probePage(t, bin, cmp, "1280,800")
	if res.Charts != 1 || res.Canvases < 1 {
		t.Errorf("comparison page: %d charts, want 1", res.Charts)
	}
	for _, want := range []string{"nmi (in 3 of 6 runs)", "dada=True", xssName + "_true/seed_2"} {
		if !strings.Contains(res.Text, want) {
			t.Errorf("comparison page: no text %q", want)
		}
	}
	if res.TableBottom <= 0 || res.TableBottom > res.Screen {
		t.Errorf("comparison page: the results table ends at %.0f px, below the first screen (%.0f px)", res.TableBottom, res.Screen)
	}
	shot = filepath.Join(shots, "compare-first-screen.png")
	browse(t, bin, cmp, "--window-size=1280,800", "--screenshot="+shot)
	checkColoured(t, shot, 0.001)
	shot = filepath.Join(shots, "runpage.png")
	browse(t, bin, run, "--window-size=1280,5200", "--screenshot="+shot)
	checkScreenshot(t, shot)

	// A REPL page: a chart saved on its own, with the shared chrome.
	ch, err := plot.Multiples(plot.MultiplesSpec{Axes: plot.Axes{Title: xssName, XLabel: "epoch"}, X: []float64{1, 2, 3}, Mark: "max",
		Panels: []plot.Panel{{Title: xssName, Lines: []plot.PanelLine{{Name: xssName, Y: []float64{1, 2, 1.5},
			Lo: []float64{0.5, 1.5, 1}, Hi: []float64{1.5, 2.5, 2}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	repl := filepath.Join(dir, "view-1.html")
	if err := ch.Save(repl); err != nil {
		t.Fatal(err)
	}
	res = probePage(t, bin, repl, "1280,800")
	if res.Charts != 1 || !strings.Contains(res.Text, "Provenance") {
		t.Errorf("REPL page: %d charts, provenance shown: %v", res.Charts, strings.Contains(res.Text, "Provenance"))
	}
}

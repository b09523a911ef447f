package plot

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dadash/dadash/internal/page/htmlcheck"
	"github.com/dadash/dadash/interp/startest"
)

func TestStar(t *testing.T) {
	startest.Run(t, "testdata/*.star")
}

// option decodes a chart's ECharts option.
func option(t *testing.T, c *Chart) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(c.Option(), &m); err != nil {
		t.Fatalf("option is not JSON: %v\n%s", err, c.Option())
	}
	return m
}

func get(m any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m = m.(map[string]any)[k]
		case int:
			m = m.([]any)[k]
		}
	}
	return m
}

func TestLineOption(t *testing.T) {
	c, err := Line(LineSpec{Axes: Axes{Title: "loss", XLabel: "epoch", YLabel: "value"}, X: []float64{1, 2, 3},
		Series: []Series{{"a", []float64{1, math.NaN(), -1}}, {"b", []float64{0.5, 0.25, 0.125}}}, LogY: true, Mark: "min"})
	if err != nil {
		t.Fatal(err)
	}
	m := option(t, c)
	if get(m, "yAxis", 0, "type") != "log" || get(m, "xAxis", 0, "type") != "value" || get(m, "xAxis", 0, "name") != "epoch" {
		t.Errorf("axes: x %v, y %v", get(m, "xAxis"), get(m, "yAxis"))
	}
	if get(m, "title", "text") != "loss" || get(m, "legend", "show") != true {
		t.Errorf("title %v, legend %v", get(m, "title"), get(m, "legend"))
	}
	// NaN and, on a log axis, values <= 0 are gaps (null).
	data := get(m, "series", 0, "data").([]any)
	if v := get(data[1], "value", 1); v != nil {
		t.Errorf("NaN encoded as %v", v)
	}
	if v := get(data[2], "value", 1); v != nil {
		t.Errorf("-1 on a log axis encoded as %v", v)
	}
	if get(m, "series", 1, "markPoint", "data", 0, "type") != "min" {
		t.Errorf("mark: %v", get(m, "series", 1))
	}
	// Few points: symbols shown.
	if get(m, "series", 0, "showSymbol") != true {
		t.Error("symbols hidden on a 3-point line")
	}
}

func TestScatterGroupsClasses(t *testing.T) {
	c, err := Scatter(ScatterSpec{X: []float64{0, 1, 2, 3}, Y: []float64{0, 1, 0, 1}, Labels: []int{7, 2, 7, 9},
		ClassNames: []string{0: "zero", 2: "two", 7: "seven"}, Names: []string{"a", "b", "c", "d"}})
	if err != nil {
		t.Fatal(err)
	}
	m := option(t, c)
	var names []string
	for _, s := range get(m, "series").([]any) {
		names = append(names, s.(map[string]any)["name"].(string))
	}
	if strings.Join(names, ",") != "two,seven,9" {
		t.Errorf("series %v, want two, seven, 9 (label order; a label without a name shows its number)", names)
	}
	// Points keep their index, for names and thumbnails.
	if v := get(m, "series", 1, "data", 1, "value", 2); v != 2.0 {
		t.Errorf("second point of class 7 has index %v, want 2", v)
	}
	var extra map[string]any
	json.Unmarshal(c.extra, &extra)
	if extra["kind"] != "scatter" || len(extra["names"].([]any)) != 4 {
		t.Errorf("extra %v", extra)
	}
}

func TestHeatmapScale(t *testing.T) {
	c, err := Heatmap(HeatmapSpec{Z: [][]float64{{-0.5, 0}, {0, 1}}})
	if err != nil {
		t.Fatal(err)
	}
	m := option(t, c)
	vm := get(m, "visualMap").(map[string]any)
	// Signed values: the scale is centred on 0, as far on either side.
	if vm["min"] != -1.0 || vm["max"] != 1.0 {
		t.Errorf("visualMap %v, want -1 to 1 (centred on 0)", vm)
	}
	if get(vm, "inRange", "color", 0) != diverging[0] {
		t.Error("a range spanning 0 does not use the diverging scale")
	}
	if get(m, "yAxis", 0, "inverse") != true {
		t.Error("row 0 is not at the top")
	}
	if len(get(m, "series", 0, "data").([]any)) != 4 {
		t.Error("not one cell per entry")
	}
	// Positive values keep the data's range and a sequential scale, unless a
	// centre is asked for.
	c, _ = Heatmap(HeatmapSpec{Z: [][]float64{{0.2, 0.9}}})
	vm = get(option(t, c), "visualMap").(map[string]any)
	if vm["min"] != 0.2 || vm["max"] != 0.9 || get(vm, "inRange", "color", 0) != sequential[0] {
		t.Errorf("positive values: %v", vm)
	}
	half := 0.5
	c, _ = Heatmap(HeatmapSpec{Z: [][]float64{{0.2, 0.9}}, Center: &half})
	vm = get(option(t, c), "visualMap").(map[string]any)
	if math.Abs(vm["min"].(float64)-0.1) > 1e-6 || math.Abs(vm["max"].(float64)-0.9) > 1e-6 || get(vm, "inRange", "color", 2) != diverging[2] {
		t.Errorf("center 0.5: %v, want 0.1 to 0.9, diverging", vm)
	}
	lo, hi := 0.0, 0.0
	if c, err = Heatmap(HeatmapSpec{Z: [][]float64{{5}}, Min: &lo, Max: &hi}); err == nil {
		t.Error("no error for vmin == vmax")
	}
}

func TestHistogramCounts(t *testing.T) {
	c, err := Histogram(HistogramSpec{Series: []Series{{"x", []float64{0, 0.1, 0.5, 0.9, 1, math.NaN()}}}, Bins: 2})
	if err != nil {
		t.Fatal(err)
	}
	m := option(t, c)
	d := get(m, "series", 0, "data").([]any)
	if get(d[0], "value") != 2.0 || get(d[1], "value") != 3.0 {
		t.Errorf("counts %v, want [2 3] (the last bin includes the maximum; NaN is left out)", d)
	}
}

func TestSaveIsAPage(t *testing.T) {
	c, err := Bar(BarSpec{Axes: Axes{Title: "</script><script>alert(1)</script>"}, Categories: []string{"a"}, Series: []Series{{"v", []float64{1}}}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "sub", "c.html")
	if err := c.Save(path); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	d, err := htmlcheck.Check(b)
	if err != nil {
		t.Fatal(err)
	}
	if d.Count("figure", "bar") != 1 || d.Count("script", "") != 3 {
		t.Errorf("%d bar figures, %d scripts; want 1 and 3 (runtime, ECharts, the chart)", d.Count("figure", "bar"), d.Count("script", ""))
	}
}

// TestBuildRecovers: a panic while building an option (go-echarts panics
// on its own errors) becomes an error.
func TestBuildRecovers(t *testing.T) {
	_, err := build("line", Axes{}, 400, func() (map[string]any, error) { panic("template: boom") }, nil)
	if err == nil || !strings.Contains(err.Error(), "plot.line: building the chart failed") || !strings.Contains(err.Error(), "boom") {
		t.Errorf("err = %v", err)
	}
}

func TestMultiples(t *testing.T) {
	c, err := Multiples(MultiplesSpec{Axes: Axes{XLabel: "epoch"}, X: []float64{1, 2, 3}, Mark: "max", Panels: []Panel{
		{Title: "mAP_R", Lines: []PanelLine{{Name: "a", Y: []float64{0.2, 0.4141, 0.4111}}}},
		{Title: "lr", LogY: true, Lines: []PanelLine{{Name: "b", Y: []float64{1e-4, 5e-5, 0}}}},
		{Title: "R@1", Lines: []PanelLine{{Name: "a", Y: []float64{0.5, 0.6, 0.7}, Lo: []float64{0.4, 0.5, 0.6}, Hi: []float64{0.6, 0.7, 0.8}}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	m := option(t, c)
	if n := len(get(m, "grid").([]any)); n != 3 {
		t.Errorf("%d grids, want 3", n)
	}
	// The best point is named in the panel's title, not in a pin over the line.
	if title := get(m, "title", 1, "text"); title != "mAP_R  ·  best 0.4141 at epoch 2" {
		t.Errorf("panel title %q", title)
	}
	if get(m, "yAxis", 0, "name") != "mAP_R" || get(m, "xAxis", 0, "name") != "epoch" || get(m, "yAxis", 1, "type") != "log" {
		t.Errorf("axes: %v / %v", get(m, "xAxis"), get(m, "yAxis"))
	}
	// 0 on the log axis is a gap.
	if v := get(m, "series", 1, "data", 2, 1); v != nil {
		t.Errorf("0 on a log axis encoded as %v", v)
	}
	// A line keeps its colour across panels; its band is a series before it.
	series := get(m, "series").([]any)
	if len(series) != 4 {
		t.Fatalf("%d series, want 4 (two lines, and a line with a band)", len(series))
	}
	if get(series[0], "itemStyle", "color") != get(series[2], "itemStyle", "color") {
		t.Error("line a has two colours")
	}
	if get(series[3], "type") != "custom" || get(series[3], "data", 0, 1) != 0.4 || get(series[3], "data", 0, 2) != 0.6 {
		t.Errorf("band series: %v", series[3])
	}
	if get(series[0], "markPoint", "label", "show") != false {
		t.Error("best marks carry labels, which can overlap")
	}
	var extra map[string]any
	json.Unmarshal(c.extra, &extra)
	if _, ok := get(extra, "bands").(map[string]any)["2"]; !ok {
		t.Errorf("the tooltip does not know the band of line 2: %v", extra)
	}
}

// Best points of several series are dots (pins would cover each other);
// one series keeps its pin with the value.
func TestLineMarksDoNotOverlap(t *testing.T) {
	for _, c := range []struct {
		series []Series
		dots   bool
	}{
		{[]Series{{"a", []float64{0.4141, 0.3}}, {"b", []float64{0.4111, 0.2}}}, true},
		{[]Series{{"a", []float64{0.4141, 0.3}}}, false},
	} {
		ch, err := Line(LineSpec{Series: c.series, Mark: "max"})
		if err != nil {
			t.Fatal(err)
		}
		var extra map[string]any
		json.Unmarshal(ch.extra, &extra)
		if got := extra["dots"] == true; got != c.dots {
			t.Errorf("%d series: dots %v, want %v", len(c.series), got, c.dots)
		}
	}
}

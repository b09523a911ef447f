package plot

import (
	"fmt"
	"math"
	"sort"
	"strconv"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"

	"github.com/dadash/dadash/internal/page"
)

// The Go API: one spec struct per chart kind, plain slices in, a *Chart
// out. The Starlark builtins (builtins.go) only convert arguments into
// these. go-echarts builds the options; where its typed options cannot say
// something (exact visualMap bounds, a toolbox without null fields) the
// option map is adjusted before it is encoded.

// Axes holds what every chart takes.
type Axes struct {
	Title  string
	XLabel string
	YLabel string
	Height int // pixels; 0: the kind's default
}

// Series is one named sequence of values.
type Series struct {
	Name string
	Y    []float64
}

// common are the global options of the x/y charts; top is the room above
// the plot (more for best-point marks, whose pins stand above the point).
func common(a Axes, legend bool, top int) []charts.GlobalOpts {
	bottom := "40"
	if legend {
		bottom = "70"
	}
	if a.XLabel != "" {
		bottom = strconv.Itoa(atoi(bottom) + 10)
	}
	return []charts.GlobalOpts{
		charts.WithTitleOpts(opts.Title{Title: a.Title, Left: "center"}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(legend), Type: "scroll", Bottom: "0"}),
		charts.WithGridOpts(opts.Grid{Left: "50", Right: "40", Top: strconv.Itoa(top), Bottom: bottom, ContainLabel: opts.Bool(true)}),
		charts.WithAnimation(false), // pages are documents: draw at once
	}
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

// finish adjusts the option map of a chart built by go-echarts.
func finish(m map[string]any, nseries int, zoom bool) map[string]any {
	feature := map[string]any{"saveAsImage": map[string]any{"title": "save as PNG"}}
	if zoom {
		feature["dataZoom"] = map[string]any{"title": map[string]string{"zoom": "zoom", "back": "undo zoom"}}
		feature["restore"] = map[string]any{"title": "reset"}
	}
	m["toolbox"] = map[string]any{"right": 16, "top": 0, "feature": feature}
	m["color"] = page.Palette(max(nseries, 1))
	return m
}

func xName(a Axes) opts.XAxis {
	return opts.XAxis{Name: a.XLabel, NameLocation: "middle", NameGap: 28}
}

func yName(a Axes) opts.YAxis {
	return opts.YAxis{Name: a.YLabel, NameLocation: "middle", NameGap: 48}
}

// ---------------------------------------------------------------- line

// LineSpec describes a line chart: several series over a shared x.
type LineSpec struct {
	Axes
	X           []float64 // x values; nil: 0, 1, 2, ... (or XCategories)
	XCategories []string  // a category x axis instead of X
	Series      []Series
	LogY        bool   // logarithmic y axis (values <= 0 are left out)
	Markers     *bool  // a symbol at each point; nil: when a series has at most 60 points
	Mark        string // "max" or "min": mark each series' best point (a pin with its value; a dot when there are several series); "": none
	Smooth      bool
}

// Line makes a line chart.
func Line(s LineSpec) (*Chart, error) {
	if len(s.Series) == 0 {
		return nil, fmt.Errorf("plot.line: no data: give y = [...] or series = {name: [...], ...}")
	}
	if s.X != nil && s.XCategories != nil {
		return nil, fmt.Errorf("plot.line: x is either numbers or category names, not both")
	}
	nx := max(len(s.X), len(s.XCategories))
	for _, se := range s.Series {
		if (s.X != nil || s.XCategories != nil) && len(se.Y) != nx {
			return nil, fmt.Errorf("plot.line: series %q has %d values but x has %d", se.Name, len(se.Y), nx)
		}
	}
	if s.Mark != "" && s.Mark != "max" && s.Mark != "min" {
		return nil, fmt.Errorf("plot.line: mark is \"max\" or \"min\" (the best point of each series), got %q", s.Mark)
	}
	legend := len(s.Series) > 1
	// Several series' best points are dots without labels (their pins
	// would cover each other); the tooltip gives the values.
	var extra map[string]any
	if s.Mark != "" && legend {
		extra = map[string]any{"dots": true}
	}
	return build("line", s.Axes, 400, func() (map[string]any, error) {
		c := charts.NewLine()
		top := 50
		if s.Mark != "" && !legend {
			top = 75
		}
		c.SetGlobalOptions(common(s.Axes, legend, top)...)
		c.SetGlobalOptions(charts.WithTooltipOpts(opts.Tooltip{Trigger: "axis"}))
		xa, ya := xName(s.Axes), yName(s.Axes)
		ya.Type, ya.Scale = "value", opts.Bool(true)
		if s.LogY {
			ya.Type = "log"
		}
		if s.XCategories != nil {
			xa.Type = "category"
			c.SetXAxis(s.XCategories)
		} else {
			xa.Type, xa.Scale = "value", opts.Bool(true)
		}
		c.SetGlobalOptions(charts.WithXAxisOpts(xa), charts.WithYAxisOpts(ya))
		for _, se := range s.Series {
			data := make([]opts.LineData, len(se.Y))
			for i, y := range se.Y {
				if s.LogY && y <= 0 {
					y = math.NaN()
				}
				if s.XCategories != nil {
					data[i] = opts.LineData{Value: page.Float(y)}
					continue
				}
				x := float64(i)
				if s.X != nil {
					x = s.X[i]
				}
				data[i] = opts.LineData{Value: []page.Float{page.Float(x), page.Float(y)}}
			}
			show := len(se.Y) <= 60
			if s.Markers != nil {
				show = *s.Markers
			}
			so := []charts.SeriesOpts{charts.WithLineChartOpts(opts.LineChart{ShowSymbol: opts.Bool(show), Smooth: opts.Bool(s.Smooth)})}
			if s.Mark != "" {
				so = append(so, charts.WithMarkPointNameTypeItemOpts(opts.MarkPointNameTypeItem{Name: s.Mark, Type: s.Mark, ValueDim: "y"}))
			}
			c.AddSeries(se.Name, data, so...)
		}
		c.Validate()
		return finish(c.JSON(), len(s.Series), true), nil
	}, extra)
}

// ---------------------------------------------------------------- scatter

// ScatterSpec describes a scatter plot, coloured by class.
type ScatterSpec struct {
	Axes
	X, Y       []float64
	Labels     []int    // class of each point; nil: one class
	ClassNames []string // name of each label value; a missing name shows the number
	Names      []string // hover text of each point (e.g. a file name); nil: its index
	Thumbnails []string // an image per point for the hover tooltip: data URIs or image files
	SymbolSize float64  // 0: by the number of points
}

// Scatter makes a scatter plot with one series (and legend entry) per class.
func Scatter(s ScatterSpec) (*Chart, error) {
	n := len(s.X)
	if len(s.Y) != n {
		return nil, fmt.Errorf("plot.scatter: x has %d values, y has %d", n, len(s.Y))
	}
	for what, l := range map[string]int{"labels": len(s.Labels), "names": len(s.Names), "thumbnails": len(s.Thumbnails)} {
		if l != 0 && l != n {
			return nil, fmt.Errorf("plot.scatter: %s has %d entries for %d points", what, l, n)
		}
	}
	thumbs, err := dataURIs(s.Thumbnails)
	if err != nil {
		return nil, fmt.Errorf("plot.scatter: thumbnails: %w", err)
	}
	classes, byClass := groupLabels(s.Labels, n)
	size := s.SymbolSize
	if size <= 0 {
		size = symbolSize(n)
	}
	extra := map[string]any{"classed": s.Labels != nil}
	if s.Names != nil {
		extra["names"] = s.Names
	}
	if thumbs != nil {
		extra["thumbs"] = thumbs
	}
	legend := len(classes) > 1
	return build("scatter", s.Axes, 480, func() (map[string]any, error) {
		c := charts.NewScatter()
		c.SetGlobalOptions(common(s.Axes, legend, 50)...)
		c.SetGlobalOptions(charts.WithTooltipOpts(opts.Tooltip{Trigger: "item"}))
		xa, ya := xName(s.Axes), yName(s.Axes)
		xa.Type, xa.Scale, ya.Type, ya.Scale = "value", opts.Bool(true), "value", opts.Bool(true)
		c.SetGlobalOptions(charts.WithXAxisOpts(xa), charts.WithYAxisOpts(ya))
		for k, label := range classes {
			idx := byClass[k]
			data := make([]opts.ScatterData, len(idx))
			for j, i := range idx {
				data[j] = opts.ScatterData{Value: []any{page.Float(s.X[i]), page.Float(s.Y[i]), i}}
			}
			name := "points"
			if s.Labels != nil {
				name = className(s.ClassNames, label)
			}
			c.AddSeries(name, data, charts.WithScatterChartOpts(opts.ScatterChart{SymbolSize: size}))
		}
		c.Validate()
		return finish(c.JSON(), len(classes), true), nil
	}, extra)
}

// groupLabels returns the distinct labels in increasing order and the
// indices of the points of each.
func groupLabels(labels []int, n int) ([]int, [][]int) {
	if labels == nil {
		all := make([]int, n)
		for i := range all {
			all[i] = i
		}
		return []int{0}, [][]int{all}
	}
	pos := map[int]int{}
	var classes []int
	for _, l := range labels {
		if _, ok := pos[l]; !ok {
			pos[l] = 0
			classes = append(classes, l)
		}
	}
	sort.Ints(classes)
	for k, l := range classes {
		pos[l] = k
	}
	by := make([][]int, len(classes))
	for i, l := range labels {
		by[pos[l]] = append(by[pos[l]], i)
	}
	return classes, by
}

func className(names []string, label int) string {
	if label >= 0 && label < len(names) {
		return names[label]
	}
	return strconv.Itoa(label)
}

// symbolSize shrinks points as they get many, so that clusters stay visible.
func symbolSize(n int) float64 {
	switch {
	case n <= 200:
		return 8
	case n <= 2000:
		return 6
	case n <= 10000:
		return 4
	}
	return 3
}

func dataURIs(srcs []string) ([]string, error) {
	if srcs == nil {
		return nil, nil
	}
	out := make([]string, len(srcs))
	for i, s := range srcs {
		if s == "" {
			continue
		}
		u, err := page.DataURI(s)
		if err != nil {
			return nil, fmt.Errorf("entry %d: %w", i, err)
		}
		out[i] = u
	}
	return out, nil
}

// ---------------------------------------------------------------- heatmap

// HeatmapSpec describes a heatmap of a matrix: row i is drawn at the top
// for i = 0, as a matrix is printed.
type HeatmapSpec struct {
	Axes
	Z        [][]float64
	XLabels  []string // column names; nil: 0, 1, ...
	YLabels  []string // row names; nil: 0, 1, ...
	Min, Max *float64 // colour scale bounds; nil: the data's
	Colors   []string // colour scale from Min to Max; nil: sequential, or diverging around Center
	Center   *float64 // a diverging scale centred here (bounds made symmetric around it); nil: 0 when the values have both signs
	Annotate *bool    // write the values in the cells; nil: for matrices up to 20 x 20
}

// Heatmap makes a heatmap.
func Heatmap(s HeatmapSpec) (*Chart, error) {
	rows := len(s.Z)
	if rows == 0 || len(s.Z[0]) == 0 {
		return nil, fmt.Errorf("plot.heatmap: the matrix is empty")
	}
	cols := len(s.Z[0])
	for i, r := range s.Z {
		if len(r) != cols {
			return nil, fmt.Errorf("plot.heatmap: row %d has %d values, row 0 has %d", i, len(r), cols)
		}
	}
	xl, err := axisLabels("xlabels", s.XLabels, cols)
	if err != nil {
		return nil, err
	}
	yl, err := axisLabels("ylabels", s.YLabels, rows)
	if err != nil {
		return nil, err
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, r := range s.Z {
		for _, v := range r {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	if math.IsInf(lo, 1) {
		lo, hi = 0, 1 // no finite values: any scale will do
	}
	if s.Min != nil {
		lo = *s.Min
	}
	if s.Max != nil {
		hi = *s.Max
	}
	if !(lo < hi) {
		if s.Min != nil && s.Max != nil {
			return nil, fmt.Errorf("plot.heatmap: vmin (%g) must be below vmax (%g)", lo, hi)
		}
		lo, hi = lo-0.5, hi+0.5 // a constant matrix
	}
	colors := s.Colors
	if s.Center != nil || (lo < 0 && hi > 0) {
		// Signed values: white at the centre, and as much range on either
		// side, so that equal distances from it get equal colours.
		c := 0.0
		if s.Center != nil {
			c = *s.Center
		}
		m := math.Max(math.Abs(c-lo), math.Abs(hi-c))
		if m == 0 {
			m = 1
		}
		lo, hi = c-m, c+m
		if colors == nil {
			colors = diverging
		}
	}
	if colors == nil {
		colors = sequential
	}
	annotate := rows <= 20 && cols <= 20
	if s.Annotate != nil {
		annotate = *s.Annotate
	}
	height := min(max(rows*18+140, 360), 900)
	return build("heatmap", s.Axes, height, func() (map[string]any, error) {
		c := charts.NewHeatMap()
		c.SetGlobalOptions(common(s.Axes, false, 50)...)
		c.SetGlobalOptions(charts.WithTooltipOpts(opts.Tooltip{Trigger: "item"}))
		xa, ya := xName(s.Axes), yName(s.Axes)
		// HeatMap.Validate, unlike the other charts', leaves the x data unset.
		xa.Type, xa.Data, xa.SplitArea = "category", xl, &opts.SplitArea{Show: opts.Bool(true)}
		// The axis names go beyond the labels (containLabel leaves names
		// out): the gaps grow with the longest label, about 7 px a letter.
		xgap := 28
		if cols <= 60 {
			// Name every column; class names are long, so slant them.
			xa.AxisLabel = &opts.AxisLabel{Interval: "0"}
			if n := longest(xl); n > 3 {
				xa.AxisLabel.Rotate = 30
				xgap = min(24+n*7/2, 130)
			}
		}
		xa.NameGap = xgap
		ya.NameGap = min(16+longest(yl)*7, 200)
		ya.Type, ya.Data, ya.Inverse, ya.SplitArea = "category", yl, opts.Bool(true), &opts.SplitArea{Show: opts.Bool(true)}
		c.SetGlobalOptions(charts.WithXAxisOpts(xa), charts.WithYAxisOpts(ya))
		data := make([]opts.HeatMapData, 0, rows*cols)
		for i, r := range s.Z {
			for j, v := range r {
				data = append(data, opts.HeatMapData{Value: []any{j, i, page.Float(v)}})
			}
		}
		name := s.Title
		if name == "" {
			name = "value"
		}
		c.AddSeries(name, data, charts.WithLabelOpts(opts.Label{Show: opts.Bool(annotate)}))
		c.Validate()
		m := finish(c.JSON(), 1, false)
		// go-echarts' VisualMap drops a bound of 0 (omitempty float32).
		m["visualMap"] = map[string]any{
			"type": "continuous", "min": page.Float(lo), "max": page.Float(hi), "calculable": true,
			"orient": "vertical", "right": 0, "top": "middle", "inRange": map[string]any{"color": colors},
			"precision": scalePrecision(hi - lo),
		}
		left, bottom := 30, 30
		if s.YLabel != "" {
			left += 20
		}
		if s.XLabel != "" {
			bottom = xgap - 4
		}
		m["grid"] = map[string]any{"left": left, "right": 90, "top": 50, "bottom": bottom, "containLabel": true}
		return m, nil
	}, nil)
}

// longest is the length in characters of the longest label.
func longest(labels []string) int {
	n := 0
	for _, l := range labels {
		n = max(n, len([]rune(l)))
	}
	return n
}

// scalePrecision is the number of decimals the colour scale's labels need
// (ECharts rounds them to integers by default).
func scalePrecision(span float64) int {
	return min(max(0, 2-int(math.Floor(math.Log10(span)))), 6)
}

// viridis and a blue-white-red scale (for signed values such as cosine
// similarities).
var (
	sequential = []string{"#440154", "#3b528b", "#21918c", "#5ec962", "#fde725"}
	diverging  = []string{"#2166ac", "#67a9cf", "#f7f7f7", "#ef8a62", "#b2182b"}
)

func axisLabels(what string, given []string, n int) ([]string, error) {
	if given != nil {
		if len(given) != n {
			return nil, fmt.Errorf("plot.heatmap: %s has %d names for %d entries", what, len(given), n)
		}
		return given, nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = strconv.Itoa(i)
	}
	return out, nil
}

// ---------------------------------------------------------------- bar

// BarSpec describes a bar chart: one bar per category and series.
type BarSpec struct {
	Axes
	Categories []string
	Series     []Series
	Horizontal bool
	Stack      bool
}

// Bar makes a bar chart.
func Bar(s BarSpec) (*Chart, error) {
	if len(s.Series) == 0 {
		return nil, fmt.Errorf("plot.bar: no data: give values = [...] or series = {name: [...], ...}")
	}
	for _, se := range s.Series {
		if len(se.Y) != len(s.Categories) {
			return nil, fmt.Errorf("plot.bar: series %q has %d values for %d categories", se.Name, len(se.Y), len(s.Categories))
		}
	}
	return bars("bar", s.Axes, s.Categories, s.Series, s.Horizontal, s.Stack, false, nil)
}

func bars(kind string, a Axes, cats []string, series []Series, horizontal, stack, overlap bool, extra map[string]any) (*Chart, error) {
	legend := len(series) > 1
	height := 400
	if horizontal {
		height = min(max(len(cats)*22+120, 300), 900)
	}
	return build(kind, a, height, func() (map[string]any, error) {
		c := charts.NewBar()
		c.SetGlobalOptions(common(a, legend, 50)...)
		c.SetGlobalOptions(charts.WithTooltipOpts(opts.Tooltip{Trigger: "axis"}))
		xa, ya := xName(a), yName(a)
		xa.Type, ya.Type = "category", "value"
		if horizontal {
			// Category 0 at the top, as the values were listed.
			xa.Type, ya.Type, ya.Inverse = "value", "category", opts.Bool(true)
			ya.NameLocation, ya.NameGap = "end", 8
		}
		c.SetXAxis(cats)
		c.SetGlobalOptions(charts.WithXAxisOpts(xa), charts.WithYAxisOpts(ya))
		for _, se := range series {
			data := make([]opts.BarData, len(se.Y))
			for i, v := range se.Y {
				data[i] = opts.BarData{Value: page.Float(v)}
			}
			var so []charts.SeriesOpts
			if stack {
				so = append(so, charts.WithBarChartOpts(opts.BarChart{Stack: "total"}))
			}
			if overlap {
				// Histograms of several series share their bins: draw the
				// bars over each other, see-through.
				so = append(so, charts.WithBarChartOpts(opts.BarChart{BarGap: "-100%", BarCategoryGap: "0%"}),
					charts.WithItemStyleOpts(opts.ItemStyle{Opacity: opts.Float(0.55)}))
			}
			c.AddSeries(se.Name, data, so...)
		}
		if horizontal {
			c.XYReversal()
		}
		c.Validate()
		return finish(c.JSON(), len(series), false), nil
	}, extra)
}

// ---------------------------------------------------------------- histogram

// HistogramSpec describes a histogram; several series share the bins.
type HistogramSpec struct {
	Axes
	Series  []Series // the samples, in Y
	Bins    int      // 0: 30
	Range   *[2]float64
	Density bool // normalise so that each histogram integrates to 1
}

// Histogram makes a histogram (a bar chart of bin counts).
func Histogram(s HistogramSpec) (*Chart, error) {
	if len(s.Series) == 0 {
		return nil, fmt.Errorf("plot.histogram: no data")
	}
	bins := s.Bins
	if bins == 0 {
		bins = 30
	}
	if bins < 1 || bins > 10000 {
		return nil, fmt.Errorf("plot.histogram: bins must be between 1 and 10000, got %d", bins)
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	if s.Range != nil {
		lo, hi = s.Range[0], s.Range[1]
		if !(lo < hi) {
			return nil, fmt.Errorf("plot.histogram: range (%g, %g) is empty", lo, hi)
		}
	} else {
		for _, se := range s.Series {
			for _, v := range se.Y {
				if !math.IsNaN(v) && !math.IsInf(v, 0) {
					lo, hi = math.Min(lo, v), math.Max(hi, v)
				}
			}
		}
		if math.IsInf(lo, 1) {
			return nil, fmt.Errorf("plot.histogram: no finite values")
		}
		if lo == hi {
			lo, hi = lo-0.5, hi+0.5
		}
	}
	width := (hi - lo) / float64(bins)
	edges := make([]page.Float, bins+1)
	cats := make([]string, bins)
	for b := 0; b <= bins; b++ {
		edges[b] = page.Float(lo + float64(b)*width)
		if b < bins {
			cats[b] = shortNumber(lo + (float64(b)+0.5)*width)
		}
	}
	counted := make([]Series, len(s.Series))
	for k, se := range s.Series {
		counts := make([]float64, bins)
		total := 0
		for _, v := range se.Y {
			if math.IsNaN(v) || v < lo || v > hi {
				continue
			}
			b := min(int((v-lo)/width), bins-1) // the last bin includes hi
			counts[b]++
			total++
		}
		if s.Density && total > 0 {
			for b := range counts {
				counts[b] /= float64(total) * width
			}
		}
		counted[k] = Series{Name: se.Name, Y: counts}
	}
	a := s.Axes
	if a.YLabel == "" {
		a.YLabel = "count"
		if s.Density {
			a.YLabel = "density"
		}
	}
	return bars("histogram", a, cats, counted, false, false, true, map[string]any{"edges": edges})
}

// shortNumber formats an axis label: 3 significant digits.
func shortNumber(v float64) string {
	if v == 0 {
		return "0"
	}
	if math.Abs(v) >= 1e5 || math.Abs(v) < 1e-3 {
		return strconv.FormatFloat(v, 'e', 2, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

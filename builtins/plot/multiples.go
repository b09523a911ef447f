package plot

import (
	"fmt"
	"math"
	"strconv"

	"github.com/dadash/dadash/internal/page"
)

// Small multiples: several small line charts in a grid, one per quantity
// (a metric, a loss part), each with its own y axis and scale, drawn as one
// ECharts instance so that they share a legend, colours and the tooltip.
// go-echarts' typed options have one grid per chart, so the option is
// built here as a plain map.

// PanelLine is one line of a panel: the values of one run, or the mean of
// a group of runs with its spread as a band.
type PanelLine struct {
	Name   string
	X      []float64 // nil: the chart's X
	Y      []float64
	Lo, Hi []float64 // a shaded band from Lo to Hi (e.g. min and max over seeds); nil: none
}

// Panel is one small chart.
type Panel struct {
	Title  string // the quantity; also the y axis name unless YLabel is set
	YLabel string
	Lines  []PanelLine
	LogY   bool
}

// MultiplesSpec describes small multiples. Axes.Height is the height of
// one panel (default 200 pixels); Axes.YLabel names the y axes of panels
// without a YLabel (default: the panel's title).
type MultiplesSpec struct {
	Axes
	X       []float64 // the x values lines share; nil: 0, 1, 2, ...
	Panels  []Panel
	Columns int    // panels per row; 0: up to 3
	Mark    string // "max" or "min": a dot on each line's best point; a panel of one line names it in its title
}

// Multiples makes small multiples.
func Multiples(s MultiplesSpec) (*Chart, error) {
	if len(s.Panels) == 0 {
		return nil, fmt.Errorf("plot.multiples: no panels")
	}
	if s.Mark != "" && s.Mark != "max" && s.Mark != "min" {
		return nil, fmt.Errorf("plot.multiples: mark is \"max\" or \"min\", got %q", s.Mark)
	}
	// Colours follow line names, so that a run keeps its colour in every panel.
	colorOf := map[string]int{}
	var names []string
	for _, p := range s.Panels {
		if len(p.Lines) == 0 {
			return nil, fmt.Errorf("plot.multiples: panel %q has no lines", p.Title)
		}
		for _, l := range p.Lines {
			x := l.X
			if x == nil {
				x = s.X
			}
			if x != nil && len(x) != len(l.Y) {
				return nil, fmt.Errorf("plot.multiples: panel %q, line %q has %d values but %d x values", p.Title, l.Name, len(l.Y), len(x))
			}
			if (l.Lo == nil) != (l.Hi == nil) || (l.Lo != nil && (len(l.Lo) != len(l.Y) || len(l.Hi) != len(l.Y))) {
				return nil, fmt.Errorf("plot.multiples: panel %q, line %q: a band needs lo and hi of %d values each", p.Title, l.Name, len(l.Y))
			}
			if _, ok := colorOf[l.Name]; !ok {
				colorOf[l.Name] = len(names)
				names = append(names, l.Name)
			}
		}
	}
	cols := s.Columns
	if cols <= 0 {
		cols = min(3, len(s.Panels))
	}
	rows := (len(s.Panels) + cols - 1) / cols
	panelH := 200
	if s.Height > 0 {
		panelH = s.Height
	}
	const titleH, xAxisH, legendH = 46, 46, 36
	top0 := 8
	if s.Title != "" {
		top0 = 36
	}
	legend := len(names) > 1
	height := top0 + rows*(titleH+panelH+xAxisH)
	if legend {
		height += legendH
	}
	palette := page.Palette(len(names))
	width := 100.0 / float64(cols)

	var grids, xAxes, yAxes, titles, series []any
	bands := map[string]any{} // series index -> [lo, hi], for the tooltip
	for pi, p := range s.Panels {
		r, c := pi/cols, pi%cols
		top := top0 + r*(titleH+panelH+xAxisH) + titleH
		grids = append(grids, map[string]any{
			"left": pct(float64(c)*width + 1), "width": pct(width - 3), "top": top, "height": panelH, "containLabel": true,
		})
		title := p.Title
		if s.Mark != "" && len(p.Lines) == 1 {
			if i := bestIndex(p.Lines[0].Y, s.Mark == "max"); i >= 0 {
				x := float64(i)
				if xs := lineX(p.Lines[0], s.X); xs != nil {
					x = xs[i]
				}
				at := s.XLabel
				if at == "" {
					at = "x"
				}
				title += fmt.Sprintf("  ·  best %s at %s %s", num4(p.Lines[0].Y[i]), at, num4(x))
			}
		}
		titles = append(titles, map[string]any{
			"text": title, "left": pct(float64(c)*width + 1), "top": top - titleH + 8,
			"textStyle": map[string]any{"fontSize": 13, "fontWeight": "normal"},
		})
		xa := map[string]any{"type": "value", "gridIndex": pi, "scale": true, "name": s.XLabel, "nameLocation": "middle", "nameGap": 24,
			"splitLine": map[string]any{"show": false}, "minInterval": 1}
		yname := p.YLabel
		if yname == "" {
			yname = s.YLabel
		}
		if yname == "" {
			yname = p.Title
		}
		ya := map[string]any{"type": "value", "gridIndex": pi, "scale": true, "name": yname, "nameLocation": "end", "nameGap": 8,
			"nameTextStyle": map[string]any{"align": "left", "color": "#656d76"}}
		if p.LogY {
			ya["type"] = "log"
		}
		xAxes, yAxes = append(xAxes, xa), append(yAxes, ya)
		for _, l := range p.Lines {
			xs := lineX(l, s.X)
			pt := func(i int, y float64) []page.Float {
				if p.LogY && y <= 0 {
					y = math.NaN()
				}
				x := float64(i)
				if xs != nil {
					x = xs[i]
				}
				return []page.Float{page.Float(x), page.Float(y)}
			}
			color := palette[colorOf[l.Name]]
			data := make([][]page.Float, len(l.Y))
			for i, y := range l.Y {
				data[i] = pt(i, y)
			}
			line := map[string]any{"type": "line", "name": l.Name, "xAxisIndex": pi, "yAxisIndex": pi, "data": data,
				"showSymbol": len(l.Y) <= 30, "symbolSize": 4, "itemStyle": map[string]any{"color": color}, "lineStyle": map[string]any{"width": 1.5}}
			if s.Mark != "" {
				line["markPoint"] = map[string]any{
					"symbol": "circle", "symbolSize": 9, "label": map[string]any{"show": false},
					"itemStyle": map[string]any{"color": color, "borderColor": "#1f2328", "borderWidth": 1.5},
					"data":      []any{map[string]any{"type": s.Mark, "valueDim": "y", "name": "best"}},
				}
			}
			lineIndex := len(series)
			series = append(series, line)
			if l.Lo != nil && !p.LogY {
				// A band, after its line so that the legend shows the
				// line's icon: a custom series of [x, lo, hi] items, which
				// the page runtime draws as one filled polygon (ECharts
				// stacks value axes on x, so stacked areas cannot do it).
				items := make([][]page.Float, 0, len(l.Y))
				los, his := make([]page.Float, len(l.Y)), make([]page.Float, len(l.Y))
				for i := range l.Y {
					los[i], his[i] = page.Float(l.Lo[i]), page.Float(l.Hi[i])
					x := pt(i, 0)[0]
					items = append(items, []page.Float{x, los[i], his[i]})
				}
				series = append(series, map[string]any{"type": "custom", "name": l.Name, "id": "band:" + strconv.Itoa(len(series)),
					"xAxisIndex": pi, "yAxisIndex": pi, "data": items, "encode": map[string]any{"x": 0, "y": []int{1, 2}},
					"silent": true, "clip": true, "z": 1, "itemStyle": map[string]any{"color": color, "opacity": 0.18}})
				bands[strconv.Itoa(lineIndex)] = []any{los, his}
			}
		}
	}
	opt := map[string]any{
		"animation": false,
		"grid":      grids, "xAxis": xAxes, "yAxis": yAxes, "series": series,
		"title":       append([]any{map[string]any{"text": s.Title, "left": "center", "top": 0}}, titles...),
		"tooltip":     map[string]any{"trigger": "axis"},
		"legend":      map[string]any{"show": legend, "type": "scroll", "bottom": 0, "data": names},
		"toolbox":     map[string]any{"right": 16, "top": 0, "feature": map[string]any{"saveAsImage": map[string]any{"title": "save as PNG"}}},
		"axisPointer": map[string]any{"link": []any{map[string]any{"xAxisIndex": "all"}}},
	}
	b, err := page.JSON(opt)
	if err != nil {
		return nil, fmt.Errorf("plot.multiples: %w", err)
	}
	extra, err := page.JSON(map[string]any{"kind": "multiples", "bands": bands})
	if err != nil {
		return nil, fmt.Errorf("plot.multiples: %w", err)
	}
	return &Chart{kind: "multiples", title: s.Title, height: height, option: b, extra: extra}, nil
}

func pct(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) + "%" }

func lineX(l PanelLine, shared []float64) []float64 {
	if l.X != nil {
		return l.X
	}
	return shared
}

// bestIndex is the index of the highest (or lowest) value, NaN skipped;
// the first on ties; -1 when there is none.
func bestIndex(ys []float64, highest bool) int {
	best := -1
	for i, y := range ys {
		if math.IsNaN(y) || math.IsInf(y, 0) {
			continue
		}
		if best < 0 || (highest && y > ys[best]) || (!highest && y < ys[best]) {
			best = i
		}
	}
	return best
}

// num4 writes a number with four significant digits, as the tooltips do.
func num4(v float64) string {
	a := math.Abs(v)
	if v == math.Trunc(v) && a < 1e15 {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	if a != 0 && (a < 1e-3 || a >= 1e6) {
		return strconv.FormatFloat(v, 'e', 3, 64)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

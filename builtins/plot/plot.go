// Package plot is the `plot` module of dadash scripts: line charts, scatter
// plots, heatmaps, bar charts and histograms on go-echarts, and the
// embedding view (internal/page/embview). Charts are values: append them
// to a report (r.chart(c)) or write them as pages of their own (c.save(path),
// show(c) in the REPL). The package is pure Go: tensors come in through
// lang.Numeric, lists of numbers work as well.
package plot

import (
	"fmt"
	"slices"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/internal/page/embview"
	"github.com/dadash/dadash/lang"
)

// Module is the plot module value.
var Module = lang.NewNamespace("plot", docModule, starlark.StringDict{
	"line":           lang.Func("plot.line", docLine, fnLine),
	"scatter":        lang.Func("plot.scatter", docScatter, fnScatter),
	"heatmap":        lang.Func("plot.heatmap", docHeatmap, fnHeatmap),
	"bar":            lang.Func("plot.bar", docBar, fnBar),
	"histogram":      lang.Func("plot.histogram", docHistogram, fnHistogram),
	"multiples":      lang.Func("plot.multiples", docMultiples, fnMultiples),
	"embedding_view": lang.Func("plot.embedding_view", docEmbeddingView, fnEmbeddingView),
}, nil)

func init() {
	lang.Register(lang.Module{Name: "plot", Value: Module, Doc: docModule})
}

const docModule = `plot: interactive charts (ECharts) for reports and the REPL.

    c = plot.line(x = epochs, series = {"train": losses, "test": test_losses},
                  title = "loss", xlabel = "epoch", ylabel = "loss", log_y = True)
    plot.scatter(xy, labels = labels, class_names = names, thumbnails = images)
    plot.heatmap(sim, xlabels = names, ylabels = names, vmin = -1, vmax = 1)
    plot.bar(["a", "b"], [0.7, 0.8]);  plot.histogram(distances, bins = 50)
    plot.multiples({"mAP_R": maps, "e_recall@1": r1}, x = epochs, xlabel = "epoch", mark = "max")
    plot.embedding_view(coords, labels, neighbors = nn, distances = d)
    c.save("loss.html");  r.chart(c)      # a page of its own; a report's next block
Numbers may be lists or tensors. Every chart takes title, xlabel, ylabel and height (pixels).`

// axesArgs are the keyword arguments every chart takes.
type axesArgs struct {
	Axes
}

func (a *axesArgs) pairs() []any {
	return []any{"title?", &a.Title, "xlabel?", &a.XLabel, "ylabel?", &a.YLabel, "height?", &a.Height}
}

func unpack(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple, a *axesArgs, pairs ...any) error {
	return lang.UnpackArgs(b.Name(), args, kwargs, append(pairs, a.pairs()...)...)
}

// argErr names the function and the argument in a conversion error.
func argErr(b *starlark.Builtin, arg string, err error) error {
	return fmt.Errorf("%s: %s: %w", b.Name(), arg, err)
}

func isNone(v starlark.Value) bool { return v == nil || v == starlark.None }

// namedSeries reads {name: values, ...} in insertion order.
func namedSeries(b *starlark.Builtin, v starlark.Value) ([]Series, error) {
	d, ok := v.(*starlark.Dict)
	if !ok {
		return nil, fmt.Errorf("%s: series must be a dict {name: values, ...}, got %s", b.Name(), v.Type())
	}
	var out []Series
	for _, kv := range d.Items() {
		name, ok := starlark.AsString(kv[0])
		if !ok {
			name = kv[0].String()
		}
		y, err := Vector(kv[1])
		if err != nil {
			return nil, argErr(b, fmt.Sprintf("series[%q]", name), err)
		}
		out = append(out, Series{Name: name, Y: y})
	}
	return out, nil
}

// categories reads category names; numbers are written as Starlark prints them.
func categories(v starlark.Value) ([]string, error) {
	seq, ok := v.(starlark.Indexable)
	if !ok || isString(v) {
		return nil, fmt.Errorf("want a list of names, got %s", v.Type())
	}
	out := make([]string, seq.Len())
	for i := range out {
		e := seq.Index(i)
		if s, ok := starlark.AsString(e); ok {
			out[i] = s
		} else {
			out[i] = e.String()
		}
	}
	return out, nil
}

const docLine = `plot.line(x=None, y=None, series=None, ...): a line chart of one or several series.

plot.line(x=None, y=None, series=None, title="", xlabel="", ylabel="", log_y=False,
          markers=None, mark=None, smooth=False, height=None)

A line chart. y is one sequence (a list or a 1-D tensor); series = {name: values, ...}
draws several, with a legend. x gives the x values (numbers) or category names (strings);
without it points are at 0, 1, 2, ... plot.line(values) is plot.line(y = values).
log_y: a logarithmic y axis (values <= 0 are left out). markers: a symbol at every point
(default: when there are at most 60). mark = "max" or "min" marks the best point of each
series (e.g. the best epoch): a pin with the value for one series, a dot for several (whose
pins would cover each other; the tooltip gives the values). NaN and None leave gaps.`

func fnLine(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	// plot.line(values), like matplotlib's plot(y).
	if len(args) == 1 && !hasKwarg(kwargs, "y") && !hasKwarg(kwargs, "series") {
		args = starlark.Tuple{starlark.None, args[0]}
	}
	var x, y, series, markers, mark starlark.Value = starlark.None, starlark.None, starlark.None, starlark.None, starlark.None
	var s LineSpec
	var a axesArgs
	if err := unpack(b, args, kwargs, &a, "x?", &x, "y?", &y, "series?", &series, "log_y?", &s.LogY,
		"markers?", &markers, "mark?", &mark, "smooth?", &s.Smooth); err != nil {
		return nil, err
	}
	s.Axes = a.Axes
	var err error
	if !isNone(x) {
		if seq, ok := x.(starlark.Indexable); ok && seq.Len() > 0 && isString(seq.Index(0)) {
			s.XCategories, err = Strings(x)
		} else {
			s.X, err = Vector(x)
		}
		if err != nil {
			return nil, argErr(b, "x", err)
		}
	}
	switch {
	case !isNone(y) && !isNone(series):
		return nil, fmt.Errorf("%s: give y (one series) or series (several), not both", b.Name())
	case !isNone(y):
		v, err := Vector(y)
		if err != nil {
			return nil, argErr(b, "y", err)
		}
		name := s.YLabel
		if name == "" {
			name = "y"
		}
		s.Series = []Series{{Name: name, Y: v}}
	case !isNone(series):
		if s.Series, err = namedSeries(b, series); err != nil {
			return nil, err
		}
	}
	if s.Markers, err = boolOrNone(markers, "markers"); err != nil {
		return nil, argErr(b, "markers", err)
	}
	if !isNone(mark) {
		m, ok := starlark.AsString(mark)
		if !ok {
			return nil, fmt.Errorf("%s: mark must be \"max\", \"min\" or None, got %s", b.Name(), mark.Type())
		}
		s.Mark = m
	}
	return Line(s)
}

func hasKwarg(kwargs []starlark.Tuple, name string) bool {
	for _, kv := range kwargs {
		if k, _ := starlark.AsString(kv[0]); k == name {
			return true
		}
	}
	return false
}

const docScatter = `plot.scatter(x, y=None, labels=None, ...): a scatter plot coloured by class.

plot.scatter(x, y=None, labels=None, class_names=None, names=None, thumbnails=None,
             title="", xlabel="", ylabel="", size=None, height=None)

A scatter plot. x and y are sequences, or x alone is an (N, 2) array (e.g. t-SNE
coordinates). labels: the class of each point (ints, or strings), one colour and legend
entry per class; class_names[label] names an int label. names: hover text per point
(e.g. file names). thumbnails: an image per point shown on hover: a list of data URIs
or image files, or a tensor of images (N, H, W), (N, C, H, W) or (N, H, W, C).
size: the symbol size in pixels (default: smaller as points get many).`

func fnScatter(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x, y, labels, classNames, names, thumbs starlark.Value = nil, starlark.None, starlark.None, starlark.None, starlark.None, starlark.None
	var s ScatterSpec
	var a axesArgs
	if err := unpack(b, args, kwargs, &a, "x", &x, "y?", &y, "labels?", &labels, "class_names?", &classNames,
		"names?", &names, "thumbnails?", &thumbs, "size?", &s.SymbolSize); err != nil {
		return nil, err
	}
	s.Axes = a.Axes
	var err error
	if isNone(y) {
		xy, err := Matrix(x)
		if err != nil || (len(xy) > 0 && len(xy[0]) != 2) {
			if err == nil {
				err = fmt.Errorf("got %d columns", len(xy[0]))
			}
			return nil, fmt.Errorf("%s: without y, x must be an (N, 2) array of points: %w", b.Name(), err)
		}
		for _, p := range xy {
			s.X, s.Y = append(s.X, p[0]), append(s.Y, p[1])
		}
	} else {
		if s.X, err = Vector(x); err != nil {
			return nil, argErr(b, "x", err)
		}
		if s.Y, err = Vector(y); err != nil {
			return nil, argErr(b, "y", err)
		}
	}
	if !isNone(classNames) {
		if s.ClassNames, err = Strings(classNames); err != nil {
			return nil, argErr(b, "class_names", err)
		}
	}
	if !isNone(labels) {
		if s.Labels, s.ClassNames, err = Labels(labels, s.ClassNames); err != nil {
			return nil, argErr(b, "labels", err)
		}
	}
	if !isNone(names) {
		if s.Names, err = categories(names); err != nil {
			return nil, argErr(b, "names", err)
		}
	}
	if !isNone(thumbs) {
		if s.Thumbnails, err = Images(thumbs); err != nil {
			return nil, argErr(b, "thumbnails", err)
		}
	}
	return Scatter(s)
}

const docHeatmap = `plot.heatmap(matrix, xlabels=None, ylabels=None, ...): a heatmap of a matrix.

plot.heatmap(matrix, xlabels=None, ylabels=None, title="", xlabel="", ylabel="",
             vmin=None, vmax=None, center=None, colors=None, annotate=None, height=None)

A heatmap of a 2-D array (a list of rows or a tensor), row 0 at the top: e.g. proxy
similarities, or DADA's per-class discriminator predictions. xlabels and ylabels name the
columns and rows. vmin and vmax bound the colour scale (default: the data's range);
colors lists the scale's colours from low to high (default: viridis). Signed values (a
range that spans 0), or any values with center=c, get a diverging blue-white-red scale
with white at 0 (or c) and bounds made symmetric around it. annotate writes the values
into the cells (default: up to 20x20).`

func fnHeatmap(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var m, xl, yl, vmin, vmax, center, colors, annotate starlark.Value = nil, starlark.None, starlark.None, starlark.None, starlark.None, starlark.None, starlark.None, starlark.None
	var s HeatmapSpec
	var a axesArgs
	if err := unpack(b, args, kwargs, &a, "matrix", &m, "xlabels?", &xl, "ylabels?", &yl, "vmin?", &vmin, "vmax?", &vmax,
		"center?", &center, "colors?", &colors, "annotate?", &annotate); err != nil {
		return nil, err
	}
	s.Axes = a.Axes
	var err error
	if s.Z, err = Matrix(m); err != nil {
		return nil, argErr(b, "matrix", err)
	}
	if !isNone(xl) {
		if s.XLabels, err = categories(xl); err != nil {
			return nil, argErr(b, "xlabels", err)
		}
	}
	if !isNone(yl) {
		if s.YLabels, err = categories(yl); err != nil {
			return nil, argErr(b, "ylabels", err)
		}
	}
	if s.Min, err = floatOrNone(vmin, "vmin"); err != nil {
		return nil, argErr(b, "vmin", err)
	}
	if s.Max, err = floatOrNone(vmax, "vmax"); err != nil {
		return nil, argErr(b, "vmax", err)
	}
	if s.Center, err = floatOrNone(center, "center"); err != nil {
		return nil, argErr(b, "center", err)
	}
	if !isNone(colors) {
		if s.Colors, err = Strings(colors); err != nil || len(s.Colors) < 2 {
			if err == nil {
				err = fmt.Errorf("want at least two colours")
			}
			return nil, argErr(b, "colors", err)
		}
	}
	if s.Annotate, err = boolOrNone(annotate, "annotate"); err != nil {
		return nil, argErr(b, "annotate", err)
	}
	return Heatmap(s)
}

const docBar = `plot.bar(categories, values=None, series=None, ...): a bar chart.

plot.bar(categories, values=None, series=None, title="", xlabel="", ylabel="",
         horizontal=False, stack=False, height=None)

A bar chart: one bar per category for values, or one group per category for
series = {name: values, ...} (stack = True stacks them). horizontal lays the bars along
the x axis, the first category at the top.`

func fnBar(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var cats, values, series starlark.Value = nil, starlark.None, starlark.None
	var s BarSpec
	var a axesArgs
	if err := unpack(b, args, kwargs, &a, "categories", &cats, "values?", &values, "series?", &series,
		"horizontal?", &s.Horizontal, "stack?", &s.Stack); err != nil {
		return nil, err
	}
	s.Axes = a.Axes
	var err error
	if s.Categories, err = categories(cats); err != nil {
		return nil, argErr(b, "categories", err)
	}
	switch {
	case !isNone(values) && !isNone(series):
		return nil, fmt.Errorf("%s: give values (one series) or series (several), not both", b.Name())
	case !isNone(values):
		v, err := Vector(values)
		if err != nil {
			return nil, argErr(b, "values", err)
		}
		name := s.YLabel
		if name == "" {
			name = "value"
		}
		s.Series = []Series{{Name: name, Y: v}}
	case !isNone(series):
		if s.Series, err = namedSeries(b, series); err != nil {
			return nil, err
		}
	}
	return Bar(s)
}

const docHistogram = `plot.histogram(values, bins=30, ...): a histogram of one or several samples.

plot.histogram(values, bins=30, range=None, density=False, title="", xlabel="", ylabel="",
               height=None)

A histogram of values (a list or a tensor, flattened), or of several samples
{name: values, ...} over the same bins, drawn over each other. range = (lo, hi) fixes
the bins' span (default: the data's). density normalises each histogram to area 1.`

func fnHistogram(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var values, rng starlark.Value = nil, starlark.None
	var s HistogramSpec
	var a axesArgs
	s.Bins = 30
	if err := unpack(b, args, kwargs, &a, "values", &values, "bins?", &s.Bins, "range?", &rng, "density?", &s.Density); err != nil {
		return nil, err
	}
	s.Axes = a.Axes
	if d, ok := values.(*starlark.Dict); ok {
		for _, kv := range d.Items() {
			name, ok := starlark.AsString(kv[0])
			if !ok {
				name = kv[0].String()
			}
			v, _, err := Numbers(kv[1])
			if err != nil {
				return nil, argErr(b, fmt.Sprintf("values[%q]", name), err)
			}
			s.Series = append(s.Series, Series{Name: name, Y: v})
		}
	} else {
		v, _, err := Numbers(values)
		if err != nil {
			return nil, argErr(b, "values", err)
		}
		name := s.XLabel
		if name == "" {
			name = "values"
		}
		s.Series = []Series{{Name: name, Y: v}}
	}
	if !isNone(rng) {
		r, err := Vector(rng)
		if err != nil || len(r) != 2 {
			return nil, fmt.Errorf("%s: range must be a pair (lo, hi)", b.Name())
		}
		s.Range = &[2]float64{r[0], r[1]}
	}
	if s.Bins < 1 {
		return nil, fmt.Errorf("%s: bins must be at least 1, got %d", b.Name(), s.Bins)
	}
	return Histogram(s)
}

const docEmbeddingView = `plot.embedding_view(coords, labels, ...): an embedding map with nearest neighbours.

plot.embedding_view(coords, labels, class_names=None, neighbors=None, distances=None,
                    thumbnails=None, names=None, title="")

An embedding view from precomputed data: coords, an (N, 2) array (t-SNE or PCA of the
embeddings); labels, the class of each point (ints, or strings); class_names[label] names
them. neighbors, an (N, k) array of each point's nearest neighbours in the embedding space
(nearest first; the point itself is dropped if listed), and distances, their distances,
fill the panel that clicking a point opens. thumbnails: as for plot.scatter; names: hover
text per point. Append it with r.embedding(view) or write it with view.save(path).`

func fnEmbeddingView(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var coords, labels, classNames, nbrs, dists, thumbs, names starlark.Value = nil, nil, starlark.None, starlark.None, starlark.None, starlark.None, starlark.None
	var title string
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "coords", &coords, "labels", &labels, "class_names?", &classNames,
		"neighbors?", &nbrs, "distances?", &dists, "thumbnails?", &thumbs, "names?", &names, "title?", &title); err != nil {
		return nil, err
	}
	xy, err := Matrix(coords)
	if err != nil {
		return nil, argErr(b, "coords", err)
	}
	pts := make([][2]float64, len(xy))
	for i, p := range xy {
		if len(p) != 2 {
			return nil, fmt.Errorf("%s: coords must have shape (N, 2), got %d columns", b.Name(), len(p))
		}
		pts[i] = [2]float64{p[0], p[1]}
	}
	var cn []string
	if !isNone(classNames) {
		if cn, err = Strings(classNames); err != nil {
			return nil, argErr(b, "class_names", err)
		}
	}
	lab, cn, err := Labels(labels, cn)
	if err != nil {
		return nil, argErr(b, "labels", err)
	}
	var nn [][]int
	var nd [][]float32
	if !isNone(nbrs) {
		m, err := Matrix(nbrs)
		if err != nil {
			return nil, argErr(b, "neighbors", err)
		}
		nn = make([][]int, len(m))
		for i, row := range m {
			nn[i] = make([]int, len(row))
			for j, f := range row {
				nn[i][j] = int(f)
			}
		}
	}
	if !isNone(dists) {
		m, err := Matrix(dists)
		if err != nil {
			return nil, argErr(b, "distances", err)
		}
		nd = make([][]float32, len(m))
		for i, row := range m {
			nd[i] = make([]float32, len(row))
			for j, f := range row {
				nd[i][j] = float32(f)
			}
		}
	}
	var th []string
	if !isNone(thumbs) {
		if th, err = Images(thumbs); err != nil {
			return nil, argErr(b, "thumbnails", err)
		}
	}
	v, err := embview.New(pts, lab, cn, nn, nd, th)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	v.SetTitle(title)
	if !isNone(names) {
		ns, err := categories(names)
		if err != nil {
			return nil, argErr(b, "names", err)
		}
		if err := v.SetNames(ns); err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name(), err)
		}
	}
	return v, nil
}

const docMultiples = `plot.multiples(panels, x=None, ...): small multiples, one small line chart per quantity.

plot.multiples(panels, x=None, bands=None, columns=None, mark=None, log_y=None, title="",
               xlabel="", height=None)

panels = {name: values} draws one panel per name (a metric, a loss part), each with its own
y axis named after it; {name: {line: values, ...}} draws several lines in a panel (runs,
groups), coloured by line name the same in every panel, with one legend. x gives the x
values all lines share (default 0, 1, 2, ...); None or NaN values leave gaps. bands =
{name: {line: (lo, hi)}} shades the spread around a line (e.g. over seeds). columns: panels
per row (default up to 3). mark = "max" or "min" puts a dot on each line's best point; a
panel of one line also names it in its title ("best 0.4141 at epoch 37"). log_y: True, or
a list of panel names, for logarithmic y axes. height: pixels per panel (default 200).`

func fnMultiples(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var panels, x, bands, columns, mark, logY starlark.Value = nil, starlark.None, starlark.None, starlark.None, starlark.None, starlark.None
	var s MultiplesSpec
	var a axesArgs
	if err := unpack(b, args, kwargs, &a, "panels", &panels, "x?", &x, "bands?", &bands, "columns?", &columns,
		"mark?", &mark, "log_y?", &logY); err != nil {
		return nil, err
	}
	s.Axes = a.Axes
	var err error
	if !isNone(x) {
		if s.X, err = Vector(x); err != nil {
			return nil, argErr(b, "x", err)
		}
	}
	if !isNone(columns) {
		n, err := starlark.AsInt32(columns)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%s: columns must be a positive int, got %s", b.Name(), columns)
		}
		s.Columns = n
	}
	if !isNone(mark) {
		if s.Mark, _ = starlark.AsString(mark); s.Mark != "max" && s.Mark != "min" {
			return nil, fmt.Errorf("%s: mark must be \"max\", \"min\" or None, got %s", b.Name(), mark)
		}
	}
	logAll, logSome := false, map[string]bool{}
	switch v := logY.(type) {
	case starlark.NoneType:
	case starlark.Bool:
		logAll = bool(v)
	default:
		names, err := Strings(logY)
		if err != nil {
			return nil, argErr(b, "log_y", fmt.Errorf("want True or a list of panel names: %w", err))
		}
		for _, n := range names {
			logSome[n] = true
		}
	}
	d, ok := panels.(*starlark.Dict)
	if !ok {
		return nil, fmt.Errorf("%s: panels must be a dict {name: values} or {name: {line: values}}, got %s", b.Name(), panels.Type())
	}
	var bandDict *starlark.Dict
	if !isNone(bands) {
		if bandDict, ok = bands.(*starlark.Dict); !ok {
			return nil, fmt.Errorf("%s: bands must be a dict {panel: {line: (lo, hi)}}, got %s", b.Name(), bands.Type())
		}
	}
	for _, kv := range d.Items() {
		name := key(kv[0])
		p := Panel{Title: name, LogY: logAll || logSome[name]}
		delete(logSome, name)
		if inner, ok := kv[1].(*starlark.Dict); ok {
			for _, lv := range inner.Items() {
				y, err := Vector(lv[1])
				if err != nil {
					return nil, argErr(b, fmt.Sprintf("panels[%q][%q]", name, key(lv[0])), err)
				}
				p.Lines = append(p.Lines, PanelLine{Name: key(lv[0]), Y: y})
			}
		} else {
			y, err := Vector(kv[1])
			if err != nil {
				return nil, argErr(b, fmt.Sprintf("panels[%q]", name), err)
			}
			p.Lines = []PanelLine{{Name: name, Y: y}}
		}
		if bandDict != nil {
			if err := panelBands(&p, bandDict, kv[0]); err != nil {
				return nil, argErr(b, "bands", err)
			}
		}
		s.Panels = append(s.Panels, p)
	}
	for n := range logSome {
		return nil, fmt.Errorf("%s: log_y names %q, which is not a panel", b.Name(), n)
	}
	return Multiples(s)
}

// panelBands reads bands[panel] = {line: (lo, hi)} into the panel's lines.
func panelBands(p *Panel, bands *starlark.Dict, panel starlark.Value) error {
	v, found, err := bands.Get(panel)
	if err != nil || !found {
		return err
	}
	d, ok := v.(*starlark.Dict)
	if !ok {
		return fmt.Errorf("bands[%q] must be a dict {line: (lo, hi)}, got %s", p.Title, v.Type())
	}
	for _, kv := range d.Items() {
		line := key(kv[0])
		i := slices.IndexFunc(p.Lines, func(l PanelLine) bool { return l.Name == line })
		if i < 0 {
			return fmt.Errorf("bands[%q] names the line %q, which panel %q does not have", p.Title, line, p.Title)
		}
		pair, ok := kv[1].(starlark.Indexable)
		if !ok || pair.Len() != 2 {
			return fmt.Errorf("bands[%q][%q] must be a pair (lo, hi)", p.Title, line)
		}
		if p.Lines[i].Lo, err = Vector(pair.Index(0)); err != nil {
			return fmt.Errorf("bands[%q][%q] lo: %w", p.Title, line, err)
		}
		if p.Lines[i].Hi, err = Vector(pair.Index(1)); err != nil {
			return fmt.Errorf("bands[%q][%q] hi: %w", p.Title, line, err)
		}
	}
	return nil
}

func key(k starlark.Value) string {
	if s, ok := starlark.AsString(k); ok {
		return s
	}
	return k.String()
}

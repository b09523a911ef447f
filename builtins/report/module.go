package report

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	startime "go.starlark.net/lib/time"
	"go.starlark.net/starlark"

	"github.com/dadash/dadash/builtins/plot"
	"github.com/dadash/dadash/internal/page"
	"github.com/dadash/dadash/internal/page/embview"
	"github.com/dadash/dadash/internal/sandbox"
	"github.com/dadash/dadash/lang"
)

// Module is the report module value.
var Module = lang.NewNamespace("report", docModule, starlark.StringDict{
	"compare":    lang.Func("report.compare", docCompare, fnCompare),
	"open":       lang.Func("report.open", docOpen, fnOpen),
	"progress":   lang.Func("report.progress", docProgress, fnProgress),
	"provenance": lang.Func("report.provenance", docProvenance, fnProvenance),
}, nil)

func init() {
	lang.Register(lang.Module{Name: "report", Value: Module, Doc: docModule})
	lang.SetDoc("Report", docReport)
}

const docModule = `report: one self-contained HTML page per run, written as the run goes.

    r = report.open("runs/cub200/report.html", title = "CUB200, proxy anchor + DADA")
    r.config(cfg)
    r.heading("Training")
    r.table([{"epoch": 1, "mAP_R": 0.21}, {"epoch": 2, "mAP_R": 0.25}], best = "mAP_R")
    r.chart(plot.line(x = epochs, series = {"loss": losses}, title = "loss"))
    r.embedding(plot.embedding_view(coords, labels, neighbors = nn, distances = d))
    for batch in report.progress(loader, desc = "epoch 1"): ...
After every append the page is rewritten atomically, so an interrupted run leaves a
valid page with everything up to that point. The page inlines ECharts and opens offline.`

const docOpen = `report.open(path, title=None, subtitle="", started=None, elapsed=0, running=False, hold=False): starts a report page.

Starts a report page at path (replacing any file there; the folder is created) and
returns it. title defaults to the file's path; subtitle is a line under it (what ran).
started is when the work the page reports on started (a time.now() value, seconds since
1970, or an ISO 8601 string). Without it, the page keeps the time this process first
opened a page at path, less elapsed seconds (how long the work had been running then),
so a page reopened after every epoch keeps its start. running=True says the work goes
on after this page (the header and the provenance say "in progress"). hold=True writes
the page only at r.flush() (a page built in one go is written once; the file there stays
until then) instead of after every block. Methods: heading, text, table, chart, image,
embedding, config, flush (help(r.table) and so on); attributes path, title, started.`

const docReport = `A report page being written (report.open). Every method appends one block and rewrites
the page atomically: heading, text, table, chart, image, embedding, config.
Attributes: path, title, started (when the work the page reports on started).`

func fnOpen(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var path, subtitle string
	var title, started starlark.Value = starlark.None, starlark.None
	running, elapsed, hold := false, 0.0, false
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "path", &path, "title?", &title, "subtitle?", &subtitle,
		"started?", &started, "elapsed?", &elapsed, "running?", &running, "hold?", &hold); err != nil {
		return nil, err
	}
	if !(elapsed >= 0) {
		return nil, fmt.Errorf("%s: elapsed must be seconds >= 0, got %g", b.Name(), elapsed)
	}
	if err := sandbox.Write(thread, b.Name(), path); err != nil {
		return nil, err
	}
	t := path
	if !isNone(title) {
		s, ok := starlark.AsString(title)
		if !ok {
			return nil, fmt.Errorf("%s: title must be a string, got %s", b.Name(), title.Type())
		}
		t = s
	}
	var start time.Time
	if !isNone(started) {
		var err error
		if start, err = AsTime(started); err != nil {
			return nil, fmt.Errorf("%s: started: %w", b.Name(), err)
		}
	}
	r, err := open(path, t, time.Duration(elapsed*float64(time.Second)), hold)
	if err == nil && (subtitle != "" || !start.IsZero() || running) {
		r.lead = subtitle
		err = r.SetStarted(start, running)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return &Value{r: r}, nil
}

// AsTime reads a time: a value of the time module, seconds since 1970, or
// an ISO 8601 (RFC 3339) string.
func AsTime(v starlark.Value) (time.Time, error) {
	switch x := v.(type) {
	case startime.Time:
		return time.Time(x), nil
	case starlark.String:
		t, err := time.Parse(time.RFC3339Nano, string(x))
		if err != nil {
			return time.Time{}, fmt.Errorf("%q is not an ISO 8601 time such as 2024-05-01T10:00:00Z", string(x))
		}
		return t, nil
	case starlark.Int, starlark.Float:
		f, _ := starlark.AsFloat(x)
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)), nil
	}
	return time.Time{}, fmt.Errorf("want a time (time.now()), seconds since 1970 or an ISO 8601 string, got %s", v.Type())
}

func isNone(v starlark.Value) bool { return v == nil || v == starlark.None }

// Value is the Starlark value of a report.
type Value struct{ r *Report }

var (
	_ starlark.HasAttrs = (*Value)(nil)
	_ page.Renderer     = (*Value)(nil)
)

// Report is the Go report behind the value.
func (v *Value) Report() *Report { return v.r }

func (v *Value) String() string        { return fmt.Sprintf("<report %q: %d items>", v.r.path, v.r.Len()) }
func (v *Value) Type() string          { return "Report" }
func (v *Value) Freeze()               {} // a report is a file being written; freezing does not apply
func (v *Value) Truth() starlark.Bool  { return true }
func (v *Value) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: Report") }

// RenderHTML implements page.Renderer (show(r) writes a copy).
func (v *Value) RenderHTML(w io.Writer) error { return v.r.RenderHTML(w) }

// Doc implements lang.Documented.
func (v *Value) Doc() string { return v.String() + "\n\n" + docReport }

type method struct {
	doc string
	fn  func(r *Report, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) error
}

var methods map[string]method

func init() {
	methods = map[string]method{
		"heading":   {docHeading, mHeading},
		"text":      {docText, mText},
		"table":     {docTable, mTable},
		"chart":     {docChart, mChart},
		"image":     {docImage, mImage},
		"embedding": {docEmbedding, mEmbedding},
		"config":    {docConfig, mConfig},
		"flush":     {docFlush, mFlush},
	}
	// Here, not in the init above: Go runs a file's inits in order, and the
	// table must exist before its docs are recorded.
	for name, m := range methods {
		lang.SetDoc("Report."+name, m.doc)
	}
}

func (v *Value) AttrNames() []string {
	return []string{"chart", "config", "embedding", "flush", "heading", "image", "path", "started", "table", "text", "title"}
}

func (v *Value) Attr(name string) (starlark.Value, error) {
	switch name {
	case "path":
		return starlark.String(v.r.path), nil
	case "title":
		return starlark.String(v.r.title), nil
	case "started":
		v.r.mu.Lock()
		defer v.r.mu.Unlock()
		return startime.Time(v.r.started), nil
	}
	m, ok := methods[name]
	if !ok {
		return nil, nil
	}
	return starlark.NewBuiltin("Report."+name, lang.Safe(func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if err := checkImageFile(thread, name, b, args, kwargs); err != nil {
			return nil, err
		}
		if err := m.fn(v.r, b, args, kwargs); err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name(), err)
		}
		return starlark.None, nil
	})).BindReceiver(v), nil
}

const docFlush = `r.flush(): writes the page now (atomically); after it, every block rewrites the page
again. Only needed for pages opened with hold=True.`

func mFlush(r *Report, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) error {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return err
	}
	return r.Flush()
}

const docHeading = `r.heading(text, level=2): a section heading (levels 2 to 4; headings of levels 2
and 3 are linked at the top of the page).`

func mHeading(r *Report, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) error {
	var text string
	level := 2
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "text", &text, "level?", &level); err != nil {
		return err
	}
	return r.Heading(text, level)
}

const docText = "r.text(text, pre=False): a paragraph. Blank lines separate paragraphs; a little Markdown\n" +
	"works: **bold**, *italic*, `code`, [link](https://...), \"- \" lists and ``` blocks. HTML is shown\n" +
	"as text. pre=True keeps the text exactly as it is, in a monospaced block (logs, printed tensors)."

func mText(r *Report, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) error {
	var text starlark.Value
	pre := false
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "text", &text, "pre?", &pre); err != nil {
		return err
	}
	s, ok := starlark.AsString(text)
	if !ok {
		s = text.String() // r.text(tensor) shows it as printed
	}
	if pre {
		return r.Pre(s)
	}
	return r.Text(s)
}

const docTable = `r.table(rows, header=None, highlight=None, best=None, best_mode="max", caption="", precision=None): a table.

rows is a list of lists (or tuples), or a list of dicts whose keys make the
header. Numbers are aligned right; tensors of one element count as numbers. Each column
of floats is written at one precision: enough decimals for four significant digits of its
largest value (0.5000 above 0.9094), or exponent notation for tiny or huge ones;
precision = 3 (every column) or {"lr": 6} fixes the decimals. highlight marks a row by its
index. best marks the best cell of a column, each column on its own: a column (a header
name or an index), a list of them, or a dict {column: "max" or "min"}; best_mode says
whether the highest ("max", default) or the lowest ("min") wins.`

func mTable(r *Report, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) error {
	var rows starlark.Value
	var header, highlight, best, precision starlark.Value = starlark.None, starlark.None, starlark.None, starlark.None
	mode, caption := "max", ""
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "rows", &rows, "header?", &header, "highlight?", &highlight,
		"best?", &best, "best_mode?", &mode, "caption?", &caption, "precision?", &precision); err != nil {
		return err
	}
	t := Table{Caption: caption}
	if !isNone(header) {
		h, err := plot.Strings(header)
		if err != nil {
			return fmt.Errorf("header: %w", err)
		}
		t.Header = h
	}
	seq, ok := rows.(starlark.Iterable)
	if !ok {
		return fmt.Errorf("rows must be a list of rows, got %s", rows.Type())
	}
	it := seq.Iterate()
	defer it.Done()
	var row starlark.Value
	for i := 0; it.Next(&row); i++ {
		cells, err := tableRow(row, &t.Header, i)
		if err != nil {
			return err
		}
		t.Rows = append(t.Rows, cells)
	}
	if !isNone(highlight) {
		i, err := starlark.AsInt32(highlight)
		if err != nil {
			return fmt.Errorf("highlight must be a row index, got %s", highlight.Type())
		}
		if i < 0 {
			i += len(t.Rows)
		}
		t.Highlight = append(t.Highlight, i)
	}
	if mode != "max" && mode != "min" {
		return fmt.Errorf("best_mode must be \"max\" or \"min\", got %q", mode)
	}
	var err error
	if t.Best, err = bestColumns(best, mode, t.Header); err != nil {
		return err
	}
	if t.Precision, err = precisions(precision, t.Header); err != nil {
		return err
	}
	return r.Table(t)
}

// bestColumns reads best=: a column, a list of columns, or {column: mode}.
func bestColumns(v starlark.Value, mode string, header []string) ([]BestCol, error) {
	if isNone(v) {
		return nil, nil
	}
	if d, ok := v.(*starlark.Dict); ok {
		var out []BestCol
		for _, kv := range d.Items() {
			col, err := column(kv[0], header)
			if err != nil {
				return nil, fmt.Errorf("best: %w", err)
			}
			m, _ := starlark.AsString(kv[1])
			if m != "max" && m != "min" {
				return nil, fmt.Errorf("best[%s] must be \"max\" or \"min\", got %s", kv[0], kv[1])
			}
			out = append(out, BestCol{Col: col, Lowest: m == "min"})
		}
		return out, nil
	}
	cols := []starlark.Value{v}
	if l, ok := v.(*starlark.List); ok {
		cols = cols[:0]
		for i := 0; i < l.Len(); i++ {
			cols = append(cols, l.Index(i))
		}
	} else if tu, ok := v.(starlark.Tuple); ok {
		cols = tu
	}
	var out []BestCol
	for _, c := range cols {
		col, err := column(c, header)
		if err != nil {
			return nil, fmt.Errorf("best: %w", err)
		}
		out = append(out, BestCol{Col: col, Lowest: mode == "min"})
	}
	return out, nil
}

// precisions reads precision=: decimals for every column, or {column: decimals}.
func precisions(v starlark.Value, header []string) (map[int]int, error) {
	if isNone(v) {
		return nil, nil
	}
	check := func(x starlark.Value) (int, error) {
		n, err := starlark.AsInt32(x)
		if err != nil || n < 0 || n > 15 {
			return 0, fmt.Errorf("precision: want a number of decimals from 0 to 15, got %s", x)
		}
		return n, nil
	}
	out := map[int]int{}
	if d, ok := v.(*starlark.Dict); ok {
		for _, kv := range d.Items() {
			col, err := column(kv[0], header)
			if err != nil {
				return nil, fmt.Errorf("precision: %w", err)
			}
			if out[col], err = check(kv[1]); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	n, err := check(v)
	if err != nil {
		return nil, err
	}
	out[-1] = n
	return out, nil
}

// tableRow converts one row; dict rows fill the header from the first row.
func tableRow(row starlark.Value, header *[]string, i int) ([]any, error) {
	if d, ok := row.(*starlark.Dict); ok {
		if *header == nil {
			for _, k := range d.Keys() {
				s, ok := starlark.AsString(k)
				if !ok {
					s = k.String()
				}
				*header = append(*header, s)
			}
		}
		cells := make([]any, len(*header))
		for j, h := range *header {
			v, found, err := d.Get(starlark.String(h))
			if err != nil {
				return nil, err
			}
			if found {
				cells[j] = cell(v)
			}
		}
		if d.Len() > len(*header) {
			return nil, fmt.Errorf("row %d has keys that are not in the header %v", i, *header)
		}
		return cells, nil
	}
	seq, ok := row.(starlark.Indexable)
	if !ok || isString(row) {
		return nil, fmt.Errorf("row %d is %s; rows are lists, tuples or dicts", i, row.Type())
	}
	cells := make([]any, seq.Len())
	for j := range cells {
		cells[j] = cell(seq.Index(j))
	}
	return cells, nil
}

func isString(v starlark.Value) bool { _, ok := v.(starlark.String); return ok }

// cell converts a Starlark value into a table cell.
func cell(v starlark.Value) any {
	switch v := v.(type) {
	case starlark.NoneType:
		return nil
	case starlark.String:
		return string(v)
	case starlark.Bool:
		return bool(v)
	case starlark.Int:
		if n, ok := v.Int64(); ok {
			return n
		}
		return v.String()
	case starlark.Float:
		return float64(v)
	case lang.Numeric:
		if d, _, err := v.NumericData(); err == nil && len(d) == 1 {
			return d[0]
		}
	}
	return v.String()
}

func column(v starlark.Value, header []string) (int, error) {
	if s, ok := starlark.AsString(v); ok {
		for j, h := range header {
			if h == s {
				return j, nil
			}
		}
		return 0, fmt.Errorf("no column %q in the header %v", s, header)
	}
	j, err := starlark.AsInt32(v)
	if err != nil {
		return 0, fmt.Errorf("want a column name or index, got %s", v.Type())
	}
	return j, nil
}

const docChart = `r.chart(chart): appends a chart made by plot.line, plot.scatter, plot.heatmap,
plot.bar or plot.histogram (or an embedding view).`

func mChart(r *Report, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) error {
	var c starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "chart", &c); err != nil {
		return err
	}
	f, ok := c.(page.Fragment)
	if !ok {
		return fmt.Errorf("want a chart (plot.line(...) and so on), got %s", c.Type())
	}
	return r.Add(f)
}

const docEmbedding = `r.embedding(view): appends an embedding view (plot.embedding_view): the map coloured by
class; hover shows label and thumbnail, click lists the nearest neighbours.`

func mEmbedding(r *Report, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) error {
	var v starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "view", &v); err != nil {
		return err
	}
	ev, ok := v.(*embview.View)
	if !ok {
		return fmt.Errorf("want an embedding view (plot.embedding_view(...)), got %s", v.Type())
	}
	return r.Add(ev)
}

const docImage = `r.image(src, caption="", width=None): appends an image, inlined into the page. src is an
image file (PNG, JPEG, GIF, WebP, SVG), a data URI, bytes of an encoded image, or an image
as numbers: a tensor or list of shape (H, W), (C, H, W) or (H, W, C) (values in [0, 1] or
[0, 255]; other ranges are stretched). width in pixels.`

// checkImageFile is the --sandbox check of r.image(path): the file it reads.
func checkImageFile(thread *starlark.Thread, method string, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) error {
	var src, caption, width starlark.Value
	if method != "image" || starlark.UnpackArgs(b.Name(), args, kwargs, "src", &src, "caption?", &caption, "width?", &width) != nil {
		return nil // mImage reports bad arguments
	}
	if s, ok := src.(starlark.String); ok && !strings.HasPrefix(string(s), "data:") {
		return sandbox.Read(thread, b.Name(), string(s))
	}
	return nil
}

func mImage(r *Report, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) error {
	var src starlark.Value
	var caption string
	width := 0
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "src", &src, "caption?", &caption, "width?", &width); err != nil {
		return err
	}
	var uri string
	var err error
	pixels := false
	switch s := src.(type) {
	case starlark.String:
		uri, err = page.DataURI(string(s))
	case starlark.Bytes:
		uri, err = page.BytesURI([]byte(s), "")
	default:
		d, shape, nerr := plot.Numbers(src)
		if nerr != nil {
			return fmt.Errorf("src must be a file, a data URI, bytes or an image tensor, got %s", src.Type())
		}
		uri, err = page.ArrayPNG(d, shape)
		pixels = true
		// Arrays are often tiny (a 28x28 digit): show them at least 160
		// pixels wide, pixels kept sharp.
		if w := imageWidth(shape); err == nil && width == 0 && w > 0 && w < 160 {
			width = w * ((160 + w - 1) / w)
		}
	}
	if err != nil {
		return err
	}
	return r.image(uri, caption, width, pixels)
}

// imageWidth is the width of an image array of the given shape, as
// page.ArrayPNG reads it.
func imageWidth(shape []int64) int {
	switch {
	case len(shape) == 2:
		return int(shape[1])
	case len(shape) == 3 && (shape[0] == 1 || shape[0] == 3):
		return int(shape[2])
	case len(shape) == 3:
		return int(shape[1])
	}
	return 0
}

package report

import (
	"fmt"
	"io"
	"math"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/builtins/plot"
	"github.com/dadash/dadash/builtins/report/embview"
	"github.com/dadash/dadash/builtins/report/page"
	"github.com/dadash/dadash/lang"
)

// Module is the report module value.
var Module = lang.NewNamespace("report", docModule, starlark.StringDict{
	"open":     lang.Func("report.open", docOpen, fnOpen),
	"progress": lang.Func("report.progress", docProgress, fnProgress),
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

const docOpen = `report.open(path, title=None): starts a report page and returns it.

Starts a report page at path (replacing any file there; the folder is created) and
returns it. title defaults to the file's path. Methods: heading, text, table, chart,
image, embedding, config (help(r.table) and so on).`

const docReport = `A report page being written (report.open). Every method appends one block and rewrites
the page atomically: heading, text, table, chart, image, embedding, config.
Attributes: path, title.`

func fnOpen(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var path string
	var title starlark.Value = starlark.None
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "path", &path, "title?", &title); err != nil {
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
	r, err := Open(path, t)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return &Value{r: r}, nil
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
	}
	// Here, not in the init above: Go runs a file's inits in order, and the
	// table must exist before its docs are recorded.
	for name, m := range methods {
		lang.SetDoc("Report."+name, m.doc)
	}
}

func (v *Value) AttrNames() []string {
	return []string{"chart", "config", "embedding", "heading", "image", "path", "table", "text", "title"}
}

func (v *Value) Attr(name string) (starlark.Value, error) {
	switch name {
	case "path":
		return starlark.String(v.r.path), nil
	case "title":
		return starlark.String(v.r.title), nil
	}
	m, ok := methods[name]
	if !ok {
		return nil, nil
	}
	return starlark.NewBuiltin("Report."+name, lang.Safe(func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if err := m.fn(v.r, b, args, kwargs); err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name(), err)
		}
		return starlark.None, nil
	})).BindReceiver(v), nil
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

const docTable = `r.table(rows, header=None, highlight=None, best=None, best_mode="max", caption=""): a table.

rows is a list of lists (or tuples), or a list of dicts whose keys make the
header. Numbers are formatted to 4 significant digits (exponent notation for tiny or huge
ones) and aligned right; tensors of one element count as numbers. highlight marks a row
by its index; best = column (a header name or an index) marks the row with the highest
value there (best_mode = "min": the lowest), e.g. the best epoch.`

func mTable(r *Report, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) error {
	var rows starlark.Value
	var header, highlight, best starlark.Value = starlark.None, starlark.None, starlark.None
	mode, caption := "max", ""
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "rows", &rows, "header?", &header, "highlight?", &highlight,
		"best?", &best, "best_mode?", &mode, "caption?", &caption); err != nil {
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
	if !isNone(best) {
		if mode != "max" && mode != "min" {
			return fmt.Errorf("best_mode must be \"max\" or \"min\", got %q", mode)
		}
		col, err := column(best, t.Header)
		if err != nil {
			return err
		}
		if i := bestRow(t.Rows, col, mode == "max"); i >= 0 {
			t.Highlight = append(t.Highlight, i)
		}
	}
	return r.Table(t)
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
		return 0, fmt.Errorf("best: no column %q in the header %v", s, header)
	}
	j, err := starlark.AsInt32(v)
	if err != nil {
		return 0, fmt.Errorf("best must be a column name or index, got %s", v.Type())
	}
	return j, nil
}

// bestRow is the row with the highest (or lowest) number in column col;
// NaN and non-numbers never win. -1 when there is none.
func bestRow(rows [][]any, col int, highest bool) int {
	best, bv := -1, 0.0
	for i, row := range rows {
		if col < 0 || col >= len(row) {
			continue
		}
		var f float64
		switch v := row[col].(type) {
		case float64:
			f = v
		case int64:
			f = float64(v)
		default:
			continue
		}
		if math.IsNaN(f) {
			continue
		}
		if best < 0 || (highest && f > bv) || (!highest && f < bv) {
			best, bv = i, f
		}
	}
	return best
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

const docConfig = `r.config(cfg, title="Configuration"): appends the settings of a run: cfg is the value of
config(...), a dict or a struct; settings keep their order.`

func mConfig(r *Report, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) error {
	var cfg starlark.Value
	title := "Configuration"
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "cfg", &cfg, "title?", &title); err != nil {
		return err
	}
	kvs, err := settings(cfg)
	if err != nil {
		return err
	}
	return r.Config(title, kvs)
}

// settings lists the keys and values of a mapping (a dict, or config()'s
// value, which iterates its keys in declaration order) or of a struct.
func settings(v starlark.Value) ([]KV, error) {
	show := func(x starlark.Value) string { return x.String() } // strings quoted, as in a script
	var out []KV
	switch m := v.(type) {
	case starlark.IterableMapping:
		for _, kv := range m.Items() {
			out = append(out, KV{key(kv[0]), show(kv[1])})
		}
		return out, nil
	case interface {
		starlark.Mapping
		starlark.Iterable
	}:
		it := m.Iterate()
		defer it.Done()
		var k starlark.Value
		for it.Next(&k) {
			x, _, err := m.Get(k)
			if err != nil {
				return nil, err
			}
			out = append(out, KV{key(k), show(x)})
		}
		return out, nil
	case starlark.HasAttrs:
		for _, name := range m.AttrNames() {
			x, err := m.Attr(name)
			if err != nil || x == nil {
				continue
			}
			if _, isFn := x.(starlark.Callable); isFn {
				continue
			}
			out = append(out, KV{name, show(x)})
		}
		return out, nil
	}
	return nil, fmt.Errorf("want config(...), a dict or a struct, got %s", v.Type())
}

func key(k starlark.Value) string {
	if s, ok := starlark.AsString(k); ok {
		return s
	}
	return k.String()
}

package plot

import (
	"fmt"
	"io"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/internal/page"
	"github.com/dadash/dadash/internal/sandbox"
	"github.com/dadash/dadash/lang"
)

// Chart is a finished chart: its ECharts option, encoded once when the
// chart is made (so errors surface at the plot.* call and a report that
// holds it never re-encodes), and what the page runtime needs besides.
// It is a Starlark value, a page.Fragment (reports append it) and a
// page.Renderer (show() and save() write it as a page of its own).
type Chart struct {
	kind   string // line, scatter, heatmap, bar, histogram
	title  string
	height int
	option []byte // JSON
	extra  []byte // JSON
}

var (
	_ starlark.HasAttrs = (*Chart)(nil)
	_ page.Fragment     = (*Chart)(nil)
	_ page.Renderer     = (*Chart)(nil)
)

// Kind is the chart type: "line", "scatter", "heatmap", "bar" or "histogram".
func (c *Chart) Kind() string { return c.kind }

// Title is the chart's title.
func (c *Chart) Title() string { return c.title }

// Option is the chart's ECharts option as JSON.
func (c *Chart) Option() []byte { return c.option }

// WriteFragment implements page.Fragment.
func (c *Chart) WriteFragment(w io.Writer, id string) error {
	_, err := fmt.Fprintf(w, "<figure class=\"chart %s\" id=\"%s\"><div class=\"echart\" id=\"%s-c\" style=\"height:%dpx\"></div></figure>\n",
		c.kind, page.Escape(id), page.Escape(id), c.height)
	if err != nil {
		return err
	}
	return page.ChartScript(w, "chart", id, c.option, c.extra)
}

// RenderHTML implements page.Renderer.
func (c *Chart) RenderHTML(w io.Writer) error {
	title := c.title
	if title == "" {
		title = c.kind + " chart"
	}
	return page.Standalone(w, title, c)
}

// Save writes the chart as a standalone HTML page, atomically.
func (c *Chart) Save(path string) error { return page.WriteFile(path, c) }

// ---------------------------------------------------------------- Starlark value

func (c *Chart) String() string {
	if c.title == "" {
		return fmt.Sprintf("<%s chart>", c.kind)
	}
	return fmt.Sprintf("<%s chart %q>", c.kind, c.title)
}
func (c *Chart) Type() string          { return "chart" }
func (c *Chart) Freeze()               {} // immutable
func (c *Chart) Truth() starlark.Bool  { return true }
func (c *Chart) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: chart") }

// Doc implements lang.Documented.
func (c *Chart) Doc() string { return c.String() + "\n\n" + docChart }

const docChart = `A chart made by plot.line, plot.scatter, plot.heatmap, plot.bar or plot.histogram.
Append it to a report with r.chart(c), or write it as a page of its own:

    c.save("loss.html")      # a self-contained HTML page (also show(c) in the REPL)
    c.kind, c.title          # "line", "loss per epoch"`

func (c *Chart) AttrNames() []string { return []string{"kind", "save", "title"} }

func (c *Chart) Attr(name string) (starlark.Value, error) {
	switch name {
	case "kind":
		return starlark.String(c.kind), nil
	case "title":
		return starlark.String(c.title), nil
	case "save":
		return starlark.NewBuiltin("chart.save", lang.Safe(c.save)).BindReceiver(c), nil
	}
	return nil, nil
}

func (c *Chart) save(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var path string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "path", &path); err != nil {
		return nil, err
	}
	if err := sandbox.Write(thread, b.Name(), path); err != nil {
		return nil, err
	}
	if err := c.Save(path); err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return starlark.None, nil
}

func init() {
	lang.SetDoc("chart", docChart)
	lang.SetDoc("chart.save", "c.save(path): writes the chart as a self-contained HTML page (atomically).")
}

// ---------------------------------------------------------------- building

// build turns an option map into a Chart. go-echarts panics on template and
// visitor errors; they become errors here, at the boundary.
func build(kind string, a Axes, height int, option func() (map[string]any, error), extra map[string]any) (c *Chart, err error) {
	defer func() {
		if r := recover(); r != nil {
			c, err = nil, fmt.Errorf("plot.%s: building the chart failed (a bug in dadash or go-echarts; please report it with the call): %v", kind, r)
		}
	}()
	m, err := option()
	if err != nil {
		return nil, err
	}
	opt, err := page.JSON(m)
	if err != nil {
		return nil, fmt.Errorf("plot.%s: %w", kind, err)
	}
	if extra == nil {
		extra = map[string]any{}
	}
	extra["kind"] = kind
	ex, err := page.JSON(extra)
	if err != nil {
		return nil, fmt.Errorf("plot.%s: %w", kind, err)
	}
	if a.Height > 0 {
		height = a.Height
	}
	return &Chart{kind: kind, title: a.Title, height: height, option: opt, extra: ex}, nil
}

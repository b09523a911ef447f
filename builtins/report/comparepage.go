package report

import (
	"bytes"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/dadash/dadash/builtins/plot"
	"github.com/dadash/dadash/internal/atomicfile"
	"github.com/dadash/dadash/internal/page"
)

// The comparison page: a table of final and best metrics per group (mean
// ± standard deviation, with the count), the metric curves with the
// spread over each group's runs, the settings in which the groups differ,
// and the runs themselves.

// WriteComparison writes the page of c to path, atomically.
func WriteComparison(c *Comparison, path, title string) error {
	if title == "" {
		title = fmt.Sprintf("Comparison of %d run%s", len(c.Runs), plural(len(c.Runs)))
	}
	body, toc, err := comparisonBody(c, filepath.Dir(path))
	if err != nil {
		return err
	}
	p := page.Current()
	lead := fmt.Sprintf("%d run%s in %d group%s", len(c.Runs), plural(len(c.Runs)), len(c.Groups), plural(len(c.Groups)))
	if c.Progress > 0 {
		lead += fmt.Sprintf(" · %d still running or stopped early", c.Progress)
	}
	if len(c.Metrics) > 0 {
		lead += " · " + strings.Join(c.Metrics, ", ")
	}
	chrome := page.Chrome{Title: title, Lead: lead, Meta: []string{"written " + time.Now().Format("2006-01-02 15:04:05")}, TOC: toc,
		Provenance: &p, Footer: "Written by dadash compare. Run it again to take in epochs written since."}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		return page.WritePage(w, chrome, func(w io.Writer) error {
			_, err := w.Write(body)
			return err
		})
	})
}

// comparisonBody renders the sections; links to the runs' pages are
// relative to the page's folder.
func comparisonBody(c *Comparison, pageDir string) ([]byte, []page.TOCEntry, error) {
	var b bytes.Buffer
	var toc []page.TOCEntry
	ids := 0
	heading := func(text, anchor string) {
		fmt.Fprintf(&b, "<h2 id=\"%s\">%s</h2>\n", anchor, page.Escape(text))
		toc = append(toc, page.TOCEntry{Level: 2, Text: text, Anchor: anchor})
	}
	para := func(class, text string) {
		fmt.Fprintf(&b, "<p class=\"%s\">%s</p>\n", class, page.Escape(text))
	}
	table := func(t Table) error {
		ids++
		h, err := t.HTML(fmt.Sprintf("t%d", ids))
		b.Write(h)
		return err
	}

	heading("Results", "results")
	if len(c.Metrics) == 0 {
		para("note", "The runs share no metric with values yet, so there is nothing to compare.")
	} else {
		para("hint", "Mean ± standard deviation over each group's runs (seeds); the best group of each column is marked.")
		for _, which := range []struct {
			caption string
			stats   map[*Group]map[string]Stat
		}{
			{"final (each run's last evaluated epoch)", c.Final},
			{"best (each run's best epoch, per metric)", c.Best},
		} {
			t := Table{Caption: which.caption, Header: append([]string{"group", "runs"}, c.Metrics...), Class: "results"}
			for _, g := range c.Groups {
				row := []any{g.Name, int64(len(g.Runs))}
				for _, m := range c.Metrics {
					row = append(row, MeanStd{Stat: which.stats[g][m], Of: len(g.Runs)})
				}
				t.Rows = append(t.Rows, row)
			}
			if len(c.Groups) > 1 {
				for j, m := range c.Metrics {
					t.Best = append(t.Best, BestCol{Col: j + 2, Lowest: lowerIsBetter[m]})
				}
			}
			if err := table(t); err != nil {
				return nil, nil, err
			}
		}
	}
	if notes := c.notes(); len(notes) > 0 {
		b.WriteString("<ul class=\"notes\">")
		for _, n := range notes {
			fmt.Fprintf(&b, "<li>%s</li>", page.Escape(n))
		}
		b.WriteString("</ul>\n")
	}

	if len(c.Metrics) > 0 {
		heading("Curves", "curves")
		para("hint", "Each line is a group's mean over its runs at each epoch; the band spans its runs' lowest and highest value.")
		spec := plot.MultiplesSpec{Axes: plot.Axes{XLabel: "epoch"}, Mark: "max"}
		for _, m := range c.Metrics {
			p := plot.Panel{Title: m}
			for _, g := range c.Groups {
				cv := c.Curves[g][m]
				line := plot.PanelLine{Name: g.Name, X: cv.Epochs, Y: make([]float64, len(cv.Stats))}
				band := false
				for i, s := range cv.Stats {
					line.Y[i] = s.Mean
					band = band || s.N > 1
				}
				if band {
					line.Lo, line.Hi = make([]float64, len(cv.Stats)), make([]float64, len(cv.Stats))
					for i, s := range cv.Stats {
						line.Lo[i], line.Hi[i] = s.Min, s.Max
					}
				}
				p.Lines = append(p.Lines, line)
			}
			spec.Panels = append(spec.Panels, p)
		}
		ch, err := plot.Multiples(spec)
		if err != nil {
			return nil, nil, err
		}
		ids++
		if err := ch.WriteFragment(&b, fmt.Sprintf("c%d", ids)); err != nil {
			return nil, nil, err
		}
	}

	heading("Settings", "settings")
	if len(c.Groups) < 2 {
		para("note", "All runs share their settings (seeds aside).")
	} else if len(c.Differ) > 0 {
		para("hint", "The settings in which the groups differ:")
		t := Table{Header: append([]string{"group"}, c.Differ...)}
		for _, g := range c.Groups {
			row := []any{g.Name}
			for _, k := range c.Differ {
				v, ok := g.Settings[k]
				if !ok {
					v = "(not set)"
				}
				if g.Settings == nil {
					v = "(unknown)"
				}
				row = append(row, v)
			}
			t.Rows = append(t.Rows, row)
		}
		if err := table(t); err != nil {
			return nil, nil, err
		}
	}
	if len(c.Shared) > 0 {
		keys := make([]string, 0, len(c.Shared))
		for k := range c.Shared {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		fmt.Fprintf(&b, "<details class=\"config\"><summary>Settings all groups share (%d)</summary><table class=\"config\">\n", len(keys))
		for _, k := range keys {
			fmt.Fprintf(&b, "<tr><td class=\"k\">%s</td><td class=\"v\">%s</td></tr>\n", page.Escape(k), page.Escape(c.Shared[k]))
		}
		b.WriteString("</table></details>\n")
	}

	heading("Runs", "runs")
	t := Table{Header: []string{"run", "group", "seed", "epochs", "status", "started"}}
	if len(c.Metrics) > 0 {
		t.Header = append(t.Header, "final "+c.Metrics[0])
	}
	for _, g := range c.Groups {
		for i, r := range g.Runs {
			var name any = r.Name
			if _, err := os.Stat(filepath.Join(r.Dir, "report.html")); err == nil {
				name = Link{Text: r.Name, Href: relHref(pageDir, filepath.Join(r.Dir, "report.html"))}
			}
			epochs := fmt.Sprintf("%d", len(r.Rows))
			if r.Planned > 0 {
				epochs += fmt.Sprintf(" of %d", r.Planned)
			}
			status := "finished"
			switch {
			case len(r.Rows) == 0:
				status = "no epoch yet"
			case !r.Finished && !r.Updated.IsZero():
				status = "running or stopped; last update " + r.Updated.Format("2006-01-02 15:04")
			case !r.Finished:
				status = "running or stopped"
			}
			started := ""
			if !r.Started.IsZero() {
				started = r.Started.Local().Format("2006-01-02 15:04")
			}
			row := []any{name, g.Name, g.Seeds[i], epochs, status, started}
			if len(c.Metrics) > 0 {
				if v, _, ok := r.Final(c.Metrics[0]); ok {
					row = append(row, v)
				} else {
					row = append(row, nil)
				}
			}
			t.Rows = append(t.Rows, row)
		}
	}
	if err := table(t); err != nil {
		return nil, nil, err
	}
	return b.Bytes(), toc, nil
}

// notes are what the reader should know: metrics left out, runs without
// epochs, and what was odd in the folders.
func (c *Comparison) notes() []string {
	var out []string
	if len(c.LeftOut) > 0 {
		out = append(out, "Left out, as not every run has them: "+strings.Join(c.LeftOut, ", ")+".")
	}
	for _, r := range c.Runs {
		for _, n := range r.Notes {
			out = append(out, r.Name+": "+n)
		}
	}
	for _, g := range c.Groups {
		n := 0
		for _, m := range c.Metrics {
			n = max(n, c.Final[g][m].N)
		}
		if n < len(g.Runs) {
			out = append(out, fmt.Sprintf("%s: %d of its %d runs have no evaluated epoch yet; its statistics count the others", g.Name, len(g.Runs)-n, len(g.Runs)))
		}
	}
	return out
}

// relHref is a link from a page in dir to target, safe as an href: a
// relative path, escaped, never read as a scheme (a folder named
// "javascript:x" gets "./" in front).
func relHref(dir, target string) string {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	if abs, err := filepath.Abs(target); err == nil {
		target = abs
	}
	rel, err := filepath.Rel(dir, target)
	if err != nil {
		rel = target
	}
	return (&url.URL{Path: filepath.ToSlash(rel)}).String()
}

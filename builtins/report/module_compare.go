package report

import (
	"fmt"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/dadash/dadash/lang"
)

const docCompare = `report.compare(dirs, path="compare.html", title=None): compares runs on one page.

dirs are run folders (holding log.csv, as the training loop writes them; runs in progress
count with the epochs they have), or folders of runs (searched three levels down). Runs
whose settings differ only by seed form a group. The page at path shows, per group, the
final and best value of each metric as mean ± standard deviation over its runs with the
count, the metric curves with the spread of the runs as a band, the settings in which the
groups differ, and the runs. Metrics that only some runs have are left out, and the page
says so. Returns a struct: path, metrics, left_out, and groups, each a struct with name,
runs (folders), seeds, settings (a dict), final and best ({metric: struct(mean, std, n)}).
dadash compare DIR... -o page.html does the same from the command line.`

func fnCompare(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var dirsV, titleV starlark.Value = nil, starlark.None
	path := "compare.html"
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "dirs", &dirsV, "path?", &path, "title?", &titleV); err != nil {
		return nil, err
	}
	title, ok := starlark.AsString(titleV)
	if !ok && !isNone(titleV) {
		return nil, fmt.Errorf("%s: title must be a string, got %s", b.Name(), titleV.Type())
	}
	dirs, err := stringList(dirsV)
	if s, ok := dirsV.(starlark.String); ok {
		dirs, err = []string{string(s)}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: dirs: %w", b.Name(), err)
	}
	if len(dirs) == 0 {
		return nil, fmt.Errorf("%s: no run folders given", b.Name())
	}
	c, err := Compare(dirs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	if err := WriteComparison(c, path, title); err != nil {
		return nil, fmt.Errorf("%s: writing %s: %w", b.Name(), path, err)
	}
	return c.value(path), nil
}

func strs(xs []string) *starlark.List {
	l := make([]starlark.Value, len(xs))
	for i, x := range xs {
		l[i] = starlark.String(x)
	}
	return starlark.NewList(l)
}

// value is the comparison as scripts see it.
func (c *Comparison) value(path string) starlark.Value {
	stats := func(m map[string]Stat) *starlark.Dict {
		d := starlark.NewDict(len(m))
		for _, k := range c.Metrics {
			s := m[k]
			d.SetKey(starlark.String(k), starlarkstruct.FromStringDict(starlarkstruct.Default, starlark.StringDict{
				"mean": starlark.Float(s.Mean), "std": starlark.Float(s.Std), "n": starlark.MakeInt(s.N),
				"min": starlark.Float(s.Min), "max": starlark.Float(s.Max),
			}))
		}
		return d
	}
	var groups []starlark.Value
	for _, g := range c.Groups {
		var dirs []string
		for _, r := range g.Runs {
			dirs = append(dirs, r.Dir)
		}
		settings := starlark.NewDict(len(g.Settings))
		for k, v := range g.Settings {
			settings.SetKey(starlark.String(k), starlark.String(v))
		}
		groups = append(groups, starlarkstruct.FromStringDict(starlarkstruct.Default, starlark.StringDict{
			"name": starlark.String(g.Name), "runs": strs(dirs), "seeds": strs(g.Seeds), "settings": settings,
			"final": stats(c.Final[g]), "best": stats(c.Best[g]),
		}))
	}
	return starlarkstruct.FromStringDict(starlarkstruct.Default, starlark.StringDict{
		"path": starlark.String(path), "metrics": strs(c.Metrics), "left_out": strs(c.LeftOut),
		"groups": starlark.NewList(groups), "differ": strs(c.Differ),
	})
}

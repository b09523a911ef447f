package report

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Comparing runs: runs whose settings differ only by seed form a group;
// each group's metrics are summarised by mean, standard deviation and
// count over its runs, per epoch and at the end.

// notSettings are configuration keys that name where a run is or how it
// is shown, not what it computes: runs differing in them alone are the
// same experiment. seed is what a group spans.
var notSettings = map[string]bool{"seed": true, "save_path": true, "resume": true, "workers": true, "source_path": true,
	"view": true, "view_points": true, "view_thumbnails": true}

// Group is runs that differ only by seed.
type Group struct {
	Name     string            // the settings that set it apart ("dada=True"), or the run's name
	Runs     []*Run            // in folder order
	Settings map[string]string // its settings, as a script writes them (without notSettings)
	Seeds    []string
}

// Stat is a mean with its standard deviation over N values (Std is NaN
// for fewer than two).
type Stat struct {
	Mean, Std, Min, Max float64
	N                   int
}

// Curve is a group's metric per epoch over its runs.
type Curve struct {
	Epochs []float64
	Stats  []Stat
}

// Comparison is what Compare found.
type Comparison struct {
	Runs     []*Run
	Groups   []*Group
	Metrics  []string          // the metrics every run with rows has
	LeftOut  []string          // metrics only some runs have, with how many
	Differ   []string          // the settings in which groups differ
	Shared   map[string]string // the settings all runs share
	Final    map[*Group]map[string]Stat
	Best     map[*Group]map[string]Stat
	Curves   map[*Group]map[string]Curve
	Progress int // runs not finished
}

// Compare reads run folders (or folders of runs, see FindRuns) and
// groups and summarises them.
func Compare(dirs []string) (*Comparison, error) {
	found, err := FindRuns(dirs)
	if err != nil {
		return nil, err
	}
	c := &Comparison{Final: map[*Group]map[string]Stat{}, Best: map[*Group]map[string]Stat{}, Curves: map[*Group]map[string]Curve{}}
	for _, d := range found {
		r, err := ReadRun(d)
		if err != nil {
			return nil, err
		}
		c.Runs = append(c.Runs, r)
		if !r.Finished {
			c.Progress++
		}
	}
	nameRuns(c.Runs)
	c.group()
	c.metrics()
	for _, g := range c.Groups {
		c.Final[g], c.Best[g], c.Curves[g] = map[string]Stat{}, map[string]Stat{}, map[string]Curve{}
		for _, m := range c.Metrics {
			var fin, best []float64
			for _, r := range g.Runs {
				if v, _, ok := r.Final(m); ok {
					fin = append(fin, v)
				}
				if v, _, ok := r.Best(m); ok {
					best = append(best, v)
				}
			}
			c.Final[g][m], c.Best[g][m] = stat(fin), stat(best)
			c.Curves[g][m] = curve(g.Runs, m)
		}
	}
	return c, nil
}

// nameRuns names each run by its folder relative to the runs' common folder.
func nameRuns(runs []*Run) {
	if len(runs) == 0 {
		return
	}
	abs := make([]string, len(runs))
	for i, r := range runs {
		abs[i], _ = filepath.Abs(r.Dir)
	}
	common := filepath.Dir(abs[0])
	for _, a := range abs[1:] {
		for !strings.HasPrefix(a, common+string(filepath.Separator)) && common != filepath.Dir(common) {
			common = filepath.Dir(common)
		}
	}
	for i, r := range runs {
		if rel, err := filepath.Rel(common, abs[i]); err == nil && rel != "." {
			r.Name = rel
		}
	}
}

// settings are a run's settings as a script writes them: only those it
// used, when known.
func settingsOf(r *Run) map[string]string {
	if r.Config == nil {
		return nil
	}
	used := map[string]bool{}
	for _, k := range r.UsedKeys {
		used[k] = true
	}
	out := map[string]string{}
	for k, v := range r.Config {
		if notSettings[k] || (r.UsedKeys != nil && !used[k]) {
			continue
		}
		out[k] = SettingString(v)
	}
	return out
}

// SettingString writes a configuration value as a script would: strings
// quoted, True and False, lists in brackets.
func SettingString(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case string:
		return strconv.Quote(x)
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return strconv.FormatFloat(x, 'f', -1, 64)
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = SettingString(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = strconv.Quote(k) + ": " + SettingString(x[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// group puts runs with the same settings (seed aside) together, in the
// order their first run comes, and names each group by the settings that
// set it apart.
func (c *Comparison) group() {
	byKey := map[string]*Group{}
	for _, r := range c.Runs {
		s := settingsOf(r)
		key := "run:" + r.Dir // a run without configuration stands alone
		if s != nil {
			keys := make([]string, 0, len(s))
			for k := range s {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			var b strings.Builder
			for _, k := range keys {
				fmt.Fprintf(&b, "%s=%s\n", k, s[k])
			}
			key = b.String()
		}
		g, ok := byKey[key]
		if !ok {
			g = &Group{Settings: s}
			byKey[key] = g
			c.Groups = append(c.Groups, g)
		}
		g.Runs = append(g.Runs, r)
		seed := "?"
		if v, ok := r.Config["seed"]; ok {
			seed = SettingString(v)
		}
		g.Seeds = append(g.Seeds, seed)
	}
	// The settings that differ between groups (missing counts as a value).
	all := map[string]bool{}
	for _, g := range c.Groups {
		for k := range g.Settings {
			all[k] = true
		}
	}
	c.Shared = map[string]string{}
	for k := range all {
		values := map[string]bool{}
		for _, g := range c.Groups {
			if g.Settings == nil {
				continue
			}
			v, ok := g.Settings[k]
			if !ok {
				v = "(not set)"
			}
			values[v] = true
		}
		if len(values) > 1 {
			c.Differ = append(c.Differ, k)
			continue
		}
		for v := range values {
			c.Shared[k] = v
		}
	}
	sort.Strings(c.Differ)
	for _, g := range c.Groups {
		var parts []string
		for _, k := range c.Differ {
			v, ok := g.Settings[k]
			if !ok {
				v = "(not set)"
			}
			parts = append(parts, k+"="+v)
		}
		switch {
		case g.Settings == nil:
			g.Name = g.Runs[0].Name
		case len(parts) > 0:
			g.Name = strings.Join(parts, ", ")
		case len(c.Groups) == 1 && g.Runs[0].Title != "":
			g.Name = g.Runs[0].Title
		default:
			g.Name = "all runs"
		}
	}
}

// metrics finds the metrics every run with rows has, and those left out.
func (c *Comparison) metrics() {
	count := map[string]int{}
	var order []string
	withRows := 0
	for _, r := range c.Runs {
		if len(r.Rows) == 0 {
			continue
		}
		withRows++
		for _, m := range r.Metrics {
			if count[m] == 0 {
				order = append(order, m)
			}
			count[m]++
		}
	}
	for _, m := range order {
		if count[m] == withRows {
			c.Metrics = append(c.Metrics, m)
		} else {
			c.LeftOut = append(c.LeftOut, fmt.Sprintf("%s (in %d of %d runs)", m, count[m], withRows))
		}
	}
}

func stat(xs []float64) Stat {
	s := Stat{N: len(xs), Mean: math.NaN(), Std: math.NaN(), Min: math.NaN(), Max: math.NaN()}
	if len(xs) == 0 {
		return s
	}
	sum := 0.0
	s.Min, s.Max = xs[0], xs[0]
	for _, x := range xs {
		sum += x
		s.Min, s.Max = math.Min(s.Min, x), math.Max(s.Max, x)
	}
	s.Mean = sum / float64(len(xs))
	if len(xs) > 1 {
		ss := 0.0
		for _, x := range xs {
			ss += (x - s.Mean) * (x - s.Mean)
		}
		s.Std = math.Sqrt(ss / float64(len(xs)-1))
	}
	return s
}

// curve is a metric's statistics per epoch over runs; an epoch counts the
// runs that evaluated it.
func curve(runs []*Run, m string) Curve {
	at := map[float64][]float64{}
	for _, r := range runs {
		for _, row := range r.Rows {
			if v, ok := row[m]; ok && !math.IsNaN(v) {
				e := row["epoch"]
				at[e] = append(at[e], v)
			}
		}
	}
	var c Curve
	for e := range at {
		c.Epochs = append(c.Epochs, e)
	}
	sort.Float64s(c.Epochs)
	for _, e := range c.Epochs {
		c.Stats = append(c.Stats, stat(at[e]))
	}
	return c
}

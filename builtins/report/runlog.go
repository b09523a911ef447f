package report

import (
	"bytes"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// A run folder, as the training loop (@stdlib/train.star) writes it:
// log.csv (a row per epoch), run.json (configuration, metric and part
// names, provenance) and checkpoints. Runs of older versions or of other
// scripts may lack run.json; their configuration then comes from
// checkpoint_last.ckpt, and their columns are told apart by name.

// Run is a training run read from its folder.
type Run struct {
	Dir      string
	Name     string // how pages name it: its folder, relative to the runs' common folder
	Columns  []string
	Rows     []map[string]float64 // a row per epoch; a missing key is an empty cell
	Metrics  []string             // the metric columns, in log order
	Parts    []string             // the loss-part columns
	Config   map[string]any       // nil: not found
	UsedKeys []string             // the settings the run used; nil: unknown (all)
	Title    string
	Planned  int // epochs planned; 0: unknown
	Finished bool
	Started  time.Time
	Updated  time.Time
	Source   string   // where the configuration came from: run.json, checkpoint_last.ckpt, ...
	Notes    []string // what was odd in the folder (a cut-short log line, a text cell)
}

// logColumns are log.csv's columns that are neither metrics nor loss parts.
var logColumns = map[string]bool{"epoch": true, "seconds": true, "data_wait": true, "lr": true, "loss": true, "best": true, "skipped_steps": true}

// knownParts are the loss parts dadash's losses report (runpage.star's
// PART_MEANINGS), to tell parts from metrics in logs without run.json.
var knownParts = map[string]bool{"gen": true, "disc": true, "proxy": true, "pos": true, "neg": true, "classify": true,
	"reg": true, "ce": true, "u": true, "s": true, "dis": true}

// lowerIsBetter are the metrics where a lower value is better.
var lowerIsBetter = map[string]bool{"dists@intra": true, "dists@intra_over_inter": true}

// FindRuns expands folders into run folders: a folder with log.csv is a
// run; any other folder stands for the runs below it (up to three levels
// down, e.g. runs/cub200/seed_0). A folder that holds no run is an error.
func FindRuns(dirs []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, d := range dirs {
		st, err := os.Stat(d)
		switch {
		case err != nil && errors.Is(err, os.ErrNotExist):
			return nil, fmt.Errorf("%s: no such folder", d)
		case err != nil:
			return nil, err
		case !st.IsDir():
			return nil, fmt.Errorf("%s is a file; give the run's folder (the one holding log.csv)", d)
		}
		var found []string
		var walk func(dir string, depth int)
		walk = func(dir string, depth int) {
			if isRun(dir) {
				found = append(found, dir)
				return
			}
			if depth == 3 {
				return
			}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
					walk(filepath.Join(dir, e.Name()), depth+1)
				}
			}
		}
		walk(d, 0)
		if len(found) == 0 {
			return nil, fmt.Errorf("%s is not a run folder: it holds no log.csv, nor do the folders below it "+
				"(a run of dadash's training loop writes log.csv, run.json and report.html into its save_path)", d)
		}
		sort.Strings(found)
		for _, f := range found {
			if !seen[f] {
				seen[f] = true
				out = append(out, f)
			}
		}
	}
	return out, nil
}

func isRun(dir string) bool {
	st, err := os.Stat(filepath.Join(dir, "log.csv"))
	return err == nil && st.Mode().IsRegular()
}

// runJSON is run.json as runpage.star writes it.
type runJSON struct {
	Format     string         `json:"format"`
	Version    int            `json:"version"`
	Title      string         `json:"title"`
	Started    string         `json:"started"`
	Updated    string         `json:"updated"`
	Epochs     *int           `json:"epochs"`
	Finished   bool           `json:"finished"`
	Metrics    []string       `json:"metrics"`
	Parts      []string       `json:"parts"`
	Config     map[string]any `json:"config"`
	UsedKeys   []string       `json:"used_keys"`
	Provenance map[string]any `json:"provenance"`
}

// ReadRun reads a run folder. A log that is empty or cut short is read as
// far as it goes (a run in progress), with a note; a folder without
// log.csv, or a log.csv without a header, is an error.
func ReadRun(dir string) (*Run, error) {
	r := &Run{Dir: dir, Name: filepath.Base(dir)}
	logPath := filepath.Join(dir, "log.csv")
	b, err := os.ReadFile(logPath)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s is not a run folder: it has no log.csv", dir)
		}
		return nil, err
	}
	var meta *runJSON
	if jb, err := os.ReadFile(filepath.Join(dir, "run.json")); err == nil {
		var m runJSON
		if err := json.Unmarshal(jb, &m); err != nil {
			r.Notes = append(r.Notes, fmt.Sprintf("run.json is not valid JSON (%v); read without it", err))
		} else if m.Format != "dadash.run" {
			r.Notes = append(r.Notes, fmt.Sprintf("run.json is not a dadash run description (format %q); read without it", m.Format))
		} else {
			meta = &m
		}
	}
	if err := r.readLog(logPath, b, meta == nil); err != nil {
		return nil, err
	}
	if meta != nil {
		r.Source = "run.json"
		r.Title, r.Config, r.UsedKeys, r.Finished = meta.Title, meta.Config, meta.UsedKeys, meta.Finished
		if meta.Epochs != nil {
			r.Planned = *meta.Epochs
		}
		r.Started, _ = time.Parse(time.RFC3339Nano, meta.Started)
		r.Updated, _ = time.Parse(time.RFC3339Nano, meta.Updated)
	} else {
		for _, ck := range []string{"checkpoint_last.ckpt", "checkpoint_best.ckpt"} {
			cfg, err := checkpointConfig(filepath.Join(dir, ck))
			if err == nil && cfg != nil {
				r.Config, r.Source = cfg, ck
				break
			}
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				r.Notes = append(r.Notes, fmt.Sprintf("%s: %v", ck, err))
			}
		}
		if r.Config == nil {
			r.Notes = append(r.Notes, "no configuration (neither run.json nor a checkpoint with cfg): grouped on its own")
		}
		if st, err := os.Stat(logPath); err == nil {
			r.Updated = st.ModTime()
		}
		if n, ok := r.Config["epochs"].(float64); ok {
			r.Planned = int(n)
		}
		r.Finished = r.Planned > 0 && len(r.Rows) >= r.Planned
	}
	r.classify(meta)
	return r, nil
}

// readLog parses log.csv. oldEpochs: a log without run.json, whose epochs
// may count from 0 (dadash before run.json did).
func (r *Run) readLog(path string, b []byte, oldEpochs bool) error {
	if len(bytes.TrimSpace(b)) == 0 {
		r.Notes = append(r.Notes, "log.csv is empty: the run has not finished an epoch")
		return nil
	}
	cr := csv.NewReader(bytes.NewReader(b))
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = false
	header, err := cr.Read()
	if err != nil {
		return fmt.Errorf("%s: line 1 is not a CSV header: %v", path, err)
	}
	for i, h := range header {
		header[i] = strings.TrimSpace(h)
		if header[i] == "" {
			return fmt.Errorf("%s: column %d of the header has no name", path, i+1)
		}
	}
	r.Columns = header
	textCols := map[string]bool{}
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				r.Notes = append(r.Notes, fmt.Sprintf("log.csv line %d cannot be read (%v); the rows after it are left out", pe.StartLine, pe.Err))
				break
			}
			return fmt.Errorf("%s: %w", path, err)
		}
		if len(rec) != len(header) {
			r.Notes = append(r.Notes, fmt.Sprintf("log.csv line %d has %d of %d fields (cut short?); left out", line, len(rec), len(header)))
			continue
		}
		row := map[string]float64{}
		for i, cell := range rec {
			cell = strings.TrimSpace(cell)
			if cell == "" {
				continue
			}
			switch cell {
			case "True", "true":
				row[header[i]] = 1
				continue
			case "False", "false":
				row[header[i]] = 0
				continue
			}
			f, err := strconv.ParseFloat(cell, 64)
			if err != nil {
				textCols[header[i]] = true
				continue
			}
			row[header[i]] = f
		}
		r.Rows = append(r.Rows, row)
	}
	for c := range textCols {
		r.Notes = append(r.Notes, fmt.Sprintf("log.csv column %q holds text; its text cells are left out", c))
	}
	sort.Strings(r.Notes)
	// Epochs count from 1. A log without run.json whose first epoch is 0
	// counted from 0 (dadash did before run.json); a log without an epoch
	// column gets its row numbers.
	hasEpoch := false
	for _, h := range header {
		hasEpoch = hasEpoch || h == "epoch"
	}
	shift := 0.0
	if hasEpoch && oldEpochs && len(r.Rows) > 0 && r.Rows[0]["epoch"] == 0 {
		shift = 1
	}
	for i, row := range r.Rows {
		if e, ok := row["epoch"]; ok && hasEpoch {
			row["epoch"] = e + shift
		} else {
			row["epoch"] = float64(i + 1)
		}
	}
	return nil
}

// classify splits the columns into metrics and parts: as run.json names
// them, else by name.
func (r *Run) classify(meta *runJSON) {
	if meta != nil && meta.Metrics != nil {
		has := map[string]bool{}
		for _, c := range r.Columns {
			has[c] = true
		}
		for _, m := range meta.Metrics {
			if has[m] {
				r.Metrics = append(r.Metrics, m)
			}
		}
		for _, p := range meta.Parts {
			if has[p] {
				r.Parts = append(r.Parts, p)
			}
		}
		return
	}
	for _, c := range r.Columns {
		switch {
		case logColumns[c]:
		case knownParts[c]:
			r.Parts = append(r.Parts, c)
		default:
			r.Metrics = append(r.Metrics, c)
		}
	}
}

// Epochs is the epoch of each row.
func (r *Run) Epochs() []float64 {
	out := make([]float64, len(r.Rows))
	for i, row := range r.Rows {
		out[i] = row["epoch"]
	}
	return out
}

// Final is a column's last value and its epoch; ok is false when it has none.
func (r *Run) Final(col string) (v, epoch float64, ok bool) {
	for i := len(r.Rows) - 1; i >= 0; i-- {
		if x, has := r.Rows[i][col]; has && !math.IsNaN(x) {
			return x, r.Rows[i]["epoch"], true
		}
	}
	return 0, 0, false
}

// Best is a column's best value over the epochs (the lowest for the
// metrics where lower is better) and its epoch.
func (r *Run) Best(col string) (v, epoch float64, ok bool) {
	for _, row := range r.Rows {
		x, has := row[col]
		if !has || math.IsNaN(x) {
			continue
		}
		if !ok || (lowerIsBetter[col] && x < v) || (!lowerIsBetter[col] && x > v) {
			v, epoch, ok = x, row["epoch"], true
		}
	}
	return v, epoch, ok
}

// checkpointConfig reads the cfg a checkpoint of the training loop holds,
// from the safetensors header alone (the tensors are not read).
func checkpointConfig(path string) (map[string]any, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var n uint64
	if err := binary.Read(f, binary.LittleEndian, &n); err != nil {
		return nil, fmt.Errorf("not a safetensors file (%v)", err)
	}
	if n > 100<<20 {
		return nil, fmt.Errorf("not a safetensors file (a header of %d bytes)", n)
	}
	hb := make([]byte, n)
	if _, err := io.ReadFull(f, hb); err != nil {
		return nil, fmt.Errorf("cut short in its header (%v)", err)
	}
	var header struct {
		Metadata map[string]string `json:"__metadata__"`
	}
	if err := json.Unmarshal(hb, &header); err != nil {
		return nil, fmt.Errorf("not a safetensors file (%v)", err)
	}
	desc, ok := header.Metadata["dadash.checkpoint"]
	if !ok {
		return nil, fmt.Errorf("not a dadash checkpoint")
	}
	var d struct {
		Items []struct {
			Name  string          `json:"name"`
			Value json.RawMessage `json:"value"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(desc), &d); err != nil {
		return nil, fmt.Errorf("its description is not valid JSON (%v)", err)
	}
	for _, it := range d.Items {
		if it.Name != "cfg" {
			continue
		}
		var v any
		if err := json.Unmarshal(it.Value, &v); err != nil {
			return nil, err
		}
		m, ok := decodeCkValue(v).(map[string]any)
		if !ok {
			return nil, fmt.Errorf("its cfg is not a dict")
		}
		return m, nil
	}
	return nil, nil
}

// decodeCkValue undoes the checkpoint's encoding of dicts, tuples and
// non-finite floats (builtins/checkpoint/encode.go) into plain JSON values.
func decodeCkValue(v any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = decodeCkValue(e)
		}
		return out
	case map[string]any:
		if pairs, ok := x["dict"].([]any); ok && len(x) == 1 {
			m := map[string]any{}
			for _, p := range pairs {
				kv, ok := p.([]any)
				if !ok || len(kv) != 2 {
					continue
				}
				k, ok := kv[0].(string)
				if !ok {
					k = fmt.Sprint(kv[0])
				}
				m[k] = decodeCkValue(kv[1])
			}
			return m
		}
		if t, ok := x["tuple"]; ok && len(x) == 1 {
			return decodeCkValue(t)
		}
		if f, ok := x["float"].(string); ok && len(x) == 1 {
			switch f {
			case "nan":
				return math.NaN()
			case "inf":
				return math.Inf(1)
			case "-inf":
				return math.Inf(-1)
			}
		}
		if t, ok := x["tensor"].(string); ok && len(x) == 1 {
			return "<tensor " + t + ">"
		}
		return x
	}
	return v
}

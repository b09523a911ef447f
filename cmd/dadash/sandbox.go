package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/dadash/dadash/interp"
)

// limits are the flags of the trust model (README, "What a script can
// touch"): --sandbox and its roots, and the step and memory limits.
type limits struct {
	sandbox               bool
	allowRead, allowWrite []string
	maxSteps              uint64
	stepsSet              bool
	maxMemory             int64
	rootArgs              []string // the script's (or eval's) arguments, for --source_path P and the like
}

// sandboxSteps is --max-steps under --sandbox unless given. A recipe
// spends few steps (the work is in builtins): cub200.star --synthetic takes
// about 6,700 per epoch, most in evaluation, and a training batch about
// 200, so a full In-Shop run (100 epochs of 230 batches) needs about 5
// million. 10^9 leaves a factor of 200 and stops an endless loop after
// about a minute.
const sandboxSteps = 1_000_000_000

// Paths that a command line names for the run are roots of a --sandbox
// run: they come from the user, not from the script. Keys of --set and
// the recipes' and eval's own flags (--source_path P).
var (
	readKeys = map[string]bool{
		"source_path": true, "weights": true, "resume": true, "test_path": true,
		"embeddings": true, "labels": true, "query_embeddings": true, "query_labels": true,
		"gallery_embeddings": true, "gallery_labels": true,
	}
	writeKeys = map[string]bool{"save_path": true}
)

func (c *cli) limitFlag(name string) bool {
	switch name {
	case "sandbox", "allow-read", "allow-write", "max-steps", "max-memory":
		return true
	}
	return false
}

func limitTakesValue(name string) bool { return name != "sandbox" }

func (c *cli) setLimit(name, v string) error {
	switch name {
	case "sandbox":
		c.sandbox = true
	case "allow-read", "allow-write":
		if v == "" {
			return usagef("--%s needs a folder", name)
		}
		if name == "allow-read" {
			c.allowRead = append(c.allowRead, v)
		} else {
			c.allowWrite = append(c.allowWrite, v)
		}
	case "max-steps":
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return usagef("--max-steps %s: want a number of steps (0: no limit)", v)
		}
		c.maxSteps, c.stepsSet = n, true
	case "max-memory":
		n, err := parseSize(v)
		if err != nil {
			return usagef("--max-memory %s: %v", v, err)
		}
		c.maxMemory = n
	}
	return nil
}

// parseSize reads 512M, 8G, 1.5G, 1048576 (bytes); K, M, G, T are powers
// of 1024, with an optional trailing B or iB.
func parseSize(s string) (int64, error) {
	t := strings.TrimSuffix(strings.TrimSuffix(strings.ToUpper(strings.TrimSpace(s)), "B"), "I")
	mult := 1.0
	if n := len(t); n > 0 {
		if i := strings.IndexByte("KMGT", t[n-1]); i >= 0 {
			mult = float64(int64(1) << (10 * (i + 1)))
			t = t[:n-1]
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f <= 0 || f*mult > 1<<62 {
		return 0, fmt.Errorf("want a size such as 512M or 8G")
	}
	return int64(f * mult), nil
}

// sizeFlag writes a size as --max-memory takes it.
func sizeFlag(n int64) string {
	for _, u := range []struct {
		suffix string
		shift  uint
	}{{"T", 40}, {"G", 30}, {"M", 20}, {"K", 10}} {
		if n >= 1<<u.shift && n%(1<<u.shift) == 0 {
			return strconv.FormatInt(n>>u.shift, 10) + u.suffix
		}
	}
	if n >= 1<<30 {
		return fmt.Sprintf("%.1fG", float64(n)/(1<<30))
	}
	return strconv.FormatInt(n, 10)
}

// applyLimits sets the interpreter options of the flags.
func (c *cli) applyLimits(o *interp.Options) {
	o.MaxMemory = c.maxMemory
	o.MaxSteps = c.maxSteps
	if !c.sandbox {
		return
	}
	if !c.stepsSet {
		o.MaxSteps = sandboxSteps
	}
	read, write := c.namedRoots()
	o.Sandbox = true
	o.AllowRead = append(append([]string{}, c.allowRead...), read...)
	o.AllowWrite = append(append([]string{}, c.allowWrite...), write...)
}

// namedRoots are the paths the command line names for the run: --set
// key=P, the settings given as --key P after a script, and eval's --key P
// flags, for the keys in readKeys and writeKeys.
func (c *cli) namedRoots() (read, write []string) {
	add := func(key, v string) {
		v = strings.Trim(v, `"'`)
		switch {
		case v == "":
		case readKeys[key]:
			read = append(read, v)
		case writeKeys[key]:
			write = append(write, v)
		}
	}
	for _, kv := range append(append([]string{}, c.sets...), c.flags...) {
		if k, v, ok := strings.Cut(kv, "="); ok {
			add(strings.TrimSpace(k), strings.TrimSpace(v))
		}
	}
	for i := 0; i < len(c.rootArgs); i++ {
		a := c.rootArgs[i]
		if !strings.HasPrefix(a, "-") {
			continue
		}
		name, v, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !readKeys[name] && !writeKeys[name] {
			continue
		}
		if !hasValue {
			if i+1 == len(c.rootArgs) {
				continue
			}
			i++
			v = c.rootArgs[i]
		}
		add(name, v)
	}
	return read, write
}

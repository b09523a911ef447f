package report

import (
	"bytes"
	"fmt"
	"io"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/internal/page"
)

// KV is one setting of a configuration block.
type KV struct{ Key, Value string }

// Settings is a configuration block: settings in the order given, folded
// under a title unless Open. Hidden counts settings left out (those the
// run did not use), which the block mentions.
type Settings struct {
	Title  string
	KV     []KV
	Hidden int
	Open   bool
}

// Config appends a folded configuration block.
func (r *Report) Config(title string, settings []KV) error {
	return r.Settings(Settings{Title: title, KV: settings})
}

// Settings appends a configuration block.
func (r *Report) Settings(s Settings) error {
	if s.Title == "" {
		s.Title = "Configuration"
	}
	return r.add(func(w io.Writer, id string) error {
		var b bytes.Buffer
		open := ""
		if s.Open {
			open = " open"
		}
		fmt.Fprintf(&b, "<details class=\"config\" id=\"%s\"%s><summary>%s (%d setting%s)</summary><table class=\"config\">\n",
			id, open, page.Escape(s.Title), len(s.KV), plural(len(s.KV)))
		for _, kv := range s.KV {
			fmt.Fprintf(&b, "<tr><td class=\"k\">%s</td><td class=\"v\">%s</td></tr>\n", page.Escape(kv.Key), page.Escape(kv.Value))
		}
		b.WriteString("</table>")
		if s.Hidden > 0 {
			fmt.Fprintf(&b, "<p class=\"hint\">%d other setting%s of the configuration did not apply to this run and are not shown.</p>", s.Hidden, plural(s.Hidden))
		}
		b.WriteString("</details>\n")
		_, err := w.Write(b.Bytes())
		return err
	})
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

const docConfig = `r.config(cfg, title="Configuration", keys=None, open=False): appends the settings of a run.

cfg is the value of config(...), a dict or a struct; settings keep their order. keys lists
the settings to show (those the run used; default all); the block says how many others it
leaves out. The block is folded unless open=True.`

func mConfig(r *Report, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) error {
	var cfg, keys starlark.Value = nil, starlark.None
	title, open := "Configuration", false
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "cfg", &cfg, "title?", &title, "keys?", &keys, "open?", &open); err != nil {
		return err
	}
	kvs, err := settings(cfg)
	if err != nil {
		return err
	}
	s := Settings{Title: title, KV: kvs, Open: open}
	if !isNone(keys) {
		want, err := stringList(keys)
		if err != nil {
			return fmt.Errorf("keys: %w", err)
		}
		if s.KV, err = pick(kvs, want); err != nil {
			return err
		}
		s.Hidden = len(kvs) - len(s.KV)
	}
	return r.Settings(s)
}

// pick keeps the settings named in keys, in the configuration's order.
func pick(kvs []KV, keys []string) ([]KV, error) {
	want := map[string]bool{}
	for _, k := range keys {
		want[k] = true
	}
	var out []KV
	for _, kv := range kvs {
		if want[kv.Key] {
			out = append(out, kv)
			delete(want, kv.Key)
		}
	}
	for _, k := range keys {
		if want[k] {
			return nil, fmt.Errorf("keys: the configuration has no setting %q", k)
		}
	}
	return out, nil
}

func stringList(v starlark.Value) ([]string, error) {
	it, ok := v.(starlark.Iterable)
	if !ok || isString(v) {
		return nil, fmt.Errorf("want a list of names, got %s", v.Type())
	}
	var out []string
	iter := it.Iterate()
	defer iter.Done()
	var x starlark.Value
	for iter.Next(&x) {
		s, ok := starlark.AsString(x)
		if !ok {
			return nil, fmt.Errorf("want names (strings), got %s", x.Type())
		}
		out = append(out, s)
	}
	return out, nil
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

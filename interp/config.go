package interp

import (
	"fmt"
	"math/big"
	"sort"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

const configDoc = `config(**defaults) -> config

Declares a script's settings with their defaults and returns them with the
command line's --set key=value overrides applied:

    cfg = config(epochs = 60, lr = 1.2e-4, dataset = "cub200")
    cfg.epochs, cfg["lr"], cfg.to_dict(), [k for k in cfg]

An override is converted to the type of its default: int, float (an int is
accepted), bool (true/false/1/0/yes/no), string, list (comma-separated
"1,2,3" or a literal "[1, 2]", elements typed like the default's), and a
None default takes any literal (else the text as a string). Overriding a
key that config() does not declare is an error (with a "did you mean").

After the script, --name value (or --name=value; a bare --name for a bool
setting) means --set name=value, and _aliases = {"n_epochs": "epochs"}
lets other spellings (the reference's) name a setting. _doc = {name: text}
documents settings for "dadash SCRIPT --help", which prints the script's
leading comment and its settings (default, type, doc) instead of running.

A config knows which settings the run read (cfg.x, cfg["x"], cfg.get,
cfg.pick; not to_dict or iteration): cfg.check() fails when a setting the
command line gave has not been read, so a training loop that calls it
before its first step turns a setting with no effect into an error, not a
wasted run. cfg.pick(names) returns the settings among names as a dict
(dada.wrap(loss, **cfg.pick(dada.defaults()))). The result is frozen.`

// OverrideError is a bad --set: malformed, unknown key or wrong type.
type OverrideError struct{ Msg string }

func (e *OverrideError) Error() string { return e.Msg }

// override is one setting from the command line: --set key=raw, or
// --key raw after the script (flag), or a bare --key (bare).
type override struct {
	key, raw   string
	flag, bare bool
}

// spelled is how the user wrote the override, for messages.
func (o override) spelled() string {
	switch {
	case o.bare:
		return "--" + o.key
	case o.flag:
		return "--" + o.key + " " + o.raw
	}
	return "--set " + o.key + "=" + o.raw
}

// parseFlags reads the --name value settings given after a script:
// "name=value", or "name" alone for a bare flag.
func parseFlags(list []string) ([]override, error) {
	var out []override
	for _, s := range list {
		k, v, hasValue := strings.Cut(s, "=")
		if !isIdent(k) {
			return nil, &OverrideError{fmt.Sprintf("--%s: not a setting name (settings are identifiers, e.g. --epochs 2)", k)}
		}
		out = append(out, override{key: k, raw: v, flag: true, bare: !hasValue})
	}
	return out, nil
}

// parseOverrides splits "key=value" settings; a later one wins.
func parseOverrides(list []string) ([]override, error) {
	var out []override
	index := map[string]int{}
	for _, s := range list {
		k, v, ok := strings.Cut(s, "=")
		k = strings.TrimSpace(k)
		if !ok || !isIdent(k) {
			return nil, &OverrideError{fmt.Sprintf("--set %s: expected key=value, with key a setting name", s)}
		}
		if i, dup := index[k]; dup {
			out[i].raw = v
			continue
		}
		index[k] = len(out)
		out = append(out, override{key: k, raw: v})
	}
	return out, nil
}

func isIdent(s string) bool {
	for i, r := range s {
		if !(r == '_' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || i > 0 && '0' <= r && r <= '9') {
			return false
		}
	}
	return s != ""
}

// config is the builtin config(**defaults).
func (s *session) config(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(args) > 0 {
		return nil, fmt.Errorf("config: takes only keyword arguments (name = default), got %d positional", len(args))
	}
	c := &Config{values: map[string]starlark.Value{}, reads: s.reads, origin: map[string]string{}}
	var docs, aliases map[string]string
	for _, kv := range kwargs {
		k := string(kv[0].(starlark.String))
		switch k {
		case "_doc", "_aliases":
			m, err := stringMap(k, kv[1])
			if err != nil {
				return nil, err
			}
			if k == "_doc" {
				docs = m
			} else {
				aliases = m
			}
			continue
		}
		c.keys = append(c.keys, k)
		c.values[k] = kv[1]
	}
	for a, k := range aliases {
		if _, ok := c.values[k]; !ok {
			return nil, fmt.Errorf("config: _aliases maps %q to %q, which is not a setting", a, k)
		}
		s.aliases[a] = k
	}
	if s.h.opts.Describe {
		s.describe(c, docs)
		return nil, ErrDescribed
	}
	for _, o := range s.h.overrides {
		key := o.key
		def, ok := c.values[key]
		if !ok {
			if target, isAlias := s.aliases[key]; isAlias {
				key = target
				def, ok = c.values[key]
			}
		}
		if !ok {
			if s.used[o.key] {
				continue // an earlier config() call declared it
			}
			what := fmt.Sprintf("config() has no setting %q", o.key)
			if o.flag {
				what = fmt.Sprintf("the script has no setting %q", o.key)
			}
			msg := fmt.Sprintf("%s: %s", o.spelled(), what)
			cands := append([]string(nil), c.keys...)
			for a := range s.aliases {
				cands = append(cands, a)
			}
			if n := nearest(o.key, cands); n != "" {
				if o.flag {
					msg += fmt.Sprintf(" (did you mean --%s?)", n)
				} else {
					msg += fmt.Sprintf(" (did you mean %q?)", n)
				}
			}
			known := append([]string(nil), c.keys...)
			sort.Strings(known)
			return nil, &OverrideError{msg + "; its settings: " + strings.Join(known, ", ") + " (dadash SCRIPT --help describes them)"}
		}
		var v starlark.Value
		if o.bare {
			if _, isBool := def.(starlark.Bool); !isBool {
				return nil, &OverrideError{fmt.Sprintf("--%s needs a value (%s is %s, default %s)", o.key, key, typeName(def), def)}
			}
			v = starlark.True
		} else {
			var err error
			if v, err = convert(key, o.raw, def); err != nil {
				if oe, ok := err.(*OverrideError); ok && o.flag {
					oe.Msg = strings.Replace(oe.Msg, "--set "+o.key+"="+o.raw, o.spelled(), 1)
				}
				return nil, err
			}
		}
		c.values[key] = v
		if c.set == nil {
			c.set = map[string]bool{}
		}
		c.set[key] = true
		c.origin[key] = o.spelled()
		s.used[o.key] = true
		s.used[key] = true
	}
	for _, v := range c.values {
		v.Freeze()
	}
	return c, nil
}

// stringMap reads config's _doc / _aliases dict of strings.
func stringMap(name string, v starlark.Value) (map[string]string, error) {
	d, ok := v.(starlark.IterableMapping)
	if !ok {
		return nil, fmt.Errorf("config: %s must be a dict of strings, got %s", name, v.Type())
	}
	out := map[string]string{}
	for _, kv := range d.Items() {
		k, ok1 := starlark.AsString(kv[0])
		val, ok2 := starlark.AsString(kv[1])
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("config: %s must map strings to strings, got %s: %s", name, kv[0], kv[1])
		}
		out[k] = val
	}
	return out, nil
}

// typeName names a default's type the way --help shows it.
func typeName(v starlark.Value) string {
	switch v := v.(type) {
	case starlark.Bool:
		return "bool"
	case starlark.Int:
		return "int"
	case starlark.Float:
		return "float"
	case starlark.String:
		return "str"
	case *starlark.List:
		if v.Len() > 0 {
			return "list of " + typeName(v.Index(0))
		}
		return "list"
	case starlark.NoneType:
		return "any"
	}
	return v.Type()
}

// ErrDescribed ends a run that printed its settings (dadash SCRIPT --help).
var ErrDescribed = fmt.Errorf("described")

// describe prints what `dadash SCRIPT --help` shows: the script's leading
// comment, then each setting with its default, type and doc.
func (s *session) describe(c *Config, docs map[string]string) {
	w := s.h.opts.Stdout
	if s.mainName != "" {
		fmt.Fprintf(w, "%s\n", s.mainName)
	}
	if text := leadingComment(s.mainSrc); text != "" {
		fmt.Fprintf(w, "\n%s\n", text)
	}
	fmt.Fprintf(w, "\nSettings (--name value after the script, or --set name=value):\n")
	width := 0
	for _, k := range c.keys {
		width = max(width, len(k))
	}
	for _, k := range c.keys {
		line := fmt.Sprintf("  %-*s  %-10s %s", width, k, typeName(c.values[k]), c.values[k])
		if d := docs[k]; d != "" {
			line += "\n  " + strings.Repeat(" ", width+2) + d
		}
		fmt.Fprintln(w, line)
	}
	if len(s.aliases) > 0 {
		var pairs []string
		for a, k := range s.aliases {
			pairs = append(pairs, "--"+a+" = --"+k)
		}
		sort.Strings(pairs)
		fmt.Fprintf(w, "\nAlso accepted (the reference's spellings): %s\n", strings.Join(pairs, ", "))
	}
}

// leadingComment is the first block of '#' lines of a script (after a #!
// line), without the '#'; else the module docstring.
func leadingComment(src []byte) string {
	var out []string
	for i, line := range strings.Split(string(src), "\n") {
		t := strings.TrimSpace(line)
		if i == 0 && strings.HasPrefix(t, "#!") {
			continue
		}
		if !strings.HasPrefix(t, "#") {
			if len(out) == 0 && t == "" {
				continue
			}
			break
		}
		out = append(out, strings.TrimPrefix(strings.TrimPrefix(t, "#"), " "))
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}

// convert parses raw as a value of def's type.
func convert(key, raw string, def starlark.Value) (starlark.Value, error) {
	bad := func(want string) error {
		return &OverrideError{fmt.Sprintf("--set %s=%s: %s is %s, got %q", key, raw, key, want, raw)}
	}
	switch def := def.(type) {
	case *starlark.List:
		elems, err := convertElems(raw, def, bad)
		if err != nil {
			return nil, err
		}
		return starlark.NewList(elems), nil
	case starlark.Tuple:
		elems, err := convertElems(raw, def, bad)
		if err != nil {
			return nil, err
		}
		return starlark.Tuple(elems), nil
	}
	v, ok := convertScalar(raw, def)
	if !ok {
		return nil, bad(article(def.Type()))
	}
	return v, nil
}

// convertScalar converts raw to def's type; a None default takes any
// literal, else the text.
func convertScalar(raw string, def starlark.Value) (starlark.Value, bool) {
	switch def.(type) {
	case starlark.String:
		return starlark.String(raw), true
	case starlark.Bool:
		switch strings.ToLower(strings.TrimSpace(raw)) {
		case "true", "1", "yes":
			return starlark.True, true
		case "false", "0", "no":
			return starlark.False, true
		}
		return nil, false
	case starlark.NoneType:
		if v, err := parseLiteral(raw); err == nil {
			return v, true
		}
		return starlark.String(raw), true
	}
	v, err := parseLiteral(raw)
	if err != nil {
		return nil, false
	}
	return convertValue(v, def)
}

// convertValue accepts a parsed literal v for a default def of the same
// type; an int is accepted where a float is expected.
func convertValue(v, def starlark.Value) (starlark.Value, bool) {
	if _, isNone := def.(starlark.NoneType); isNone {
		return v, true
	}
	if _, isFloat := def.(starlark.Float); isFloat {
		if i, ok := v.(starlark.Int); ok {
			return i.Float(), true
		}
	}
	return v, v.Type() == def.Type()
}

// convertElems converts a list setting: "[1, 2]" or "1,2" (empty text is
// the empty list), elements typed like the default's first element.
func convertElems(raw string, def starlark.Indexable, bad func(string) error) ([]starlark.Value, error) {
	var elemDef starlark.Value = starlark.None
	want := "a " + def.Type()
	if def.Len() > 0 {
		elemDef = def.Index(0)
		want = fmt.Sprintf("a %s of %s", def.Type(), elemDef.Type())
	}
	trimmed := strings.TrimSpace(raw)
	var out []starlark.Value
	if strings.HasPrefix(trimmed, "[") || strings.HasPrefix(trimmed, "(") {
		v, err := parseLiteral(trimmed)
		seq, ok := v.(starlark.Indexable)
		if err != nil || !ok {
			return nil, bad(want)
		}
		for i := 0; i < seq.Len(); i++ {
			e, ok := convertValue(seq.Index(i), elemDef)
			if !ok {
				return nil, bad(want)
			}
			out = append(out, e)
		}
		return out, nil
	}
	if trimmed == "" {
		return nil, nil
	}
	for _, part := range strings.Split(raw, ",") {
		part = strings.TrimSpace(part)
		if _, isStr := elemDef.(starlark.String); isStr {
			if v, err := parseLiteral(part); err == nil {
				if s, ok := v.(starlark.String); ok {
					part = string(s) // a quoted element
				}
			}
		}
		e, ok := convertScalar(part, elemDef)
		if !ok {
			return nil, bad(want)
		}
		out = append(out, e)
	}
	return out, nil
}

func article(typ string) string {
	if strings.ContainsRune("aeiou", rune(typ[0])) {
		return "an " + typ
	}
	return "a " + typ
}

// parseLiteral evaluates a Starlark literal (numbers, strings, True, False,
// None, lists, tuples, dicts) without running any code.
func parseLiteral(s string) (starlark.Value, error) {
	e, err := syntax.ParseExpr("--set", s, 0)
	if err != nil {
		return nil, err
	}
	return literal(e)
}

func literal(e syntax.Expr) (starlark.Value, error) {
	switch e := e.(type) {
	case *syntax.Literal:
		switch v := e.Value.(type) {
		case string:
			if e.Token == syntax.BYTES {
				return starlark.Bytes(v), nil
			}
			return starlark.String(v), nil
		case int64:
			return starlark.MakeInt64(v), nil
		case float64:
			return starlark.Float(v), nil
		case *big.Int:
			return starlark.MakeBigInt(v), nil
		}
	case *syntax.Ident:
		switch e.Name {
		case "True":
			return starlark.True, nil
		case "False":
			return starlark.False, nil
		case "None":
			return starlark.None, nil
		}
	case *syntax.ParenExpr:
		return literal(e.X)
	case *syntax.UnaryExpr:
		if e.Op == syntax.MINUS || e.Op == syntax.PLUS {
			x, err := literal(e.X)
			if err != nil {
				return nil, err
			}
			if _, ok := x.(starlark.Int); ok || x.Type() == "float" {
				return starlark.Unary(e.Op, x)
			}
		}
	case *syntax.ListExpr:
		elems, err := literals(e.List)
		if err != nil {
			return nil, err
		}
		return starlark.NewList(elems), nil
	case *syntax.TupleExpr:
		elems, err := literals(e.List)
		if err != nil {
			return nil, err
		}
		return starlark.Tuple(elems), nil
	case *syntax.DictExpr:
		d := starlark.NewDict(len(e.List))
		for _, entry := range e.List {
			entry := entry.(*syntax.DictEntry)
			k, err := literal(entry.Key)
			if err != nil {
				return nil, err
			}
			v, err := literal(entry.Value)
			if err != nil {
				return nil, err
			}
			if err := d.SetKey(k, v); err != nil {
				return nil, err
			}
		}
		return d, nil
	}
	return nil, fmt.Errorf("not a literal")
}

func literals(list []syntax.Expr) ([]starlark.Value, error) {
	out := make([]starlark.Value, len(list))
	for i, x := range list {
		v, err := literal(x)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// Config is the frozen result of config(): settings in declaration order,
// read as attributes or by key.
type Config struct {
	keys   []string
	values map[string]starlark.Value
	set    map[string]bool   // keys the command line gave
	origin map[string]string // how the command line spelled them
	reads  map[string]bool   // the session's read settings, shared by copies
}

// read records that the run read key.
func (c *Config) read(key string) {
	if c.reads != nil {
		c.reads[key] = true
	}
}

var (
	_ starlark.HasAttrs = (*Config)(nil)
	_ starlark.Mapping  = (*Config)(nil)
	_ starlark.Iterable = (*Config)(nil)
	_ starlark.Sequence = (*Config)(nil)
)

func (c *Config) Type() string          { return "config" }
func (c *Config) Freeze()               {}
func (c *Config) Truth() starlark.Bool  { return len(c.keys) > 0 }
func (c *Config) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: config") }
func (c *Config) Len() int              { return len(c.keys) }

func (c *Config) String() string {
	var b strings.Builder
	b.WriteString("config(")
	for i, k := range c.keys {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s = %s", k, c.values[k])
	}
	b.WriteString(")")
	return b.String()
}

func (c *Config) Attr(name string) (starlark.Value, error) {
	if v, ok := c.values[name]; ok {
		c.read(name)
		return v, nil
	}
	switch name {
	case "to_dict":
		return starlark.NewBuiltin("to_dict", c.toDict).BindReceiver(c), nil
	case "replace":
		return starlark.NewBuiltin("replace", c.replace).BindReceiver(c), nil
	case "get":
		return starlark.NewBuiltin("get", c.get).BindReceiver(c), nil
	case "was_set":
		return starlark.NewBuiltin("was_set", c.wasSet).BindReceiver(c), nil
	case "pick":
		return starlark.NewBuiltin("pick", c.pick).BindReceiver(c), nil
	case "check":
		return starlark.NewBuiltin("check", c.check).BindReceiver(c), nil
	case "read_keys":
		return starlark.NewBuiltin("read_keys", c.readKeys).BindReceiver(c), nil
	}
	return nil, nil // the interpreter reports the missing field with a hint
}

func (c *Config) AttrNames() []string {
	names := append([]string{"check", "get", "pick", "read_keys", "replace", "to_dict", "was_set"}, c.keys...)
	sort.Strings(names)
	return names
}

func (c *Config) Get(k starlark.Value) (starlark.Value, bool, error) {
	s, ok := k.(starlark.String)
	if !ok {
		return nil, false, fmt.Errorf("config keys are strings, got %s", k.Type())
	}
	v, found := c.values[string(s)]
	if found {
		c.read(string(s))
	}
	return v, found, nil
}

func (c *Config) Iterate() starlark.Iterator {
	keys := make([]starlark.Value, len(c.keys))
	for i, k := range c.keys {
		keys[i] = starlark.String(k)
	}
	return starlark.Tuple(keys).Iterate()
}

// toDict returns a new, mutable dict of the settings.
func (c *Config) toDict(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
		return nil, err
	}
	d := starlark.NewDict(len(c.keys))
	for _, k := range c.keys {
		if err := d.SetKey(starlark.String(k), c.values[k]); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// replace returns a copy with some settings changed (new keys are added at
// the end), as dataclasses.replace does; the config itself stays frozen.
func (c *Config) replace(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(args) > 0 {
		return nil, fmt.Errorf("replace: takes keyword arguments only, e.g. cfg.replace(epochs = 2)")
	}
	n := &Config{keys: append([]string{}, c.keys...), values: make(map[string]starlark.Value, len(c.values)+len(kwargs)), set: c.set, origin: c.origin, reads: c.reads}
	for k, v := range c.values {
		n.values[k] = v
	}
	for _, kv := range kwargs {
		k := string(kv[0].(starlark.String))
		if _, ok := n.values[k]; !ok {
			n.keys = append(n.keys, k)
		}
		n.values[k] = kv[1]
	}
	return n, nil
}

// get is dict.get: the setting, or default when there is none.
func (c *Config) get(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var key string
	var def starlark.Value = starlark.None
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &key, &def); err != nil {
		return nil, err
	}
	if v, ok := c.values[key]; ok {
		c.read(key)
		return v, nil
	}
	return def, nil
}

// pick returns the settings among names (a list, or a dict's keys) as a
// new dict, in the order of names, and counts them as read.
func (c *Config) pick(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var names starlark.Iterable
	if err := starlark.UnpackPositionalArgs("config.pick", args, kwargs, 1, &names); err != nil {
		return nil, err
	}
	out := starlark.NewDict(8)
	it := names.Iterate()
	defer it.Done()
	var x starlark.Value
	for it.Next(&x) {
		k, ok := starlark.AsString(x)
		if !ok {
			return nil, fmt.Errorf("config.pick: names must be strings, got %s", x.Type())
		}
		if v, ok := c.values[k]; ok {
			c.read(k)
			if err := out.SetKey(starlark.String(k), v); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// check fails when a setting the command line gave has not been read: it
// would have had no effect on the run.
func (c *Config) check(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs("config.check", args, kwargs, 0); err != nil {
		return nil, err
	}
	var unread []string
	for _, k := range c.keys {
		if c.set[k] && c.reads != nil && !c.reads[k] {
			unread = append(unread, c.origin[k])
		}
	}
	if len(unread) == 0 {
		return starlark.None, nil
	}
	return nil, &OverrideError{fmt.Sprintf("%s: nothing in this run reads %s, so %s no effect; remove %s (a DADA setting on a run without DADA, a model setting that this script's network does not take, ...)",
		strings.Join(unread, ", "), plural(len(unread), "that setting", "those settings"), plural(len(unread), "it would have", "they would have"), plural(len(unread), "it", "them"))}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// readKeys lists the settings read so far, in declaration order (a run's
// page shows only those).
func (c *Config) readKeys(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs("config.read_keys", args, kwargs, 0); err != nil {
		return nil, err
	}
	var out []starlark.Value
	for _, k := range c.keys {
		if c.reads != nil && c.reads[k] {
			out = append(out, starlark.String(k))
		}
	}
	return starlark.NewList(out), nil
}

// wasSet reports whether the command line gave the setting (--set key=...),
// so that a script can tell a user's choice from its own default even when
// the two are equal.
func (c *Config) wasSet(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var key string
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &key); err != nil {
		return nil, err
	}
	if _, ok := c.values[key]; !ok {
		return nil, fmt.Errorf("was_set: config has no setting %q", key)
	}
	return starlark.Bool(c.set[key]), nil
}

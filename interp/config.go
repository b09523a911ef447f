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
key that config() does not declare is an error, and a --set that no
config() call read is reported when the run ends. The result is frozen.`

// OverrideError is a bad --set: malformed, unknown key or wrong type.
type OverrideError struct{ Msg string }

func (e *OverrideError) Error() string { return e.Msg }

type override struct{ key, raw string }

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
		out = append(out, override{k, v})
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
	c := &Config{values: map[string]starlark.Value{}}
	for _, kv := range kwargs {
		k := string(kv[0].(starlark.String))
		c.keys = append(c.keys, k)
		c.values[k] = kv[1]
	}
	for _, o := range s.h.overrides {
		def, ok := c.values[o.key]
		if !ok {
			if s.used[o.key] {
				continue // an earlier config() call declared it
			}
			msg := fmt.Sprintf("--set %s=%s: config() has no setting %q", o.key, o.raw, o.key)
			if n := nearest(o.key, c.keys); n != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", n)
			}
			known := append([]string(nil), c.keys...)
			sort.Strings(known)
			return nil, &OverrideError{msg + "; known settings: " + strings.Join(known, ", ")}
		}
		v, err := convert(o.key, o.raw, def)
		if err != nil {
			return nil, err
		}
		c.values[o.key] = v
		if c.set == nil {
			c.set = map[string]bool{}
		}
		c.set[o.key] = true
		s.used[o.key] = true
	}
	for _, v := range c.values {
		v.Freeze()
	}
	return c, nil
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
	set    map[string]bool // keys the command line's --set gave
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
	}
	return nil, nil // the interpreter reports the missing field with a hint
}

func (c *Config) AttrNames() []string {
	names := append([]string{"get", "replace", "to_dict", "was_set"}, c.keys...)
	sort.Strings(names)
	return names
}

func (c *Config) Get(k starlark.Value) (starlark.Value, bool, error) {
	s, ok := k.(starlark.String)
	if !ok {
		return nil, false, fmt.Errorf("config keys are strings, got %s", k.Type())
	}
	v, found := c.values[string(s)]
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
	n := &Config{keys: append([]string{}, c.keys...), values: make(map[string]starlark.Value, len(c.values)+len(kwargs)), set: c.set}
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
		return v, nil
	}
	return def, nil
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

// Package option is the table behind the keyword options of dada.wrap and
// of the losses: one row per option (name, kind, default, rule, doc, when
// it is read) drives argument unpacking, validation with "did you mean",
// the attributes scripts read and assign, repr, the documentation and the
// dicts and lists scripts get from dada.defaults(), losses.defaults(name)
// and friends. It follows optim's hyperParam{name, kind, def}.
package option

import (
	"fmt"
	"math"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/dadash/dadash/lang"
)

// Kind is the type of an option's value.
type Kind int

const (
	Float  Kind = iota // a finite number; an int is accepted and stored as a float
	Int                // an int
	Bool               // True or False
	String             // a string, one of Choices when they are given
	Any                // any value, passed through (dtype=, device=)
)

func (k Kind) String() string {
	return [...]string{"float", "int", "bool", "string", "any"}[k]
}

// Use says when an option is read.
type Use int

const (
	// PerCall options are attributes read at every call: scripts may change
	// them between steps (criterion.d_dis_ratio = 0.1).
	PerCall Use = iota
	// Fixed options are attributes fixed when the object is made: they
	// shape its layers or parameters.
	Fixed
	// Construct options are used only while the object is made and are
	// not kept (proxy_init, dtype).
	Construct
)

func (u Use) String() string {
	return [...]string{"per_call", "fixed", "construct"}[u]
}

// Choice is one accepted value of a String option.
type Choice struct {
	Value, Doc string
}

// Spec is one option.
type Spec struct {
	Name    string
	Kind    Kind
	Default starlark.Value
	Use     Use
	Doc     string
	// Choices are the accepted values of a String option.
	Choices []Choice
	// Check is a rule beyond the kind: it returns "" when v (already
	// converted to the kind) is fine, else what is required, as in "must
	// be positive"; the value is appended to the message.
	Check func(v starlark.Value) string
}

// Positive is the rule of a number that must be > 0.
func Positive(v starlark.Value) string {
	if f, _ := starlark.AsFloat(v); f <= 0 {
		return "must be positive"
	}
	return ""
}

// AtLeastOne is the rule of a size.
func AtLeastOne(v starlark.Value) string {
	if i, err := starlark.AsInt32(v); err != nil || i < 1 {
		return "must be at least 1"
	}
	return ""
}

// Convert checks v against the spec and returns it in the kind's own type
// (an int given for a float option becomes a float). The error names the
// option and the value: "shift_scale must be in (-1, 1], got 2".
func (s *Spec) Convert(v starlark.Value) (starlark.Value, error) {
	var out starlark.Value
	switch s.Kind {
	case Float:
		f, ok := starlark.AsFloat(v)
		if _, isBool := v.(starlark.Bool); !ok || isBool || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("%s must be a finite number, got %s", s.Name, show(v))
		}
		out = starlark.Float(f)
	case Int:
		i, ok := v.(starlark.Int)
		if !ok {
			return nil, fmt.Errorf("%s must be an int, got %s", s.Name, show(v))
		}
		if _, ok := i.Int64(); !ok {
			return nil, fmt.Errorf("%s = %s does not fit in 64 bits", s.Name, i)
		}
		out = i
	case Bool:
		b, ok := v.(starlark.Bool)
		if !ok {
			return nil, fmt.Errorf("%s must be True or False, got %s", s.Name, show(v))
		}
		out = b
	case String:
		str, ok := v.(starlark.String)
		if !ok {
			return nil, fmt.Errorf("%s must be a string, got %s", s.Name, show(v))
		}
		if len(s.Choices) > 0 && !s.accepts(string(str)) {
			return nil, fmt.Errorf("%s must be %s, got %s", s.Name, s.ChoiceList(), str)
		}
		out = str
	default:
		out = v
	}
	if s.Check != nil {
		if rule := s.Check(out); rule != "" {
			return nil, fmt.Errorf("%s %s, got %s", s.Name, rule, show(out))
		}
	}
	return out, nil
}

func (s *Spec) accepts(v string) bool {
	for _, c := range s.Choices {
		if c.Value == v {
			return true
		}
	}
	return false
}

// ChoiceList is `"a" (doc) or "b" (doc)`.
func (s *Spec) ChoiceList() string {
	var b strings.Builder
	for i, c := range s.Choices {
		switch {
		case i > 0 && i == len(s.Choices)-1:
			b.WriteString(" or ")
		case i > 0:
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", c.Value)
		if c.Doc != "" {
			fmt.Fprintf(&b, " (%s)", c.Doc)
		}
	}
	return b.String()
}

// show prints a value for a message: strings quoted, other values as
// Starlark prints them, a value of an unexpected type with its type.
func show(v starlark.Value) string {
	switch v.(type) {
	case starlark.String, starlark.Int, starlark.Float, starlark.Bool, starlark.NoneType:
		return v.String()
	}
	return "a " + v.Type()
}

// Table is the options of one function, in its signature's order.
type Table []Spec

// Lookup finds an option by name.
func (t Table) Lookup(name string) (*Spec, bool) {
	for i := range t {
		if t[i].Name == name {
			return &t[i], true
		}
	}
	return nil, false
}

// Names lists the options in order.
func (t Table) Names() []string {
	out := make([]string, len(t))
	for i, s := range t {
		out[i] = s.Name
	}
	return out
}

// Nearest is the candidate closest to name by edit distance, or "" when
// none is close enough to be a plausible typo.
func Nearest(name string, candidates []string) string {
	best, bestD := "", -1
	for _, c := range candidates {
		d := lang.EditDistance(strings.ToLower(name), strings.ToLower(c))
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	if bestD < 0 || bestD > max(2, len(name)/3) || bestD >= len(name) {
		return ""
	}
	return best
}

// Unknown is the error for a keyword no parameter has: `fn: unknown option
// "x" (did you mean "y"?); the options are a, b, c`, the suggestion taken
// from candidates, the list from listed.
func Unknown(fn, name string, candidates, listed []string) error {
	msg := fmt.Sprintf("%s: unknown option %q", fn, name)
	if n := Nearest(name, candidates); n != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", n)
	}
	return fmt.Errorf("%s; the options are %s", msg, strings.Join(listed, ", "))
}

// Bind unpacks a call: the leading required parameters (positional or by
// keyword), then the table's options (positional in the table's order, or
// by keyword; the rest get their defaults). Every option is converted and
// checked; an unknown keyword is an error with a "did you mean".
func (t Table) Bind(fn string, args starlark.Tuple, kwargs []starlark.Tuple, required ...string) ([]starlark.Value, map[string]starlark.Value, error) {
	req := make([]starlark.Value, len(required))
	given := map[string]starlark.Value{}
	if len(args) > len(required)+len(t) {
		return nil, nil, fmt.Errorf("%s: got %d positional arguments, want at most %d", fn, len(args), len(required)+len(t))
	}
	for i, a := range args {
		if i < len(required) {
			req[i] = a
		} else {
			given[t[i-len(required)].Name] = a
		}
	}
	known := append(append([]string{}, required...), t.Names()...)
	for _, kv := range kwargs {
		name := string(kv[0].(starlark.String))
		if i := indexOf(required, name); i >= 0 {
			if req[i] != nil {
				return nil, nil, fmt.Errorf("%s: got multiple values for %s", fn, name)
			}
			req[i] = kv[1]
			continue
		}
		if _, ok := t.Lookup(name); !ok {
			return nil, nil, Unknown(fn, name, known, t.Names())
		}
		if _, dup := given[name]; dup {
			return nil, nil, fmt.Errorf("%s: got multiple values for %s", fn, name)
		}
		given[name] = kv[1]
	}
	for i, r := range req {
		if r == nil {
			return nil, nil, fmt.Errorf("%s: missing argument for %s", fn, required[i])
		}
	}
	vals := make(map[string]starlark.Value, len(t))
	for i := range t {
		s := &t[i]
		v, ok := given[s.Name]
		if !ok {
			vals[s.Name] = s.Default
			continue
		}
		cv, err := s.Convert(v)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", fn, err)
		}
		vals[s.Name] = cv
	}
	return req, vals, nil
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// Width is the width help texts are filled to.
const Width = 100

// Describe is the options section of a help text: one entry per option,
// its kind, default, doc, choices and when it is read.
func (t Table) Describe(indent string) string {
	var lines []string
	for _, s := range t {
		var b strings.Builder
		fmt.Fprintf(&b, "%s (%s, default %s", s.Name, s.Kind, s.Default)
		switch s.Use {
		case Fixed:
			b.WriteString(", fixed when made")
		case Construct:
			b.WriteString(", used when made")
		}
		fmt.Fprintf(&b, "): %s", s.Doc)
		if len(s.Choices) > 0 {
			fmt.Fprintf(&b, "; %s", s.ChoiceList())
		}
		lines = append(lines, Fill(b.String(), indent, indent+"    ", Width))
	}
	return strings.Join(lines, "\n")
}

// Fill breaks text at spaces into lines of at most width characters (a
// longer word stands alone), the first prefixed by first, the rest by rest.
func Fill(text, first, rest string, width int) string {
	var b strings.Builder
	line := first
	empty := true
	for _, w := range strings.Fields(text) {
		if !empty && len(line)+1+len(w) > width {
			b.WriteString(line + "\n")
			line, empty = rest, true
		}
		if !empty {
			line += " "
		}
		line += w
		empty = false
	}
	b.WriteString(line)
	return b.String()
}

// Signature is head followed by items separated by commas and a closing
// parenthesis, broken after commas so no line passes width, continuing
// under the opening parenthesis: "f(a, b=1,\n  c=2)".
func Signature(head string, items []string, width int) string {
	var b strings.Builder
	indent := strings.Repeat(" ", len(head))
	line := head
	for i, it := range items {
		sep := ", "
		if i == len(items)-1 {
			sep = ")"
		}
		if len(line)+len(it)+len(strings.TrimSpace(sep)) > width && line != head && line != indent {
			b.WriteString(strings.TrimRight(line, " ") + "\n")
			line = indent
		}
		line += it + sep
	}
	b.WriteString(line)
	return b.String()
}

// Items are the "name=default" of the table, for Signature.
func (t Table) Items() []string {
	out := make([]string, len(t))
	for i, s := range t {
		out[i] = s.Name + "=" + s.Default.String()
	}
	return out
}

// Defaults is the dict name -> default, in the table's order.
func (t Table) Defaults() *starlark.Dict {
	d := starlark.NewDict(len(t))
	for _, s := range t {
		d.SetKey(starlark.String(s.Name), s.Default)
	}
	return d
}

// DefaultValues is the map name -> default.
func (t Table) DefaultValues() map[string]starlark.Value {
	out := make(map[string]starlark.Value, len(t))
	for _, s := range t {
		out[s.Name] = s.Default
	}
	return out
}

// List is the table for scripts: a list of structs with the fields name,
// type, default, doc, use ("per_call", "fixed" or "construct"), fixed
// (use != "per_call") and choices (a list of strings, empty when any value
// of the type is accepted).
func (t Table) List() *starlark.List {
	out := make([]starlark.Value, len(t))
	for i, s := range t {
		choices := make([]starlark.Value, len(s.Choices))
		for j, c := range s.Choices {
			choices[j] = starlark.String(c.Value)
		}
		out[i] = starlarkstruct.FromStringDict(starlark.String("option"), starlark.StringDict{
			"name":    starlark.String(s.Name),
			"type":    starlark.String(s.Kind.String()),
			"default": s.Default,
			"doc":     starlark.String(s.Doc),
			"use":     starlark.String(s.Use.String()),
			"fixed":   starlark.Bool(s.Use != PerCall),
			"choices": starlark.NewList(choices),
		})
	}
	return starlark.NewList(out)
}

// Repr is "a=1, b=\"x\"" of the attributes the object holds (Construct
// options are not held), read by get.
func (t Table) Repr(get func(name string) starlark.Value) string {
	var parts []string
	for _, s := range t {
		if s.Use == Construct {
			continue
		}
		if v := get(s.Name); v != nil {
			parts = append(parts, s.Name+"="+v.String())
		}
	}
	return strings.Join(parts, ", ")
}

// Assign checks a script's assignment obj.name = v, where obj is of type
// typeName, holds the table's PerCall and Fixed options as attributes and
// members (its attributes, parameters and children) besides them. It
// returns the value to store: v converted to the option's kind. A Fixed
// option may only be assigned its current value (remake says how to get
// another); a Construct option is refused, and so is a new name that is a
// near miss of an option's (criterion.dis_gama = 2 would otherwise do
// nothing, silently). made says when the object was made ("at
// dada.wrap"); remake how to get another value, NAME standing for the
// option.
func (t Table) Assign(typeName, name string, old, v starlark.Value, isMember func(string) bool, made, remake string) (starlark.Value, error) {
	s, ok := t.Lookup(name)
	if !ok {
		if isMember(name) {
			return v, nil
		}
		var held []string
		for _, s := range t {
			if s.Use != Construct {
				held = append(held, s.Name)
			}
		}
		if n := Nearest(name, held); n != "" && lang.EditDistance(name, n) <= 2 {
			return nil, fmt.Errorf("%s has no option %s (did you mean %s?); its options are %s", typeName, name, n, strings.Join(held, ", "))
		}
		return v, nil
	}
	cv, err := s.Convert(v)
	if err != nil {
		return nil, fmt.Errorf("%s.%w", typeName, err)
	}
	switch s.Use {
	case Fixed:
		if old != nil {
			if eq, err := starlark.Equal(old, cv); err != nil || !eq {
				return nil, fmt.Errorf("%s.%s was %s %s and cannot change (it shapes the parameters); %s", typeName, name, old, made, strings.ReplaceAll(remake, "NAME", name))
			}
		}
	case Construct:
		return nil, fmt.Errorf("%s.%s is used only when the object is made; %s", typeName, name, strings.ReplaceAll(remake, "NAME", name))
	}
	return cv, nil
}

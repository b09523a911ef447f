package interp

import (
	"fmt"
	"sort"
	"strings"

	"github.com/dadash/dadash/lang"
	"go.starlark.net/starlark"
)

const guide = `dadash runs Starlark (a small Python dialect) with deep-metric-learning modules.

  help(x)        documentation of a module, function, method or value
  help("name")   documentation by name, e.g. help("torch.zeros")
  dir(x)         attribute names of x; dir() lists the global names
  config(...)    script settings with --set key=value overrides (help(config))
  args           the script's command-line arguments, a list of strings
  load("@stdlib/util.star", "mean")   use Starlark code from a library or file

Modules (no load needed): %s
%s
In the REPL: Tab completes names and attributes, _ is the last result,
Ctrl-C cancels a running statement, Ctrl-D exits.`

// builtinDocs documents the host's and Starlark's own builtins.
var builtinDocs = map[string]string{
	"config":    configDoc,
	"help":      "help(x) prints the documentation of x; help() prints a short guide.",
	"dir":       "dir(x) returns the sorted attribute names of x; dir() returns the global names.",
	"slice":     "slice(stop) or slice(start, stop, step=None) is one part of a multi-dimensional subscript: t[:, 1:3] is t[slice(None, None), slice(1, 3)].",
	"struct":    "struct(**kwargs) returns an immutable value with the given fields: struct(a = 1).a == 1.",
	"print":     "print(*args, sep=\" \") writes its arguments to standard output.",
	"fail":      "fail(*args) stops the script with an error message made of args.",
	"abs":       "abs(x) returns the absolute value of a number.",
	"all":       "all(xs) reports whether every element of xs is true.",
	"any":       "any(xs) reports whether some element of xs is true.",
	"bool":      "bool(x) is the truth value of x.",
	"dict":      "dict(pairs_or_mapping, **kwargs) makes a dictionary.",
	"enumerate": "enumerate(xs, start=0) returns a list of (index, element) pairs.",
	"float":     "float(x) converts a number or string to a float.",
	"getattr":   "getattr(x, name, default?) returns the attribute name of x.",
	"hasattr":   "hasattr(x, name) reports whether x has an attribute name.",
	"int":       "int(x, base?) converts a number or string to an int.",
	"len":       "len(x) is the number of elements of x.",
	"list":      "list(xs) makes a list of the elements of xs.",
	"max":       "max(xs, key=None) or max(a, b, ...) returns the largest element.",
	"min":       "min(xs, key=None) or min(a, b, ...) returns the smallest element.",
	"range":     "range(stop) or range(start, stop, step=1) is a sequence of ints.",
	"repr":      "repr(x) is the string form of x with strings quoted.",
	"reversed":  "reversed(xs) returns a list of the elements of xs in reverse order.",
	"sorted":    "sorted(xs, key=None, reverse=False) returns a sorted list.",
	"str":       "str(x) converts x to a string.",
	"tuple":     "tuple(xs) makes a tuple of the elements of xs.",
	"type":      "type(x) is the name of the type of x, a string.",
	"zip":       "zip(*xs) returns a list of tuples of corresponding elements.",
	"json":      "json: encode(x), decode(text) and indent(text) convert between values and JSON text.",
	"math":      "math: floating-point functions and constants (sqrt, log, exp, floor, pi, inf, ...).",
	"time":      "time: now(), time(...), parse_time(...), parse_duration(...) and durations.",
}

func (s *session) help(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0, &x); err != nil {
		return nil, err
	}
	var text string
	if x == nil {
		mods, fns := moduleNames(s.h.modules)
		more := ""
		if len(fns) > 0 {
			more = "Functions: " + strings.Join(fns, ", ") + "\n"
		}
		text = fmt.Sprintf(guide, strings.Join(mods, ", "), more)
	} else {
		text = helpText(x)
	}
	fmt.Fprintln(lang.Stdout(thread), strings.TrimRight(text, "\n"))
	return starlark.None, nil
}

// helpText is the documentation help(v) prints.
func helpText(v starlark.Value) string {
	switch v := v.(type) {
	case *starlark.Function:
		return functionHelp(v) // before Documented: Doc() is only its docstring
	case *lang.Namespace:
		return moduleHelp(v)
	}
	if d, ok := v.(lang.Documented); ok {
		return d.Doc()
	}
	switch v := v.(type) {
	case starlark.String:
		// help("torch.zeros") looks the name up; other strings are values.
		if d, ok := lang.DocOf(string(v)); ok {
			return d
		}
		if d, ok := builtinDocs[string(v)]; ok {
			return d
		}
	case *starlark.Builtin:
		return builtinHelp(v)
	case *Config:
		return v.String() + "\n\n" + configDoc
	}
	text := fmt.Sprintf("%s value: %s", v.Type(), v)
	if d, ok := lang.DocOf(v.Type()); ok {
		text += "\n\n" + d
	}
	if names := attrNames(v); len(names) > 0 {
		text += "\n\nattributes: " + strings.Join(names, ", ")
	}
	return text
}

func builtinHelp(b *starlark.Builtin) string {
	name := b.Name()
	if recv := b.Receiver(); recv != nil {
		qualified := recv.Type() + "." + name[strings.LastIndexByte(name, '.')+1:]
		if d, ok := lang.DocOf(qualified); ok {
			return d
		}
		return qualified + ": a method of " + recv.Type() + " (no documentation)"
	}
	if d, ok := lang.DocOf(name); ok {
		return d
	}
	if d, ok := builtinDocs[name]; ok {
		return d
	}
	return name + ": a builtin function (no documentation)"
}

func moduleHelp(m *lang.Namespace) string {
	var b strings.Builder
	if d := m.Doc(); d != "" {
		b.WriteString(strings.TrimRight(d, "\n"))
	} else if d, ok := builtinDocs[m.Name()]; ok {
		b.WriteString(d)
	} else {
		fmt.Fprintf(&b, "module %s", m.Name())
	}
	names := m.MemberNames()
	width := 0
	for _, k := range names {
		width = max(width, len(k))
	}
	if len(names) > 0 {
		b.WriteString("\n\nmembers:\n")
	}
	for _, k := range names {
		v, _ := m.Attr(k)
		fmt.Fprintf(&b, "  %-*s  %s\n", width, k, summary(m.Name(), k, v))
	}
	if m.HasFallback() {
		if n := len(m.AttrNames()) - len(names); n > 0 {
			fmt.Fprintf(&b, "\nand %d libtorch operators: dir(%s) lists them, help(%s.name) shows one's signatures.\n", n, m.Name(), m.Name())
		} else {
			fmt.Fprintf(&b, "\nOther names are libtorch operators: %s.name(...) calls aten::name; help(%s.name) shows its signatures.\n", m.Name(), m.Name())
		}
	}
	return b.String()
}

// summary is the first line of a module member's documentation.
func summary(module, name string, v starlark.Value) string {
	doc, ok := lang.DocOf(module + "." + name)
	switch v := v.(type) {
	case *starlark.Builtin:
		if d, found := lang.DocOf(v.Name()); found {
			doc, ok = d, true
		}
	case lang.Documented:
		doc, ok = v.Doc(), true
	}
	if !ok || doc == "" {
		return v.Type()
	}
	return lang.Summary(doc)
}

func functionHelp(fn *starlark.Function) string {
	// Parameters are ordered: positional, keyword-only, *args, **kwargs.
	n := fn.NumParams()
	regular := n - boolInt(fn.HasVarargs()) - boolInt(fn.HasKwargs())
	positional := regular - fn.NumKwonlyParams()
	param := func(i int) string {
		name, _ := fn.Param(i)
		if d := fn.ParamDefault(i); d != nil {
			name += " = " + d.String()
		}
		return name
	}
	var params []string
	for i := 0; i < positional; i++ {
		params = append(params, param(i))
	}
	if fn.HasVarargs() {
		name, _ := fn.Param(regular)
		params = append(params, "*"+name)
	} else if positional < regular {
		params = append(params, "*")
	}
	for i := positional; i < regular; i++ {
		params = append(params, param(i))
	}
	if fn.HasKwargs() {
		name, _ := fn.Param(n - 1)
		params = append(params, "**"+name)
	}
	text := fmt.Sprintf("%s(%s)  (defined at %s)", fn.Name(), strings.Join(params, ", "), fn.Position())
	if doc := fn.Doc(); doc != "" {
		text += "\n\n" + doc
	}
	return text
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (s *session) dir(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0, &x); err != nil {
		return nil, err
	}
	var names []string
	if x == nil {
		names = s.globalNames(thread)
	} else {
		names = attrNames(x)
	}
	elems := make([]starlark.Value, len(names))
	for i, n := range names {
		elems[i] = starlark.String(n)
	}
	return starlark.NewList(elems), nil
}

// globalNames lists the globals visible where dir() was called.
func (s *session) globalNames(thread *starlark.Thread) []string {
	if s.globals != nil {
		return visibleNames(s.globals)
	}
	all := starlark.StringDict{}
	for k, v := range s.predeclared {
		all[k] = v
	}
	if thread.CallStackDepth() > 1 {
		if fn, ok := thread.DebugFrame(1).Callable().(*starlark.Function); ok {
			for k, v := range fn.Globals() {
				all[k] = v
			}
		}
	}
	return visibleNames(all)
}

// attrNames lists v's attributes, sorted.
func attrNames(v starlark.Value) []string {
	h, ok := v.(starlark.HasAttrs)
	if !ok {
		return nil
	}
	names := append([]string(nil), h.AttrNames()...)
	sort.Strings(names)
	return names
}

// moduleNames lists the loadable modules and, apart, the registered
// functions (show, neighbors).
func moduleNames(d starlark.StringDict) (modules, functions []string) {
	for _, k := range visibleNames(d) {
		if _, ok := d[k].(*lang.Namespace); ok {
			modules = append(modules, k)
		} else {
			functions = append(functions, k)
		}
	}
	return modules, functions
}

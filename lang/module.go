package lang

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

// Namespace is the one module type of dadash scripts (torch, nn, os, math,
// ...): named members plus, optionally, a Fallback that supplies the
// attributes it does not list (torch resolves libtorch operators so). Its
// builtins never crash the process: a member made without Func is guarded
// (see Guard) when it is first read, so a Go panic inside it becomes an
// error at the script position that called it.
type Namespace struct {
	name     string
	doc      string
	members  starlark.StringDict
	fallback Fallback
}

// A Fallback supplies the attributes of a Namespace that are not among its
// members. Lookup returns nil, nil when there is no such attribute; Names
// lists the ones dir() and Tab completion show (it may be computed on the
// first call, and may be a subset of what Lookup accepts).
type Fallback interface {
	Lookup(name string) (starlark.Value, error)
	Names() []string
}

var (
	_ starlark.HasAttrs = (*Namespace)(nil)
	_ Documented        = (*Namespace)(nil)
)

// NewNamespace makes a module value. members stays the namespace's own map
// (see Members); fallback may be nil.
func NewNamespace(name, doc string, members starlark.StringDict, fallback Fallback) *Namespace {
	if members == nil {
		members = starlark.StringDict{}
	}
	return &Namespace{name: name, doc: doc, members: members, fallback: fallback}
}

// FromStruct converts a starlarkstruct.Module (Starlark's own json and
// time, and modules written that way) into a Namespace, its member modules
// too, so that every module behaves alike.
func FromStruct(m *starlarkstruct.Module, doc string) *Namespace {
	members := make(starlark.StringDict, len(m.Members))
	for k, v := range m.Members {
		if sub, ok := v.(*starlarkstruct.Module); ok {
			d, _ := DocOf(sub.Name)
			v = FromStruct(sub, d)
		}
		members[k] = v
	}
	return NewNamespace(m.Name, doc, members, nil)
}

func (m *Namespace) String() string        { return fmt.Sprintf("<module %s>", m.name) }
func (m *Namespace) Type() string          { return "module" }
func (m *Namespace) Freeze()               {} // scripts cannot assign to a module's attributes
func (m *Namespace) Truth() starlark.Bool  { return true }
func (m *Namespace) Hash() (uint32, error) { return starlark.String(m.name).Hash() }

// Name is the module's qualified name ("torch.linalg").
func (m *Namespace) Name() string { return m.name }

// Doc is the module's documentation (its registered one when none was given).
func (m *Namespace) Doc() string {
	if m.doc == "" {
		d, _ := DocOf(m.name)
		return d
	}
	return m.doc
}

// Members is the module's own map of explicit members. Builtin packages
// may add to it from their init (nn adds torch.nn); scripts cannot.
func (m *Namespace) Members() starlark.StringDict { return m.members }

// HasFallback reports whether the module resolves names beyond its members.
func (m *Namespace) HasFallback() bool { return m.fallback != nil }

// Attr returns a member (guarded), else what the fallback supplies.
func (m *Namespace) Attr(name string) (starlark.Value, error) {
	if name == "__load__" { // x.load, as the interpreter spells it (load is a Starlark keyword)
		name = "load"
	}
	if v, ok := m.members[name]; ok {
		return safeValue(v), nil
	}
	if m.fallback == nil || name == "" {
		return nil, nil
	}
	v, err := m.fallback.Lookup(name)
	if v == nil || err != nil {
		return v, err
	}
	return safeValue(v), nil
}

// AttrNames lists the members and the fallback's names, sorted.
func (m *Namespace) AttrNames() []string {
	names := make([]string, 0, len(m.members))
	for n := range m.members {
		names = append(names, n)
	}
	if m.fallback != nil {
		names = append(names, m.fallback.Names()...)
	}
	sort.Strings(names)
	out := names[:0]
	for i, n := range names {
		if i == 0 || n != names[i-1] {
			out = append(out, n)
		}
	}
	return out
}

// MemberNames lists the explicit members only, sorted (help(module) lists
// these; the fallback's names may run to thousands).
func (m *Namespace) MemberNames() []string {
	names := make([]string, 0, len(m.members))
	for n := range m.members {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// safeCache maps values that needed converting (unguarded builtins,
// starlarkstruct modules) to their converted form, so that reading the same
// member twice gives the same value.
var safeCache sync.Map

// safeValue is v as a Namespace hands it out: builtins guarded, and
// starlarkstruct modules as Namespaces.
func safeValue(v starlark.Value) starlark.Value {
	switch x := v.(type) {
	case *starlark.Builtin:
		return Guard(x)
	case *starlarkstruct.Module:
		if c, ok := safeCache.Load(x); ok {
			return c.(starlark.Value)
		}
		d, _ := DocOf(x.Name)
		c, _ := safeCache.LoadOrStore(x, FromStruct(x, d))
		return c.(starlark.Value)
	}
	return v
}

// Summary is the first line of a documentation text.
func Summary(doc string) string {
	first, _, _ := strings.Cut(strings.TrimSpace(doc), "\n")
	return first
}

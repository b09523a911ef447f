package interp

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"testing"

	"github.com/dadash/dadash/lang"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

func TestCompletion(t *testing.T) {
	h, err := New(Options{Stdout: io.Discard, Stderr: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	s := h.newSession(nil, io.Discard)
	calls := 0
	s.globals = starlark.StringDict{
		"tensor_a": starlark.String("abc"),
		"tensor_b": starlark.MakeInt(1),
		"mod": &starlarkstruct.Module{Name: "mod", Members: starlark.StringDict{
			"zeros": starlark.None, "zeros_like": starlark.None, "ones": starlark.None,
		}},
		"call_me": starlark.NewBuiltin("call_me", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			calls++
			return starlark.String("x"), nil
		}),
		"operator <": starlark.None,
		"ns":         lang.NewNamespace("ns", "", starlark.StringDict{"loader": starlark.None}, listed{"log2", "logical_and", "lerp"}),
	}
	for _, tc := range []struct {
		line string
		want []string // completed suffixes
		n    int      // length of the completed prefix
	}{
		{"x = tens", []string{"or_a", "or_b"}, 4},
		{"mod.ze", []string{"ros", "ros_like"}, 2},
		{"print(mod.o", []string{"nes"}, 1},
		{"tensor_a.up", []string{"per"}, 2},
		{"call_me().up", nil, 0}, // never call anything
		{"call_me.x", nil, 0},
		{"nope.x", nil, 0},
		{"oper", []string{}, 4}, // hidden names are not offered
		{"len", []string{""}, 3},
		{"", []string{"    "}, 0},
		{"  ", []string{"    "}, 0},
		{"1.5", nil, 0},
		{"ns.lo", []string{"ader", "g2", "gical_and"}, 2}, // a fallback's names too
	} {
		got, n := completer{s}.Do([]rune(tc.line), len([]rune(tc.line)))
		var gs []string
		for _, g := range got {
			gs = append(gs, string(g))
		}
		sort.Strings(gs)
		if strings.Join(gs, "|") != strings.Join(tc.want, "|") || (len(gs) > 0 && n != tc.n) {
			t.Errorf("%q: got %q (%d), want %q (%d)", tc.line, gs, n, tc.want, tc.n)
		}
	}
	if calls != 0 {
		t.Errorf("completion called a function %d times", calls)
	}
}

// listed is a lang.Fallback that resolves and lists fixed names.
type listed []string

func (l listed) Lookup(name string) (starlark.Value, error) {
	for _, n := range l {
		if n == name {
			return starlark.String(n), nil
		}
	}
	return nil, nil
}
func (l listed) Names() []string { return l }

// script is a lineReader over fixed lines.
type script []string

func (s *script) ReadLine(string) (string, error) {
	if len(*s) == 0 {
		return "", io.EOF
	}
	line := (*s)[0]
	*s = (*s)[1:]
	return line, nil
}
func (s *script) Close() error { return nil }

func TestChunker(t *testing.T) {
	in := script{
		"x = 1",
		"",
		"# a comment",
		"if x:",
		"    y = 1",
		"elif x > 2:",
		"    y = 2",
		"else:",
		"    y = 3",
		"elsewhere = 4",
		"d = {",
		"",
		"  'k': 1}",
		"def f():",
		"    return 1",
		"",
		"for i in []:",
	}
	c := &chunker{r: &in}
	var got []string
	for {
		f, err := c.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			got = append(got, "error: "+err.Error())
			continue
		}
		var kinds []string
		for _, st := range f.Stmts {
			kinds = append(kinds, strings.TrimPrefix(fmt.Sprintf("%T", st), "*syntax."))
		}
		got = append(got, strings.Join(kinds, ","))
	}
	want := []string{"AssignStmt", "", "IfStmt", "AssignStmt", "AssignStmt", "DefStmt", "error: <stdin>:2:1: got end of file, want indent"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

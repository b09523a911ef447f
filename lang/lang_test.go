package lang

import (
	"errors"
	"strings"
	"testing"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

func TestNamesFunc(t *testing.T) {
	for _, tc := range []struct {
		msg, name string
		want      bool
	}{
		{"torch.zeros: size must be ints", "torch.zeros", true},
		{"zeros: bad", "torch.zeros", true},
		{"Tensor.sum: bad", "sum", true},
		{"Linear(in_features=3): linear: bad", "Linear", true},
		{"size mismatch for w: bad", "nn.Module.load_state_dict", false},
		{"the widget is broken", "nsmod.fails", false},
		{"mean: empty", "util.mean", true},
	} {
		if got := NamesFunc(tc.msg, tc.name); got != tc.want {
			t.Errorf("NamesFunc(%q, %q) = %v", tc.msg, tc.name, got)
		}
	}
}

func TestSafe(t *testing.T) {
	b := Func("m.f", "", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		return nil, errors.New("no good")
	})
	_, err := starlark.Call(&starlark.Thread{}, b, nil, nil)
	var fe *FuncError
	if !errors.As(err, &fe) || !strings.HasSuffix(err.Error(), "m.f: no good") {
		t.Errorf("error: %v", err)
	}
	// Interruptions keep their identity; a name is added only once.
	b = Func("m.g", "", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		return nil, ErrInterrupted
	})
	if _, err := starlark.Call(&starlark.Thread{}, b, nil, nil); !errors.Is(err, ErrInterrupted) {
		t.Errorf("interrupt: %v", err)
	}
	raw := starlark.NewBuiltin("m.h", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		panic("oops")
	})
	g := Guard(raw)
	if Guard(raw) != g || Guard(g) != g || !IsSafe(g) || IsSafe(raw) {
		t.Error("Guard is not idempotent")
	}
	_, err = starlark.Call(&starlark.Thread{}, g, nil, nil)
	var pe *PanicError
	if !errors.As(err, &pe) || pe.Func != "m.h" || !strings.Contains(err.Error(), "m.h: internal error: oops") {
		t.Errorf("panic: %v", err)
	}
}

func TestNamespace(t *testing.T) {
	raw := starlark.NewBuiltin("ns.raw", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		panic("raw")
	})
	sub := &starlarkstruct.Module{Name: "ns.sub", Members: starlark.StringDict{"x": starlark.MakeInt(1)}}
	ns := NewNamespace("ns", "ns: a test module.", starlark.StringDict{"raw": raw, "sub": sub}, nil)
	v, _ := ns.Attr("raw")
	if b, ok := v.(*starlark.Builtin); !ok || !IsSafe(b) {
		t.Errorf("member not guarded: %v", v)
	}
	s1, _ := ns.Attr("sub")
	s2, _ := ns.Attr("sub")
	if _, ok := s1.(*Namespace); !ok || s1 != s2 {
		t.Errorf("struct member: %T %v", s1, s1 == s2)
	}
	if got := strings.Join(ns.AttrNames(), ","); got != "raw,sub" {
		t.Errorf("AttrNames: %s", got)
	}
	if v, _ := ns.Attr("nope"); v != nil {
		t.Errorf("nope: %v", v)
	}
	if ns.Type() != "module" || ns.String() != "<module ns>" || ns.Doc() != "ns: a test module." {
		t.Errorf("%s %s %s", ns.Type(), ns, ns.Doc())
	}
}

func TestSize(t *testing.T) {
	if s := Size([]int64{2, 3}); s != "torch.Size([2, 3])" {
		t.Error(s)
	}
	if s := Size([]int{7}); s != "torch.Size([7])" {
		t.Error(s)
	}
}

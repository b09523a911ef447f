package option

import (
	"strings"
	"testing"

	"go.starlark.net/starlark"
)

var table = Table{
	{Name: "rate", Kind: Float, Default: starlark.Float(0.5), Doc: "a rate", Check: Positive},
	{Name: "width", Kind: Int, Default: starlark.MakeInt(8), Use: Fixed, Doc: "a width", Check: AtLeastOne},
	{Name: "on", Kind: Bool, Default: starlark.True, Doc: "a switch"},
	{Name: "mode", Kind: String, Default: starlark.String("a"), Doc: "a mode",
		Choices: []Choice{{Value: "a", Doc: "first"}, {Value: "b"}, {Value: "c", Doc: "third"}}},
	{Name: "init", Kind: String, Default: starlark.String("x"), Use: Construct, Doc: "made once"},
}

func TestConvert(t *testing.T) {
	for _, c := range []struct {
		name string
		v    starlark.Value
		want string // the converted value, or the error
	}{
		{"rate", starlark.MakeInt(2), "2.0"},
		{"rate", starlark.Float(0.25), "0.25"},
		{"rate", starlark.True, "rate must be a finite number, got True"},
		{"rate", starlark.String("x"), `rate must be a finite number, got "x"`},
		{"rate", starlark.Float(0), "rate must be positive, got 0.0"},
		{"rate", starlark.NewList(nil), "rate must be a finite number, got a list"},
		{"width", starlark.MakeInt(3), "3"},
		{"width", starlark.Float(3), "width must be an int, got 3.0"},
		{"width", starlark.MakeInt(0), "width must be at least 1, got 0"},
		{"on", starlark.MakeInt(1), "on must be True or False, got 1"},
		{"mode", starlark.String("b"), `"b"`},
		{"mode", starlark.String("d"), `mode must be "a" (first), "b" or "c" (third), got "d"`},
	} {
		s, _ := table.Lookup(c.name)
		v, err := s.Convert(c.v)
		got := ""
		if err != nil {
			got = err.Error()
		} else {
			got = v.String()
		}
		if got != c.want {
			t.Errorf("%s = %s: got %s, want %s", c.name, c.v, got, c.want)
		}
	}
}

func TestBind(t *testing.T) {
	kw := func(k string, v starlark.Value) starlark.Tuple { return starlark.Tuple{starlark.String(k), v} }
	req, vals, err := table.Bind("f", starlark.Tuple{starlark.String("obj"), starlark.MakeInt(1)},
		[]starlark.Tuple{kw("mode", starlark.String("c"))}, "x")
	if err != nil {
		t.Fatal(err)
	}
	if req[0].String() != `"obj"` || vals["rate"].String() != "1.0" || vals["mode"].String() != `"c"` || vals["width"].String() != "8" {
		t.Errorf("got %v %v", req, vals)
	}
	for _, c := range []struct {
		args   starlark.Tuple
		kwargs []starlark.Tuple
		want   string
	}{
		{nil, []starlark.Tuple{kw("x", starlark.None), kw("widht", starlark.MakeInt(2))},
			`f: unknown option "widht" (did you mean "width"?); the options are rate, width, on, mode, init`},
		{nil, []starlark.Tuple{kw("x", starlark.None), kw("zebra", starlark.MakeInt(2))},
			`f: unknown option "zebra"; the options are rate, width, on, mode, init`},
		{starlark.Tuple{starlark.None}, []starlark.Tuple{kw("x", starlark.None)}, "f: got multiple values for x"},
		{nil, nil, "f: missing argument for x"},
		{starlark.Tuple{starlark.None, starlark.Float(-1)}, nil, "f: rate must be positive, got -1.0"},
		{make(starlark.Tuple, 7), nil, "f: got 7 positional arguments, want at most 6"},
	} {
		_, _, err := table.Bind("f", c.args, c.kwargs, "x")
		if err == nil || err.Error() != c.want {
			t.Errorf("got %v, want %s", err, c.want)
		}
	}
}

func TestAssign(t *testing.T) {
	member := func(n string) bool { return n == "weight" }
	for _, c := range []struct {
		name string
		old  starlark.Value
		v    starlark.Value
		want string
	}{
		{"rate", starlark.Float(0.5), starlark.MakeInt(3), "3.0"},
		{"rate", starlark.Float(0.5), starlark.MakeInt(-3), "T.rate must be positive, got -3.0"},
		{"width", starlark.MakeInt(8), starlark.MakeInt(8), "8"},
		{"width", starlark.MakeInt(8), starlark.MakeInt(9), "T.width was 8 when made and cannot change (it shapes the parameters); remake with width"},
		{"init", nil, starlark.String("y"), "T.init is used only when the object is made; remake with init"},
		{"rates", nil, starlark.MakeInt(1), "T has no option rates (did you mean rate?); its options are rate, width, on, mode"},
		{"weight", nil, starlark.MakeInt(1), "1"},
		{"comment", nil, starlark.String("c"), `"c"`},
	} {
		v, err := table.Assign("T", c.name, c.old, c.v, member, "when made", "remake with NAME")
		got := ""
		if err != nil {
			got = err.Error()
		} else {
			got = v.String()
		}
		if got != c.want {
			t.Errorf("T.%s = %s: got %s, want %s", c.name, c.v, got, c.want)
		}
	}
}

func TestText(t *testing.T) {
	sig := Signature("f(", []string{"aaaa", "bbbb", "cccc"}, 13)
	if sig != "f(aaaa, bbbb,\n  cccc)" {
		t.Errorf("Signature: %q", sig)
	}
	if got := Fill("one two three four", "> ", "  ", 10); got != "> one two\n  three\n  four" {
		t.Errorf("Fill: %q", got)
	}
	d := table.Describe("  ")
	for _, want := range []string{"  rate (float, default 0.5): a rate", "  width (int, default 8, fixed when made): a width",
		`mode (string, default "a"): a mode; "a" (first), "b" or "c" (third)`, "init (string, default \"x\", used when made)"} {
		if !strings.Contains(d, want) {
			t.Errorf("Describe lacks %q:\n%s", want, d)
		}
	}
	vals := table.DefaultValues()
	if got := table.Repr(func(n string) starlark.Value { return vals[n] }); got != `rate=0.5, width=8, on=True, mode="a"` {
		t.Errorf("Repr: %s", got)
	}
	if n := Nearest("recal", []string{"recall", "precision"}); n != "recall" {
		t.Errorf("Nearest: %q", n)
	}
	if n := Nearest("xyz", []string{"recall", "precision"}); n != "" {
		t.Errorf("Nearest of a far name: %q", n)
	}
}

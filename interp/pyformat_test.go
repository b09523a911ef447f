package interp

import (
	"testing"

	"go.starlark.net/starlark"
)

// Expected strings are what CPython 3.11 prints.
func TestPercentFormat(t *testing.T) {
	cases := []struct {
		format string
		args   starlark.Value
		want   string
	}{
		{"%.3f", starlark.Float(3.14159), "3.142"},
		{"loss %.4f at %d", starlark.Tuple{starlark.Float(0.5), starlark.MakeInt(7)}, "loss 0.5000 at 7"},
		{"%5.1f|", starlark.Float(2.25), "  2.2|"},
		{"%-6d|", starlark.MakeInt(42), "42    |"},
		{"%06.2f", starlark.Float(-3.5), "-03.50"},
		{"%+d", starlark.MakeInt(5), "+5"},
		{"%e", starlark.Float(12345.678), "1.234568e+04"},
		{"%.2e", starlark.Float(0.000123), "1.23e-04"},
		{"%g", starlark.Float(0.0001), "0.0001"},
		{"%g", starlark.Float(0.00001), "1e-05"},
		{"%g", starlark.Float(1234567.0), "1.23457e+06"},
		{"%.3g", starlark.Float(9.9996), "10"},
		{"%d", starlark.Float(3.99), "3"},
		{"%x %X %o", starlark.Tuple{starlark.MakeInt(255), starlark.MakeInt(255), starlark.MakeInt(8)}, "ff FF 10"},
		{"%s and %r", starlark.Tuple{starlark.String("a"), starlark.String("a")}, `a and "a"`},
		{"%5s|%-5s|", starlark.Tuple{starlark.String("ab"), starlark.String("cd")}, "   ab|cd   |"},
		{"100%%", starlark.Tuple{}, "100%"},
		{"%.2f%%", starlark.Float(12.345), "12.35%"},
		{"%*d", starlark.Tuple{starlark.MakeInt(4), starlark.MakeInt(7)}, "   7"},
		{"%.3d", starlark.MakeInt(7), "007"},
	}
	for _, c := range cases {
		got, err := percentFormat(c.format, c.args)
		if err != nil {
			t.Errorf("%q %% %v: %v", c.format, c.args, err)
			continue
		}
		if got != c.want {
			t.Errorf("%q %% %v = %q, want %q", c.format, c.args, got, c.want)
		}
	}
	d := starlark.NewDict(1)
	d.SetKey(starlark.String("lr"), starlark.Float(0.001))
	if got, err := percentFormat("lr=%(lr).0e", d); err != nil || got != "lr=1e-03" {
		t.Errorf("mapping: %q %v", got, err)
	}
	for _, bad := range []struct {
		f string
		a starlark.Value
	}{{"%d %d", starlark.MakeInt(1)}, {"%d", starlark.Tuple{starlark.MakeInt(1), starlark.MakeInt(2)}}, {"%f", starlark.String("x")}, {"%q", starlark.MakeInt(1)}, {"%", starlark.MakeInt(1)}} {
		if _, err := percentFormat(bad.f, bad.a); err == nil {
			t.Errorf("%q %% %v: no error", bad.f, bad.a)
		}
	}
}

func TestStrFormat(t *testing.T) {
	kw := []starlark.Tuple{{starlark.String("name"), starlark.String("cub")}, {starlark.String("r"), starlark.Float(0.7291)}}
	args := starlark.Tuple{starlark.Float(0.123456), starlark.MakeInt(1234567), starlark.NewList([]starlark.Value{starlark.MakeInt(9)})}
	cases := []struct{ format, want string }{
		{"{:.3f}", "0.123"},
		{"{} {}", "0.123456 1234567"},
		{"{1:,} {0:.1%}", "1,234,567 12.3%"},
		{"{name}: R@1 {r:.2%}", "cub: R@1 72.91%"},
		{"{0:>8.2f}|{0:<8.2f}|{0:^8.2f}", "    0.12|0.12    |  0.12  "},
		{"{1:08d} {1:x} {1:#x}", "01234567 12d687 0x12d687"},
		{"{2[0]} {name!r}", `9 "cub"`},
		{"{{literal}} {0:{1}}", "{literal} 0.123456"},
		{"{:e}", "1.234560e-01"},
		{"{:g}", "0.123456"},
		{"{name:*^9}", "***cub***"},
		{"{:+.1f}", "+0.1"},
	}
	for _, c := range cases {
		if c.format == "{{literal}} {0:{1}}" {
			continue // nested width from an int arg is exercised below
		}
		got, err := strFormat(c.format, args, kw)
		if err != nil {
			t.Errorf("%q: %v", c.format, err)
			continue
		}
		if got != c.want {
			t.Errorf("%q = %q, want %q", c.format, got, c.want)
		}
	}
	if got, _ := strFormat("{{x}} {0:{1}}", starlark.Tuple{starlark.MakeInt(5), starlark.String(">4")}, nil); got != "{x}    5" {
		t.Errorf("nested spec: %q", got)
	}
	for _, bad := range []string{"{", "{5}", "{nope}", "{:q}", "{0!z}", "{:.}"} {
		if _, err := strFormat(bad, args, kw); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

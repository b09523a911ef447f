package interp

import (
	"strings"
	"testing"

	"go.starlark.net/starlark"
)

func TestRewriteSubscripts(t *testing.T) {
	cases := []struct{ in, want string }{
		{"t[:, 1:3]", "t[slice(None,None), slice(1,3)]"},
		{"t[..., -1]", "t[Ellipsis, -1]"},
		{"t[...]", "t[Ellipsis]"},
		{"t[0, ::2]", "t[0, slice(None,None,2)]"},
		{"t[1:3]", "t[1:3]"},
		{"t[1:3] = v", "t[slice(1,3)] = v"},
		{"t[1:3] += v", "t[slice(1,3)] += v"},
		{"t[1:3] == v", "t[1:3] == v"},
		{"x = [1, 2]", "x = [1, 2]"},
		{"x = [a[:, 0] for a in b]", "x = [a[slice(None,None), 0] for a in b]"},
		{"f(t[:, 0])[1:, 2]", "f(t[slice(None,None), 0])[slice(1,None), 2]"},
		{`d["a:b, ..."]`, `d["a:b, ..."]`},
		{"# t[:, 0]\nx = 1", "# t[:, 0]\nx = 1"},
		{"{1: 2, 3: 4}[1]", "{1: 2, 3: 4}[1]"},
		{"y = x ** 2", "y = pow(x, 2)"},
		{"y = -x ** 2", "y = -pow(x, 2)"},
		{"y = a ** b ** c", "y = pow(a, pow(b, c))"},
		{"y = a.b(c)[0] ** -d.e", "y = pow(a.b(c)[0], -d.e)"},
		{"y = (a + b) ** 0.5 * 2", "y = pow((a + b), 0.5) * 2"},
		{"y = 2 ** x.sum()", "y = pow(2, x.sum())"},
		{"f(**kw)", "f(**kw)"},
		{"f(a, **kw)", "f(a, **kw)"},
		{"def f(**kw): pass", "def f(**kw): pass"},
		{"x = torch.load(p)", "x = torch.__load__(p)"},
		{`load("a.star", "b")`, `load("a.star", "b")`},
		{"s = 'it''s' + r\"\\d[:, 1]\"", "s = 'it''s' + r\"\\d[:, 1]\""},
		{"t[1:2,\n  3]", "t[slice(1,2),\n  3]"},
		{"return x[:, 1]", "return x[slice(None,None), 1]"},
		{"y = 1e-5 ** 2", "y = pow(1e-5, 2)"},
		{"y = a @ b", "y = a * __matmul__(b)"},
		{"y = a @ b @ c.T", "y = a * __matmul__(b) * __matmul__(c.T)"},
		{"y = a * b @ -c[0] + 1", "y = a * b * __matmul__(-c[0]) + 1"},
		{"y = a @ b ** 2", "y = a * __matmul__(pow(b, 2))"},
		{"y = f(a @ b)", "y = f(a * __matmul__(b))"},
		{"s = 'a@b'", "s = 'a@b'"},
		{"y = u @ f(s) @ v", "y = u * __matmul__(f(s)) * __matmul__(v)"},
	}
	for _, c := range cases {
		if got := string(rewriteSubscripts([]byte(c.in))); got != c.want {
			t.Errorf("rewrite(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}

// A loop that an iterator ends by cancelling the thread (a data loader's
// bad image) reports the iterator's error, not "computation cancelled".
func TestCancelledIteratorMessage(t *testing.T) {
	err := &starlark.EvalError{Msg: cancelledPrefix + "data: cannot decode x.jpg"}
	if got := FormatError(err); strings.Contains(got, "cancelled") || !strings.Contains(got, "data: cannot decode x.jpg") {
		t.Errorf("FormatError = %q", got)
	}
}

package torch

import (
	"testing"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/wangkuiyi/gotorch"

	"github.com/dadash/dadash/builtins/torch/aten"
)

// The cost of reaching libtorch from a script, against calling gotorch from
// Go: the same small add, so the difference is the Starlark call, argument
// conversion and overload resolution. `make bench` reports the difference.

func smallTensors() (gotorch.Tensor, gotorch.Tensor) {
	a := gotorch.RandN([]int64{4}, false)
	b := gotorch.RandN([]int64{4}, false)
	return a, b
}

func BenchmarkAddGotorch(b *testing.B) {
	x, y := smallTensors()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = gotorch.Add(x, y, 1)
	}
}

// benchStarlark runs `body` b.N times inside one compiled Starlark loop.
func benchStarlark(b *testing.B, body string) {
	x, y := smallTensors()
	src := "def f(n, x, y):\n    for i in range(n):\n        " + body + "\n"
	thread := &starlark.Thread{Name: "bench"}
	globals, err := starlark.ExecFileOptions(&syntax.FileOptions{}, thread, "bench.star", src, starlark.StringDict{"torch": Module})
	if err != nil {
		b.Fatal(err)
	}
	args := starlark.Tuple{starlark.MakeInt(b.N), New(fromGotorch(x)), New(fromGotorch(y))}
	b.ResetTimer()
	if _, err := starlark.Call(thread, globals["f"], args, nil); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkAddStarlarkOperator(b *testing.B) { benchStarlark(b, "x + y") }
func BenchmarkAddStarlarkFunction(b *testing.B) { benchStarlark(b, "torch.add(x, y)") }
func BenchmarkAddStarlarkMethod(b *testing.B)   { benchStarlark(b, "x.add(y)") }
func BenchmarkStarlarkEmptyLoop(b *testing.B)   { benchStarlark(b, "pass") }

// logsumexp with a keyword: an operator with several overloads and a
// dim list, as DADA's losses call it.
func BenchmarkLogsumexpStarlarkMethod(b *testing.B) { benchStarlark(b, "x.logsumexp(dim=0)") }
func BenchmarkLogsumexpStarlarkFunction(b *testing.B) {
	benchStarlark(b, "torch.logsumexp(x, 0)")
}
func BenchmarkLogsumexpGotorch(b *testing.B) {
	x, _ := smallTensors()
	op, err := aten.LookupOp("aten::logsumexp")
	if err != nil {
		b.Fatal(err)
	}
	xa := fromGotorch(x)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := op.Call1(aten.T(xa), aten.Is(0)); err != nil {
			b.Fatal(err)
		}
	}
}

package torch

import (
	"errors"
	"strings"
	"testing"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/builtins/torch/aten"
	"github.com/dadash/dadash/lang"
)

// An operator this libtorch lacks is an error naming it, not a panic (the
// fixed operators torch's functions call are resolved this way).
func TestMissingOperatorIsAnError(t *testing.T) {
	x, err := aten.FromFloat32s([]float32{1, 2}, 2)
	if err != nil {
		t.Fatal(err)
	}
	_, err = callNamed("torch.frobnicate", "frobnicate_no_such_op", []aten.Arg{aten.T(x)})
	if err == nil || !strings.HasPrefix(err.Error(), "torch.frobnicate: no operator aten::frobnicate_no_such_op in this libtorch") {
		t.Errorf("got %v", err)
	}
	if _, err := aten.RunAll("frobnicate_no_such_op", aten.T(x)); err == nil {
		t.Error("RunAll of a missing operator: no error")
	}
}

// torch's namespaces list the operators this libtorch can call, from its
// schemas; the list is what dir() and Tab completion show.
func TestOperatorNames(t *testing.T) {
	names := Module.AttrNames()
	has := map[string]bool{}
	for _, n := range names {
		has[n] = true
	}
	for _, want := range []string{"log2", "logical_and", "cdist", "zeros", "linalg", "float32"} {
		if !has[want] {
			t.Errorf("dir(torch) lacks %s", want)
		}
	}
	for _, bad := range []string{"_unique2", "add_", "tanh_backward", "linalg_norm", "cudnn_convolution", ""} {
		if has[bad] {
			t.Errorf("dir(torch) lists %q", bad)
		}
	}
	// Every listed name resolves.
	for _, n := range names {
		if v, err := Module.Attr(n); v == nil || err != nil {
			t.Errorf("torch.%s is listed but does not resolve (%v)", n, err)
		}
	}
	linalg, _ := Module.Attr("linalg")
	if ln := linalg.(*Namespace).AttrNames(); !contains(ln, "vector_norm") || !contains(ln, "svd") {
		t.Errorf("dir(torch.linalg) = %v", ln)
	}
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// libtorch's allocation failure becomes an out-of-memory error naming the
// call in PyTorch's terms and the size in GiB.
func TestOutOfMemoryMessage(t *testing.T) {
	zeros, _ := Module.Attr("zeros")
	_, err := starlark.Call(&starlark.Thread{}, zeros, starlark.Tuple{starlark.MakeInt(100000), starlark.MakeInt(100000), starlark.MakeInt(100)}, nil)
	var oom *aten.OutOfMemoryError
	if !errors.As(err, &oom) && (err == nil || !strings.Contains(err.Error(), "out of memory")) {
		t.Fatalf("got %v", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "torch.zeros: out of memory: torch.zeros(100000, 100000, 100) needs 3,725 GiB of CPU memory") {
		t.Errorf("message: %s", msg)
	}
	for _, bad := range []string{"enforce fail", "alloc_cpu", "[100000 100000 100]", "4000000000000 bytes"} {
		if strings.Contains(msg, bad) {
			t.Errorf("message contains %q: %s", bad, msg)
		}
	}
}

// Shapes in argument lists read as torch.Size, as everywhere else.
func TestArgumentShapes(t *testing.T) {
	a, _ := aten.FromFloat32s(make([]float32, 6), 2, 3)
	got := describeArgs([]aten.Arg{aten.T(a), aten.Is(2, 3), aten.KW("alpha", aten.F(0.5)), aten.D(aten.Float64)})
	want := "float32 tensor of torch.Size([2, 3]), [2, 3], alpha=0.5, torch.float64"
	if got != want {
		t.Errorf("describeArgs: %s, want %s", got, want)
	}
	if got := describeCall("torch.ones", []aten.Arg{aten.Is(4, 5), aten.KW("dtype", aten.D(aten.Int64))}); got != "torch.ones(4, 5, dtype=torch.int64)" {
		t.Errorf("describeCall: %s", got)
	}
	if s := lang.Size([]int64{}); s != "torch.Size([])" {
		t.Errorf("lang.Size: %s", s)
	}
}

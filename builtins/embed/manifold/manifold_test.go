package manifold

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/interp/startest"
	"github.com/dadash/dadash/lang"
)

// fakeTensor stands in for a torch tensor: any lang.Numeric value.
type fakeTensor struct {
	data  []float64
	shape []int64
}

func (f *fakeTensor) String() string        { return fmt.Sprintf("fake_tensor(shape=%v)", f.shape) }
func (f *fakeTensor) Type() string          { return "fake_tensor" }
func (f *fakeTensor) Freeze()               {}
func (f *fakeTensor) Truth() starlark.Bool  { return true }
func (f *fakeTensor) Hash() (uint32, error) { return 0, errors.New("unhashable") }
func (f *fakeTensor) NumericData() ([]float64, []int64, error) {
	return f.data, f.shape, nil
}

// fake_tensor(rows) makes a 2-D fake tensor from a list of rows, and
// fake_tensor(values, shape) one of any shape.
func fakeTensorBuiltin(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var v starlark.Value
	var shape *starlark.List
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "values", &v, "shape?", &shape); err != nil {
		return nil, err
	}
	if shape == nil {
		data, n, d, err := matrix(b.Name(), "values", v)
		if err != nil {
			return nil, err
		}
		return &fakeTensor{data, []int64{int64(n), int64(d)}}, nil
	}
	var data []float64
	it := starlark.Iterate(v)
	defer it.Done()
	var x starlark.Value
	for it.Next(&x) {
		f, _ := number(x)
		data = append(data, f)
	}
	var sh []int64
	for i := 0; i < shape.Len(); i++ {
		n, _ := starlark.AsInt32(shape.Index(i))
		sh = append(sh, int64(n))
	}
	return &fakeTensor{data, sh}, nil
}

func TestStar(t *testing.T) {
	startest.Run(t, "testdata/*.star", startest.Predeclared(starlark.StringDict{
		"fake_tensor": starlark.NewBuiltin("fake_tensor", fakeTensorBuiltin),
	}))
}

// rows makes n points of d coordinates in four far-apart groups.
func rows(n, d int) *starlark.List {
	var out []starlark.Value
	for i := 0; i < n; i++ {
		var r []starlark.Value
		for j := 0; j < d; j++ {
			v := float64((i%4)*10*btoi(j == i%4)) + float64((i*7+j*3)%11)/10
			r = append(r, starlark.Float(v))
		}
		out = append(out, starlark.NewList(r))
	}
	return starlark.NewList(out)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestInterrupt: a cancelled thread context stops t-SNE with
// lang.ErrInterrupted, which the host reports as Ctrl-C.
func TestInterrupt(t *testing.T) {
	thread := &starlark.Thread{Name: "test"}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	lang.SetContext(thread, ctx)
	var out bytes.Buffer
	lang.SetOutput(thread, &out, &out)
	_, err := starlark.Call(thread, Module.Members()["tsne"], starlark.Tuple{rows(50, 5)}, []starlark.Tuple{{starlark.String("perplexity"), starlark.Float(5)}})
	if !errors.Is(err, lang.ErrInterrupted) {
		t.Fatalf("err = %v, want lang.ErrInterrupted", err)
	}
}

// TestProgressLines: progress=True shows dadash's progress bar on the
// thread's stderr (plain lines, one per tenth, when it is not a terminal);
// progress=False writes nothing.
func TestProgressLines(t *testing.T) {
	for _, show := range []bool{true, false} {
		thread := &starlark.Thread{Name: "test"}
		var out, errOut bytes.Buffer
		lang.SetOutput(thread, &out, &errOut)
		_, err := starlark.Call(thread, Module.Members()["tsne"], starlark.Tuple{rows(60, 5)}, []starlark.Tuple{
			{starlark.String("perplexity"), starlark.Float(5)},
			{starlark.String("n_iter"), starlark.MakeInt(300)},
			{starlark.String("progress"), starlark.Bool(show)},
		})
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(errOut.String()), "\n")
		if !show {
			if errOut.Len() != 0 {
				t.Errorf("progress=False printed %q", errOut.String())
			}
			continue
		}
		if len(lines) != 10 || !strings.HasPrefix(lines[0], "t-SNE: 30/300 (10%)") ||
			!strings.HasPrefix(lines[9], "t-SNE: 300/300 (100%)  KL ") {
			t.Errorf("progress lines (%d):\n%s", len(lines), errOut.String())
		}
		if out.Len() != 0 {
			t.Errorf("stdout: %q", out.String())
		}
	}
}

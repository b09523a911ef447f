package dada

import (
	"syscall"
	"testing"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/builtins/losses"
	"github.com/dadash/dadash/builtins/nn"
	"github.com/dadash/dadash/builtins/torch"
	"github.com/dadash/dadash/builtins/torch/aten"
)

// DADA's extra cost per training step against the plain proxy loss, for
// the loss computations alone (no backbone): DADA.md's shape, B = 90
// embeddings of d = 512 (45 classes x 2 samples), C = 100 classes, float32.
// One step is the proxy loss forward + backward, against d_step = 3
// discriminator objectives and one generator objective, each forward +
// backward. Optimiser updates are left out (their cost depends on the
// optimiser, not on the objective).
//
//	go test ./builtins/dada -run '^$' -bench . -benchtime 50x
//
// DADASH_NUM_THREADS sets libtorch's threads (default: all cores). Besides
// wall time each benchmark reports cpu-ms/op, the process's CPU time per
// step, which stays meaningful on a machine shared with other work.

const benchB, benchD, benchC = 90, 512, 100

func benchSetup(b *testing.B) (x, y aten.Tensor) {
	b.Helper()
	aten.InitThreads(0)
	aten.ManualSeed(0)
	var err error
	if x, err = aten.Run("randn", aten.Is(benchB, benchD)); err != nil {
		b.Fatal(err)
	}
	if err := x.SetRequiresGrad(true); err != nil {
		b.Fatal(err)
	}
	labels := make([]int64, benchB)
	for i := range labels {
		labels[i] = int64(2 * (i / 2)) // classes 0, 2, 4, ...: two samples each
	}
	if y, err = aten.FromInt64s(labels, benchB); err != nil {
		b.Fatal(err)
	}
	return x, y
}

func benchCall(b *testing.B, fn starlark.Value, args ...starlark.Value) aten.Tensor {
	v, err := starlark.Call(&starlark.Thread{}, fn.(starlark.Callable), args, nil)
	if err != nil {
		b.Fatal(err)
	}
	return v.(*torch.Tensor).ATen()
}

// cpuTimer reports the process's user + system CPU time per op.
type cpuTimer struct{ start float64 }

func cpuSeconds() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

func startCPU(b *testing.B) *cpuTimer {
	b.ResetTimer()
	return &cpuTimer{cpuSeconds()}
}

func (c *cpuTimer) stop(b *testing.B) {
	b.StopTimer()
	b.ReportMetric((cpuSeconds()-c.start)*1e3/float64(b.N), "cpu-ms/op")
}

func newBenchLoss(b *testing.B) starlark.Value {
	l, err := starlark.Call(&starlark.Thread{}, losses.Module.Members()["proxy_anchor"].(starlark.Callable), starlark.Tuple{starlark.MakeInt(benchC), starlark.MakeInt(benchD)}, nil)
	if err != nil {
		b.Fatal(err)
	}
	return l
}

func backward(b *testing.B, t aten.Tensor) {
	if err := t.Backward(aten.Tensor{}, false, false); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkProxyLossStep(b *testing.B) {
	x, y := benchSetup(b)
	l := newBenchLoss(b)
	xv, yv := torch.New(x), torch.New(y)
	backward(b, benchCall(b, l, xv, yv)) // warm-up
	cpu := startCPU(b)
	for i := 0; i < b.N; i++ {
		backward(b, benchCall(b, l, xv, yv))
	}
	cpu.stop(b)
}

func benchDADA(b *testing.B, kwargs ...starlark.Tuple) {
	x, y := benchSetup(b)
	l := newBenchLoss(b)
	cv, err := starlark.Call(&starlark.Thread{}, Module.Members()["wrap"].(starlark.Callable), starlark.Tuple{l}, kwargs)
	if err != nil {
		b.Fatal(err)
	}
	crit := cv.(*nn.Module)
	disc, _ := crit.Attr("discriminator_loss")
	gen, _ := crit.Attr("generator_loss")
	xd, err := x.Detach()
	if err != nil {
		b.Fatal(err)
	}
	xv, xdv, yv := torch.New(x), torch.New(xd), torch.New(y)
	step := func() {
		for k := 0; k < 3; k++ {
			backward(b, benchCall(b, disc, xdv, yv))
		}
		backward(b, benchCall(b, gen, xv, yv))
	}
	step() // warm-up
	cpu := startCPU(b)
	for i := 0; i < b.N; i++ {
		step()
	}
	cpu.stop(b)
}

// BenchmarkDADAStep: the defaults (random mix, nwd).
func BenchmarkDADAStep(b *testing.B) { benchDADA(b) }

// BenchmarkDADAStepCUB: CUB200's recipe (positive-pair mixup, fd2_bn, fc2_bn).
func BenchmarkDADAStepCUB(b *testing.B) {
	benchDADA(b, starlark.Tuple{starlark.String("pos_class_mix"), starlark.True},
		starlark.Tuple{starlark.String("fd2_bn"), starlark.True}, starlark.Tuple{starlark.String("fc2_bn"), starlark.True},
		starlark.Tuple{starlark.String("d_dis_ratio"), starlark.Float(0.005)})
}

// BenchmarkDADAStepL1: the l1 discrepancy instead of nuclear norms.
func BenchmarkDADAStepL1(b *testing.B) {
	benchDADA(b, starlark.Tuple{starlark.String("dis_mode"), starlark.String("l1")})
}

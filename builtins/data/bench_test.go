package data

import (
	"context"
	"fmt"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/lang"
)

// benchImages writes 128 JPEGs of 500 x 375 (about CUB's size) at quality
// 90, once: smooth gradients, stripes and noise, 60-65 KB each like
// photographs. They are what data.make_synthetic(root, "image_folder",
// classes=8, per_class=16, size=(500, 375)) writes, which bench/run uses for
// the torchvision comparison.
func benchImages(b *testing.B) *Dataset {
	b.Helper()
	benchOnce.Do(func() {
		dir, err := os.MkdirTemp("", "dadash-bench")
		if err != nil {
			benchErr = err
			return
		}
		benchDir = dir
		s := &synthetic{root: dir, classes: 8, per: 16, w: 500, h: 375}
		if benchErr = s.make("image_folder"); benchErr != nil {
			return
		}
		sp, err := loadImageFolder(dir)
		if err != nil {
			benchErr = err
			return
		}
		benchSet = newDataset(nil, "bench", dir, sp[0], nil)
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchSet
}

var (
	benchOnce sync.Once
	benchDir  string
	benchSet  *Dataset
	benchErr  error
)

func baseTransform(size int) *Transform {
	return &Transform{ops: []op{
		&randomResizedCrop{h: size, w: size, scale: [2]float64{0.08, 1}, ratio: [2]float64{3.0 / 4, 4.0 / 3}},
		&horizontalFlip{p: 0.5},
		&toTensor{scale: 1},
		&normalize{mean: imagenetMean, std: imagenetStd},
	}}
}

// BenchmarkPipeline is decode + random_resized_crop(224) + flip + to_tensor
// + normalize of one image on one core (images/s = 1e9 / ns/op).
func BenchmarkPipeline(b *testing.B) {
	for _, dct := range []bool{true, false} {
		b.Run(fmt.Sprintf("dct=%v", dct), func(b *testing.B) {
			ds := benchImages(b)
			tr := baseTransform(224)
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := range b.N {
				k := i % ds.Len()
				s, err := ds.load(k, tr, newRNG(0, streamTransform, 0, uint64(i), uint64(k)), decodeOpts{dct: dct})
				if err != nil {
					b.Fatal(err)
				}
				t, err := s.finish()
				if err != nil {
					b.Fatal(err)
				}
				recycleCHW(t) // as the loader does once the batch holds a copy
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-us/image")
		})
	}
}

// cpuTime is the process's CPU time (user + system), which a shared,
// busy machine disturbs less than the wall clock.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkLoader is the loader's throughput (batches of 32 as tensors)
// with 1 and 2 workers, consuming as fast as it can.
func BenchmarkLoader(b *testing.B) {
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			ds := benchImages(b)
			thread := &starlark.Thread{}
			lang.SetContext(thread, context.Background())
			l := &Loader{thread: thread, ds: ds, transform: baseTransform(224), workers: workers, prefetch: 2, opt: decodeOpts{dct: true}, batchSize: 32,
				sampler: &Sampler{kind: "random", dataset: ds.desc(), n: ds.Len()}}
			b.ResetTimer()
			images := 0
			start := time.Now()
			for images < b.N {
				it := l.Iterate()
				var v starlark.Value
				for it.Next(&v) {
					images += 32
				}
				it.Done()
			}
			b.ReportMetric(float64(images)/time.Since(start).Seconds(), "images/s")
			b.ReportMetric(l.wait.Seconds()+l.firstWait.Seconds(), "wait-s")
		})
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

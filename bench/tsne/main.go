// Command tsne times dadash's t-SNE on synthetic clustered data (Gaussian
// classes, as quality.Clusters makes them) and prints medians of the
// wall time and the final KL divergence: bench/run's "tsne" section.
//
// With -dump DIR it also writes each data set as raw little-endian float64
// (DIR/clusters_N_D.f64, row-major) with its labels (…_labels.i64), for
// running scikit-learn on exactly the same points by hand
// (bench/tsne/sklearn_tsne.py).
package main

import (
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dadash/dadash/builtins/embed/quality"
	"github.com/dadash/dadash/builtins/embed/tsne"
)

func main() {
	sizes := flag.String("sizes", "1000,5924,20000", "comma-separated point counts")
	d := flag.Int("d", 512, "dimensions")
	classes := flag.Int("classes", 100, "number of Gaussian classes")
	spread := flag.Float64("spread", 1, "standard deviation of the class centres (noise is 0.5-1.5)")
	reps := flag.Int("reps", 3, "runs per size (medians are reported)")
	method := flag.String("method", "auto", "auto, exact or barnes_hut")
	threads := flag.Int("threads", 0, "threads (0: all cores)")
	iters := flag.Int("iters", 1000, "iterations")
	pcaDims := flag.Int("pca", 50, "PCA reduction before t-SNE (-1: none)")
	exactKL := flag.Bool("exactkl", true, "also report the KL with the exact normaliser Z")
	dump := flag.String("dump", "", "write the data sets into this folder for scikit-learn")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the runs to this file")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "tsne:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}

	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 2 {
			fmt.Fprintf(os.Stderr, "tsne: bad size %q\n", s)
			os.Exit(2)
		}
		x, labels := quality.Clusters(n, *d, *classes, *spread, 1)
		if *dump != "" {
			if err := write(*dump, n, *d, x, labels); err != nil {
				fmt.Fprintln(os.Stderr, "tsne:", err)
				os.Exit(1)
			}
		}
		var walls, kls []float64
		var last *tsne.Result
		for r := 0; r < *reps; r++ {
			t0 := time.Now()
			res, err := tsne.RunDetailed(context.Background(), x, n, *d, tsne.Options{
				Method: *method, Threads: *threads, Iterations: *iters, PCADims: *pcaDims, ExactKL: *exactKL,
			})
			if err != nil {
				fmt.Fprintln(os.Stderr, "tsne:", err)
				os.Exit(1)
			}
			walls = append(walls, time.Since(t0).Seconds())
			kls = append(kls, res.KL)
			last = res
		}
		frac := math.NaN()
		if n <= 20000 {
			frac = quality.ClassNeighbourFraction(last.Y, n, 2, labels, 10)
		}
		tm := last.Timings
		fmt.Printf("  n=%-6d d=%d %-10s %6.2f s (last run: pca %.2f, affinities %.2f, optimise %.2f s; %d iterations)  KL %.4f",
			n, *d, last.Method, median(walls), tm.PCA.Seconds(), tm.Affinities.Seconds(), tm.Optimise.Seconds(), last.Iterations, median(kls))
		if !math.IsNaN(last.KLExactZ) && last.Method != "exact" {
			fmt.Printf(" (exact Z: %.4f)", last.KLExactZ)
		}
		fmt.Printf("  same-class 10-NN in 2-D %.3f\n", frac)
	}
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func write(dir string, n, d int, x []float64, labels []int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	base := filepath.Join(dir, fmt.Sprintf("clusters_%d_%d", n, d))
	b := make([]byte, 8*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(v))
	}
	if err := os.WriteFile(base+".f64", b, 0o644); err != nil {
		return err
	}
	b = make([]byte, 8*len(labels))
	for i, v := range labels {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(v))
	}
	return os.WriteFile(base+"_labels.i64", b, 0o644)
}

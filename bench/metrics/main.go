// Command metrics times builtins/metrics on a set the size of Stanford
// Online Products' test split: 60,502 unit vectors of 512 dimensions in
// 11,316 classes of 2 to 12 items, generated (seeded) as noisy copies of
// class centres that share one of 12 super-category directions, so that
// neighbours are neither trivial nor random. It prints the metrics, the
// seconds of each stage and of the whole call, and the memory: resident
// size before the call (the data included) and its peak during it.
//
//	go run ./bench/metrics -names e_recall@1,e_recall@10,e_recall@100,mAP_R
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"math"
	"math/rand"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/dadash/dadash/builtins/metrics"
)

func main() {
	n := flag.Int("n", 60502, "embeddings")
	d := flag.Int("d", 512, "dimensions")
	classes := flag.Int("classes", 11316, "classes")
	seed := flag.Int64("seed", 1, "data seed")
	names := flag.String("names", "e_recall@1,e_recall@10,e_recall@100,mAP_R", "metrics, comma-separated")
	threads := flag.Int("threads", 0, "faiss threads (0: all cores)")
	noise := flag.Float64("noise", 0.09, "per-dimension noise around the class centres")
	flag.Parse()

	x, labels := generate(*n, *d, *classes, *seed, *noise)
	runtime.GC()
	debug.FreeOSMemory()
	before := status("VmRSS")
	load0 := loadavg()
	t0 := time.Now()
	res, err := metrics.Compute(context.Background(), x, *n, *d, labels, strings.Split(*names, ","),
		metrics.Options{Threads: *threads})
	secs := time.Since(t0).Seconds()
	if err != nil {
		fmt.Fprintln(os.Stderr, "metrics:", err)
		os.Exit(1)
	}
	peak := status("VmHWM")
	for _, v := range res.Values {
		fmt.Printf("value %s %.6f\n", v.Name, v.Value)
	}
	for _, s := range res.Stages {
		fmt.Printf("stage %s %.1f\n", s.Name, s.Seconds)
	}
	fmt.Printf("seconds %.1f\n", secs)
	fmt.Printf("rss_before_mb %d\npeak_mb %d\nextra_mb %d\n", before>>10, peak>>10, (peak-before)>>10)
	fmt.Printf("load %s -> %s\n", load0, loadavg())
}

// generate makes SOP-sized data: class sizes 2..12 summing to n, centres
// near one of 12 super-category directions, items = centre + noise, rows
// normalised.
func generate(n, d, classes int, seed int64, noise float64) ([]float32, []int64) {
	r := rand.New(rand.NewSource(seed))
	size := make([]int, classes)
	left := n
	for c := range size {
		size[c] = 2
		left -= 2
	}
	for left > 0 {
		c := r.Intn(classes)
		if size[c] < 12 {
			size[c]++
			left--
		}
	}
	gauss := func(v []float64, scale float64) {
		for i := range v {
			v[i] = r.NormFloat64() * scale
		}
	}
	unit := func(v []float64) {
		var s float64
		for _, e := range v {
			s += e * e
		}
		s = 1 / math.Sqrt(s)
		for i := range v {
			v[i] *= s
		}
	}
	supers := make([][]float64, 12)
	for i := range supers {
		supers[i] = make([]float64, d)
		gauss(supers[i], 1)
		unit(supers[i])
	}
	x := make([]float32, 0, n*d)
	labels := make([]int64, 0, n)
	centre := make([]float64, d)
	item := make([]float64, d)
	for c := 0; c < classes; c++ {
		gauss(centre, 1)
		unit(centre)
		s := supers[r.Intn(len(supers))]
		for j := range centre {
			centre[j] = 0.5*s[j] + 0.85*centre[j]
		}
		for k := 0; k < size[c]; k++ {
			gauss(item, noise)
			for j := range item {
				item[j] += centre[j]
			}
			unit(item)
			for _, v := range item {
				x = append(x, float32(v))
			}
			labels = append(labels, int64(c))
		}
	}
	// Shuffle the rows so that classes are not contiguous.
	perm := r.Perm(n)
	xs := make([]float32, n*d)
	ls := make([]int64, n)
	for i, p := range perm {
		copy(xs[i*d:(i+1)*d], x[p*d:(p+1)*d])
		ls[i] = labels[p]
	}
	return xs, ls
}

// status reads a size in KiB from /proc/self/status.
func status(key string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), key+":"); ok {
			var kb int64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kb)
			return kb
		}
	}
	return 0
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:3], " ")
}

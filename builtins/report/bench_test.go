package report

import (
	"fmt"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dadash/dadash/builtins/plot"
	"github.com/dadash/dadash/internal/page"
	"github.com/dadash/dadash/internal/page/embview"
)

// BenchmarkReportWrite writes a report of 10 charts, as a recipe run
// would: 8 line charts of 200 points, a scatter of 5,924 points in 100
// classes (the CUB200 test set) and a 100x100 heatmap. Each append renders
// the block and rewrites the whole page atomically (with fsync). Reported:
// the time to build each kind of chart (plot.*), to append it, the total
// per report, and the final page size; then, apart, an embedding view of
// the same 5,924 points with 5 neighbours each and a 28x28 thumbnail per
// point (Fashion-MNIST-sized).
func BenchmarkReportWrite(b *testing.B) {
	rng := rand.New(rand.NewSource(1))
	const n, classes = 5924, 100
	xs, ys := make([]float64, n), make([]float64, n)
	labels := make([]int, n)
	names := make([]string, classes)
	for c := range names {
		names[c] = fmt.Sprintf("%03d.class_%d", c+101, c)
	}
	for i := range xs {
		labels[i] = i % classes
		a := 2 * math.Pi * float64(labels[i]) / classes
		xs[i], ys[i] = 40*math.Cos(a)+rng.NormFloat64()*3, 40*math.Sin(a)+rng.NormFloat64()*3
	}
	z := make([][]float64, 100)
	for i := range z {
		z[i] = make([]float64, 100)
		for j := range z[i] {
			z[i][j] = math.Cos(float64(i-j)/10) + 0.1*rng.NormFloat64()
		}
	}
	x := make([]float64, 200)
	for i := range x {
		x[i] = float64(i + 1)
	}
	lineY := func(k int) []float64 {
		y := make([]float64, 200)
		for i := range y {
			y[i] = math.Exp(-float64(i)/float64(40+k)) + 0.02*rng.Float64()
		}
		return y
	}

	var build, add [3]time.Duration // line, scatter, heatmap
	var total time.Duration
	var size int64
	dir := b.TempDir()
	b.ResetTimer()
	for it := 0; it < b.N; it++ {
		start := time.Now()
		path := filepath.Join(dir, fmt.Sprintf("r%d.html", it))
		r, err := Open(path, "benchmark")
		if err != nil {
			b.Fatal(err)
		}
		appendChart := func(kind int, mk func() (*plot.Chart, error)) {
			t0 := time.Now()
			c, err := mk()
			if err != nil {
				b.Fatal(err)
			}
			t1 := time.Now()
			if err := r.Add(c); err != nil {
				b.Fatal(err)
			}
			build[kind] += t1.Sub(t0)
			add[kind] += time.Since(t1)
		}
		for k := 0; k < 8; k++ {
			appendChart(0, func() (*plot.Chart, error) {
				return plot.Line(plot.LineSpec{Axes: plot.Axes{Title: fmt.Sprintf("metric %d", k), XLabel: "epoch"}, X: x,
					Series: []plot.Series{{Name: "train", Y: lineY(k)}, {Name: "test", Y: lineY(k + 5)}}})
			})
		}
		appendChart(1, func() (*plot.Chart, error) {
			return plot.Scatter(plot.ScatterSpec{Axes: plot.Axes{Title: "t-SNE"}, X: xs, Y: ys, Labels: labels, ClassNames: names})
		})
		appendChart(2, func() (*plot.Chart, error) {
			return plot.Heatmap(plot.HeatmapSpec{Axes: plot.Axes{Title: "proxy similarity"}, Z: z})
		})
		total += time.Since(start)
		st, _ := os.Stat(path)
		size = st.Size()
		os.Remove(path)
	}
	b.StopTimer()
	per := func(d time.Duration, k int) float64 { return d.Seconds() * 1e3 / float64(b.N*k) }
	b.ReportMetric(per(build[0], 8), "line-build-ms")
	b.ReportMetric(per(add[0], 8), "line-append-ms")
	b.ReportMetric(per(build[1], 1), "scatter-build-ms")
	b.ReportMetric(per(add[1], 1), "scatter-append-ms")
	b.ReportMetric(per(build[2], 1), "heatmap-build-ms")
	b.ReportMetric(per(add[2], 1), "heatmap-append-ms")
	b.ReportMetric(per(total, 1), "total-ms")
	b.ReportMetric(float64(size)/1e6, "page-MB")

	// The embedding view, apart from the 10 charts.
	coords := make([][2]float64, n)
	nn, nd := make([][]int, n), make([][]float32, n)
	thumbs := make([]string, n)
	img := make([]float64, 28*28)
	for i := range coords {
		coords[i] = [2]float64{xs[i], ys[i]}
		for k := 1; k <= 5; k++ {
			nn[i] = append(nn[i], (i+k*classes)%n)
			nd[i] = append(nd[i], float32(k)*0.1)
		}
		for p := range img {
			img[p] = float64((p*7+i)%255) * float64(p%28) / 28
		}
		uri, err := page.ArrayPNG(img, []int64{28, 28})
		if err != nil {
			b.Fatal(err)
		}
		thumbs[i] = uri
	}
	t0 := time.Now()
	v, err := embview.New(coords, labels, names, nn, nd, thumbs)
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(dir, "emb.html")
	r, err := Open(path, "embedding")
	if err != nil {
		b.Fatal(err)
	}
	t1 := time.Now()
	if err := r.Add(v); err != nil {
		b.Fatal(err)
	}
	t2 := time.Now()
	if err := r.Text("one more block after the view"); err != nil {
		b.Fatal(err)
	}
	t3 := time.Now()
	st, _ := os.Stat(path)
	b.ReportMetric(t1.Sub(t0).Seconds()*1e3, "embview-build-ms")
	b.ReportMetric(t2.Sub(t1).Seconds()*1e3, "embview-append-ms")
	b.ReportMetric(t3.Sub(t2).Seconds()*1e3, "after-embview-append-ms")
	b.ReportMetric(float64(st.Size())/1e6, "embview-page-MB")
}

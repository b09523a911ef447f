// Package explore gives scripts and the REPL their ways to look at
// embeddings: show(x) writes any chart, page or view to an HTML file,
// neighbors(emb, i, k) prints the nearest items of one item, and
// plot.embedding(emb, labels) makes the interactive embedding view (a
// t-SNE or PCA map, coloured by class, whose points list their nearest
// neighbours in the original space when clicked).
package explore

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/builtins/embed/pca"
	"github.com/dadash/dadash/builtins/embed/tsne"
	"github.com/dadash/dadash/builtins/metrics"
	"github.com/dadash/dadash/builtins/plot"
	"github.com/dadash/dadash/internal/page"
	"github.com/dadash/dadash/internal/page/embview"
	"github.com/dadash/dadash/internal/progress"
	"github.com/dadash/dadash/internal/sandbox"
	"github.com/dadash/dadash/lang"
)

func init() {
	lang.Register(lang.Module{Name: "show", Value: lang.Func("show", docShow, fnShow), Doc: docShow})
	lang.Register(lang.Module{Name: "neighbors", Value: lang.Func("neighbors", docNeighbors, fnNeighbors), Doc: docNeighbors})
	// plot.embedding needs t-SNE and kNN (faiss), which the pure-Go plot
	// package does not link; it joins the plot module from here.
	plot.Module.Members()["embedding"] = lang.Func("plot.embedding", docEmbedding, fnEmbedding)
}

const docShow = `show(x, path=None)

Writes a chart, report page or embedding view to an HTML file (default views/view-N.html in the
current folder), prints its path, and opens it with $BROWSER when that is set. Returns the path.`

var (
	showMu    sync.Mutex
	showCount int
)

func fnShow(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x starlark.Value
	var pathV starlark.Value = starlark.None
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "x", &x, "path?", &pathV); err != nil {
		return nil, err
	}
	r, ok := x.(page.Renderer)
	if !ok {
		return nil, fmt.Errorf("show: a %s cannot be shown; show takes a chart (plot.*), a report or an embedding view", x.Type())
	}
	path := ""
	if s, ok := pathV.(starlark.String); ok {
		path = string(s)
	} else {
		showMu.Lock()
		for {
			showCount++
			path = filepath.Join("views", fmt.Sprintf("view-%d.html", showCount))
			if _, err := os.Stat(path); os.IsNotExist(err) {
				break
			}
		}
		showMu.Unlock()
	}
	if err := sandbox.Write(thread, b.Name(), path); err != nil {
		return nil, err
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("show: %w", err)
		}
	}
	if err := page.WriteFile(path, r); err != nil {
		return nil, fmt.Errorf("show: %w", err)
	}
	fmt.Fprintf(lang.Stdout(thread), "wrote %s\n", path)
	if browser := os.Getenv("BROWSER"); browser != "" {
		abs, _ := filepath.Abs(path)
		cmd := exec.Command(browser, abs)
		if err := cmd.Start(); err != nil {
			fmt.Fprintf(lang.Stderr(thread), "show: could not start $BROWSER (%s): %v\n", browser, err)
		} else {
			go cmd.Wait() // reap it; the browser lives on
		}
	}
	return starlark.String(path), nil
}

// matrix reads an N x d matrix (tensor or nested lists) as float32 rows.
func matrix(fn string, v starlark.Value) ([]float32, []float64, int, int, error) {
	data, shape, err := plot.Numbers(v)
	if err != nil {
		return nil, nil, 0, 0, fmt.Errorf("%s: embeddings: %w", fn, err)
	}
	if len(shape) != 2 || shape[0] < 1 || shape[1] < 1 {
		return nil, nil, 0, 0, fmt.Errorf("%s: embeddings must be an N x d matrix, got %s", fn, lang.Size(shape))
	}
	f32 := make([]float32, len(data))
	for i, x := range data {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, nil, 0, 0, fmt.Errorf("%s: embeddings hold %v at row %d", fn, x, i/int(shape[1]))
		}
		f32[i] = float32(x)
	}
	return f32, data, int(shape[0]), int(shape[1]), nil
}

const docNeighbors = `neighbors(embeddings, i, k=5, labels=None, class_names=None)

Prints the k nearest items of item i (cosine distance on the rows of embeddings, the item itself
left out) with their labels, and whether they share item i's label. Returns a list of
(index, distance) pairs.`

func fnNeighbors(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var embV starlark.Value
	var i int
	k := 5
	var labelsV, namesV starlark.Value = starlark.None, starlark.None
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "embeddings", &embV, "i", &i, "k?", &k, "labels?", &labelsV, "class_names?", &namesV); err != nil {
		return nil, err
	}
	emb, _, n, d, err := matrix(b.Name(), embV)
	if err != nil {
		return nil, err
	}
	if i < 0 {
		i += n
	}
	if i < 0 || i >= n {
		return nil, fmt.Errorf("%s: item %d is out of range for %d embeddings", b.Name(), i, n)
	}
	if k < 1 || k >= n {
		return nil, fmt.Errorf("%s: k must be between 1 and %d (the other items), got %d", b.Name(), n-1, k)
	}
	var names []string
	if namesV != starlark.None {
		if names, err = plot.Strings(namesV); err != nil {
			return nil, fmt.Errorf("%s: class_names: %w", b.Name(), err)
		}
	}
	var labels []int
	var labelNames []string
	if labelsV != starlark.None {
		if labels, labelNames, err = plot.Labels(labelsV, names); err != nil {
			return nil, fmt.Errorf("%s: labels: %w", b.Name(), err)
		}
		if len(labels) != n {
			return nil, fmt.Errorf("%s: %d labels for %d embeddings", b.Name(), len(labels), n)
		}
	}
	nb, err := metrics.KNN(lang.Context(thread), emb, n, d, emb[i*d:(i+1)*d], k+1, metrics.KNNOptions{})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	labelOf := func(j int) string {
		if labels == nil {
			return ""
		}
		if labels[j] >= 0 && labels[j] < len(labelNames) {
			return labelNames[labels[j]]
		}
		return fmt.Sprint(labels[j])
	}
	out := lang.Stdout(thread)
	if labels != nil {
		fmt.Fprintf(out, "item %d: %s\n", i, labelOf(i))
		fmt.Fprintf(out, "%3s  %6s  %-6s  %s\n", "#", "dist", "same", "label")
	} else {
		fmt.Fprintf(out, "%3s  %6s  %s\n", "#", "dist", "index")
	}
	var res []starlark.Value
	rank := 0
	for c := 0; c < len(nb.Index) && rank < k; c++ {
		j := int(nb.Index[c])
		if j == i || j < 0 {
			continue
		}
		rank++
		dist := float64(nb.Dist[c])
		if labels != nil {
			same := "no"
			if labels[j] == labels[i] {
				same = "yes"
			}
			fmt.Fprintf(out, "%3d  %6.3f  %-6s  %s (item %d)\n", rank, dist, same, labelOf(j), j)
		} else {
			fmt.Fprintf(out, "%3d  %6.3f  %d\n", rank, dist, j)
		}
		res = append(res, starlark.Tuple{starlark.MakeInt(j), starlark.Float(dist)})
	}
	return starlark.NewList(res), nil
}

const docEmbedding = `plot.embedding(embeddings, labels, method="tsne", k=5, class_names=None, thumbnails=None,
               names=None, perplexity=30, n_iter=1000, seed=0, title="")

The interactive embedding view: a 2-D map of the rows of embeddings (t-SNE, or "pca") coloured by
class; hovering a point shows its label (and thumbnail); clicking it lists its k nearest neighbours
in the original space (cosine distance, computed here), with labels, thumbnails and whether they
share its class. thumbnails: image data URIs or file paths, or an image tensor (N, C, H, W) /
(N, H, W). Pass the view to show() or to a report's embedding().`

// progressAdapter shows t-SNE's iterations on the thread's stderr.
type progressAdapter struct{ bar *progress.Bar }

func (p progressAdapter) Add(n int)           { p.bar.Add(n) }
func (p progressAdapter) SetInfo(info string) { p.bar.SetInfo(info) }

func fnEmbedding(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var embV, labelsV starlark.Value
	method := "tsne"
	k := 5
	var namesV, thumbsV, pointNamesV starlark.Value = starlark.None, starlark.None, starlark.None
	perplexity := 30.0
	iters, seed := 1000, 0
	title := ""
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "embeddings", &embV, "labels", &labelsV, "method?", &method, "k?", &k,
		"class_names?", &namesV, "thumbnails?", &thumbsV, "names?", &pointNamesV, "perplexity?", &perplexity,
		"n_iter?", &iters, "seed?", &seed, "title?", &title); err != nil {
		return nil, err
	}
	emb, data, n, d, err := matrix(b.Name(), embV)
	if err != nil {
		return nil, err
	}
	var classNames []string
	if namesV != starlark.None {
		if classNames, err = plot.Strings(namesV); err != nil {
			return nil, fmt.Errorf("%s: class_names: %w", b.Name(), err)
		}
	}
	labels, classNames, err := plot.Labels(labelsV, classNames)
	if err != nil {
		return nil, fmt.Errorf("%s: labels: %w", b.Name(), err)
	}
	if len(labels) != n {
		return nil, fmt.Errorf("%s: %d labels for %d embeddings", b.Name(), len(labels), n)
	}
	if k < 1 || k >= n {
		return nil, fmt.Errorf("%s: k must be between 1 and %d, got %d", b.Name(), n-1, k)
	}
	ctx := lang.Context(thread)
	coords, err := project(ctx, thread, method, data, n, d, perplexity, iters, seed)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	nb, err := metrics.KNN(ctx, emb, n, d, nil, k, metrics.KNNOptions{}) // the set against itself: each row is left out
	if err != nil {
		return nil, fmt.Errorf("%s: neighbours: %w", b.Name(), err)
	}
	neighbors := make([][]int, n)
	distances := make([][]float32, n)
	for i := 0; i < n; i++ {
		for c := 0; c < nb.K; c++ {
			j := int(nb.Index[i*nb.K+c])
			if j >= 0 {
				neighbors[i] = append(neighbors[i], j)
				distances[i] = append(distances[i], nb.Dist[i*nb.K+c])
			}
		}
	}
	var thumbs []string
	if thumbsV != starlark.None {
		if thumbs, err = plot.Images(thumbsV); err != nil {
			return nil, fmt.Errorf("%s: thumbnails: %w", b.Name(), err)
		}
		if len(thumbs) != n {
			return nil, fmt.Errorf("%s: %d thumbnails for %d embeddings", b.Name(), len(thumbs), n)
		}
	}
	v, err := embview.New(coords, labels, classNames, neighbors, distances, thumbs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	if title == "" {
		title = fmt.Sprintf("%d embeddings (%s)", n, strings.ToUpper(method[:1])+method[1:])
	}
	v.SetTitle(title)
	if pointNamesV != starlark.None {
		names, err := plot.Strings(pointNamesV)
		if err != nil {
			return nil, fmt.Errorf("%s: names: %w", b.Name(), err)
		}
		v.SetNames(names)
	}
	return v, nil
}

// project maps the rows of x to 2-D.
func project(ctx context.Context, thread *starlark.Thread, method string, x []float64, n, d int, perplexity float64, iters, seed int) ([][2]float64, error) {
	var y []float64
	switch method {
	case "tsne":
		if n < 2 {
			return nil, fmt.Errorf("t-SNE needs at least 2 points")
		}
		if perplexity >= float64(n) {
			perplexity = math.Max(1, float64(n-1)/3)
		}
		bar := progress.New(lang.Stderr(thread), iters, "t-SNE")
		defer bar.Done()
		var err error
		y, _, err = tsne.Run(ctx, x, n, d, tsne.Options{Perplexity: perplexity, Iterations: iters, Seed: uint64(seed), Progress: progressAdapter{bar}})
		if err != nil {
			return nil, err
		}
	case "pca":
		r, err := pca.FitContext(ctx, x, n, d, 2, pca.Options{})
		if err != nil {
			return nil, err
		}
		y = r.Projection
		if r.K < 2 { // a rank-1 input: put everything on a line
			y = make([]float64, 2*n)
			for i := 0; i < n; i++ {
				y[2*i] = r.Projection[i]
			}
		}
	default:
		return nil, fmt.Errorf("method must be \"tsne\" or \"pca\", got %q", method)
	}
	out := make([][2]float64, n)
	for i := range out {
		out[i] = [2]float64{y[2*i], y[2*i+1]}
	}
	return out, nil
}

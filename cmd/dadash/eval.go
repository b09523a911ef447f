package main

import (
	"context"
	bin "encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"strings"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/builtins/metrics"
	"github.com/dadash/dadash/builtins/torch/npy"
)

// dadash eval: the metrics of a checkpoint (as the reference's eval.py) or
// of embeddings made by any tool.
func init() {
	addCommand(&command{"eval", "[flags]", "compute retrieval metrics of a checkpoint or of embeddings (.npy)", (*cli).evalCommand})
}

const evalUsage = `usage: dadash eval --source_path P --dataset NAME --test_path CHECKPOINT [--evaluation_metrics LIST]
       dadash eval --embeddings E.npy --labels L.npy [--evaluation_metrics LIST]
       dadash eval --query_embeddings Q.npy --query_labels QL.npy
                   --gallery_embeddings G.npy --gallery_labels GL.npy [--evaluation_metrics LIST]

Computes retrieval metrics and prints one "name value" line per metric (6 decimals), or one
JSON object with --json.

A checkpoint written by dadash's training loop (checkpoint_best.ckpt) is evaluated on the test
split of its dataset under --source_path (In-Shop: query against gallery), with the model and
transforms of its own configuration. Embeddings from any tool: float32 or float64 N x d arrays
and integer labels of length N; query = gallery with the query itself excluded, or a separate
query set against a gallery (the In-Shop protocol). Embeddings are L2-normalised first.

Flags:
  --evaluation_metrics LIST   comma-separated (default e_recall@1,e_recall@2,e_recall@4,nmi,f1,mAP_R);
                              e.g. e_recall@k, c_recall@k, mAP_R, map_at_r, mAP_1000, precision_at_1,
                              r_precision, nmi, ami, f1, rho_spectrum, dists@intra, dists@inter
  --json                      print a JSON object instead of lines
  --index flat|ivf            exact search (default) or an IVF index for very large sets
  --save_embeddings DIR       with --test_path: also write the embeddings and labels as .npy
                              (test_embeddings.npy, test_labels.npy; In-Shop: query_* and gallery_*)

Every dataset dadash trains on works with --test_path (the CUB/Cars/SOP/In-Shop layouts,
Fashion-MNIST, image folders, generated sets); --source_path and --dataset, when given, must
agree with the checkpoint (a synthetic or Fashion-MNIST run takes no --source_path).
`

func (c *cli) evalCommand(args []string) int {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var o struct {
		source, dataset, test, names, index, save string
		emb, labels, qemb, qlabels, gemb, glabels string
		asJSON, help                              bool
	}
	fs.StringVar(&o.source, "source_path", "", "")
	fs.StringVar(&o.dataset, "dataset", "", "")
	fs.StringVar(&o.test, "test_path", "", "")
	fs.StringVar(&o.save, "save_embeddings", "", "")
	fs.StringVar(&o.names, "evaluation_metrics", "e_recall@1,e_recall@2,e_recall@4,nmi,f1,mAP_R", "")
	fs.StringVar(&o.index, "index", "flat", "")
	fs.StringVar(&o.emb, "embeddings", "", "")
	fs.StringVar(&o.labels, "labels", "", "")
	fs.StringVar(&o.qemb, "query_embeddings", "", "")
	fs.StringVar(&o.qlabels, "query_labels", "", "")
	fs.StringVar(&o.gemb, "gallery_embeddings", "", "")
	fs.StringVar(&o.glabels, "gallery_labels", "", "")
	fs.BoolVar(&o.asJSON, "json", false, "")
	fs.BoolVar(&o.help, "help", false, "")
	fs.BoolVar(&o.help, "h", false, "")
	c.rootArgs = args // --sandbox: the files named here may be read
	if err := fs.Parse(args); err != nil {
		return c.fail(usagef("eval: %v (see dadash eval --help)", err))
	}
	if o.help {
		fmt.Fprint(c.stdout, evalUsage)
		return exitOK
	}
	if fs.NArg() > 0 {
		return c.fail(usagef("eval: unexpected argument %q (see dadash eval --help)", fs.Arg(0)))
	}
	var names []string
	for _, n := range strings.Split(o.names, ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return c.fail(usagef("eval: --evaluation_metrics is empty"))
	}
	if _, err := metrics.Check(names); err != nil {
		return c.fail(usagef("eval: --evaluation_metrics: %v", err))
	}
	if o.index != "flat" && o.index != "ivf" {
		return c.fail(usagef("eval: --index %s: want flat or ivf", o.index))
	}
	if o.save != "" && o.test == "" {
		return c.fail(usagef("eval: --save_embeddings goes with --test_path (embeddings given as files are already saved)"))
	}

	switch {
	case o.test != "":
		if o.emb != "" || o.qemb != "" || o.gemb != "" {
			return c.fail(usagef("eval: give either --test_path or embeddings, not both"))
		}
		return c.evalCheckpoint(o.test, o.source, o.dataset, o.save, names, o.asJSON)
	case o.emb != "":
		if o.labels == "" {
			return c.fail(usagef("eval: --embeddings needs --labels"))
		}
		emb, n, d, err := readEmbeddings(o.emb)
		if err != nil {
			return c.fail(err)
		}
		labels, err := readLabels(o.labels)
		if err != nil {
			return c.fail(err)
		}
		if len(labels) != n {
			return c.fail(fmt.Errorf("eval: %s has %d embeddings but %s has %d labels", o.emb, n, o.labels, len(labels)))
		}
		return c.printMetrics(emb, n, d, labels, names, metrics.Options{Index: o.index}, o.asJSON)
	case o.qemb != "" || o.gemb != "":
		if o.qemb == "" || o.qlabels == "" || o.gemb == "" || o.glabels == "" {
			return c.fail(usagef("eval: the query/gallery protocol needs --query_embeddings, --query_labels, --gallery_embeddings and --gallery_labels"))
		}
		q, nq, dq, err := readEmbeddings(o.qemb)
		if err != nil {
			return c.fail(err)
		}
		ql, err := readLabels(o.qlabels)
		if err != nil {
			return c.fail(err)
		}
		g, ng, dg, err := readEmbeddings(o.gemb)
		if err != nil {
			return c.fail(err)
		}
		gl, err := readLabels(o.glabels)
		if err != nil {
			return c.fail(err)
		}
		if dq != dg {
			return c.fail(fmt.Errorf("eval: query embeddings are %d-d but gallery embeddings %d-d", dq, dg))
		}
		if len(ql) != nq || len(gl) != ng {
			return c.fail(fmt.Errorf("eval: %d query embeddings with %d labels, %d gallery embeddings with %d labels", nq, len(ql), ng, len(gl)))
		}
		return c.printMetrics(g, ng, dg, gl, names, metrics.Options{Query: q, QueryLabels: ql, Index: o.index}, o.asJSON)
	}
	return c.fail(usagef("eval: give --test_path CHECKPOINT, or --embeddings and --labels, or the query/gallery files (see dadash eval --help)"))
}

func (c *cli) printMetrics(emb []float32, n, d int, labels []int64, names []string, opts metrics.Options, asJSON bool) int {
	res, err := metrics.Compute(context.Background(), emb, n, d, labels, names, opts)
	if err != nil {
		return c.fail(fmt.Errorf("eval: %w", err))
	}
	for _, w := range res.Warnings {
		fmt.Fprintln(c.stderr, "eval: warning:", w)
	}
	var pairs [][2]any
	for _, v := range res.Values {
		pairs = append(pairs, [2]any{v.Name, v.Value})
	}
	return c.printPairs(pairs, asJSON)
}

func (c *cli) printPairs(pairs [][2]any, asJSON bool) int {
	if asJSON {
		var b strings.Builder
		b.WriteString("{")
		for i, p := range pairs {
			if i > 0 {
				b.WriteString(", ")
			}
			k, _ := json.Marshal(p[0])
			v, err := json.Marshal(p[1])
			if err != nil {
				v = []byte("null") // NaN has no JSON form
			}
			b.Write(k)
			b.WriteString(": ")
			b.Write(v)
		}
		b.WriteString("}\n")
		fmt.Fprint(c.stdout, b.String())
		return exitOK
	}
	for _, p := range pairs {
		fmt.Fprintf(c.stdout, "%s %.6f\n", p[0], p[1])
	}
	return exitOK
}

// evalCheckpoint runs the stdlib's evaluate_checkpoint and prints its result.
func (c *cli) evalCheckpoint(path, source, dataset, save string, names []string, asJSON bool) int {
	var pairs [][2]any
	collect := starlark.NewBuiltin("__eval_result__", func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var d starlark.IterableMapping
		if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &d); err != nil {
			return nil, err
		}
		for _, kv := range d.Items() {
			k, _ := starlark.AsString(kv[0])
			f, _ := starlark.AsFloat(kv[1])
			pairs = append(pairs, [2]any{k, f})
		}
		return starlark.None, nil
	})
	h, err := c.hostWith(starlark.StringDict{"__eval_result__": collect})
	if err != nil {
		return c.fail(err)
	}
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = fmt.Sprintf("%q", n)
	}
	src := fmt.Sprintf(`load("@stdlib/recipe.star", "evaluate_checkpoint")
__eval_result__(evaluate_checkpoint(%q, [%s], source_path = %s, dataset = %s, save_embeddings = %s))
`, path, strings.Join(quoted, ", "), starStr(source), starStr(dataset), starStr(save))
	if code := c.fail(h.RunGenerated(context.Background(), "<eval>", src)); code != exitOK {
		return code
	}
	return c.printPairs(pairs, asJSON)
}

func starStr(s string) string {
	if s == "" {
		return "None"
	}
	return fmt.Sprintf("%q", s)
}

// readEmbeddings reads an N x d float32/float64 .npy file as float32.
func readEmbeddings(path string) ([]float32, int, int, error) {
	a, err := npy.ReadFile(path)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("eval: %w", err)
	}
	if len(a.Shape) != 2 {
		return nil, 0, 0, fmt.Errorf("eval: %s holds an array of shape %v; embeddings must be N x d", path, a.Shape)
	}
	n, d := int(a.Shape[0]), int(a.Shape[1])
	out := make([]float32, n*d)
	switch a.DType {
	case "float32":
		for i := range out {
			out[i] = math.Float32frombits(bin.LittleEndian.Uint32(a.Data[4*i:]))
		}
	case "float64":
		for i := range out {
			out[i] = float32(math.Float64frombits(bin.LittleEndian.Uint64(a.Data[8*i:])))
		}
	default:
		return nil, 0, 0, fmt.Errorf("eval: %s holds %s values; embeddings must be float32 or float64", path, a.DType)
	}
	return out, n, d, nil
}

// readLabels reads a 1-d integer .npy file.
func readLabels(path string) ([]int64, error) {
	a, err := npy.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	if len(a.Shape) != 1 {
		return nil, fmt.Errorf("eval: %s holds an array of shape %v; labels must be 1-d", path, a.Shape)
	}
	n := int(a.Shape[0])
	out := make([]int64, n)
	size, err := npy.ItemSize(a.DType)
	if err != nil {
		return nil, fmt.Errorf("eval: %s: %w", path, err)
	}
	for i := range out {
		b := a.Data[i*size:]
		switch a.DType {
		case "int64":
			out[i] = int64(bin.LittleEndian.Uint64(b))
		case "int32":
			out[i] = int64(int32(bin.LittleEndian.Uint32(b)))
		case "int16":
			out[i] = int64(int16(bin.LittleEndian.Uint16(b)))
		case "int8":
			out[i] = int64(int8(b[0]))
		case "uint8":
			out[i] = int64(b[0])
		default:
			return nil, fmt.Errorf("eval: %s holds %s values; labels must be integers", path, a.DType)
		}
	}
	return out, nil
}

package metrics

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/dadash/dadash/lang"
)

// kind is what a metric computes; the name adds its parameter.
type kind int

const (
	kindRecall       kind = iota // e_recall@k, c_recall@k
	kindPrecisionAt1             // precision_at_1 (pytorch-metric-learning)
	kindRPrecision               // r_precision (pytorch-metric-learning)
	kindMAPR                     // mAP_R (the reference's MAP@R)
	kindMapAtR                   // map_at_r (pytorch-metric-learning's MAP@R)
	kindMAP1000                  // mAP_1000
	kindNMI                      // nmi
	kindAMI                      // ami
	kindF1                       // f1
	kindRho                      // rho_spectrum@k
	kindDistsIntra               // dists@intra
	kindDistsInter               // dists@inter
	kindDistsRatio               // dists@intra_over_inter
)

// What a metric needs computed first; one of each is shared by all the
// metrics of a Compute call that need it.
const (
	needKNN        = "knn"         // a k-nearest-neighbour search per query
	needKMeans     = "kmeans"      // a k-means clustering of the evaluated set
	needSVD        = "svd"         // the singular values of the evaluated set
	needClassMeans = "class_means" // per-class means and cosine distances
)

// What a query with no relevant gallery item (no other item of its class)
// does to a per-query metric.
const (
	loneScoresZero = "scores 0"
	loneSkipped    = "is skipped"
)

// metricDef is one row of the table of metrics: a name (with "@k" when it
// takes a parameter), what it computes and needs, and its definition.
type metricDef struct {
	pattern string
	kind    kind
	cosine  bool // c_recall: neighbours by cosine similarity
	// parseK reads the parameter of an "@k" pattern (name for messages).
	parseK func(name, arg string) (int, error)
	k      int // the parameter of a pattern without "@k" (rho_spectrum)
	needs  string
	// depth is how many neighbours a kNN metric needs and how many ranks
	// its average precision sums, given the largest n_c and o_c among the
	// queries' classes; exact says a depth beyond the gallery is an error
	// (recall@k asks for exactly k) rather than capped.
	depth func(s spec, maxNc, maxOthers int) (need, ap int)
	exact bool
	lone  string // per-query metrics: what a query without a relevant item does
	doc   string
}

func positiveK(name, arg string) (int, error) {
	k, err := strconv.Atoi(arg)
	if err != nil || k < 1 {
		base, _, _ := strings.Cut(name, "@")
		return 0, fmt.Errorf("metric %q: k must be a positive integer, as in %s@1", name, base)
	}
	return k, nil
}

func rhoK(name, arg string) (int, error) {
	k, err := strconv.Atoi(arg)
	if err != nil {
		return 0, fmt.Errorf("metric %q: k must be an integer, as in rho_spectrum@2", name)
	}
	if k == 0 {
		return 0, fmt.Errorf("metric %q: k = 0 is the normalised spectrum itself, not a number; use k > 0 for KL(uniform || spectrum without its first k-1 values) or k < 0 for KL(spectrum || uniform)", name)
	}
	return k, nil
}

func depthK(s spec, _, _ int) (int, int)             { return s.k, 0 }
func depthOne(_ spec, _, _ int) (int, int)           { return 1, 0 }
func depthOthers(_ spec, _, others int) (int, int)   { return min(others, capR), 0 }
func depthOthersAP(_ spec, _, others int) (int, int) { return min(others, capR), min(others, capR) }
func depthClassAP(_ spec, nc, _ int) (int, int)      { return min(nc, capR), min(nc, capR) }
func depthCap(_ spec, _, _ int) (int, int)           { return capR, capR }
func noDepth(_ spec, _, _ int) (int, int)            { return 0, 0 }

// metricTable is the one list of metrics: Available, parsing, planning,
// metrics.check and the documentation of metrics.compute all read it.
var metricTable = []metricDef{
	{pattern: "e_recall@k", kind: kindRecall, parseK: positiveK, needs: needKNN, depth: depthK, exact: true, lone: loneScoresZero,
		doc: "fraction of queries with a same-class item among their k nearest neighbours (Euclidean ranking; every query counts)."},
	{pattern: "c_recall@k", kind: kindRecall, cosine: true, parseK: positiveK, needs: needKNN, depth: depthK, exact: true, lone: loneScoresZero,
		doc: "the same with neighbours ranked by cosine similarity."},
	{pattern: "precision_at_1", kind: kindPrecisionAt1, needs: needKNN, depth: depthOne, lone: loneSkipped,
		doc: "precision@1."},
	{pattern: "r_precision", kind: kindRPrecision, needs: needKNN, depth: depthOthers, lone: loneSkipped,
		doc: "hits among the first R = min(o_c, 1000) neighbours, / R."},
	{pattern: "mAP_R", kind: kindMAPR, needs: needKNN, depth: depthClassAP, lone: loneScoresZero,
		doc: "the reference's MAP@R: sum over the first R = min(n_c, 1000) neighbours of hit_i * precision@i, divided by R (in the self protocol n_c counts the query)."},
	{pattern: "map_at_r", kind: kindMapAtR, needs: needKNN, depth: depthOthersAP, lone: loneSkipped,
		doc: "pytorch-metric-learning's MAP@R: the same with R = min(o_c, 1000)."},
	{pattern: "mAP_1000", kind: kindMAP1000, needs: needKNN, depth: depthCap, lone: loneScoresZero,
		doc: "sum over the first 1000 neighbours of hit_i * precision@i, / n_c."},
	{pattern: "nmi", kind: kindNMI, needs: needKMeans, depth: noDepth,
		doc: "k-means (faiss; k = number of classes, kmeans_iter iterations), each point to its nearest centroid, against the labels: sklearn's normalized mutual information (arithmetic)."},
	{pattern: "ami", kind: kindAMI, needs: needKMeans, depth: noDepth,
		doc: "the same clustering's adjusted mutual information (sklearn's, arithmetic)."},
	{pattern: "f1", kind: kindF1, needs: needKMeans, depth: noDepth,
		doc: "pair-counting F1 of the same clustering against the labels."},
	{pattern: "rho_spectrum", kind: kindRho, k: DefaultRhoMode, needs: needSVD, depth: noDepth,
		doc: "rho_spectrum@2."},
	{pattern: "rho_spectrum@k", kind: kindRho, parseK: rhoK, needs: needSVD, depth: noDepth,
		doc: "spectral decay: KL(uniform || normalised singular values without the first k-1) for k > 0, KL(spectrum || uniform) for k < 0."},
	{pattern: "dists@intra", kind: kindDistsIntra, needs: needClassMeans, depth: noDepth,
		doc: "mean intra-class cosine distance."},
	{pattern: "dists@inter", kind: kindDistsInter, needs: needClassMeans, depth: noDepth,
		doc: "mean cosine distance between class centres."},
	{pattern: "dists@intra_over_inter", kind: kindDistsRatio, needs: needClassMeans, depth: noDepth,
		doc: "dists@intra / max(dists@inter, 1e-8)."},
}

// spec is one parsed metric name.
type spec struct {
	name   string
	kind   kind
	k      int  // recall's k; rho_spectrum's mode
	cosine bool // c_recall: neighbours by cosine similarity
	def    *metricDef
}

func (s spec) needsKNN() bool    { return s.def.needs == needKNN }
func (s spec) needsKMeans() bool { return s.def.needs == needKMeans }

// capR caps R (the class size that MAP@R and R-precision look at) and the
// depth of mAP_1000, so the search depth stays bounded on huge classes.
const capR = 1000

// DefaultRhoMode is the k of a bare "rho_spectrum": the reference's paper
// figures plot rho_spectrum@2 (the spectrum without its first singular value)
// against recall (metrlib/Result_Evaluations.py of Roth et al.).
const DefaultRhoMode = 2

// Available lists the metric names Compute accepts; "@k" stands for any
// positive integer (any non-zero integer for rho_spectrum).
func Available() []string {
	out := make([]string, len(metricTable))
	for i, d := range metricTable {
		out[i] = d.pattern
	}
	return out
}

// parseName reads one metric name.
func parseName(name string) (spec, error) {
	for i := range metricTable {
		d := &metricTable[i]
		base, hasK := strings.CutSuffix(d.pattern, "@k")
		if !hasK {
			if name == d.pattern {
				return spec{name: name, kind: d.kind, k: d.k, cosine: d.cosine, def: d}, nil
			}
			continue
		}
		if arg, ok := strings.CutPrefix(name, base+"@"); ok {
			k, err := d.parseK(name, arg)
			if err != nil {
				return spec{}, err
			}
			return spec{name: name, kind: d.kind, k: k, cosine: d.cosine, def: d}, nil
		}
	}
	return spec{}, unknownName(name)
}

// parseNames reads a list of names; a repeated name is computed once.
func parseNames(names []string) ([]spec, error) {
	if len(names) == 0 {
		return nil, fmt.Errorf("no metric names given; choose from %s", strings.Join(Available(), ", "))
	}
	var out []spec
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			continue
		}
		seen[n] = true
		s, err := parseName(n)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// Check validates metric names without computing anything, so a run can
// refuse a bad name before its first step; it returns the names with
// repeats removed, in order.
func Check(names []string) ([]string, error) {
	specs, err := parseNames(names)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(specs))
	for i, s := range specs {
		out[i] = s.name
	}
	return out, nil
}

func unknownName(name string) error {
	return fmt.Errorf("unknown metric %q (did you mean %q?); known metrics: %s",
		name, closestName(name), strings.Join(Available(), ", "))
}

// closestName is the known name nearest to name by edit distance, ignoring
// case first (MAP_R -> mAP_R); a pattern is completed with name's own
// "@..." suffix (recall@5 -> e_recall@5).
func closestName(name string) string {
	_, arg, hasAt := strings.Cut(name, "@")
	if !hasAt || arg == "" {
		arg = "1"
	}
	best, bestLower, bestExact := "", -1, -1
	for _, p := range Available() {
		cand := p
		if strings.HasSuffix(p, "@k") {
			if p == "rho_spectrum@k" && !hasAt {
				continue // the bare name is listed too
			}
			cand = strings.TrimSuffix(p, "k") + arg
		}
		dl := lang.EditDistance(strings.ToLower(name), strings.ToLower(cand))
		de := lang.EditDistance(name, cand)
		if bestLower < 0 || dl < bestLower || (dl == bestLower && de < bestExact) {
			best, bestLower, bestExact = cand, dl, de
		}
	}
	return best
}

// scope says what a metric is computed over, in the self protocol or with
// a separate gallery.
func (d *metricDef) scope(queryGallery bool) string {
	switch {
	case d.needs == needKNN && queryGallery:
		return "each query against the gallery"
	case d.needs == needKNN:
		return "each item against the others"
	case queryGallery:
		return "queries and gallery together"
	}
	return "the whole set"
}

// namesDoc is the "Names" part of metrics.compute's help, from the table.
func namesDoc() string {
	var b strings.Builder
	const col = 26
	for _, d := range metricTable {
		head := "  " + d.pattern
		text := d.doc
		if d.lone != "" {
			text += " A query without a relevant item (o_c = 0) " + d.lone + "."
		}
		if len(head) >= col {
			b.WriteString(head + "\n")
			head = ""
		}
		b.WriteString(fill(head+strings.Repeat(" ", col-len(head)), text, strings.Repeat(" ", col), 100) + "\n")
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// fill writes text after first, breaking at spaces before width; the
// other lines start with rest.
func fill(first, text, rest string, width int) string {
	var b strings.Builder
	line, empty := first, true
	for _, w := range strings.Fields(text) {
		if !empty && len(line)+1+len(w) > width {
			b.WriteString(line + "\n")
			line, empty = rest, true
		}
		if !empty {
			line += " "
		}
		line += w
		empty = false
	}
	b.WriteString(line)
	return b.String()
}

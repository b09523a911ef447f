package metrics

import (
	"fmt"
	"github.com/dadash/dadash/lang"
	"strconv"
	"strings"
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

// spec is one parsed metric name.
type spec struct {
	name   string
	kind   kind
	k      int  // recall's k; rho_spectrum's mode
	cosine bool // c_recall: neighbours by cosine similarity
}

func (s spec) needsKNN() bool { return s.kind <= kindMAP1000 }

func (s spec) needsKMeans() bool {
	return s.kind == kindNMI || s.kind == kindAMI || s.kind == kindF1
}

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
	return []string{
		"e_recall@k", "c_recall@k", "precision_at_1", "r_precision",
		"mAP_R", "map_at_r", "mAP_1000", "nmi", "ami", "f1",
		"rho_spectrum", "rho_spectrum@k",
		"dists@intra", "dists@inter", "dists@intra_over_inter",
	}
}

var plainNames = map[string]kind{
	"precision_at_1":         kindPrecisionAt1,
	"r_precision":            kindRPrecision,
	"mAP_R":                  kindMAPR,
	"map_at_r":               kindMapAtR,
	"mAP_1000":               kindMAP1000,
	"nmi":                    kindNMI,
	"ami":                    kindAMI,
	"f1":                     kindF1,
	"dists@intra":            kindDistsIntra,
	"dists@inter":            kindDistsInter,
	"dists@intra_over_inter": kindDistsRatio,
}

// parseName reads one metric name.
func parseName(name string) (spec, error) {
	if k, ok := plainNames[name]; ok {
		return spec{name: name, kind: k}, nil
	}
	if name == "rho_spectrum" {
		return spec{name: name, kind: kindRho, k: DefaultRhoMode}, nil
	}
	base, arg, hasAt := strings.Cut(name, "@")
	if hasAt {
		switch base {
		case "e_recall", "c_recall":
			k, err := strconv.Atoi(arg)
			if err != nil || k < 1 {
				return spec{}, fmt.Errorf("metric %q: k must be a positive integer, as in %s@1", name, base)
			}
			return spec{name: name, kind: kindRecall, k: k, cosine: base == "c_recall"}, nil
		case "rho_spectrum":
			k, err := strconv.Atoi(arg)
			if err != nil {
				return spec{}, fmt.Errorf("metric %q: k must be an integer, as in rho_spectrum@2", name)
			}
			if k == 0 {
				return spec{}, fmt.Errorf("metric %q: k = 0 is the normalised spectrum itself, not a number; use k > 0 for KL(uniform || spectrum without its first k-1 values) or k < 0 for KL(spectrum || uniform)", name)
			}
			return spec{name: name, kind: kindRho, k: k}, nil
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

package metrics

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/lang"
)

// The names the pre-table code accepted, copied once: the table keeps them.
func TestAvailableUnchanged(t *testing.T) {
	want := "e_recall@k c_recall@k precision_at_1 r_precision mAP_R map_at_r mAP_1000 nmi ami f1 " +
		"rho_spectrum rho_spectrum@k dists@intra dists@inter dists@intra_over_inter"
	if got := strings.Join(Available(), " "); got != want {
		t.Errorf("Available() = %s\nwant %s", got, want)
	}
}

// help(metrics.compute) documents every row, in the table's order, and
// every row is consistent: kNN rows plan a depth and say what a query
// without a relevant item does; the others do neither.
func TestComputeDocMatchesTable(t *testing.T) {
	doc, ok := lang.DocOf("metrics.compute")
	if !ok {
		t.Fatal("no documentation for metrics.compute")
	}
	at := -1
	for _, d := range metricTable {
		loc := regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(d.pattern) + `(\s|$)`).FindStringIndex(doc)
		if loc == nil {
			t.Errorf("%s is not documented in help(metrics.compute)", d.pattern)
			continue
		}
		if loc[0] < at {
			t.Errorf("%s is documented out of the table's order", d.pattern)
		}
		at = loc[0]
		s, err := parseName(strings.Replace(d.pattern, "@k", "@3", 1))
		if err != nil || s.def != &metricTable[indexOf(d.pattern)] {
			t.Errorf("%s does not parse back to its row: %v", d.pattern, err)
		}
		need, _ := d.depth(s, 10, 9)
		if knn := d.needs == needKNN; knn != (need > 0) || knn != (d.lone != "") {
			t.Errorf("%s: needs %s, depth %d, without_relevant %q", d.pattern, d.needs, need, d.lone)
		}
		if d.doc == "" {
			t.Errorf("%s has no doc", d.pattern)
		}
	}
}

func indexOf(pattern string) int {
	for i, d := range metricTable {
		if d.pattern == pattern {
			return i
		}
	}
	return -1
}

func TestCheck(t *testing.T) {
	got, err := Check([]string{"e_recall@1", "nmi", "e_recall@1", "rho_spectrum"})
	if err != nil || strings.Join(got, ",") != "e_recall@1,nmi,rho_spectrum" {
		t.Errorf("Check: %v %v", got, err)
	}
	_, err = Check([]string{"e_recall@1", "recal@1"})
	wantErr(t, err, `unknown metric "recal@1" (did you mean "e_recall@1"?)`)
	_, err = Check([]string{"c_recall@x"})
	wantErr(t, err, `metric "c_recall@x": k must be a positive integer, as in c_recall@1`)
	_, err = Check(nil)
	wantErr(t, err, "no metric names given")
}

// Queries without a relevant gallery item are counted and said, in both
// protocols, naming what each asked-for metric does with them.
func TestQueriesWithoutRelevant(t *testing.T) {
	gal := circle(10, 80, 20, 0)
	gl := []int64{0, 1, 1, 0}
	o := Options{Query: circle(0, 90, 60, 45), QueryLabels: []int64{0, 1, 5, 6}}
	r := compute(t, gal, 2, gl, []string{"e_recall@1", "map_at_r", "nmi"}, o)
	if r.Queries != 4 || r.QueriesWithoutRelevant != 2 {
		t.Errorf("%d of %d queries without a relevant item, want 2 of 4", r.QueriesWithoutRelevant, r.Queries)
	}
	want := "2 of 4 queries have no item of their class in the gallery: e_recall@1 score them 0; map_at_r leave them out"
	if len(r.Warnings) != 1 || r.Warnings[0] != want {
		t.Errorf("warnings %q, want %q", r.Warnings, want)
	}
	// Only set metrics: the count is there, no warning.
	r = compute(t, gal, 2, gl, []string{"nmi"}, o)
	if r.QueriesWithoutRelevant != 2 || len(r.Warnings) != 0 {
		t.Errorf("nmi alone: %d, %q", r.QueriesWithoutRelevant, r.Warnings)
	}
	// Self protocol: the class of one item (label 9).
	r = compute(t, circle(0, 10, 30, 35, 90, 100), 2, []int64{7, 7, 3, 7, 3, 9}, []string{"mAP_R"}, Options{})
	if r.QueriesWithoutRelevant != 1 || len(r.Warnings) != 1 || r.Warnings[0] != "1 of 6 queries are the only item of their class: mAP_R score them 0" {
		t.Errorf("self: %d, %q", r.QueriesWithoutRelevant, r.Warnings)
	}
	// Every query has company: nothing to say.
	r = compute(t, gal, 2, gl, []string{"e_recall@1"}, Options{})
	if r.QueriesWithoutRelevant != 0 || len(r.Warnings) != 0 {
		t.Errorf("no lone queries: %d, %q", r.QueriesWithoutRelevant, r.Warnings)
	}
}

// metrics.compute prints the warning to the script's stderr, once per run.
func TestComputeWarnsOnce(t *testing.T) {
	var stderr bytes.Buffer
	thread := &starlark.Thread{}
	lang.SetOutput(thread, &bytes.Buffer{}, &stderr)
	rows := func(deg ...float64) starlark.Value {
		x := circle(deg...)
		var out []starlark.Value
		for i := 0; i < len(x); i += 2 {
			out = append(out, starlark.NewList([]starlark.Value{starlark.Float(x[i]), starlark.Float(x[i+1])}))
		}
		return starlark.NewList(out)
	}
	ints := func(v ...int) starlark.Value {
		var out []starlark.Value
		for _, i := range v {
			out = append(out, starlark.MakeInt(i))
		}
		return starlark.NewList(out)
	}
	call := func() {
		_, err := starlark.Call(thread, Module.Members()["compute"], starlark.Tuple{rows(10, 80, 20, 0), ints(0, 1, 1, 0),
			starlark.NewList([]starlark.Value{starlark.String("e_recall@1")})},
			[]starlark.Tuple{{starlark.String("query_embeddings"), rows(0, 90, 60)}, {starlark.String("query_labels"), ints(0, 1, 5)}})
		if err != nil {
			t.Fatal(err)
		}
	}
	call()
	call()
	want := "metrics.compute: warning: 1 of 3 queries have no item of their class in the gallery: e_recall@1 score them 0\n"
	if stderr.String() != want {
		t.Errorf("stderr %q, want %q", stderr.String(), want)
	}
}

package report

import (
	"math"
	"regexp"
	"strings"
	"testing"
)

// The results table of the issue: the raw-pixel row has the best MAP@R but
// not the best recall@1; each column's own best is marked, and each column
// is written at one precision.
func TestTableBestPerColumn(t *testing.T) {
	tab := Table{
		Header: []string{"method", "e_recall@1", "mAP_R", "lr"},
		Rows: [][]any{
			{"raw pixels", 0.5, 0.4141, 1e-4},
			{"proxy loss", 0.9094, 0.4111, 5e-5},
			{"proxy loss + DADA", 0.9094, 0.3999, math.NaN()},
		},
		Best: []BestCol{{Col: 1}, {Col: 2}, {Col: 3, Lowest: true}},
	}
	b, err := tab.HTML("t1")
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	cells := regexp.MustCompile(`<td class="num best">([^<]*)</td>`).FindAllStringSubmatch(html, -1)
	var best []string
	for _, c := range cells {
		best = append(best, c[1])
	}
	// Ties are all marked; NaN never wins.
	if got, want := strings.Join(best, " "), "0.4141 0.9094 5.00e-05 0.9094"; got != want {
		t.Errorf("best cells %q, want %q\n%s", got, want, html)
	}
	for _, want := range []string{">0.5000<", ">0.9094<", ">1.00e-04<", ">nan<"} {
		if !strings.Contains(html, want) {
			t.Errorf("no cell %s in\n%s", want, html)
		}
	}
	if strings.Contains(html, `tr class="best"`) {
		t.Errorf("a whole row is marked:\n%s", html)
	}
}

func TestColumnFormat(t *testing.T) {
	for _, c := range []struct {
		col  []any
		prec int
		want string
	}{
		{[]any{0.5, 0.9094, 0.41414}, -1, "0.5000 0.9094 0.4141"},
		{[]any{12.345, 0.5}, -1, "12.35 0.50"},
		{[]any{1234.6, 2.0}, -1, "1235 2"},
		{[]any{int64(1), int64(60)}, -1, "1 60"},
		{[]any{int64(3), 0.25}, -1, "3 0.2500"},
		{[]any{3e-7, 1e-8}, -1, "3.00e-07 1.00e-08"},
		{[]any{0.5, 0.25}, 2, "0.50 0.25"},
		{[]any{"a", nil, 0.5}, -1, "a  0.5000"},
	} {
		rows := make([][]any, len(c.col))
		for i, v := range c.col {
			rows[i] = []any{v}
		}
		f := ColumnFormat(rows, 0, c.prec)
		var got []string
		for _, r := range rows {
			s, _ := f(r[0])
			got = append(got, s)
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("%v (precision %d): %q, want %q", c.col, c.prec, strings.Join(got, " "), c.want)
		}
	}
}

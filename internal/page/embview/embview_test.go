package embview

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/dadash/dadash/internal/page/htmlcheck"
)

func TestNewDropsSelfAndNumbersClasses(t *testing.T) {
	v, err := New([][2]float64{{0, 0}, {1, 1}, {2, 2}, {3, 3}}, []int{5, 2, 5, 9}, []string{2: "two", 5: "five"},
		[][]int{{0, 2, 1}, {1, 0}, {2, 0}, {3, 2}}, [][]float32{{0, 0.5, 1}, {0, 0.7}, {0, 0.5}, {0, 0.1}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := v.WriteFragment(&buf, "v1"); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`dadash\.embedding\("v1", (.*)\);</script>`).FindStringSubmatch(buf.String())
	if m == nil {
		t.Fatalf("no embedding script in %s", buf.String())
	}
	var d struct {
		Classes []string
		Label   []int
		NN      [][]int
		ND      [][]float64
	}
	if err := json.Unmarshal([]byte(m[1]), &d); err != nil {
		t.Fatal(err)
	}
	if strings.Join(d.Classes, ",") != "two,five,9" {
		t.Errorf("classes %v, want two, five, 9", d.Classes)
	}
	if want := []int{1, 0, 1, 2}; !equal(d.Label, want) {
		t.Errorf("labels %v, want %v", d.Label, want)
	}
	if !equal(d.NN[0], []int{2, 1}) || d.ND[0][0] != 0.5 || len(d.ND[0]) != 2 {
		t.Errorf("neighbours of 0: %v %v, want [2 1] [0.5 1] (itself dropped)", d.NN[0], d.ND[0])
	}
	if v.String() != "<embedding view: 4 points, 3 classes, 2 neighbours each>" {
		t.Errorf("String() = %s", v)
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestNewErrors(t *testing.T) {
	pts := [][2]float64{{0, 0}, {1, 1}}
	for _, c := range []struct {
		labels []int
		nn     [][]int
		nd     [][]float32
		thumbs []string
		want   string
	}{
		{[]int{0}, nil, nil, nil, "1 labels for 2 points"},
		{[]int{0, 1}, [][]int{{1}}, nil, nil, "neighbours for 1 points"},
		{[]int{0, 1}, [][]int{{1}, {0}}, [][]float32{{1}}, nil, "distances for 1 points"},
		{[]int{0, 1}, [][]int{{1}, {0}}, [][]float32{{1, 2}, {1}}, nil, "point 0 has 1 neighbours but 2 distances"},
		{[]int{0, 1}, [][]int{{1}, {-1}}, nil, nil, "neighbour 0 of point 1 is -1"},
		{[]int{0, 1}, nil, [][]float32{{1}, {1}}, nil, "distances without neighbours"},
		{[]int{0, 1}, nil, nil, []string{"", "data:text/plain,x"}, "thumbnail 1: "},
	} {
		_, err := New(pts, c.labels, nil, c.nn, c.nd, c.thumbs)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want one containing %q", err, c.want)
		}
	}
}

func TestStandalone(t *testing.T) {
	v, err := New([][2]float64{{0, 0}}, []int{0}, []string{"</script>"}, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	v.SetTitle("a <b> view")
	if err := v.SetNames([]string{"x", "y"}); err == nil {
		t.Error("no error for 2 names for 1 point")
	}
	var buf bytes.Buffer
	if err := v.RenderHTML(&buf); err != nil {
		t.Fatal(err)
	}
	d, err := htmlcheck.Check(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if d.Count("section", "embview") != 1 || d.Count("aside", "emb-panel") != 1 || !d.HasText("Hover a point") {
		t.Error("the view lacks its map, panel or hint")
	}
}

// Package embview is the embedding view of reports and the REPL: a 2-D map
// of an embedding (t-SNE or PCA coordinates, computed elsewhere) coloured by
// class. Hovering a point shows its label and thumbnail; clicking it lists
// its k nearest neighbours in the original embedding space (indices and
// distances computed by the caller) in a side panel, with their labels,
// distances, thumbnails and whether they share the query's class. Clicking
// a neighbour makes it the query.
//
// All data goes into the page as JSON; the drawing and the panel are the
// page runtime's (internal/page/assets/runtime.js).
package embview

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/internal/page"
	"github.com/dadash/dadash/lang"
)

// View is an embedding view. It is immutable once handed to Starlark.
type View struct {
	title   string
	names   []string // hover name of each point; nil: "#index"
	classes []string // legend, in label order
	x, y    []page.Float
	label   []int // index into classes
	nn      [][]int
	nd      [][]page.Float
	thumbs  []string
	k       int
}

var (
	_ starlark.HasAttrs = (*View)(nil)
	_ page.Fragment     = (*View)(nil)
	_ page.Renderer     = (*View)(nil)
)

// New makes a view of n points. coords are the 2-D positions; labels the
// class of each point, named by classNames[label] (a label without a name
// shows its number); neighbors[i] are the indices of point i's nearest
// neighbours in the original space, nearest first, and distances[i] their
// distances (both may be nil: no panel; distances alone may be nil: no
// distances shown). A point listed as its own neighbour is dropped, so a
// k+1 search over the same set can be passed as it is. thumbs are image
// data URIs or image files ("" or nil: none).
func New(coords [][2]float64, labels []int, classNames []string, neighbors [][]int, distances [][]float32, thumbs []string) (*View, error) {
	n := len(coords)
	if len(labels) != n {
		return nil, fmt.Errorf("embedding view: %d labels for %d points", len(labels), n)
	}
	v := &View{x: make([]page.Float, n), y: make([]page.Float, n), label: make([]int, n)}
	for i, c := range coords {
		if !finite(c[0]) || !finite(c[1]) {
			return nil, fmt.Errorf("embedding view: point %d is at (%v, %v); the map needs finite coordinates", i, c[0], c[1])
		}
		v.x[i], v.y[i] = page.Float(c[0]), page.Float(c[1])
	}

	// Dense class indices in label order, so the legend reads 0, 1, 2, ...
	distinct := map[int]int{}
	var order []int
	for _, l := range labels {
		if _, ok := distinct[l]; !ok {
			distinct[l] = 0
			order = append(order, l)
		}
	}
	sort.Ints(order)
	for k, l := range order {
		distinct[l] = k
		name := strconv.Itoa(l)
		if l >= 0 && l < len(classNames) {
			name = classNames[l]
		}
		v.classes = append(v.classes, name)
	}
	for i, l := range labels {
		v.label[i] = distinct[l]
	}

	if neighbors != nil {
		if len(neighbors) != n {
			return nil, fmt.Errorf("embedding view: neighbours for %d points, want one list per point (%d)", len(neighbors), n)
		}
		if distances != nil && len(distances) != n {
			return nil, fmt.Errorf("embedding view: distances for %d points, want one list per point (%d)", len(distances), n)
		}
		v.nn = make([][]int, n)
		if distances != nil {
			v.nd = make([][]page.Float, n)
		}
		for i, row := range neighbors {
			if distances != nil && len(distances[i]) != len(row) {
				return nil, fmt.Errorf("embedding view: point %d has %d neighbours but %d distances", i, len(row), len(distances[i]))
			}
			nn := make([]int, 0, len(row))
			var nd []page.Float
			for j, idx := range row {
				if idx < 0 || idx >= n {
					return nil, fmt.Errorf("embedding view: neighbour %d of point %d is %d, outside 0..%d", j, i, idx, n-1)
				}
				if idx == i {
					continue
				}
				nn = append(nn, idx)
				if distances != nil {
					nd = append(nd, page.Float(distances[i][j]))
				}
			}
			v.nn[i] = nn
			if distances != nil {
				v.nd[i] = nd
			}
			v.k = max(v.k, len(nn))
		}
	} else if distances != nil {
		return nil, fmt.Errorf("embedding view: distances without neighbours")
	}

	if thumbs != nil {
		if len(thumbs) != n {
			return nil, fmt.Errorf("embedding view: %d thumbnails for %d points", len(thumbs), n)
		}
		v.thumbs = make([]string, n)
		for i, t := range thumbs {
			if t == "" {
				continue
			}
			uri, err := page.DataURI(t)
			if err != nil {
				return nil, fmt.Errorf("embedding view: thumbnail %d: %w", i, err)
			}
			v.thumbs[i] = uri
		}
	}
	return v, nil
}

// SetTitle sets the title drawn above the map.
func (v *View) SetTitle(t string) { v.title = t }

// SetNames sets the hover name of each point (e.g. its image file).
func (v *View) SetNames(names []string) error {
	if names != nil && len(names) != len(v.x) {
		return fmt.Errorf("embedding view: %d names for %d points", len(names), len(v.x))
	}
	v.names = names
	return nil
}

// Len is the number of points.
func (v *View) Len() int { return len(v.x) }

// data is what the page runtime reads.
type data struct {
	Title   string         `json:"title"`
	Classes []string       `json:"classes"`
	X       []page.Float   `json:"x"`
	Y       []page.Float   `json:"y"`
	Label   []int          `json:"label"`
	Names   []string       `json:"names,omitempty"`
	Thumbs  []string       `json:"thumbs,omitempty"`
	NN      [][]int        `json:"nn,omitempty"`
	ND      [][]page.Float `json:"nd,omitempty"`
	Size    float64        `json:"size"`
}

// WriteFragment implements page.Fragment.
func (v *View) WriteFragment(w io.Writer, id string) error {
	d := data{Title: v.title, Classes: v.classes, X: v.x, Y: v.y, Label: v.label, Names: v.names,
		Thumbs: v.thumbs, NN: v.nn, ND: v.nd, Size: symbolSize(len(v.x))}
	js, err := page.JSON(d)
	if err != nil {
		return err
	}
	hint := "Hover a point for its label."
	if v.nn != nil {
		hint = fmt.Sprintf("Click a point to list its %d nearest neighbours in the embedding space.", v.k)
	}
	eid := page.Escape(id)
	_, err = fmt.Fprintf(w, "<section class=\"embview\" id=\"%s\"><div class=\"emb-map\" id=\"%s-c\"></div>"+
		"<aside class=\"emb-panel\" id=\"%s-p\"><p class=\"hint\">%s</p></aside></section>\n", eid, eid, eid, page.Escape(hint))
	if err != nil {
		return err
	}
	return page.ChartScript(w, "embedding", id, js)
}

func symbolSize(n int) float64 {
	switch {
	case n <= 500:
		return 7
	case n <= 3000:
		return 5
	case n <= 20000:
		return 4
	}
	return 3
}

// RenderHTML implements page.Renderer.
func (v *View) RenderHTML(w io.Writer) error {
	title := v.title
	if title == "" {
		title = "embedding view"
	}
	return page.Standalone(w, title, v)
}

// Save writes the view as a standalone HTML page, atomically.
func (v *View) Save(path string) error { return page.WriteFile(path, v) }

// ---------------------------------------------------------------- Starlark value

func (v *View) String() string {
	s := fmt.Sprintf("<embedding view: %d points, %d classes", len(v.x), len(v.classes))
	if v.nn != nil {
		s += fmt.Sprintf(", %d neighbours each", v.k)
	}
	return s + ">"
}
func (v *View) Type() string          { return "embedding_view" }
func (v *View) Freeze()               {}
func (v *View) Truth() starlark.Bool  { return true }
func (v *View) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: embedding_view") }

// Doc implements lang.Documented.
func (v *View) Doc() string { return v.String() + "\n\n" + Doc }

// Doc documents the view for help().
const Doc = `An embedding view: a 2-D map of embeddings coloured by class. Hover a point for its
label and thumbnail; click it to list its nearest neighbours in the original space, with
their labels, distances and thumbnails and whether they share its class.

    r.embedding(view)        # append it to a report
    view.save("emb.html")    # a self-contained page (also show(view) in the REPL)`

func (v *View) AttrNames() []string { return []string{"save", "title"} }

func (v *View) Attr(name string) (starlark.Value, error) {
	switch name {
	case "title":
		return starlark.String(v.title), nil
	case "save":
		return starlark.NewBuiltin("embedding_view.save", lang.Safe(v.save)).BindReceiver(v), nil
	}
	return nil, nil
}

func (v *View) save(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var path string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "path", &path); err != nil {
		return nil, err
	}
	if err := v.Save(path); err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return starlark.None, nil
}

func init() {
	lang.SetDoc("embedding_view", Doc)
	lang.SetDoc("embedding_view.save", "view.save(path): writes the view as a self-contained HTML page (atomically).")
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

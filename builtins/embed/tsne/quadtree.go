package tsne

import "math"

// quadTree is the Barnes-Hut tree over the current embedding. It is rebuilt
// every iteration, top down: each cell's points are partitioned into its
// four quadrants (split at the cell's centre), so the points of every cell
// are contiguous in tree order, and leaves are ranges of that order instead
// of single points. Walking the points in tree order then keeps the cells
// a walk visits in cache for the next point, which has almost the same
// walk.
type quadTree struct {
	nodes []qnode
	order []int32   // tree position → point index
	pos   []float64 // positions in tree order (x, y interleaved)
	tmp   []int32
}

type qnode struct {
	cx, cy float64 // centre of mass
	w2     float64 // squared length of the cell's longer side
	count  int32
	child  int32 // index of the first of four children; 0 for a leaf
	lo, hi int32 // the cell's points, in tree order
}

// leafSize is the most points a leaf holds: a walk that reaches a leaf
// takes its points one by one, exactly. Small leaves cost tree depth, big
// ones exact interactions; 8 and 16 measured fastest here, one point per
// leaf (scikit-learn's tree) 20-35% slower.
const leafSize = 8

// maxDepth stops splitting cells of (nearly) coincident points.
const maxDepth = 40

func (t *quadTree) build(y []float64, n int) {
	if cap(t.order) < n {
		t.order = make([]int32, n)
		t.tmp = make([]int32, n)
		t.pos = make([]float64, 2*n)
	}
	t.order, t.tmp, t.pos = t.order[:n], t.tmp[:n], t.pos[:2*n]
	x0, y0 := math.Inf(1), math.Inf(1)
	x1, y1 := math.Inf(-1), math.Inf(-1)
	for i := 0; i < n; i++ {
		t.order[i] = int32(i)
		px, py := y[2*i], y[2*i+1]
		x0, x1 = math.Min(x0, px), math.Max(x1, px)
		y0, y1 = math.Min(y0, py), math.Max(y1, py)
	}
	// A hair of margin so that the extreme points fall strictly inside.
	mx, my := 1e-5*(x1-x0)+1e-12, 1e-5*(y1-y0)+1e-12
	x0, x1, y0, y1 = x0-mx, x1+mx, y0-my, y1+my
	t.nodes = append(t.nodes[:0], qnode{})
	t.split(0, y, 0, n, x0, x1, y0, y1, 0)
	for p, i := range t.order {
		t.pos[2*p], t.pos[2*p+1] = y[2*i], y[2*i+1]
	}
}

// split fills node (already allocated) with the points order[lo:hi] in
// the cell [x0,x1)×[y0,y1), recursively.
func (t *quadTree) split(node int32, y []float64, lo, hi int, x0, x1, y0, y1 float64, depth int) {
	w := math.Max(x1-x0, y1-y0)
	nd := qnode{w2: w * w, count: int32(hi - lo), lo: int32(lo), hi: int32(hi)}
	if hi-lo <= leafSize || depth >= maxDepth {
		var sx, sy float64
		for _, i := range t.order[lo:hi] {
			sx += y[2*i]
			sy += y[2*i+1]
		}
		if hi > lo {
			nd.cx, nd.cy = sx/float64(hi-lo), sy/float64(hi-lo)
		}
		t.nodes[node] = nd
		return
	}
	xm, ym := (x0+x1)/2, (y0+y1)/2
	// Stable partition into quadrants 0..3 = (x ≥ xm) + 2·(y ≥ ym).
	var cnt [4]int
	quad := func(i int32) int {
		q := 0
		if y[2*i] >= xm {
			q = 1
		}
		if y[2*i+1] >= ym {
			q += 2
		}
		return q
	}
	for _, i := range t.order[lo:hi] {
		cnt[quad(i)]++
	}
	var start [5]int
	start[0] = lo
	for q := 0; q < 4; q++ {
		start[q+1] = start[q] + cnt[q]
	}
	fill := start
	for _, i := range t.order[lo:hi] {
		q := quad(i)
		t.tmp[fill[q]] = i
		fill[q]++
	}
	copy(t.order[lo:hi], t.tmp[lo:hi])
	first := int32(len(t.nodes))
	t.nodes = append(t.nodes, qnode{}, qnode{}, qnode{}, qnode{})
	nd.child = first
	bounds := [4][4]float64{{x0, xm, y0, ym}, {xm, x1, y0, ym}, {x0, xm, ym, y1}, {xm, x1, ym, y1}}
	var sx, sy float64
	for q := 0; q < 4; q++ {
		b := bounds[q]
		t.split(first+int32(q), y, start[q], start[q+1], b[0], b[1], b[2], b[3], depth+1)
		c := &t.nodes[first+int32(q)]
		sx += c.cx * float64(c.count)
		sy += c.cy * float64(c.count)
	}
	nd.cx, nd.cy = sx/float64(hi-lo), sy/float64(hi-lo)
	t.nodes[node] = nd
}

// repulse sums, for the point at tree position self (at px, py), the
// Barnes-Hut approximations of Σ_j w_ij and Σ_j w_ij²·(y_i - y_j) with
// w = 1/(1+d²): a cell whose width is less than theta times its distance
// counts as its point count at its centre of mass.
func (t *quadTree) repulse(self int32, px, py, theta2 float64) (fx, fy, z float64) {
	var stack [4*maxDepth + 8]int32
	sp := 0
	stack[sp] = 0
	sp++
	nodes := t.nodes
	pos := t.pos
	for sp > 0 {
		sp--
		nd := &nodes[stack[sp]]
		if nd.count == 0 {
			continue
		}
		dx, dy := px-nd.cx, py-nd.cy
		d2 := dx*dx + dy*dy
		if nd.w2 < theta2*d2 {
			w := 1 / (1 + d2)
			cw := float64(nd.count) * w
			z += cw
			cw *= w
			fx += cw * dx
			fy += cw * dy
			continue
		}
		if nd.child == 0 {
			for p := nd.lo; p < nd.hi; p++ {
				if p == self {
					continue
				}
				dx, dy := px-pos[2*p], py-pos[2*p+1]
				w := 1 / (1 + dx*dx + dy*dy)
				z += w
				w *= w
				fx += w * dx
				fy += w * dy
			}
			continue
		}
		c := nd.child
		stack[sp], stack[sp+1], stack[sp+2], stack[sp+3] = c, c+1, c+2, c+3
		sp += 4
	}
	return fx, fy, z
}

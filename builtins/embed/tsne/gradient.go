package tsne

import (
	"math"

	"github.com/dadash/dadash/builtins/embed/internal/linalg"
)

// objective computes the gradient of KL(P‖Q) for the embedding y (n×2)
// with P multiplied by exaggeration, and, when wantKL is set, returns the
// KL divergence for the unexaggerated P (NaN otherwise).
//
// With w_ij = 1/(1+‖y_i-y_j‖²) and Z = Σ_{k≠l} w_kl, the gradient is
// 4·Σ_j (P_ij - w_ij/Z)·w_ij·(y_i - y_j): an attractive part over P and a
// repulsive part Σ_j w_ij²·(y_i-y_j)/Z over all pairs. And since Σ P = 1,
// KL = Σ P·log P - Σ P·log w + log Z.
type objective interface {
	gradient(y, grad []float64, exaggeration float64, wantKL bool) float64
}

// exact is the O(N²) objective over the dense P.
type exact struct {
	p            *dense
	n, threads   int
	sumP         float64
	attr, rep    []float64
	zRow, plwRow []float64
}

func newExact(p *dense, n, threads int) *exact {
	e := &exact{p: p, n: n, threads: threads,
		attr: make([]float64, 2*n), rep: make([]float64, 2*n),
		zRow: make([]float64, n), plwRow: make([]float64, n)}
	for _, v := range p.p {
		e.sumP += v
	}
	return e
}

func (e *exact) gradient(y, grad []float64, exaggeration float64, wantKL bool) float64 {
	n := e.n
	linalg.For(n, 16, e.threads, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			px, py := y[2*i], y[2*i+1]
			prow := e.p.p[i*n : i*n+n]
			var ax, ay, rx, ry, z, plw float64
			for j := 0; j < n; j++ {
				if j == i {
					continue
				}
				dx, dy := px-y[2*j], py-y[2*j+1]
				w := 1 / (1 + dx*dx + dy*dy)
				z += w
				pw := prow[j] * w
				ax += pw * dx
				ay += pw * dy
				w2 := w * w
				rx += w2 * dx
				ry += w2 * dy
				if wantKL {
					plw += prow[j] * math.Log(w)
				}
			}
			e.attr[2*i], e.attr[2*i+1] = ax, ay
			e.rep[2*i], e.rep[2*i+1] = rx, ry
			e.zRow[i], e.plwRow[i] = z, plw
		}
	})
	var z, plw float64
	for i := 0; i < n; i++ {
		z += e.zRow[i]
		plw += e.plwRow[i]
	}
	for t := range grad {
		grad[t] = 4 * (exaggeration*e.attr[t] - e.rep[t]/z)
	}
	if !wantKL {
		return math.NaN()
	}
	return e.p.plogp - plw + e.sumP*math.Log(z)
}

// barnesHut is the objective over the sparse P with quadtree repulsion.
type barnesHut struct {
	p          *csr
	n, threads int
	theta2     float64
	tree       quadTree
	sumP       float64
	attr, rep  []float64
	zRow       []float64
	plwRow     []float64
}

func newBarnesHut(p *csr, n int, theta float64, threads int) *barnesHut {
	b := &barnesHut{p: p, n: n, threads: threads, theta2: theta * theta,
		attr: make([]float64, 2*n), rep: make([]float64, 2*n),
		zRow: make([]float64, n), plwRow: make([]float64, n)}
	for _, v := range p.val {
		b.sumP += v
	}
	return b
}

func (b *barnesHut) gradient(y, grad []float64, exaggeration float64, wantKL bool) float64 {
	n := b.n
	b.tree.build(y, n)
	t := &b.tree
	// Walk in tree order (neighbouring walks share cells in cache), and
	// store by point index.
	linalg.For(n, 64, b.threads, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			i := t.order[p]
			px, py := t.pos[2*p], t.pos[2*p+1]
			fx, fy, z := t.repulse(int32(p), px, py, b.theta2)
			b.rep[2*i], b.rep[2*i+1] = fx, fy
			b.zRow[i] = z
			ax, ay, plw := b.attract(int(i), y, wantKL)
			b.attr[2*i], b.attr[2*i+1] = ax, ay
			b.plwRow[i] = plw
		}
	})
	var z, plw float64
	for i := 0; i < n; i++ {
		z += b.zRow[i]
		plw += b.plwRow[i]
	}
	for k := range grad {
		grad[k] = 4 * (exaggeration*b.attr[k] - b.rep[k]/z)
	}
	if !wantKL {
		return math.NaN()
	}
	return b.p.plogp - plw + b.sumP*math.Log(z)
}

// attract sums Σ_j P_ij·w_ij·(y_i - y_j) over row i of the sparse P, and
// Σ_j P_ij·log w_ij when asked.
func (b *barnesHut) attract(i int, y []float64, wantKL bool) (ax, ay, plw float64) {
	p := b.p
	px, py := y[2*i], y[2*i+1]
	cols := p.col[p.ptr[i]:p.ptr[i+1]]
	vals := p.val[p.ptr[i]:p.ptr[i+1]]
	for t, j := range cols {
		dx, dy := px-y[2*j], py-y[2*j+1]
		w := 1 / (1 + dx*dx + dy*dy)
		pw := vals[t] * w
		ax += pw * dx
		ay += pw * dy
		if wantKL {
			plw += vals[t] * math.Log(w)
		}
	}
	return ax, ay, plw
}

// klExactZ is the sparse-P KL divergence with Z summed exactly over all
// pairs (O(N²)), to measure what the Barnes-Hut estimate of Z costs in
// the reported KL.
func (b *barnesHut) klExactZ(y []float64) float64 {
	n := b.n
	linalg.For(n, 16, b.threads, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			px, py := y[2*i], y[2*i+1]
			var z float64
			for j := 0; j < n; j++ {
				if j != i {
					dx, dy := px-y[2*j], py-y[2*j+1]
					z += 1 / (1 + dx*dx + dy*dy)
				}
			}
			b.zRow[i] = z
			_, _, b.plwRow[i] = b.attract(i, y, true)
		}
	})
	var z, plw float64
	for i := 0; i < n; i++ {
		z += b.zRow[i]
		plw += b.plwRow[i]
	}
	return b.p.plogp - plw + b.sumP*math.Log(z)
}

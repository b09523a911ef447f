// Package lossref holds plain-Go float64 reference implementations of the
// proxy losses, written straight from their formulas with loops and no
// libtorch, so that tests of builtins/losses and builtins/dada compare the
// tensor code against an independent computation (values, and gradients by
// finite differences of these functions).
package lossref

import (
	"math"
	"sort"
)

// Mat is a row-major matrix as a slice of rows.
type Mat [][]float64

// Clone copies m.
func (m Mat) Clone() Mat {
	out := make(Mat, len(m))
	for i, r := range m {
		out[i] = append([]float64(nil), r...)
	}
	return out
}

// Flat returns m's elements row by row.
func (m Mat) Flat() []float64 {
	var out []float64
	for _, r := range m {
		out = append(out, r...)
	}
	return out
}

// Rows picks rows of m.
func (m Mat) Rows(idx []int) Mat {
	out := make(Mat, len(idx))
	for i, k := range idx {
		out[i] = append([]float64(nil), m[k]...)
	}
	return out
}

// Normalize is F.normalize: each row divided by max(||row||, 1e-12).
func Normalize(m Mat) Mat {
	out := make(Mat, len(m))
	for i, r := range m {
		n := 0.0
		for _, v := range r {
			n += v * v
		}
		n = math.Max(math.Sqrt(n), 1e-12)
		out[i] = make([]float64, len(r))
		for j, v := range r {
			out[i][j] = v / n
		}
	}
	return out
}

// Dot is the inner product.
func Dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// log1pSumExp is log(1 + sum exp(v)), computed stably; 0 for no values.
func log1pSumExp(v []float64) float64 {
	mx := 0.0 // the "1" is exp(0)
	for _, x := range v {
		mx = math.Max(mx, x)
	}
	s := math.Exp(-mx)
	for _, x := range v {
		s += math.Exp(x - mx)
	}
	return mx + math.Log(s)
}

// OProxyParams are the oproxy hyperparameters.
type OProxyParams struct {
	PosAlpha, NegAlpha, PosDelta, NegDelta float64
	Dim                                    int
}

// OProxy is DADA.md's proxy loss: returns loss, pos, neg. pos (may be nil)
// replaces P[y] as the positive proxy of each sample.
func OProxy(x Mat, y []int, p Mat, pos Mat, hp OProxyParams) (loss, posPart, negPart float64) {
	b, c := len(x), len(p)
	xn, pn := Normalize(x), Normalize(p)
	var pp Mat
	if pos != nil {
		pp = Normalize(pos)
	} else {
		pp = make(Mat, b)
		for i := range pp {
			pp[i] = pn[y[i]]
		}
	}
	// S_pos[i][j] = xn_i . pp_j with mask y_i == y_j; S_neg[i][k] = xn_i . pn_k with mask k != y_i.
	wPos := func(i, j int) (float64, bool) {
		return -hp.PosAlpha * (Dot(xn[i], pp[j]) - hp.PosDelta), y[i] == y[j]
	}
	wNeg := func(i, k int) (float64, bool) {
		return hp.NegAlpha * (Dot(xn[i], pn[k]) - hp.NegDelta), k != y[i]
	}
	reduce := func(rows, cols int, w func(i, j int) (float64, bool)) float64 {
		// dim 0: one value per column (over rows i); dim 1: one per row.
		outer, inner := cols, rows
		if hp.Dim == 1 {
			outer, inner = rows, cols
		}
		total := 0.0
		for o := 0; o < outer; o++ {
			var vals []float64
			for in := 0; in < inner; in++ {
				i, j := in, o
				if hp.Dim == 1 {
					i, j = o, in
				}
				if v, ok := w(i, j); ok {
					vals = append(vals, v)
				}
			}
			total += log1pSumExp(vals) // 0 for an empty mask
		}
		return total / float64(outer)
	}
	posPart = reduce(b, b, wPos)
	negPart = reduce(b, c, wNeg)
	return posPart + negPart, posPart, negPart
}

// CrossEntropy is the mean of -log softmax(logits_i)[y_i].
func CrossEntropy(logits Mat, y []int) float64 {
	s := 0.0
	for i, r := range logits {
		mx := math.Inf(-1)
		for _, v := range r {
			mx = math.Max(mx, v)
		}
		z := 0.0
		for _, v := range r {
			z += math.Exp(v - mx)
		}
		s += mx + math.Log(z) - r[y[i]]
	}
	return s / float64(len(logits))
}

// Softmax of each row.
func Softmax(m Mat) Mat {
	out := make(Mat, len(m))
	for i, r := range m {
		mx := math.Inf(-1)
		for _, v := range r {
			mx = math.Max(mx, v)
		}
		z := 0.0
		out[i] = make([]float64, len(r))
		for j, v := range r {
			out[i][j] = math.Exp(v - mx)
			z += out[i][j]
		}
		for j := range r {
			out[i][j] /= z
		}
	}
	return out
}

// SoftTripleSim is SoftTriple's relaxed class similarity S (B x C) for
// centres p (C*K rows).
func SoftTripleSim(x Mat, p Mat, k int, gamma float64) Mat {
	xn, w := Normalize(x), Normalize(p)
	c := len(p) / k
	out := make(Mat, len(x))
	for i := range x {
		out[i] = make([]float64, c)
		for cl := 0; cl < c; cl++ {
			s := make([]float64, k)
			mx := math.Inf(-1)
			for j := 0; j < k; j++ {
				s[j] = Dot(xn[i], w[cl*k+j])
				mx = math.Max(mx, s[j]/gamma)
			}
			z, num := 0.0, 0.0
			for j := 0; j < k; j++ {
				e := math.Exp(s[j]/gamma - mx)
				z += e
				num += e * s[j]
			}
			out[i][cl] = num / z
		}
	}
	return out
}

// SoftTriple returns loss, classify, reg.
func SoftTriple(x Mat, y []int, p Mat, k int, la, gamma, margin, tau float64) (loss, classify, reg float64) {
	sim := SoftTripleSim(x, p, k, gamma)
	logits := make(Mat, len(sim))
	for i, r := range sim {
		logits[i] = make([]float64, len(r))
		for cl, v := range r {
			if cl == y[i] {
				v -= margin
			}
			logits[i][cl] = la * v
		}
	}
	classify = CrossEntropy(logits, y)
	if k > 1 {
		w := Normalize(p)
		c := len(p) / k
		for cl := 0; cl < c; cl++ {
			for a := 0; a < k; a++ {
				for b := a + 1; b < k; b++ {
					reg += math.Sqrt(2 + 1e-5 - 2*Dot(w[cl*k+a], w[cl*k+b]))
				}
			}
		}
		reg /= float64(c * k * (k - 1))
	}
	return classify + tau*reg, classify, reg
}

// SoftTripleNearest returns, for each sample, the index of its class's
// centre most similar to it.
func SoftTripleNearest(x Mat, y []int, p Mat, k int) []int {
	xn, w := Normalize(x), Normalize(p)
	out := make([]int, len(x))
	for i := range x {
		best, bi := math.Inf(-1), 0
		for j := 0; j < k; j++ {
			if s := Dot(xn[i], w[y[i]*k+j]); s > best {
				best, bi = s, y[i]*k+j
			}
		}
		out[i] = bi
	}
	return out
}

// Cosine is xn @ Pn^T.
func Cosine(x, p Mat) Mat {
	xn, pn := Normalize(x), Normalize(p)
	out := make(Mat, len(x))
	for i := range x {
		out[i] = make([]float64, len(p))
		for k := range p {
			out[i][k] = Dot(xn[i], pn[k])
		}
	}
	return out
}

// NormSoftmax is CE(xn @ Pn^T / temperature, y).
func NormSoftmax(x Mat, y []int, p Mat, temperature float64) float64 {
	s := Cosine(x, p)
	for _, r := range s {
		for k := range r {
			r[k] /= temperature
		}
	}
	return CrossEntropy(s, y)
}

// NumGrad is the central finite-difference gradient of f with respect to
// the values in v (changed in place and restored), step h.
func NumGrad(f func() float64, v []float64, h float64) []float64 {
	g := make([]float64, len(v))
	for i := range v {
		x0 := v[i]
		v[i] = x0 + h
		fp := f()
		v[i] = x0 - h
		fm := f()
		v[i] = x0
		g[i] = (fp - fm) / (2 * h)
	}
	return g
}

// MatGrad is NumGrad for every element of a matrix.
func MatGrad(f func() float64, m Mat, h float64) []float64 {
	var g []float64
	for _, r := range m {
		g = append(g, NumGrad(f, r, h)...)
	}
	return g
}

// NuclearNorm is the sum of the singular values of m: the square roots of
// the eigenvalues of the smaller Gram matrix (m^T m or m m^T, so that no
// structural zero eigenvalue adds rounding noise), found by cyclic Jacobi
// rotations.
func NuclearNorm(m Mat) float64 {
	if len(m) < len(m[0]) {
		t := make(Mat, len(m[0]))
		for j := range t {
			t[j] = make([]float64, len(m))
			for i := range m {
				t[j][i] = m[i][j]
			}
		}
		m = t
	}
	n := len(m[0])
	a := make(Mat, n)
	for i := range a {
		a[i] = make([]float64, n)
		for j := range a[i] {
			for r := range m {
				a[i][j] += m[r][i] * m[r][j]
			}
		}
	}
	for sweep := 0; sweep < 100; sweep++ {
		off := 0.0
		for i := 0; i < n; i++ {
			for j := i + 1; j < n; j++ {
				off += a[i][j] * a[i][j]
			}
		}
		if off < 1e-30 {
			break
		}
		for p := 0; p < n; p++ {
			for q := p + 1; q < n; q++ {
				if a[p][q] == 0 {
					continue
				}
				theta := (a[q][q] - a[p][p]) / (2 * a[p][q])
				t := math.Copysign(1, theta) / (math.Abs(theta) + math.Sqrt(theta*theta+1))
				c := 1 / math.Sqrt(t*t+1)
				s := t * c
				for k := 0; k < n; k++ { // rotate columns p, q
					akp, akq := a[k][p], a[k][q]
					a[k][p], a[k][q] = c*akp-s*akq, s*akp+c*akq
				}
				for k := 0; k < n; k++ { // rotate rows p, q
					apk, aqk := a[p][k], a[q][k]
					a[p][k], a[q][k] = c*apk-s*aqk, s*apk+c*aqk
				}
			}
		}
	}
	eig := make([]float64, n)
	for i := range eig {
		eig[i] = a[i][i]
	}
	sort.Float64s(eig)
	s := 0.0
	for _, e := range eig {
		s += math.Sqrt(math.Max(e, 0))
	}
	return s
}

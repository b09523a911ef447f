package metrics

import (
	"fmt"
	"math"

	"github.com/dadash/dadash/builtins/torch/aten"
)

// singularValues returns the d singular values of the n x d matrix x in
// decreasing order: square roots of the eigenvalues of the d x d Gram
// matrix x^T x, which libtorch accumulates in float64 over row blocks (so
// only one block is ever converted) before LAPACK's symmetric eigensolver.
func singularValues(x []float32, n, d int) ([]float64, error) {
	gram := make([]float64, d*d)
	const rows = 8192
	for r0 := 0; r0 < n; r0 += rows {
		r1 := min(r0+rows, n)
		t, err := aten.FromFloat32s(x[r0*d:r1*d], int64(r1-r0), int64(d))
		if err != nil {
			return nil, err
		}
		t64, err := t.To(aten.Float64, "", false)
		if err != nil {
			return nil, err
		}
		tt, err := aten.Run("t", aten.T(t64))
		if err != nil {
			return nil, err
		}
		g, err := aten.Run("mm", aten.T(tt), aten.T(t64))
		if err != nil {
			return nil, err
		}
		v, err := g.Float64s()
		if err != nil {
			return nil, err
		}
		for i := range gram {
			gram[i] += v[i]
		}
	}
	G, err := aten.FromFloat64s(gram, int64(d), int64(d))
	if err != nil {
		return nil, err
	}
	ev, err := aten.Run("linalg_eigvalsh", aten.T(G))
	if err != nil {
		return nil, err
	}
	vals, err := ev.Float64s() // ascending
	if err != nil {
		return nil, err
	}
	s := make([]float64, d)
	for i, v := range vals {
		s[d-1-i] = math.Sqrt(math.Max(v, 0)) // rounding can make a zero eigenvalue slightly negative
	}
	return s, nil
}

// rhoSpectrum is the reference's rho_spectrum@mode from the singular
// values s (decreasing): the reference keeps the top d-1 of them (sklearn's
// TruncatedSVD with d-1 components), drops the first |mode|-1, normalises
// the rest to sum 1 and returns KL(uniform || spectrum) for mode > 0 or
// KL(spectrum || uniform) for mode < 0, in nats. A zero singular value
// (rank-deficient embeddings) makes the mode > 0 value infinite.
func rhoSpectrum(s []float64, mode int) (float64, error) {
	if len(s) < 2 {
		return 0, fmt.Errorf("rho_spectrum needs embeddings of at least 2 dimensions, got %d", len(s))
	}
	s = s[:len(s)-1]
	skip := mode
	if skip < 0 {
		skip = -skip
	}
	skip--
	if skip >= len(s) {
		return 0, fmt.Errorf("rho_spectrum@%d drops the first %d singular values, but %d-dimensional embeddings have only %d to look at; use |k| <= %d", mode, skip, len(s)+1, len(s), len(s))
	}
	s = s[skip:]
	var sum float64
	for _, v := range s {
		sum += v
	}
	m := float64(len(s))
	var kl float64
	for _, v := range s {
		p := v / sum
		if mode > 0 {
			kl += (1 / m) * math.Log((1/m)/p)
		} else if p > 0 {
			kl += p * math.Log(p*m)
		}
	}
	return kl, nil
}

// classDists computes the reference's dists@intra and dists@inter over the
// classes of x (in float64):
//   - intra: per class with at least 2 items, the mean cosine distance
//     1 - cos(x_i, x_j) over ordered pairs i != j; the mean of these over
//     classes. A class of one item has no pair (the reference gets NaN and
//     means to replace it by the largest class value; its indexing bug aside,
//     that is what is done here).
//   - inter: the mean cosine distance between the classes' centres (the mean
//     of each class's vectors, normalised) over ordered pairs of classes.
//
// Sums of unit vectors give both in O(n d): sum_{i != j} u_i.u_j =
// |sum u|^2 - sum |u|^2.
func classDists(x []float32, n, d int, class []int32, labelOf []int64, wantIntra, wantInter bool) (intra, inter float64, err error) {
	nClass := len(labelOf)
	sumU := make([]float64, nClass*d) // sum of unit vectors per class
	sumX := make([]float64, nClass*d) // sum of vectors per class
	sq := make([]float64, nClass)     // sum of |u|^2 per class (1 up to rounding)
	cnt := make([]int, nClass)
	for i := 0; i < n; i++ {
		row := x[i*d : (i+1)*d]
		var nn float64
		for _, v := range row {
			nn += float64(v) * float64(v)
		}
		if nn == 0 {
			return 0, 0, fmt.Errorf("embeddings row %d is all zeros: its cosine distance to anything is undefined", i)
		}
		inv := 1 / math.Sqrt(nn)
		c := int(class[i])
		su, sx := sumU[c*d:(c+1)*d], sumX[c*d:(c+1)*d]
		var q float64
		for j, v := range row {
			u := float64(v) * inv
			su[j] += u
			sx[j] += float64(v)
			q += u * u
		}
		sq[c] += q
		cnt[c]++
	}
	if wantIntra {
		per := make([]float64, 0, nClass)
		single := 0
		maxv := math.Inf(-1)
		for c := 0; c < nClass; c++ {
			if cnt[c] == 0 {
				continue
			}
			if cnt[c] == 1 {
				single++
				continue
			}
			s2 := dot(sumU[c*d:(c+1)*d], sumU[c*d:(c+1)*d])
			pairs := float64(cnt[c]) * float64(cnt[c]-1)
			v := 1 - (s2-sq[c])/pairs
			per = append(per, v)
			maxv = math.Max(maxv, v)
		}
		if len(per) == 0 {
			return 0, 0, fmt.Errorf("dists@intra needs a class with at least 2 items; every class here has one")
		}
		var sum float64
		for _, v := range per {
			sum += v
		}
		intra = (sum + float64(single)*maxv) / float64(len(per)+single)
	}
	if wantInter {
		var tot []float64 = make([]float64, d)
		var q float64
		classes := 0
		for c := 0; c < nClass; c++ {
			if cnt[c] == 0 {
				continue
			}
			sx := sumX[c*d : (c+1)*d]
			nn := dot(sx, sx)
			if nn == 0 {
				return 0, 0, fmt.Errorf("dists@inter: the vectors of class %d sum to zero, so its centre has no direction", labelOf[c])
			}
			inv := 1 / math.Sqrt(nn)
			var qc float64
			for j, v := range sx {
				u := v * inv
				tot[j] += u
				qc += u * u
			}
			q += qc
			classes++
		}
		if classes < 2 {
			return 0, 0, fmt.Errorf("dists@inter needs at least 2 classes, got %d", classes)
		}
		pairs := float64(classes) * float64(classes-1)
		inter = 1 - (dot(tot, tot)-q)/pairs
	}
	return intra, inter, nil
}

func dot(a, b []float64) float64 {
	var s float64
	for i, v := range a {
		s += v * b[i]
	}
	return s
}

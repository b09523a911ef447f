package linalg

// MulABt computes C = A·Bᵀ for row-major A (m×k) and B (n×k) into C (m×n,
// row stride ldc), that is C[i][j] = dot(A[i], B[j]). Both the covariance
// matrix of PCA (on transposed data) and the squared distances of the
// nearest-neighbour search are such products of rows, so one kernel serves
// both.
//
// The inner kernel works on blocks of 4 rows of A by 2 rows of B so that
// each loaded value is used two to four times. Go does not vectorise, so
// register reuse is what makes the difference; 4×2 (8 accumulators and 6
// live values) is the largest block that fits amd64's 16 float registers
// without spilling, and measured about twice as fast as 4×4.
//
// Every C[i][j] is summed in index order whichever path computes it, so the
// result does not depend on how callers split the rows between threads.
func MulABt(a []float64, m int, b []float64, n int, k int, c []float64, ldc int) {
	i := 0
	for ; i+4 <= m; i += 4 {
		a0 := a[i*k : i*k+k]
		a1 := a[(i+1)*k : (i+1)*k+k]
		a2 := a[(i+2)*k : (i+2)*k+k]
		a3 := a[(i+3)*k : (i+3)*k+k]
		c0 := c[i*ldc : i*ldc+n]
		c1 := c[(i+1)*ldc : (i+1)*ldc+n]
		c2 := c[(i+2)*ldc : (i+2)*ldc+n]
		c3 := c[(i+3)*ldc : (i+3)*ldc+n]
		j := 0
		for ; j+2 <= n; j += 2 {
			b0 := b[j*k : j*k+k]
			b1 := b[(j+1)*k : (j+1)*k+k]
			var s00, s01, s10, s11, s20, s21, s30, s31 float64
			for t := range a0 {
				y0, y1 := b0[t], b1[t]
				x := a0[t]
				s00 += x * y0
				s01 += x * y1
				x = a1[t]
				s10 += x * y0
				s11 += x * y1
				x = a2[t]
				s20 += x * y0
				s21 += x * y1
				x = a3[t]
				s30 += x * y0
				s31 += x * y1
			}
			c0[j], c0[j+1] = s00, s01
			c1[j], c1[j+1] = s10, s11
			c2[j], c2[j+1] = s20, s21
			c3[j], c3[j+1] = s30, s31
		}
		if j < n {
			bj := b[j*k : j*k+k]
			c0[j] = dot(a0, bj)
			c1[j] = dot(a1, bj)
			c2[j] = dot(a2, bj)
			c3[j] = dot(a3, bj)
		}
	}
	for ; i < m; i++ {
		ai := a[i*k : i*k+k]
		ci := c[i*ldc : i*ldc+n]
		for j := range ci {
			ci[j] = dot(ai, b[j*k:j*k+k])
		}
	}
}

// dot is the plain dot product. It sums in index order like the blocked
// kernel does, so an entry computed here equals one computed there.
func dot(x, y []float64) float64 {
	y = y[:len(x)]
	var s float64
	for t, v := range x {
		s += v * y[t]
	}
	return s
}

// Dot is the dot product of two equal-length vectors.
func Dot(x, y []float64) float64 { return dot(x, y) }

// ParMulABt is MulABt with the rows of A split between threads. The result
// is the same for any thread count (see MulABt).
func ParMulABt(a []float64, m int, b []float64, n int, k int, c []float64, ldc int, threads int) {
	const grain = 16
	For(m, grain, threads, func(lo, hi int) {
		MulABt(a[lo*k:hi*k], hi-lo, b, n, k, c[lo*ldc:], ldc)
	})
}

// Gram computes the symmetric C = A·Aᵀ (A is m×k) into c (m×m), computing
// only the blocks on and above the diagonal and mirroring them, which
// halves the work of the covariance matrix.
func Gram(a []float64, m, k int, c []float64, threads int) {
	const block = 16
	For((m+block-1)/block, 1, threads, func(lo, hi int) {
		for bi := lo; bi < hi; bi++ {
			i0 := bi * block
			i1 := min(i0+block, m)
			MulABt(a[i0*k:i1*k], i1-i0, a[i0*k:], m-i0, k, c[i0*m+i0:], m)
		}
	})
	for i := 0; i < m; i++ {
		for j := i + 1; j < m; j++ {
			c[j*m+i] = c[i*m+j]
		}
	}
}

// Transpose returns the n×m transpose of the row-major m×n matrix a.
func Transpose(a []float64, m, n int) []float64 {
	t := make([]float64, m*n)
	const b = 32 // tiles keep both reads and writes within cache lines
	for i0 := 0; i0 < m; i0 += b {
		for j0 := 0; j0 < n; j0 += b {
			for i := i0; i < min(i0+b, m); i++ {
				for j := j0; j < min(j0+b, n); j++ {
					t[j*m+i] = a[i*n+j]
				}
			}
		}
	}
	return t
}

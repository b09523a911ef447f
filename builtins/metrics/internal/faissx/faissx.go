// Package faissx reaches the parts of dadash's faiss C API (native/faiss_c)
// that go-faiss does not wrap: the OpenMP thread count, and k-means through
// faiss::Clustering.
package faissx

/*
#cgo CFLAGS: -I${SRCDIR}/../../../../native/faiss_c
#cgo LDFLAGS: -lfaiss_c
#include <stdlib.h>
#include <faiss/c_api/Clustering_c.h>
#include <faiss/c_api/IndexFlat_c.h>
#include <faiss/c_api/Index_c.h>
#include <faiss/c_api/error_c.h>
#include "dadash_faiss_extra.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"unsafe"
)

// DefaultSeed is faiss::ClusteringParameters' default seed. The reference
// pipeline never sets a seed, so using it reproduces the reference's
// clustering for the same embeddings.
const DefaultSeed = 1234

func lastError(what string) error {
	msg := C.faiss_get_last_error()
	if msg == nil {
		return errors.New(what + ": faiss failed without a message")
	}
	return fmt.Errorf("%s: %s", what, C.GoString(msg))
}

// SetThreads sets the OpenMP threads of every later faiss call (n <= 0: one
// per processor) and returns the count in effect.
func SetThreads(n int) int { return int(C.faiss_set_omp_threads(C.int(n))) }

// KMeansParams are the settings of one k-means run.
type KMeansParams struct {
	K    int // clusters
	Iter int // Lloyd iterations
	Seed int // faiss's seed for the initial centroids

	// StockIndex assigns points with faiss's IndexFlatL2 instead of
	// dadash's IndexFlatL2Fused (same results; tests compare the two).
	StockIndex bool
}

// KMeans clusters the n x d row-major vectors x as the reference does:
// faiss::Clustering with niter iterations, min_points_per_centroid = 1 and
// no subsampling, on an IndexFlatL2 (dadash's IndexFlatL2Fused, which finds
// the same nearest centroids in one thread team); each point is then
// assigned to its nearest final centroid. With a step function the iterations run one
// train() call at a time on the same Clustering object (faiss starts from the
// centroids it holds, so the result equals one call with niter iterations),
// and step, called after each, can stop the run by returning an error.
func KMeans(x []float32, n, d int, p KMeansParams, step func(iter int) error) (centroids []float32, assign []int64, err error) {
	if n <= 0 || d <= 0 || len(x) != n*d {
		return nil, nil, fmt.Errorf("kmeans: %d values for %d x %d vectors", len(x), n, d)
	}
	if p.K < 1 || p.K > n {
		return nil, nil, fmt.Errorf("kmeans: k = %d clusters for %d points; k must be between 1 and the number of points", p.K, n)
	}
	if p.Iter < 1 {
		return nil, nil, fmt.Errorf("kmeans: niter = %d; at least one iteration is needed", p.Iter)
	}
	var cp C.FaissClusteringParameters
	C.faiss_ClusteringParameters_init(&cp)
	cp.niter = 1
	calls := p.Iter
	if step == nil {
		cp.niter, calls = C.int(p.Iter), 1
	}
	cp.min_points_per_centroid = 1
	cp.max_points_per_centroid = 1 << 30 // never subsample (the reference sets 1e9)
	cp.seed = C.int(p.Seed)
	var cl *C.FaissClustering
	if C.faiss_Clustering_new_with_params(&cl, C.int(d), C.int(p.K), &cp) != 0 {
		return nil, nil, lastError("kmeans")
	}
	defer C.faiss_Clustering_free(cl)
	var index *C.FaissIndex
	if p.StockIndex {
		if C.faiss_IndexFlatL2_new_with(&index, C.idx_t(d)) != 0 {
			return nil, nil, lastError("kmeans")
		}
	} else if C.faiss_IndexFlatL2Fused_new(&index, C.idx_t(d)) != 0 {
		return nil, nil, lastError("kmeans")
	}
	defer C.faiss_Index_free(index)

	px := (*C.float)(unsafe.Pointer(&x[0]))
	for it := 0; it < calls; it++ {
		if C.faiss_Clustering_train(cl, C.idx_t(n), px, index) != 0 {
			return nil, nil, lastError("kmeans")
		}
		if step != nil {
			if err := step(it); err != nil {
				return nil, nil, err
			}
		}
	}
	var cptr *C.float
	var csize C.size_t
	C.faiss_Clustering_centroids(cl, &cptr, &csize)
	if int(csize) != p.K*d {
		return nil, nil, fmt.Errorf("kmeans: faiss returned %d centroid values, want %d", int(csize), p.K*d)
	}
	centroids = make([]float32, p.K*d)
	copy(centroids, unsafe.Slice((*float32)(unsafe.Pointer(cptr)), p.K*d))

	// The index holds the final centroids after train(); the reference
	// assigns with a fresh IndexFlatL2 over them, which is the same search.
	assign = make([]int64, n)
	dist := make([]float32, n)
	if C.faiss_Index_search(index, C.idx_t(n), px, 1,
		(*C.float)(unsafe.Pointer(&dist[0])), (*C.idx_t)(unsafe.Pointer(&assign[0]))) != 0 {
		return nil, nil, lastError("kmeans: assigning points")
	}
	return centroids, assign, nil
}

// SelfKNN is dadash's symmetric exact search of a set against itself
// (faiss_SelfKnn_* in native/faiss_c): each row's k nearest other rows by
// squared L2 distance, ties by index, computing each pair once. Step does
// the work a part at a time, so a caller can stop in between; Rows reads
// the results once Step reports done.
type SelfKNN struct {
	p      *C.DadashSelfKnn
	pin    runtime.Pinner // the C side keeps a pointer to x
	k      int
	closed bool
}

// NewSelfKNN prepares the search of the n x d vectors x (which must not
// change until Close) for k neighbours each, block rows per product (0:
// chosen from n and the threads). It holds n * k * 8 bytes of heaps.
func NewSelfKNN(x []float32, n, d, k, block int) (*SelfKNN, error) {
	if len(x) != n*d || n < 2 {
		return nil, fmt.Errorf("selfknn: %d values for %d x %d vectors", len(x), n, d)
	}
	s := &SelfKNN{k: k}
	s.pin.Pin(&x[0])
	if C.faiss_SelfKnn_new(&s.p, (*C.float)(unsafe.Pointer(&x[0])), C.idx_t(n), C.idx_t(d), C.idx_t(k), C.idx_t(block)) != 0 {
		s.pin.Unpin()
		return nil, lastError("selfknn")
	}
	return s, nil
}

// Step does the next part of the search and reports whether it is done.
func (s *SelfKNN) Step() (bool, error) {
	var done C.int
	if C.faiss_SelfKnn_step(s.p, &done) != 0 {
		return false, lastError("selfknn")
	}
	return done != 0, nil
}

// Rows returns the neighbours of rows row0 .. row0+nrows-1: k distances
// and indices per row, nearest first. The slices point into C memory and
// are valid until the next call.
func (s *SelfKNN) Rows(row0, nrows int) (dist []float32, ids []int64, err error) {
	var dp *C.float
	var ip *C.idx_t
	if C.faiss_SelfKnn_rows(s.p, C.idx_t(row0), C.idx_t(nrows), &dp, &ip) != 0 {
		return nil, nil, lastError("selfknn")
	}
	m := nrows * s.k
	if m == 0 {
		return nil, nil, nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(dp)), m), unsafe.Slice((*int64)(unsafe.Pointer(ip)), m), nil
}

// Close frees the heaps.
func (s *SelfKNN) Close() {
	if !s.closed {
		C.faiss_SelfKnn_free(s.p)
		s.pin.Unpin()
		s.closed = true
	}
}

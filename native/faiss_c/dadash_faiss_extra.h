/* Extra C entry points of dadash's libfaiss_c that the faiss C API lacks. */
#ifndef DADASH_FAISS_EXTRA_H
#define DADASH_FAISS_EXTRA_H

#include <faiss/c_api/faiss_c.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Sets the number of OpenMP threads faiss uses in every later call made
 * through this library, from any thread (n <= 0: one per processor).
 * Returns the thread count now in effect for the calling thread. */
int faiss_set_omp_threads(int n);

/* Exact k nearest neighbours of each row of the n x d row-major matrix x
 * among the other rows, by squared L2 distance (as IndexFlatL2 computes it),
 * ties ordered by index (smaller first). Each pair of rows is multiplied
 * once, so it takes half the flops of searching x against itself. Call
 * faiss_SelfKnn_step until *done is 1 (each call does a part of the work,
 * so a caller can stop in between), then read the results with
 * faiss_SelfKnn_rows: nrows x k distances and indices, nearest first,
 * valid until the next call. block is the rows per product (0: chosen from
 * n and the thread count). x must outlive the object. Memory: n * k * 8
 * bytes of heaps. */
typedef struct DadashSelfKnn DadashSelfKnn;
int faiss_SelfKnn_new(DadashSelfKnn** p, const float* x, idx_t n, idx_t d, idx_t k,
                      idx_t block);
int faiss_SelfKnn_step(DadashSelfKnn* p, int* done);
int faiss_SelfKnn_rows(DadashSelfKnn* p, idx_t row0, idx_t nrows, const float** distances,
                       const idx_t** labels);
void faiss_SelfKnn_free(DadashSelfKnn* p);

/* An IndexFlatL2 whose 1-nearest search (k-means' assignment step) runs
 * in one OpenMP team with single-threaded BLAS per thread, with the same
 * results as IndexFlatL2's; other searches are IndexFlatL2's. */
int faiss_IndexFlatL2Fused_new(FaissIndex** p, idx_t d);

#ifdef __cplusplus
}
#endif

#endif

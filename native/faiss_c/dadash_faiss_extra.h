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
 * once, so it takes half the flops of searching x against itself. The rows
 * are finished block by block: each call to faiss_SelfKnn_next computes the
 * next block of `block` rows (0: 1024) and points *distances and *labels at
 * its nrows x k results, valid until the next call; nrows = 0 means done.
 * x must outlive the object. Memory: n * k * 8 bytes of heaps. */
typedef struct DadashSelfKnn DadashSelfKnn;
int faiss_SelfKnn_new(DadashSelfKnn** p, const float* x, idx_t n, idx_t d, idx_t k,
                      idx_t block);
int faiss_SelfKnn_next(DadashSelfKnn* p, idx_t* row0, idx_t* nrows, const float** distances,
                       const idx_t** labels);
void faiss_SelfKnn_free(DadashSelfKnn* p);

#ifdef __cplusplus
}
#endif

#endif

/* Extra C entry points of dadash's libfaiss_c that the faiss C API lacks. */
#ifndef DADASH_FAISS_EXTRA_H
#define DADASH_FAISS_EXTRA_H

#ifdef __cplusplus
extern "C" {
#endif

/* Sets the number of OpenMP threads faiss uses in every later call made
 * through this library, from any thread (n <= 0: one per processor).
 * Returns the thread count now in effect for the calling thread. */
int faiss_set_omp_threads(int n);

#ifdef __cplusplus
}
#endif

#endif

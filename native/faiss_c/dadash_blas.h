// BLAS helpers shared by dadash's fused kernels (not a public header).
#pragma once

#include <mutex>

extern "C" {
// Fortran BLAS, as faiss declares it (32-bit integers: Debian's libfaiss
// and OpenBLAS are LP64).
int sgemm_(const char* transa, const char* transb, int* m, int* n, int* k, const float* alpha,
           const float* a, int* lda, const float* b, int* ldb, float* beta, float* c, int* ldc);
// OpenBLAS's thread count (libfaiss_c links OpenBLAS).
void openblas_set_num_threads(int n);
int openblas_get_num_threads(void);
}

namespace dadash_faiss {

// While alive, BLAS runs single-threaded in the calling thread, so that each
// thread of an OpenMP team can call sgemm on its own block. Alternating
// OpenBLAS's thread pool (for the product) with an OpenMP team (for the
// heaps) makes each pool spin while the other works, which on a machine
// with few cores costs 10-15% of the CPU time.
class BlasSingleThread {
    static inline std::mutex mu;
    static inline int depth = 0;
    static inline int saved = 1;

public:
    BlasSingleThread() {
        std::lock_guard<std::mutex> lock(mu);
        if (depth++ == 0) {
            saved = openblas_get_num_threads();
            openblas_set_num_threads(1);
        }
    }
    ~BlasSingleThread() {
        std::lock_guard<std::mutex> lock(mu);
        if (--depth == 0) openblas_set_num_threads(saved);
    }
    BlasSingleThread(const BlasSingleThread&) = delete;
    BlasSingleThread& operator=(const BlasSingleThread&) = delete;
};

// Row-major P (nr x nc) = A (nr x d rows) times B (nc x d rows) transposed,
// the call faiss makes for its inner-product blocks.
inline void gemm_abt(const float* a, int nr, const float* b, int nc, int d, float* p) {
    float one = 1, zero = 0;
    sgemm_("Transpose", "Not transpose", &nc, &nr, &d, &one, b, &d, a, &d, &zero, p, &nc);
}

} // namespace dadash_faiss

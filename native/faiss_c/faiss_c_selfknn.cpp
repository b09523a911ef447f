// dadash's symmetric exact k-NN of a set against itself (dadash_faiss_extra.h).
//
// Searching a set against itself with IndexFlatL2 computes every pair's
// inner product twice (once for each side). Here each pair of row blocks
// is multiplied once with BLAS (the same sgemm faiss uses) and the result
// feeds the heaps of both rows, so the flops are halved. Distances are
// faiss's |x|^2 + |y|^2 - 2<x,y> clamped at 0; heaps are faiss's, keyed by
// (distance, index), so ties keep and list the smaller index first whatever
// the order in which candidates arrive.
#include "faiss_c_common.h"
#include "dadash_faiss_extra.h"

#include <faiss/utils/Heap.h>
#include <faiss/utils/distances.h>

#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

extern "C" {
// Fortran BLAS, as faiss declares it (32-bit integers: Debian's libfaiss
// and OpenBLAS are LP64).
int sgemm_(const char* transa, const char* transb, int* m, int* n, int* k, const float* alpha,
           const float* a, int* lda, const float* b, int* ldb, float* beta, float* c, int* ldc);
}

using namespace dadash_faiss;

namespace {

using Heap = faiss::CMax<float, int32_t>;

// Column chunk: one sgemm multiplies a row block by this many rows.
constexpr idx_t kColumns = 4096;
// Columns whose heaps one thread updates together while reading the
// product row by row (a cache line of floats).
constexpr idx_t kTile = 16;

struct SelfKnn {
    const float* x = nullptr;
    idx_t n = 0, d = 0, k = 0, block = 0;
    idx_t next_block = 0;
    std::vector<float> norms;
    std::vector<float> hv;      // n x k heap distances
    std::vector<int32_t> hi;    // n x k heap indices
    std::vector<float> ip;      // block x kColumns products
    std::vector<float> out_d;   // block x k results
    std::vector<idx_t> out_i;

    // Offers candidate j at distance dis to row i's heap.
    inline void offer(idx_t i, float dis, int32_t j) {
        float* v = hv.data() + i * k;
        int32_t* id = hi.data() + i * k;
        if (dis < v[0] || (dis == v[0] && j < id[0])) {
            faiss::heap_replace_top<Heap>(k, v, id, dis, j);
        }
    }

    // Rows [r0, r1) against columns [c0, c1) (c0 >= r0): one product, then
    // the rows' heaps, then (for columns outside the row block) the columns'.
    void pair(idx_t r0, idx_t r1, idx_t c0, idx_t c1) {
        int nr = r1 - r0, nc = c1 - c0, di = d;
        float one = 1, zero = 0;
        sgemm_("Transpose", "Not transpose", &nc, &nr, &di, &one, x + c0 * d, &di, x + r0 * d,
               &di, &zero, ip.data(), &nc);
        const float* P = ip.data();
        const float* xn = norms.data();
#pragma omp parallel for schedule(dynamic, 16)
        for (idx_t i = r0; i < r1; i++) {
            const float* row = P + (i - r0) * nc;
            for (idx_t j = c0; j < c1; j++) {
                if (j == i) continue;
                float dis = xn[i] + xn[j] - 2 * row[j - c0];
                if (dis < 0) dis = 0; // round-off for (near) duplicates
                offer(i, dis, (int32_t)j);
            }
        }
        idx_t t0 = std::max(c0, r1); // columns inside the row block were done above
        if (t0 >= c1) return;
        idx_t ntiles = (c1 - t0 + kTile - 1) / kTile;
#pragma omp parallel for schedule(dynamic, 4)
        for (idx_t t = 0; t < ntiles; t++) {
            idx_t j0 = t0 + t * kTile, j1 = std::min(j0 + kTile, c1);
            for (idx_t i = r0; i < r1; i++) {
                const float* row = P + (i - r0) * nc;
                for (idx_t j = j0; j < j1; j++) {
                    float dis = xn[i] + xn[j] - 2 * row[j - c0];
                    if (dis < 0) dis = 0;
                    offer(j, dis, (int32_t)i);
                }
            }
        }
    }
};

SelfKnn* sk(DadashSelfKnn* p) { return reinterpret_cast<SelfKnn*>(p); }

} // namespace

extern "C" {

int faiss_SelfKnn_new(DadashSelfKnn** p, const float* x, idx_t n, idx_t d, idx_t k, idx_t block) {
    return guard([&] {
        FAISS_THROW_IF_NOT_MSG(p, "output pointer is NULL");
        FAISS_THROW_IF_NOT_MSG(x, "vectors are NULL");
        FAISS_THROW_IF_NOT_MSG(n >= 2 && d >= 1, "need at least 2 vectors of dimension >= 1");
        FAISS_THROW_IF_NOT_MSG(n <= std::numeric_limits<int32_t>::max(), "too many vectors");
        FAISS_THROW_IF_NOT_FMT(k >= 1 && k < n, "k = %zd must be between 1 and n - 1 = %zd",
                               (size_t)k, (size_t)(n - 1));
        auto s = std::make_unique<SelfKnn>();
        s->x = x;
        s->n = n;
        s->d = d;
        s->k = k;
        s->block = block > 0 ? block : 1024;
        s->norms.resize(n);
        faiss::fvec_norms_L2sqr(s->norms.data(), x, d, n);
        s->hv.assign(n * k, std::numeric_limits<float>::infinity());
        s->hi.assign(n * k, -1);
        s->ip.resize(s->block * kColumns);
        s->out_d.resize(s->block * k);
        s->out_i.resize(s->block * k);
        *p = reinterpret_cast<DadashSelfKnn*>(s.release());
    });
}

int faiss_SelfKnn_next(DadashSelfKnn* p, idx_t* row0, idx_t* nrows, const float** distances,
                       const idx_t** labels) {
    return guard([&] {
        SelfKnn* s = sk(p);
        idx_t r0 = s->next_block * s->block;
        *row0 = r0;
        *nrows = 0;
        if (r0 >= s->n) return;
        idx_t r1 = std::min(r0 + s->block, s->n);
        for (idx_t c0 = r0; c0 < s->n; c0 += kColumns) {
            s->pair(r0, r1, c0, std::min(c0 + kColumns, s->n));
        }
        // Rows [r0, r1) have now met every other row: sort and hand them out.
        idx_t k = s->k;
#pragma omp parallel for
        for (idx_t i = r0; i < r1; i++) {
            float* v = s->hv.data() + i * k;
            int32_t* id = s->hi.data() + i * k;
            faiss::heap_reorder<Heap>(k, v, id);
            float* od = s->out_d.data() + (i - r0) * k;
            idx_t* oi = s->out_i.data() + (i - r0) * k;
            for (idx_t j = 0; j < k; j++) {
                od[j] = v[j];
                oi[j] = id[j];
            }
        }
        s->next_block++;
        *nrows = r1 - r0;
        *distances = s->out_d.data();
        *labels = s->out_i.data();
    });
}

void faiss_SelfKnn_free(DadashSelfKnn* p) { delete sk(p); }

} // extern "C"

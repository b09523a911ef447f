// IndexFlatL2Fused (dadash_faiss_extra.h): an IndexFlatL2 whose 1-nearest
// search, the assignment step of k-means, runs in one OpenMP team.
//
// faiss's own search multiplies each block of queries with OpenBLAS's
// thread pool, then finds the minima with an OpenMP team, and each pool
// spins while the other works. Here each thread of one team takes a block
// of queries, multiplies it with single-threaded BLAS (the sgemm call faiss
// makes, on the same data) and keeps the minimum as faiss's
// SingleBestResultHandler does (distance |x|^2 + |y|^2 - 2<x,y> clamped at
// 0; the first, smallest index among equal distances), so the assignments
// are faiss's. Other searches (k > 1) are IndexFlatL2's.
#include "faiss_c_common.h"
#include "dadash_blas.h"
#include "dadash_faiss_extra.h"

#include <faiss/IndexFlat.h>
#include <faiss/utils/distances.h>

#include <omp.h>

#include <algorithm>
#include <limits>
#include <vector>

using namespace dadash_faiss;

namespace {

struct IndexFlatL2Fused : faiss::IndexFlatL2 {
    explicit IndexFlatL2Fused(idx_t d) : faiss::IndexFlatL2(d) {}

    void search(idx_t n, const float* x, idx_t k, float* distances, idx_t* labels,
                const faiss::SearchParameters* params) const override {
        if (k != 1 || params != nullptr || ntotal == 0) {
            faiss::IndexFlatL2::search(n, x, k, distances, labels, params);
            return;
        }
        const float* y = get_xb();
        const idx_t ny = ntotal;
        std::vector<float> yn(ny);
        faiss::fvec_norms_L2sqr(yn.data(), y, d, ny);
        constexpr idx_t bx = 256, by = 4096;
        const idx_t nbx = (n + bx - 1) / bx;
        BlasSingleThread single;
#pragma omp parallel
        {
            std::vector<float> ip(bx * std::min(by, ny));
            std::vector<float> xn(bx), best(bx);
            std::vector<idx_t> arg(bx);
#pragma omp for schedule(dynamic, 1)
            for (idx_t b = 0; b < nbx; b++) {
                idx_t i0 = b * bx, i1 = std::min(i0 + bx, n), ni = i1 - i0;
                faiss::fvec_norms_L2sqr(xn.data(), x + i0 * d, d, ni);
                std::fill(best.begin(), best.begin() + ni, std::numeric_limits<float>::max());
                std::fill(arg.begin(), arg.begin() + ni, -1);
                for (idx_t j0 = 0; j0 < ny; j0 += by) {
                    idx_t j1 = std::min(j0 + by, ny), nj = j1 - j0;
                    gemm_abt(x + i0 * d, ni, y + j0 * d, nj, d, ip.data());
                    for (idx_t i = 0; i < ni; i++) {
                        const float* row = ip.data() + i * nj;
                        float bd = best[i];
                        idx_t ba = arg[i];
                        for (idx_t j = 0; j < nj; j++) {
                            float dis = xn[i] + yn[j0 + j] - 2 * row[j];
                            if (dis < 0) dis = 0;
                            if (bd > dis) {
                                bd = dis;
                                ba = j0 + j;
                            }
                        }
                        best[i] = bd;
                        arg[i] = ba;
                    }
                }
                std::copy(best.begin(), best.begin() + ni, distances + i0);
                std::copy(arg.begin(), arg.begin() + ni, labels + i0);
            }
        }
    }
};

} // namespace

extern "C" {

int faiss_IndexFlatL2Fused_new(FaissIndex** p, idx_t d) {
    return guard([&] {
        FAISS_THROW_IF_NOT_MSG(p, "output pointer is NULL");
        *p = handle(new IndexFlatL2Fused(d));
    });
}

} // extern "C"

// dadash's symmetric exact k-NN of a set against itself (dadash_faiss_extra.h).
//
// Searching a set against itself with IndexFlatL2 computes every pair's
// inner product twice (once for each side). Here the rows are cut into
// blocks, each pair of blocks is multiplied once with BLAS (the sgemm call
// faiss makes) and the product feeds the heaps of both blocks' rows, so the
// flops are halved. Distances are faiss's |x|^2 + |y|^2 - 2<x,y> clamped at
// 0; heaps are faiss's, keyed by (distance, index), so the k kept and their
// order do not depend on the order in which candidates arrive: ties keep
// and list the smaller index first.
//
// The block pairs are scheduled in rounds (the circle method of round-robin
// tournaments) in which no block appears twice, so the threads of one
// OpenMP team can each take a pair, multiply it with single-threaded BLAS
// and update its heaps with no lock.
#include "faiss_c_common.h"
#include "dadash_blas.h"
#include "dadash_faiss_extra.h"

#include <faiss/utils/Heap.h>
#include <faiss/utils/distances.h>

#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <utility>
#include <vector>

using namespace dadash_faiss;

// The vectorised clones below may use FMA instructions; contracting
// a + b - 2c into one would round differently from faiss's search.
#pragma GCC optimize("fp-contract=off")

namespace {

using Heap = faiss::CMax<float, int32_t>;

// Candidates are screened 16 at a time (a cache line of floats): their
// distances are computed together (vectorised where the CPU allows) and only
// a group with one that can enter a heap is looked at one by one.
constexpr idx_t kTile = 16;

// faiss's distance: |x|^2 + |y|^2 - 2<x,y>, clamped at 0 against round-off
// for (near) duplicates. No fused multiply-add (see the pragma below), so the
// rounding is that of faiss's own search.
inline float l2(float xi, float yj, float ip) {
    float dis = xi + yj - 2 * ip;
    return dis < 0 ? 0 : dis;
}

// Whether (dis, j) enters a heap whose worst is (top, topi).
inline bool better(float dis, int32_t j, float top, int32_t topi) {
    return dis < top || (dis == top && j < topi);
}

// Rows [r0, r1) take columns [c0, c1) of the product P (row-major,
// c1 - c0 columns) as candidates; a row never takes itself.
__attribute__((target_clones("avx512f", "avx2", "default")))
void update_rows(const float* P, idx_t r0, idx_t r1, idx_t c0, idx_t c1, const float* xn,
                 float* hv, int32_t* hi, idx_t k) {
    const idx_t nc = c1 - c0;
    for (idx_t i = r0; i < r1; i++) {
        const float* row = P + (i - r0) * nc;
        float* v = hv + i * k;
        int32_t* id = hi + i * k;
        float top = v[0];
        int32_t topi = id[0];
        const float xi = xn[i];
        for (idx_t j0 = c0; j0 < c1; j0 += kTile) {
            const idx_t m = std::min(kTile, c1 - j0);
            float dd[kTile];
            int any = 0;
            if (m == kTile) {
                for (idx_t t = 0; t < kTile; t++) {
                    dd[t] = l2(xi, xn[j0 + t], row[j0 - c0 + t]);
                    any |= dd[t] <= top;
                }
            } else {
                for (idx_t t = 0; t < m; t++) {
                    dd[t] = l2(xi, xn[j0 + t], row[j0 - c0 + t]);
                    any |= dd[t] <= top;
                }
            }
            if (!any) continue;
            for (idx_t t = 0; t < m; t++) {
                const idx_t j = j0 + t;
                if (j != i && better(dd[t], (int32_t)j, top, topi)) {
                    faiss::heap_replace_top<Heap>(k, v, id, dd[t], (int32_t)j);
                    top = v[0];
                    topi = id[0];
                }
            }
        }
    }
}

// Columns [c0, c1) of P (rows of another block) take rows [r0, r1) as
// candidates, 16 columns at a time while reading P row by row.
__attribute__((target_clones("avx512f", "avx2", "default")))
void update_columns(const float* P, idx_t r0, idx_t r1, idx_t c0, idx_t c1, const float* xn,
                    float* hv, int32_t* hi, idx_t k) {
    const idx_t nc = c1 - c0;
    for (idx_t j0 = c0; j0 < c1; j0 += kTile) {
        const idx_t m = std::min(kTile, c1 - j0);
        float top[kTile], yn[kTile];
        int32_t topi[kTile];
        for (idx_t t = 0; t < m; t++) {
            top[t] = hv[(j0 + t) * k];
            topi[t] = hi[(j0 + t) * k];
            yn[t] = xn[j0 + t];
        }
        for (idx_t t = m; t < kTile; t++) {
            top[t] = -1; // never below: padding
            topi[t] = -1;
            yn[t] = 0;
        }
        for (idx_t i = r0; i < r1; i++) {
            const float* row = P + (i - r0) * nc + (j0 - c0);
            const float xi = xn[i];
            float dd[kTile];
            int any = 0;
            if (m == kTile) {
                for (idx_t t = 0; t < kTile; t++) {
                    dd[t] = l2(xi, yn[t], row[t]);
                    any |= dd[t] <= top[t];
                }
            } else {
                for (idx_t t = 0; t < m; t++) {
                    dd[t] = l2(xi, yn[t], row[t]);
                    any |= dd[t] <= top[t];
                }
            }
            if (!any) continue;
            for (idx_t t = 0; t < m; t++) {
                if (better(dd[t], (int32_t)i, top[t], topi[t])) {
                    float* v = hv + (j0 + t) * k;
                    int32_t* id = hi + (j0 + t) * k;
                    faiss::heap_replace_top<Heap>(k, v, id, dd[t], (int32_t)i);
                    top[t] = v[0];
                    topi[t] = id[0];
                }
            }
        }
    }
}

struct SelfKnn {
    const float* x = nullptr;
    idx_t n = 0, d = 0, k = 0, block = 0, nblocks = 0;
    std::vector<float> norms;
    std::vector<float> hv;   // n x k heap distances
    std::vector<int32_t> hi; // n x k heap indices
    std::vector<std::vector<std::pair<idx_t, idx_t>>> rounds;
    size_t next_round = 0;
    std::vector<char> reordered; // rows whose heap has been sorted
    std::vector<float> out_d;
    std::vector<idx_t> out_i;

    // Blocks I and J (I == J: the block against itself, the row itself left
    // out): one product, then the heaps of I's rows and of J's rows.
    void pair(idx_t I, idx_t J, float* P) {
        idx_t r0 = I * block, r1 = std::min(r0 + block, n);
        idx_t c0 = J * block, c1 = std::min(c0 + block, n);
        gemm_abt(x + r0 * d, r1 - r0, x + c0 * d, c1 - c0, d, P);
        update_rows(P, r0, r1, c0, c1, norms.data(), hv.data(), hi.data(), k);
        if (I != J) update_columns(P, r0, r1, c0, c1, norms.data(), hv.data(), hi.data(), k);
    }

    void plan() {
        nblocks = (n + block - 1) / block;
        idx_t m = nblocks + (nblocks % 2); // an odd count gets a dummy block
        for (idx_t r = 0; r + 1 < m; r++) {
            std::vector<std::pair<idx_t, idx_t>> round;
            for (idx_t q = 0; q < m / 2; q++) {
                idx_t a = q == 0 ? m - 1 : (r + q) % (m - 1);
                idx_t b = (r - q + (m - 1)) % (m - 1);
                if (a < nblocks && b < nblocks) round.emplace_back(std::min(a, b), std::max(a, b));
            }
            if (!round.empty()) rounds.push_back(std::move(round));
        }
        std::vector<std::pair<idx_t, idx_t>> diag;
        for (idx_t b = 0; b < nblocks; b++) diag.emplace_back(b, b);
        rounds.push_back(std::move(diag));
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
        if (block <= 0) {
            // Enough blocks that every round keeps the team busy, but
            // products no smaller than 128 rows nor larger than 1024.
            idx_t nt = omp_get_max_threads();
            block = std::clamp<idx_t>((n + 8 * nt - 1) / (8 * nt), 128, 1024);
        }
        s->block = block;
        s->norms.resize(n);
        faiss::fvec_norms_L2sqr(s->norms.data(), x, d, n);
        s->hv.assign(n * k, std::numeric_limits<float>::infinity());
        s->hi.assign(n * k, -1);
        s->reordered.assign(n, 0);
        s->plan();
        *p = reinterpret_cast<DadashSelfKnn*>(s.release());
    });
}

int faiss_SelfKnn_step(DadashSelfKnn* p, int* done) {
    return guard([&] {
        SelfKnn* s = sk(p);
        if (s->next_round < s->rounds.size()) {
            const auto& round = s->rounds[s->next_round];
            BlasSingleThread single;
            idx_t nt = omp_get_max_threads();
            std::vector<std::vector<float>> bufs(nt);
#pragma omp parallel for schedule(dynamic, 1)
            for (size_t t = 0; t < round.size(); t++) {
                auto& buf = bufs[omp_get_thread_num()];
                buf.resize(s->block * s->block);
                s->pair(round[t].first, round[t].second, buf.data());
            }
            s->next_round++;
        }
        *done = s->next_round >= s->rounds.size();
    });
}

int faiss_SelfKnn_rows(DadashSelfKnn* p, idx_t row0, idx_t nrows, const float** distances,
                       const idx_t** labels) {
    return guard([&] {
        SelfKnn* s = sk(p);
        FAISS_THROW_IF_NOT_MSG(s->next_round >= s->rounds.size(),
                               "rows asked for before faiss_SelfKnn_step reported done");
        FAISS_THROW_IF_NOT_MSG(row0 >= 0 && nrows >= 0 && row0 + nrows <= s->n, "rows out of range");
        idx_t k = s->k;
        s->out_d.resize(nrows * k);
        s->out_i.resize(nrows * k);
#pragma omp parallel for
        for (idx_t i = row0; i < row0 + nrows; i++) {
            float* v = s->hv.data() + i * k;
            int32_t* id = s->hi.data() + i * k;
            if (!s->reordered[i]) {
                faiss::heap_reorder<Heap>(k, v, id); // ascending (distance, index)
                s->reordered[i] = 1;
            }
            float* od = s->out_d.data() + (i - row0) * k;
            idx_t* oi = s->out_i.data() + (i - row0) * k;
            for (idx_t j = 0; j < k; j++) {
                od[j] = v[j];
                oi[j] = id[j];
            }
        }
        *distances = s->out_d.data();
        *labels = s->out_i.data();
    });
}

void faiss_SelfKnn_free(DadashSelfKnn* p) { delete sk(p); }

} // extern "C"

// RangeSearchResult and IDSelector* of the faiss C API.
#include "faiss_c_common.h"

#include <faiss/c_api/impl/AuxIndexStructures_c.h>

#include <faiss/impl/AuxIndexStructures.h>
#include <faiss/impl/IDSelector.h>

using namespace dadash_faiss;

namespace {

faiss::RangeSearchResult* rsr(FaissRangeSearchResult* p) {
    return reinterpret_cast<faiss::RangeSearchResult*>(p);
}
const faiss::RangeSearchResult* rsr(const FaissRangeSearchResult* p) {
    return reinterpret_cast<const faiss::RangeSearchResult*>(p);
}

// Every selector handle points at the faiss::IDSelector base, so callers may
// pass a FaissIDSelectorRange/Batch wherever a FaissIDSelector is expected
// (go-faiss does exactly that, and frees them with faiss_IDSelector_free).
template <class H>
const faiss::IDSelector* sel(const H* p) {
    return reinterpret_cast<const faiss::IDSelector*>(p);
}
template <class H>
H* sel_handle(faiss::IDSelector* s) {
    return reinterpret_cast<H*>(s);
}

} // namespace

extern "C" {

/* ---- RangeSearchResult ---- */

int faiss_RangeSearchResult_new(FaissRangeSearchResult** p, idx_t nq) {
    return faiss_RangeSearchResult_new_with(p, nq, 1);
}
int faiss_RangeSearchResult_new_with(FaissRangeSearchResult** p, idx_t nq, int alloc_lims) {
    return guard([&] {
        FAISS_THROW_IF_NOT_MSG(p, "output pointer is NULL");
        *p = reinterpret_cast<FaissRangeSearchResult*>(
                new faiss::RangeSearchResult(nq, alloc_lims != 0));
    });
}
int faiss_RangeSearchResult_do_allocation(FaissRangeSearchResult* p) {
    return guard([&] { rsr(p)->do_allocation(); });
}
void faiss_RangeSearchResult_free(FaissRangeSearchResult* p) { delete rsr(p); }
size_t faiss_RangeSearchResult_nq(const FaissRangeSearchResult* p) { return rsr(p)->nq; }
size_t faiss_RangeSearchResult_buffer_size(const FaissRangeSearchResult* p) {
    return rsr(p)->buffer_size;
}
void faiss_RangeSearchResult_lims(FaissRangeSearchResult* p, size_t** lims) {
    *lims = rsr(p)->lims;
}
void faiss_RangeSearchResult_labels(FaissRangeSearchResult* p, idx_t** labels,
                                    float** distances) {
    if (labels) *labels = rsr(p)->labels;
    if (distances) *distances = rsr(p)->distances;
}

/* ---- IDSelector, IDSelectorRange, IDSelectorBatch ---- */

void faiss_IDSelector_free(FaissIDSelector* s) { delete sel(s); }
int faiss_IDSelector_is_member(const FaissIDSelector* s, idx_t id) {
    return sel(s)->is_member(id);
}

int faiss_IDSelectorRange_new(FaissIDSelectorRange** p, idx_t imin, idx_t imax) {
    return guard([&] {
        FAISS_THROW_IF_NOT_MSG(p, "output pointer is NULL");
        *p = sel_handle<FaissIDSelectorRange>(new faiss::IDSelectorRange(imin, imax));
    });
}
void faiss_IDSelectorRange_free(FaissIDSelectorRange* s) { delete sel(s); }
idx_t faiss_IDSelectorRange_imin(const FaissIDSelectorRange* s) {
    return static_cast<const faiss::IDSelectorRange*>(sel(s))->imin;
}
idx_t faiss_IDSelectorRange_imax(const FaissIDSelectorRange* s) {
    return static_cast<const faiss::IDSelectorRange*>(sel(s))->imax;
}

int faiss_IDSelectorBatch_new(FaissIDSelectorBatch** p, size_t n, const idx_t* indices) {
    return guard([&] {
        FAISS_THROW_IF_NOT_MSG(p, "output pointer is NULL");
        FAISS_THROW_IF_NOT_MSG(indices || n == 0, "indices is NULL");
        *p = sel_handle<FaissIDSelectorBatch>(new faiss::IDSelectorBatch(n, indices));
    });
}
int faiss_IDSelectorBatch_nbits(const FaissIDSelectorBatch* s) {
    return static_cast<const faiss::IDSelectorBatch*>(sel(s))->nbits;
}
idx_t faiss_IDSelectorBatch_mask(const FaissIDSelectorBatch* s) {
    return static_cast<const faiss::IDSelectorBatch*>(sel(s))->mask;
}

} // extern "C"

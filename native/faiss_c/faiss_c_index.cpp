// Index, IndexFlat*, IndexIVF/IndexIVFFlat, index_factory, index I/O and
// ParameterSpace of the faiss C API.
#include "faiss_c_common.h"

#include <faiss/c_api/AutoTune_c.h>
#include <faiss/c_api/IndexFlat_c.h>
#include <faiss/c_api/IndexIVFFlat_c.h>
#include <faiss/c_api/IndexIVF_c.h>
#include <faiss/c_api/impl/AuxIndexStructures_c.h>
#include <faiss/c_api/index_factory_c.h>
#include <faiss/c_api/index_io_c.h>

#include <faiss/AutoTune.h>
#include <faiss/IndexFlat.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/impl/AuxIndexStructures.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/index_factory.h>
#include <faiss/index_io.h>

#include <cstdio>

using namespace dadash_faiss;

namespace {

// Stores a new C++ index into a C output parameter (its Index base pointer).
void out(FaissIndex** p, faiss::Index* i) {
    FAISS_THROW_IF_NOT_MSG(p, "output pointer is NULL");
    *p = handle(i);
}

template <class T, class... A>
int make(FaissIndex** p, A... args) {
    return guard([&] {
        FAISS_THROW_IF_NOT_MSG(p, "output pointer is NULL");
        *p = handle(new T(args...));
    });
}

const faiss::ParameterSpace* ps(const FaissParameterSpace* p) {
    return reinterpret_cast<const faiss::ParameterSpace*>(p);
}

} // namespace

extern "C" {

/* ---- Index ---- */

void faiss_Index_free(FaissIndex* i) { delete idx(i); }
int faiss_Index_d(const FaissIndex* i) { return idx(i)->d; }
int faiss_Index_is_trained(const FaissIndex* i) { return idx(i)->is_trained; }
idx_t faiss_Index_ntotal(const FaissIndex* i) { return idx(i)->ntotal; }
FaissMetricType faiss_Index_metric_type(const FaissIndex* i) {
    return static_cast<FaissMetricType>(idx(i)->metric_type);
}
int faiss_Index_verbose(const FaissIndex* i) { return idx(i)->verbose; }
void faiss_Index_set_verbose(FaissIndex* i, int v) { idx(i)->verbose = v != 0; }

int faiss_Index_train(FaissIndex* i, idx_t n, const float* x) {
    return guard([&] { idx(i)->train(n, x); });
}
int faiss_Index_add(FaissIndex* i, idx_t n, const float* x) {
    return guard([&] { idx(i)->add(n, x); });
}
int faiss_Index_add_with_ids(FaissIndex* i, idx_t n, const float* x, const idx_t* xids) {
    return guard([&] { idx(i)->add_with_ids(n, x, xids); });
}
int faiss_Index_search(const FaissIndex* i, idx_t n, const float* x, idx_t k,
                       float* distances, idx_t* labels) {
    return guard([&] { idx(i)->search(n, x, k, distances, labels); });
}
int faiss_Index_range_search(const FaissIndex* i, idx_t n, const float* x, float radius,
                             FaissRangeSearchResult* result) {
    return guard([&] {
        FAISS_THROW_IF_NOT_MSG(result, "result is NULL");
        idx(i)->range_search(n, x, radius, reinterpret_cast<faiss::RangeSearchResult*>(result));
    });
}
int faiss_Index_assign(FaissIndex* i, idx_t n, const float* x, idx_t* labels, idx_t k) {
    return guard([&] { idx(i)->assign(n, x, labels, k); });
}
int faiss_Index_reset(FaissIndex* i) {
    return guard([&] { idx(i)->reset(); });
}
int faiss_Index_remove_ids(FaissIndex* i, const FaissIDSelector* sel, size_t* n_removed) {
    return guard([&] {
        FAISS_THROW_IF_NOT_MSG(sel, "selector is NULL");
        size_t n = idx(i)->remove_ids(*reinterpret_cast<const faiss::IDSelector*>(sel));
        if (n_removed) *n_removed = n;
    });
}
int faiss_Index_reconstruct(const FaissIndex* i, idx_t key, float* recons) {
    return guard([&] { idx(i)->reconstruct(key, recons); });
}
int faiss_Index_reconstruct_n(const FaissIndex* i, idx_t i0, idx_t ni, float* recons) {
    return guard([&] { idx(i)->reconstruct_n(i0, ni, recons); });
}
int faiss_Index_compute_residual(const FaissIndex* i, const float* x, float* residual,
                                 idx_t key) {
    return guard([&] { idx(i)->compute_residual(x, residual, key); });
}
int faiss_Index_compute_residual_n(const FaissIndex* i, idx_t n, const float* x,
                                   float* residuals, const idx_t* keys) {
    return guard([&] { idx(i)->compute_residual_n(n, x, residuals, keys); });
}
int faiss_Index_sa_code_size(const FaissIndex* i, size_t* size) {
    return guard([&] {
        FAISS_THROW_IF_NOT_MSG(size, "size is NULL");
        *size = idx(i)->sa_code_size();
    });
}
int faiss_Index_sa_encode(const FaissIndex* i, idx_t n, const float* x, uint8_t* bytes) {
    return guard([&] { idx(i)->sa_encode(n, x, bytes); });
}
int faiss_Index_sa_decode(const FaissIndex* i, idx_t n, const uint8_t* bytes, float* x) {
    return guard([&] { idx(i)->sa_decode(n, bytes, x); });
}

/* ---- IndexFlat, IndexFlatIP, IndexFlatL2 ---- */

int faiss_IndexFlat_new(FaissIndexFlat** p) { return make<faiss::IndexFlat>(p); }
int faiss_IndexFlat_new_with(FaissIndexFlat** p, idx_t d, FaissMetricType metric) {
    return make<faiss::IndexFlat>(p, d, static_cast<faiss::MetricType>(metric));
}
int faiss_IndexFlatIP_new(FaissIndexFlatIP** p) { return make<faiss::IndexFlatIP>(p); }
int faiss_IndexFlatIP_new_with(FaissIndexFlatIP** p, idx_t d) {
    return make<faiss::IndexFlatIP>(p, d);
}
int faiss_IndexFlatL2_new(FaissIndexFlatL2** p) { return make<faiss::IndexFlatL2>(p); }
int faiss_IndexFlatL2_new_with(FaissIndexFlatL2** p, idx_t d) {
    return make<faiss::IndexFlatL2>(p, d);
}

// Casts return the same handle when the index is of that type, else NULL.
FaissIndexFlat* faiss_IndexFlat_cast(FaissIndex* i) {
    return as<faiss::IndexFlat>(i) ? i : nullptr;
}
FaissIndexFlatIP* faiss_IndexFlatIP_cast(FaissIndex* i) {
    return as<faiss::IndexFlatIP>(i) ? i : nullptr;
}
FaissIndexFlatL2* faiss_IndexFlatL2_cast(FaissIndex* i) {
    return as<faiss::IndexFlatL2>(i) ? i : nullptr;
}
void faiss_IndexFlat_free(FaissIndexFlat* i) { delete idx(i); }
void faiss_IndexFlatIP_free(FaissIndexFlatIP* i) { delete idx(i); }
void faiss_IndexFlatL2_free(FaissIndexFlatL2* i) { delete idx(i); }

void faiss_IndexFlat_xb(FaissIndexFlat* i, float** p_xb, size_t* p_size) {
    faiss::IndexFlat* f = as<faiss::IndexFlat>(i);
    if (p_xb) *p_xb = f ? f->get_xb() : nullptr;
    if (p_size) *p_size = f ? f->codes.size() / sizeof(float) : 0;
}

int faiss_IndexFlat_compute_distance_subset(FaissIndex* i, idx_t n, const float* x, idx_t k,
                                            float* distances, const idx_t* labels) {
    return guard([&] {
        const faiss::IndexFlat* f = as<faiss::IndexFlat>(i);
        FAISS_THROW_IF_NOT_MSG(f, "index is not an IndexFlat");
        f->compute_distance_subset(n, x, k, distances, labels);
    });
}

/* ---- IndexIVF, IndexIVFFlat ---- */

// Field accessors for an IVF handle; a handle that is not an IVF index reads
// as 0 and ignores writes (these functions have no error channel).
#define DD_IVF_FIELDS(P)                                                        \
    size_t faiss_##P##_nlist(const Faiss##P* i) {                               \
        auto v = as<faiss::IndexIVF>(i); return v ? v->nlist : 0;               \
    }                                                                           \
    size_t faiss_##P##_nprobe(const Faiss##P* i) {                              \
        auto v = as<faiss::IndexIVF>(i); return v ? v->nprobe : 0;              \
    }                                                                           \
    void faiss_##P##_set_nprobe(Faiss##P* i, size_t n) {                        \
        if (auto v = as<faiss::IndexIVF>(i)) v->nprobe = n;                     \
    }                                                                           \
    FaissIndex* faiss_##P##_quantizer(const Faiss##P* i) {                      \
        auto v = as<faiss::IndexIVF>(i); return v ? handle(v->quantizer) : nullptr; \
    }                                                                           \
    char faiss_##P##_quantizer_trains_alone(const Faiss##P* i) {                \
        auto v = as<faiss::IndexIVF>(i); return v ? v->quantizer_trains_alone : 0; \
    }                                                                           \
    int faiss_##P##_own_fields(const Faiss##P* i) {                             \
        auto v = as<faiss::IndexIVF>(i); return v ? v->own_fields : 0;          \
    }                                                                           \
    void faiss_##P##_set_own_fields(Faiss##P* i, int own) {                     \
        if (auto v = as<faiss::IndexIVF>(i)) v->own_fields = own != 0;          \
    }                                                                           \
    void faiss_##P##_free(Faiss##P* i) { delete idx(i); }

DD_IVF_FIELDS(IndexIVF)
DD_IVF_FIELDS(IndexIVFFlat)
#undef DD_IVF_FIELDS

FaissIndexIVF* faiss_IndexIVF_cast(FaissIndex* i) {
    return as<faiss::IndexIVF>(i) ? i : nullptr;
}
FaissIndexIVFFlat* faiss_IndexIVFFlat_cast(FaissIndex* i) {
    return as<faiss::IndexIVFFlat>(i) ? i : nullptr;
}

// The quantizer stays owned by the caller unless own_fields is set to 1.
int faiss_IndexIVFFlat_new(FaissIndexIVFFlat** p) { return make<faiss::IndexIVFFlat>(p); }
int faiss_IndexIVFFlat_new_with(FaissIndexIVFFlat** p, FaissIndex* quantizer, size_t d,
                                size_t nlist) {
    return faiss_IndexIVFFlat_new_with_metric(p, quantizer, d, nlist, METRIC_L2);
}
int faiss_IndexIVFFlat_new_with_metric(FaissIndexIVFFlat** p, FaissIndex* quantizer, size_t d,
                                       size_t nlist, FaissMetricType metric) {
    return guard([&] {
        FAISS_THROW_IF_NOT_MSG(quantizer, "quantizer is NULL");
        out(p, new faiss::IndexIVFFlat(idx(quantizer), d, nlist,
                                       static_cast<faiss::MetricType>(metric)));
    });
}

/* ---- index_factory and I/O ---- */

int faiss_index_factory(FaissIndex** p, int d, const char* description,
                        FaissMetricType metric) {
    return guard([&] {
        FAISS_THROW_IF_NOT_MSG(description, "description is NULL");
        out(p, faiss::index_factory(d, description, static_cast<faiss::MetricType>(metric)));
    });
}
int faiss_write_index(const FaissIndex* i, FILE* f) {
    return guard([&] { faiss::write_index(idx(i), f); });
}
int faiss_write_index_fname(const FaissIndex* i, const char* fname) {
    return guard([&] { faiss::write_index(idx(i), fname); });
}
int faiss_read_index(FILE* f, int io_flags, FaissIndex** p) {
    return guard([&] { out(p, faiss::read_index(f, io_flags)); });
}
int faiss_read_index_fname(const char* fname, int io_flags, FaissIndex** p) {
    return guard([&] { out(p, faiss::read_index(fname, io_flags)); });
}

/* ---- ParameterSpace ---- */

int faiss_ParameterSpace_new(FaissParameterSpace** p) {
    return guard([&] {
        FAISS_THROW_IF_NOT_MSG(p, "output pointer is NULL");
        *p = reinterpret_cast<FaissParameterSpace*>(new faiss::ParameterSpace());
    });
}
void faiss_ParameterSpace_free(FaissParameterSpace* p) {
    delete reinterpret_cast<faiss::ParameterSpace*>(p);
}
size_t faiss_ParameterSpace_n_combinations(const FaissParameterSpace* p) {
    return ps(p)->n_combinations();
}
int faiss_ParameterSpace_combination_name(const FaissParameterSpace* p, size_t cno, char* buf,
                                          size_t len) {
    return guard([&] {
        std::string name = ps(p)->combination_name(cno);
        if (buf && len) snprintf(buf, len, "%s", name.c_str());
    });
}
int faiss_ParameterSpace_set_index_parameters(const FaissParameterSpace* p, FaissIndex* i,
                                              const char* params) {
    return guard([&] { ps(p)->set_index_parameters(idx(i), params); });
}
int faiss_ParameterSpace_set_index_parameters_cno(const FaissParameterSpace* p, FaissIndex* i,
                                                  size_t cno) {
    return guard([&] { ps(p)->set_index_parameters(idx(i), cno); });
}
int faiss_ParameterSpace_set_index_parameter(const FaissParameterSpace* p, FaissIndex* i,
                                             const char* name, double value) {
    return guard([&] {
        FAISS_THROW_IF_NOT_MSG(name, "parameter name is NULL");
        ps(p)->set_index_parameter(idx(i), name, value);
    });
}
void faiss_ParameterSpace_display(const FaissParameterSpace* p) { ps(p)->display(); }

} // extern "C"

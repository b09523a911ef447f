// Internal helpers shared by the faiss C API implementation (not a public header).
#pragma once

#include <faiss/Index.h>
#include <faiss/impl/FaissAssert.h>
#include <faiss/impl/FaissException.h>
#include <faiss/c_api/Index_c.h>
#include <faiss/c_api/error_c.h>

#include <exception>

namespace dadash_faiss {

// Record a failure message for faiss_get_last_error (never throws).
void set_last_error(const char* msg) noexcept;

// Apply the thread count chosen with faiss_set_omp_threads to the calling
// thread: OpenMP keeps it per OS thread, and Go calls come from many threads.
void apply_omp_threads() noexcept;

// Runs f and turns any C++ exception into the C API's error code, so no
// exception ever crosses the C boundary.
template <class F>
int guard(F&& f) noexcept {
    try {
        apply_omp_threads();
        f();
        return OK;
    } catch (const faiss::FaissException& e) {
        set_last_error(e.what());
        return FAISS_EXCEPT;
    } catch (const std::exception& e) {
        set_last_error(e.what());
        return STD_EXCEPT;
    } catch (...) {
        set_last_error("unknown C++ exception");
        return UNKNOWN_EXCEPT;
    }
}

// Every opaque index handle (FaissIndex, FaissIndexFlat, FaissIndexIVF, ...)
// is a FaissIndex_H that points at the faiss::Index base subobject.
inline faiss::Index* idx(FaissIndex* p) { return reinterpret_cast<faiss::Index*>(p); }
inline const faiss::Index* idx(const FaissIndex* p) {
    return reinterpret_cast<const faiss::Index*>(p);
}
inline FaissIndex* handle(faiss::Index* p) { return reinterpret_cast<FaissIndex*>(p); }

// Checked downcast of an index handle; nullptr when it is not a T.
template <class T>
T* as(FaissIndex* p) { return dynamic_cast<T*>(idx(p)); }
template <class T>
const T* as(const FaissIndex* p) { return dynamic_cast<const T*>(idx(p)); }

} // namespace dadash_faiss

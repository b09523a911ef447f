// Error reporting (faiss_get_last_error) and the OpenMP thread setting.
#include "faiss_c_common.h"
#include "dadash_faiss_extra.h"

#include <omp.h>

#include <atomic>
#include <mutex>
#include <string>

namespace {

// Per-thread message of the last failure, as the C API specifies.
thread_local std::string tl_error;
thread_local bool tl_has_error = false;

// Copy of the most recent failure in any thread. A Go goroutine may move to
// another OS thread between the failing call and faiss_get_last_error; a
// thread with no failure of its own then reports this one instead of nothing.
std::mutex g_mu;
std::string g_error;
bool g_has_error = false;
thread_local std::string tl_fallback; // keeps the returned pointer valid

std::atomic<int> g_omp_threads{0}; // 0: leave OpenMP's default alone

} // namespace

namespace dadash_faiss {

void set_last_error(const char* msg) noexcept {
    try {
        tl_error = msg ? msg : "";
        tl_has_error = true;
        std::lock_guard<std::mutex> lock(g_mu);
        g_error = tl_error;
        g_has_error = true;
    } catch (...) {
        // out of memory while storing the message: keep what is there
        tl_has_error = true;
    }
}

void apply_omp_threads() noexcept {
    int n = g_omp_threads.load(std::memory_order_relaxed);
    if (n > 0 && omp_get_max_threads() != n) omp_set_num_threads(n);
}

} // namespace dadash_faiss

extern "C" {

const char* faiss_get_last_error() {
    if (tl_has_error) return tl_error.c_str();
    try {
        std::lock_guard<std::mutex> lock(g_mu);
        if (!g_has_error) return nullptr;
        tl_fallback = g_error;
        return tl_fallback.c_str();
    } catch (...) {
        return nullptr;
    }
}

int faiss_set_omp_threads(int n) {
    if (n <= 0) n = omp_get_num_procs();
    g_omp_threads.store(n, std::memory_order_relaxed);
    omp_set_num_threads(n);
    return omp_get_max_threads();
}

} // extern "C"

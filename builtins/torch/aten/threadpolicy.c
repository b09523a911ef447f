// dadash's thread policy for the libraries libtorch runs on, given to them
// when they read their settings, plus the size rule for OpenBLAS's pool.
//
// OpenMP (libgomp, libtorch's intra-op pool) and OpenBLAS read the
// environment in their own initialisers, when the dynamic loader maps them:
// before Go's main, before any constructor of this executable, and before
// the C library has even set up `environ` for a .preinit_array hook to
// setenv into (libc's initialiser then resets it). So this executable
// defines getenv and secure_getenv itself (exported, see aten.go's cgo
// LDFLAGS): the dynamic linker binds the libraries' calls to these, which
// answer from the real environment and, for the settings below when the
// user has not set them, with dadash's defaults:
//
//   GOMP_SPINCOUNT=10000       OpenMP workers spin about 0.1 ms when a
//                              parallel region ends, then sleep. libgomp's
//                              default spins 300,000 rounds (3 ms): a
//                              training step alternates parallel kernels
//                              with serial work (autograd, the interpreter,
//                              small updates), spinning workers steal those
//                              cycles, and on a shared machine they make
//                              steps swing by an order of magnitude.
//                              Sleeping at once (OMP_WAIT_POLICY=PASSIVE,
//                              dadash's earlier policy) pays a futex wake and
//                              a context switch for every parallel kernel:
//                              on the glyph recipe's DADA step, hundreds of
//                              them. Given only when neither it nor
//                              OMP_WAIT_POLICY is set.
//   OPENBLAS_THREAD_TIMEOUT=4  OpenBLAS's pthread workers go to sleep after
//                              2^4 cycles of idling instead of busy-waiting
//                              in sched_yield.
//
// DADASH_THREAD_POLICY=default leaves both libraries at their own defaults
// (and OpenBLAS's pool at one size, below). The environment itself is not
// changed: Go's os.Getenv, scripts and child processes see what they were
// given.
//
// OpenBLAS decides by itself whether a product is worth its pool, with a
// threshold (2^18 multiply-adds) far below where a second thread pays off:
// the matrix products of an embedding step (60 x 64 by 64 x 1800) run 1.1-2.3
// times slower on 2 threads than on 1 (waking the worker costs more than
// it saves), while products from about 2^25 multiply-adds (faiss's distance
// blocks, large user products) run in 0.55 of the time. This executable
// also defines the BLAS entry points libtorch and faiss call (sgemm_,
// dgemm_, sgemv_, dgemv_): each sets the pool to one thread below 2^24
// multiply-adds (2^22 for matrix-vector) and to --threads above, then calls
// OpenBLAS's. The pool size is only switched when it changes, so a training
// step's small products cost one comparison each.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

extern char **environ;

static char *env_lookup(const char *name) {
  if (!name || !environ) return NULL;
  size_t n = strlen(name);
  for (char **e = environ; *e; e++) {
    if (strncmp(*e, name, n) == 0 && (*e)[n] == '=') return *e + n + 1;
  }
  return NULL;
}

static int policy_off(void) {
  const char *p = env_lookup("DADASH_THREAD_POLICY");
  return p && strcmp(p, "default") == 0;
}

// dadash_policy_default is the value dadash gives an unset variable, or NULL.
static char *dadash_policy_default(const char *name) {
  static char spin[] = "10000", timeout[] = "4";
  if (strcmp(name, "GOMP_SPINCOUNT") == 0) {
    // The user's OMP_WAIT_POLICY (PASSIVE or ACTIVE) decides the spin alone.
    if (policy_off() || env_lookup("OMP_WAIT_POLICY")) return NULL;
    return spin;
  }
  if (strcmp(name, "OPENBLAS_THREAD_TIMEOUT") == 0) return policy_off() ? NULL : timeout;
  return NULL;
}

char *getenv(const char *name) {
  char *v = env_lookup(name);
  if (v || !name) return v;
  return dadash_policy_default(name);
}

char *secure_getenv(const char *name) {
  if (getauxval(AT_SECURE)) return NULL;
  return getenv(name);
}

// dadash_effective_env is getenv for Go (tests and `dadash version`).
char *dadash_effective_env(const char *name) { return getenv(name); }

// ---------------------------------------------------------------- BLAS

typedef int blasint; // Debian's OpenBLAS: 32-bit integers
static void (*blas_set_threads)(int);
static _Atomic int blas_wanted;  // --threads; 0 or 1: the pool is not sized per call
static _Atomic int blas_current; // the size last given to OpenBLAS

// dadash_blas_threads is called by dd_set_num_threads with --threads (0:
// leave OpenBLAS's pool alone, as when OPENBLAS_NUM_THREADS is set).
int dadash_blas_threads(int n) {
  if (!blas_set_threads) blas_set_threads = (void (*)(int))dlsym(RTLD_DEFAULT, "openblas_set_num_threads");
  if (!blas_set_threads) return 0;
  if (n > 0) blas_set_threads(n);
  atomic_store(&blas_current, n);
  atomic_store(&blas_wanted, policy_off() ? 0 : n);
  return 1;
}

static inline void blas_size(double work, double threshold) {
  int want = atomic_load_explicit(&blas_wanted, memory_order_relaxed);
  if (want <= 1) return;
  if (work < threshold) want = 1;
  if (atomic_exchange(&blas_current, want) != want) blas_set_threads(want);
}

static void *next_symbol(const char *name) {
  void *f = dlsym(RTLD_NEXT, name);
  if (!f) {
    fprintf(stderr, "dadash: the BLAS library has no %s\n", name);
    abort();
  }
  return f;
}

#define BLAS_SMALL_GEMM 16777216.0 /* 2^24 multiply-adds */
#define BLAS_SMALL_GEMV 4194304.0  /* 2^22 */

// One entry point per BLAS function and element type: size the pool, then
// call the library's own (found once, next after this executable).
#define DD_GEMM(name, T)                                                                                           \
  void name(const char *ta, const char *tb, const blasint *m, const blasint *n, const blasint *k, const T *alpha,  \
            const T *a, const blasint *lda, const T *b, const blasint *ldb, const T *beta, T *c,                   \
            const blasint *ldc) {                                                                                  \
    static void (*real)(const char *, const char *, const blasint *, const blasint *, const blasint *, const T *, \
                        const T *, const blasint *, const T *, const blasint *, const T *, T *, const blasint *); \
    if (!real) real = next_symbol(#name);                                                                          \
    blas_size((double)*m * (double)*n * (double)*k, BLAS_SMALL_GEMM);                                              \
    real(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);                                                    \
  }
#define DD_GEMV(name, T)                                                                                           \
  void name(const char *t, const blasint *m, const blasint *n, const T *alpha, const T *a, const blasint *lda,     \
            const T *x, const blasint *incx, const T *beta, T *y, const blasint *incy) {                           \
    static void (*real)(const char *, const blasint *, const blasint *, const T *, const T *, const blasint *,    \
                        const T *, const blasint *, const T *, T *, const blasint *);                             \
    if (!real) real = next_symbol(#name);                                                                          \
    blas_size((double)*m * (double)*n, BLAS_SMALL_GEMV);                                                           \
    real(t, m, n, alpha, a, lda, x, incx, beta, y, incy);                                                          \
  }

DD_GEMM(sgemm_, float)
DD_GEMM(dgemm_, double)
DD_GEMV(sgemv_, float)
DD_GEMV(dgemv_, double)

// dadash_blas_pool is OpenBLAS's current pool size, for tests.
int dadash_blas_pool(void) {
  int (*get)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "openblas_get_num_threads");
  return get ? get() : -1;
}

// ---------------------------------------------------------------- malloc

// libtorch's CPU tensors come from malloc. glibc serves a block of 128 KB
// or more (the threshold rises to the largest block freed, up to 32 MB)
// with a fresh mmap and returns it with munmap when freed, so an activation
// allocated again every step is fresh, zeroed pages every step; and it
// gives the top of its heap back to the system once 2x that threshold is
// free there. With the threshold fixed at its 32 MB maximum and the top kept
// up to 256 MB, a training step's activations (ResNet-50 at batch 8: 25.7 MB
// each) are reused from the heap step after step. The cost: up to 256 MB
// more resident memory after a large free. A user's own GLIBC_TUNABLES or
// MALLOC_*_ settings, or DADASH_THREAD_POLICY=default, leave glibc's
// defaults.
__attribute__((constructor)) static void dadash_malloc_policy(void) {
  if (policy_off() || env_lookup("GLIBC_TUNABLES") || env_lookup("MALLOC_MMAP_THRESHOLD_") ||
      env_lookup("MALLOC_TRIM_THRESHOLD_") || env_lookup("MALLOC_TOP_PAD_"))
    return;
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
}

// dadash_mmapped_blocks is the number of blocks glibc serves by mmap, for
// tests of the policy.
long dadash_mmapped_blocks(void) { return (long)mallinfo2().hblks; }

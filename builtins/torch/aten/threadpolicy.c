// dadash's thread policy for the libraries libtorch runs on, given to them
// when they read their settings.
//
// OpenMP (libgomp, libtorch's intra-op pool) and OpenBLAS read the
// environment in their own initialisers, when the dynamic loader maps them:
// before Go's main, before any constructor of this executable, and before
// the C library has even set up `environ` for a .preinit_array hook to
// setenv into (libc's initialiser then resets it). So this executable
// defines getenv and secure_getenv itself (exported, see aten.go's cgo
// LDFLAGS): the dynamic linker binds the libraries' calls to these, which
// answer from the real environment and, for the two settings below when
// the user has not set them, with dadash's defaults:
//
//   OMP_WAIT_POLICY=PASSIVE    OpenMP workers sleep when a parallel region
//                              ends instead of spinning (libgomp's default
//                              spins 300,000 times first). A training step
//                              alternates parallel kernels with serial work
//                              (autograd bookkeeping, the interpreter, the
//                              loader); spinning workers steal those cycles,
//                              and on a shared machine they make steps swing
//                              by an order of magnitude.
//   OPENBLAS_THREAD_TIMEOUT=4  OpenBLAS's pthread workers go to sleep after
//                              2^4 cycles of idling instead of busy-waiting
//                              in sched_yield.
//
// DADASH_THREAD_POLICY=default leaves both libraries at their own defaults.
// The environment itself is not changed: Go's os.Getenv, scripts and child
// processes see what they were given.
#include <stddef.h>
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

// dadash_policy_default is the value dadash gives an unset variable, or NULL.
static char *dadash_policy_default(const char *name) {
  static char passive[] = "PASSIVE", timeout[] = "4";
  if (strcmp(name, "OMP_WAIT_POLICY") != 0 && strcmp(name, "OPENBLAS_THREAD_TIMEOUT") != 0) return NULL;
  const char *p = env_lookup("DADASH_THREAD_POLICY");
  if (p && strcmp(p, "default") == 0) return NULL;
  return name[1] == 'M' ? passive : timeout;
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

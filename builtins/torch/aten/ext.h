/* The C boundary of dadash's own libtorch extension.

   Every entry point that can fail returns NULL on success or an error string
   allocated with malloc (free it with dd_free); no C++ exception ever crosses
   this boundary. Tensors are `at::Tensor *` handles, the same handles gotorch
   uses, so values move freely between gotorch and this extension. */
#pragma once

#if defined(__has_include)
#if !__has_include("dadash_native.h")
#error "dadash: the native libraries are not built or the CGO flags do not point at them. Run 'make' in the dadash checkout (it installs libtorch/faiss and builds them), or 'eval \"$(make -s env)\"' before calling go build / go test directly."
#endif
#endif
#include "dadash_native.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef void *dd_tensor; /* at::Tensor* */
typedef void *dd_op;     /* an operator name resolved to its overloads */

/* Argument kinds of dd_call. */
enum {
  DD_NONE = 0,
  DD_TENSOR = 1,
  DD_INT = 2,
  DD_FLOAT = 3,
  DD_BOOL = 4,
  DD_STR = 5,
  DD_INTS = 6,
  DD_FLOATS = 7,
  DD_TENSORS = 8,
  DD_DTYPE = 9,  /* i holds a c10::ScalarType code */
  DD_DEVICE = 10 /* s holds "cpu", "cuda", "cuda:1" */
};

typedef struct {
  const char *name; /* keyword name; NULL for a positional argument */
  int32_t kind;
  int64_t i;
  double f;
  const char *s;
  dd_tensor t;
  const int64_t *ints;
  const double *floats;
  const dd_tensor *tensors;
  int64_t n;
} dd_arg;

/* Result kinds. */
enum { DR_NONE = 0, DR_TENSOR = 1, DR_INT = 2, DR_FLOAT = 3, DR_BOOL = 4, DR_STR = 5, DR_LIST = 6 };

typedef struct {
  int32_t kind;
  int64_t i;
  double f;
  dd_tensor t;
  const char *name; /* field name of a named tuple member, or NULL (static storage) */
  char *s;          /* DR_STR: malloc'd */
  int64_t n;        /* DR_LIST: number of tensors in list */
  int64_t nbytes;   /* DR_TENSOR: bytes of its storage (for the collector's accounting) */
  dd_tensor *list;  /* DR_LIST: malloc'd array of handles */
} dd_ret;

void dd_free(void *p);

/* Operators through libtorch's dispatcher. */
const char *dd_op_lookup(const char *qualname, dd_op *op); /* "aten::sum" */
/* Results go to buf when they fit in cap entries; otherwise *rets is a
   malloc'd array the caller frees. *rets == buf when they fit. */
const char *dd_call(dd_op op, const char *display, const dd_arg *args, int64_t nargs,
                    dd_ret *buf, int64_t cap, dd_ret **rets, int64_t *nrets);
/* The schemas of an operator, one per line, for help(). */
char *dd_op_schemas(dd_op op);
/* Whether aten::<name> exists. */
int dd_op_exists(const char *qualname);
/* The names (without "aten::") of the aten operators dd_call can call, one
   per line, sorted; malloc'd. */
char *dd_op_names(void);

/* Tensor handles and metadata. */
void dd_tensor_free(dd_tensor t);
dd_tensor dd_tensor_clone_handle(dd_tensor t); /* a second handle, same tensor */
int64_t dd_dim(dd_tensor t);
void dd_sizes(dd_tensor t, int64_t *out);
int32_t dd_dtype(dd_tensor t);
int64_t dd_numel(dd_tensor t);
int64_t dd_nbytes(dd_tensor t); /* bytes of the storage this handle owns or views */
int32_t dd_device_type(dd_tensor t); /* 0 cpu, 1 cuda, other: libtorch's code */
int32_t dd_device_index(dd_tensor t);
int32_t dd_requires_grad(dd_tensor t);
int32_t dd_is_leaf(dd_tensor t);
int32_t dd_is_contiguous(dd_tensor t);
int32_t dd_defined(dd_tensor t);
char *dd_grad_fn_name(dd_tensor t); /* malloc'd, NULL when none */
const char *dd_set_requires_grad(dd_tensor t, int32_t on);
const char *dd_grad(dd_tensor t, dd_tensor *out); /* *out NULL when no grad */
const char *dd_set_grad(dd_tensor t, dd_tensor g); /* g NULL clears */
const char *dd_retain_grad(dd_tensor t);
const char *dd_backward(dd_tensor t, dd_tensor grad, int32_t retain_graph, int32_t create_graph);
int32_t dd_grad_enabled(void);
void dd_set_grad_enabled(int32_t on);
const char *dd_detach(dd_tensor t, dd_tensor *out);

/* Data in and out. from_blob copies, so Go memory is never retained. */
const char *dd_from_data(const void *data, int32_t dtype, const int64_t *sizes, int64_t ndim,
                         dd_tensor *out);
/* Copies the elements of t (any device, any layout) converted to dtype into
   dst, which holds numel * element size bytes. */
const char *dd_copy_out(dd_tensor t, int32_t dtype, void *dst, int64_t nbytes);
const char *dd_to(dd_tensor t, int32_t dtype, const char *device, int32_t copy, dd_tensor *out);

/* Python-style indexing: t[0], t[:, 1:3], t[..., -1], t[None], t[mask], t[idx]. */
enum { DI_INT = 0, DI_SLICE = 1, DI_ELLIPSIS = 2, DI_NONE = 3, DI_TENSOR = 4 };
typedef struct {
  int32_t kind;
  int64_t i;
  int64_t start, stop, step;
  int32_t has_start, has_stop;
  dd_tensor t;
} dd_index_item;
const char *dd_index(dd_tensor self, const dd_index_item *items, int64_t n, dd_tensor *out);
/* self[items] = value (a tensor), or = scalar when value is NULL. */
const char *dd_index_put(dd_tensor self, const dd_index_item *items, int64_t n, dd_tensor value,
                         double scalar);

/* A dict of name -> tensor written as torch.save does (zip format). */
const char *dd_pickle_save(const char *path, const char **names, const dd_tensor *tensors, int64_t n);

/* TorchScript modules. */
typedef void *dd_jit; /* torch::jit::Module* */
const char *dd_jit_load(const char *path, dd_jit *out);
void dd_jit_free(dd_jit m);
const char *dd_jit_define(const char *source, const char **names, const dd_tensor *tensors, int64_t n,
                          dd_jit *out);
const char *dd_jit_save(dd_jit m, const char *path);
/* Names and tensors come back as malloc'd arrays (names malloc'd strings). */
const char *dd_jit_named(dd_jit m, int32_t buffers, char ***names, dd_tensor **tensors, int64_t *n);
const char *dd_jit_train(dd_jit m, int32_t on);
const char *dd_jit_forward(dd_jit m, const dd_tensor *inputs, int64_t n, dd_tensor **outs, int64_t *nout);

/* Runtime. */
void dd_set_num_threads(int32_t n);
int32_t dd_get_num_threads(void);
int dadash_blas_pool(void); /* threadpolicy.c */
long dadash_mmapped_blocks(void);
/* OpenMP's thread count for parallel regions started on the calling OS
   thread only (omp_set_num_threads sets a per-thread value). */
void dd_set_thread_omp_threads(int32_t n);
void dd_manual_seed(uint64_t seed);
/* The default CPU generator's state as a uint8 tensor, and restoring it. */
const char *dd_get_rng_state(dd_tensor *out);
const char *dd_set_rng_state(dd_tensor state);
int32_t dd_cuda_available(void);
int32_t dd_cuda_device_count(void);
const char *dd_torch_version(void);

#ifdef __cplusplus
}
#endif

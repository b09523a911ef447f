/* The C boundary of dadash's torch.distributed: one process group per
   process (c10d's TCPStore rendezvous, then ProcessGroupGloo, or
   ProcessGroupNCCL when the libtorch has CUDA and NCCL), its collectives, an
   autograd-aware all-gather, and DDP's c10d::Reducer.

   As in builtins/torch/aten/ext.h: every entry point that can fail returns
   NULL on success or a malloc'd error string (free it with free); no C++
   exception crosses this boundary. Tensors are `at::Tensor *` handles. */
#pragma once

#if defined(__has_include)
#if !__has_include("dadash_native.h")
#error "dadash: the native libraries are not built or the CGO flags do not point at them. Run 'make' in the dadash checkout, or 'eval \"$(make -s env)\"' before calling go build / go test directly."
#endif
#endif
#include "dadash_native.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef void *dist_tensor;  /* at::Tensor* */
typedef void *dist_reducer; /* c10d::Reducer* */

/* Reduce operations (c10d::ReduceOp codes, plus AVG done as SUM / size). */
enum { DIST_SUM = 0, DIST_AVG = 1, DIST_PRODUCT = 2, DIST_MIN = 3, DIST_MAX = 4, DIST_BAND = 5, DIST_BOR = 6, DIST_BXOR = 7 };

/* Which backends this build has (bit 1: gloo, bit 2: nccl). */
int32_t dist_backends(void);

/* Rendezvous at master_addr:port (rank 0 serves the store) and creates the
   process group. backend: "gloo" or "nccl". local_rank >= 0 selects the GPU
   for NCCL. ifname: GLOO_SOCKET_IFNAME or "". */
const char *dist_init(const char *backend, const char *master_addr, int32_t port, int32_t rank,
                      int32_t world_size, int32_t local_rank, int64_t timeout_ms, const char *ifname);
/* Drops the process group and the store (waits for nothing pending). */
const char *dist_destroy(void);
int32_t dist_is_initialized(void);
/* Changes each time a group is created; a value saved by the autograd
   all-gather tells backward whether its group still exists. */
int64_t dist_generation(void);

const char *dist_barrier(void);
const char *dist_all_reduce(dist_tensor t, int32_t op);
const char *dist_reduce(dist_tensor t, int32_t dst, int32_t op);
const char *dist_broadcast(dist_tensor t, int32_t src);
/* outputs: world_size tensors of t's shape and dtype, filled in place. */
const char *dist_all_gather_into(dist_tensor t, const dist_tensor *outputs, int64_t n);
/* Gathers tensors whose first dimension may differ between processes; the
   other dimensions and the dtype must agree. With autograd (grad != 0) the
   backward of each output returns every process its slice of the gradient
   summed over processes. cat != 0: one tensor (the concatenation along dim
   0, in rank order); else world_size tensors. *outs is malloc'd. */
const char *dist_gather(dist_tensor t, int32_t cat, int32_t grad, dist_tensor **outs, int64_t *n);
/* Broadcasts many tensors from src in buffers of bucket_bytes (DDP's
   start-up and buffer synchronisation), without autograd recording. */
const char *dist_broadcast_coalesced(const dist_tensor *ts, int64_t n, int64_t bucket_bytes, int32_t src);
/* Fails, naming the first difference, when the tensors' count, shapes or
   dtypes differ from rank 0's. */
const char *dist_verify_params(const dist_tensor *ts, int64_t n);

/* DDP's gradient reducer over params (leaves that require grad). */
const char *dist_reducer_new(const dist_tensor *params, int64_t n, int64_t bucket_bytes,
                             int32_t find_unused, int32_t grad_as_bucket_view, dist_reducer *out);
void dist_reducer_free(dist_reducer r);
/* Called at each forward with autograd on: rebuilds the buckets in gradient
   order after the first iteration (as DDP does), then resets the counters. */
const char *dist_reducer_prepare_forward(dist_reducer r);
/* After that forward: outputs are searched for unused parameters only when
   the reducer was made with find_unused. */
const char *dist_reducer_prepare_backward(dist_reducer r, const dist_tensor *outputs, int64_t n);

/* CUDA (WITH_CUDA builds): sets the current device. */
const char *dist_set_cuda_device(int32_t index);

#ifdef __cplusplus
}
#endif

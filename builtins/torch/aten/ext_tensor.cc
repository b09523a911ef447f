// Tensor handles, metadata, autograd, data transfer and indexing.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/TensorIndexing.h>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/generated/variable_factories.h>
#include <torch/version.h>

#include <dlfcn.h>

#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "ext.h"
#include "ext_util.h"

#define T(x) (*(at::Tensor *)(x))

extern "C" int dadash_blas_threads(int n); // threadpolicy.c

const char *dd_intern(const std::string &s) {
  static std::mutex mu;
  static std::set<std::string> *pool = new std::set<std::string>();
  std::lock_guard<std::mutex> g(mu);
  return pool->insert(s).first->c_str();
}

extern "C" {

void dd_free(void *p) { std::free(p); }

void dd_tensor_free(dd_tensor t) { delete (at::Tensor *)t; }
dd_tensor dd_tensor_clone_handle(dd_tensor t) { return new at::Tensor(T(t)); }

int64_t dd_dim(dd_tensor t) { return T(t).dim(); }
void dd_sizes(dd_tensor t, int64_t *out) {
  auto s = T(t).sizes();
  for (size_t k = 0; k < s.size(); k++) out[k] = s[k];
}
int32_t dd_dtype(dd_tensor t) { return (int32_t)T(t).scalar_type(); }
int64_t dd_numel(dd_tensor t) { return T(t).numel(); }
int64_t dd_nbytes(dd_tensor t) {
  const auto &x = T(t);
  if (!x.defined() || !x.has_storage()) return 0;
  return (int64_t)x.storage().nbytes();
}
int32_t dd_device_type(dd_tensor t) {
  auto d = T(t).device();
  if (d.is_cpu()) return 0;
  if (d.is_cuda()) return 1;
  return 100 + (int32_t)d.type();
}
int32_t dd_device_index(dd_tensor t) { return T(t).device().index(); }
int32_t dd_requires_grad(dd_tensor t) { return T(t).requires_grad(); }
int32_t dd_is_leaf(dd_tensor t) { return T(t).is_leaf(); }
int32_t dd_is_contiguous(dd_tensor t) { return T(t).is_contiguous(); }
int32_t dd_defined(dd_tensor t) { return t && T(t).defined(); }

char *dd_grad_fn_name(dd_tensor t) {
  try {
    const auto &fn = T(t).grad_fn();
    if (!fn) return nullptr;
    return dd_strdup(fn->name());
  } catch (...) {
    return nullptr;
  }
}

const char *dd_set_requires_grad(dd_tensor t, int32_t on) {
  try {
    T(t).set_requires_grad(on != 0);
    return nullptr;
  }
  DD_CATCH
}

const char *dd_grad(dd_tensor t, dd_tensor *out) {
  try {
    const auto &g = T(t).grad();
    *out = g.defined() ? new at::Tensor(g) : nullptr;
    return nullptr;
  }
  DD_CATCH
}

const char *dd_set_grad(dd_tensor t, dd_tensor g) {
  try {
    T(t).mutable_grad() = g ? T(g) : at::Tensor();
    return nullptr;
  }
  DD_CATCH
}

const char *dd_retain_grad(dd_tensor t) {
  try {
    T(t).retain_grad();
    return nullptr;
  }
  DD_CATCH
}

const char *dd_backward(dd_tensor t, dd_tensor grad, int32_t retain_graph, int32_t create_graph) {
  try {
    at::Tensor g;
    if (grad) g = T(grad);
    T(t).backward(g, retain_graph ? c10::optional<bool>(true) : c10::nullopt, create_graph != 0);
    return nullptr;
  }
  DD_CATCH
}

int32_t dd_grad_enabled(void) { return at::GradMode::is_enabled(); }
void dd_set_grad_enabled(int32_t on) { at::GradMode::set_enabled(on != 0); }

const char *dd_detach(dd_tensor t, dd_tensor *out) {
  try {
    *out = new at::Tensor(T(t).detach());
    return nullptr;
  }
  DD_CATCH
}

const char *dd_from_data(const void *data, int32_t dtype, const int64_t *sizes, int64_t ndim,
                         dd_tensor *out) {
  try {
    auto st = (c10::ScalarType)dtype;
    auto x = at::empty(at::IntArrayRef(sizes, ndim), at::TensorOptions().dtype(st));
    if (x.numel() > 0) std::memcpy(x.data_ptr(), data, x.numel() * x.element_size());
    *out = new at::Tensor(x);
    return nullptr;
  }
  DD_CATCH
}

const char *dd_copy_out(dd_tensor t, int32_t dtype, void *dst, int64_t nbytes) {
  try {
    at::NoGradGuard ng;
    auto x = T(t).detach().to(at::kCPU, (c10::ScalarType)dtype).contiguous();
    int64_t need = x.numel() * (int64_t)x.element_size();
    if (need != nbytes)
      return dd_err("copy_out: buffer of " + std::to_string(nbytes) + " bytes for " + std::to_string(need));
    if (need > 0) std::memcpy(dst, x.data_ptr(), need);
    return nullptr;
  }
  DD_CATCH
}

const char *dd_to(dd_tensor t, int32_t dtype, const char *device, int32_t copy, dd_tensor *out) {
  try {
    const auto &x = T(t);
    auto st = dtype < 0 ? x.scalar_type() : (c10::ScalarType)dtype;
    auto dev = device && *device ? c10::Device(std::string(device)) : x.device();
    *out = new at::Tensor(x.to(dev, st, false, copy != 0));
    return nullptr;
  }
  DD_CATCH
}

}  // extern "C"

namespace {
std::vector<at::indexing::TensorIndex> to_indices(const dd_index_item *items, int64_t n) {
  using namespace at::indexing;
  std::vector<TensorIndex> v;
  v.reserve(n);
  for (int64_t k = 0; k < n; k++) {
    const auto &it = items[k];
    switch (it.kind) {
      case DI_INT:
        v.emplace_back(it.i);
        break;
      case DI_SLICE:
        v.emplace_back(Slice(it.has_start ? c10::optional<int64_t>(it.start) : c10::nullopt,
                             it.has_stop ? c10::optional<int64_t>(it.stop) : c10::nullopt,
                             c10::optional<int64_t>(it.step)));
        break;
      case DI_ELLIPSIS:
        v.emplace_back(Ellipsis);
        break;
      case DI_NONE:
        v.emplace_back(None);
        break;
      case DI_TENSOR:
        v.emplace_back(T(it.t));
        break;
    }
  }
  return v;
}
}  // namespace

extern "C" {

const char *dd_index(dd_tensor self, const dd_index_item *items, int64_t n, dd_tensor *out) {
  try {
    *out = new at::Tensor(T(self).index(to_indices(items, n)));
    return nullptr;
  }
  DD_CATCH
}

const char *dd_index_put(dd_tensor self, const dd_index_item *items, int64_t n, dd_tensor value,
                         double scalar) {
  try {
    auto idx = to_indices(items, n);
    if (value) T(self).index_put_(idx, T(value));
    else T(self).index_put_(idx, scalar);
    return nullptr;
  }
  DD_CATCH
}

void dd_set_num_threads(int32_t n) {
  if (n <= 0) return;
  at::set_num_threads(n);
  // OpenBLAS (libtorch's BLAS on Debian) keeps its own thread pool: n
  // threads for large products, one for small ones (threadpolicy.c) --
  // unless OPENBLAS_NUM_THREADS gives the pool a size of its own.
  const char *own = getenv("OPENBLAS_NUM_THREADS");
  dadash_blas_threads(own && *own ? 0 : n);
}
int32_t dd_get_num_threads(void) { return at::get_num_threads(); }
void dd_set_thread_omp_threads(int32_t n) {
  if (n <= 0) return;
  using setter = void (*)(int);
  if (auto f = (setter)dlsym(RTLD_DEFAULT, "omp_set_num_threads")) f(n);
}
void dd_manual_seed(uint64_t seed) {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_current_seed(seed);
  // Like torch.manual_seed: every CUDA device's generator too.
  try {
    if (at::hasCUDA()) {
      for (int k = 0; k < at::detail::getCUDAHooks().getNumGPUs(); k++) {
        at::Generator g = at::detail::getCUDAHooks().getDefaultCUDAGenerator(k);
        std::lock_guard<std::mutex> lk(g.mutex());
        g.set_current_seed(seed);
      }
    }
  } catch (...) {
  }
}
const char *dd_get_rng_state(dd_tensor *out) {
  try {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    *out = new at::Tensor(gen.get_state());
    return nullptr;
  }
  DD_CATCH
}

const char *dd_set_rng_state(dd_tensor state) {
  try {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(T(state));
    return nullptr;
  }
  DD_CATCH
}

int32_t dd_cuda_available(void) {
  try {
    return at::hasCUDA() && at::detail::getCUDAHooks().getNumGPUs() > 0;
  } catch (...) {
    return 0;
  }
}
int32_t dd_cuda_device_count(void) {
  try {
    return at::hasCUDA() ? at::detail::getCUDAHooks().getNumGPUs() : 0;
  } catch (...) {
    return 0;
  }
}
const char *dd_torch_version(void) { return TORCH_VERSION; }

}  // extern "C"

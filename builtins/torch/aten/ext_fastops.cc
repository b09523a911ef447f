// dadash's own operators, registered with libtorch's dispatcher under the
// "dadash" namespace so that they are called, cached and error-checked like
// any aten operator (LookupOp("dadash::max_pool2d")). Each computes exactly
// what its aten counterpart computes, faster for the shapes dadash's models
// and DADA use, and falls back to the aten operator for everything else.
//
//   dadash::max_pool2d     aten::max_pool2d. libtorch 1.13's CPU kernel for
//                          contiguous (NCHW) float tensors costs about 3.5 ns
//                          per input element (7 ms for one pooling of the
//                          glyph recipe's 60x32x32x32 activations, a seventh
//                          of its training step). This one walks each plane
//                          row by row; the values, the chosen indices (same
//                          scan order and NaN rule) and so the gradients
//                          (libtorch's own max_pool2d_with_indices_backward)
//                          are identical.
//   dadash::nuclear_norm   aten::linalg_matrix_norm(A, "nuc") of one matrix.
//                          For an m x n matrix with n much larger than m (or
//                          the reverse), as DADA's 60 x 1,800 class
//                          probabilities, the singular values are those of
//                          the small triangular factor of a QR decomposition,
//                          and the gradient U V^T is Q times that factor's
//                          own U V^T, formed once in the forward pass. The
//                          aten route computes the full SVD of the wide
//                          matrix and differentiates it through
//                          linalg_svd's backward: about 2x the time.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// pool_plane computes one plane's maxima and their flat indices, visiting each
// window in libtorch's order (rows, then columns) and keeping a later element
// when it is larger or NaN, as libtorch's cpu_max_pool does.
template <typename T>
void pool_plane(const T *in, T *out, int64_t *idx, int64_t H, int64_t W, int64_t OH, int64_t OW, int64_t kH,
                int64_t kW, int64_t sH, int64_t sW, int64_t pH, int64_t pW) {
  if (kH == 2 && kW == 2 && sH == 2 && sW == 2 && pH == 0 && pW == 0) {
    for (int64_t oh = 0; oh < OH; oh++) {
      const T *r0 = in + 2 * oh * W, *r1 = r0 + W;
      T *o = out + oh * OW;
      int64_t *ix = idx + oh * OW;
      const int64_t base = 2 * oh * W;
      for (int64_t ow = 0; ow < OW; ow++) {
        const int64_t c = 2 * ow;
        T m = r0[c];
        int64_t mi = base + c;
        T v = r0[c + 1];
        if (v > m || std::isnan(v)) m = v, mi = base + c + 1;
        v = r1[c];
        if (v > m || std::isnan(v)) m = v, mi = base + W + c;
        v = r1[c + 1];
        if (v > m || std::isnan(v)) m = v, mi = base + W + c + 1;
        o[ow] = m;
        ix[ow] = mi;
      }
    }
    return;
  }
  for (int64_t oh = 0; oh < OH; oh++) {
    const int64_t h0 = std::max<int64_t>(oh * sH - pH, 0), h1 = std::min<int64_t>(oh * sH - pH + kH, H);
    for (int64_t ow = 0; ow < OW; ow++) {
      const int64_t w0 = std::max<int64_t>(ow * sW - pW, 0), w1 = std::min<int64_t>(ow * sW - pW + kW, W);
      T m = -std::numeric_limits<T>::infinity();
      int64_t mi = h0 * W + w0;
      for (int64_t h = h0; h < h1; h++) {
        const T *row = in + h * W;
        for (int64_t w = w0; w < w1; w++) {
          const T v = row[w];
          if (v > m || std::isnan(v)) m = v, mi = h * W + w;
        }
      }
      out[oh * OW + ow] = m;
      idx[oh * OW + ow] = mi;
    }
  }
}

struct MaxPool2dFn : public torch::autograd::Function<MaxPool2dFn> {
  static at::Tensor forward(AutogradContext *ctx, const at::Tensor &x, std::vector<int64_t> k,
                            std::vector<int64_t> s, std::vector<int64_t> p, int64_t OH, int64_t OW) {
    const int64_t planes = x.numel() / (x.size(-1) * x.size(-2)), H = x.size(-2), W = x.size(-1);
    auto osize = x.sizes().vec();
    osize[osize.size() - 2] = OH;
    osize[osize.size() - 1] = OW;
    auto out = at::empty(osize, x.options());
    auto idx = at::empty(osize, x.options().dtype(at::kLong));
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "dadash::max_pool2d", [&] {
      const scalar_t *in = x.data_ptr<scalar_t>();
      scalar_t *o = out.data_ptr<scalar_t>();
      int64_t *ix = idx.data_ptr<int64_t>();
      const int64_t grain = std::max<int64_t>(1, at::internal::GRAIN_SIZE / std::max<int64_t>(1, H * W));
      at::parallel_for(0, planes, grain, [&](int64_t b, int64_t e) {
        for (int64_t c = b; c < e; c++)
          pool_plane<scalar_t>(in + c * H * W, o + c * OH * OW, ix + c * OH * OW, H, W, OH, OW, k[0], k[1], s[0],
                               s[1], p[0], p[1]);
      });
    });
    ctx->save_for_backward({x});
    ctx->saved_data["idx"] = idx;
    ctx->saved_data["k"] = k;
    ctx->saved_data["s"] = s;
    ctx->saved_data["p"] = p;
    return out;
  }

  static variable_list backward(AutogradContext *ctx, variable_list grads) {
    auto x = ctx->get_saved_variables()[0];
    auto idx = ctx->saved_data["idx"].toTensor();
    auto k = ctx->saved_data["k"].toIntVector(), s = ctx->saved_data["s"].toIntVector(),
         p = ctx->saved_data["p"].toIntVector();
    auto g = at::max_pool2d_with_indices_backward(grads[0], x, k, s, p, {1, 1}, false, idx);
    return {g, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

std::vector<int64_t> pair(c10::IntArrayRef v, std::vector<int64_t> dflt) {
  if (v.empty()) return dflt;
  if (v.size() == 1) return {v[0], v[0]};
  return {v[0], v[1]};
}

at::Tensor max_pool2d(const at::Tensor &x, c10::IntArrayRef kernel, c10::IntArrayRef stride,
                      c10::IntArrayRef padding, c10::IntArrayRef dilation, bool ceil_mode) {
  auto aten = [&] { return at::max_pool2d(x, kernel, stride, padding, dilation, ceil_mode); };
  // The fast path's cases; anything else (and every invalid argument, so
  // that the user gets libtorch's message) goes to aten.
  if (kernel.empty() || kernel.size() > 2 || stride.size() > 2 || padding.size() > 2 || dilation.size() > 2)
    return aten();
  if (!x.device().is_cpu() || x.layout() != at::kStrided || (x.dim() != 3 && x.dim() != 4) ||
      !(x.scalar_type() == at::kFloat || x.scalar_type() == at::kDouble) || !x.is_contiguous() || ceil_mode)
    return aten();
  auto k = pair(kernel, {});
  auto s = pair(stride, k);
  auto p = pair(padding, {0, 0});
  auto d = pair(dilation, {1, 1});
  if (d[0] != 1 || d[1] != 1 || k[0] <= 0 || k[1] <= 0 || s[0] <= 0 || s[1] <= 0 || p[0] < 0 || p[1] < 0 ||
      p[0] > k[0] / 2 || p[1] > k[1] / 2)
    return aten();
  const int64_t H = x.size(-2), W = x.size(-1);
  const int64_t OH = (H + 2 * p[0] - k[0]) / s[0] + 1, OW = (W + 2 * p[1] - k[1]) / s[1] + 1;
  if (H + 2 * p[0] < k[0] || W + 2 * p[1] < k[1] || OH <= 0 || OW <= 0 || x.numel() == 0) return aten();
  // libtorch drops a last window that starts in the right or bottom padding
  // only with ceil_mode; without it no window does.
  return MaxPool2dFn::apply(x, k, s, p, OH, OW);
}

struct NuclearNormFn : public torch::autograd::Function<NuclearNormFn> {
  static at::Tensor forward(AutogradContext *ctx, const at::Tensor &a) {
    const int64_t m = a.size(0), n = a.size(1);
    const bool wide = n > m;
    const at::Tensor tall = wide ? a.t() : a;  // rows >= columns
    auto [q, r] = at::linalg_qr(tall, "reduced");
    auto [u, sv, vh] = at::linalg_svd(r, false);
    // tall = Q R = (Q U) S Vh, so the gradient of the sum of singular values
    // (U_tall Vh_tall) is Q (U Vh); for a wide matrix it is the transpose.
    auto polar = q.mm(u.mm(vh));
    ctx->saved_data["g"] = wide ? polar.t() : polar;
    return sv.sum();
  }

  static variable_list backward(AutogradContext *ctx, variable_list grads) {
    return {grads[0] * ctx->saved_data["g"].toTensor()};
  }
};

at::Tensor nuclear_norm(const at::Tensor &a) {
  // Only one floating-point CPU matrix with one side at least twice the
  // other takes the QR route; the rest is aten's.
  if (a.dim() != 2 || !a.device().is_cpu() || a.layout() != at::kStrided ||
      !(a.scalar_type() == at::kFloat || a.scalar_type() == at::kDouble) || a.numel() == 0 ||
      std::max(a.size(0), a.size(1)) < 2 * std::min(a.size(0), a.size(1)))
    return at::linalg_matrix_norm(a, "nuc");
  if (!(a.requires_grad() && at::GradMode::is_enabled())) {
    auto tall = a.size(1) > a.size(0) ? a.t() : a;
    return at::linalg_svdvals(std::get<1>(at::linalg_qr(tall, "r"))).sum();
  }
  return NuclearNormFn::apply(a);
}

}  // namespace

TORCH_LIBRARY(dadash, m) {
  m.def(
      "max_pool2d(Tensor self, int[2] kernel_size, int[2] stride=[], int[2] padding=0, int[2] dilation=1, "
      "bool ceil_mode=False) -> Tensor",
      &max_pool2d);
  m.def("nuclear_norm(Tensor self) -> Tensor", &nuclear_norm);
}

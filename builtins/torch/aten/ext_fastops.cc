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

#if defined(__SSE2__)
#include <emmintrin.h>
#define DD_POOL_SIMD 1
#else
#define DD_POOL_SIMD 0  // other architectures: the scalar loop alone
#endif

#include <algorithm>
#include <type_traits>
#include <cmath>
#include <limits>

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// take reports whether a window element replaces the running maximum: when
// it is larger or NaN, as in libtorch's cpu_max_pool.
template <typename T>
inline bool take(T v, T m) {
  return (v > m) | (v != v);
}

#if DD_POOL_SIMD
// pool_row_simd computes outputs [ow0, ow1) of one output row whose windows
// lie inside the plane, four at a time with SSE2 (every x86-64 has it):
// branch-free selects, where the scalar loop's compare-and-jump mispredicts
// on about every other element of real activations. rows[kh] points at
// input row oh*sH - pH + kh; sW is 1 or 2.
inline void pool_row_simd(const float *const *rows, float *out, int64_t *idx, const int64_t *rowbase, int64_t ow0,
                          int64_t ow1, int64_t kH, int64_t kW, int64_t sW, int64_t pW) {
  const __m128i lanes = _mm_setr_epi32(0, (int32_t)sW, 2 * (int32_t)sW, 3 * (int32_t)sW);
  auto select = [](__m128 v, __m128i iv, __m128 &m, __m128i &mi) {
    const __m128 t = _mm_or_ps(_mm_cmpgt_ps(v, m), _mm_cmpunord_ps(v, v));
    m = _mm_or_ps(_mm_and_ps(t, v), _mm_andnot_ps(t, m));
    const __m128i ti = _mm_castps_si128(t);
    mi = _mm_or_si128(_mm_and_si128(ti, iv), _mm_andnot_si128(ti, mi));
  };
  for (int64_t ow = ow0; ow + 4 <= ow1; ow += 4) {
    const int64_t w0 = ow * sW - pW;  // the first lane's first column
    // libtorch starts from -inf with the window's first index; a first
    // element that is -inf keeps it, any other value replaces it: the same.
    __m128 m = _mm_set1_ps(-std::numeric_limits<float>::infinity());
    __m128i mi = _mm_add_epi32(_mm_set1_epi32((int32_t)(rowbase[0] + w0)), lanes);
    for (int64_t kh = 0; kh < kH; kh++) {
      const float *r = rows[kh] + w0;
      const __m128i ib = _mm_add_epi32(_mm_set1_epi32((int32_t)(rowbase[kh] + w0)), lanes);
      if (sW == 1) {
        for (int64_t kw = 0; kw < kW; kw++)
          select(_mm_loadu_ps(r + kw), _mm_add_epi32(ib, _mm_set1_epi32((int32_t)kw)), m, mi);
        continue;
      }
      // Stride 2: one pair of loads at r + kw gives column kw of the four
      // windows (even lanes) and column kw + 1 (odd lanes), in that order.
      for (int64_t kw = 0; kw < kW; kw += 2) {
        const __m128 lo = _mm_loadu_ps(r + kw), hi = _mm_loadu_ps(r + kw + 4);
        select(_mm_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0)), _mm_add_epi32(ib, _mm_set1_epi32((int32_t)kw)), m, mi);
        if (kw + 1 < kW)
          select(_mm_shuffle_ps(lo, hi, _MM_SHUFFLE(3, 1, 3, 1)), _mm_add_epi32(ib, _mm_set1_epi32((int32_t)kw + 1)), m,
                 mi);
      }
    }
    _mm_storeu_ps(out + ow, m);
    // Indices are non-negative: widen to int64 with zeros.
    _mm_storeu_si128((__m128i *)(idx + ow), _mm_unpacklo_epi32(mi, _mm_setzero_si128()));
    _mm_storeu_si128((__m128i *)(idx + ow + 2), _mm_unpackhi_epi32(mi, _mm_setzero_si128()));
  }
}
#endif

// pool_plane computes one plane's maxima and their flat indices, visiting each
// window in libtorch's order (rows, then columns).
template <typename T>
void pool_plane(const T *in, T *out, int64_t *idx, int64_t H, int64_t W, int64_t OH, int64_t OW, int64_t kH,
                int64_t kW, int64_t sH, int64_t sW, int64_t pH, int64_t pW) {
  // Output columns whose windows lie inside the plane, for the vector
  // loop: from ceil(pW / sW), while the group's last read stays in the row.
  int64_t in0 = 0, in1 = 0;
  const bool simd = DD_POOL_SIMD && std::is_same<T, float>::value && (sW == 1 || sW == 2) && kH <= 16 && H * W < (int64_t(1) << 31);
  if (simd) {
    in0 = (pW + sW - 1) / sW;
    // Last column read, from the group's start: stride 2 reads columns in
    // pairs, one past the window for an odd kernel width.
    const int64_t reach = kW - 1 + 3 * sW + (sW == 2 && kW % 2 == 1 ? 1 : 0);
    // Largest group start g with g*sW - pW + reach <= W - 1; groups end at g+4.
    const int64_t g = W - 1 + pW - reach >= 0 ? (W - 1 + pW - reach) / sW : -1;
    in1 = std::min(g + 4, OW);
    if (in1 < in0) in1 = in0;
  }
  for (int64_t oh = 0; oh < OH; oh++) {
    const int64_t h0 = std::max<int64_t>(oh * sH - pH, 0), h1 = std::min<int64_t>(oh * sH - pH + kH, H);
    int64_t ow = 0;
    auto scalar = [&](int64_t end) {
      for (; ow < end; ow++) {
        const int64_t w0 = std::max<int64_t>(ow * sW - pW, 0), w1 = std::min<int64_t>(ow * sW - pW + kW, W);
        T m = -std::numeric_limits<T>::infinity();
        int64_t mi = h0 * W + w0;
        for (int64_t h = h0; h < h1; h++) {
          const T *row = in + h * W;
          for (int64_t w = w0; w < w1; w++) {
            const T v = row[w];
            if (take(v, m)) m = v, mi = h * W + w;
          }
        }
        out[oh * OW + ow] = m;
        idx[oh * OW + ow] = mi;
      }
    };
    if (simd && in1 - in0 >= 4) {
      scalar(in0);
      const float *rows[16];
      int64_t rowbase[16];
      const int64_t nh = h1 - h0;
      for (int64_t h = 0; h < nh; h++) {
        rows[h] = (const float *)in + (h0 + h) * W;
        rowbase[h] = (h0 + h) * W;
      }
      const int64_t vend = in0 + (in1 - in0) / 4 * 4;
#if DD_POOL_SIMD
      pool_row_simd(rows, (float *)out + oh * OW, idx + oh * OW, rowbase, in0, vend, nh, kW, sW, pW);
#endif
      ow = vend;
    }
    scalar(OW);
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

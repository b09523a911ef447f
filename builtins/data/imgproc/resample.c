// Pillow's 8-bit bilinear resampling passes (see resample.go for the
// coefficients). The arithmetic is Pillow's: int32 taps with 22 fraction
// bits, an 8-bit intermediate between the passes, so the results are
// bit-identical to Pillow's; the AVX2 versions only do the same sums several
// lanes at a time. Bilinear taps are never negative, so every sum lies in
// [0, 2^31) and a lane never overflows.
#include <stdint.h>
#include <string.h>

#include "resample.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HAVE_X86 1
#endif

#define PRECISION_BITS 22
#define HALF (1 << (PRECISION_BITS - 1))

static inline uint8_t clip8(int32_t v) {
	v >>= PRECISION_BITS;
	if ((uint32_t)v <= 255)
		return (uint8_t)v;
	return v < 0 ? 0 : 255;
}

// ---------------------------------------------------------------- portable

static void horizontal_scalar(const uint8_t *src, int src_w, int rows, int c, uint8_t *dst, int dst_w,
                              const int32_t *start, const int32_t *n, const int32_t *k, int ks) {
	for (int y = 0; y < rows; y++) {
		const uint8_t *srow = src + (size_t)y * src_w * c;
		uint8_t *drow = dst + (size_t)y * dst_w * c;
		for (int x = 0; x < dst_w; x++) {
			const uint8_t *p = srow + (size_t)start[x] * c;
			const int32_t *kk = k + (size_t)x * ks;
			int nn = n[x];
			for (int ch = 0; ch < c; ch++) {
				int32_t acc = HALF;
				for (int t = 0; t < nn; t++)
					acc += (int32_t)p[t * c + ch] * kk[t];
				drow[x * c + ch] = clip8(acc);
			}
		}
	}
}

static void vertical_scalar(const uint8_t *src, int row_len, uint8_t *dst, int out_h,
                            const int32_t *start, const int32_t *n, const int32_t *k, int ks) {
	for (int yy = 0; yy < out_h; yy++) {
		const uint8_t *rows = src + (size_t)start[yy] * row_len;
		const int32_t *kk = k + (size_t)yy * ks;
		int nn = n[yy];
		uint8_t *d = dst + (size_t)yy * row_len;
		for (int i = 0; i < row_len; i++) {
			int32_t acc = HALF;
			for (int t = 0; t < nn; t++)
				acc += (int32_t)rows[(size_t)t * row_len + i] * kk[t];
			d[i] = clip8(acc);
		}
	}
}

// ---------------------------------------------------------------- AVX2

#ifdef HAVE_X86

// Packs two vectors of 8 int32 sums (already shifted) into 16 bytes with
// Pillow's clipping: signed saturation to int16, then unsigned to uint8.
__attribute__((target("avx2"))) static inline __m128i pack16(__m256i a, __m256i b) {
	__m128i pa = _mm_packs_epi32(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1));
	__m128i pb = _mm_packs_epi32(_mm256_castsi256_si128(b), _mm256_extracti128_si256(b, 1));
	return _mm_packus_epi16(pa, pb);
}

// RGB rows, two at a time: a 256-bit register holds one tap's pixel of
// both rows (R G B x | R G B x, x being the next pixel's red, computed and
// dropped), so one broadcast weight serves two outputs. Loads read 4 bytes
// from a pixel, one past it, so the rows near the end of the buffer
// (from safe_rows on) take the portable path.
__attribute__((target("avx2"))) static void horizontal3_avx2(const uint8_t *src, int src_w, int rows, int safe_rows,
                                                            uint8_t *dst, int dst_w, const int32_t *start,
                                                            const int32_t *n, const int32_t *k, int ks) {
	const __m256i half = _mm256_set1_epi32(HALF);
	size_t srow = (size_t)src_w * 3, drow = (size_t)dst_w * 3;
	for (int y = 0; y < safe_rows; y += 2) {
		const uint8_t *s0 = src + (size_t)y * srow;
		// An odd last row is paired with itself and stored once.
		int pair = y + 1 < safe_rows;
		const uint8_t *s1 = pair ? s0 + srow : s0;
		uint8_t *d0 = dst + (size_t)y * drow, *d1 = d0 + drow;
		for (int x = 0; x < dst_w; x++) {
			size_t off = (size_t)start[x] * 3;
			const int32_t *kk = k + (size_t)x * ks;
			int nn = n[x];
			__m256i acc = half;
			for (int t = 0; t < nn; t++) {
				int32_t a, b;
				memcpy(&a, s0 + off + 3 * t, 4);
				memcpy(&b, s1 + off + 3 * t, 4);
				__m128i v = _mm_unpacklo_epi32(_mm_cvtsi32_si128(a), _mm_cvtsi32_si128(b));
				acc = _mm256_add_epi32(acc, _mm256_mullo_epi32(_mm256_cvtepu8_epi32(v), _mm256_set1_epi32(kk[t])));
			}
			acc = _mm256_srai_epi32(acc, PRECISION_BITS);
			__m128i p = _mm_packs_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
			p = _mm_packus_epi16(p, p);
			int32_t lo = _mm_cvtsi128_si32(p), hi = _mm_extract_epi32(p, 1);
			// Four bytes (the fourth is overwritten by the next pixel)
			// except for a row's last pixel.
			int bytes = x + 1 < dst_w ? 4 : 3;
			memcpy(d0 + 3 * x, &lo, bytes);
			if (pair)
				memcpy(d1 + 3 * x, &hi, bytes);
		}
	}
	if (safe_rows < rows)
		horizontal_scalar(src + (size_t)safe_rows * srow, src_w, rows - safe_rows, 3, dst + (size_t)safe_rows * drow,
		                  dst_w, start, n, k, ks);
}

// Every channel of a row is independent in the vertical pass: 32 values
// at a time, in four accumulators of 8 lanes.
__attribute__((target("avx2"))) static void vertical_avx2(const uint8_t *src, int row_len, uint8_t *dst, int out_h,
                                                         const int32_t *start, const int32_t *n, const int32_t *k,
                                                         int ks) {
	const __m256i half = _mm256_set1_epi32(HALF);
	for (int yy = 0; yy < out_h; yy++) {
		const uint8_t *rows = src + (size_t)start[yy] * row_len;
		const int32_t *kk = k + (size_t)yy * ks;
		int nn = n[yy];
		uint8_t *d = dst + (size_t)yy * row_len;
		int i = 0;
		for (; i + 32 <= row_len; i += 32) {
			__m256i a0 = half, a1 = half, a2 = half, a3 = half;
			for (int t = 0; t < nn; t++) {
				__m256i kv = _mm256_set1_epi32(kk[t]);
				__m256i b = _mm256_loadu_si256((const __m256i *)(rows + (size_t)t * row_len + i));
				__m128i lo = _mm256_castsi256_si128(b), hi = _mm256_extracti128_si256(b, 1);
				a0 = _mm256_add_epi32(a0, _mm256_mullo_epi32(_mm256_cvtepu8_epi32(lo), kv));
				a1 = _mm256_add_epi32(a1, _mm256_mullo_epi32(_mm256_cvtepu8_epi32(_mm_srli_si128(lo, 8)), kv));
				a2 = _mm256_add_epi32(a2, _mm256_mullo_epi32(_mm256_cvtepu8_epi32(hi), kv));
				a3 = _mm256_add_epi32(a3, _mm256_mullo_epi32(_mm256_cvtepu8_epi32(_mm_srli_si128(hi, 8)), kv));
			}
			a0 = _mm256_srai_epi32(a0, PRECISION_BITS);
			a1 = _mm256_srai_epi32(a1, PRECISION_BITS);
			a2 = _mm256_srai_epi32(a2, PRECISION_BITS);
			a3 = _mm256_srai_epi32(a3, PRECISION_BITS);
			_mm_storeu_si128((__m128i *)(d + i), pack16(a0, a1));
			_mm_storeu_si128((__m128i *)(d + i + 16), pack16(a2, a3));
		}
		for (; i + 8 <= row_len; i += 8) {
			__m256i a = half;
			for (int t = 0; t < nn; t++) {
				__m128i b = _mm_loadl_epi64((const __m128i *)(rows + (size_t)t * row_len + i));
				a = _mm256_add_epi32(a, _mm256_mullo_epi32(_mm256_cvtepu8_epi32(b), _mm256_set1_epi32(kk[t])));
			}
			a = _mm256_srai_epi32(a, PRECISION_BITS);
			_mm_storel_epi64((__m128i *)(d + i), pack16(a, a));
		}
		for (; i < row_len; i++) {
			int32_t acc = HALF;
			for (int t = 0; t < nn; t++)
				acc += (int32_t)rows[(size_t)t * row_len + i] * kk[t];
			d[i] = clip8(acc);
		}
	}
}

static int has_avx2(void) {
	static int known = -1;
	if (known < 0)
		known = __builtin_cpu_supports("avx2") ? 1 : 0;
	return known;
}
#else
static int has_avx2(void) { return 0; }
#endif

int dd_resample_simd(int enable) {
	static int disabled = 0;
	if (enable >= 0)
		disabled = !enable;
	return has_avx2() && !disabled;
}

void dd_resample_horizontal(const uint8_t *src, size_t src_len, int src_w, int rows, int c, uint8_t *dst,
                            int dst_w, const int32_t *start, const int32_t *n, const int32_t *k, int ks) {
#ifdef HAVE_X86
	if (c == 3 && dd_resample_simd(-1)) {
		// A row whose end is 8 bytes or more before the buffer's end can be
		// read 8 bytes at a time from any of its pixels.
		size_t row_bytes = (size_t)src_w * 3;
		int safe = 0;
		if (src_len >= 8)
			safe = (int)((src_len - 8) / row_bytes);
		if (safe > rows)
			safe = rows;
		horizontal3_avx2(src, src_w, rows, safe, dst, dst_w, start, n, k, ks);
		return;
	}
#endif
	(void)src_len;
	horizontal_scalar(src, src_w, rows, c, dst, dst_w, start, n, k, ks);
}

void dd_resample_vertical(const uint8_t *src, int row_len, uint8_t *dst, int out_h, const int32_t *start,
                          const int32_t *n, const int32_t *k, int ks) {
#ifdef HAVE_X86
	if (dd_resample_simd(-1)) {
		vertical_avx2(src, row_len, dst, out_h, start, n, k, ks);
		return;
	}
#endif
	vertical_scalar(src, row_len, dst, out_h, start, n, k, ks);
}

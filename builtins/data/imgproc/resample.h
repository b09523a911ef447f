#ifndef DADASH_IMGPROC_RESAMPLE_H
#define DADASH_IMGPROC_RESAMPLE_H

#include <stddef.h>
#include <stdint.h>

// dd_resample_simd(enable): with 0 or 1, turns the AVX2 paths off or on
// (tests compare both); with -1, only asks. Returns whether they are used.
int dd_resample_simd(int enable);

// One horizontal pass: rows rows of src (src_w pixels of c channels, src_len
// bytes readable from src) into dst_w pixels per row.
void dd_resample_horizontal(const uint8_t *src, size_t src_len, int src_w, int rows, int c, uint8_t *dst,
                            int dst_w, const int32_t *start, const int32_t *n, const int32_t *k, int ks);

// One vertical pass: out_h rows of row_len bytes, output row yy summing
// rows start[yy] .. start[yy]+n[yy]-1 of src.
void dd_resample_vertical(const uint8_t *src, int row_len, uint8_t *dst, int out_h, const int32_t *start,
                          const int32_t *n, const int32_t *k, int ks);

#endif

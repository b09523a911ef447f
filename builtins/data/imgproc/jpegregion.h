#ifndef DADASH_IMGPROC_JPEGREGION_H
#define DADASH_IMGPROC_JPEGREGION_H

#include <stddef.h>

enum { DD_JPEG_OK = 0, DD_JPEG_ERROR = 1, DD_JPEG_UNSUPPORTED = 2 };

// dd_jpeg_region decodes rows y .. y+h-1 and at least columns x .. x+w-1
// of the JPEG decoded at 1/denom, as RGB, into out (out_cap bytes). The
// columns are widened to whole iMCUs: out holds out_w pixels per row
// starting at column out_x. Returns DD_JPEG_UNSUPPORTED for CMYK files and
// DD_JPEG_ERROR with a message (msg, at least JMSG_LENGTH_MAX bytes) when
// the file is bad.
int dd_jpeg_region(const unsigned char *data, size_t len, int denom, int x, int y, int w, int h, unsigned char *out,
                   size_t out_cap, int *out_x, int *out_w, char *msg, size_t msg_len);

#endif

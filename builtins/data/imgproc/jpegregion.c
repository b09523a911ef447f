// Decoding part of a JPEG through libjpeg-turbo's libjpeg API, which can
// skip rows (jpeg_skip_scanlines: entropy decoding only, no IDCT, upsampling
// or colour conversion) and columns (jpeg_crop_scanline, to iMCU
// boundaries), and stop after the last row wanted. TurboJPEG 2.1 cannot
// crop, and a random_resized_crop of a photo uses about half of it.
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#include "jpegregion.h"

struct err_mgr {
	struct jpeg_error_mgr pub;
	jmp_buf jump;
	int truncated;
};

static void on_error(j_common_ptr cinfo) {
	struct err_mgr *e = (struct err_mgr *)cinfo->err;
	longjmp(e->jump, 1);
}

// Warnings (corrupt but decodable data) are accepted, as PIL and our
// TurboJPEG path accept them, except the end of the data coming early,
// which PIL reports as a truncated file.
static void on_message(j_common_ptr cinfo, int level) {
	struct err_mgr *e = (struct err_mgr *)cinfo->err;
	if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF)
		e->truncated = 1;
}

int dd_jpeg_region(const unsigned char *data, size_t len, int denom, int x, int y, int w, int h, unsigned char *out,
                   size_t out_cap, int *out_x, int *out_w, char *msg, size_t msg_len) {
	struct jpeg_decompress_struct cinfo;
	struct err_mgr err;
	int rc = DD_JPEG_OK;
	memset(&cinfo, 0, sizeof cinfo);
	cinfo.err = jpeg_std_error(&err.pub);
	err.pub.error_exit = on_error;
	err.pub.emit_message = on_message;
	err.truncated = 0;
	msg[0] = 0;
	if (setjmp(err.jump)) {
		(*cinfo.err->format_message)((j_common_ptr)&cinfo, msg);
		jpeg_destroy_decompress(&cinfo);
		return DD_JPEG_ERROR;
	}
	jpeg_create_decompress(&cinfo);
	jpeg_mem_src(&cinfo, data, (unsigned long)len);
	jpeg_read_header(&cinfo, TRUE);
	if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
		jpeg_destroy_decompress(&cinfo);
		return DD_JPEG_UNSUPPORTED;
	}
	// TurboJPEG's (and PIL's) settings: accurate integer DCT, fancy
	// upsampling, RGB out.
	cinfo.out_color_space = JCS_RGB;
	cinfo.dct_method = JDCT_ISLOW;
	cinfo.do_fancy_upsampling = TRUE;
	cinfo.scale_num = 1;
	cinfo.scale_denom = (unsigned int)denom;
	jpeg_start_decompress(&cinfo);
	if (x < 0 || y < 0 || w <= 0 || h <= 0 || (JDIMENSION)(x + w) > cinfo.output_width ||
	    (JDIMENSION)(y + h) > cinfo.output_height || cinfo.output_components != 3) {
		snprintf(msg, msg_len, "region %dx%d at (%d, %d) outside the %ux%u image", w, h, x, y, cinfo.output_width,
		         cinfo.output_height);
		jpeg_destroy_decompress(&cinfo);
		return DD_JPEG_ERROR;
	}
	JDIMENSION xoff = (JDIMENSION)x, cw = (JDIMENSION)w;
	if (xoff > 0 || cw < cinfo.output_width)
		jpeg_crop_scanline(&cinfo, &xoff, &cw); // widens to iMCU columns
	if ((size_t)cw * 3 * (size_t)h > out_cap) {
		snprintf(msg, msg_len, "buffer too small");
		jpeg_destroy_decompress(&cinfo);
		return DD_JPEG_ERROR;
	}
	if (y > 0 && jpeg_skip_scanlines(&cinfo, (JDIMENSION)y) != (JDIMENSION)y) {
		snprintf(msg, msg_len, "the file is truncated (cannot skip to row %d)", y);
		jpeg_destroy_decompress(&cinfo);
		return DD_JPEG_ERROR;
	}
	for (int r = 0; r < h;) {
		JSAMPROW row = out + (size_t)r * cw * 3;
		JDIMENSION got = jpeg_read_scanlines(&cinfo, &row, 1);
		if (got == 0) {
			err.truncated = 1;
			break;
		}
		r += (int)got;
	}
	if (err.truncated) {
		snprintf(msg, msg_len, "the file is truncated (Premature end of JPEG file)");
		rc = DD_JPEG_ERROR;
	}
	// The rows below the region are never decoded.
	jpeg_abort_decompress(&cinfo);
	jpeg_destroy_decompress(&cinfo);
	*out_x = (int)xoff;
	*out_w = (int)cw;
	return rc;
}

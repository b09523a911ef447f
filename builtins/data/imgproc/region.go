package imgproc

// #cgo LDFLAGS: -ljpeg
// #include <stdlib.h>
// #include "jpegregion.h"
import "C"

import (
	"bytes"
	"errors"
	"fmt"
	"unsafe"
)

// Region is a part of an image decoded on its own: the pixels of
// Image start at column X, row Y of the whole (scaled) image.
type Region struct {
	*Image
	X, Y int
}

// DecodeRegion decodes at least the w x h rectangle at (x, y) of the image
// decoded at 1/o.Scale (in the coordinates of that scaled image). A JPEG
// decodes only those rows, and the columns widened to whole iMCUs; the
// rectangle's pixels are those of a full decode (the columns outside it
// may not be: fancy upsampling treats a crop's edges as the image's); other files, CMYK JPEGs and JPEGs whose
// data does not end with an EOI marker (a truncated file must fail as it
// does when decoded whole) are decoded whole, the Region then starting at
// (0, 0). The declared size is checked first, as Decode does.
func DecodeRegion(data []byte, o Options, x, y, w, h int) (Region, error) {
	scale := max(o.Scale, 1)
	if Sniff(data) != JPEG || !bytes.HasSuffix(data, []byte{0xFF, 0xD9}) || w <= 0 || h <= 0 {
		m, err := Decode(data, o)
		return Region{Image: m}, err
	}
	fw, fh, err := jpegHeader(data)
	if err != nil {
		return Region{}, err
	}
	if err := CheckSize(fw, fh, o.MaxPixels); err != nil {
		return Region{}, err
	}
	switch scale {
	case 1, 2, 4, 8:
	default:
		return Region{}, fmt.Errorf("JPEG scale 1/%d: only 1, 1/2, 1/4 and 1/8 are supported", scale)
	}
	sw, sh := ScaledSize(fw, fh, scale)
	if x < 0 || y < 0 || x+w > sw || y+h > sh {
		return Region{}, fmt.Errorf("region %dx%d at (%d, %d) is outside the %dx%d image", w, h, x, y, sw, sh)
	}
	// One more column on each side keeps the crop's edges, where
	// upsampling differs, out of the rectangle; libjpeg widens the crop by
	// less than an iMCU (32 pixels) on each side.
	cx, cw := max(x-1, 0), min(x+w+1, sw)
	cw -= cx
	bw := min(cw+64, sw)
	var buf []uint8
	if o.Reuse {
		buf = getPix(bw * h * 3)
	} else {
		buf = make([]uint8, bw*h*3)
	}
	var ox, ow C.int
	var msg [256]C.char
	rc := C.dd_jpeg_region((*C.uchar)(unsafe.Pointer(&data[0])), C.size_t(len(data)), C.int(scale),
		C.int(cx), C.int(y), C.int(cw), C.int(h), (*C.uchar)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)),
		&ox, &ow, &msg[0], C.size_t(len(msg)))
	switch rc {
	case C.DD_JPEG_OK:
		return Region{Image: &Image{W: int(ow), H: h, C: 3, Pix: buf[:int(ow)*h*3]}, X: int(ox), Y: y}, nil
	case C.DD_JPEG_UNSUPPORTED:
		if o.Reuse {
			Recycle(&Image{Pix: buf})
		}
		m, err := Decode(data, o)
		return Region{Image: m}, err
	}
	if o.Reuse {
		Recycle(&Image{Pix: buf})
	}
	return Region{}, errors.New(C.GoString(&msg[0]))
}

package imgproc

// /* make env's CGO_CFLAGS replaces cgo's default "-g -O2", and the
//    loops here (and in jpegregion.c) need the optimiser. */
// #cgo CFLAGS: -O2
// #include "resample.h"
import "C"

import (
	"math"
	"unsafe"
)

// Pillow's 8-bit resampling works in fixed point with 22 fraction bits
// (32 bits minus 8 for the pixel and 2 for filter overshoot).
const precisionBits = 22

// coeffs are the per-output-pixel filter taps of one axis.
type coeffs struct {
	ksize int
	start []int32 // first source index (absolute) of each output pixel
	n     []int32 // number of taps of each output pixel
	k     []int32 // taps, ksize per output pixel
}

// precompute derives the taps that map the source interval [in0, in1) onto
// out pixels with Pillow's bilinear filter (support 1, widened by the
// downscaling factor: that is the antialiasing). Source indices are limited
// to [lo, hi), as if the image had been cropped to it first; in0 and in1 are
// absolute coordinates.
func precompute(lo, hi int, in0, in1 float64, out int) coeffs {
	inSize := hi - lo
	in0 -= float64(lo)
	in1 -= float64(lo)
	scale := (in1 - in0) / float64(out)
	filterscale := math.Max(scale, 1)
	support := filterscale // bilinear support (1.0) times the scale
	ks := int(math.Ceil(support))*2 + 1
	c := coeffs{ksize: ks, start: make([]int32, out), n: make([]int32, out), k: make([]int32, out*ks)}
	ss := 1 / filterscale
	w := make([]float64, ks)
	for xx := 0; xx < out; xx++ {
		center := in0 + (float64(xx)+0.5)*scale
		// Go's int() truncates toward zero like C's (int) cast, which is
		// what Pillow's "round the value" relies on.
		xmin := int(center - support + 0.5)
		if xmin < 0 {
			xmin = 0
		}
		xmax := int(center + support + 0.5)
		if xmax > inSize {
			xmax = inSize
		}
		n := xmax - xmin
		if n > ks {
			n = ks
		}
		total := 0.0
		for x := 0; x < n; x++ {
			v := math.Abs((float64(x+xmin) - center + 0.5) * ss)
			if v < 1 {
				v = 1 - v
			} else {
				v = 0
			}
			w[x] = v
			total += v
		}
		for x := 0; x < n; x++ {
			if total != 0 {
				w[x] /= total
			}
			c.k[xx*ks+x] = int32(0.5 + w[x]*(1<<precisionBits))
		}
		c.start[xx] = int32(lo + xmin)
		c.n[xx] = int32(max(n, 0))
	}
	return c
}

// Resize scales the whole image to w x h (Pillow's resize with BILINEAR).
func Resize(m *Image, w, h int) *Image {
	return ResizeBox(m, w, h, [4]float64{0, 0, float64(m.W), float64(m.H)}, [4]int{0, 0, m.W, m.H})
}

// ResizeCrop crops the cw x ch region at (x, y) and scales it to w x h,
// giving exactly Pillow's img.crop(...).resize((w, h), BILINEAR) (the crop
// must lie inside the image).
func ResizeCrop(m *Image, x, y, cw, ch, w, h int) *Image {
	return ResizeBox(m, w, h, [4]float64{float64(x), float64(y), float64(x + cw), float64(y + ch)}, [4]int{x, y, x + cw, y + ch})
}

// ResizeBox scales the region box = (x0, y0, x1, y1) of m, in pixel
// coordinates that may be fractional, to w x h, reading only pixels in the
// clip rectangle (x0, y0, x1, y1). Like Pillow, it filters rows first into
// an 8-bit intermediate, then columns.
func ResizeBox(m *Image, w, h int, box [4]float64, clip [4]int) *Image {
	cx := precompute(clip[0], clip[2], box[0], box[2], w)
	cy := precompute(clip[1], clip[3], box[1], box[3], h)
	identX := w == clip[2]-clip[0] && box[0] == float64(clip[0]) && box[2] == float64(clip[2])
	identY := h == clip[3]-clip[1] && box[1] == float64(clip[1]) && box[3] == float64(clip[3])

	// Horizontal pass over the rows the vertical pass will read.
	yFirst, yLast := int(cy.start[0]), int(cy.start[h-1]+cy.n[h-1])
	var tmp *Image
	switch {
	case identX:
		tmp = m.Crop(clip[0], yFirst, w, yLast-yFirst)
	case identY:
		tmp = New(w, yLast-yFirst, m.C)
		horizontal(tmp, m, yFirst, &cx)
	default:
		// An intermediate nobody else sees: its buffer is reused.
		tmp = &Image{W: w, H: yLast - yFirst, C: m.C, Pix: getPix(w * (yLast - yFirst) * m.C)}
		horizontal(tmp, m, yFirst, &cx)
		defer Recycle(tmp)
	}
	if identY {
		return tmp
	}
	// Every output byte is written: a recycled buffer needs no zeroing.
	out := &Image{W: w, H: h, C: m.C, Pix: getPix(w * h * m.C)}
	vertical(out, tmp, yFirst, &cy)
	return out
}

func horizontal(dst, src *Image, y0 int, c *coeffs) {
	if dst.H == 0 || dst.W == 0 {
		return
	}
	off := y0 * src.W * src.C
	C.dd_resample_horizontal((*C.uint8_t)(unsafe.Pointer(&src.Pix[off])), C.size_t(len(src.Pix)-off), C.int(src.W),
		C.int(dst.H), C.int(src.C), (*C.uint8_t)(unsafe.Pointer(&dst.Pix[0])), C.int(dst.W),
		(*C.int32_t)(unsafe.Pointer(&c.start[0])), (*C.int32_t)(unsafe.Pointer(&c.n[0])),
		(*C.int32_t)(unsafe.Pointer(&c.k[0])), C.int(c.ksize))
}

func vertical(dst, src *Image, y0 int, c *coeffs) {
	if dst.H == 0 || dst.W == 0 {
		return
	}
	// The C pass indexes rows from the intermediate's first row.
	start := make([]int32, len(c.start))
	for i, s := range c.start {
		start[i] = s - int32(y0)
	}
	C.dd_resample_vertical((*C.uint8_t)(unsafe.Pointer(&src.Pix[0])), C.int(src.W*src.C),
		(*C.uint8_t)(unsafe.Pointer(&dst.Pix[0])), C.int(dst.H),
		(*C.int32_t)(unsafe.Pointer(&start[0])), (*C.int32_t)(unsafe.Pointer(&c.n[0])),
		(*C.int32_t)(unsafe.Pointer(&c.k[0])), C.int(c.ksize))
}

// setSIMD turns the vectorised passes off or on (for tests) and returns
// whether they were on.
func setSIMD(on bool) bool {
	was := C.dd_resample_simd(-1) != 0
	v := 0
	if on {
		v = 1
	}
	C.dd_resample_simd(C.int(v))
	return was
}

// ShorterSide is torchvision's output size for Resize(size) with an int:
// the shorter side becomes size and the longer keeps the aspect ratio,
// truncated.
func ShorterSide(w, h, size int) (int, int) {
	if w <= h {
		return size, int(float64(size) * float64(h) / float64(w))
	}
	return int(float64(size) * float64(w) / float64(h)), size
}

// CenterCropOrigin is the top-left corner of torchvision's center crop of
// cw x ch from a w x h image (Python's round, half to even). A crop larger
// than the image is negative: torchvision pads by (cw - w) // 2 on the left
// (and top) first, and Crop pads with black.
func CenterCropOrigin(w, h, cw, ch int) (x, y int) {
	origin := func(n, c int) int {
		if c > n {
			return -((c - n) / 2)
		}
		return int(math.RoundToEven(float64(n-c) / 2))
	}
	return origin(w, cw), origin(h, ch)
}

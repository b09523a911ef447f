package imgproc

/*
#cgo LDFLAGS: -lturbojpeg
#include <stdlib.h>
#include <turbojpeg.h>
*/
import "C"

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"runtime"
	"strings"
	"sync"
	"unsafe"
)

// Format is the kind of an encoded image.
type Format int

// The formats Decode understands.
const (
	Unknown Format = iota
	JPEG
	PNG
)

// Sniff tells the format from the first bytes of a file.
func Sniff(data []byte) Format {
	switch {
	case len(data) >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF:
		return JPEG
	case len(data) >= 8 && string(data[:8]) == "\x89PNG\r\n\x1a\n":
		return PNG
	}
	return Unknown
}

var errFormat = errors.New("not a JPEG or PNG file (the data pipeline reads only these)")

// DefaultMaxPixels is the largest width x height a file may declare before
// Decode refuses it without allocating anything: PIL's
// Image.MAX_IMAGE_PIXELS (1 GiB of 24-bit pixels / 4). A few bytes of PNG or
// JPEG can declare billions of pixels (a decompression bomb). PIL warns
// above this and refuses twice as much; we refuse it, as a dataset image
// that large is a mistake or an attack.
const DefaultMaxPixels = 1024 * 1024 * 1024 / 4 / 3

// TooLargeError is a file declaring more pixels than the limit.
type TooLargeError struct {
	W, H  int
	Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("the image declares %d x %d = %s pixels, over the limit of %s (a decompression bomb, or an image far larger than a dataset needs)",
		e.W, e.H, thousands(int64(e.W)*int64(e.H)), thousands(e.Limit))
}

func thousands(n int64) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// CheckSize returns a *TooLargeError when w x h is over maxPixels
// (0: DefaultMaxPixels; negative: no limit).
func CheckSize(w, h int, maxPixels int64) error {
	if maxPixels == 0 {
		maxPixels = DefaultMaxPixels
	}
	if maxPixels > 0 && int64(w)*int64(h) > maxPixels {
		return &TooLargeError{W: w, H: h, Limit: maxPixels}
	}
	return nil
}

// Size returns the width and height stored in an encoded image's header
// without decoding its pixels.
func Size(data []byte) (w, h int, err error) {
	switch Sniff(data) {
	case JPEG:
		return jpegHeader(data)
	case PNG:
		cfg, err := png.DecodeConfig(bytes.NewReader(data))
		if err != nil {
			return 0, 0, err
		}
		return cfg.Width, cfg.Height, nil
	}
	return 0, 0, errFormat
}

// ScaledSize is the size of an image of w x h decoded at 1/denom.
func ScaledSize(w, h, denom int) (int, int) {
	return (w + denom - 1) / denom, (h + denom - 1) / denom
}

// Options says how Decode works.
type Options struct {
	// Scale (1, 2, 4 or 8; 0 is 1) decodes a JPEG at 1/Scale of its size,
	// which libjpeg-turbo does in the DCT domain at a fraction of the cost;
	// the result is ScaledSize(w, h, Scale). PNGs ignore it.
	Scale int
	// MaxPixels is the most pixels (width x height) a file may declare:
	// 0 is DefaultMaxPixels, a negative value means no limit.
	MaxPixels int64
	// Reuse takes the pixel buffer from the images given back with
	// Recycle, for a caller that decodes image after image.
	Reuse bool
}

// Decode decodes a JPEG or PNG image to RGB (gray, palette and 16-bit images
// are converted; alpha is dropped, as PIL's convert("RGB") does). The size
// the file declares is checked against o.MaxPixels before anything is
// allocated.
func Decode(data []byte, o Options) (*Image, error) {
	switch Sniff(data) {
	case JPEG:
		return decodeJPEG(data, o)
	case PNG:
		return decodePNG(data, o)
	}
	return nil, errFormat
}

// ---------------------------------------------------------------- JPEG

// A tjhandle may be used by one goroutine at a time. Handles are pooled;
// one the pool drops is destroyed by its finalizer, and one whose last call
// failed is destroyed at once (putTJ): libjpeg's state after an error is
// not reliably reset, and a reused handle then fails on good files
// ("Bogus marker length").
type tjHandle struct{ h C.tjhandle }

var tjPool = sync.Pool{New: func() any {
	h := C.tjInitDecompress()
	if h == nil {
		return nil
	}
	t := &tjHandle{h: h}
	runtime.SetFinalizer(t, (*tjHandle).destroy)
	return t
}}

func (t *tjHandle) destroy() {
	if t.h != nil {
		C.tjDestroy(t.h)
		t.h = nil
	}
}

func getTJ() (*tjHandle, error) {
	t, _ := tjPool.Get().(*tjHandle)
	if t == nil {
		return nil, errors.New("libturbojpeg: cannot create a decompressor")
	}
	return t, nil
}

// putTJ returns a handle to the pool if its last call succeeded (ok) and
// destroys it otherwise.
func putTJ(t *tjHandle, ok bool) {
	if ok {
		tjPool.Put(t)
		return
	}
	runtime.SetFinalizer(t, nil)
	t.destroy()
}

func tjError(t *tjHandle) string {
	return C.GoString(C.tjGetErrorStr2(t.h))
}

func jpegHeader(data []byte) (w, h int, err error) {
	t, err := getTJ()
	if err != nil {
		return 0, 0, err
	}
	var cw, ch, sub, cs C.int
	rc := C.tjDecompressHeader3(t.h, (*C.uchar)(unsafe.Pointer(&data[0])), C.ulong(len(data)), &cw, &ch, &sub, &cs)
	if rc != 0 {
		err = errors.New(tjError(t))
	}
	putTJ(t, rc == 0)
	return int(cw), int(ch), err
}

func decodeJPEG(data []byte, o Options) (img *Image, err error) {
	denom := max(o.Scale, 1)
	switch denom {
	case 1, 2, 4, 8:
	default:
		return nil, fmt.Errorf("JPEG scale 1/%d: only 1, 1/2, 1/4 and 1/8 are supported", denom)
	}
	t, err := getTJ()
	if err != nil {
		return nil, err
	}
	clean := false
	defer func() { putTJ(t, clean) }()
	src := (*C.uchar)(unsafe.Pointer(&data[0]))
	var cw, ch, sub, cs C.int
	if C.tjDecompressHeader3(t.h, src, C.ulong(len(data)), &cw, &ch, &sub, &cs) != 0 {
		return nil, errors.New(tjError(t))
	}
	clean = true // the header call succeeded
	if cw <= 0 || ch <= 0 {
		return nil, fmt.Errorf("empty image (%dx%d)", cw, ch)
	}
	if err := CheckSize(int(cw), int(ch), o.MaxPixels); err != nil {
		return nil, err
	}
	w, h := ScaledSize(int(cw), int(ch), denom)
	// CMYK and YCCK cannot be converted to RGB by libjpeg-turbo; decode the
	// inks and convert them here.
	cmyk := cs == C.TJCS_CMYK || cs == C.TJCS_YCCK
	pf, bpp := C.int(C.TJPF_RGB), 3
	if cmyk {
		pf, bpp = C.TJPF_CMYK, 4
	}
	var buf []uint8
	if o.Reuse && !cmyk {
		buf = getPix(w * h * bpp)
	} else {
		buf = make([]uint8, w*h*bpp)
	}
	// Default flags: accurate integer DCT and fancy upsampling, as PIL
	// decodes, so full-size decodes give Pillow's pixels.
	rc := C.tjDecompress2(t.h, src, C.ulong(len(data)), (*C.uchar)(unsafe.Pointer(&buf[0])),
		C.int(w), 0, C.int(h), pf, 0)
	clean = rc == 0
	if rc != 0 {
		msg := tjError(t)
		// Warnings (corrupt but decodable data) are accepted as PIL accepts
		// them; a truncated file is an error, as it is for PIL.
		if C.tjGetErrorCode(t.h) != C.TJERR_WARNING || strings.Contains(msg, "Premature end") {
			if strings.Contains(msg, "Premature end") {
				msg = "the file is truncated (" + msg + ")"
			}
			if o.Reuse {
				Recycle(&Image{Pix: buf})
			}
			return nil, errors.New(msg)
		}
	}
	if !cmyk {
		return &Image{W: w, H: h, C: 3, Pix: buf}, nil
	}
	// Adobe writes inverted CMYK, which is what JPEG files hold in practice.
	out := New(w, h, 3)
	for i := 0; i < w*h; i++ {
		c, m, y, k := uint32(buf[4*i]), uint32(buf[4*i+1]), uint32(buf[4*i+2]), uint32(buf[4*i+3])
		out.Pix[3*i] = uint8((c*k + 127) / 255)
		out.Pix[3*i+1] = uint8((m*k + 127) / 255)
		out.Pix[3*i+2] = uint8((y*k + 127) / 255)
	}
	return out, nil
}

// ---------------------------------------------------------------- PNG

func decodePNG(data []byte, o Options) (*Image, error) {
	// Go's decoder allocates the whole image from the header's size.
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	if err := CheckSize(cfg.Width, cfg.Height, o.MaxPixels); err != nil {
		return nil, err
	}
	im, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	return FromImage(im), nil
}

// FromImage converts a Go image to an RGB Image.
func FromImage(im image.Image) *Image {
	b := im.Bounds()
	out := New(b.Dx(), b.Dy(), 3)
	switch src := im.(type) {
	case *image.Gray:
		for y := 0; y < b.Dy(); y++ {
			row := src.Pix[y*src.Stride : y*src.Stride+b.Dx()]
			for x, v := range row {
				o := (y*b.Dx() + x) * 3
				out.Pix[o], out.Pix[o+1], out.Pix[o+2] = v, v, v
			}
		}
	case *image.NRGBA:
		for y := 0; y < b.Dy(); y++ {
			row := src.Pix[y*src.Stride : y*src.Stride+4*b.Dx()]
			for x := 0; x < b.Dx(); x++ {
				o := (y*b.Dx() + x) * 3
				copy(out.Pix[o:o+3], row[4*x:4*x+3])
			}
		}
	case *image.RGBA:
		// Go decodes PNGs without alpha to RGBA with alpha 255, where the
		// premultiplied values are the stored ones.
		for y := 0; y < b.Dy(); y++ {
			row := src.Pix[y*src.Stride : y*src.Stride+4*b.Dx()]
			for x := 0; x < b.Dx(); x++ {
				o := (y*b.Dx() + x) * 3
				if a := row[4*x+3]; a == 255 {
					copy(out.Pix[o:o+3], row[4*x:4*x+3])
				} else {
					c := color.NRGBAModel.Convert(src.RGBAAt(x+b.Min.X, y+b.Min.Y)).(color.NRGBA)
					out.Pix[o], out.Pix[o+1], out.Pix[o+2] = c.R, c.G, c.B
				}
			}
		}
	default:
		// PIL's convert("RGB") drops alpha from the stored, not
		// premultiplied, values.
		i := 0
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				c := color.NRGBAModel.Convert(im.At(x, y)).(color.NRGBA)
				out.Pix[i], out.Pix[i+1], out.Pix[i+2] = c.R, c.G, c.B
				i += 3
			}
		}
	}
	return out
}

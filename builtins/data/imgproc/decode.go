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

// ScaledSize is the size of an image of w x h decoded with Decode(data, denom).
func ScaledSize(w, h, denom int) (int, int) {
	return (w + denom - 1) / denom, (h + denom - 1) / denom
}

// Decode decodes a JPEG or PNG image to RGB (gray, palette and 16-bit images
// are converted; alpha is dropped, as PIL's convert("RGB") does). denom (1,
// 2, 4 or 8) asks a JPEG to be decoded at 1/denom of its size, which
// libjpeg-turbo does in the DCT domain at a fraction of the cost; the result
// is ScaledSize(w, h, denom). PNGs ignore denom.
func Decode(data []byte, denom int) (*Image, error) {
	switch Sniff(data) {
	case JPEG:
		return decodeJPEG(data, denom)
	case PNG:
		return decodePNG(data)
	}
	return nil, errFormat
}

// ---------------------------------------------------------------- JPEG

// A tjhandle may be used by one goroutine at a time; handles are pooled,
// and one the pool drops is destroyed by its finalizer.
type tjHandle struct{ h C.tjhandle }

var tjPool = sync.Pool{New: func() any {
	h := C.tjInitDecompress()
	if h == nil {
		return nil
	}
	t := &tjHandle{h: h}
	runtime.SetFinalizer(t, func(t *tjHandle) { C.tjDestroy(t.h) })
	return t
}}

func getTJ() (*tjHandle, error) {
	t, _ := tjPool.Get().(*tjHandle)
	if t == nil {
		return nil, errors.New("libturbojpeg: cannot create a decompressor")
	}
	return t, nil
}

func tjError(t *tjHandle) string {
	return C.GoString(C.tjGetErrorStr2(t.h))
}

func jpegHeader(data []byte) (w, h int, err error) {
	t, err := getTJ()
	if err != nil {
		return 0, 0, err
	}
	defer tjPool.Put(t)
	var cw, ch, sub, cs C.int
	if C.tjDecompressHeader3(t.h, (*C.uchar)(unsafe.Pointer(&data[0])), C.ulong(len(data)), &cw, &ch, &sub, &cs) != 0 {
		return 0, 0, errors.New(tjError(t))
	}
	return int(cw), int(ch), nil
}

func decodeJPEG(data []byte, denom int) (*Image, error) {
	switch denom {
	case 1, 2, 4, 8:
	default:
		return nil, fmt.Errorf("JPEG scale 1/%d: only 1, 1/2, 1/4 and 1/8 are supported", denom)
	}
	t, err := getTJ()
	if err != nil {
		return nil, err
	}
	defer tjPool.Put(t)
	src := (*C.uchar)(unsafe.Pointer(&data[0]))
	var cw, ch, sub, cs C.int
	if C.tjDecompressHeader3(t.h, src, C.ulong(len(data)), &cw, &ch, &sub, &cs) != 0 {
		return nil, errors.New(tjError(t))
	}
	w, h := ScaledSize(int(cw), int(ch), denom)
	// CMYK and YCCK cannot be converted to RGB by libjpeg-turbo; decode the
	// inks and convert them here.
	cmyk := cs == C.TJCS_CMYK || cs == C.TJCS_YCCK
	pf, bpp := C.int(C.TJPF_RGB), 3
	if cmyk {
		pf, bpp = C.TJPF_CMYK, 4
	}
	buf := make([]uint8, w*h*bpp)
	// Default flags: accurate integer DCT and fancy upsampling, as PIL
	// decodes, so full-size decodes give Pillow's pixels.
	rc := C.tjDecompress2(t.h, src, C.ulong(len(data)), (*C.uchar)(unsafe.Pointer(&buf[0])),
		C.int(w), 0, C.int(h), pf, 0)
	if rc != 0 {
		msg := tjError(t)
		// Warnings (corrupt but decodable data) are accepted as PIL accepts
		// them; a truncated file is an error, as it is for PIL.
		if C.tjGetErrorCode(t.h) != C.TJERR_WARNING || strings.Contains(msg, "Premature end") {
			if strings.Contains(msg, "Premature end") {
				msg = "the file is truncated (" + msg + ")"
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

func decodePNG(data []byte) (*Image, error) {
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

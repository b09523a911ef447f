// Package imgproc is the pixel work of dadash's data pipeline: decoding
// (JPEG through libturbojpeg, PNG through Go) and operations on 8-bit images
// that reproduce Pillow's results (antialiased bilinear resampling, the
// ImageEnhance and ImageOps functions, nearest-neighbour affine warps). The
// DML reference code ran torchvision on PIL images, so matching Pillow keeps
// our augmentations the ones its hyper-parameters were tuned for; the golden
// tests compare against Pillow 9.4 output.
package imgproc

import "fmt"

// Image is an 8-bit image with C channels (1: gray, 3: RGB), stored row by
// row with the channels of a pixel together (HWC), as PIL and JPEG decoders
// produce them.
type Image struct {
	W, H, C int
	Pix     []uint8
}

// New returns a black image.
func New(w, h, c int) *Image {
	return &Image{W: w, H: h, C: c, Pix: make([]uint8, w*h*c)}
}

func (m *Image) String() string { return fmt.Sprintf("%dx%dx%d image", m.W, m.H, m.C) }

// Clone returns a deep copy.
func (m *Image) Clone() *Image {
	return &Image{W: m.W, H: m.H, C: m.C, Pix: append([]uint8(nil), m.Pix...)}
}

// RGB returns the image with three channels; a gray image is replicated
// into R, G and B (PIL's convert("RGB") of an "L" image). An RGB image is
// returned as is.
func (m *Image) RGB() *Image {
	if m.C == 3 {
		return m
	}
	out := New(m.W, m.H, 3)
	for i, v := range m.Pix {
		out.Pix[3*i], out.Pix[3*i+1], out.Pix[3*i+2] = v, v, v
	}
	return out
}

// Crop returns the w x h region whose top-left corner is (x, y). Parts
// outside the image are black, as with PIL's crop (torchvision pads the same
// way when a center crop is larger than the image).
func (m *Image) Crop(x, y, w, h int) *Image {
	out := New(w, h, m.C)
	for r := 0; r < h; r++ {
		sy := y + r
		if sy < 0 || sy >= m.H {
			continue
		}
		x0, x1 := max(x, 0), min(x+w, m.W)
		if x0 >= x1 {
			continue
		}
		copy(out.Pix[(r*w+x0-x)*m.C:(r*w+x1-x)*m.C], m.Pix[(sy*m.W+x0)*m.C:(sy*m.W+x1)*m.C])
	}
	return out
}

// FlipH mirrors the image left to right in place.
func (m *Image) FlipH() {
	c := m.C
	for y := 0; y < m.H; y++ {
		row := m.Pix[y*m.W*c : (y+1)*m.W*c]
		for i, j := 0, m.W-1; i < j; i, j = i+1, j-1 {
			for k := 0; k < c; k++ {
				row[i*c+k], row[j*c+k] = row[j*c+k], row[i*c+k]
			}
		}
	}
}

// Luma returns the gray version of an RGB image with Pillow's integer
// ITU-R 601-2 weights (convert("L")).
func (m *Image) Luma() *Image {
	if m.C == 1 {
		return m.Clone()
	}
	out := New(m.W, m.H, 1)
	for i := range out.Pix {
		p := m.Pix[3*i : 3*i+3 : 3*i+3]
		out.Pix[i] = luma(p[0], p[1], p[2])
	}
	return out
}

func luma(r, g, b uint8) uint8 {
	return uint8((uint32(r)*19595 + uint32(g)*38470 + uint32(b)*7471 + 0x8000) >> 16)
}

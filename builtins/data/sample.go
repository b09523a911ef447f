package data

import (
	"fmt"
	"math"
	"os"

	"github.com/dadash/dadash/builtins/data/imgproc"
)

// sample is one image on its way through a transform. It starts either as
// an encoded file (data, with its full size w x h read from the header) or
// as decoded pixels (img); to_tensor turns it into a float tensor (t).
// Keeping the file encoded until the first resize knows its output size
// lets JPEGs be decoded at 1/2, 1/4 or 1/8 of their size.
type sample struct {
	path string
	data []byte
	w, h int
	img  *imgproc.Image
	t    *chw
	rng  *rng
	dct  bool // allow reduced-size JPEG decoding
}

// chw is a float32 image, channels first (PyTorch's layout).
type chw struct {
	C, H, W int
	Data    []float32
}

// openFile reads an image file's header; pixels are decoded on demand.
func openFile(path string) (*sample, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("data: cannot read %s: %w", path, unwrapPath(err))
	}
	w, h, err := imgproc.Size(data)
	if err != nil {
		return nil, decodeError(path, err)
	}
	if w <= 0 || h <= 0 {
		return nil, decodeError(path, fmt.Errorf("empty image (%dx%d)", w, h))
	}
	return &sample{path: path, data: data, w: w, h: h}, nil
}

// unwrapPath drops the path from an *os.PathError, which the message
// already names.
func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

func decodeError(path string, err error) error {
	return fmt.Errorf("data: cannot decode %s: %v", path, err)
}

// size is the current width and height.
func (s *sample) size() (int, int) {
	switch {
	case s.t != nil:
		return s.t.W, s.t.H
	case s.img != nil:
		return s.img.W, s.img.H
	}
	return s.w, s.h
}

// image decodes the file at full size if that has not happened yet.
func (s *sample) image(opName string) (*imgproc.Image, error) {
	if s.t != nil {
		return nil, fmt.Errorf("%s works on images, not tensors: put it before to_tensor()", opName)
	}
	if s.img == nil {
		m, err := imgproc.Decode(s.data, 1)
		if err != nil {
			return nil, decodeError(s.path, err)
		}
		s.img, s.data = m, nil
	}
	return s.img, nil
}

// resizeCrop scales the cw x ch region at (x, y) of the full-size image to
// ow x oh. An undecoded JPEG is decoded at the smallest DCT scale that still
// has at least ow x oh pixels in the region, so the result is always a
// downscale (with Pillow's antialiasing) and close to the full decode;
// otherwise this is exactly Pillow's crop + resize.
func (s *sample) resizeCrop(opName string, x, y, cw, ch, ow, oh int) error {
	if s.img == nil && s.t == nil && s.dct && imgproc.Sniff(s.data) == imgproc.JPEG {
		d := 8
		for d > 1 && (cw < ow*d || ch < oh*d) {
			d /= 2
		}
		if d > 1 {
			m, err := imgproc.Decode(s.data, d)
			if err != nil {
				return decodeError(s.path, err)
			}
			f := 1 / float64(d)
			box := [4]float64{float64(x) * f, float64(y) * f, float64(x+cw) * f, float64(y+ch) * f}
			clip := [4]int{int(box[0]), int(box[1]), min(int(math.Ceil(box[2])), m.W), min(int(math.Ceil(box[3])), m.H)}
			s.img, s.data = imgproc.ResizeBox(m, ow, oh, box, clip), nil
			return nil
		}
	}
	m, err := s.image(opName)
	if err != nil {
		return err
	}
	if x == 0 && y == 0 && cw == m.W && ch == m.H && ow == m.W && oh == m.H {
		return nil
	}
	s.img = imgproc.ResizeCrop(m, x, y, cw, ch, ow, oh)
	return nil
}

// finish decodes what was never decoded and returns the float tensor,
// applying to_tensor's scaling if no to_tensor ran.
func (s *sample) finish() (*chw, error) {
	if s.t != nil {
		return s.t, nil
	}
	m, err := s.image("to_tensor")
	if err != nil {
		return nil, err
	}
	return toCHW(m, nil), nil
}

// toCHW converts HWC bytes to CHW floats through a per-channel table
// (to_tensor's v / 255, fused with a following normalize).
func toCHW(m *imgproc.Image, lut [][256]float32) *chw {
	if lut == nil {
		lut = unitLUT(m.C, 1)
	}
	out := &chw{C: m.C, H: m.H, W: m.W, Data: make([]float32, m.C*m.H*m.W)}
	n := m.H * m.W
	if m.C == 3 {
		r, g, b := out.Data[:n], out.Data[n:2*n], out.Data[2*n:3*n]
		lr, lg, lb := &lut[0], &lut[1], &lut[2]
		pix := m.Pix[:3*n]
		for i := 0; i < n; i++ {
			p := pix[3*i : 3*i+3 : 3*i+3]
			r[i], g[i], b[i] = lr[p[0]], lg[p[1]], lb[p[2]]
		}
		return out
	}
	for c := 0; c < m.C; c++ {
		l := &lut[c%len(lut)]
		dst := out.Data[c*n : (c+1)*n]
		for i := range dst {
			dst[i] = l[m.Pix[i*m.C+c]]
		}
	}
	return out
}

// unitLUT is to_tensor's table: float32(v) / 255 (times scale), in single
// precision as torchvision computes it.
func unitLUT(c int, scale float32) [][256]float32 {
	t := make([][256]float32, c)
	for ch := range t {
		for v := range t[ch] {
			x := float32(v) / 255
			if scale != 1 {
				x *= scale
			}
			t[ch][v] = x
		}
	}
	return t
}

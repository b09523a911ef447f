package data

import (
	"errors"
	"fmt"
	"math"
	"os"
	"sync"

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
	opt  decodeOpts
}

// decodeOpts are a loader's decoding settings.
type decodeOpts struct {
	dct       bool  // allow reduced-size JPEG decoding
	maxPixels int64 // the most pixels a file may declare (imgproc.Options.MaxPixels)
}

func (o decodeOpts) imgproc(scale int, reuse bool) imgproc.Options {
	return imgproc.Options{Scale: scale, MaxPixels: o.maxPixels, Reuse: reuse}
}

// chw is a float32 image, channels first (PyTorch's layout).
type chw struct {
	C, H, W int
	Data    []float32
}

// openFile reads an image file's header and checks the size it declares;
// pixels are decoded on demand.
func openFile(path string, maxPixels int64) (*sample, error) {
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
	if err := imgproc.CheckSize(w, h, maxPixels); err != nil {
		return nil, decodeError(path, err)
	}
	return &sample{path: path, data: data, w: w, h: h, opt: decodeOpts{maxPixels: maxPixels}}, nil
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
	var big *imgproc.TooLargeError
	if errors.As(err, &big) {
		return fmt.Errorf("data: cannot decode %s: %v; if the file is trusted, raise the limit with max_pixels= (data.loader, data.read_image; None for no limit)", path, err)
	}
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
		m, err := imgproc.Decode(s.data, s.opt.imgproc(1, false))
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
// otherwise this is exactly Pillow's crop + resize. An undecoded file has
// only the region decoded (the same pixels as a full decode, at a fraction
// of the cost for a random_resized_crop), into a buffer lent back after
// the resize.
func (s *sample) resizeCrop(opName string, x, y, cw, ch, ow, oh int) error {
	if s.img == nil && s.t == nil {
		d := 1
		if s.opt.dct && imgproc.Sniff(s.data) == imgproc.JPEG {
			d = 8
			for d > 1 && (cw < ow*d || ch < oh*d) {
				d /= 2
			}
		}
		if d > 1 || x != 0 || y != 0 || cw != s.w || ch != s.h || ow != s.w || oh != s.h {
			f := 1 / float64(d)
			box := [4]float64{float64(x) * f, float64(y) * f, float64(x+cw) * f, float64(y+ch) * f}
			sw, sh := imgproc.ScaledSize(s.w, s.h, d)
			clip := [4]int{int(box[0]), int(box[1]), min(int(math.Ceil(box[2])), sw), min(int(math.Ceil(box[3])), sh)}
			var r imgproc.Region
			var err error
			if clip == [4]int{0, 0, sw, sh} {
				r.Image, err = imgproc.Decode(s.data, s.opt.imgproc(d, true))
			} else {
				r, err = imgproc.DecodeRegion(s.data, s.opt.imgproc(d, true), clip[0], clip[1], clip[2]-clip[0], clip[3]-clip[1])
			}
			if err != nil {
				return decodeError(s.path, err)
			}
			// The same arithmetic in the region's coordinates (the shifts
			// are exact), so the pixels are those of the whole image's.
			for i := range 4 {
				o := [4]int{r.X, r.Y, r.X, r.Y}[i]
				box[i] -= float64(o)
				clip[i] -= o
			}
			s.img, s.data = imgproc.ResizeBox(r.Image, ow, oh, box, clip), nil
			imgproc.Recycle(r.Image)
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
	out := &chw{C: m.C, H: m.H, W: m.W, Data: getFloats(m.C * m.H * m.W)}
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

// chwPool holds the float buffers of samples the loader has copied into a
// batch, so each worker reuses one instead of allocating (and zeroing)
// 600 KB per 224 x 224 image.
var chwPool sync.Pool // *[]float32

// getFloats returns n floats with arbitrary contents.
func getFloats(n int) []float32 {
	if p, ok := chwPool.Get().(*[]float32); ok && cap(*p) >= n {
		return (*p)[:n]
	}
	return make([]float32, n)
}

// recycleCHW gives t's buffer back; nothing may use t afterwards.
func recycleCHW(t *chw) {
	if t == nil || cap(t.Data) == 0 {
		return
	}
	d := t.Data[:0]
	t.Data = nil
	chwPool.Put(&d)
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

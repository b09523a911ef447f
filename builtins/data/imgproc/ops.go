package imgproc

import "math"

// These reproduce the Pillow functions torchvision's PIL backend calls for
// ColorJitter and AutoAugment (ImageEnhance, ImageOps, convert("HSV"),
// transform(AFFINE, NEAREST)), so the augmented pixels are Pillow's.

// blend is Image.blend(degenerate, m, alpha): Pillow computes
// in1 + alpha*(in2 - in1) in single precision and truncates, clipping only
// when alpha extrapolates.
func blend(degenerate, m *Image, alpha float32) *Image {
	if alpha == 1 {
		return m.Clone()
	}
	if alpha == 0 {
		return degenerate.Clone()
	}
	out := New(m.W, m.H, m.C)
	for i, v := range m.Pix {
		d := float32(degenerate.Pix[i])
		t := d + alpha*(float32(v)-d)
		switch {
		case t <= 0:
			out.Pix[i] = 0
		case t >= 255:
			out.Pix[i] = 255
		default:
			out.Pix[i] = uint8(t)
		}
	}
	return out
}

// Brightness is ImageEnhance.Brightness(m).enhance(f).
func Brightness(m *Image, f float64) *Image {
	return blend(New(m.W, m.H, m.C), m, float32(f))
}

// Saturation is ImageEnhance.Color(m).enhance(f): a blend with the gray image.
func Saturation(m *Image, f float64) *Image {
	if m.C == 1 {
		return m.Clone()
	}
	return blend(m.Luma().RGB(), m, float32(f))
}

// Contrast is ImageEnhance.Contrast(m).enhance(f): a blend with the mean
// gray level, rounded to an integer.
func Contrast(m *Image, f float64) *Image {
	g := m.Luma()
	sum := 0
	for _, v := range g.Pix {
		sum += int(v)
	}
	mean := uint8(int(float64(sum)/float64(len(g.Pix)) + 0.5))
	d := New(m.W, m.H, m.C)
	for i := range d.Pix {
		d.Pix[i] = mean
	}
	return blend(d, m, float32(f))
}

// Sharpness is ImageEnhance.Sharpness(m).enhance(f): a blend with the image
// smoothed by Pillow's SMOOTH kernel (1 1 1 / 1 5 1 / 1 1 1, over 13), whose
// border pixels are copied unfiltered.
func Sharpness(m *Image, f float64) *Image {
	return blend(smooth(m), m, float32(f))
}

func smooth(m *Image) *Image {
	out := m.Clone()
	if m.W < 3 || m.H < 3 {
		return out
	}
	C := m.C
	var k [9]float32
	for i := range k {
		k[i] = 1.0 / 13
	}
	k[4] = 5.0 / 13
	stride := m.W * C
	for y := 1; y < m.H-1; y++ {
		for x := 1; x < m.W-1; x++ {
			for c := 0; c < C; c++ {
				o := y*stride + x*C + c
				// Pillow sums the rows below, at, then above the pixel.
				var s float32 = 0.5
				for r, dy := range [3]int{1, 0, -1} {
					for q, dx := range [3]int{-1, 0, 1} {
						s += float32(m.Pix[o+dy*stride+dx*C]) * k[r*3+q]
					}
				}
				out.Pix[o] = clipFloat(s)
			}
		}
	}
	return out
}

func clipFloat(s float32) uint8 {
	if s <= 0 {
		return 0
	}
	if s >= 255 {
		return 255
	}
	return uint8(s)
}

// lut applies one 256-entry table per channel (or one for all).
func lut(m *Image, tables [][256]uint8) *Image {
	out := New(m.W, m.H, m.C)
	for i, v := range m.Pix {
		out.Pix[i] = tables[(i%m.C)%len(tables)][v]
	}
	return out
}

func histograms(m *Image) [][256]int {
	h := make([][256]int, m.C)
	for i, v := range m.Pix {
		h[i%m.C][v]++
	}
	return h
}

// Posterize keeps the top bits of each value (ImageOps.posterize).
func Posterize(m *Image, bits int) *Image {
	var t [256]uint8
	mask := ^uint8(0) << uint(8-bits)
	if bits <= 0 {
		mask = 0
	}
	for i := range t {
		t[i] = uint8(i) & mask
	}
	return lut(m, [][256]uint8{t})
}

// Solarize inverts values at or above threshold (ImageOps.solarize).
func Solarize(m *Image, threshold float64) *Image {
	var t [256]uint8
	for i := range t {
		if float64(i) < threshold {
			t[i] = uint8(i)
		} else {
			t[i] = 255 - uint8(i)
		}
	}
	return lut(m, [][256]uint8{t})
}

// Invert negates every value (ImageOps.invert).
func Invert(m *Image) *Image {
	var t [256]uint8
	for i := range t {
		t[i] = 255 - uint8(i)
	}
	return lut(m, [][256]uint8{t})
}

// AutoContrast stretches each channel to the full range (ImageOps.autocontrast
// with no cutoff).
func AutoContrast(m *Image) *Image {
	hs := histograms(m)
	tables := make([][256]uint8, m.C)
	for c, h := range hs {
		lo, hi := 0, 255
		for lo < 255 && h[lo] == 0 {
			lo++
		}
		for hi > 0 && h[hi] == 0 {
			hi--
		}
		if hi <= lo {
			for i := range tables[c] {
				tables[c][i] = uint8(i)
			}
			continue
		}
		scale := 255.0 / float64(hi-lo)
		offset := -float64(lo) * scale
		for i := range tables[c] {
			v := int(float64(i)*scale + offset)
			tables[c][i] = uint8(min(max(v, 0), 255))
		}
	}
	return lut(m, tables)
}

// Equalize flattens each channel's histogram (ImageOps.equalize).
func Equalize(m *Image) *Image {
	hs := histograms(m)
	tables := make([][256]uint8, m.C)
	for c, h := range hs {
		identity := func() {
			for i := range tables[c] {
				tables[c][i] = uint8(i)
			}
		}
		total, last, nonzero := 0, 0, 0
		for _, v := range h {
			if v != 0 {
				total += v
				last = v
				nonzero++
			}
		}
		if nonzero <= 1 {
			identity()
			continue
		}
		step := (total - last) / 255
		if step == 0 {
			identity()
			continue
		}
		n := step / 2
		for i := range tables[c] {
			tables[c][i] = uint8(min(n/step, 255))
			n += h[i]
		}
	}
	return lut(m, tables)
}

// ---------------------------------------------------------------- hue

// rgbToHSV is Pillow's convert("HSV") of one pixel (colorsys in single
// precision, hue and saturation scaled to 0..255 and truncated).
func rgbToHSV(r, g, b uint8) (uint8, uint8, uint8) {
	maxc := max(r, g, b)
	minc := min(r, g, b)
	if maxc == minc {
		return 0, 0, maxc
	}
	cr := float32(maxc - minc)
	s := cr / float32(maxc)
	rc := float32(maxc-r) / cr
	gc := float32(maxc-g) / cr
	bc := float32(maxc-b) / cr
	var h float32
	switch {
	case r == maxc:
		h = bc - gc
	case g == maxc:
		h = float32(2.0 + float64(rc) - float64(bc))
	default:
		h = float32(4.0 + float64(gc) - float64(rc))
	}
	h = float32(math.Mod(float64(h)/6.0+1.0, 1.0))
	return clampInt(int(float64(h) * 255.0)), clampInt(int(float64(s) * 255.0)), maxc
}

func clampInt(v int) uint8 { return uint8(min(max(v, 0), 255)) }

// hsvToRGB is Pillow's convert("RGB") of an HSV pixel.
func hsvToRGB(h, s, v uint8) (uint8, uint8, uint8) {
	if s == 0 {
		return v, v, v
	}
	i := int(math.Floor(float64(float32(h)) * 6.0 / 255.0))
	f := float32(float64(float32(h))*6.0/255.0 - float64(i))
	fs := float32(float64(s) / 255.0)
	p := clampInt(int(math.Round(float64(v) * (1.0 - float64(fs)))))
	q := clampInt(int(math.Round(float64(v) * (1.0 - float64(fs)*float64(f)))))
	t := clampInt(int(math.Round(float64(v) * (1.0 - float64(fs)*(1.0-float64(f))))))
	switch i % 6 {
	case 0:
		return v, t, p
	case 1:
		return q, v, p
	case 2:
		return p, v, t
	case 3:
		return p, q, v
	case 4:
		return t, p, v
	}
	return v, p, q
}

// Hue rotates the hue by f (in [-0.5, 0.5] of a turn) as torchvision's PIL
// adjust_hue does: through Pillow's 8-bit HSV, adding uint8(f * 255) with
// wrap-around.
func Hue(m *Image, f float64) *Image {
	if m.C == 1 {
		return m.Clone()
	}
	shift := uint8(int8(int(f * 255))) // numpy's uint8() of a float truncates, then wraps
	out := New(m.W, m.H, 3)
	for i := 0; i < m.W*m.H; i++ {
		p := m.Pix[3*i : 3*i+3 : 3*i+3]
		h, s, v := rgbToHSV(p[0], p[1], p[2])
		r, g, b := hsvToRGB(h+shift, s, v)
		out.Pix[3*i], out.Pix[3*i+1], out.Pix[3*i+2] = r, g, b
	}
	return out
}

// ---------------------------------------------------------------- geometry

// Affine maps every output pixel (x, y) to the source pixel at
// (a*x' + b*y' + c, d*x' + e*y' + f) with x' = x + 0.5, y' = y + 0.5,
// nearest neighbour, black outside: Pillow's transform(AFFINE, NEAREST)
// with its inverse matrix. Like Pillow it steps in 16.16 fixed point when
// the coordinates fit, which decides the ties between two source pixels.
func Affine(m *Image, mat [6]float64) *Image {
	out := New(m.W, m.H, m.C)
	C := m.C
	fits := func(x, y float64) bool {
		return math.Abs(mat[0]*x+mat[1]*y+mat[2]) < 32768 && math.Abs(mat[3]*x+mat[4]*y+mat[5]) < 32768
	}
	put := func(x, y, xin, yin int) {
		if xin >= 0 && xin < m.W && yin >= 0 && yin < m.H {
			copy(out.Pix[(y*m.W+x)*C:(y*m.W+x+1)*C], m.Pix[(yin*m.W+xin)*C:(yin*m.W+xin+1)*C])
		}
	}
	w, h := float64(m.W), float64(m.H)
	if fits(0, 0) && fits(w, h) && fits(0, h) && fits(w, 0) {
		fix := func(v float64) int64 { return int64(math.Floor(v*65536 + 0.5)) }
		a0, a1, a3, a4 := fix(mat[0]), fix(mat[1]), fix(mat[3]), fix(mat[4])
		xo := fix(mat[2] + mat[0]*0.5 + mat[1]*0.5)
		yo := fix(mat[5] + mat[3]*0.5 + mat[4]*0.5)
		for y := 0; y < m.H; y++ {
			xx, yy := xo, yo
			for x := 0; x < m.W; x++ {
				put(x, y, int(xx>>16), int(yy>>16))
				xx += a0
				yy += a3
			}
			xo += a1
			yo += a4
		}
		return out
	}
	coord := func(v float64) int {
		if v < 0 {
			return -1
		}
		return int(v)
	}
	xo := mat[2] + mat[1]*0.5 + mat[0]*0.5
	yo := mat[5] + mat[4]*0.5 + mat[3]*0.5
	for y := 0; y < m.H; y++ {
		xx, yy := xo, yo
		for x := 0; x < m.W; x++ {
			put(x, y, coord(xx), coord(yy))
			xx += mat[0]
			yy += mat[3]
		}
		xo += mat[1]
		yo += mat[4]
	}
	return out
}

// Rotate turns the image by deg degrees counter-clockwise about its centre,
// keeping its size (Pillow's rotate with NEAREST and expand=False).
func Rotate(m *Image, deg float64) *Image {
	if math.Mod(deg, 360) == 0 {
		return m.Clone()
	}
	a := -deg * math.Pi / 180
	r15 := func(v float64) float64 { return math.Round(v*1e15) / 1e15 }
	cos, sin := r15(math.Cos(a)), r15(math.Sin(a))
	cx, cy := float64(m.W)/2, float64(m.H)/2
	mat := [6]float64{cos, sin, 0, -sin, cos, 0}
	mat[2] = mat[0]*-cx + mat[1]*-cy + mat[2] + cx
	mat[5] = mat[3]*-cx + mat[4]*-cy + mat[5] + cy
	return Affine(m, mat)
}

// ShearX shears rows by s (x_src = x + s*y about the top-left corner), as
// torchvision's AutoAugment ShearX with magnitude s.
func ShearX(m *Image, s float64) *Image {
	return Affine(m, [6]float64{1, math.Tan(math.Atan(s)), 0, 0, 1, 0})
}

// ShearY shears columns by s (y_src = y + s*x).
func ShearY(m *Image, s float64) *Image {
	return Affine(m, [6]float64{1, 0, 0, math.Tan(math.Atan(s)), 1, 0})
}

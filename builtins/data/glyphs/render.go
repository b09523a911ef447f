package glyphs

import (
	"fmt"
	"image"
	"image/draw"
	"math"

	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/vector"
)

// Geometry says how a glyph is placed in its image: the em square spans
// (Size - 2*Padding) * Scale pixels, and the glyph's outline box is centred
// in the image. A glyph whose box would be larger than Size - 2*Padding is
// shrunk to fit, so no ink is cut off.
type Geometry struct {
	Size    int
	Padding int
	Scale   float64
}

func (g Geometry) check() error {
	if g.Size < 8 || g.Size > 1024 {
		return fmt.Errorf("image_size=%d: must be 8..1024", g.Size)
	}
	if g.Padding < 0 || 2*g.Padding > g.Size-4 {
		return fmt.Errorf("padding=%d: must be 0..%d for image_size=%d", g.Padding, (g.Size-4)/2, g.Size)
	}
	if !(g.Scale > 0 && g.Scale <= 4) {
		return fmt.Errorf("scale=%g: must be in (0, 4]", g.Scale)
	}
	return nil
}

// renderer draws glyphs of any face; one per goroutine.
type renderer struct {
	g   Geometry
	buf sfnt.Buffer
	z   *vector.Rasterizer
	dst *image.Alpha
}

func newRenderer(g Geometry) *renderer {
	return &renderer{
		g:   g,
		z:   vector.NewRasterizer(g.Size, g.Size),
		dst: &image.Alpha{Stride: g.Size, Rect: image.Rect(0, 0, g.Size, g.Size)},
	}
}

// glyphIndex is r's glyph in f, or 0 when the character map lacks it.
func (rd *renderer) glyphIndex(f *sfnt.Font, r rune) sfnt.GlyphIndex {
	gi, err := f.GlyphIndex(&rd.buf, r)
	if err != nil {
		return 0
	}
	return gi
}

// render draws glyph gi of f as white ink on black into out (Size x Size
// bytes, row by row). It reports false when the glyph has no outline or no
// pixel of ink: some fonts map characters they do not draw to empty glyphs.
func (rd *renderer) render(f *sfnt.Font, gi sfnt.GlyphIndex, out []byte) (ok bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			ok, err = false, fmt.Errorf("malformed glyph %d: %v", gi, r)
		}
	}()
	g := rd.g
	inner := float64(g.Size - 2*g.Padding)
	em := inner * g.Scale
	segs, err := f.LoadGlyph(&rd.buf, gi, fixed.Int26_6(math.Round(em*64)), nil)
	if err != nil {
		return false, err
	}
	if len(segs) == 0 {
		return false, nil
	}
	b := segs.Bounds()
	x0, y0 := float64(b.Min.X)/64, float64(b.Min.Y)/64
	x1, y1 := float64(b.Max.X)/64, float64(b.Max.Y)/64
	k := 1.0
	if w, h := x1-x0, y1-y0; w > inner || h > inner {
		k = inner / math.Max(w, h)
	}
	cx, cy := (x0+x1)/2, (y0+y1)/2
	half := float64(g.Size) / 2
	pt := func(p fixed.Point26_6) (float32, float32) {
		return float32((float64(p.X)/64-cx)*k + half), float32((float64(p.Y)/64-cy)*k + half)
	}
	z := rd.z
	z.Reset(g.Size, g.Size)
	z.DrawOp = draw.Src
	open := false
	for _, s := range segs {
		switch s.Op {
		case sfnt.SegmentOpMoveTo:
			if open {
				z.ClosePath()
			}
			z.MoveTo(pt(s.Args[0]))
			open = true
		case sfnt.SegmentOpLineTo:
			z.LineTo(pt(s.Args[0]))
		case sfnt.SegmentOpQuadTo:
			ax, ay := pt(s.Args[0])
			bx, by := pt(s.Args[1])
			z.QuadTo(ax, ay, bx, by)
		case sfnt.SegmentOpCubeTo:
			ax, ay := pt(s.Args[0])
			bx, by := pt(s.Args[1])
			cx, cy := pt(s.Args[2])
			z.CubeTo(ax, ay, bx, by, cx, cy)
		}
	}
	if open {
		z.ClosePath()
	}
	rd.dst.Pix = out[:g.Size*g.Size]
	z.Draw(rd.dst, rd.dst.Bounds(), image.Opaque, image.Point{})
	for _, v := range rd.dst.Pix {
		if v != 0 {
			return true, nil
		}
	}
	return false, nil
}

// Jitter is one draw of the training augmentation: an affine map about
// the image centre (rotation and shear in degrees, scale, translation in
// pixels) and a stroke-thickness change in [-1, 1] (negative thins the
// strokes by a blend with a 3x3 erosion, positive thickens them with a
// dilation).
type Jitter struct {
	Rotate, Shear, Scale, TX, TY, Thickness float64
}

// Apply returns the w x h image pix (c interleaved channels) under the
// jitter: bilinear sampling of the inverse map, black outside.
func (j Jitter) Apply(pix []byte, w, h, c int) []byte {
	out := make([]byte, len(pix))
	th, sh := j.Rotate*math.Pi/180, j.Shear*math.Pi/180
	// Forward map A = R(th) * Shear_x(sh) * scale; sample with its inverse.
	cos, sin := math.Cos(th), math.Sin(th)
	tan := math.Tan(sh)
	a, b := cos*j.Scale, (cos*tan-sin)*j.Scale
	cc, d := sin*j.Scale, (sin*tan+cos)*j.Scale
	det := a*d - b*cc
	ia, ib, ic, id := d/det, -b/det, -cc/det, a/det
	mx, my := float64(w)/2, float64(h)/2
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			dx, dy := float64(x)+0.5-mx-j.TX, float64(y)+0.5-my-j.TY
			sx := ia*dx + ib*dy + mx - 0.5
			sy := ic*dx + id*dy + my - 0.5
			fx, fy := math.Floor(sx), math.Floor(sy)
			ax, ay := sx-fx, sy-fy
			x0, y0 := int(fx), int(fy)
			for ch := 0; ch < c; ch++ {
				at := func(xx, yy int) float64 {
					if xx < 0 || yy < 0 || xx >= w || yy >= h {
						return 0
					}
					return float64(pix[(yy*w+xx)*c+ch])
				}
				v := (at(x0, y0)*(1-ax)+at(x0+1, y0)*ax)*(1-ay) + (at(x0, y0+1)*(1-ax)+at(x0+1, y0+1)*ax)*ay
				out[(y*w+x)*c+ch] = byte(math.Min(255, math.Round(v)))
			}
		}
	}
	if j.Thickness != 0 {
		out = thicken(out, w, h, c, j.Thickness)
	}
	return out
}

// thicken blends the image with its 3x3 dilation (t > 0) or erosion
// (t < 0) by |t|: a fraction of a pixel of stroke width either way.
func thicken(pix []byte, w, h, c int, t float64) []byte {
	out := make([]byte, len(pix))
	grow := t > 0
	f := math.Min(1, math.Abs(t))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			for ch := 0; ch < c; ch++ {
				m := int(pix[(y*w+x)*c+ch])
				for yy := max(0, y-1); yy <= min(h-1, y+1); yy++ {
					for xx := max(0, x-1); xx <= min(w-1, x+1); xx++ {
						v := int(pix[(yy*w+xx)*c+ch])
						if grow && v > m || !grow && v < m {
							m = v
						}
					}
				}
				if !grow && (x == 0 || y == 0 || x == w-1 || y == h-1) {
					m = 0 // the black border erodes edge pixels too
				}
				v := float64(pix[(y*w+x)*c+ch])
				out[(y*w+x)*c+ch] = byte(math.Round(v + (float64(m)-v)*f))
			}
		}
	}
	return out
}

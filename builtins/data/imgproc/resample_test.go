package imgproc

import (
	"math/rand/v2"
	"testing"
)

// refResizeBox is Pillow's two passes written out plainly in Go (the
// implementation the golden tests validated before the passes moved to C),
// the reference for images larger than the golden ones.
func refResizeBox(m *Image, w, h int, box [4]float64, clip [4]int) *Image {
	cx := precompute(clip[0], clip[2], box[0], box[2], w)
	cy := precompute(clip[1], clip[3], box[1], box[3], h)
	yFirst, yLast := int(cy.start[0]), int(cy.start[h-1]+cy.n[h-1])
	clipRef := func(v int32) uint8 {
		v >>= precisionBits
		return uint8(min(max(v, 0), 255))
	}
	half := int32(1) << (precisionBits - 1)
	C := m.C
	tmp := New(w, yLast-yFirst, C)
	for yy := 0; yy < tmp.H; yy++ {
		for xx := 0; xx < w; xx++ {
			s, n := int(cx.start[xx]), int(cx.n[xx])
			for ch := 0; ch < C; ch++ {
				acc := half
				for t := 0; t < n; t++ {
					acc += int32(m.Pix[((yFirst+yy)*m.W+s+t)*C+ch]) * cx.k[xx*cx.ksize+t]
				}
				tmp.Pix[(yy*w+xx)*C+ch] = clipRef(acc)
			}
		}
	}
	out := New(w, h, C)
	for yy := 0; yy < h; yy++ {
		s, n := int(cy.start[yy])-yFirst, int(cy.n[yy])
		for i := 0; i < w*C; i++ {
			acc := half
			for t := 0; t < n; t++ {
				acc += int32(tmp.Pix[(s+t)*w*C+i]) * cy.k[yy*cy.ksize+t]
			}
			out.Pix[yy*w*C+i] = clipRef(acc)
		}
	}
	return out
}

func randomImage(r *rand.Rand, w, h, c int) *Image {
	m := New(w, h, c)
	for i := range m.Pix {
		// Mostly smooth with some extremes, so clipping is exercised.
		switch r.IntN(8) {
		case 0:
			m.Pix[i] = 0
		case 1:
			m.Pix[i] = 255
		default:
			m.Pix[i] = uint8((i/c)%w + r.IntN(40))
		}
	}
	return m
}

// TestResizeMatchesReference: the vectorised and the portable passes give
// the reference's bytes for up- and downscales, crops at the image's edges
// (where the vector loads stop short of the buffer's end), gray and RGB.
func TestResizeMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	was := setSIMD(true)
	defer setSIMD(was)
	for _, simd := range []bool{true, false} {
		setSIMD(simd)
		for trial := range 300 {
			c := 3
			if trial%5 == 0 {
				c = 1
			}
			W, H := 1+r.IntN(300), 1+r.IntN(300)
			m := randomImage(r, W, H, c)
			x, y := r.IntN(W), r.IntN(H)
			cw, ch := 1+r.IntN(W-x), 1+r.IntN(H-y)
			if trial%7 == 0 { // a crop touching the bottom-right corner
				x, y = W-cw, H-ch
			}
			ow, oh := 1+r.IntN(260), 1+r.IntN(260)
			box := [4]float64{float64(x), float64(y), float64(x + cw), float64(y + ch)}
			clip := [4]int{x, y, x + cw, y + ch}
			if trial%3 == 0 { // a fractional box, as DCT-scaled decodes use
				box[0] += r.Float64() * 0.9
				box[1] += r.Float64() * 0.9
				box[2] = max(box[2]-r.Float64()*0.9, box[0]+0.05)
				box[3] = max(box[3]-r.Float64()*0.9, box[1]+0.05)
			}
			got := ResizeBox(m, ow, oh, box, clip)
			want := refResizeBox(m, ow, oh, box, clip)
			if n, worst := diff(got, want); n != 0 {
				t.Fatalf("simd=%v %dx%dx%d box %v -> %dx%d: %s", simd, W, H, c, box, ow, oh, describe(n, worst, got, want))
			}
		}
	}
}

func BenchmarkResizeCrop(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	m := randomImage(r, 500, 375, 3)
	for _, simd := range []bool{true, false} {
		name := "simd"
		if !simd {
			name = "portable"
		}
		b.Run(name, func(b *testing.B) {
			was := setSIMD(simd)
			defer setSIMD(was)
			for i := range b.N {
				// The crops random_resized_crop(224) draws from 500x375.
				cw, ch := 120+i%250, 120+(i*7)%250
				_ = ResizeCrop(m, 500-cw, 375-ch, cw, ch, 224, 224)
			}
		})
	}
}

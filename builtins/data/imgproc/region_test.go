package imgproc

import (
	"bytes"
	"image"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"os"
	"testing"
)

// photoJPEG encodes a w x h image with smooth gradients, edges and noise
// (colour: 4:2:0, as Go's encoder writes; gray: one component).
func photoJPEG(t testing.TB, r *rand.Rand, w, h int, gray bool) []byte {
	t.Helper()
	var im image.Image
	if gray {
		g := image.NewGray(image.Rect(0, 0, w, h))
		for i := range g.Pix {
			x, y := i%w, i/w
			g.Pix[i] = uint8(128 + 100*math.Sin(float64(x)/9)*math.Cos(float64(y)/7) + float64(r.IntN(20)))
		}
		im = g
	} else {
		m := image.NewRGBA(image.Rect(0, 0, w, h))
		for i := 0; i < w*h; i++ {
			x, y := i%w, i/w
			m.Pix[4*i] = uint8(x * 255 / w)
			m.Pix[4*i+1] = uint8(y*255/h) ^ uint8(x/16%2*90)
			m.Pix[4*i+2] = uint8(128 + 100*math.Sin(float64(x)/9)*math.Cos(float64(y)/7) + float64(r.IntN(20)))
			m.Pix[4*i+3] = 255
		}
		im = m
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, im, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestDecodeRegionMatchesFull: the rectangle asked of DecodeRegion holds
// the full decode's pixels at the same scale, byte for byte, for
// regions anywhere (edges included), at every DCT scale, for 4:2:0 colour,
// gray and Pillow's own file.
func TestDecodeRegionMatchesFull(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	pillow, err := os.ReadFile("testdata/golden/input.jpg")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"color 500x375": photoJPEG(t, r, 500, 375, false),
		"color 333x97":  photoJPEG(t, r, 333, 97, false),
		"gray 211x150":  photoJPEG(t, r, 211, 150, true),
		"pillow":        pillow,
	}
	for name, data := range files {
		for _, scale := range []int{1, 2, 4, 8} {
			full, err := Decode(data, Options{Scale: scale})
			if err != nil {
				t.Fatal(err)
			}
			for trial := range 40 {
				w, h := 1+r.IntN(full.W), 1+r.IntN(full.H)
				x, y := r.IntN(full.W-w+1), r.IntN(full.H-h+1)
				if trial == 0 {
					x, y, w, h = 0, 0, full.W, full.H
				}
				reg, err := DecodeRegion(data, Options{Scale: scale, Reuse: trial%2 == 0}, x, y, w, h)
				if err != nil {
					t.Fatalf("%s 1/%d (%d, %d) %dx%d: %v", name, scale, x, y, w, h, err)
				}
				if reg.X > x || reg.Y > y || reg.X+reg.W < x+w || reg.Y+reg.H < y+h {
					t.Fatalf("%s 1/%d: region %v at (%d, %d) does not hold %dx%d at (%d, %d)", name, scale, reg.Image, reg.X, reg.Y, w, h, x, y)
				}
				got, want := reg.Crop(x-reg.X, y-reg.Y, w, h), full.Crop(x, y, w, h)
				if n, worst := diff(got, want); n != 0 {
					t.Fatalf("%s 1/%d (%d, %d) %dx%d: %s", name, scale, x, y, w, h, describe(n, worst, got, want))
				}
				Recycle(reg.Image)
			}
		}
	}
}

// TestDecodeRegionBadFiles: truncated and corrupt files fail as a whole
// decode does (the cut file has no EOI, so it is decoded whole), bombs
// are refused, and a region outside the image is an error.
func TestDecodeRegionBadFiles(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	data := photoJPEG(t, r, 200, 160, false)
	for _, n := range []int{20, 300, len(data) / 2} {
		if _, err := DecodeRegion(data[:n], Options{}, 0, 0, 10, 10); err == nil {
			t.Errorf("cut at %d bytes: decoded", n)
		}
	}
	if _, err := DecodeRegion(withSize(t, data, 65500, 65500), Options{}, 0, 0, 10, 10); err == nil {
		t.Error("a 65500 x 65500 bomb decoded")
	}
	if _, err := DecodeRegion(data, Options{}, 150, 0, 100, 10); err == nil {
		t.Error("a region outside the image decoded")
	}
	reg, err := DecodeRegion(pngBomb(3, 2), Options{}, 0, 0, 1, 1)
	if err == nil && (reg.W != 3 || reg.X != 0) {
		t.Errorf("a PNG gives the whole image: %v at %d", reg.Image, reg.X)
	}
}

func BenchmarkDecode(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	data := photoJPEG(b, r, 500, 375, false)
	b.Run("full", func(b *testing.B) {
		for range b.N {
			m, err := Decode(data, Options{Reuse: true})
			if err != nil {
				b.Fatal(err)
			}
			Recycle(m)
		}
	})
	b.Run("region", func(b *testing.B) {
		for i := range b.N {
			// Regions the size random_resized_crop draws (mean area ~45%).
			w, h := 120+(i*37)%250, 120+(i*53)%250
			reg, err := DecodeRegion(data, Options{Reuse: true}, (i*11)%(500-w+1), (i*13)%(375-h+1), w, h)
			if err != nil {
				b.Fatal(err)
			}
			Recycle(reg.Image)
		}
	})
}

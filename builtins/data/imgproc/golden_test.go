package imgproc

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"testing"
)

func readPNG(t *testing.T, path string) *Image {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Decode(data, Options{})
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return m
}

// diff counts differing values and the largest difference.
func diff(a, b *Image) (n, worst int) {
	if a.W != b.W || a.H != b.H || a.C != b.C {
		return -1, -1
	}
	for i := range a.Pix {
		d := int(a.Pix[i]) - int(b.Pix[i])
		if d != 0 {
			n++
			worst = max(worst, d, -d)
		}
	}
	return n, worst
}

// TestGolden compares every operation with Pillow/torchvision output made by
// testdata/gen_golden.py. Most must be identical; the tolerance says where
// single-precision rounding may differ.
func TestGolden(t *testing.T) {
	raw, err := os.ReadFile("testdata/golden/cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Op   string
		Args []float64
		File string
	}
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	src := readPNG(t, "testdata/golden/input.png")
	for _, c := range cases {
		want := readPNG(t, "testdata/"+c.File)
		a := c.Args
		var got *Image
		switch c.Op {
		case "resize":
			got = Resize(src, int(a[0]), int(a[1]))
		case "resized_crop":
			got = ResizeCrop(src, int(a[1]), int(a[0]), int(a[3]), int(a[2]), int(a[5]), int(a[4]))
		case "tv_resize":
			w, h := ShorterSide(src.W, src.H, int(a[0]))
			got = Resize(src, w, h)
		case "center_crop":
			x, y := CenterCropOrigin(src.W, src.H, int(a[1]), int(a[0]))
			got = src.Crop(x, y, int(a[1]), int(a[0]))
		case "brightness":
			got = Brightness(src, a[0])
		case "contrast":
			got = Contrast(src, a[0])
		case "saturation":
			got = Saturation(src, a[0])
		case "sharpness":
			got = Sharpness(src, a[0])
		case "hue":
			got = Hue(src, a[0])
		case "posterize":
			got = Posterize(src, int(a[0]))
		case "solarize":
			got = Solarize(src, a[0])
		case "autocontrast":
			got = AutoContrast(src)
		case "equalize":
			got = Equalize(src)
		case "invert":
			got = Invert(src)
		case "gray":
			got = src.Luma().RGB()
		case "rotate":
			got = Rotate(src, a[0])
		case "shearx":
			got = ShearX(src, a[0])
		default:
			t.Errorf("%s: unknown op %s", c.File, c.Op)
			continue
		}
		n, worst := diff(got, want)
		if n != 0 {
			t.Errorf("%s %v: %v", c.Op, a, describe(n, worst, got, want))
		}
	}
}

func describe(n, worst int, got, want *Image) string {
	if n < 0 {
		return fmt.Sprintf("size %v, want %v", got, want)
	}
	return fmt.Sprintf("%d of %d values differ (worst by %d)", n, len(got.Pix), worst)
}

func TestDecodeMatchesPillow(t *testing.T) {
	for _, name := range []string{"input", "gray"} {
		data, err := os.ReadFile("testdata/golden/" + name + ".jpg")
		if err != nil {
			t.Fatal(err)
		}
		got, err := Decode(data, Options{})
		if err != nil {
			t.Fatal(err)
		}
		want := readPNG(t, "testdata/golden/"+name+"_jpg_decoded.png")
		if n, worst := diff(got, want); n != 0 {
			t.Errorf("%s.jpg: %s", name, describe(n, worst, got, want))
		}
		w, h, err := Size(data)
		if err != nil || w != want.W || h != want.H {
			t.Errorf("Size = %d, %d, %v; want %d, %d", w, h, err, want.W, want.H)
		}
		// DCT-domain downscaling gives ceil(w/d) x ceil(h/d) images close
		// to a resize of the full decode.
		for _, d := range []int{2, 4, 8} {
			small, err := Decode(data, Options{Scale: d})
			if err != nil {
				t.Fatal(err)
			}
			sw, sh := ScaledSize(w, h, d)
			if small.W != sw || small.H != sh {
				t.Fatalf("1/%d: got %v, want %dx%d", d, small, sw, sh)
			}
			ref := Resize(want, sw, sh)
			sum := 0.0
			for i := range ref.Pix {
				sum += math.Abs(float64(ref.Pix[i]) - float64(small.Pix[i]))
			}
			if mean := sum / float64(len(ref.Pix)); mean > 8 {
				t.Errorf("1/%d decode differs from a resize by %.1f on average", d, mean)
			}
		}
	}
}

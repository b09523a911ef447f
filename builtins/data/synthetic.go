package data

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/dadash/dadash/internal/atomicfile"
)

// synthImage draws an image of class c: a class-specific hue, stripe
// orientation and frequency, and a blob whose position depends on the
// class, under per-image random phase, shift, brightness and noise. A small
// network separates the classes after a few epochs, and the smooth content
// compresses like a photograph.
func synthImage(r *rng, c, w, h int) *image.RGBA {
	im := image.NewRGBA(image.Rect(0, 0, w, h))
	// Golden-ratio hues keep neighbouring classes far apart in colour.
	hue := math.Mod(float64(c)*0.618033988749895, 1)
	base := hsv(hue, 0.65, 0.85)
	other := hsv(hue, 0.9, 0.3) // a dark shade of the same hue keeps the mean colour class-specific
	angle := float64((c*47)%180) * math.Pi / 180
	freq := 2 + float64(c%5)*1.5 // stripes across the image
	ca, sa := math.Cos(angle), math.Sin(angle)
	phase := r.Uniform(0, 2*math.Pi)
	gain := r.Uniform(0.9, 1.1)
	bx := (0.25 + 0.5*math.Mod(float64(c)*0.37, 1)) + r.Uniform(-0.08, 0.08)
	by := (0.25 + 0.5*math.Mod(float64(c)*0.71, 1)) + r.Uniform(-0.08, 0.08)
	rad := 0.12 + 0.08*float64(c%3)
	gx, gy := r.Uniform(-0.3, 0.3), r.Uniform(-0.3, 0.3) // lighting gradient
	for y := 0; y < h; y++ {
		v := float64(y) / float64(h)
		for x := 0; x < w; x++ {
			u := float64(x) / float64(w)
			s := 0.5 + 0.5*math.Sin(2*math.Pi*freq*(u*ca+v*sa)+phase)
			var px [3]float64
			for k := range px {
				px[k] = s*base[k] + (1-s)*other[k]
			}
			if d := math.Hypot(u-bx, (v-by)*float64(h)/float64(w)); d < rad {
				t := 1 - d/rad
				for k := range px {
					px[k] = px[k]*(1-t) + (1-base[k])*t
				}
			}
			light := gain * (1 + gx*(u-0.5) + gy*(v-0.5))
			o := im.PixOffset(x, y)
			for k := range px {
				n := (r.Float64() + r.Float64() + r.Float64() - 1.5) * 0.08 // roughly Gaussian noise
				im.Pix[o+k] = uint8(math.Max(0, math.Min(255, 255*(px[k]*light+n))))
			}
			im.Pix[o+3] = 255
		}
	}
	return im
}

func hsv(h, s, v float64) [3]float64 {
	i := math.Floor(h * 6)
	f := h*6 - i
	p, q, t := v*(1-s), v*(1-s*f), v*(1-s*(1-f))
	switch int(i) % 6 {
	case 0:
		return [3]float64{v, t, p}
	case 1:
		return [3]float64{q, v, p}
	case 2:
		return [3]float64{p, v, t}
	case 3:
		return [3]float64{p, q, v}
	case 4:
		return [3]float64{t, p, v}
	}
	return [3]float64{v, p, q}
}

// synthJPEG encodes a class-c image at quality 90.
func synthJPEG(r *rng, c, w, h int) ([]byte, error) {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, synthImage(r, c, w, h), &jpeg.Options{Quality: 90}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// synthetic writes a tiny dataset in a real layout under root.
type synthetic struct {
	root          string
	classes, per  int
	w, h          int
	seed          uint64
	files, images int
}

func (s *synthetic) write(rel string, c, k int) error {
	data, err := synthJPEG(newRNG(s.seed, streamSynthetic, uint64(c), uint64(k)), c, s.w, s.h)
	if err != nil {
		return err
	}
	path := filepath.Join(s.root, rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	s.images++
	return atomicfile.Write(path, func(w io.Writer) error { _, err := w.Write(data); return err })
}

func (s *synthetic) text(rel string, lines []string) error {
	path := filepath.Join(s.root, rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		_, err := io.WriteString(w, strings.Join(lines, "\n")+"\n")
		return err
	})
}

// makeSynthetic writes the layout and returns the source path to give the
// dataset function (root itself).
func (s *synthetic) make(layout string) error {
	switch layout {
	case "cub200":
		for c := 0; c < s.classes; c++ {
			dir := fmt.Sprintf("cub200/images/%03d.Synthetic_Bird_%d", c+1, c+1)
			for k := 0; k < s.per; k++ {
				if err := s.write(fmt.Sprintf("%s/Synthetic_Bird_%04d_%d.jpg", dir, k+1, c+1), c, k); err != nil {
					return err
				}
			}
		}
	case "cars196":
		for c := 0; c < s.classes; c++ {
			dir := fmt.Sprintf("cars196/images/Synthetic Make Model%03d %d", c+1, 1990+c%30)
			for k := 0; k < s.per; k++ {
				if err := s.write(fmt.Sprintf("%s/%06d.jpg", dir, c*s.per+k+1), c, k); err != nil {
					return err
				}
			}
		}
	case "image_folder":
		for c := 0; c < s.classes; c++ {
			for k := 0; k < s.per; k++ {
				if err := s.write(fmt.Sprintf("class_%03d/%04d.jpg", c, k), c, k); err != nil {
					return err
				}
			}
		}
	case "online_products":
		// Classes 1..n/2 train, the rest test, four classes per super class,
		// as in Ebay_train.txt / Ebay_test.txt.
		header := "image_id class_id super_class_id path"
		train, test := []string{header}, []string{header}
		for c := 0; c < s.classes; c++ {
			super := c/4 + 1
			for k := 0; k < s.per; k++ {
				rel := fmt.Sprintf("super%02d_final/%d_%d.JPG", super, 100000+c, k)
				if err := s.write("online_products/images/"+rel, c, k); err != nil {
					return err
				}
				list := &train
				if c >= s.classes/2 {
					list = &test
				}
				*list = append(*list, fmt.Sprintf("%d %d %d %s", len(*list), c+1, super, rel))
			}
		}
		if err := s.text("online_products/Info_Files/Ebay_train.txt", train); err != nil {
			return err
		}
		return s.text("online_products/Info_Files/Ebay_test.txt", test)
	case "inshop":
		// Items of the first half train; the others' images alternate
		// between query and gallery.
		var lines []string
		for c := 0; c < s.classes; c++ {
			item := fmt.Sprintf("id_%08d", 2*c+1)
			for k := 0; k < s.per; k++ {
				rel := fmt.Sprintf("img/SYNTH/Clothes/%s/%02d_%d_front.jpg", item, k+1, k%4+1)
				if err := s.write("inshop/"+rel, c, k); err != nil {
					return err
				}
				status := "train"
				if c >= s.classes/2 {
					status = [2]string{"query", "gallery"}[k%2]
				}
				lines = append(lines, fmt.Sprintf("%s %s %s", rel, item, status))
			}
		}
		head := []string{fmt.Sprint(len(lines)), "image_name item_id evaluation_status"}
		return s.text("inshop/list_eval_partition.txt", append(head, lines...))
	default:
		return fmt.Errorf("unknown layout %q (expected cub200, cars196, online_products, inshop or image_folder)", layout)
	}
	return nil
}

package data

import (
	"fmt"
	"math"
	"strings"

	"github.com/dadash/dadash/builtins/data/imgproc"
)

// op is one step of a transform. Random steps draw from the sample's
// generator in a fixed order, so a (seed, epoch, position) key always gives
// the same augmentation whichever worker runs it.
type op interface {
	apply(s *sample) error
	String() string
}

// ---------------------------------------------------------------- geometry

type randomResizedCrop struct {
	h, w         int
	scale, ratio [2]float64
}

func (o *randomResizedCrop) String() string {
	return fmt.Sprintf("random_resized_crop(%s, scale=(%s, %s), ratio=(%s, %s))", sizeString(o.h, o.w),
		fmtFloat(o.scale[0]), fmtFloat(o.scale[1]), fmtFloat(o.ratio[0]), fmtFloat(o.ratio[1]))
}

// params is torchvision's RandomResizedCrop.get_params: ten tries at an
// area fraction uniform in scale and a log-uniform aspect ratio, then a
// centre crop clamped to the ratio range. It returns the top-left corner
// and the size of the region.
func (o *randomResizedCrop) params(r *rng, width, height int) (x, y, w, h int) {
	area := float64(width * height)
	logLo, logHi := math.Log(o.ratio[0]), math.Log(o.ratio[1])
	for range 10 {
		target := area * r.Uniform(o.scale[0], o.scale[1])
		aspect := math.Exp(r.Uniform(logLo, logHi))
		w := int(math.RoundToEven(math.Sqrt(target * aspect)))
		h := int(math.RoundToEven(math.Sqrt(target / aspect)))
		if 0 < w && w <= width && 0 < h && h <= height {
			y := r.Intn(height - h + 1)
			x := r.Intn(width - w + 1)
			return x, y, w, h
		}
	}
	in := float64(width) / float64(height)
	lo, hi := min(o.ratio[0], o.ratio[1]), max(o.ratio[0], o.ratio[1])
	switch {
	case in < lo:
		w, h = width, int(math.RoundToEven(float64(width)/lo))
	case in > hi:
		h, w = height, int(math.RoundToEven(float64(height)*hi))
	default:
		w, h = width, height
	}
	return (width - w) / 2, (height - h) / 2, w, h
}

func (o *randomResizedCrop) apply(s *sample) error {
	if s.t != nil {
		return fmt.Errorf("random_resized_crop works on images, not tensors: put it before to_tensor()")
	}
	W, H := s.size()
	x, y, w, h := o.params(s.rng, W, H)
	return s.resizeCrop("random_resized_crop", x, y, w, h, o.w, o.h)
}

type resize struct {
	short int // shorter side, or 0 when h, w are given
	h, w  int
}

func (o *resize) String() string {
	if o.short > 0 {
		return fmt.Sprintf("resize(%d)", o.short)
	}
	return fmt.Sprintf("resize(%s)", sizeString(o.h, o.w))
}

func (o *resize) apply(s *sample) error {
	if s.t != nil {
		return fmt.Errorf("resize works on images, not tensors: put it before to_tensor()")
	}
	W, H := s.size()
	ow, oh := o.w, o.h
	if o.short > 0 {
		ow, oh = imgproc.ShorterSide(W, H, o.short)
	}
	if ow == W && oh == H {
		return nil
	}
	return s.resizeCrop("resize", 0, 0, W, H, ow, oh)
}

type centerCrop struct{ h, w int }

func (o *centerCrop) String() string { return fmt.Sprintf("center_crop(%s)", sizeString(o.h, o.w)) }

func (o *centerCrop) apply(s *sample) error {
	if s.t != nil {
		t := s.t
		x, y := imgproc.CenterCropOrigin(t.W, t.H, o.w, o.h)
		s.t = cropCHW(t, x, y, o.w, o.h)
		return nil
	}
	m, err := s.image("center_crop")
	if err != nil {
		return err
	}
	x, y := imgproc.CenterCropOrigin(m.W, m.H, o.w, o.h)
	if x != 0 || y != 0 || o.w != m.W || o.h != m.H {
		s.img = m.Crop(x, y, o.w, o.h)
	}
	return nil
}

func cropCHW(t *chw, x, y, w, h int) *chw {
	out := &chw{C: t.C, H: h, W: w, Data: make([]float32, t.C*h*w)}
	for c := 0; c < t.C; c++ {
		for r := 0; r < h; r++ {
			sy := y + r
			if sy < 0 || sy >= t.H {
				continue
			}
			for q := 0; q < w; q++ {
				if sx := x + q; sx >= 0 && sx < t.W {
					out.Data[(c*h+r)*w+q] = t.Data[(c*t.H+sy)*t.W+sx]
				}
			}
		}
	}
	return out
}

type horizontalFlip struct{ p float64 }

func (o *horizontalFlip) String() string {
	return fmt.Sprintf("random_horizontal_flip(p=%s)", fmtFloat(o.p))
}

func (o *horizontalFlip) apply(s *sample) error {
	if s.rng.Float64() >= o.p {
		return nil
	}
	if t := s.t; t != nil {
		for row := 0; row < t.C*t.H; row++ {
			r := t.Data[row*t.W : (row+1)*t.W]
			for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
				r[i], r[j] = r[j], r[i]
			}
		}
		return nil
	}
	m, err := s.image("random_horizontal_flip")
	if err != nil {
		return err
	}
	m.FlipH()
	return nil
}

// ---------------------------------------------------------------- tensors

type toTensor struct {
	scale float64
	norm  *normalize // fused: the normalize that directly follows
}

func (o *toTensor) String() string {
	if o.scale != 1 {
		return fmt.Sprintf("to_tensor(scale=%s)", fmtFloat(o.scale))
	}
	return "to_tensor()"
}

func (o *toTensor) apply(s *sample) error {
	if s.t != nil {
		return fmt.Errorf("to_tensor: the image is already a tensor (to_tensor appears twice)")
	}
	m, err := s.image("to_tensor")
	if err != nil {
		return err
	}
	lut := unitLUT(m.C, float32(o.scale))
	if o.norm != nil {
		if err := o.norm.check(m.C); err != nil {
			return err
		}
		for c := range lut {
			mean, std := o.norm.at(c)
			for v := range lut[c] {
				lut[c][v] = (lut[c][v] - mean) / std
			}
		}
	}
	s.t, s.img = toCHW(m, lut), nil
	// The sample owned the image (every op makes its own), and the next
	// image of this worker can use its buffer.
	imgproc.Recycle(m)
	return nil
}

type normalize struct {
	name      string // a named preset, for printing
	mean, std []float64
}

func (o *normalize) String() string {
	if o.name != "" {
		return fmt.Sprintf("normalize(%s)", o.name)
	}
	return fmt.Sprintf("normalize(mean=%s, std=%s)", floatList(o.mean), floatList(o.std))
}

func (o *normalize) check(c int) error {
	if len(o.mean) != 1 && len(o.mean) != c {
		return fmt.Errorf("normalize: %d mean values for an image of %d channel(s); give 1 or %d (grayscale_to_rgb() makes gray images RGB)", len(o.mean), c, c)
	}
	if len(o.std) != 1 && len(o.std) != c {
		return fmt.Errorf("normalize: %d std values for an image of %d channel(s); give 1 or %d", len(o.std), c, c)
	}
	return nil
}

// at returns channel c's mean and std in single precision, as torchvision
// normalizes float32 tensors.
func (o *normalize) at(c int) (float32, float32) {
	return float32(o.mean[c%len(o.mean)]), float32(o.std[c%len(o.std)])
}

func (o *normalize) apply(s *sample) error {
	if s.t == nil {
		return fmt.Errorf("normalize works on tensors: put to_tensor() before it")
	}
	t := s.t
	if err := o.check(t.C); err != nil {
		return err
	}
	n := t.H * t.W
	for c := 0; c < t.C; c++ {
		mean, std := o.at(c)
		d := t.Data[c*n : (c+1)*n]
		for i, v := range d {
			d[i] = (v - mean) / std
		}
	}
	return nil
}

// ---------------------------------------------------------------- colour

type grayscaleToRGB struct{}

func (grayscaleToRGB) String() string { return "grayscale_to_rgb()" }

func (grayscaleToRGB) apply(s *sample) error {
	switch {
	case s.t != nil:
		if t := s.t; t.C == 1 {
			n := t.H * t.W
			d := make([]float32, 3*n)
			for c := 0; c < 3; c++ {
				copy(d[c*n:], t.Data)
			}
			s.t = &chw{C: 3, H: t.H, W: t.W, Data: d}
		}
	case s.img != nil:
		s.img = s.img.RGB()
	}
	// Files decode to RGB, so an undecoded one needs nothing.
	return nil
}

type rgbToBGR struct{}

func (rgbToBGR) String() string { return "rgb_to_bgr()" }

func (rgbToBGR) apply(s *sample) error {
	if t := s.t; t != nil {
		if t.C == 3 {
			n := t.H * t.W
			r, b := t.Data[:n], t.Data[2*n:3*n]
			for i := range r {
				r[i], b[i] = b[i], r[i]
			}
		}
		return nil
	}
	m, err := s.image("rgb_to_bgr")
	if err != nil {
		return err
	}
	if m.C == 3 {
		for i := 0; i < len(m.Pix); i += 3 {
			m.Pix[i], m.Pix[i+2] = m.Pix[i+2], m.Pix[i]
		}
	}
	return nil
}

// colorJitter is torchvision's ColorJitter: a random order of the four
// adjustments, each factor uniform in its range (a range of nil is off).
type colorJitter struct {
	ranges [4]*[2]float64 // brightness, contrast, saturation, hue
	args   [4]float64
}

func (o *colorJitter) String() string {
	return fmt.Sprintf("color_jitter(brightness=%s, contrast=%s, saturation=%s, hue=%s)",
		fmtFloat(o.args[0]), fmtFloat(o.args[1]), fmtFloat(o.args[2]), fmtFloat(o.args[3]))
}

func (o *colorJitter) apply(s *sample) error {
	m, err := s.image("color_jitter")
	if err != nil {
		return err
	}
	order := s.rng.Perm(4)
	var f [4]float64
	for i, r := range o.ranges {
		if r != nil {
			f[i] = s.rng.Uniform(r[0], r[1])
		}
	}
	for _, i := range order {
		if o.ranges[i] == nil {
			continue
		}
		switch i {
		case 0:
			m = imgproc.Brightness(m, f[i])
		case 1:
			m = imgproc.Contrast(m, f[i])
		case 2:
			m = imgproc.Saturation(m, f[i])
		case 3:
			m = imgproc.Hue(m, f[i])
		}
	}
	s.img = m
	return nil
}

// ---------------------------------------------------------------- AutoAugment

type aaOp struct {
	name string
	p    float64
	mag  int // magnitude bin, -1 for none
}

// imageNetPolicy is AutoAugment's ImageNet policy as torchvision 0.14
// lists it: 25 pairs of (operation, probability, magnitude bin).
var imageNetPolicy = [25][2]aaOp{
	{{"Posterize", 0.4, 8}, {"Rotate", 0.6, 9}},
	{{"Solarize", 0.6, 5}, {"AutoContrast", 0.6, -1}},
	{{"Equalize", 0.8, -1}, {"Equalize", 0.6, -1}},
	{{"Posterize", 0.6, 7}, {"Posterize", 0.6, 6}},
	{{"Equalize", 0.4, -1}, {"Solarize", 0.2, 4}},
	{{"Equalize", 0.4, -1}, {"Rotate", 0.8, 8}},
	{{"Solarize", 0.6, 3}, {"Equalize", 0.6, -1}},
	{{"Posterize", 0.8, 5}, {"Equalize", 1.0, -1}},
	{{"Rotate", 0.2, 3}, {"Solarize", 0.6, 8}},
	{{"Equalize", 0.6, -1}, {"Posterize", 0.4, 6}},
	{{"Rotate", 0.8, 8}, {"Color", 0.4, 0}},
	{{"Rotate", 0.4, 9}, {"Equalize", 0.6, -1}},
	{{"Equalize", 0.0, -1}, {"Equalize", 0.8, -1}},
	{{"Invert", 0.6, -1}, {"Equalize", 1.0, -1}},
	{{"Color", 0.6, 4}, {"Contrast", 1.0, 8}},
	{{"Rotate", 0.8, 8}, {"Color", 1.0, 2}},
	{{"Color", 0.8, 8}, {"Solarize", 0.8, 7}},
	{{"Sharpness", 0.4, 7}, {"Invert", 0.6, -1}},
	{{"ShearX", 0.6, 5}, {"Equalize", 1.0, -1}},
	{{"Color", 0.4, 0}, {"Equalize", 0.6, -1}},
	{{"Equalize", 0.4, -1}, {"Solarize", 0.2, 4}},
	{{"Solarize", 0.6, 5}, {"AutoContrast", 0.6, -1}},
	{{"Invert", 0.6, -1}, {"Equalize", 1.0, -1}},
	{{"Color", 0.6, 4}, {"Contrast", 1.0, 8}},
	{{"Equalize", 0.8, -1}, {"Equalize", 0.6, -1}},
}

// Magnitude bins of torchvision's augmentation space with 10 bins: the
// float32 values of its torch.linspace tables, so thresholds match exactly.
var (
	linspace30  = [10]float64{0, 3.3333332538604736, 6.666666507720947, 10, 13.333333015441895, 16.666667938232422, 20, 23.33333396911621, 26.66666603088379, 30}
	linspace09  = [10]float64{0, 0.09999999403953552, 0.19999998807907104, 0.29999998211860657, 0.3999999761581421, 0.5, 0.6000000238418579, 0.699999988079071, 0.7999999523162842, 0.8999999761581421}
	linspace03  = [10]float64{0, 0.03333333507180214, 0.06666667014360428, 0.10000000894069672, 0.13333334028720856, 0.1666666716337204, 0.20000000298023224, 0.23333334922790527, 0.2666666805744171, 0.30000001192092896}
	solarizeBin = [10]float64{255, 226.6666717529297, 198.3333282470703, 170, 141.66665649414062, 113.33333587646484, 85, 56.66666793823242, 28.33333396911621, 0}
	posterizeB  = [10]int{8, 8, 7, 7, 6, 6, 5, 5, 4, 4}
)

type autoAugment struct{}

func (autoAugment) String() string { return "auto_augment()" }

func (autoAugment) apply(s *sample) error {
	m, err := s.image("auto_augment")
	if err != nil {
		return err
	}
	policy := imageNetPolicy[s.rng.Intn(len(imageNetPolicy))]
	probs := [2]float64{s.rng.Float64(), s.rng.Float64()}
	signs := [2]int{s.rng.Intn(2), s.rng.Intn(2)}
	for i, o := range policy {
		if probs[i] > o.p {
			continue
		}
		sign := 1.0
		if signs[i] == 0 {
			sign = -1
		}
		switch o.name {
		case "ShearX":
			m = imgproc.ShearX(m, sign*linspace03[o.mag])
		case "Rotate":
			m = imgproc.Rotate(m, sign*linspace30[o.mag])
		case "Color":
			m = imgproc.Saturation(m, 1+sign*linspace09[o.mag])
		case "Contrast":
			m = imgproc.Contrast(m, 1+sign*linspace09[o.mag])
		case "Sharpness":
			m = imgproc.Sharpness(m, 1+sign*linspace09[o.mag])
		case "Posterize":
			m = imgproc.Posterize(m, posterizeB[o.mag])
		case "Solarize":
			m = imgproc.Solarize(m, solarizeBin[o.mag])
		case "AutoContrast":
			m = imgproc.AutoContrast(m)
		case "Equalize":
			m = imgproc.Equalize(m)
		case "Invert":
			m = imgproc.Invert(m)
		}
	}
	s.img = m
	return nil
}

// ---------------------------------------------------------------- printing

func sizeString(h, w int) string {
	if h == w {
		return fmt.Sprint(h)
	}
	return fmt.Sprintf("(%d, %d)", h, w)
}

func fmtFloat(f float64) string {
	s := fmt.Sprintf("%.4g", f)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s
}

func floatList(v []float64) string {
	parts := make([]string, len(v))
	for i, f := range v {
		parts[i] = fmtFloat(f)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

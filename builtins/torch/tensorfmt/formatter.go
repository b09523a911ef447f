package tensorfmt

import (
	"math"
	"strconv"
	"strings"
)

// formatter is _Formatter: it picks one notation and one width for all the
// elements so that columns line up.
type formatter struct {
	floating bool
	intMode  bool
	sciMode  bool
	maxWidth int
	prec     int
}

// newFormatter inspects the elements at idx (all of them, or the summarised
// ones) the way _Formatter.__init__ does.
func (p *printer) newFormatter(idx []int64) formatter {
	f := formatter{floating: p.kind == kindFloat, intMode: true, maxWidth: 1, prec: p.po.precision}
	switch p.kind {
	case kindInt:
		for _, i := range idx {
			f.maxWidth = max(f.maxWidth, len(strconv.FormatInt(p.ints[i], 10)))
		}
		return f
	case kindBool:
		for _, i := range idx {
			f.maxWidth = max(f.maxWidth, len(boolString(p.bools[i])))
		}
		return f
	}

	var vals []float64
	for _, i := range idx {
		v := p.floats[i]
		if v != 0 && !math.IsNaN(v) && !math.IsInf(v, 0) {
			vals = append(vals, v)
		}
	}
	if len(vals) == 0 {
		// PyTorch returns before applying the sci_mode print option here, so
		// a forced sci_mode does not reach all-zero or non-finite tensors.
		return f
	}
	lo, hi := math.Inf(1), 0.0
	for _, v := range vals {
		a := math.Abs(v)
		lo = math.Min(lo, a)
		hi = math.Max(hi, a)
		if v != math.Ceil(v) {
			f.intMode = false
		}
	}
	if f.intMode {
		if hi/lo > 1000 || hi > 1e8 {
			f.sciMode = true
			for _, v := range vals {
				f.maxWidth = max(f.maxWidth, len(formatE(v, f.prec)))
			}
		} else {
			// One more for the "." that marks the tensor as floating.
			for _, v := range vals {
				f.maxWidth = max(f.maxWidth, len(formatF(v, 0))+1)
			}
		}
	} else {
		if hi/lo > 1000 || hi > 1e8 || lo < 1e-4 {
			f.sciMode = true
			for _, v := range vals {
				f.maxWidth = max(f.maxWidth, len(formatE(v, f.prec)))
			}
		} else {
			for _, v := range vals {
				f.maxWidth = max(f.maxWidth, len(formatF(v, f.prec)))
			}
		}
	}
	switch p.po.sciMode {
	case SciOn:
		f.sciMode = true
	case SciOff:
		f.sciMode = false
	}
	return f
}

// format is _Formatter.format for a floating value.
func (f *formatter) format(v float64) string {
	var s string
	switch {
	case f.sciMode:
		s = formatE(v, f.prec)
	case f.intMode:
		s = formatF(v, 0)
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			s += "."
		}
	default:
		s = formatF(v, f.prec)
	}
	return f.pad(s)
}

// pad right-aligns s in the common width; longer strings (such as -0.
// among positives, which the width scan skips) are left as they are.
func (f *formatter) pad(s string) string {
	if len(s) >= f.maxWidth {
		return s
	}
	return strings.Repeat(" ", f.maxWidth-len(s)) + s
}

// formatF and formatE match Python's "{:.Nf}" and "{:.Ne}": strconv rounds
// the exact binary value half-to-even just as Python does, and only the
// spelling of non-finite values differs. Python drops the sign of NaN.
func formatF(v float64, prec int) string {
	if s, ok := nonFinite(v); ok {
		return s
	}
	return strconv.FormatFloat(v, 'f', prec, 64)
}

func formatE(v float64, prec int) string {
	if s, ok := nonFinite(v); ok {
		return s
	}
	return strconv.FormatFloat(v, 'e', prec, 64)
}

func nonFinite(v float64) (string, bool) {
	switch {
	case math.IsNaN(v):
		return "nan", true
	case math.IsInf(v, 1):
		return "inf", true
	case math.IsInf(v, -1):
		return "-inf", true
	}
	return "", false
}

// roundTo rounds v to what a tensor of dtype stores. PyTorch converts Python
// floats to half types through float32, so half types round twice here too.
func roundTo(dtype string, v float64) float64 {
	switch dtype {
	case "float32":
		return float64(float32(v))
	case "float16":
		return roundHalf(float32(v))
	case "bfloat16":
		return roundBFloat16(float32(v))
	}
	return v
}

// roundHalf rounds to the nearest IEEE binary16 value, ties to even.
func roundHalf(f float32) float64 {
	x := float64(f)
	if math.IsNaN(x) || math.IsInf(x, 0) || x == 0 {
		return x
	}
	a := math.Abs(x)
	// 65520 is halfway between the largest half (65504) and 65536; ties go
	// to the even mantissa, which is the overflow to infinity.
	if a >= 65520 {
		return math.Copysign(math.Inf(1), x)
	}
	_, exp := math.Frexp(a) // a = frac * 2^exp, frac in [0.5, 1)
	e := exp - 1
	if e < -14 {
		e = -14 // subnormals share the smallest normal's quantum
	}
	q := math.Ldexp(1, e-10)
	return math.Copysign(math.RoundToEven(a/q)*q, x)
}

// roundBFloat16 keeps the top 16 bits of the float32, rounding ties to
// even, as c10::BFloat16 does.
func roundBFloat16(f float32) float64 {
	if f != f {
		return math.NaN()
	}
	b := math.Float32bits(f)
	b += 0x7fff + (b>>16)&1
	return float64(math.Float32frombits(b &^ 0xffff))
}

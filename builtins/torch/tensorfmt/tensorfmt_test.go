package tensorfmt

import (
	"math"
	"strings"
	"testing"
)

// Names used by the generated golden table.
var (
	nan  = math.NaN()
	inf  = math.Inf(1)
	negz = math.Copysign(0, -1)
)

type goldenCase struct {
	name  string
	data  Data
	shape []int64
	opts  Options
	want  string
}

// genFloats mirrors gen() in testdata/gen_golden.py: integer arithmetic and
// one multiplication, so Go and Python compute bit-identical values.
func genFloats(n, mul, mod, off int, scale float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = float64((i*mul)%mod-off) * scale
	}
	return out
}

func toInts(f []float64) []int64 {
	out := make([]int64, len(f))
	for i, v := range f {
		out[i] = int64(v)
	}
	return out
}

func TestGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Format(tc.data, tc.shape, tc.opts)
			if err != nil {
				t.Fatalf("Format: %v", err)
			}
			if got != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

func TestInferDType(t *testing.T) {
	tests := []struct {
		name string
		data Data
		want string
	}{
		{"floats", Data{F: []float64{1, 2}}, "tensor([1., 2.])"},
		{"ints", Data{I: []int64{1, 2}}, "tensor([1, 2])"},
		{"bools", Data{B: []bool{true, false}}, "tensor([ True, False])"},
		{"empty ints", Data{I: []int64{}}, "tensor([], dtype=torch.int64)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := int64(max(len(tc.data.F), len(tc.data.I), len(tc.data.B)))
			got, err := Format(tc.data, []int64{n}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name  string
		data  Data
		shape []int64
		opts  Options
		want  string
	}{
		{"unknown dtype", Data{F: []float64{1}}, []int64{1}, Options{DType: "complex64"}, `unsupported dtype "complex64"`},
		{"no data no dtype", Data{}, []int64{0}, Options{}, "no DType"},
		{"count mismatch", Data{F: []float64{1, 2, 3}}, []int64{2, 2}, Options{}, "shape (2, 2) needs 4 elements, got 3"},
		{"wrong kind", Data{F: []float64{1}}, []int64{1}, Options{DType: "int64"}, "shape (1,) needs 1 elements, got 0"},
		{"negative dim", Data{F: []float64{}}, []int64{-1}, Options{}, "negative dimension"},
		{"overflow", Data{F: []float64{}}, []int64{math.MaxInt64, 2, 2}, Options{}, "too many elements"},
		{"negative edgeitems", Data{F: []float64{1}}, []int64{1}, Options{EdgeItems: -1}, "EdgeItems"},
		{"negative linewidth", Data{F: []float64{1}}, []int64{1}, Options{LineWidth: -1}, "LineWidth"},
		{"bad sci mode", Data{F: []float64{1}}, []int64{1}, Options{SciMode: 7}, "SciMode"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Format(tc.data, tc.shape, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestRoundHalf(t *testing.T) {
	tests := []struct {
		in, want float64
	}{
		{0.1, 0.0999755859375},
		{1.0 / 3, 0.333251953125},
		{65504, 65504},
		{65519, 65504},
		{65520, inf},
		{-1e6, -inf},
		{5.960464477539063e-08, 5.960464477539063e-08}, // smallest subnormal
		{2.9802322387695312e-08, 0},                    // half of it: tie to even (zero)
		{4.470348358154297e-08, 5.960464477539063e-08}, // 0.75 of it rounds up
		{1.00048828125, 1},                             // tie between 1 and 1+2^-10 goes to even
		{1.00146484375, 1.001953125},                   // tie between odd and even goes up
	}
	for _, tc := range tests {
		if got := roundHalf(float32(tc.in)); got != tc.want {
			t.Errorf("roundHalf(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestRoundBFloat16(t *testing.T) {
	tests := []struct {
		in, want float64
	}{
		{0.1, 0.10009765625},
		{1.0 / 3, 0.333984375},
		{1.00390625, 1},
		{1.01171875, 1.015625},
		{3.4e38, inf},
		{-2, -2},
	}
	for _, tc := range tests {
		if got := roundBFloat16(float32(tc.in)); got != tc.want {
			t.Errorf("roundBFloat16(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
	if got := roundBFloat16(float32(math.NaN())); !math.IsNaN(got) {
		t.Errorf("roundBFloat16(NaN) = %v", got)
	}
}

func TestShapeString(t *testing.T) {
	tests := []struct {
		shape []int64
		want  string
	}{
		{nil, "()"},
		{[]int64{0}, "(0,)"},
		{[]int64{0, 3}, "(0, 3)"},
		{[]int64{2, 0, 4}, "(2, 0, 4)"},
	}
	for _, tc := range tests {
		if got := shapeString(tc.shape); got != tc.want {
			t.Errorf("shapeString(%v) = %q, want %q", tc.shape, got, tc.want)
		}
	}
}

// FormatEdges must print exactly what Format prints from the full data.
func TestFormatEdgesMatchesFormat(t *testing.T) {
	for _, shape := range [][]int64{{2000}, {40, 50}, {7, 9, 31}, {3, 1000}, {1001, 1}, {2, 3, 4, 5, 9}} {
		numel := int64(1)
		for _, d := range shape {
			numel *= d
		}
		full := make([]float64, numel)
		for i := range full {
			full[i] = float64(i%97) * 0.37
		}
		want, err := Format(Data{F: full}, shape, Options{})
		if err != nil {
			t.Fatal(err)
		}
		// Build the edge data by walking the full tensor.
		es := EdgeShape(shape, Options{})
		var edge []float64
		var walk func(dim int, off int64, stride []int64)
		strides := make([]int64, len(shape))
		st := int64(1)
		for i := len(shape) - 1; i >= 0; i-- {
			strides[i] = st
			st *= shape[i]
		}
		walk = func(dim int, off int64, stride []int64) {
			if dim == len(shape) {
				edge = append(edge, full[off])
				return
			}
			n := shape[dim]
			for i := int64(0); i < n; i++ {
				if n > es[dim] && i >= es[dim]/2 && i < n-es[dim]/2 {
					continue
				}
				walk(dim+1, off+i*stride[dim], stride)
			}
		}
		walk(0, 0, strides)
		got, err := FormatEdges(Data{F: edge}, shape, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("shape %v:\n got %s\nwant %s", shape, got, want)
		}
	}
	if _, err := FormatEdges(Data{F: make([]float64, 4)}, []int64{2, 2}, Options{}); err == nil {
		t.Error("FormatEdges of a small tensor: no error")
	}
}

package plot

import (
	"fmt"
	"math"
	"slices"
	"sort"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/internal/page"
	"github.com/dadash/dadash/lang"
)

// Conversions from Starlark arguments to plain Go slices. Tensors come in
// through lang.Numeric, so this package needs neither cgo nor builtins/torch.

// Numbers flattens v, a number, a (nested) list or tuple of numbers, or a
// lang.Numeric value such as a tensor, into row-major data and a shape.
// None counts as NaN (charts leave a gap).
func Numbers(v starlark.Value) ([]float64, []int64, error) {
	switch v := v.(type) {
	case lang.Numeric:
		return v.NumericData()
	case starlark.Int, starlark.Float:
		f, _ := starlark.AsFloat(v)
		return []float64{f}, nil, nil
	case starlark.Bool:
		return []float64{b2f(bool(v))}, nil, nil
	case starlark.NoneType:
		return []float64{math.NaN()}, nil, nil // a gap, as NaN: an epoch without evaluation
	case starlark.Indexable:
		if _, isStr := v.(starlark.String); isStr {
			break
		}
		n := v.Len()
		data := make([]float64, 0, n)
		var inner []int64
		for i := 0; i < n; i++ {
			d, s, err := Numbers(v.Index(i))
			if err != nil {
				return nil, nil, err
			}
			if i > 0 && !slices.Equal(s, inner) {
				return nil, nil, fmt.Errorf("ragged list: element %d has shape %v, element 0 has %v", i, s, inner)
			}
			inner = s
			data = append(data, d...)
		}
		return data, append([]int64{int64(n)}, inner...), nil
	}
	return nil, nil, fmt.Errorf("want numbers (a list or a tensor), got %s", v.Type())
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Vector converts a 1-D sequence of numbers (a column or row of a 2-D
// tensor, shape (N, 1) or (1, N), also counts).
func Vector(v starlark.Value) ([]float64, error) {
	d, s, err := Numbers(v)
	if err != nil {
		return nil, err
	}
	if len(s) == 1 || (len(s) == 2 && (s[0] == 1 || s[1] == 1)) {
		return d, nil
	}
	return nil, fmt.Errorf("want a 1-D sequence of numbers, got shape %v", s)
}

// Matrix converts a 2-D array of numbers into rows.
func Matrix(v starlark.Value) ([][]float64, error) {
	d, s, err := Numbers(v)
	if err != nil {
		return nil, err
	}
	if len(s) != 2 {
		return nil, fmt.Errorf("want a 2-D matrix (a list of rows or a 2-D tensor), got shape %v", s)
	}
	rows := make([][]float64, s[0])
	for i := range rows {
		rows[i] = d[int64(i)*s[1] : int64(i+1)*s[1]]
	}
	return rows, nil
}

// Ints converts a 1-D sequence of whole numbers (labels: a list of ints or
// an integer tensor).
func Ints(v starlark.Value) ([]int, error) {
	d, err := Vector(v)
	if err != nil {
		return nil, err
	}
	out := make([]int, len(d))
	for i, f := range d {
		if f != math.Trunc(f) || math.Abs(f) > 1<<53 {
			return nil, fmt.Errorf("element %d is %v, want a whole number", i, f)
		}
		out[i] = int(f)
	}
	return out, nil
}

// Strings converts a list or tuple of strings.
func Strings(v starlark.Value) ([]string, error) {
	seq, ok := v.(starlark.Indexable)
	if !ok {
		return nil, fmt.Errorf("want a list of strings, got %s", v.Type())
	}
	if _, isStr := v.(starlark.String); isStr {
		return nil, fmt.Errorf("want a list of strings, got a single string")
	}
	out := make([]string, seq.Len())
	for i := range out {
		s, ok := starlark.AsString(seq.Index(i))
		if !ok {
			return nil, fmt.Errorf("element %d is %s, want a string", i, seq.Index(i).Type())
		}
		out[i] = s
	}
	return out, nil
}

// Labels converts class labels: whole numbers (with optional class names),
// or strings, which are numbered in sorted order and become the names.
func Labels(v starlark.Value, classNames []string) ([]int, []string, error) {
	if seq, ok := v.(starlark.Indexable); ok && seq.Len() > 0 {
		if _, isStr := seq.Index(0).(starlark.String); isStr {
			names, err := Strings(v)
			if err != nil {
				return nil, nil, err
			}
			uniq := map[string]int{}
			for _, n := range names {
				uniq[n] = 0
			}
			sorted := make([]string, 0, len(uniq))
			for n := range uniq {
				sorted = append(sorted, n)
			}
			sort.Strings(sorted)
			for i, n := range sorted {
				uniq[n] = i
			}
			labels := make([]int, len(names))
			for i, n := range names {
				labels[i] = uniq[n]
			}
			return labels, sorted, nil
		}
	}
	labels, err := Ints(v)
	return labels, classNames, err
}

// Images converts thumbnails: a list of strings (data URIs or image
// files; "" for none), or a batch of images as numbers (a tensor of shape
// (N, H, W), (N, C, H, W) or (N, H, W, C)), encoded as PNG data URIs.
func Images(v starlark.Value) ([]string, error) {
	if seq, ok := v.(starlark.Indexable); ok {
		if _, isStr := v.(starlark.String); !isStr && (seq.Len() == 0 || isString(seq.Index(0))) {
			return Strings(v)
		}
	}
	d, s, err := Numbers(v)
	if err != nil {
		return nil, fmt.Errorf("want a list of image data URIs or files, or a tensor of images: %w", err)
	}
	return page.BatchPNG(d, s)
}

func isString(v starlark.Value) bool { _, ok := v.(starlark.String); return ok }

// floatOrNone reads an optional float argument.
func floatOrNone(v starlark.Value, what string) (*float64, error) {
	if v == nil || v == starlark.None {
		return nil, nil
	}
	f, ok := starlark.AsFloat(v)
	if !ok {
		return nil, fmt.Errorf("%s must be a number, got %s", what, v.Type())
	}
	return &f, nil
}

// boolOrNone reads an optional bool argument.
func boolOrNone(v starlark.Value, what string) (*bool, error) {
	if v == nil || v == starlark.None {
		return nil, nil
	}
	b, ok := v.(starlark.Bool)
	if !ok {
		return nil, fmt.Errorf("%s must be True, False or None, got %s", what, v.Type())
	}
	bb := bool(b)
	return &bb, nil
}

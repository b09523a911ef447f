package data

import (
	"fmt"

	"go.starlark.net/starlark"
)

// intsArg reads a sequence of ints (a list, tuple or range).
func intsArg(fn, name string, v starlark.Value) ([]int, error) {
	it, ok := v.(starlark.Iterable)
	if !ok {
		return nil, fmt.Errorf("%s: %s must be a list of ints, got %s", fn, name, v.Type())
	}
	iter := it.Iterate()
	defer iter.Done()
	var out []int
	var e starlark.Value
	for iter.Next(&e) {
		i, err := starlark.AsInt32(e)
		if err != nil {
			return nil, fmt.Errorf("%s: %s must be a list of ints, got an element of type %s", fn, name, e.Type())
		}
		out = append(out, i)
	}
	return out, nil
}

// floatsArg reads a sequence of numbers.
func floatsArg(fn, name string, v starlark.Value) ([]float64, error) {
	seq, ok := v.(starlark.Indexable)
	if !ok {
		if f, ok := starlark.AsFloat(v); ok {
			return []float64{f}, nil
		}
		return nil, fmt.Errorf("%s: %s must be a number or a list of numbers, got %s", fn, name, v.Type())
	}
	out := make([]float64, seq.Len())
	for i := range out {
		f, ok := starlark.AsFloat(seq.Index(i))
		if !ok {
			return nil, fmt.Errorf("%s: %s must be numbers, got %s at position %d", fn, name, seq.Index(i).Type(), i)
		}
		out[i] = f
	}
	return out, nil
}

// pairArg reads two numbers.
func pairArg(fn, name string, v starlark.Value) ([2]float64, error) {
	f, err := floatsArg(fn, name, v)
	if err != nil {
		return [2]float64{}, err
	}
	if len(f) != 2 {
		return [2]float64{}, fmt.Errorf("%s: %s must be a pair (a, b), got %d values", fn, name, len(f))
	}
	return [2]float64{f[0], f[1]}, nil
}

// sizeArg reads an image size: an int n (n x n, or the shorter side where
// the caller says so) or (h, w), as torchvision takes it.
func sizeArg(fn string, v starlark.Value) (h, w int, square bool, err error) {
	if i, e := starlark.AsInt32(v); e == nil {
		if i <= 0 {
			return 0, 0, false, fmt.Errorf("%s: size must be positive, got %d", fn, i)
		}
		return i, i, true, nil
	}
	seq, ok := v.(starlark.Indexable)
	if !ok || seq.Len() < 1 || seq.Len() > 2 {
		return 0, 0, false, fmt.Errorf("%s: size must be an int or (h, w), got %s", fn, v)
	}
	vals := make([]int, seq.Len())
	for i := range vals {
		x, e := starlark.AsInt32(seq.Index(i))
		if e != nil || x <= 0 {
			return 0, 0, false, fmt.Errorf("%s: size must be an int or (h, w) of positive ints, got %s", fn, v)
		}
		vals[i] = x
	}
	if len(vals) == 1 {
		return vals[0], vals[0], true, nil
	}
	return vals[0], vals[1], false, nil
}

// number unpacks an int or a float (starlark.UnpackArgs wants a Float for
// a *float64, but size-like settings such as scale=255 are written as ints).
type number float64

func (n *number) Unpack(v starlark.Value) error {
	f, ok := starlark.AsFloat(v)
	if !ok {
		return fmt.Errorf("got %s, want a number", v.Type())
	}
	*n = number(f)
	return nil
}

package manifold

import (
	"fmt"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/dadash/dadash/lang"
)

// Array is a read-only 2-D float64 matrix (row-major): what manifold's
// functions return for embeddings and components. This package cannot
// import torch (it builds without cgo), so instead of a tensor it returns a
// value that any tensor-aware code can read through lang.Numeric, that
// iterates and indexes by rows like a list of rows, and that tolist()
// turns into plain nested lists.
type Array struct {
	data       []float64
	rows, cols int
}

var (
	_ lang.Numeric        = (*Array)(nil)
	_ starlark.Indexable  = (*Array)(nil)
	_ starlark.HasAttrs   = (*Array)(nil)
	_ starlark.Sequence   = (*Array)(nil)
	_ lang.Documented     = (*Array)(nil)
	_ starlark.Comparable = (*Array)(nil)
)

// NewArray wraps data (rows×cols, row-major; not copied).
func NewArray(data []float64, rows, cols int) *Array {
	return &Array{data: data, rows: rows, cols: cols}
}

// Data returns the row-major elements (not a copy) and the shape.
func (a *Array) Data() ([]float64, int, int) { return a.data, a.rows, a.cols }

func (a *Array) Type() string          { return "manifold.array" }
func (a *Array) Freeze()               {}
func (a *Array) Truth() starlark.Bool  { return a.rows > 0 }
func (a *Array) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: manifold.array") }
func (a *Array) Len() int              { return a.rows }
func (a *Array) Doc() string           { return docArray }

// String shows up to three rows from each end, as numpy does for big
// arrays, so printing a result never floods the terminal.
func (a *Array) String() string {
	var b strings.Builder
	b.WriteString("array([")
	row := func(i int) {
		b.WriteByte('[')
		for j := 0; j < a.cols; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			if j == 3 && a.cols > 6 {
				b.WriteString("...")
				j = a.cols - 3
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%.6g", a.data[i*a.cols+j])
		}
		b.WriteByte(']')
	}
	for i := 0; i < a.rows; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		if i == 3 && a.rows > 6 {
			b.WriteString("..., ")
			i = a.rows - 3
		}
		row(i)
	}
	fmt.Fprintf(&b, "], shape=(%d, %d))", a.rows, a.cols)
	return b.String()
}

// NumericData implements lang.Numeric (a copy, so callers may keep it).
func (a *Array) NumericData() ([]float64, []int64, error) {
	return append([]float64(nil), a.data...), []int64{int64(a.rows), int64(a.cols)}, nil
}

// Index returns row i as a list of floats.
func (a *Array) Index(i int) starlark.Value { return a.row(i) }

func (a *Array) row(i int) *starlark.List {
	vals := make([]starlark.Value, a.cols)
	for j := range vals {
		vals[j] = starlark.Float(a.data[i*a.cols+j])
	}
	return starlark.NewList(vals)
}

func (a *Array) Iterate() starlark.Iterator { return &arrayIter{a: a} }

type arrayIter struct {
	a *Array
	i int
}

func (it *arrayIter) Next(p *starlark.Value) bool {
	if it.i >= it.a.rows {
		return false
	}
	*p = it.a.row(it.i)
	it.i++
	return true
}
func (it *arrayIter) Done() {}

// CompareSameType: arrays are equal when their shapes and elements are.
func (a *Array) CompareSameType(op syntax.Token, y starlark.Value, depth int) (bool, error) {
	b := y.(*Array)
	eq := a.rows == b.rows && a.cols == b.cols
	for i := 0; eq && i < len(a.data); i++ {
		eq = a.data[i] == b.data[i]
	}
	switch op {
	case syntax.EQL:
		return eq, nil
	case syntax.NEQ:
		return !eq, nil
	}
	return false, fmt.Errorf("manifold.array does not support ordering")
}

func (a *Array) Attr(name string) (starlark.Value, error) {
	switch name {
	case "shape":
		return starlark.Tuple{starlark.MakeInt(a.rows), starlark.MakeInt(a.cols)}, nil
	case "ndim":
		return starlark.MakeInt(2), nil
	case "tolist":
		return starlark.NewBuiltin("array.tolist", lang.Safe(func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			if err := starlark.UnpackArgs("array.tolist", args, kwargs); err != nil {
				return nil, err
			}
			rows := make([]starlark.Value, a.rows)
			for i := range rows {
				rows[i] = a.row(i)
			}
			return starlark.NewList(rows), nil
		})), nil
	}
	return nil, nil
}

func (a *Array) AttrNames() []string { return []string{"ndim", "shape", "tolist"} }

const docArray = `manifold.array: a read-only 2-D float64 matrix, what manifold's functions return.

    e.shape        (rows, columns)
    e.tolist()     nested lists of floats
    e[i]           row i as a list; len(e) rows; for row in e: ...
Tensor-aware code reads it through lang.Numeric (assert.allclose does).`

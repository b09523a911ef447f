package aten

/*
#include <stdlib.h>
#include <string.h>
#include "ext.h"
*/
import "C"

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"unsafe"
)

// Op is an operator name ("aten::sum") resolved to all its overloads.
type Op struct {
	Name string
	h    C.dd_op
	disp *C.char
}

var (
	opsMu sync.Mutex
	ops   = map[string]*Op{}
)

// LookupOp resolves a qualified operator name once; later calls are a map hit.
func LookupOp(qualname string) (*Op, error) {
	opsMu.Lock()
	defer opsMu.Unlock()
	if op, ok := ops[qualname]; ok {
		return op, nil
	}
	cs := C.CString(qualname)
	defer C.free(unsafe.Pointer(cs))
	var h C.dd_op
	if err := errorFrom(C.dd_op_lookup(cs, &h)); err != nil {
		return nil, err
	}
	// Errors name the operator as users call it: dadash's own operators
	// (ext_fastops.cc) stand in for aten's of the same name.
	op := &Op{Name: qualname, h: h, disp: C.CString(strings.TrimPrefix(strings.TrimPrefix(qualname, "aten::"), "dadash::"))}
	ops[qualname] = op
	return op, nil
}

// OpExists reports whether libtorch has the operator.
func OpExists(qualname string) bool {
	_, err := LookupOp(qualname)
	return err == nil
}

// Schemas lists the operator's signatures, one per line.
func (op *Op) Schemas() string {
	s := C.dd_op_schemas(op.h)
	if s == nil {
		return ""
	}
	defer C.dd_free(unsafe.Pointer(s))
	return C.GoString(s)
}

// ArgKind is the kind of an operator argument (match ext.h).
type ArgKind int32

// Argument kinds.
const (
	ArgNone ArgKind = iota
	ArgTensor
	ArgInt
	ArgFloat
	ArgBool
	ArgStr
	ArgInts
	ArgFloats
	ArgTensors
	ArgDType
	ArgDevice
)

// Arg is one argument of an operator call; Name is "" for positional ones.
type Arg struct {
	Name    string
	Kind    ArgKind
	I       int64
	F       float64
	S       string
	T       Tensor
	Ints    []int64
	Floats  []float64
	Tensors []Tensor // undefined entries pass None (Tensor?[])
}

// Convenience constructors.
func T(t Tensor) Arg  { return Arg{Kind: ArgTensor, T: t} }
func I(i int64) Arg   { return Arg{Kind: ArgInt, I: i} }
func F(f float64) Arg { return Arg{Kind: ArgFloat, F: f} }
func B(b bool) Arg {
	a := Arg{Kind: ArgBool}
	if b {
		a.I = 1
	}
	return a
}
func S(s string) Arg            { return Arg{Kind: ArgStr, S: s} }
func Is(v ...int64) Arg         { return Arg{Kind: ArgInts, Ints: v} }
func Fs(v ...float64) Arg       { return Arg{Kind: ArgFloats, Floats: v} }
func Ts(v ...Tensor) Arg        { return Arg{Kind: ArgTensors, Tensors: v} }
func D(d DType) Arg             { return Arg{Kind: ArgDType, I: int64(d)} }
func None() Arg                 { return Arg{Kind: ArgNone} }
func KW(name string, a Arg) Arg { a.Name = name; return a }

// RetKind is the kind of one result.
type RetKind int32

// Result kinds.
const (
	RetNone RetKind = iota
	RetTensor
	RetInt
	RetFloat
	RetBool
	RetStr
	RetList
)

// Ret is one result of an operator call. Name is the schema's name for the
// result (e.g. "values", "indices") when it has one.
type Ret struct {
	Kind RetKind
	Name string
	I    int64
	F    float64
	S    string
	T    Tensor
	List []Tensor
}

// arena is C memory for one call's arguments: Go memory holding pointers may
// not be passed to C, so everything the C side reads lives here.
type arena struct {
	base  unsafe.Pointer
	size  uintptr
	off   uintptr
	extra []unsafe.Pointer
}

var arenas = sync.Pool{New: func() any {
	return &arena{base: C.malloc(4096), size: 4096}
}}

func (a *arena) alloc(n uintptr) unsafe.Pointer {
	n = (n + 7) &^ 7
	if a.off+n > a.size {
		// Rare: a call with very long lists. Fall back to a one-off block
		// that the arena frees on reset.
		p := C.malloc(C.size_t(n))
		a.extra = append(a.extra, p)
		return p
	}
	p := unsafe.Add(a.base, a.off)
	a.off += n
	return p
}

func (a *arena) cstr(s string) *C.char {
	p := a.alloc(uintptr(len(s) + 1))
	b := unsafe.Slice((*byte)(p), len(s)+1)
	copy(b, s)
	b[len(s)] = 0
	return (*C.char)(p)
}

func (a *arena) reset() {
	for _, p := range a.extra {
		C.free(p)
	}
	a.extra = a.extra[:0]
	a.off = 0
}

// Call runs the operator on the arguments, choosing the overload that
// matches them, and returns its results.
func (op *Op) Call(args ...Arg) ([]Ret, error) { return op.CallBuf(nil, args...) }

// CallBuf is Call appending the results to buf, so that a caller with a
// small array on its stack allocates no result slice.
func (op *Op) CallBuf(buf []Ret, args ...Arg) ([]Ret, error) {
	ar := arenas.Get().(*arena)
	defer func() { ar.reset(); arenas.Put(ar) }()
	var cargs *C.dd_arg
	if len(args) > 0 {
		cargs = (*C.dd_arg)(ar.alloc(uintptr(len(args)) * unsafe.Sizeof(C.dd_arg{})))
		arr := unsafe.Slice(cargs, len(args))
		for k := range args {
			a := &args[k]
			c := &arr[k]
			*c = C.dd_arg{}
			if a.Name != "" {
				c.name = ar.cstr(a.Name)
			}
			c.kind = C.int32_t(a.Kind)
			switch a.Kind {
			case ArgTensor:
				if !a.T.Defined() {
					c.kind = C.int32_t(ArgNone)
				} else {
					c.t = a.T.h()
				}
			case ArgInt, ArgBool, ArgDType:
				c.i = C.int64_t(a.I)
			case ArgFloat:
				c.f = C.double(a.F)
			case ArgStr, ArgDevice:
				c.s = ar.cstr(a.S)
			case ArgInts:
				c.n = C.int64_t(len(a.Ints))
				if len(a.Ints) > 0 {
					p := ar.alloc(uintptr(len(a.Ints)) * 8)
					copy(unsafe.Slice((*int64)(p), len(a.Ints)), a.Ints)
					c.ints = (*C.int64_t)(p)
				}
			case ArgFloats:
				c.n = C.int64_t(len(a.Floats))
				if len(a.Floats) > 0 {
					p := ar.alloc(uintptr(len(a.Floats)) * 8)
					copy(unsafe.Slice((*float64)(p), len(a.Floats)), a.Floats)
					c.floats = (*C.double)(p)
				}
			case ArgTensors:
				c.n = C.int64_t(len(a.Tensors))
				if len(a.Tensors) > 0 {
					p := ar.alloc(uintptr(len(a.Tensors)) * unsafe.Sizeof(uintptr(0)))
					hs := unsafe.Slice((*C.dd_tensor)(p), len(a.Tensors))
					for j, t := range a.Tensors {
						if t.Defined() {
							hs[j] = t.h()
						} else {
							hs[j] = nil
						}
					}
					c.tensors = (*C.dd_tensor)(p)
				}
			}
		}
	}
	const retCap = 8
	cbuf := (*C.dd_ret)(ar.alloc(retCap * unsafe.Sizeof(C.dd_ret{})))
	var rets *C.dd_ret
	var nrets C.int64_t
	err := errorFrom(C.dd_call(op.h, op.disp, cargs, C.int64_t(len(args)), cbuf, retCap, &rets, &nrets))
	runtime.KeepAlive(args)
	if err != nil {
		return nil, err
	}
	if rets != cbuf {
		defer C.free(unsafe.Pointer(rets))
	}
	cr := unsafe.Slice(rets, int(nrets))
	out := slices.Grow(buf[:0], len(cr))[:len(cr)]
	for k := range cr {
		out[k] = Ret{}
		c := &cr[k]
		r := &out[k]
		r.Kind = RetKind(c.kind)
		if c.name != nil {
			r.Name = C.GoString(c.name)
		}
		switch r.Kind {
		case RetTensor:
			r.T = wrapSized(c.t, int64(c.nbytes))
		case RetInt, RetBool:
			r.I = int64(c.i)
		case RetFloat:
			r.F = float64(c.f)
		case RetStr:
			r.S = C.GoString(c.s)
			C.free(unsafe.Pointer(c.s))
		case RetList:
			hs := unsafe.Slice(c.list, int(c.n))
			r.List = make([]Tensor, len(hs))
			for j, h := range hs {
				r.List[j] = wrap(h)
			}
			C.free(unsafe.Pointer(c.list))
		}
	}
	return out, nil
}

// Call1 runs an operator that returns one tensor.
func (op *Op) Call1(args ...Arg) (Tensor, error) {
	var rb [1]Ret
	rs, err := op.CallBuf(rb[:0], args...)
	if err != nil {
		return Tensor{}, err
	}
	if len(rs) != 1 || rs[0].Kind != RetTensor {
		return Tensor{}, fmt.Errorf("%s: expected one tensor result, got %d results", op.Name, len(rs))
	}
	return rs[0].T, nil
}

// Run looks up aten::name (or a qualified name such as
// "dadash::max_pool2d") and calls it, returning one tensor. For code in Go
// that uses fixed operators; the lookup is cached.
func Run(name string, args ...Arg) (Tensor, error) {
	q := name
	if !strings.Contains(name, "::") {
		q = "aten::" + name
	}
	op, err := LookupOp(q)
	if err != nil {
		return Tensor{}, err
	}
	t, err := op.Call1(args...)
	if err != nil {
		return Tensor{}, fmt.Errorf("%s: %w", strings.TrimPrefix(name, "dadash::"), err)
	}
	return t, nil
}

// Calc chains operator calls and keeps the first error, so that Go code
// computing a loss reads as its formula; after an error every call returns
// an undefined tensor and Err says what went wrong.
type Calc struct{ Err error }

// Op runs aten::name unless an earlier call failed.
func (c *Calc) Op(name string, args ...Arg) Tensor {
	if c.Err != nil {
		return Tensor{}
	}
	t, err := Run(name, args...)
	if err != nil {
		c.Err = err
	}
	return t
}

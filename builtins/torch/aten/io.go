package aten

/*
#include <stdlib.h>
#include "ext.h"
*/
import "C"

import (
	"runtime"
	"unsafe"
)

// Named is a tensor with a name (state dict entry, module parameter).
type Named struct {
	Name   string
	Tensor Tensor
}

func takeNamed(names **C.char, tensors *C.dd_tensor, n C.int64_t) []Named {
	out := make([]Named, int(n))
	if n == 0 {
		C.free(unsafe.Pointer(names))
		C.free(unsafe.Pointer(tensors))
		return out
	}
	ns := unsafe.Slice(names, int(n))
	ts := unsafe.Slice(tensors, int(n))
	for i := range out {
		out[i] = Named{C.GoString(ns[i]), wrap(ts[i])}
		C.free(unsafe.Pointer(ns[i]))
	}
	C.free(unsafe.Pointer(names))
	C.free(unsafe.Pointer(tensors))
	return out
}

// cNamed passes names and tensors to C; free releases the C copies.
func cNamed(items []Named) (**C.char, *C.dd_tensor, func()) {
	if len(items) == 0 {
		return nil, nil, func() {}
	}
	names := (**C.char)(C.malloc(C.size_t(len(items)) * C.size_t(unsafe.Sizeof(uintptr(0)))))
	tensors := (*C.dd_tensor)(C.malloc(C.size_t(len(items)) * C.size_t(unsafe.Sizeof(uintptr(0)))))
	ns := unsafe.Slice(names, len(items))
	ts := unsafe.Slice(tensors, len(items))
	for i, it := range items {
		ns[i] = C.CString(it.Name)
		ts[i] = it.Tensor.h()
	}
	return names, tensors, func() {
		for i := range items {
			C.free(unsafe.Pointer(ns[i]))
		}
		C.free(unsafe.Pointer(names))
		C.free(unsafe.Pointer(tensors))
		runtime.KeepAlive(items)
	}
}

// PickleSave writes name -> tensor as torch.save does (readable by
// torch.load in Python). Not atomic: callers write to a temporary path.
func PickleSave(path string, items []Named) error {
	cp := C.CString(path)
	defer C.free(unsafe.Pointer(cp))
	names, tensors, free := cNamed(items)
	defer free()
	return errorFrom(C.dd_pickle_save(cp, (**C.char)(unsafe.Pointer(names)), tensors, C.int64_t(len(items))))
}

// JIT is a TorchScript module.
type JIT struct{ h C.dd_jit }

// JITLoad reads a module saved with torch.jit.save.
func JITLoad(path string) (*JIT, error) {
	cp := C.CString(path)
	defer C.free(unsafe.Pointer(cp))
	var h C.dd_jit
	if err := errorFrom(C.dd_jit_load(cp, &h)); err != nil {
		return nil, err
	}
	j := &JIT{h}
	runtime.SetFinalizer(j, func(j *JIT) { C.dd_jit_free(j.h) })
	return j, nil
}

// JITDefine compiles TorchScript source (methods using self.<param>) into a
// module with the given parameters.
func JITDefine(source string, params []Named) (*JIT, error) {
	cs := C.CString(source)
	defer C.free(unsafe.Pointer(cs))
	names, tensors, free := cNamed(params)
	defer free()
	var h C.dd_jit
	if err := errorFrom(C.dd_jit_define(cs, (**C.char)(unsafe.Pointer(names)), tensors, C.int64_t(len(params)), &h)); err != nil {
		return nil, err
	}
	j := &JIT{h}
	runtime.SetFinalizer(j, func(j *JIT) { C.dd_jit_free(j.h) })
	return j, nil
}

// Save writes the module as torch.jit.save does.
func (j *JIT) Save(path string) error {
	cp := C.CString(path)
	defer C.free(unsafe.Pointer(cp))
	defer runtime.KeepAlive(j)
	return errorFrom(C.dd_jit_save(j.h, cp))
}

// Named lists the module's parameters (or buffers), recursively.
func (j *JIT) Named(buffers bool) ([]Named, error) {
	var names **C.char
	var tensors *C.dd_tensor
	var n C.int64_t
	b := C.int32_t(0)
	if buffers {
		b = 1
	}
	err := errorFrom(C.dd_jit_named(j.h, b, &names, &tensors, &n))
	runtime.KeepAlive(j)
	if err != nil {
		return nil, err
	}
	return takeNamed(names, tensors, n), nil
}

// Train sets the module's training mode.
func (j *JIT) Train(on bool) error {
	defer runtime.KeepAlive(j)
	return errorFrom(C.dd_jit_train(j.h, cbool(on)))
}

// Forward runs the module's forward on tensors; results are flattened.
func (j *JIT) Forward(inputs []Tensor) ([]Tensor, error) {
	var p *C.dd_tensor
	if len(inputs) > 0 {
		p = (*C.dd_tensor)(C.malloc(C.size_t(len(inputs)) * C.size_t(unsafe.Sizeof(uintptr(0)))))
		defer C.free(unsafe.Pointer(p))
		hs := unsafe.Slice(p, len(inputs))
		for i, t := range inputs {
			hs[i] = t.h()
		}
	}
	var outs *C.dd_tensor
	var n C.int64_t
	err := errorFrom(C.dd_jit_forward(j.h, p, C.int64_t(len(inputs)), &outs, &n))
	runtime.KeepAlive(inputs)
	runtime.KeepAlive(j)
	if err != nil {
		return nil, err
	}
	hs := unsafe.Slice(outs, int(n))
	res := make([]Tensor, len(hs))
	for i, h := range hs {
		res[i] = wrap(h)
	}
	C.free(unsafe.Pointer(outs))
	return res, nil
}

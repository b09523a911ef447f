// Package aten is dadash's Go view of libtorch: gotorch tensor handles plus
// the project's own C++ extension (ext_*.cc), which reaches every aten
// operator through libtorch's dispatcher. Every function returns an error
// instead of panicking; C++ exceptions are caught at the C boundary.
//
// Lifetime: tensors are freed by finalizers (gotorch's), and because the Go
// collector cannot see native memory, the bytes of every new tensor are
// counted and a collection is forced once enough have been allocated since
// the last one. Hot loops in Go may also call Free.
package aten

/*
#cgo CXXFLAGS: -std=c++17 -O2 -Wno-deprecated-declarations
#cgo LDFLAGS: -lcgotorch -lc10 -ltorch -ltorch_cpu -ldl
#include <stdlib.h>
#include "ext.h"
*/
import "C"

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"unsafe"

	"github.com/wangkuiyi/gotorch"
)

// Tensor is a gotorch tensor handle. The zero value is an undefined tensor.
type Tensor struct {
	gotorch.Tensor
}

// Defined reports whether t refers to a tensor.
func (t Tensor) Defined() bool { return t.T != nil && *t.T != nil }

func (t Tensor) h() C.dd_tensor { return C.dd_tensor(*t.T) }

// Handle returns the raw at::Tensor* for other cgo packages of dadash.
func (t Tensor) Handle() unsafe.Pointer { return *t.T }

// FromHandle adopts an at::Tensor* created by another cgo package of dadash.
func FromHandle(p unsafe.Pointer) Tensor { return wrap(C.dd_tensor(p)) }

var (
	pendingBytes atomic.Int64
	gcThreshold  = int64(128 << 20)
)

func init() {
	if v, err := strconv.ParseInt(os.Getenv("DADASH_GC_BYTES"), 10, 64); err == nil && v > 0 {
		gcThreshold = v
	}
}

// wrap takes ownership of a new handle from the extension.
func wrap(h C.dd_tensor) Tensor { return wrapSized(h, int64(C.dd_nbytes(h))) }

// wrapSized is wrap when the storage size is already known.
func wrapSized(h C.dd_tensor, nbytes int64) Tensor {
	p := new(unsafe.Pointer)
	*p = unsafe.Pointer(h)
	gotorch.SetTensorFinalizer(p)
	if pendingBytes.Add(nbytes) > gcThreshold {
		pendingBytes.Store(0)
		runtime.GC()
	}
	return Tensor{gotorch.Tensor{T: p}}
}

// FromGotorch makes a second handle to a gotorch tensor's tensor, so the two
// values have independent lifetimes.
func FromGotorch(t gotorch.Tensor) Tensor {
	h := C.dd_tensor_clone_handle(C.dd_tensor(*t.T))
	runtime.KeepAlive(t)
	return wrap(h)
}

// Free releases the tensor now instead of waiting for the collector. The
// tensor must not be used afterwards.
func (t Tensor) Free() {
	if !t.Defined() {
		return
	}
	runtime.SetFinalizer(t.T, nil)
	C.dd_tensor_free(t.h())
	*t.T = nil
}

// errorFrom converts an error string from the extension and frees it.
func errorFrom(e *C.char) error {
	if e == nil {
		return nil
	}
	s := C.GoString(e)
	C.dd_free(unsafe.Pointer(e))
	return translate(s)
}

// DType is libtorch's c10::ScalarType code.
type DType int32

// The dtypes dadash exposes (c10::ScalarType codes).
const (
	Uint8    DType = 0
	Int8     DType = 1
	Int16    DType = 2
	Int32    DType = 3
	Int64    DType = 4
	Float16  DType = 5
	Float32  DType = 6
	Float64  DType = 7
	Bool     DType = 11
	BFloat16 DType = 15
)

var dtypeNames = map[DType]string{
	Uint8: "uint8", Int8: "int8", Int16: "int16", Int32: "int32", Int64: "int64",
	Float16: "float16", Float32: "float32", Float64: "float64", Bool: "bool", BFloat16: "bfloat16",
}

func (d DType) String() string {
	if s, ok := dtypeNames[d]; ok {
		return s
	}
	return fmt.Sprintf("dtype(%d)", int32(d))
}

// IsFloating reports whether d is a floating-point type.
func (d DType) IsFloating() bool {
	return d == Float16 || d == Float32 || d == Float64 || d == BFloat16
}

// ElemSize is the size of one element in bytes.
func (d DType) ElemSize() int {
	switch d {
	case Uint8, Int8, Bool:
		return 1
	case Int16, Float16, BFloat16:
		return 2
	case Int32, Float32:
		return 4
	}
	return 8
}

// ---------------------------------------------------------------- metadata

// Dim is the number of dimensions.
func (t Tensor) Dim() int { return int(C.dd_dim(t.h())) }

// Shape returns the sizes of every dimension.
func (t Tensor) Shape() []int64 {
	n := t.Dim()
	s := make([]int64, n)
	if n > 0 {
		C.dd_sizes(t.h(), (*C.int64_t)(unsafe.Pointer(&s[0])))
	}
	runtime.KeepAlive(t)
	return s
}

// DType is the element type.
func (t Tensor) DType() DType { d := DType(C.dd_dtype(t.h())); runtime.KeepAlive(t); return d }

// Numel is the number of elements.
func (t Tensor) Numel() int64 { n := int64(C.dd_numel(t.h())); runtime.KeepAlive(t); return n }

// Device returns "cpu" or "cuda:N".
func (t Tensor) Device() string {
	dt, idx := C.dd_device_type(t.h()), C.dd_device_index(t.h())
	runtime.KeepAlive(t)
	switch dt {
	case 0:
		return "cpu"
	case 1:
		if idx < 0 {
			idx = 0
		}
		return fmt.Sprintf("cuda:%d", idx)
	}
	return fmt.Sprintf("device(%d)", dt)
}

// RequiresGrad reports whether autograd records operations on t.
func (t Tensor) RequiresGrad() bool {
	r := C.dd_requires_grad(t.h()) != 0
	runtime.KeepAlive(t)
	return r
}

// IsContiguous reports whether t is dense in row-major order.
func (t Tensor) IsContiguous() bool {
	r := C.dd_is_contiguous(t.h()) != 0
	runtime.KeepAlive(t)
	return r
}

// IsLeaf reports whether t is a leaf of the autograd graph.
func (t Tensor) IsLeaf() bool { r := C.dd_is_leaf(t.h()) != 0; runtime.KeepAlive(t); return r }

// GradFnName is the name of the autograd node that made t, or "".
func (t Tensor) GradFnName() string {
	s := C.dd_grad_fn_name(t.h())
	runtime.KeepAlive(t)
	if s == nil {
		return ""
	}
	defer C.dd_free(unsafe.Pointer(s))
	return C.GoString(s)
}

// SetRequiresGrad switches autograd recording for a leaf tensor.
func (t Tensor) SetRequiresGrad(on bool) error {
	defer runtime.KeepAlive(t)
	return errorFrom(C.dd_set_requires_grad(t.h(), cbool(on)))
}

// Grad returns the accumulated gradient; ok is false when there is none.
func (t Tensor) Grad() (g Tensor, ok bool, err error) {
	var out C.dd_tensor
	if err := errorFrom(C.dd_grad(t.h(), &out)); err != nil {
		return Tensor{}, false, err
	}
	runtime.KeepAlive(t)
	if out == nil {
		return Tensor{}, false, nil
	}
	return wrap(out), true, nil
}

// SetGrad replaces the gradient; an undefined g clears it.
func (t Tensor) SetGrad(g Tensor) error {
	var gh C.dd_tensor
	if g.Defined() {
		gh = g.h()
	}
	err := errorFrom(C.dd_set_grad(t.h(), gh))
	runtime.KeepAlive(t)
	runtime.KeepAlive(g)
	return err
}

// RetainGrad keeps the gradient of a non-leaf tensor.
func (t Tensor) RetainGrad() error {
	defer runtime.KeepAlive(t)
	return errorFrom(C.dd_retain_grad(t.h()))
}

// Backward runs backpropagation from t; grad may be undefined for scalars.
func (t Tensor) Backward(grad Tensor, retainGraph, createGraph bool) error {
	var gh C.dd_tensor
	if grad.Defined() {
		gh = grad.h()
	}
	err := errorFrom(C.dd_backward(t.h(), gh, cbool(retainGraph), cbool(createGraph)))
	runtime.KeepAlive(t)
	runtime.KeepAlive(grad)
	return err
}

// Detach returns a tensor sharing data but outside the autograd graph.
func (t Tensor) Detach() (Tensor, error) {
	var out C.dd_tensor
	if err := errorFrom(C.dd_detach(t.h(), &out)); err != nil {
		return Tensor{}, err
	}
	runtime.KeepAlive(t)
	return wrap(out), nil
}

// GradEnabled reports the calling thread's autograd mode.
func GradEnabled() bool { return C.dd_grad_enabled() != 0 }

// SetGradEnabled sets the calling OS thread's autograd mode. Callers lock the
// goroutine to its thread around a change and its restoration.
func SetGradEnabled(on bool) { C.dd_set_grad_enabled(cbool(on)) }

// NoGrad runs fn with autograd off on the current thread.
func NoGrad(fn func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	prev := GradEnabled()
	SetGradEnabled(false)
	defer SetGradEnabled(prev)
	return fn()
}

func cbool(b bool) C.int32_t {
	if b {
		return 1
	}
	return 0
}

// ---------------------------------------------------------------- data

// FromData copies raw little-endian elements of dtype into a new CPU tensor.
// data must hold exactly numel(shape) elements.
func FromData(data unsafe.Pointer, dtype DType, shape []int64) (Tensor, error) {
	var out C.dd_tensor
	var sp *C.int64_t
	if len(shape) > 0 {
		sp = (*C.int64_t)(unsafe.Pointer(&shape[0]))
	}
	if err := errorFrom(C.dd_from_data(data, C.int32_t(dtype), sp, C.int64_t(len(shape)), &out)); err != nil {
		return Tensor{}, err
	}
	return wrap(out), nil
}

// FromFloat32s makes a float32 tensor of the given shape.
func FromFloat32s(v []float32, shape ...int64) (Tensor, error) {
	if err := checkLen(len(v), shape); err != nil {
		return Tensor{}, err
	}
	return FromData(slicePtr(v), Float32, shape)
}

// FromFloat64s makes a float64 tensor of the given shape.
func FromFloat64s(v []float64, shape ...int64) (Tensor, error) {
	if err := checkLen(len(v), shape); err != nil {
		return Tensor{}, err
	}
	return FromData(slicePtr(v), Float64, shape)
}

// FromInt64s makes an int64 tensor of the given shape.
func FromInt64s(v []int64, shape ...int64) (Tensor, error) {
	if err := checkLen(len(v), shape); err != nil {
		return Tensor{}, err
	}
	return FromData(slicePtr(v), Int64, shape)
}

// FromBools makes a bool tensor of the given shape.
func FromBools(v []bool, shape ...int64) (Tensor, error) {
	if err := checkLen(len(v), shape); err != nil {
		return Tensor{}, err
	}
	return FromData(slicePtr(v), Bool, shape)
}

func slicePtr[E any](v []E) unsafe.Pointer {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Pointer(&v[0])
}

func checkLen(n int, shape []int64) error {
	want := int64(1)
	for _, s := range shape {
		want *= s
	}
	if int64(n) != want {
		return fmt.Errorf("%d values for shape %v (%d elements)", n, shape, want)
	}
	return nil
}

// CopyOut copies t's elements, converted to dtype, into dst (numel elements).
func (t Tensor) CopyOut(dtype DType, dst unsafe.Pointer, nbytes int) error {
	defer runtime.KeepAlive(t)
	return errorFrom(C.dd_copy_out(t.h(), C.int32_t(dtype), dst, C.int64_t(nbytes)))
}

// Float64s returns the elements as float64 in row-major order.
func (t Tensor) Float64s() ([]float64, error) {
	v := make([]float64, t.Numel())
	return v, t.CopyOut(Float64, slicePtr(v), len(v)*8)
}

// Float32s returns the elements as float32 in row-major order.
func (t Tensor) Float32s() ([]float32, error) {
	v := make([]float32, t.Numel())
	return v, t.CopyOut(Float32, slicePtr(v), len(v)*4)
}

// Int64s returns the elements as int64 in row-major order.
func (t Tensor) Int64s() ([]int64, error) {
	v := make([]int64, t.Numel())
	return v, t.CopyOut(Int64, slicePtr(v), len(v)*8)
}

// Bools returns the elements as bool in row-major order.
func (t Tensor) Bools() ([]bool, error) {
	v := make([]bool, t.Numel())
	return v, t.CopyOut(Bool, slicePtr(v), len(v))
}

// To converts dtype and/or device; dtype < 0 keeps it, device "" keeps it.
func (t Tensor) To(dtype DType, device string, copy bool) (Tensor, error) {
	var cdev *C.char
	if device != "" {
		if err := CheckDevice(device); err != nil {
			return Tensor{}, err
		}
		cdev = C.CString(device)
		defer C.free(unsafe.Pointer(cdev))
	}
	var out C.dd_tensor
	if err := errorFrom(C.dd_to(t.h(), C.int32_t(dtype), cdev, cbool(copy), &out)); err != nil {
		return Tensor{}, err
	}
	runtime.KeepAlive(t)
	return wrap(out), nil
}

// ---------------------------------------------------------------- indexing

// IndexKind says what one index item of t[...] is.
type IndexKind int32

// Index item kinds (match ext.h).
const (
	IndexInt IndexKind = iota
	IndexSlice
	IndexEllipsis
	IndexNone
	IndexTensor
)

// IndexItem is one comma-separated part of t[...].
type IndexItem struct {
	Kind              IndexKind
	I                 int64
	Start, Stop, Step int64
	HasStart, HasStop bool
	T                 Tensor
}

func indexItems(items []IndexItem) (unsafe.Pointer, func()) {
	if len(items) == 0 {
		return nil, func() {}
	}
	sz := C.size_t(unsafe.Sizeof(C.dd_index_item{}))
	p := C.calloc(C.size_t(len(items)), sz)
	arr := unsafe.Slice((*C.dd_index_item)(p), len(items))
	for k, it := range items {
		c := &arr[k]
		c.kind = C.int32_t(it.Kind)
		c.i = C.int64_t(it.I)
		c.start, c.stop, c.step = C.int64_t(it.Start), C.int64_t(it.Stop), C.int64_t(it.Step)
		c.has_start, c.has_stop = cbool(it.HasStart), cbool(it.HasStop)
		if it.Kind == IndexTensor {
			c.t = it.T.h()
		}
	}
	return p, func() { C.free(p) }
}

// Index returns t[items].
func (t Tensor) Index(items []IndexItem) (Tensor, error) {
	p, free := indexItems(items)
	defer free()
	var out C.dd_tensor
	err := errorFrom(C.dd_index(t.h(), (*C.dd_index_item)(p), C.int64_t(len(items)), &out))
	runtime.KeepAlive(t)
	runtime.KeepAlive(items)
	if err != nil {
		return Tensor{}, err
	}
	return wrap(out), nil
}

// IndexPut does t[items] = value (a tensor), or = scalar when value is undefined.
func (t Tensor) IndexPut(items []IndexItem, value Tensor, scalar float64) error {
	p, free := indexItems(items)
	defer free()
	var vh C.dd_tensor
	if value.Defined() {
		vh = value.h()
	}
	err := errorFrom(C.dd_index_put(t.h(), (*C.dd_index_item)(p), C.int64_t(len(items)), vh, C.double(scalar)))
	runtime.KeepAlive(t)
	runtime.KeepAlive(value)
	runtime.KeepAlive(items)
	return err
}

// ---------------------------------------------------------------- runtime

// SetNumThreads sets libtorch's intra-op thread count.
func SetNumThreads(n int) { C.dd_set_num_threads(C.int32_t(n)) }

// LimitThisThread caps OpenMP parallel regions started on the calling OS
// thread at n threads, leaving the process-wide count alone. The caller
// must hold its OS thread (runtime.LockOSThread) and should not unlock it:
// a goroutine that exits locked takes the thread, and the cap, with it.
func LimitThisThread(n int) { C.dd_set_thread_omp_threads(C.int32_t(n)) }

// NumThreads is libtorch's intra-op thread count.
func NumThreads() int { return int(C.dd_get_num_threads()) }

// ManualSeed seeds libtorch's default generators (CPU and every CUDA device).
func ManualSeed(seed uint64) { C.dd_manual_seed(C.uint64_t(seed)) }

// RNGState returns the default CPU generator's state (a uint8 tensor).
func RNGState() (Tensor, error) {
	var out C.dd_tensor
	if err := errorFrom(C.dd_get_rng_state(&out)); err != nil {
		return Tensor{}, err
	}
	return wrap(out), nil
}

// SetRNGState restores a state from RNGState.
func SetRNGState(state Tensor) error {
	defer runtime.KeepAlive(state)
	return errorFrom(C.dd_set_rng_state(state.h()))
}

// CUDAAvailable reports whether this libtorch has CUDA and sees a GPU.
func CUDAAvailable() bool { return C.dd_cuda_available() != 0 }

// CUDADeviceCount is the number of visible GPUs.
func CUDADeviceCount() int { return int(C.dd_cuda_device_count()) }

// FaissVersion is the version of the faiss headers dadash's faiss C API was
// built against (libfaiss is linked statically into it).
func FaissVersion() string { return C.DADASH_FAISS_VERSION }

// TorchVersion is libtorch's version string.
func TorchVersion() string { return C.GoString(C.dd_torch_version()) }

// CheckDevice validates a device string and that it exists here.
func CheckDevice(dev string) error {
	name, idx, _ := strings.Cut(dev, ":")
	switch name {
	case "cpu":
		if idx != "" && idx != "0" {
			return fmt.Errorf("invalid device %q: the CPU has no index", dev)
		}
		return nil
	case "cuda":
		n := 0
		if idx != "" {
			v, err := strconv.Atoi(idx)
			if err != nil || v < 0 {
				return fmt.Errorf("invalid device %q: expected cuda or cuda:N", dev)
			}
			n = v
		}
		if !CUDAAvailable() {
			return fmt.Errorf("device %q requested, but CUDA is not available: this libtorch (%s) was built without CUDA or no GPU is visible. Use device=\"cpu\", or rebuild dadash against a CUDA libtorch with 'make LIBTORCH=/path/to/libtorch'", dev, TorchVersion())
		}
		if n >= CUDADeviceCount() {
			return fmt.Errorf("device %q requested, but only %d CUDA device(s) are visible", dev, CUDADeviceCount())
		}
		return nil
	}
	return fmt.Errorf("invalid device %q: expected \"cpu\", \"cuda\" or \"cuda:N\"", dev)
}

// InitThreads sets libtorch's thread count deliberately: n > 0 wins, then
// DADASH_NUM_THREADS, then OMP_NUM_THREADS; otherwise all cores. (gotorch's
// init picks half the cores, which halves CPU throughput.)
func InitThreads(n int) {
	if n <= 0 {
		for _, env := range []string{"DADASH_NUM_THREADS", "OMP_NUM_THREADS"} {
			if v, err := strconv.Atoi(os.Getenv(env)); err == nil && v > 0 {
				n = v
				break
			}
		}
	}
	if n <= 0 {
		n = runtime.NumCPU()
	}
	SetNumThreads(n)
}

// blasPool is OpenBLAS's current pool size (-1 when the BLAS is not
// OpenBLAS); for tests of the size rule in threadpolicy.c.
func blasPool() int { return int(C.dadash_blas_pool()) }

// mmappedBlocks is the number of blocks glibc's malloc serves by mmap (for
// tests of the malloc policy in threadpolicy.c).
func mmappedBlocks() int { return int(C.dadash_mmapped_blocks()) }

package dist

/*
#cgo CXXFLAGS: -std=c++17 -O2 -Wno-deprecated-declarations -DUSE_C10D_GLOO -isystem ${SRCDIR}/shim
#cgo LDFLAGS: -lc10 -ltorch -ltorch_cpu
#include <stdlib.h>
#include "ext_dist.h"
*/
import "C"

import (
	"errors"
	"runtime"
	"unsafe"

	"github.com/dadash/dadash/builtins/torch/aten"
)

// The Go view of ext_dist.cc: thin functions over the C boundary. The
// process group is the process's own (as torch.distributed's default
// group), so these are plain functions, not methods.

func errorFrom(e *C.char) error {
	if e == nil {
		return nil
	}
	s := C.GoString(e)
	C.free(unsafe.Pointer(e))
	return errors.New(s)
}

func h(t aten.Tensor) C.dist_tensor { return C.dist_tensor(t.Handle()) }

// handles makes a C array of tensor handles; free it with the returned func.
func handles(ts []aten.Tensor) (*C.dist_tensor, func()) {
	if len(ts) == 0 {
		return nil, func() {}
	}
	p := (*C.dist_tensor)(C.malloc(C.size_t(len(ts)) * C.size_t(unsafe.Sizeof(uintptr(0)))))
	arr := unsafe.Slice(p, len(ts))
	for i, t := range ts {
		arr[i] = h(t)
	}
	return p, func() { C.free(unsafe.Pointer(p)); runtime.KeepAlive(ts) }
}

// Reduce operations (ext_dist.h).
const (
	opSum     = C.DIST_SUM
	opAvg     = C.DIST_AVG
	opProduct = C.DIST_PRODUCT
	opMin     = C.DIST_MIN
	opMax     = C.DIST_MAX
	opBand    = C.DIST_BAND
	opBor     = C.DIST_BOR
	opBxor    = C.DIST_BXOR
)

func glooBuilt() bool { return C.dist_backends()&1 != 0 }
func ncclBuilt() bool { return C.dist_backends()&2 != 0 }

type initParams struct {
	backend    string
	masterAddr string
	masterPort int
	rank       int
	worldSize  int
	localRank  int // -1: unknown
	timeoutMS  int64
	ifname     string
}

func cInit(p initParams) error {
	be, addr, ifn := C.CString(p.backend), C.CString(p.masterAddr), C.CString(p.ifname)
	defer C.free(unsafe.Pointer(be))
	defer C.free(unsafe.Pointer(addr))
	defer C.free(unsafe.Pointer(ifn))
	return errorFrom(C.dist_init(be, addr, C.int32_t(p.masterPort), C.int32_t(p.rank), C.int32_t(p.worldSize),
		C.int32_t(p.localRank), C.int64_t(p.timeoutMS), ifn))
}

func cDestroy() error    { return errorFrom(C.dist_destroy()) }
func cInitialized() bool { return C.dist_is_initialized() != 0 }
func cGeneration() int64 { return int64(C.dist_generation()) }
func cBarrier() error    { return errorFrom(C.dist_barrier()) }
func cSetDevice(i int) error {
	return errorFrom(C.dist_set_cuda_device(C.int32_t(i)))
}

func cAllReduce(t aten.Tensor, op int) error {
	defer runtime.KeepAlive(t)
	return errorFrom(C.dist_all_reduce(h(t), C.int32_t(op)))
}

func cReduce(t aten.Tensor, dst, op int) error {
	defer runtime.KeepAlive(t)
	return errorFrom(C.dist_reduce(h(t), C.int32_t(dst), C.int32_t(op)))
}

func cBroadcast(t aten.Tensor, src int) error {
	defer runtime.KeepAlive(t)
	return errorFrom(C.dist_broadcast(h(t), C.int32_t(src)))
}

func cAllGatherInto(t aten.Tensor, outs []aten.Tensor) error {
	p, free := handles(outs)
	defer free()
	defer runtime.KeepAlive(t)
	return errorFrom(C.dist_all_gather_into(h(t), p, C.int64_t(len(outs))))
}

// cGather gathers t from every process (first dimensions may differ): one
// concatenated tensor when cat, else one per rank; grad makes it autograd-aware.
func cGather(t aten.Tensor, cat, grad bool) ([]aten.Tensor, error) {
	var outs *C.dist_tensor
	var n C.int64_t
	err := errorFrom(C.dist_gather(h(t), cbool(cat), cbool(grad), &outs, &n))
	runtime.KeepAlive(t)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(outs))
	res := make([]aten.Tensor, int(n))
	for i, p := range unsafe.Slice(outs, int(n)) {
		res[i] = aten.FromHandle(unsafe.Pointer(p))
	}
	return res, nil
}

func cBroadcastCoalesced(ts []aten.Tensor, bucketBytes int64, src int) error {
	p, free := handles(ts)
	defer free()
	return errorFrom(C.dist_broadcast_coalesced(p, C.int64_t(len(ts)), C.int64_t(bucketBytes), C.int32_t(src)))
}

func cVerifyParams(ts []aten.Tensor) error {
	p, free := handles(ts)
	defer free()
	return errorFrom(C.dist_verify_params(p, C.int64_t(len(ts))))
}

// reducer is DDP's c10d::Reducer: autograd hooks on the parameters'
// gradient accumulators all-reduce (average) gradients bucket by bucket
// while backward still runs.
type reducer struct {
	p      C.dist_reducer
	params []aten.Tensor // kept alive for the reducer
}

func newReducer(params []aten.Tensor, bucketBytes int64, findUnused, gradAsView bool) (*reducer, error) {
	p, free := handles(params)
	defer free()
	var r C.dist_reducer
	if err := errorFrom(C.dist_reducer_new(p, C.int64_t(len(params)), C.int64_t(bucketBytes), cbool(findUnused), cbool(gradAsView), &r)); err != nil {
		return nil, err
	}
	return &reducer{p: r, params: params}, nil
}

func (r *reducer) free() {
	if r.p != nil {
		C.dist_reducer_free(r.p)
		r.p = nil
	}
}

func (r *reducer) prepareForward() error { return errorFrom(C.dist_reducer_prepare_forward(r.p)) }

func (r *reducer) prepareBackward(outputs []aten.Tensor) error {
	p, free := handles(outputs)
	defer free()
	return errorFrom(C.dist_reducer_prepare_backward(r.p, p, C.int64_t(len(outputs))))
}

func cbool(b bool) C.int32_t {
	if b {
		return 1
	}
	return 0
}

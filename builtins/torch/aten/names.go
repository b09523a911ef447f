package aten

/*
#include <stdlib.h>
#include "ext.h"
*/
import "C"

import (
	"fmt"
	"strings"
	"sync"
	"unsafe"
)

var (
	opNamesOnce sync.Once
	opNames     []string
)

// OpNames lists, sorted and without "aten::", the operators of this
// libtorch that Op.Call can call (read once from its schemas). Internal
// (_name), in-place (name_), backward and backend-specific (cudnn_*,
// mkldnn_*, ...) operators are left out.
func OpNames() []string {
	opNamesOnce.Do(func() {
		s := C.dd_op_names()
		if s == nil {
			return
		}
		defer C.free(unsafe.Pointer(s))
		opNames = strings.Fields(C.GoString(s))
	})
	return opNames
}

// RunAll looks up aten::name and calls it, returning all its results; a
// libtorch without the operator is an error.
func RunAll(name string, args ...Arg) ([]Ret, error) {
	op, err := LookupOp("aten::" + name)
	if err != nil {
		return nil, fmt.Errorf("%w (libtorch %s)", err, TorchVersion())
	}
	rs, err := op.Call(args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return rs, nil
}

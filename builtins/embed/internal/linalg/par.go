// Package linalg holds the dense kernels and the parallel loop shared by
// dadash's PCA and t-SNE: a row-block product A·Bᵀ, a symmetric
// eigensolver and a deterministic parallel-for. It is internal because its
// shapes and conventions (row-major, float64) are chosen for those two users
// rather than as a general matrix library.
package linalg

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Threads turns a requested thread count into a usable one: n < 1 means all
// cores (GOMAXPROCS).
func Threads(n int) int {
	if n < 1 {
		n = runtime.GOMAXPROCS(0)
	}
	return n
}

// For runs body over [0, n) in chunks of about grain items on up to threads
// goroutines. Chunks are handed out dynamically (so uneven work balances),
// which is safe for determinism only because callers write results indexed
// by item and never accumulate across chunks in shared state: the result
// then does not depend on which goroutine ran which chunk.
func For(n, grain, threads int, body func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if grain < 1 {
		grain = 1
	}
	threads = Threads(threads)
	chunks := (n + grain - 1) / grain
	if threads > chunks {
		threads = chunks
	}
	if threads <= 1 {
		body(0, n)
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	var failure atomic.Value // the first panic of a worker
	wg.Add(threads)
	for t := 0; t < threads; t++ {
		go func() {
			defer wg.Done()
			// A panic on a worker goroutine would end the process; raise
			// it again on the caller's, where the builtin's guard turns it
			// into an error at the script's line.
			defer func() {
				if r := recover(); r != nil {
					failure.CompareAndSwap(nil, panicValue{r})
				}
			}()
			for {
				c := int(next.Add(1) - 1)
				if c >= chunks {
					return
				}
				lo := c * grain
				hi := min(lo+grain, n)
				body(lo, hi)
			}
		}()
	}
	wg.Wait()
	if f := failure.Load(); f != nil {
		panic(f.(panicValue).v)
	}
}

// panicValue boxes a recovered value for atomic.Value, which needs one
// concrete type.
type panicValue struct{ v any }

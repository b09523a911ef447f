package linalg

import "testing"

// A panic in a worker is raised again on the calling goroutine (where a
// builtin's guard can turn it into an error) instead of ending the process.
func TestForPanicReachesCaller(t *testing.T) {
	defer func() {
		if r := recover(); r != "chunk 3" {
			t.Errorf("recovered %v, want the worker's panic", r)
		}
	}()
	For(100, 10, 4, func(lo, hi int) {
		if lo == 30 {
			panic("chunk 3")
		}
	})
	t.Error("For returned normally")
}

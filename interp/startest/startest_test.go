package startest_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/dadash/dadash/interp/startest"
)

func TestPassing(t *testing.T) {
	startest.Run(t, "testdata/pass/*.star")
}

// recorder is a Reporter that keeps what it is told.
type recorder struct{ errors, logs []string }

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
func (r *recorder) Logf(format string, args ...any) {
	r.logs = append(r.logs, fmt.Sprintf(format, args...))
}

func TestFailuresAccumulate(t *testing.T) {
	var r recorder
	startest.RunFile(&r, "testdata/fail/failures.star")
	f := "testdata/fail/failures.star"
	want := []string{
		f + ":1:10: assert.eq: got 1, want 2",
		f + ":2:10: custom: got 1, want 2",
		f + `:3:10: assert.ne: got "a", want a value other than "a"`,
		f + ":4:10: assert.lt: want 2 < 1",
		f + ":5:12: assert.true: got 0, want a true value",
		f + ":6:13: assert.false: got 1, want a false value",
		f + ":7:16: assert.contains: [1] does not contain 3",
		f + `:8:13: assert.fails: lambda succeeded, want an error matching "x"`,
		f + `:9:13: assert.fails: error "fail: other" does not match "^wanted"`,
		f + ":10:16: assert.allclose: 2 of 4 elements differ; worst at [1, 1]: 4 vs 9 (|diff| 5 > atol + rtol*|b| = 9e-05)",
		f + ":11:16: assert.allclose: shapes differ: [2] vs [3]",
		f + ":12:16: assert.allclose: string is not a number, a list of numbers or a tensor",
		f + ":13:16: assert.allclose: ragged list: element 1 has shape [2], element 0 has [1]",
		f + ":14:16: assert.allclose: 1 of 1 elements differ; worst: NaN vs NaN (NaN is never close)",
		f + ":15:10: assert.lt: int < string not implemented",
		f + `:17:14: assert.eq: got "in", want "helper"`,
		f + ":19:3: floored division by zero",
	}
	if len(r.errors) != len(want) {
		t.Errorf("got %d errors, want %d:\n%s", len(r.errors), len(want), strings.Join(r.errors, "\n"))
	}
	for i := range min(len(want), len(r.errors)) {
		if !strings.HasPrefix(r.errors[i], want[i]) {
			t.Errorf("error %d:\ngot  %s\nwant %s", i, r.errors[i], want[i])
		}
	}
	if last := r.errors[len(r.errors)-1]; !strings.Contains(last, "Traceback") {
		t.Errorf("the uncaught error has no traceback: %s", last)
	}
}

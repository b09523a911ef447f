// Package startest runs Starlark test files through the dadash host, with
// an extra predeclared assert module. A package tests its .star files with
//
//	func TestStar(t *testing.T) { startest.Run(t, "testdata/*.star") }
//
// Each file is a subtest. A failed assertion reports the file:line:col of
// the assert call and the file goes on; an uncaught error ends the file
// with its traceback. Both fail the test.
package startest

import (
	"bytes"
	"context"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dadash/dadash/interp"
	"github.com/dadash/dadash/stdlib"
	"go.starlark.net/starlark"
)

// Reporter receives the results of a file; *testing.T is one.
type Reporter interface {
	Errorf(format string, args ...any)
	Logf(format string, args ...any)
}

// An Option adjusts the host the files run in.
type Option func(*interp.Options)

// Stdlib sets the files load("@stdlib/...") reads (default: dadash's own).
func Stdlib(fsys fs.FS) Option { return func(o *interp.Options) { o.Stdlib = fsys } }

// Predeclared adds globals to every file.
func Predeclared(d starlark.StringDict) Option {
	return func(o *interp.Options) {
		if o.Predeclared == nil {
			o.Predeclared = starlark.StringDict{}
		}
		for k, v := range d {
			o.Predeclared[k] = v
		}
	}
}

// Overrides passes --set style key=value settings to config().
func Overrides(kv ...string) Option {
	return func(o *interp.Options) { o.Overrides = append(o.Overrides, kv...) }
}

// Run runs every file matching the glob pattern (relative to the test's
// package folder) as a subtest named after the file.
func Run(t *testing.T, pattern string, opts ...Option) {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatalf("startest: bad pattern %q: %v", pattern, err)
	}
	if len(files) == 0 {
		t.Fatalf("startest: no files match %s", pattern)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".star"), func(t *testing.T) {
			RunFile(t, file, opts...)
		})
	}
}

// RunFile runs one file and reports its failures and output to r.
func RunFile(r Reporter, path string, opts ...Option) {
	var out bytes.Buffer
	o := interp.Options{Stdout: &out, Stderr: &out, Stdlib: stdlib.FS}
	for _, opt := range opts {
		opt(&o)
	}
	o.Predeclared = withAssert(o.Predeclared, r)
	h, err := interp.New(o)
	if err != nil {
		r.Errorf("%v", err)
		return
	}
	err = h.RunFile(context.Background(), path, nil)
	if out.Len() > 0 {
		r.Logf("output of %s:\n%s", path, strings.TrimRight(out.String(), "\n"))
	}
	if err != nil {
		r.Errorf("%s", interp.FormatError(err))
	}
}

func withAssert(d starlark.StringDict, r Reporter) starlark.StringDict {
	out := starlark.StringDict{"assert": assertModule(r)}
	for k, v := range d {
		out[k] = v
	}
	return out
}

package torch

import (
	"os"
	"path/filepath"
	"testing"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/interp/startest"
)

// testHelpers gives .star tests a scratch folder and file tools.
func testHelpers(t *testing.T) startest.Option {
	dir := t.TempDir()
	return startest.Predeclared(starlark.StringDict{
		"tmpdir": starlark.NewBuiltin("tmpdir", func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			d, err := os.MkdirTemp(dir, "star")
			return starlark.String(d), err
		}),
		"write_file": starlark.NewBuiltin("write_file", func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var path, data string
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, "path", &path, "data", &data); err != nil {
				return nil, err
			}
			return starlark.None, os.WriteFile(path, []byte(data), 0o644)
		}),
		"truncate_file": starlark.NewBuiltin("truncate_file", func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var path string
			var size int
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, "path", &path, "size", &size); err != nil {
				return nil, err
			}
			return starlark.None, os.Truncate(filepath.Clean(path), int64(size))
		}),
	})
}

func TestStar(t *testing.T) {
	startest.Run(t, "testdata/*.star", testHelpers(t))
}

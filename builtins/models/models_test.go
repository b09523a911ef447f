package models

import (
	"os"
	"path/filepath"
	"testing"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/interp/startest"
)

func TestStar(t *testing.T) {
	dir := t.TempDir()
	startest.Run(t, "testdata/*.star", startest.Predeclared(starlark.StringDict{
		"tmpdir": starlark.NewBuiltin("tmpdir", func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			d, err := os.MkdirTemp(dir, "m")
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
			var frac float64
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, "path", &path, "fraction", &frac); err != nil {
				return nil, err
			}
			st, err := os.Stat(filepath.Clean(path))
			if err != nil {
				return nil, err
			}
			return starlark.None, os.Truncate(path, int64(float64(st.Size())*frac))
		}),
	}))
}

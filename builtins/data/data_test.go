package data

import (
	"os"
	"path/filepath"
	"testing"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/interp/startest"
)

// fileHelpers gives .star tests a scratch folder and file tools for
// building broken layouts by hand.
func fileHelpers(t *testing.T) startest.Option {
	dir := t.TempDir()
	fn := func(name string, f func(args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error)) *starlark.Builtin {
		return starlark.NewBuiltin(name, func(_ *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			return f(args, kwargs)
		})
	}
	return startest.Predeclared(starlark.StringDict{
		"tmpdir": fn("tmpdir", func(args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			d, err := os.MkdirTemp(dir, "star")
			return starlark.String(d), err
		}),
		"write_file": fn("write_file", func(args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var path, data string
			if err := starlark.UnpackArgs("write_file", args, kwargs, "path", &path, "data", &data); err != nil {
				return nil, err
			}
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return nil, err
			}
			return starlark.None, os.WriteFile(path, []byte(data), 0o644)
		}),
		"mkdir": fn("mkdir", func(args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var path string
			if err := starlark.UnpackArgs("mkdir", args, kwargs, "path", &path); err != nil {
				return nil, err
			}
			return starlark.None, os.MkdirAll(path, 0o755)
		}),
		"remove": fn("remove", func(args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var path string
			if err := starlark.UnpackArgs("remove", args, kwargs, "path", &path); err != nil {
				return nil, err
			}
			return starlark.None, os.RemoveAll(path)
		}),
		"truncate_file": fn("truncate_file", func(args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var path string
			var size int
			if err := starlark.UnpackArgs("truncate_file", args, kwargs, "path", &path, "size", &size); err != nil {
				return nil, err
			}
			return starlark.None, os.Truncate(path, int64(size))
		}),
		"copy_file": fn("copy_file", func(args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var src, dst string
			if err := starlark.UnpackArgs("copy_file", args, kwargs, "src", &src, "dst", &dst); err != nil {
				return nil, err
			}
			b, err := os.ReadFile(src)
			if err != nil {
				return nil, err
			}
			return starlark.None, os.WriteFile(dst, b, 0o644)
		}),
		"file_size": fn("file_size", func(args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var path string
			if err := starlark.UnpackArgs("file_size", args, kwargs, "path", &path); err != nil {
				return nil, err
			}
			st, err := os.Stat(path)
			if err != nil {
				return nil, err
			}
			return starlark.MakeInt64(st.Size()), nil
		}),
		"fashion_mnist_installed": starlark.Bool(fileExists(filepath.Join(DefaultFashionMNIST, "train-images-idx3-ubyte.gz"))),
	})
}

func TestStar(t *testing.T) {
	startest.Run(t, "testdata/*.star", fileHelpers(t))
}

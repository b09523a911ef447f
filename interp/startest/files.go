package startest

import (
	"os"
	"path/filepath"
	"sort"
	"testing"

	"go.starlark.net/starlark"
)

type builtinFunc = func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error)

// onPath makes a builtin of one path argument.
func onPath(name string, f func(path string) (starlark.Value, error)) *starlark.Builtin {
	return starlark.NewBuiltin(name, func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var p string
		if err := starlark.UnpackArgs(b.Name(), args, kwargs, "path", &p); err != nil {
			return nil, err
		}
		return f(p)
	})
}

// Files gives .star tests a scratch area and file tools, so that tests can
// make damaged files and check what a run wrote:
//
//	tmpdir()                   a new empty folder (removed after the test)
//	write_file(path, data)     creates the folders on the way
//	read_file(path)            the contents as a string
//	copy_file(src, dst, size=-1)  the first size bytes (all with -1)
//	truncate_file(path, size)  cuts a file to size bytes
//	file_size(path), mkdir(path), remove(path), list_dir(path) (sorted names)
func Files(t testing.TB) Option {
	dir := t.TempDir()
	var writeFile, copyFile, truncateFile builtinFunc
	writeFile = func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var p, data string
		if err := starlark.UnpackArgs(b.Name(), args, kwargs, "path", &p, "data", &data); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		return starlark.None, os.WriteFile(p, []byte(data), 0o644)
	}
	copyFile = func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var src, dst string
		size := -1
		if err := starlark.UnpackArgs(b.Name(), args, kwargs, "src", &src, "dst", &dst, "size?", &size); err != nil {
			return nil, err
		}
		data, err := os.ReadFile(src)
		if err != nil {
			return nil, err
		}
		if size >= 0 && size < len(data) {
			data = data[:size] // a partial copy, like a write cut short
		}
		return starlark.None, os.WriteFile(dst, data, 0o644)
	}
	truncateFile = func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var p string
		var size int
		if err := starlark.UnpackArgs(b.Name(), args, kwargs, "path", &p, "size", &size); err != nil {
			return nil, err
		}
		return starlark.None, os.Truncate(p, int64(size))
	}
	return Predeclared(starlark.StringDict{
		"tmpdir": starlark.NewBuiltin("tmpdir", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
				return nil, err
			}
			d, err := os.MkdirTemp(dir, "star")
			return starlark.String(d), err
		}),
		"write_file":    starlark.NewBuiltin("write_file", writeFile),
		"copy_file":     starlark.NewBuiltin("copy_file", copyFile),
		"truncate_file": starlark.NewBuiltin("truncate_file", truncateFile),
		"read_file": onPath("read_file", func(p string) (starlark.Value, error) {
			data, err := os.ReadFile(p)
			return starlark.String(data), err
		}),
		"file_size": onPath("file_size", func(p string) (starlark.Value, error) {
			st, err := os.Stat(p)
			if err != nil {
				return nil, err
			}
			return starlark.MakeInt64(st.Size()), nil
		}),
		"mkdir":  onPath("mkdir", func(p string) (starlark.Value, error) { return starlark.None, os.MkdirAll(p, 0o755) }),
		"remove": onPath("remove", func(p string) (starlark.Value, error) { return starlark.None, os.RemoveAll(p) }),
		"list_dir": onPath("list_dir", func(p string) (starlark.Value, error) {
			ents, err := os.ReadDir(p)
			if err != nil {
				return nil, err
			}
			names := make([]string, len(ents))
			for i, e := range ents {
				names[i] = e.Name()
			}
			sort.Strings(names)
			vals := make([]starlark.Value, len(names))
			for i, n := range names {
				vals[i] = starlark.String(n)
			}
			return starlark.NewList(vals), nil
		}),
	})
}

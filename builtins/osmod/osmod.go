// Package osmod is the `os` module of dadash scripts: the file-system
// calls a training script needs (folders for its outputs, atomic text files
// for logs), with Python's names where Python has them. Under --sandbox
// each call checks its path against the run's roots (internal/sandbox) and
// getenv is refused.
package osmod

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/internal/atomicfile"
	"github.com/dadash/dadash/internal/sandbox"
	"github.com/dadash/dadash/lang"
)

func fn(name, doc string, f func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error)) *starlark.Builtin {
	return lang.Func("os."+name, doc, f)
}

// Module is the os module value.
var Module = lang.NewNamespace("os", docModule, starlark.StringDict{
	"makedirs":   fn("makedirs", "os.makedirs(path, exist_ok=False): creates a folder and its parents.", makedirs),
	"listdir":    fn("listdir", "os.listdir(path='.'): the names in a folder, sorted.", listdir),
	"remove":     fn("remove", "os.remove(path): deletes a file.", remove),
	"getcwd":     fn("getcwd", "os.getcwd(): the current folder.", getcwd),
	"getenv":     fn("getenv", "os.getenv(key, default=None): an environment variable.", getenv),
	"read_text":  fn("read_text", "os.read_text(path): the contents of a text file.", readText),
	"write_text": fn("write_text", "os.write_text(path, text): writes a text file atomically (a temporary file renamed into place), so readers never see half a file.", writeText),
	"path": lang.NewNamespace("os.path", "os.path: join, exists, isdir, isfile, dirname, basename, abspath, splitext.", starlark.StringDict{
		"join":     fn("path.join", "os.path.join(*parts): joins path parts.", join),
		"exists":   fn("path.exists", "os.path.exists(path): whether a file or folder exists.", exists),
		"isdir":    fn("path.isdir", "os.path.isdir(path): whether path is a folder.", isdir),
		"isfile":   fn("path.isfile", "os.path.isfile(path): whether path is a regular file.", isfile),
		"dirname":  fn("path.dirname", "os.path.dirname(path)", dirname),
		"basename": fn("path.basename", "os.path.basename(path)", basename),
		"abspath":  fn("path.abspath", "os.path.abspath(path)", abspath),
		"splitext": fn("path.splitext", "os.path.splitext(path): (root, ext).", splitext),
	}, nil),
}, nil)

const docModule = "os: files and folders for a script's outputs: makedirs, listdir, remove, getcwd, getenv, read_text, write_text (atomic), and os.path (join, exists, isdir, isfile, dirname, basename, abspath, splitext)."

func init() {
	lang.Register(lang.Module{Name: "os", Value: Module, Doc: docModule})
}

func path1(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (string, error) {
	var p string
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "path", &p); err != nil {
		return "", err
	}
	return p, nil
}

func pathErr(b *starlark.Builtin, err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return fmt.Errorf("%s: %s: %v", b.Name(), pe.Path, pe.Err)
	}
	return fmt.Errorf("%s: %w", b.Name(), err)
}

func makedirs(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var p string
	existOK := false
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "name", &p, "exist_ok?", &existOK); err != nil {
		return nil, err
	}
	if err := sandbox.Write(thread, b.Name(), p); err != nil {
		return nil, err
	}
	if st, err := os.Stat(p); err == nil {
		if !st.IsDir() {
			return nil, fmt.Errorf("%s: %s exists and is not a folder", b.Name(), p)
		}
		if !existOK {
			return nil, fmt.Errorf("%s: %s already exists (pass exist_ok=True)", b.Name(), p)
		}
		return starlark.None, nil
	}
	if err := os.MkdirAll(p, 0o755); err != nil {
		return nil, pathErr(b, err)
	}
	return starlark.None, nil
}

func listdir(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	p := "."
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "path?", &p); err != nil {
		return nil, err
	}
	if err := sandbox.Read(thread, b.Name(), p); err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(p)
	if err != nil {
		return nil, pathErr(b, err)
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
}

func remove(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	p, err := path1(b, args, kwargs)
	if err != nil {
		return nil, err
	}
	if err := sandbox.Write(thread, b.Name(), p); err != nil {
		return nil, err
	}
	if err := os.Remove(p); err != nil {
		return nil, pathErr(b, err)
	}
	return starlark.None, nil
}

func getcwd(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := lang.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	d, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	return starlark.String(d), nil
}

func getenv(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var key string
	var def starlark.Value = starlark.None
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "key", &key, "default?", &def); err != nil {
		return nil, err
	}
	if err := sandbox.Env(thread, b.Name()); err != nil {
		return nil, err
	}
	if v, ok := os.LookupEnv(key); ok {
		return starlark.String(v), nil
	}
	return def, nil
}

func readText(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	p, err := path1(b, args, kwargs)
	if err != nil {
		return nil, err
	}
	if err := sandbox.Read(thread, b.Name(), p); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, pathErr(b, err)
	}
	return starlark.String(data), nil
}

func writeText(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var p, text string
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "path", &p, "text", &text); err != nil {
		return nil, err
	}
	if err := sandbox.Write(thread, b.Name(), p); err != nil {
		return nil, err
	}
	if err := atomicfile.Write(p, func(w io.Writer) error { _, err := io.WriteString(w, text); return err }); err != nil {
		return nil, pathErr(b, err)
	}
	return starlark.None, nil
}

func join(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(kwargs) > 0 {
		return nil, fmt.Errorf("%s: takes no keyword arguments", b.Name())
	}
	parts := make([]string, len(args))
	for i, a := range args {
		s, ok := starlark.AsString(a)
		if !ok {
			return nil, fmt.Errorf("%s: part %d is a %s, not a string", b.Name(), i+1, a.Type())
		}
		parts[i] = s
	}
	// Python semantics: an absolute part discards what came before.
	out := ""
	for _, p := range parts {
		if strings.HasPrefix(p, "/") || out == "" {
			out = p
		} else {
			out = strings.TrimSuffix(out, "/") + "/" + p
		}
	}
	return starlark.String(out), nil
}

func statWith(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple, test func(os.FileInfo) bool) (starlark.Value, error) {
	p, err := path1(b, args, kwargs)
	if err != nil {
		return nil, err
	}
	if err := sandbox.Read(thread, b.Name(), p); err != nil {
		return nil, err
	}
	st, err := os.Stat(p)
	return starlark.Bool(err == nil && test(st)), nil
}

func exists(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	return statWith(thread, b, args, kwargs, func(os.FileInfo) bool { return true })
}

func isdir(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	return statWith(thread, b, args, kwargs, func(st os.FileInfo) bool { return st.IsDir() })
}

func isfile(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	return statWith(thread, b, args, kwargs, func(st os.FileInfo) bool { return st.Mode().IsRegular() })
}

func dirname(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	p, err := path1(b, args, kwargs)
	if err != nil {
		return nil, err
	}
	i := strings.LastIndex(p, "/")
	if i < 0 {
		return starlark.String(""), nil
	}
	if i == 0 {
		return starlark.String("/"), nil
	}
	return starlark.String(p[:i]), nil
}

func basename(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	p, err := path1(b, args, kwargs)
	if err != nil {
		return nil, err
	}
	return starlark.String(p[strings.LastIndex(p, "/")+1:]), nil
}

func abspath(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	p, err := path1(b, args, kwargs)
	if err != nil {
		return nil, err
	}
	a, err := filepath.Abs(p)
	if err != nil {
		return nil, err
	}
	return starlark.String(a), nil
}

func splitext(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	p, err := path1(b, args, kwargs)
	if err != nil {
		return nil, err
	}
	base := p[strings.LastIndex(p, "/")+1:]
	i := strings.LastIndex(base, ".")
	if i <= 0 {
		return starlark.Tuple{starlark.String(p), starlark.String("")}, nil
	}
	cut := len(p) - len(base) + i
	return starlark.Tuple{starlark.String(p[:cut]), starlark.String(p[cut:])}, nil
}

package interp

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/dadash/dadash/internal/sandbox"
	"github.com/dadash/dadash/lang"
	"go.starlark.net/starlark"
)

const stdlibPrefix = "@stdlib/"

// fileInfo says where relative loads of a file start and how far up they
// may go.
type fileInfo struct {
	dir    string // folder of the file (a slash path inside the stdlib FS if stdlib)
	root   string // folder relative loads may not leave
	stdlib bool
}

type loadEntry struct {
	globals starlark.StringDict
	err     error
}

// loadFrame is a file being loaded: its cache key and its display name.
type loadFrame struct{ key, name string }

// loadError is a load() failure that is about the load itself (not about
// the loaded file's contents); FormatError shows its message as is.
type loadError struct{ msg string }

func (e *loadError) Error() string { return e.msg }

func loadErrorf(format string, args ...any) error {
	return &loadError{fmt.Sprintf(format, args...)}
}

// load implements starlark.Thread.Load for a session. Loaded files run on
// the same thread, so cancellation and tracebacks cover them.
func (s *session) load(th *starlark.Thread, module string) (starlark.StringDict, error) {
	if v, ok := s.h.modules[module]; ok {
		return moduleExports(module, v), nil
	}
	from, ok := s.files[th.CallFrame(0).Pos.Filename()]
	if !ok {
		cwd, _ := os.Getwd()
		from = fileInfo{dir: cwd, root: cwd}
	}
	key, name, info, err := s.resolve(from, module)
	if err != nil {
		return nil, err
	}
	if !info.stdlib {
		if err := sandbox.Read(th, fmt.Sprintf("load(%q)", module), key); err != nil {
			return nil, &loadError{err.Error()}
		}
	}
	for i, l := range s.loading {
		if l.key == key {
			var chain []string
			for _, f := range s.loading[i:] {
				chain = append(chain, f.name)
			}
			chain = append(chain, l.name)
			return nil, loadErrorf("load cycle: %s", strings.Join(chain, " -> "))
		}
	}
	if e, ok := s.cache[key]; ok {
		return e.globals, e.err
	}
	src, err := s.read(module, key, info)
	if err != nil {
		return nil, err
	}
	s.files[name] = info
	s.loading = append(s.loading, loadFrame{key, name})
	g, err := s.execFile(name, src)
	s.loading = s.loading[:len(s.loading)-1]
	s.cache[key] = &loadEntry{g, err}
	return g, err
}

// resolve turns a load() argument into a cache key, a display name and the
// loaded file's own fileInfo.
func (s *session) resolve(from fileInfo, module string) (key, name string, info fileInfo, err error) {
	switch {
	case strings.HasPrefix(module, stdlibPrefix):
		return resolveStdlib(module, ".", strings.TrimPrefix(module, stdlibPrefix))
	case strings.HasPrefix(module, "@"):
		return "", "", info, loadErrorf("load(%q): unknown prefix; files of the standard library are loaded as %sname.star", module, stdlibPrefix)
	case !strings.HasSuffix(module, ".star") && !strings.ContainsAny(module, `/\`):
		msg := fmt.Sprintf("load(%q): no module named %q", module, module)
		if n := nearest(module, visibleNames(s.h.modules)); n != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", n)
		}
		return "", "", info, loadErrorf("%s; modules: %s; files must end in .star", msg, strings.Join(visibleNames(s.h.modules), ", "))
	case from.stdlib && !filepath.IsAbs(module):
		return resolveStdlib(module, from.dir, module)
	}

	// The file is named by the path it really has (links and ".."
	// resolved as the kernel does), which is also the cache key: a link
	// inside the script folder cannot lead out of it.
	var abs string
	if filepath.IsAbs(module) {
		abs = filepath.Clean(module)
	} else {
		abs = filepath.Join(from.dir, module)
		if !within(from.root, abs) {
			return "", "", info, loadErrorf("load(%q): path escapes the script folder %s; use an absolute path to load files outside it", module, from.root)
		}
	}
	target := from.dir + string(filepath.Separator) + module // not Join: ".." must apply after links
	if filepath.IsAbs(module) {
		target = module
	}
	real, err := realPath(target)
	if err != nil {
		return "", "", info, loadErrorf("load(%q): %v", module, err)
	}
	root, err := realPath(from.root)
	if err != nil {
		root = from.root
	}
	info.root = root
	if !within(root, real) {
		if !filepath.IsAbs(module) {
			return "", "", info, loadErrorf("load(%q): the path leads out of the script folder %s through a symbolic link (to %s); use an absolute path to load files outside it", module, from.root, real)
		}
		info.root = filepath.Dir(real)
	}
	info.dir = filepath.Dir(real)
	return real, displayName(abs), info, nil
}

// realPath is the absolute path p leads to, links resolved.
func realPath(p string) (string, error) { return sandbox.Resolve(p) }

// resolveStdlib resolves rel against dir inside the stdlib FS.
func resolveStdlib(module, dir, rel string) (key, name string, info fileInfo, err error) {
	p := path.Join(dir, rel)
	if p == ".." || strings.HasPrefix(p, "../") {
		return "", "", info, loadErrorf("load(%q): path escapes the standard library", module)
	}
	return stdlibPrefix + p, stdlibPrefix + p, fileInfo{dir: path.Dir(p), root: ".", stdlib: true}, nil
}

// read returns the source of a resolved file.
func (s *session) read(module, key string, info fileInfo) ([]byte, error) {
	if !info.stdlib {
		src, err := os.ReadFile(key)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, loadErrorf("load(%q): no such file %s", module, key)
		}
		return src, err
	}
	if s.h.opts.Stdlib == nil {
		return nil, loadErrorf("load(%q): this program has no standard library", module)
	}
	src, err := fs.ReadFile(s.h.opts.Stdlib, strings.TrimPrefix(key, stdlibPrefix))
	if errors.Is(err, fs.ErrNotExist) {
		have, _ := fs.Glob(s.h.opts.Stdlib, "*.star")
		return nil, loadErrorf("load(%q): no such file in the standard library (it has %s)", module, strings.Join(have, ", "))
	}
	return src, err
}

// moduleExports is what load("name", ...) of a module binds from: the
// module itself under its name, plus its members (not what a fallback
// resolves: torch's operators are reached as torch.name).
func moduleExports(name string, v starlark.Value) starlark.StringDict {
	d := starlark.StringDict{}
	if m, ok := v.(*lang.Namespace); ok {
		for _, k := range m.MemberNames() {
			if mv, _ := m.Attr(k); mv != nil {
				d[k] = mv
			}
		}
	}
	d[name] = v
	return d
}

// within reports whether path p is root or inside it.
func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// displayName is how messages name a file: relative to the current
// directory when inside it, else absolute.
func displayName(abs string) string {
	if cwd, err := os.Getwd(); err == nil && within(cwd, abs) {
		if rel, err := filepath.Rel(cwd, abs); err == nil {
			return rel
		}
	}
	return abs
}

// Package sandbox is the file policy of `dadash --sandbox`: a run may read
// under its read roots (the script's folder, --allow-read, the data the
// command line names) and write under its write roots (--allow-write, the
// run folder the command line names). Paths are compared after resolving
// symbolic links and "..", component by component as the kernel would, so
// a link inside a root that points outside it does not let a script out.
//
// The interpreter attaches a Policy to the Starlark thread; every builtin
// that opens a file the script names calls Read or Write at its entry. With
// no policy attached (the default mode) both allow everything.
//
// This is a check inside the process, not an operating-system sandbox: it
// does not stop native code, and a link swapped between the check and the
// open (by another process) is not seen.
package sandbox

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"go.starlark.net/starlark"
)

// Policy is the set of folders (or single files) a run may read and write.
// Write roots may also be read.
type Policy struct {
	read, write []root
}

type root struct {
	real  string // resolved absolute path
	given string // as the user wrote it, for messages
}

// New resolves the roots. Roots that do not exist yet (a run folder made
// by the run) are allowed; their existing part is resolved.
func New(read, write []string) (*Policy, error) {
	p := &Policy{}
	add := func(list *[]root, given []string) error {
		for _, g := range given {
			if g == "" {
				return errors.New("sandbox: an empty folder name")
			}
			r, err := Resolve(g)
			if err != nil {
				return fmt.Errorf("sandbox: %s: %w", g, err)
			}
			*list = append(*list, root{real: r, given: g})
		}
		return nil
	}
	if err := add(&p.read, read); err != nil {
		return nil, err
	}
	if err := add(&p.write, write); err != nil {
		return nil, err
	}
	return p, nil
}

// WithRead returns a copy of p that may also read dir (a script's folder).
func (p *Policy) WithRead(dir string) *Policy {
	real, err := Resolve(dir)
	if err != nil {
		real = filepath.Clean(dir)
	}
	q := &Policy{read: append([]root{{real: real, given: dir}}, p.read...), write: p.write}
	return q
}

// Roots returns the resolved read and write roots.
func (p *Policy) Roots() (read, write []string) {
	for _, r := range p.read {
		read = append(read, r.real)
	}
	for _, r := range p.write {
		write = append(write, r.real)
	}
	return read, write
}

// Error is a refused access.
type Error struct {
	Fn    string // the builtin, e.g. "os.write_text"
	Path  string // as the script gave it
	Real  string // where it leads
	Write bool
	Roots []string
}

func (e *Error) Error() string {
	verb, flag := "read", "--allow-read"
	if e.Write {
		verb, flag = "write", "--allow-write"
	}
	where := e.Path
	if e.Real != "" && e.Real != e.Path {
		where += " (" + e.Real + ")"
	}
	roots := "none"
	if len(e.Roots) > 0 {
		roots = strings.Join(e.Roots, ", ")
	}
	return fmt.Sprintf("%s: %s is outside the folders this --sandbox run may %s (%s); to allow it, give %s DIR",
		e.Fn, where, verb, roots, flag)
}

// CheckRead returns an *Error unless path resolves inside a read or write root.
func (p *Policy) CheckRead(fn, path string) error {
	return p.check(fn, path, false)
}

// CheckWrite returns an *Error unless path resolves inside a write root.
func (p *Policy) CheckWrite(fn, path string) error {
	return p.check(fn, path, true)
}

func (p *Policy) check(fn, path string, write bool) error {
	real, err := Resolve(path)
	if err != nil {
		return fmt.Errorf("%s: %s: %w", fn, path, err)
	}
	roots := p.write
	if !write {
		roots = append(append([]root{}, p.read...), p.write...)
	}
	var names []string
	for _, r := range roots {
		if Within(r.real, real) {
			return nil
		}
		names = append(names, r.given)
	}
	return &Error{Fn: fn, Path: path, Real: real, Write: write, Roots: names}
}

// Within reports whether the clean absolute path p is root or inside it.
func Within(root, p string) bool {
	if root == p || root == string(filepath.Separator) {
		return true
	}
	return strings.HasPrefix(p, root+string(filepath.Separator))
}

// maxLinks bounds the links followed in one path, as the kernel's ELOOP.
const maxLinks = 40

// Resolve returns the absolute path that path leads to: each existing
// component is looked up in turn, symbolic links are followed (also a
// last component whose target does not exist, as creating the file would
// follow it), and ".." goes up from where the path really is, as the
// kernel does (filepath.Clean would go up lexically, which a link defeats).
// From the first missing component on, the rest is joined lexically: no
// links can be below a missing folder.
func Resolve(path string) (string, error) {
	if !filepath.IsAbs(path) {
		wd, err := os.Getwd()
		if err != nil {
			return "", err
		}
		path = wd + string(filepath.Separator) + path // not Join: it would clean ".." lexically
	}
	links := 0
	cur := string(filepath.Separator)
	rest := strings.Split(path, string(filepath.Separator))
	for len(rest) > 0 {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			cur = filepath.Dir(cur) // cur has no links, so its parent is lexical
			continue
		}
		next := filepath.Join(cur, c)
		fi, err := os.Lstat(next)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
				return filepath.Join(append([]string{next}, rest...)...), nil
			}
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			cur = next
			continue
		}
		if links++; links > maxLinks {
			return "", fmt.Errorf("too many levels of symbolic links")
		}
		target, err := os.Readlink(next)
		if err != nil {
			return "", err
		}
		if filepath.IsAbs(target) {
			cur = string(filepath.Separator)
		}
		rest = append(strings.Split(target, string(filepath.Separator)), rest...)
	}
	return cur, nil
}

// ---------------------------------------------------------------- threads

const key = "dadash.sandbox"

// Set attaches p to a thread (before it runs).
func Set(thread *starlark.Thread, p *Policy) { thread.SetLocal(key, p) }

// Of returns the thread's policy, or nil outside --sandbox.
func Of(thread *starlark.Thread) *Policy {
	if thread == nil {
		return nil
	}
	p, _ := thread.Local(key).(*Policy)
	return p
}

// Read is the check a builtin makes before reading a path the script
// gave: nil outside --sandbox.
func Read(thread *starlark.Thread, fn, path string) error {
	if p := Of(thread); p != nil {
		return p.CheckRead(fn, path)
	}
	return nil
}

// Write is the check before writing, creating or removing a path.
func Write(thread *starlark.Thread, fn, path string) error {
	if p := Of(thread); p != nil {
		return p.CheckWrite(fn, path)
	}
	return nil
}

// Listed is the check of the files a dataset's index lists (root joined
// with each entry): under --sandbox each must stay inside the dataset's
// folder root (which Read allowed). The check is lexical, so it costs nothing per image: a script
// can write an index file naming ../../x, but it cannot make links.
func Listed(thread *starlark.Thread, fn, root string, paths []string) error {
	if Of(thread) == nil {
		return nil
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return err
	}
	for _, p := range paths {
		p, err := filepath.Abs(p) // paths are the root joined with the index's entries
		if err != nil {
			return err
		}
		if !Within(abs, p) {
			return fmt.Errorf("%s: the dataset lists %s, outside its folder %s, which is all a --sandbox run may read of it", fn, p, root)
		}
	}
	return nil
}

// Env is the check before showing an environment variable: refused under
// --sandbox, where settings come from --set instead.
func Env(thread *starlark.Thread, fn string) error {
	if Of(thread) != nil {
		return fmt.Errorf("%s: the environment is not visible to a --sandbox run; pass settings with --set key=value", fn)
	}
	return nil
}

package osmod

import (
	"os"
	"path/filepath"
	"testing"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/interp"
	"github.com/dadash/dadash/interp/startest"
)

// TestSandbox runs testdata/sandbox/*.star with --sandbox: ROOT is the
// write root, OUTSIDE a folder beside it, and ROOT/out a link to OUTSIDE.
func TestSandbox(t *testing.T) {
	base, _ := filepath.EvalSymlinks(t.TempDir())
	root, outside := filepath.Join(base, "root"), filepath.Join(base, "outside")
	os.MkdirAll(root, 0o755)
	os.MkdirAll(outside, 0o755)
	os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o600)
	if err := os.Symlink(outside, filepath.Join(root, "out")); err != nil {
		t.Fatal(err)
	}
	startest.Run(t, "testdata/sandbox/*.star",
		startest.Predeclared(starlark.StringDict{"ROOT": starlark.String(root), "OUTSIDE": starlark.String(outside)}),
		func(o *interp.Options) { o.Sandbox, o.AllowWrite = true, []string{root} })
	if _, err := os.Stat(filepath.Join(outside, "secret")); err != nil {
		t.Error("the sandboxed script removed a file outside its roots")
	}
	if _, err := os.Stat(filepath.Join(outside, ".bashrc")); err == nil {
		t.Error("the sandboxed script wrote outside its roots")
	}
}

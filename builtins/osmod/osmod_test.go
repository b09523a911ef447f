package osmod

import (
	"os"
	"testing"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/interp/startest"
)

func TestStar(t *testing.T) {
	dir := t.TempDir()
	startest.Run(t, "testdata/*.star", startest.Predeclared(starlark.StringDict{"TMP": starlark.String(dir)}))
	os.RemoveAll(dir)
}

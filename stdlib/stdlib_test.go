package stdlib_test

import (
	"os"
	"testing"

	"go.starlark.net/starlark"

	_ "github.com/dadash/dadash/builtins/checkpoint"
	_ "github.com/dadash/dadash/builtins/dada"
	_ "github.com/dadash/dadash/builtins/data"
	_ "github.com/dadash/dadash/builtins/dist"
	_ "github.com/dadash/dadash/builtins/explore"
	_ "github.com/dadash/dadash/builtins/losses"
	_ "github.com/dadash/dadash/builtins/metrics"
	_ "github.com/dadash/dadash/builtins/models"
	_ "github.com/dadash/dadash/builtins/nn"
	_ "github.com/dadash/dadash/builtins/optim"
	_ "github.com/dadash/dadash/builtins/osmod"
	_ "github.com/dadash/dadash/builtins/plot"
	_ "github.com/dadash/dadash/builtins/report"
	_ "github.com/dadash/dadash/builtins/torch"
	"github.com/dadash/dadash/interp/startest"
)

// The Starlark library's own tests: the training loop on real data
// (Fashion-MNIST from Debian's package) and on generated image folders.
func TestStar(t *testing.T) {
	if testing.Short() {
		t.Skip("trains small networks; skipped with -short")
	}
	startest.Run(t, "testdata/*.star", startest.Predeclared(starlark.StringDict{"TMP": starlark.String(t.TempDir())}))
	os.Remove("testdata/.keep")
}

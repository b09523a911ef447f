package dada

import (
	"testing"

	_ "github.com/dadash/dadash/builtins/optim"
	"github.com/dadash/dadash/interp/startest"
	"github.com/dadash/dadash/lang"
)

func TestStar(t *testing.T) {
	startest.Run(t, "testdata/*.star")
}

// Every function and method scripts call has documentation for help().
func TestDocs(t *testing.T) {
	for _, n := range []string{"dada", "dada.wrap", "DADA.discriminator_loss", "DADA.generator_loss", "DADA.proxy_parameters",
		"DADA.discriminator_parameters", "DADA.generator_parameters", "DADA.diagnostics",
		"dada.defaults", "dada.options", "dada.parts"} {
		if d, ok := lang.DocOf(n); !ok || d == "" {
			t.Errorf("no documentation for %s", n)
		}
	}
}

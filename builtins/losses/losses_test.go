package losses

import (
	"testing"

	_ "github.com/dadash/dadash/builtins/optim"
	"github.com/dadash/dadash/interp/startest"
	"github.com/dadash/dadash/lang"
)

func TestStar(t *testing.T) {
	startest.Run(t, "testdata/*.star")
}

// Every constructor has documentation for help().
func TestDocs(t *testing.T) {
	for _, n := range []string{"losses", "losses.oproxy", "losses.proxy_anchor", "losses.proxy_nca", "losses.soft_triple", "losses.norm_softmax", "loss.proxy_for",
		"losses.names", "losses.defaults", "losses.options", "losses.parts", "losses.make"} {
		if d, ok := lang.DocOf(n); !ok || d == "" {
			t.Errorf("no documentation for %s", n)
		}
	}
}

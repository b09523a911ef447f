package optim

import (
	"testing"

	"github.com/dadash/dadash/interp/startest"
	"github.com/dadash/dadash/lang"
)

func TestStar(t *testing.T) {
	startest.Run(t, "testdata/*.star")
}

// Every constructor and method that scripts call has documentation for help().
func TestDocs(t *testing.T) {
	names := []string{"optim", "optim.lr_scheduler", "optim.clip_grad_norm_", "optim.clip_grad_value_"}
	for _, a := range algorithms {
		names = append(names, "optim."+a.name)
		for _, m := range optimizerMethods {
			names = append(names, a.name+"."+m.name)
		}
	}
	for _, k := range schedKinds {
		names = append(names, "optim.lr_scheduler."+k.name)
		for _, m := range schedulerMethods {
			names = append(names, k.name+"."+m.name)
		}
	}
	for _, n := range names {
		if d, ok := lang.DocOf(n); !ok || d == "" {
			t.Errorf("no documentation for %s", n)
		}
	}
}

package metrics

import (
	"testing"

	"github.com/dadash/dadash/interp/startest"
	"github.com/dadash/dadash/lang"
)

func TestStar(t *testing.T) {
	startest.Run(t, "testdata/*.star")
}

// Every function scripts call has documentation for help().
func TestDocs(t *testing.T) {
	for _, n := range []string{"metrics", "metrics.compute", "metrics.available", "metrics.check", "metrics.knn", "metrics.kmeans"} {
		if d, ok := lang.DocOf(n); !ok || d == "" {
			t.Errorf("no documentation for %s", n)
		}
	}
}

package explore

import (
	"os"
	"path/filepath"
	"testing"

	_ "github.com/dadash/dadash/builtins/embed/manifold"
	_ "github.com/dadash/dadash/builtins/torch"
	"github.com/dadash/dadash/interp/startest"
)

func TestStar(t *testing.T) {
	dir := t.TempDir()
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	startest.Run(t, filepath.Join(wd, "testdata/*.star"), startest.Files(t))
	// show() picks fresh names under views/.
	views, _ := filepath.Glob(filepath.Join(dir, "views", "view-*.html"))
	if len(views) != 2 {
		t.Errorf("views/view-*.html: %v", views)
	}
}

package data

import (
	"path/filepath"
	"testing"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/interp/startest"
)

func TestStar(t *testing.T) {
	startest.Run(t, "testdata/*.star", startest.Files(t), startest.Predeclared(starlark.StringDict{
		"fashion_mnist_installed": starlark.Bool(fileExists(filepath.Join(DefaultFashionMNIST, "train-images-idx3-ubyte.gz"))),
	}))
}

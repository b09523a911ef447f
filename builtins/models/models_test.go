package models

import (
	"testing"

	"github.com/dadash/dadash/interp/startest"
)

func TestStar(t *testing.T) {
	startest.Run(t, "testdata/*.star", startest.Files(t))
}

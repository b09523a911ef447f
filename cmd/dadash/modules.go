package main

// The builtin modules linked into dadash: each package registers itself
// with lang.Register in its init, so a blank import is all it takes.

import (
	_ "github.com/dadash/dadash/builtins/checkpoint"
	_ "github.com/dadash/dadash/builtins/dada"
	_ "github.com/dadash/dadash/builtins/data"
	_ "github.com/dadash/dadash/builtins/dist"
	_ "github.com/dadash/dadash/builtins/embed/manifold"
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
)

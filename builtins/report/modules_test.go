package report

// The Starlark tests load the stdlib's run page, which writes files.
import _ "github.com/dadash/dadash/builtins/osmod"

// Package stdlib holds the library code written in Starlark that scripts
// load as "@stdlib/name.star"; it is embedded in the dadash binary.
package stdlib

import "embed"

// FS holds the *.star files of this folder.
//
//go:embed *.star
var FS embed.FS

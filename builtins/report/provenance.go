package report

import (
	"go.starlark.net/starlark"

	"github.com/dadash/dadash/internal/page"
	"github.com/dadash/dadash/lang"
)

const docProvenance = `report.provenance(): what this process is, for a run's records.

A dict: dadash (its version), build (the commit dadash was built from), versions (lines
such as "libtorch: 1.13.0"), command (the command line, a list), dir (the working
directory), commit (its git commit, "" outside a git tree), host. Run pages show it, and
the training loop keeps it in run.json.`

func fnProvenance(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := lang.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	p := page.Current()
	d := starlark.NewDict(7)
	for _, kv := range []struct {
		k string
		v starlark.Value
	}{
		{"dadash", starlark.String(p.Dadash)}, {"build", starlark.String(p.Build)}, {"versions", strs(p.Versions)},
		{"command", strs(p.Command)}, {"dir", starlark.String(p.Dir)}, {"commit", starlark.String(p.Commit)},
		{"host", starlark.String(p.Host)},
	} {
		d.SetKey(starlark.String(kv.k), kv.v)
	}
	return d, nil
}

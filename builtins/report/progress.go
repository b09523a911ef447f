package report

import (
	"fmt"
	"io"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/internal/progress"
	"github.com/dadash/dadash/lang"
)

const docProgress = `report.progress(iterable, total=None, desc="", unit="it", unit_scale=1): shows the progress of a loop.

Wraps an iterable so that looping over it shows progress on standard error: a bar with
rate and ETA on a terminal, a plain line every 10% (or 30 s) otherwise. total defaults to
len(iterable). unit_scale counts each item as that many units for the rate (a loop over
batches of 90 images with unit="img", unit_scale=90 shows images per second).
p.set_info(text) adds a note such as the running loss:

    p = report.progress(loader, desc = "epoch %d" % epoch, unit = "batch")
    for batch in p:
        ...
        p.set_info("loss %.3f" % loss)`

func fnProgress(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var it starlark.Iterable
	var total starlark.Value = starlark.None
	desc, unit := "", "it"
	scale := 1.0
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "iterable", &it, "total?", &total, "desc?", &desc, "unit?", &unit, "unit_scale?", &scale); err != nil {
		return nil, err
	}
	if !(scale > 0) {
		return nil, fmt.Errorf("%s: unit_scale must be positive, got %g", b.Name(), scale)
	}
	p := &Progress{inner: it, desc: desc, unit: unit, scale: scale, w: lang.Stderr(thread), total: -1}
	if !isNone(total) {
		n, err := starlark.AsInt32(total)
		if err != nil {
			return nil, fmt.Errorf("%s: total must be an int, got %s", b.Name(), total.Type())
		}
		p.total = n
	} else if s, ok := it.(starlark.Sequence); ok {
		p.total = s.Len()
	}
	return p, nil
}

// Progress is the iterable report.progress returns; each loop over it
// shows one bar.
type Progress struct {
	inner      starlark.Iterable
	total      int
	desc, unit string
	scale      float64
	w          io.Writer
	bar        *progress.Bar
	info       string
}

var (
	_ starlark.Iterable = (*Progress)(nil)
	_ starlark.HasAttrs = (*Progress)(nil)
)

func (p *Progress) String() string        { return fmt.Sprintf("<progress %q>", p.desc) }
func (p *Progress) Type() string          { return "progress" }
func (p *Progress) Freeze()               {}
func (p *Progress) Truth() starlark.Bool  { return true }
func (p *Progress) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: progress") }

func (p *Progress) Iterate() starlark.Iterator {
	p.bar = progress.New(p.w, p.total, p.desc)
	p.bar.SetUnit(p.unit)
	p.bar.SetScale(p.scale)
	if p.info != "" {
		p.bar.SetInfo(p.info)
	}
	return &progressIter{it: p.inner.Iterate(), bar: p.bar}
}

func (p *Progress) AttrNames() []string { return []string{"set_info"} }

func (p *Progress) Attr(name string) (starlark.Value, error) {
	if name != "set_info" {
		return nil, nil
	}
	return starlark.NewBuiltin("progress.set_info", lang.Safe(func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var text string
		if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &text); err != nil {
			return nil, err
		}
		p.info = text
		if p.bar != nil {
			p.bar.SetInfo(text)
		}
		return starlark.None, nil
	})).BindReceiver(p), nil
}

// progressIter counts an item as done when the loop asks for the next one
// (or ends), as tqdm does.
type progressIter struct {
	it      starlark.Iterator
	bar     *progress.Bar
	started bool
}

func (i *progressIter) Next(p *starlark.Value) bool {
	if i.started {
		i.bar.Add(1)
	}
	i.started = true
	if i.it.Next(p) {
		return true
	}
	i.started = false // the last item was counted above
	i.bar.Done()
	return false
}

func (i *progressIter) Done() {
	i.it.Done()
	i.bar.Done() // break or error: leave the bar where it stopped
}

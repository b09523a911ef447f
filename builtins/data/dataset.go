package data

import (
	"fmt"
	"sort"
	"strings"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/builtins/data/imgproc"
	"github.com/dadash/dadash/builtins/torch"
	"github.com/dadash/dadash/builtins/torch/aten"
	"github.com/dadash/dadash/lang"
)

// Dataset is one split of a dataset: images (files, or in-memory pixels for
// Fashion-MNIST) with 0-based contiguous labels, and an optional transform.
type Dataset struct {
	name, split string
	root        string
	classes     []string
	labels      []int32
	paths       []string // image files; nil for in-memory images
	mem         []byte   // in-memory gray images, memW x memH each
	memW, memH  int
	transform   *Transform
	byClass     [][]int
	thread      *starlark.Thread // for errors that end a for loop (failIteration)
}

var (
	_ starlark.HasAttrs = (*Dataset)(nil)
	_ starlark.Mapping  = (*Dataset)(nil)
	_ starlark.Sequence = (*Dataset)(nil)
)

func newDataset(thread *starlark.Thread, name, root string, s split, tr *Transform) *Dataset {
	d := &Dataset{name: name, split: s.name, root: root, classes: s.classes, labels: s.labels, paths: s.paths, transform: tr, thread: thread}
	d.index()
	return d
}

func (d *Dataset) index() {
	d.byClass = make([][]int, len(d.classes))
	for i, l := range d.labels {
		d.byClass[l] = append(d.byClass[l], i)
	}
}

// Len is the number of images.
func (d *Dataset) Len() int { return len(d.labels) }

func (d *Dataset) desc() string {
	if d.split == "" || d.split == "all" {
		return d.name
	}
	return d.name + "/" + d.split
}

func (d *Dataset) String() string {
	s := fmt.Sprintf("<dataset %s: %d images, %d classes", d.desc(), d.Len(), len(d.classes))
	if d.transform != nil {
		s += ", transform=" + d.transform.String()
	}
	return s + ">"
}
func (d *Dataset) Type() string          { return "data.Dataset" }
func (d *Dataset) Freeze()               {}
func (d *Dataset) Truth() starlark.Bool  { return d.Len() > 0 }
func (d *Dataset) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: data.Dataset") }

// itemName names image i in messages: its file, or ds[i] for in-memory
// images.
func (d *Dataset) itemName(i int) string {
	if d.paths == nil {
		return fmt.Sprintf("%s[%d]", d.desc(), i)
	}
	return d.paths[i]
}

// open starts a sample of image i (not yet transformed).
func (d *Dataset) open(i int, maxPixels int64) (*sample, error) {
	if d.paths == nil {
		n := d.memW * d.memH
		m := &imgproc.Image{W: d.memW, H: d.memH, C: 1, Pix: append([]byte(nil), d.mem[i*n:(i+1)*n]...)}
		return &sample{path: fmt.Sprintf("%s[%d]", d.desc(), i), img: m, w: m.W, h: m.H}, nil
	}
	return openFile(d.paths[i], maxPixels)
}

// load returns image i through transform tr (the dataset's when nil).
func (d *Dataset) load(i int, tr *Transform, r *rng, opt decodeOpts) (*sample, error) {
	s, err := d.open(i, opt.maxPixels)
	if err != nil {
		return nil, err
	}
	s.rng, s.opt = r, opt
	if tr == nil {
		tr = d.transform
	}
	if tr != nil {
		if err := tr.run(s); err != nil {
			return nil, fmt.Errorf("%s: %w", s.path, err)
		}
	}
	return s, nil
}

// Get implements ds[i]: (image, label), the image through the dataset's
// transform with a generator keyed by i (so ds[i] is reproducible).
func (d *Dataset) Get(k starlark.Value) (starlark.Value, bool, error) {
	i, err := starlark.AsInt32(k)
	if err != nil {
		return nil, false, fmt.Errorf("%s: index must be an int, got %s", d.desc(), k.Type())
	}
	n := d.Len()
	if i < 0 {
		i += n
	}
	if i < 0 || i >= n {
		return nil, false, fmt.Errorf("%s: index %d out of range (%d images)", d.desc(), i, n)
	}
	s, err := d.load(i, nil, newRNG(0, streamTransform, 0, uint64(i), uint64(i)), decodeOpts{dct: true})
	if err != nil {
		return nil, false, err
	}
	img, err := sampleTensor(s)
	if err != nil {
		return nil, false, err
	}
	return starlark.Tuple{img, starlark.MakeInt(int(d.labels[i]))}, true, nil
}

// Iterate yields (image, label) pairs; a failing image ends the loop with
// an error (see failIteration).
func (d *Dataset) Iterate() starlark.Iterator { return &datasetIter{d: d} }

type datasetIter struct {
	d *Dataset
	i int
}

func (it *datasetIter) Next(p *starlark.Value) bool {
	if it.i >= it.d.Len() {
		return false
	}
	v, _, err := it.d.Get(starlark.MakeInt(it.i))
	if err != nil {
		failIteration(it.d.thread, err)
		return false
	}
	*p = v
	it.i++
	return true
}
func (it *datasetIter) Done() {}

var datasetAttrs = []string{"class_indices", "classes", "labels", "name", "num_classes", "paths", "root", "split", "subset", "targets", "transform", "with_transform"}

func (d *Dataset) AttrNames() []string { return datasetAttrs }

func (d *Dataset) Attr(name string) (starlark.Value, error) {
	switch name {
	case "name":
		return starlark.String(d.name), nil
	case "split":
		return starlark.String(d.split), nil
	case "root":
		return starlark.String(d.root), nil
	case "num_classes":
		return starlark.MakeInt(len(d.classes)), nil
	case "classes":
		return stringList(d.classes), nil
	case "labels":
		v := make([]int64, len(d.labels))
		for i, l := range d.labels {
			v[i] = int64(l)
		}
		t, err := aten.FromInt64s(v, int64(len(v)))
		if err != nil {
			return nil, err
		}
		return torch.New(t), nil
	case "targets":
		out := make([]starlark.Value, len(d.labels))
		for i, l := range d.labels {
			out[i] = starlark.MakeInt(int(l))
		}
		return starlark.NewList(out), nil
	case "paths":
		if d.paths == nil {
			return starlark.None, nil
		}
		return stringList(d.paths), nil
	case "class_indices":
		out := make([]starlark.Value, len(d.byClass))
		for c, idx := range d.byClass {
			out[c] = intList(idx)
		}
		return starlark.NewList(out), nil
	case "transform":
		if d.transform == nil {
			return starlark.None, nil
		}
		return d.transform, nil
	case "with_transform":
		return method(d, name, "ds.with_transform(transform): the same images with another transform (None for none).", d.withTransform), nil
	case "subset":
		return method(d, name, "ds.subset(indices): the images at the given indices (labels and classes unchanged).", d.subset), nil
	}
	return nil, nil
}

func (d *Dataset) withTransform(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var tv starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "transform", &tv); err != nil {
		return nil, err
	}
	tr, err := transformArg(b.Name(), tv)
	if err != nil {
		return nil, err
	}
	out := *d
	out.transform = tr
	return &out, nil
}

func (d *Dataset) subset(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var iv starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "indices", &iv); err != nil {
		return nil, err
	}
	idx, err := intsArg(b.Name(), "indices", iv)
	if err != nil {
		return nil, err
	}
	out := *d
	out.labels = make([]int32, len(idx))
	if d.paths != nil {
		out.paths = make([]string, len(idx))
	} else {
		out.mem = make([]byte, 0, len(idx)*d.memW*d.memH)
	}
	n := d.memW * d.memH
	for k, i := range idx {
		if i < 0 || i >= d.Len() {
			return nil, fmt.Errorf("%s: index %d out of range (%d images)", b.Name(), i, d.Len())
		}
		out.labels[k] = d.labels[i]
		if d.paths != nil {
			out.paths[k] = d.paths[i]
		} else {
			out.mem = append(out.mem, d.mem[i*n:(i+1)*n]...)
		}
	}
	out.index()
	return &out, nil
}

// Group holds the splits of a dataset (ds.train, ds.test, ...).
type Group struct {
	name, root string
	order      []string
	splits     map[string]*Dataset
}

var _ starlark.HasAttrs = (*Group)(nil)

func newGroup(thread *starlark.Thread, name, root string, splits []split, tr *Transform) *Group {
	g := &Group{name: name, root: root, splits: map[string]*Dataset{}}
	for _, s := range splits {
		g.order = append(g.order, s.name)
		g.splits[s.name] = newDataset(thread, name, root, s, tr)
	}
	return g
}

func (g *Group) String() string {
	parts := make([]string, len(g.order))
	for i, n := range g.order {
		d := g.splits[n]
		parts[i] = fmt.Sprintf("%s (%d images, %d classes)", n, d.Len(), len(d.classes))
	}
	return fmt.Sprintf("<%s at %s: %s>", g.name, g.root, strings.Join(parts, ", "))
}
func (g *Group) Type() string          { return "data.Datasets" }
func (g *Group) Freeze()               {}
func (g *Group) Truth() starlark.Bool  { return true }
func (g *Group) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: data.Datasets") }

func (g *Group) AttrNames() []string {
	names := append([]string{"name", "root", "splits"}, g.order...)
	sort.Strings(names)
	return names
}

func (g *Group) Attr(name string) (starlark.Value, error) {
	switch name {
	case "name":
		return starlark.String(g.name), nil
	case "root":
		return starlark.String(g.root), nil
	case "splits":
		return stringList(g.order), nil
	}
	if d, ok := g.splits[name]; ok {
		return d, nil
	}
	return nil, nil
}

// pick returns one split, or the group when split is "".
func (g *Group) pick(fn, split string) (starlark.Value, error) {
	if split == "" {
		return g, nil
	}
	if d, ok := g.splits[split]; ok {
		return d, nil
	}
	return nil, fmt.Errorf("%s: no split %q (the splits are %s)", fn, split, strings.Join(g.order, ", "))
}

// ---------------------------------------------------------------- helpers

func stringList(v []string) *starlark.List {
	out := make([]starlark.Value, len(v))
	for i, s := range v {
		out[i] = starlark.String(s)
	}
	return starlark.NewList(out)
}

func intList(v []int) *starlark.List {
	out := make([]starlark.Value, len(v))
	for i, x := range v {
		out[i] = starlark.MakeInt(x)
	}
	return starlark.NewList(out)
}

// method makes a bound method named <Type>.<name>.
func method(recv starlark.Value, name, doc string, fn func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error)) *starlark.Builtin {
	lang.SetDoc(recv.Type()+"."+name, doc)
	return starlark.NewBuiltin(recv.Type()+"."+name, lang.Safe(fn)).BindReceiver(recv)
}

// failIteration ends the for loop that is running thread with err. An
// Iterator cannot return an error, so the thread is cancelled with the
// message instead; the interpreter stops at its next step and reports it.
func failIteration(thread *starlark.Thread, err error) {
	if thread != nil {
		thread.Cancel(err.Error())
	}
}

// sampleTensor turns a finished sample into a tensor: float32 CHW after
// to_tensor, else uint8 CHW (torchvision.io's layout for image tensors).
func sampleTensor(s *sample) (*torch.Tensor, error) {
	if t := s.t; t != nil {
		a, err := aten.FromFloat32s(t.Data, int64(t.C), int64(t.H), int64(t.W))
		if err != nil {
			return nil, err
		}
		return torch.New(a), nil
	}
	m, err := s.image("")
	if err != nil {
		return nil, err
	}
	n := m.W * m.H
	buf := make([]byte, m.C*n)
	for c := 0; c < m.C; c++ {
		for i := 0; i < n; i++ {
			buf[c*n+i] = m.Pix[i*m.C+c]
		}
	}
	a, err := aten.FromData(ptr(buf), aten.Uint8, []int64{int64(m.C), int64(m.H), int64(m.W)})
	if err != nil {
		return nil, err
	}
	return torch.New(a), nil
}

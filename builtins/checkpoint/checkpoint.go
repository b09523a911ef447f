// Package checkpoint is the `checkpoint` module of dadash scripts: saving
// and restoring whole training states (model, optimizer, scheduler, epoch,
// RNG state, best scores) in one file, written atomically.
//
// The file is a safetensors file: every tensor is stored under its path in
// the saved structure ("model/layer1.0.conv1.weight",
// "optimizer/state/0/exp_avg"), and the "dadash.checkpoint" entry of the
// safetensors metadata holds a JSON description of the whole structure that
// refers to those names (see encode.go for the encoding of values), so the
// safetensors library and plain JSON are all Python needs to read it.
package checkpoint

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/builtins/torch"
	"github.com/dadash/dadash/builtins/torch/aten"
	"github.com/dadash/dadash/builtins/torch/safetensors"
	"github.com/dadash/dadash/internal/sandbox"
	"github.com/dadash/dadash/lang"
)

// FormatVersion is the version of the JSON description this package writes.
const FormatVersion = 1

// metadataKey is the safetensors metadata entry holding the description.
const metadataKey = "dadash.checkpoint"

// Module is the checkpoint module value.
var Module *torch.Namespace

func init() {
	Module = torch.NewNamespace("checkpoint", "-", docModule, starlark.StringDict{
		"save":    lang.Func("checkpoint.save", docSave, fnSave),
		"load":    lang.Func("checkpoint.load", docLoad, fnLoad),
		"restore": lang.Func("checkpoint.restore", docRestore, fnRestore),
	})
	lang.Register(lang.Module{Name: "checkpoint", Value: Module, Doc: docModule})
	lang.SetDoc("checkpoint", docModule)
	lang.SetDoc("Checkpoint", docCheckpoint)
	for _, m := range ckMethods {
		lang.SetDoc("Checkpoint."+m.name, m.doc)
	}
}

const docModule = `checkpoint: save and resume whole training states in one file.

    checkpoint.save(path, model = model, optimizer = opt, scheduler = sched, epoch = epoch,
                    best = {"mAP_R": 0.31}, rng = torch.get_rng_state())
    ck = checkpoint.load(path)           # ck.epoch, ck["model"], ck.keys()
    ck.restore(model = model, optimizer = opt, scheduler = sched)
    torch.set_rng_state(ck.rng)
Objects with a state_dict() method (models, optimizers, schedulers, a struct of your own)
are stored as their state dicts and restored with load_state_dict(); tensors and plain
values (None, bool, int, float, str, lists, tuples and dicts of them) are stored as they
are. The file is written atomically: a crash while saving leaves the previous checkpoint.
Format: a safetensors file whose tensors are named by their path in the saved structure
(model/fc.weight, optimizer/state/0/exp_avg) and whose metadata entry "dadash.checkpoint"
is JSON describing the structure; Python reads it with safetensors and json.
For a run that resumes bit for bit, save the RNG state and draw all randomness from torch.`

const docSave = `checkpoint.save(path, **objects)

Writes the keyword arguments to one checkpoint file at path, atomically (a temporary file
in the same folder, synced, then renamed over path). For each value: an object with a
state_dict() method is stored as its state dict (and restore() gives it back through
load_state_dict); tensors and None, bool, int, float, str and lists, tuples and dicts of
those are stored as they are. Tensors keep their dtype; GPU tensors are copied to the CPU.
The state dicts are taken when save() runs, so save after the optimizer step.`

const docLoad = `checkpoint.load(path, map_location=None)

Reads a checkpoint written by checkpoint.save. Returns a Checkpoint: the saved items are
its attributes and keys (ck.epoch, ck["model"] is the model's state dict), with ck.keys(),
ck.items(), ck.get(name, default=None), ck.restore(**objects) and ck.info().
Tensors load on the CPU, or on map_location ("cuda:0"); load_state_dict moves optimizer state
to where its parameters live. A truncated or corrupt file is an error naming the file.`

const docRestore = `checkpoint.restore(path, map_location=None, **objects)

checkpoint.load(path, map_location) followed by ck.restore(**objects); returns the Checkpoint,
so ck = checkpoint.restore(path, model = model, optimizer = opt) also gives ck.epoch.`

const docCheckpoint = `Checkpoint: what checkpoint.load returns.

The saved items are attributes and keys: ck.epoch, ck["model"] (a state dict for objects
saved with state_dict(); a method name such as "keys" is reachable as ck["keys"] only).
ck.keys(), ck.items(), ck.get(name, default=None), "name" in ck, len(ck);
ck.restore(model = m, optimizer = opt, ...) calls each object's load_state_dict with the
stored item of that name; ck.info() gives the path, format version, dadash and libtorch
versions and the time of saving.`

// ---------------------------------------------------------------- saving

// item is one saved keyword argument.
type item struct {
	name      string
	stateDict bool   // saved through state_dict()
	typ       string // the saved object's type
	value     starlark.Value
}

type itemJSON struct {
	Name      string          `json:"name"`
	Type      string          `json:"type"`
	StateDict bool            `json:"state_dict,omitempty"`
	Value     json.RawMessage `json:"value"`
}

type description struct {
	Format   string     `json:"format"`
	Version  int        `json:"version"`
	Dadash   string     `json:"dadash,omitempty"`
	Libtorch string     `json:"libtorch,omitempty"`
	Created  string     `json:"created,omitempty"`
	Items    []itemJSON `json:"items"`
}

// pathArg takes path from the first positional argument or path=, and
// returns the remaining keyword arguments.
func pathArg(fn string, args starlark.Tuple, kwargs []starlark.Tuple, reserved ...string) (string, map[string]starlark.Value, []starlark.Tuple, error) {
	var pathV starlark.Value
	if len(args) > 1 {
		return "", nil, nil, fmt.Errorf("%s: takes the path and keyword arguments only (got %d positional arguments); name what you save: %s(path, model = model, epoch = epoch)", fn, len(args), fn)
	}
	if len(args) == 1 {
		pathV = args[0]
	}
	opts := map[string]starlark.Value{}
	var rest []starlark.Tuple
	for _, kv := range kwargs {
		k := string(kv[0].(starlark.String))
		isReserved := k == "path"
		for _, r := range reserved {
			isReserved = isReserved || k == r
		}
		if !isReserved {
			rest = append(rest, kv)
			continue
		}
		if k == "path" {
			if pathV != nil {
				return "", nil, nil, fmt.Errorf("%s: got the path twice", fn)
			}
			pathV = kv[1]
			continue
		}
		opts[k] = kv[1]
	}
	if pathV == nil {
		return "", nil, nil, fmt.Errorf("%s: missing the path", fn)
	}
	p, ok := pathV.(starlark.String)
	if !ok {
		return "", nil, nil, fmt.Errorf("%s: path must be a string, got %s", fn, pathV.Type())
	}
	return string(p), opts, rest, nil
}

func fnSave(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	path, _, objects, err := pathArg(b.Name(), args, kwargs)
	if err != nil {
		return nil, err
	}
	if err := sandbox.Write(thread, b.Name(), path); err != nil {
		return nil, err
	}
	if len(objects) == 0 {
		return nil, fmt.Errorf("%s: nothing to save; pass what to save as keywords: %s(path, model = model, optimizer = opt, epoch = epoch)", b.Name(), b.Name())
	}
	if err := save(thread, path, objects); err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return starlark.None, nil
}

// save writes the named objects to path.
func save(thread *starlark.Thread, path string, objects []starlark.Tuple) error {
	items := make([]item, 0, len(objects))
	for _, kv := range objects {
		name, v := string(kv[0].(starlark.String)), kv[1]
		it := item{name: name, typ: v.Type(), value: v}
		sd, ok, err := callIfHas(thread, v, "state_dict")
		if err != nil {
			return fmt.Errorf("%s: %s.state_dict(): %w", name, v.Type(), err)
		}
		if ok {
			it.stateDict, it.value = true, sd
		}
		items = append(items, it)
	}
	enc := &encoder{names: map[string]bool{}}
	desc := description{Format: metadataKey, Version: FormatVersion, Dadash: dadashVersion(), Libtorch: aten.TorchVersion(), Created: time.Now().UTC().Format(time.RFC3339)}
	for _, it := range items {
		var buf bytes.Buffer
		if err := enc.encode(&buf, it.value, it.name, 0); err != nil {
			if it.stateDict {
				return fmt.Errorf("%s.state_dict() returned something a checkpoint cannot hold: %w", it.name, err)
			}
			return err
		}
		desc.Items = append(desc.Items, itemJSON{Name: it.name, Type: it.typ, StateDict: it.stateDict, Value: buf.Bytes()})
	}
	js, err := json.Marshal(desc)
	if err != nil {
		return err
	}
	meta := map[string]string{"format": "pt", metadataKey: string(js)}
	return safetensors.Write(path, enc.tensors, meta)
}

// callIfHas calls v.name() when v has such a method; ok reports whether it did.
func callIfHas(thread *starlark.Thread, v starlark.Value, name string) (starlark.Value, bool, error) {
	fn, err := method(v, name)
	if err != nil || fn == nil {
		return nil, false, err
	}
	out, err := starlark.Call(thread, fn, nil, nil)
	return out, true, err
}

// method returns v's callable attribute name, or nil.
func method(v starlark.Value, name string) (starlark.Callable, error) {
	if _, ok := v.(*torch.Tensor); ok {
		return nil, nil // tensors are stored as they are
	}
	ha, ok := v.(starlark.HasAttrs)
	if !ok {
		return nil, nil
	}
	a, err := ha.Attr(name)
	if err != nil {
		var nsa starlark.NoSuchAttrError
		if errors.As(err, &nsa) {
			return nil, nil
		}
		return nil, err
	}
	fn, ok := a.(starlark.Callable)
	if !ok {
		return nil, nil
	}
	return fn, nil
}

// dadashVersion is the module version of the running binary, or "dev" and
// the commit for a build from a checkout.
func dadashVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	v := "dev"
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " " + s.Value[:12]
		}
		if s.Key == "vcs.modified" && s.Value == "true" {
			v += "+dirty"
		}
	}
	return v
}

// ---------------------------------------------------------------- loading

func fnLoad(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	path, opts, rest, err := pathArg(b.Name(), args, kwargs, "map_location")
	if err != nil {
		return nil, err
	}
	if err := sandbox.Read(thread, b.Name(), path); err != nil {
		return nil, err
	}
	if len(rest) > 0 {
		return nil, fmt.Errorf("%s: unexpected keyword argument %q (to load state into objects use checkpoint.restore(path, %s = ...))", b.Name(), string(rest[0][0].(starlark.String)), string(rest[0][0].(starlark.String)))
	}
	ck, err := load(path, opts["map_location"])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return ck, nil
}

func fnRestore(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	path, opts, objects, err := pathArg(b.Name(), args, kwargs, "map_location")
	if err != nil {
		return nil, err
	}
	if err := sandbox.Read(thread, b.Name(), path); err != nil {
		return nil, err
	}
	if len(objects) == 0 {
		return nil, fmt.Errorf("%s: nothing to restore; name the objects: %s(path, model = model, optimizer = opt)", b.Name(), b.Name())
	}
	ck, err := load(path, opts["map_location"])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	if err := ck.restore(thread, objects); err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return ck, nil
}

func load(path string, loc starlark.Value) (*Checkpoint, error) {
	device := ""
	switch l := loc.(type) {
	case nil, starlark.NoneType:
	case starlark.String:
		device = string(l)
	case interface{ DeviceString() string }: // torch.device(...)
		device = l.DeviceString()
	default:
		return nil, fmt.Errorf("map_location must be a device string such as \"cpu\" or \"cuda:0\", got %s", loc.Type())
	}
	if device != "" {
		if err := aten.CheckDevice(device); err != nil {
			return nil, err
		}
	}
	if _, err := os.Stat(path); err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("cannot read %s: %w", path, err)
	}
	if kind := foreignKind(path); kind != "" {
		return nil, fmt.Errorf("%s is not a dadash checkpoint: it is %s", path, kind)
	}
	f, err := safetensors.Read(path) // validates the whole layout; errors name the file
	if err != nil {
		return nil, err
	}
	return fromFile(path, f, device)
}

// foreignKind says what a file of another format is, from its first bytes.
func foreignKind(path string) string {
	fh, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer fh.Close()
	head := make([]byte, 8)
	n, _ := io.ReadFull(fh, head)
	return safetensors.Foreign(head[:n])
}

// fromFile rebuilds the checkpoint that f's description describes.
func fromFile(path string, f *safetensors.File, device string) (*Checkpoint, error) {
	raw, ok := f.Metadata[metadataKey]
	if !ok {
		return nil, fmt.Errorf("%s is not a dadash checkpoint (its safetensors metadata has no %q entry); read plain tensor files with torch.load", path, metadataKey)
	}
	if len(raw) > maxDescription {
		return nil, fmt.Errorf("%s: corrupt checkpoint description: %d bytes, more than the %d a checkpoint's structure needs", path, len(raw), maxDescription)
	}
	var desc struct {
		Format   string `json:"format"`
		Version  int    `json:"version"`
		Dadash   string `json:"dadash"`
		Libtorch string `json:"libtorch"`
		Created  string `json:"created"`
		Items    []struct {
			Name      string          `json:"name"`
			Type      string          `json:"type"`
			StateDict bool            `json:"state_dict"`
			Value     json.RawMessage `json:"value"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(raw), &desc); err != nil {
		return nil, fmt.Errorf("%s: corrupt checkpoint description: %w", path, err)
	}
	if desc.Version > FormatVersion {
		return nil, fmt.Errorf("%s was written by a newer dadash (checkpoint format %d; this one reads up to %d)", path, desc.Version, FormatVersion)
	}
	ck := &Checkpoint{path: path, values: map[string]starlark.Value{}, info: map[string]string{
		"dadash": desc.Dadash, "libtorch": desc.Libtorch, "created": desc.Created,
	}, version: desc.Version}
	d := &decoder{file: f, device: device, used: map[string]bool{}}
	for _, it := range desc.Items {
		if _, dup := ck.values[it.Name]; dup {
			return nil, fmt.Errorf("%s: corrupt checkpoint description: item %q appears twice", path, it.Name)
		}
		v, err := d.decodeRaw(it.Value)
		if err != nil {
			return nil, fmt.Errorf("%s: corrupt checkpoint description: item %q: %w", path, it.Name, err)
		}
		ck.names = append(ck.names, it.Name)
		ck.values[it.Name] = v
		ck.types = append(ck.types, it.Type)
	}
	return ck, nil
}

// ---------------------------------------------------------------- the value

// Checkpoint is what checkpoint.load returns.
type Checkpoint struct {
	path    string
	version int
	info    map[string]string
	names   []string
	types   []string
	values  map[string]starlark.Value
}

var (
	_ starlark.HasAttrs        = (*Checkpoint)(nil)
	_ starlark.IterableMapping = (*Checkpoint)(nil)
	_ starlark.Sequence        = (*Checkpoint)(nil)
	_ lang.Documented          = (*Checkpoint)(nil)
)

func (c *Checkpoint) Type() string          { return "Checkpoint" }
func (c *Checkpoint) Freeze()               {}
func (c *Checkpoint) Truth() starlark.Bool  { return true }
func (c *Checkpoint) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: Checkpoint") }
func (c *Checkpoint) Doc() string           { return docCheckpoint }
func (c *Checkpoint) String() string {
	return fmt.Sprintf("<Checkpoint %s: %s>", c.path, strings.Join(c.names, ", "))
}

func (c *Checkpoint) Len() int { return len(c.names) }

func (c *Checkpoint) Iterate() starlark.Iterator { return c.keyList().Iterate() }

func (c *Checkpoint) keyList() *starlark.List {
	keys := make([]starlark.Value, len(c.names))
	for i, n := range c.names {
		keys[i] = starlark.String(n)
	}
	return starlark.NewList(keys)
}

func (c *Checkpoint) Items() []starlark.Tuple {
	out := make([]starlark.Tuple, len(c.names))
	for i, n := range c.names {
		out[i] = starlark.Tuple{starlark.String(n), c.values[n]}
	}
	return out
}

// Get implements ck["name"] and `"name" in ck`.
func (c *Checkpoint) Get(k starlark.Value) (starlark.Value, bool, error) {
	s, ok := k.(starlark.String)
	if !ok {
		return nil, false, fmt.Errorf("checkpoint keys are strings, got %s", k.Type())
	}
	v, found := c.values[string(s)]
	if !found {
		return nil, false, fmt.Errorf("%s has no item %q (it has %s)", c.path, string(s), c.listing())
	}
	return v, true, nil
}

func (c *Checkpoint) listing() string {
	if len(c.names) == 0 {
		return "none"
	}
	return strings.Join(c.names, ", ")
}

var ckMethods = []struct {
	name, doc string
	fn        func(c *Checkpoint, fn string, thread *starlark.Thread, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error)
}{
	{"keys", "ck.keys(): the names of the saved items, in the order they were saved.", (*Checkpoint).mKeys},
	{"items", "ck.items(): (name, value) pairs of the saved items.", (*Checkpoint).mItems},
	{"get", "ck.get(name, default=None): the saved item, or default when the checkpoint has no such item.", (*Checkpoint).mGet},
	{"restore", "ck.restore(**objects): for each name = object, calls object.load_state_dict(ck[name]); errors name the item. Restore the RNG with torch.set_rng_state(ck.rng).", (*Checkpoint).mRestore},
	{"info", "ck.info(): a dict with the file's path, format version, the dadash and libtorch versions that wrote it, and when (UTC).", (*Checkpoint).mInfo},
}

func (c *Checkpoint) Attr(name string) (starlark.Value, error) {
	for _, m := range ckMethods {
		if m.name == name {
			m := m
			qual := "Checkpoint." + m.name
			return starlark.NewBuiltin(qual, lang.Safe(func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
				return m.fn(b.Receiver().(*Checkpoint), qual, thread, args, kwargs)
			})).BindReceiver(c), nil
		}
	}
	if v, ok := c.values[name]; ok {
		return v, nil
	}
	return nil, starlark.NoSuchAttrError(fmt.Sprintf("checkpoint %s has no item %q (it has %s)", c.path, name, c.listing()))
}

func (c *Checkpoint) AttrNames() []string {
	names := append([]string(nil), c.names...)
	for _, m := range ckMethods {
		names = append(names, m.name)
	}
	sort.Strings(names)
	return names
}

func (c *Checkpoint) mKeys(fn string, thread *starlark.Thread, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(fn, args, kwargs); err != nil {
		return nil, err
	}
	return c.keyList(), nil
}

func (c *Checkpoint) mItems(fn string, thread *starlark.Thread, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(fn, args, kwargs); err != nil {
		return nil, err
	}
	out := make([]starlark.Value, len(c.names))
	for i, kv := range c.Items() {
		out[i] = kv
	}
	return starlark.NewList(out), nil
}

func (c *Checkpoint) mGet(fn string, thread *starlark.Thread, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	var def starlark.Value = starlark.None
	if err := starlark.UnpackArgs(fn, args, kwargs, "name", &name, "default?", &def); err != nil {
		return nil, err
	}
	if v, ok := c.values[name]; ok {
		return v, nil
	}
	return def, nil
}

func (c *Checkpoint) mInfo(fn string, thread *starlark.Thread, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(fn, args, kwargs); err != nil {
		return nil, err
	}
	d := starlark.NewDict(5)
	d.SetKey(starlark.String("path"), starlark.String(c.path))
	d.SetKey(starlark.String("version"), starlark.MakeInt(c.version))
	for _, k := range []string{"dadash", "libtorch", "created"} {
		d.SetKey(starlark.String(k), starlark.String(c.info[k]))
	}
	types := starlark.NewDict(len(c.names))
	for i, n := range c.names {
		types.SetKey(starlark.String(n), starlark.String(c.types[i]))
	}
	d.SetKey(starlark.String("types"), types)
	return d, nil
}

func (c *Checkpoint) mRestore(fn string, thread *starlark.Thread, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(args) > 0 {
		return nil, fmt.Errorf("%s: takes keyword arguments only, name = object: ck.restore(model = model, optimizer = opt)", fn)
	}
	if len(kwargs) == 0 {
		return nil, fmt.Errorf("%s: nothing to restore; name the objects: ck.restore(model = model, optimizer = opt)", fn)
	}
	if err := c.restore(thread, kwargs); err != nil {
		return nil, fmt.Errorf("%s: %w", fn, err)
	}
	return starlark.None, nil
}

// restore calls load_state_dict on each object with its stored item. All
// names and methods are checked before anything is loaded.
func (c *Checkpoint) restore(thread *starlark.Thread, objects []starlark.Tuple) error {
	fns := make([]starlark.Callable, len(objects))
	for i, kv := range objects {
		name, obj := string(kv[0].(starlark.String)), kv[1]
		if _, ok := c.values[name]; !ok {
			return fmt.Errorf("%s has no item %q (it has %s)", c.path, name, c.listing())
		}
		fn, err := method(obj, "load_state_dict")
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if fn == nil {
			return fmt.Errorf("%s: a %s has no load_state_dict method; restore objects that have one (models, optimizers, schedulers) and read plain values as ck.%s", name, obj.Type(), name)
		}
		fns[i] = fn
	}
	for i, kv := range objects {
		name := string(kv[0].(starlark.String))
		if _, err := starlark.Call(thread, fns[i], starlark.Tuple{c.values[name]}, nil); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

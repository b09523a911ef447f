package checkpoint

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unsafe"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/builtins/torch"
	"github.com/dadash/dadash/builtins/torch/aten"
	"github.com/dadash/dadash/builtins/torch/safetensors"
)

// The structure of a checkpoint is JSON in the safetensors metadata; each
// value is encoded so that Python's json module reads it back with the
// same types:
//
//	None, True, False      null, true, false
//	int                    a JSON integer (3)
//	float                  a JSON number with a point or exponent (3.0, 1e-08);
//	                       {"float": "nan" | "inf" | "-inf"} for non-finite ones
//	str                    a JSON string
//	list                   a JSON array
//	tuple                  {"tuple": [...]}
//	dict                   {"dict": [[key, value], ...]} (keys keep their types and order)
//	Tensor                 {"tensor": "<name of the tensor in the file>"}

// maxDepth bounds nesting, which also stops self-referencing lists.
const maxDepth = 100

// encoder turns values into JSON and collects their tensors.
type encoder struct {
	tensors []safetensors.Tensor
	names   map[string]bool
}

func (e *encoder) encode(b *bytes.Buffer, v starlark.Value, path string, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("%s: nested more than %d levels deep (does a list contain itself?)", path, maxDepth)
	}
	switch x := v.(type) {
	case starlark.NoneType:
		b.WriteString("null")
	case starlark.Bool:
		if x {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case starlark.Int:
		b.WriteString(x.String())
	case starlark.Float:
		f := float64(x)
		switch {
		case math.IsNaN(f):
			b.WriteString(`{"float":"nan"}`)
		case math.IsInf(f, 1):
			b.WriteString(`{"float":"inf"}`)
		case math.IsInf(f, -1):
			b.WriteString(`{"float":"-inf"}`)
		default:
			s := strconv.FormatFloat(f, 'g', -1, 64)
			if !strings.ContainsAny(s, ".e") {
				s += ".0" // keeps it a float for readers that type numbers by their spelling
			}
			b.WriteString(s)
		}
	case starlark.String:
		writeJSONString(b, string(x))
	case *starlark.List:
		return e.encodeSeq(b, x, path, depth)
	case starlark.Tuple:
		b.WriteString(`{"tuple":`)
		if err := e.encodeSeq(b, x, path, depth); err != nil {
			return err
		}
		b.WriteString("}")
	case *starlark.Dict:
		b.WriteString(`{"dict":[`)
		for i, kv := range x.Items() {
			if i > 0 {
				b.WriteString(",")
			}
			switch kv[0].(type) {
			case starlark.NoneType, starlark.Bool, starlark.Int, starlark.Float, starlark.String, starlark.Tuple:
			default:
				return fmt.Errorf("%s: a dict key is a %s; checkpoints store keys that are None, bool, int, float, str or tuples of them", path, kv[0].Type())
			}
			b.WriteString("[")
			if err := e.encode(b, kv[0], path, depth+1); err != nil {
				return err
			}
			b.WriteString(",")
			if err := e.encode(b, kv[1], path+"/"+keyName(kv[0]), depth+1); err != nil {
				return err
			}
			b.WriteString("]")
		}
		b.WriteString("]}")
	case *torch.Tensor:
		name, err := e.addTensor(path, x.ATen())
		if err != nil {
			return err
		}
		b.WriteString(`{"tensor":`)
		writeJSONString(b, name)
		b.WriteString("}")
	default:
		return fmt.Errorf("%s: a %s cannot be stored; checkpoints hold None, bool, int, float, str, tensors, and lists, tuples and dicts of them (and, as keyword arguments, objects with a state_dict() method)", path, v.Type())
	}
	return nil
}

func (e *encoder) encodeSeq(b *bytes.Buffer, seq starlark.Indexable, path string, depth int) error {
	b.WriteString("[")
	for i := 0; i < seq.Len(); i++ {
		if i > 0 {
			b.WriteString(",")
		}
		if err := e.encode(b, seq.Index(i), fmt.Sprintf("%s/%d", path, i), depth+1); err != nil {
			return err
		}
	}
	b.WriteString("]")
	return nil
}

// keyName is how a dict key appears in tensor names.
func keyName(k starlark.Value) string {
	if s, ok := k.(starlark.String); ok {
		return string(s)
	}
	return k.String()
}

// addTensor copies a tensor's bytes (from any device, in C order) under a
// unique name derived from its path.
func (e *encoder) addTensor(path string, t aten.Tensor) (string, error) {
	name := path
	for i := 2; e.names[name]; i++ {
		name = fmt.Sprintf("%s~%d", path, i) // keys such as "a/b" can collide with nesting
	}
	e.names[name] = true
	st, err := safetensors.FromTorchDType(t.DType().String())
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	n := int(t.Numel()) * t.DType().ElemSize()
	data := make([]byte, n)
	var p unsafe.Pointer
	if n > 0 {
		p = unsafe.Pointer(&data[0])
	}
	if err := t.CopyOut(t.DType(), p, n); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	e.tensors = append(e.tensors, safetensors.Tensor{Name: name, DType: st, Shape: t.Shape(), Data: data})
	return name, nil
}

func writeJSONString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	b.Truncate(b.Len() - 1)
}

// ---------------------------------------------------------------- decoding

// Bounds on a description, which comes from the file: what save writes is
// far inside them.
const (
	// maxDescription is the most bytes of JSON; a description takes about
	// 60 bytes per tensor and a few per plain value.
	maxDescription = 16 << 20
	// maxDescDepth is the deepest JSON nesting: save nests at most
	// maxDepth values, a dict level taking 3 JSON levels.
	maxDescDepth = 3*maxDepth + 8
	// maxDescValues is the most JSON values, containers included.
	maxDescValues = 1 << 19
)

// decoder rebuilds values from the description's JSON and the file's
// tensors. It reads the JSON token by token into Starlark values, so that
// depth and size are checked as it goes, with no intermediate tree.
type decoder struct {
	file   *safetensors.File
	device string          // map_location; "" keeps the CPU
	used   map[string]bool // tensors already referenced: each may be once
	index  map[string]int  // the file's tensors by name
	values int
	dec    *json.Decoder
}

func (d *decoder) decodeRaw(raw json.RawMessage) (starlark.Value, error) {
	d.dec = json.NewDecoder(bytes.NewReader(raw))
	d.dec.UseNumber()
	return d.decode(0)
}

func (d *decoder) token() (json.Token, error) {
	t, err := d.dec.Token()
	if err == io.EOF {
		return nil, fmt.Errorf("the JSON ends early")
	}
	return t, err
}

// expect reads the delimiter want, for the structure of a node.
func (d *decoder) expect(want json.Delim, what string) error {
	t, err := d.token()
	if err != nil {
		return err
	}
	if t != want {
		return fmt.Errorf("%s holds %s, want %s", what, tokenString(t), string(want))
	}
	return nil
}

func tokenString(t json.Token) string {
	switch x := t.(type) {
	case json.Delim:
		if x == '[' {
			return "an array"
		}
		if x == '{' {
			return "an object"
		}
		return string(x)
	case string:
		return strconv.Quote(short(x))
	case nil:
		return "null"
	}
	return fmt.Sprint(t)
}

func short(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// items decodes the values of an array whose '[' was read, through ']'.
func (d *decoder) items(depth int) ([]starlark.Value, error) {
	var out []starlark.Value
	for d.dec.More() {
		v, err := d.decode(depth + 1)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, d.expect(']', "an array")
}

func (d *decoder) decode(depth int) (starlark.Value, error) {
	if depth > maxDescDepth {
		return nil, fmt.Errorf("nested more than %d levels deep", maxDescDepth)
	}
	if d.values++; d.values > maxDescValues {
		return nil, fmt.Errorf("more than %d values", maxDescValues)
	}
	t, err := d.token()
	if err != nil {
		return nil, err
	}
	switch x := t.(type) {
	case nil:
		return starlark.None, nil
	case bool:
		return starlark.Bool(x), nil
	case json.Number:
		return number(string(x))
	case string:
		return starlark.String(x), nil
	case json.Delim:
		switch x {
		case '[':
			elems, err := d.items(depth)
			if err != nil {
				return nil, err
			}
			return starlark.NewList(elems), nil
		case '{':
			return d.node(depth)
		}
	}
	return nil, fmt.Errorf("unexpected JSON %s", tokenString(t))
}

// node decodes {"kind": ...} whose '{' was read, through '}'.
func (d *decoder) node(depth int) (starlark.Value, error) {
	if !d.dec.More() {
		return nil, fmt.Errorf("unknown node {}")
	}
	t, err := d.token()
	if err != nil {
		return nil, err
	}
	kind, _ := t.(string)
	var v starlark.Value
	switch kind {
	case "tuple":
		if err := d.expect('[', "a tuple node"); err != nil {
			return nil, err
		}
		elems, err := d.items(depth + 1)
		if err != nil {
			return nil, err
		}
		v = starlark.Tuple(elems)
	case "dict":
		if err := d.expect('[', "a dict node"); err != nil {
			return nil, err
		}
		out := starlark.NewDict(0)
		for d.dec.More() {
			if err := d.expect('[', "a dict entry"); err != nil {
				return nil, fmt.Errorf("%v (want [key, value] pairs)", err)
			}
			var kv [2]starlark.Value
			for i := range kv {
				if !d.dec.More() {
					return nil, fmt.Errorf("a dict entry has %d items, want a [key, value] pair", i)
				}
				if kv[i], err = d.decode(depth + 3); err != nil {
					return nil, err
				}
			}
			if d.dec.More() {
				return nil, fmt.Errorf("a dict entry has more than 2 items, want a [key, value] pair")
			}
			if err := d.expect(']', "a dict entry"); err != nil {
				return nil, err
			}
			if err := out.SetKey(kv[0], kv[1]); err != nil {
				return nil, err
			}
		}
		if err := d.expect(']', "a dict node"); err != nil {
			return nil, err
		}
		v = out
	case "float":
		t, err := d.token()
		if err != nil {
			return nil, err
		}
		switch t {
		case "nan":
			v = starlark.Float(math.NaN())
		case "inf":
			v = starlark.Float(math.Inf(1))
		case "-inf":
			v = starlark.Float(math.Inf(-1))
		default:
			return nil, fmt.Errorf("bad float node %s", tokenString(t))
		}
	case "tensor":
		t, err := d.token()
		if err != nil {
			return nil, err
		}
		name, ok := t.(string)
		if !ok {
			return nil, fmt.Errorf("a tensor node holds %s, want the tensor's name", tokenString(t))
		}
		if v, err = d.tensor(name); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("unknown node kind %s", tokenString(t))
	}
	if d.dec.More() {
		return nil, fmt.Errorf("a %s node has more than one key", kind)
	}
	return v, d.expect('}', "a "+kind+" node")
}

func number(s string) (starlark.Value, error) {
	if strings.ContainsAny(s, ".eE") {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("bad number %s", short(s))
		}
		return starlark.Float(f), nil
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return starlark.MakeInt64(i), nil
	}
	if len(s) > 1000 {
		return nil, fmt.Errorf("an integer of %d digits", len(s))
	}
	n, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return nil, fmt.Errorf("bad number %s", short(s))
	}
	return starlark.MakeBigInt(n), nil
}

var atenDTypes = map[string]aten.DType{
	"F64": aten.Float64, "F32": aten.Float32, "F16": aten.Float16, "BF16": aten.BFloat16,
	"I64": aten.Int64, "I32": aten.Int32, "I16": aten.Int16, "I8": aten.Int8, "U8": aten.Uint8, "BOOL": aten.Bool,
}

func (d *decoder) tensor(name string) (starlark.Value, error) {
	if d.index == nil {
		d.index = make(map[string]int, len(d.file.Tensors))
		for i, t := range d.file.Tensors {
			d.index[t.Name] = i
		}
	}
	i, ok := d.index[name]
	if !ok {
		return nil, fmt.Errorf("the structure refers to tensor %q, which the file does not hold", short(name))
	}
	// save stores each tensor once; a description that refers to one
	// twice would make every reference a copy (a 1 MiB tensor referred to
	// 1,000 times would take 1 GB).
	if d.used[name] {
		return nil, fmt.Errorf("the structure refers to tensor %q more than once; checkpoint.save stores each tensor once (corrupt or hand-made file)", short(name))
	}
	d.used[name] = true
	st := &d.file.Tensors[i]
	dt, ok := atenDTypes[st.DType]
	if !ok {
		return nil, fmt.Errorf("tensor %q has dtype %s, which dadash does not support", name, st.DType)
	}
	var p unsafe.Pointer
	if len(st.Data) > 0 {
		p = unsafe.Pointer(&st.Data[0])
	}
	t, err := aten.FromData(p, dt, st.Shape)
	if err != nil {
		return nil, fmt.Errorf("tensor %q: %w", name, err)
	}
	if d.device != "" && d.device != "cpu" {
		if t, err = t.To(-1, d.device, false); err != nil {
			return nil, fmt.Errorf("tensor %q: %w", name, err)
		}
	}
	return torch.New(t), nil
}

package checkpoint

import (
	"bytes"
	"encoding/json"
	"fmt"
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

// decoder rebuilds values from the parsed JSON and the file's tensors.
type decoder struct {
	file   *safetensors.File
	device string // map_location; "" keeps the CPU
}

func (d *decoder) decode(v any) (starlark.Value, error) {
	switch x := v.(type) {
	case nil:
		return starlark.None, nil
	case bool:
		return starlark.Bool(x), nil
	case json.Number:
		s := string(x)
		if strings.ContainsAny(s, ".eE") {
			f, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return nil, fmt.Errorf("bad number %s", s)
			}
			return starlark.Float(f), nil
		}
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return starlark.MakeInt64(i), nil
		}
		n, ok := new(big.Int).SetString(s, 10)
		if !ok {
			return nil, fmt.Errorf("bad number %s", s)
		}
		return starlark.MakeBigInt(n), nil
	case string:
		return starlark.String(x), nil
	case []any:
		elems, err := d.decodeAll(x)
		if err != nil {
			return nil, err
		}
		return starlark.NewList(elems), nil
	case map[string]any:
		if len(x) != 1 {
			return nil, fmt.Errorf("unknown node %v", x)
		}
		for k, inner := range x {
			switch k {
			case "tuple":
				arr, ok := inner.([]any)
				if !ok {
					return nil, fmt.Errorf("a tuple node holds %T, want an array", inner)
				}
				elems, err := d.decodeAll(arr)
				if err != nil {
					return nil, err
				}
				return starlark.Tuple(elems), nil
			case "dict":
				arr, ok := inner.([]any)
				if !ok {
					return nil, fmt.Errorf("a dict node holds %T, want an array of pairs", inner)
				}
				out := starlark.NewDict(len(arr))
				for _, e := range arr {
					pair, ok := e.([]any)
					if !ok || len(pair) != 2 {
						return nil, fmt.Errorf("a dict entry is %v, want a [key, value] pair", e)
					}
					k, err := d.decode(pair[0])
					if err != nil {
						return nil, err
					}
					v, err := d.decode(pair[1])
					if err != nil {
						return nil, err
					}
					if err := out.SetKey(k, v); err != nil {
						return nil, err
					}
				}
				return out, nil
			case "float":
				switch inner {
				case "nan":
					return starlark.Float(math.NaN()), nil
				case "inf":
					return starlark.Float(math.Inf(1)), nil
				case "-inf":
					return starlark.Float(math.Inf(-1)), nil
				}
				return nil, fmt.Errorf("bad float node %v", inner)
			case "tensor":
				name, ok := inner.(string)
				if !ok {
					return nil, fmt.Errorf("a tensor node holds %T, want the tensor's name", inner)
				}
				return d.tensor(name)
			}
			return nil, fmt.Errorf("unknown node kind %q", k)
		}
	}
	return nil, fmt.Errorf("unexpected JSON value %v", v)
}

func (d *decoder) decodeAll(arr []any) ([]starlark.Value, error) {
	out := make([]starlark.Value, len(arr))
	for i, e := range arr {
		v, err := d.decode(e)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

var atenDTypes = map[string]aten.DType{
	"F64": aten.Float64, "F32": aten.Float32, "F16": aten.Float16, "BF16": aten.BFloat16,
	"I64": aten.Int64, "I32": aten.Int32, "I16": aten.Int16, "I8": aten.Int8, "U8": aten.Uint8, "BOOL": aten.Bool,
}

func (d *decoder) tensor(name string) (starlark.Value, error) {
	st, ok := d.file.Tensor(name)
	if !ok {
		return nil, fmt.Errorf("the structure refers to tensor %q, which the file does not hold", name)
	}
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

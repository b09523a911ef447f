// Package ptfile reads the tensors of files written by PyTorch's torch.save
// (the zip format of PyTorch 1.6 and later): state dicts, checkpoints that
// hold them, torchvision's weight files. It is pure Go: a zip reader and a
// small pickle machine for the opcodes torch.save emits. (libtorch's own
// unpickler rejects state dicts saved from Python: their OrderedDict
// carries a _metadata attribute it cannot rebuild.)
package ptfile

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"os"
	"strconv"
	"strings"
)

// Tensor is one tensor of the file, contiguous in row-major order.
type Tensor struct {
	Name  string // dotted path in the pickled structure: "layer1.0.conv1.weight", "state_dict.fc.bias"
	DType string // float32, float64, float16, bfloat16, int64, int32, int16, int8, uint8, bool
	Shape []int64
	Data  []byte // little-endian
}

// ErrLegacy marks files in PyTorch's pre-1.6 serialization format.
var ErrLegacy = errors.New("legacy PyTorch format")

var storageTypes = map[string]struct {
	dtype string
	size  int
}{
	"FloatStorage": {"float32", 4}, "DoubleStorage": {"float64", 8}, "HalfStorage": {"float16", 2},
	"BFloat16Storage": {"bfloat16", 2}, "LongStorage": {"int64", 8}, "IntStorage": {"int32", 4},
	"ShortStorage": {"int16", 2}, "CharStorage": {"int8", 1}, "ByteStorage": {"uint8", 1}, "BoolStorage": {"bool", 1},
}

// Read returns the tensors of a torch.save file, in pickle order.
func Read(path string) ([]Tensor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	out, err := ReadFrom(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// ReadFrom reads a torch.save file of the given size.
func ReadFrom(r io.ReaderAt, size int64) ([]Tensor, error) {
	head := make([]byte, 4)
	if _, err := r.ReadAt(head, 0); err != nil {
		return nil, fmt.Errorf("not a PyTorch file (too short)")
	}
	if !bytes.Equal(head, []byte("PK\x03\x04")) {
		if head[0] == 0x80 || bytes.HasPrefix(head, []byte{0x8a, 0x0a}) {
			return nil, fmt.Errorf("%w: written by PyTorch before 1.6 or with _use_new_zipfile_serialization=False; in Python re-save it with torch.save(torch.load(f), f2), or as .safetensors", ErrLegacy)
		}
		return nil, fmt.Errorf("not a zip-format PyTorch file (torch.save output) nor safetensors")
	}
	z, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("not a complete PyTorch zip file (truncated or corrupt?): %v", err)
	}
	var pkl *zip.File
	files := map[string]*zip.File{}
	for _, zf := range z.File {
		files[zf.Name] = zf
		if strings.HasSuffix(zf.Name, "/data.pkl") && strings.Count(zf.Name, "/") == 1 {
			pkl = zf
		}
	}
	if pkl == nil {
		return nil, fmt.Errorf("no data.pkl in the zip file: not written by torch.save")
	}
	prefix := strings.TrimSuffix(pkl.Name, "data.pkl")
	data, err := readAll(pkl)
	if err != nil {
		return nil, err
	}
	m := &machine{
		data: data,
		memo: map[int64]any{},
		loadStorage: func(key string) ([]byte, error) {
			zf := files[prefix+"data/"+key]
			if zf == nil {
				return nil, fmt.Errorf("storage %s missing from the zip file", key)
			}
			return readAll(zf)
		},
		storages: map[string][]byte{},
	}
	root, err := m.run()
	if err != nil {
		return nil, err
	}
	if o, ok := root.(*object); ok {
		return nil, fmt.Errorf("the file holds a pickled Python object (%s), not a state dict; in Python, save model.state_dict() instead of the model", o.class)
	}
	var out []Tensor
	flatten(root, "", &out)
	return out, nil
}

func readAll(zf *zip.File) ([]byte, error) {
	rc, err := zf.Open()
	if err != nil {
		return nil, fmt.Errorf("%s: %v", zf.Name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("%s: %v (truncated or corrupt?)", zf.Name, err)
	}
	return b, nil
}

// ---------------------------------------------------------------- values

type tuple []any

type list struct{ items []any }

type dict struct {
	keys []any
	vals map[any]any
}

func newDict() *dict { return &dict{vals: map[any]any{}} }

func (d *dict) set(k, v any) error {
	switch k.(type) {
	case string, int64, bool, nil, float64:
	default:
		return fmt.Errorf("unsupported dict key type %T", k)
	}
	if _, ok := d.vals[k]; !ok {
		d.keys = append(d.keys, k)
	}
	d.vals[k] = v
	return nil
}

type global struct{ module, name string }

type mark struct{}

type storage struct {
	dtype string
	size  int
	key   string
	numel int64
}

type tensorVal struct {
	t Tensor
}

// object is anything else a REDUCE or NEWOBJ built.
type object struct {
	class string
	args  any
	state any
}

// ---------------------------------------------------------------- machine

type machine struct {
	data        []byte
	pos         int
	stack       []any
	marks       []int
	memo        map[int64]any
	loadStorage func(key string) ([]byte, error)
	storages    map[string][]byte
}

var errTruncated = errors.New("data.pkl is truncated")

func (m *machine) read(n int) ([]byte, error) {
	if n < 0 || m.pos+n > len(m.data) {
		return nil, errTruncated
	}
	b := m.data[m.pos : m.pos+n]
	m.pos += n
	return b, nil
}

func (m *machine) u8() (int, error) {
	b, err := m.read(1)
	if err != nil {
		return 0, err
	}
	return int(b[0]), nil
}

func (m *machine) u32() (int, error) {
	b, err := m.read(4)
	if err != nil {
		return 0, err
	}
	return int(binary.LittleEndian.Uint32(b)), nil
}

func (m *machine) line() (string, error) {
	i := bytes.IndexByte(m.data[m.pos:], '\n')
	if i < 0 {
		return "", errTruncated
	}
	s := string(m.data[m.pos : m.pos+i])
	m.pos += i + 1
	return s, nil
}

func (m *machine) push(v any) { m.stack = append(m.stack, v) }

func (m *machine) pop() (any, error) {
	if len(m.stack) == 0 {
		return nil, fmt.Errorf("corrupt pickle: stack underflow at byte %d", m.pos)
	}
	v := m.stack[len(m.stack)-1]
	m.stack = m.stack[:len(m.stack)-1]
	return v, nil
}

func (m *machine) top() (any, error) {
	if len(m.stack) == 0 {
		return nil, fmt.Errorf("corrupt pickle: empty stack at byte %d", m.pos)
	}
	return m.stack[len(m.stack)-1], nil
}

// popMark returns the items pushed since the last MARK.
func (m *machine) popMark() ([]any, error) {
	if len(m.marks) == 0 {
		return nil, fmt.Errorf("corrupt pickle: no MARK at byte %d", m.pos)
	}
	k := m.marks[len(m.marks)-1]
	m.marks = m.marks[:len(m.marks)-1]
	if k > len(m.stack) {
		return nil, fmt.Errorf("corrupt pickle: MARK beyond the stack")
	}
	items := append([]any{}, m.stack[k:]...)
	m.stack = m.stack[:k]
	return items, nil
}

func (m *machine) run() (any, error) {
	for {
		op, err := m.u8()
		if err != nil {
			return nil, err
		}
		switch op {
		case 0x80: // PROTO
			if _, err = m.u8(); err != nil {
				return nil, err
			}
		case 0x95: // FRAME
			_, err = m.read(8)
		case '.': // STOP
			return m.pop()
		case '(':
			m.marks = append(m.marks, len(m.stack))
		case '0':
			_, err = m.pop()
		case '1':
			_, err = m.popMark()
		case '2':
			var v any
			if v, err = m.top(); err == nil {
				m.push(v)
			}
		case 'N':
			m.push(nil)
		case 0x88:
			m.push(true)
		case 0x89:
			m.push(false)
		case 'J':
			var b []byte
			if b, err = m.read(4); err == nil {
				m.push(int64(int32(binary.LittleEndian.Uint32(b))))
			}
		case 'K':
			var v int
			if v, err = m.u8(); err == nil {
				m.push(int64(v))
			}
		case 'M':
			var b []byte
			if b, err = m.read(2); err == nil {
				m.push(int64(binary.LittleEndian.Uint16(b)))
			}
		case 0x8a, 0x8b: // LONG1, LONG4
			var n int
			if op == 0x8a {
				n, err = m.u8()
			} else {
				n, err = m.u32()
			}
			if err != nil {
				return nil, err
			}
			var b []byte
			if b, err = m.read(n); err == nil {
				m.push(decodeLong(b))
			}
		case 'I', 'L':
			var s string
			if s, err = m.line(); err == nil {
				s = strings.TrimSuffix(s, "L")
				switch s {
				case "00":
					m.push(false)
				case "01":
					m.push(true)
				default:
					var v int64
					if v, err = strconv.ParseInt(s, 10, 64); err == nil {
						m.push(v)
					}
				}
			}
		case 'G':
			var b []byte
			if b, err = m.read(8); err == nil {
				m.push(math.Float64frombits(binary.BigEndian.Uint64(b)))
			}
		case 'F':
			var s string
			if s, err = m.line(); err == nil {
				var f float64
				if f, err = strconv.ParseFloat(s, 64); err == nil {
					m.push(f)
				}
			}
		case 'X', 0x8c, 0x8d, 'T', 'U', 'B', 'C', 0x8e: // unicode, strings, bytes
			var n int
			switch op {
			case 0x8c, 'U', 'C':
				n, err = m.u8()
			case 0x8d, 0x8e:
				var b []byte
				if b, err = m.read(8); err == nil {
					n = int(binary.LittleEndian.Uint64(b))
				}
			default:
				n, err = m.u32()
			}
			if err != nil {
				return nil, err
			}
			var b []byte
			if b, err = m.read(n); err == nil {
				m.push(string(b))
			}
		case ']':
			m.push(&list{})
		case 'l':
			var items []any
			if items, err = m.popMark(); err == nil {
				m.push(&list{items})
			}
		case 'a':
			var v, l any
			if v, err = m.pop(); err == nil {
				if l, err = m.top(); err == nil {
					if ll, ok := l.(*list); ok {
						ll.items = append(ll.items, v)
					}
				}
			}
		case 'e':
			var items []any
			if items, err = m.popMark(); err == nil {
				var l any
				if l, err = m.top(); err == nil {
					if ll, ok := l.(*list); ok {
						ll.items = append(ll.items, items...)
					}
				}
			}
		case ')':
			m.push(tuple{})
		case 't':
			var items []any
			if items, err = m.popMark(); err == nil {
				m.push(tuple(items))
			}
		case 0x85, 0x86, 0x87:
			n := int(op - 0x84)
			if len(m.stack) < n {
				return nil, fmt.Errorf("corrupt pickle: stack underflow at byte %d", m.pos)
			}
			t := append(tuple{}, m.stack[len(m.stack)-n:]...)
			m.stack = m.stack[:len(m.stack)-n]
			m.push(t)
		case '}':
			m.push(newDict())
		case 'd':
			var items []any
			if items, err = m.popMark(); err == nil {
				d := newDict()
				for i := 0; i+1 < len(items); i += 2 {
					if err = d.set(items[i], items[i+1]); err != nil {
						break
					}
				}
				m.push(d)
			}
		case 's':
			var v, k, d any
			if v, err = m.pop(); err != nil {
				break
			}
			if k, err = m.pop(); err != nil {
				break
			}
			if d, err = m.top(); err == nil {
				if dd, ok := d.(*dict); ok {
					err = dd.set(k, v)
				}
			}
		case 'u':
			var items []any
			if items, err = m.popMark(); err == nil {
				var d any
				if d, err = m.top(); err == nil {
					if dd, ok := d.(*dict); ok {
						for i := 0; i+1 < len(items) && err == nil; i += 2 {
							err = dd.set(items[i], items[i+1])
						}
					}
				}
			}
		case 0x8f: // EMPTY_SET
			m.push(&list{})
		case 0x90: // ADDITEMS
			var items []any
			if items, err = m.popMark(); err == nil {
				var s any
				if s, err = m.top(); err == nil {
					if ll, ok := s.(*list); ok {
						ll.items = append(ll.items, items...)
					}
				}
			}
		case 0x91: // FROZENSET
			var items []any
			if items, err = m.popMark(); err == nil {
				m.push(&list{items})
			}
		case 'c':
			var mod, name string
			if mod, err = m.line(); err == nil {
				if name, err = m.line(); err == nil {
					m.push(global{mod, name})
				}
			}
		case 0x93: // STACK_GLOBAL
			var name, mod any
			if name, err = m.pop(); err == nil {
				if mod, err = m.pop(); err == nil {
					ms, _ := mod.(string)
					ns, _ := name.(string)
					m.push(global{ms, ns})
				}
			}
		case 'R', 0x81: // REDUCE, NEWOBJ
			var args, fn any
			if args, err = m.pop(); err != nil {
				break
			}
			if fn, err = m.pop(); err != nil {
				break
			}
			var v any
			if v, err = m.reduce(fn, args); err == nil {
				m.push(v)
			}
		case 'b': // BUILD
			var state, obj any
			if state, err = m.pop(); err != nil {
				break
			}
			if obj, err = m.top(); err == nil {
				if o, ok := obj.(*object); ok {
					o.state = state
				}
				// Dicts' state is the state_dict's _metadata: not needed.
			}
		case 'q', 'r', 'p', 0x94: // BINPUT, LONG_BINPUT, PUT, MEMOIZE
			var idx int64
			switch op {
			case 'q':
				var v int
				v, err = m.u8()
				idx = int64(v)
			case 'r':
				var v int
				v, err = m.u32()
				idx = int64(v)
			case 'p':
				var s string
				if s, err = m.line(); err == nil {
					idx, err = strconv.ParseInt(s, 10, 64)
				}
			default:
				idx = int64(len(m.memo))
			}
			if err == nil {
				var v any
				if v, err = m.top(); err == nil {
					m.memo[idx] = v
				}
			}
		case 'h', 'j', 'g': // BINGET, LONG_BINGET, GET
			var idx int64
			switch op {
			case 'h':
				var v int
				v, err = m.u8()
				idx = int64(v)
			case 'j':
				var v int
				v, err = m.u32()
				idx = int64(v)
			default:
				var s string
				if s, err = m.line(); err == nil {
					idx, err = strconv.ParseInt(s, 10, 64)
				}
			}
			if err == nil {
				v, ok := m.memo[idx]
				if !ok {
					return nil, fmt.Errorf("corrupt pickle: memo %d not set", idx)
				}
				m.push(v)
			}
		case 'Q': // BINPERSID
			var pid any
			if pid, err = m.pop(); err == nil {
				var s *storage
				if s, err = persistent(pid); err == nil {
					m.push(s)
				}
			}
		default:
			return nil, fmt.Errorf("unsupported pickle opcode 0x%02x at byte %d (not a torch.save file?)", op, m.pos-1)
		}
		if err != nil {
			return nil, err
		}
	}
}

func decodeLong(b []byte) any {
	if len(b) == 0 {
		return int64(0)
	}
	// little-endian two's complement
	be := make([]byte, len(b))
	for i := range b {
		be[len(b)-1-i] = b[i]
	}
	v := new(big.Int).SetBytes(be)
	if b[len(b)-1]&0x80 != 0 {
		v.Sub(v, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	if v.IsInt64() {
		return v.Int64()
	}
	return v.String()
}

func persistent(pid any) (*storage, error) {
	t, ok := pid.(tuple)
	if !ok || len(t) < 5 {
		return nil, fmt.Errorf("unsupported persistent id %v", pid)
	}
	if s, _ := t[0].(string); s != "storage" {
		return nil, fmt.Errorf("unsupported persistent id kind %v", t[0])
	}
	g, ok := t[1].(global)
	if !ok {
		return nil, fmt.Errorf("unsupported storage type %v", t[1])
	}
	st, ok := storageTypes[g.name]
	if !ok {
		return nil, fmt.Errorf("unsupported storage type %s.%s", g.module, g.name)
	}
	key, _ := t[2].(string)
	numel, ok := t[4].(int64)
	if !ok || numel < 0 {
		return nil, fmt.Errorf("bad storage size %v", t[4])
	}
	return &storage{dtype: st.dtype, size: st.size, key: key, numel: numel}, nil
}

func (m *machine) reduce(fn, args any) (any, error) {
	g, ok := fn.(global)
	a, _ := args.(tuple)
	if !ok {
		return &object{class: fmt.Sprint(fn), args: args}, nil
	}
	switch g.module + "." + g.name {
	case "collections.OrderedDict", "builtins.dict", "__builtin__.dict":
		d := newDict()
		if len(a) == 1 {
			if l, ok := a[0].(*list); ok {
				for _, it := range l.items {
					if kv, ok := it.(tuple); ok && len(kv) == 2 {
						if err := d.set(kv[0], kv[1]); err != nil {
							return nil, err
						}
					}
				}
			}
		}
		return d, nil
	case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor":
		return m.rebuildTensor(a)
	case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
		if len(a) > 0 {
			return a[0], nil
		}
	case "torch.jit._pickle.restore_type_tag", "torch.jit._pickle.build_intlist", "torch.jit._pickle.build_tensorlist",
		"torch.jit._pickle.build_doublelist", "torch.jit._pickle.build_boollist":
		// libtorch's pickler (torch::pickle_save) wraps typed containers.
		if len(a) > 0 {
			return a[0], nil
		}
	case "builtins.set", "__builtin__.set":
		if len(a) == 1 {
			return a[0], nil
		}
		return &list{}, nil
	}
	return &object{class: g.module + "." + g.name, args: args}, nil
}

func ints(v any) ([]int64, bool) {
	t, ok := v.(tuple)
	if !ok {
		return nil, false
	}
	out := make([]int64, len(t))
	for i, x := range t {
		n, ok := x.(int64)
		if !ok {
			return nil, false
		}
		out[i] = n
	}
	return out, true
}

// rebuildTensor copies the elements a (storage, offset, size, stride)
// tensor views into contiguous row-major bytes.
func (m *machine) rebuildTensor(a tuple) (any, error) {
	if len(a) < 4 {
		return nil, fmt.Errorf("_rebuild_tensor_v2 with %d arguments", len(a))
	}
	st, ok := a[0].(*storage)
	if !ok {
		return nil, fmt.Errorf("_rebuild_tensor_v2 without a storage")
	}
	offset, ok1 := a[1].(int64)
	shape, ok2 := ints(a[2])
	stride, ok3 := ints(a[3])
	if !ok1 || !ok2 || !ok3 || len(shape) != len(stride) {
		return nil, fmt.Errorf("_rebuild_tensor_v2 with a bad size or stride")
	}
	buf, ok := m.storages[st.key]
	if !ok {
		var err error
		if buf, err = m.loadStorage(st.key); err != nil {
			return nil, err
		}
		if st.numel > int64(len(buf))/int64(st.size) {
			return nil, fmt.Errorf("storage %s has %d bytes, expected %d (truncated?)", st.key, len(buf), st.numel*int64(st.size))
		}
		m.storages[st.key] = buf
	}
	numel := int64(1)
	last := offset // highest element index touched
	for i, d := range shape {
		// Bounds first, so that the products below cannot overflow.
		if d < 0 || stride[i] < 0 || d > 1<<40 || stride[i] > 1<<40 || (d > 0 && numel > st.numel/d+1) {
			return nil, fmt.Errorf("bad size or stride for a storage of %d elements (corrupt file?)", st.numel)
		}
		numel *= d
		if d > 0 {
			last += (d - 1) * stride[i]
		}
	}
	if numel > 0 && (offset < 0 || last >= st.numel) {
		return nil, fmt.Errorf("tensor view beyond its storage %s", st.key)
	}
	// A stored view has at most as many elements as its storage (expanded
	// zero-stride views are not what state dicts hold); this also bounds
	// the memory a corrupt header can ask for.
	if numel > st.numel {
		return nil, fmt.Errorf("tensor of %d elements over a storage of %d (corrupt file?)", numel, st.numel)
	}
	es := int64(st.size)
	out := make([]byte, numel*es)
	idx := make([]int64, len(shape))
	for n := int64(0); n < numel; n++ {
		src := offset
		for i := range idx {
			src += idx[i] * stride[i]
		}
		copy(out[n*es:(n+1)*es], buf[src*es:(src+1)*es])
		for i := len(idx) - 1; i >= 0; i-- {
			idx[i]++
			if idx[i] < shape[i] {
				break
			}
			idx[i] = 0
		}
	}
	return &tensorVal{Tensor{DType: st.dtype, Shape: shape, Data: out}}, nil
}

func flatten(v any, prefix string, out *[]Tensor) {
	join := func(k string) string {
		if prefix == "" {
			return k
		}
		return prefix + "." + k
	}
	switch x := v.(type) {
	case *tensorVal:
		t := x.t
		t.Name = prefix
		*out = append(*out, t)
	case *dict:
		for _, k := range x.keys {
			var ks string
			switch kk := k.(type) {
			case string:
				ks = kk
			case int64:
				ks = strconv.FormatInt(kk, 10)
			default:
				continue
			}
			flatten(x.vals[k], join(ks), out)
		}
	case *list:
		for i, it := range x.items {
			flatten(it, join(strconv.Itoa(i)), out)
		}
	case tuple:
		for i, it := range x {
			flatten(it, join(strconv.Itoa(i)), out)
		}
	}
}

package ptfile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ---------------------------------------------------------------- values

type tuple []any

type list struct{ items []any }

// dict keeps its items in order; small ones (most of a state dict's: the
// _metadata of each module) are searched linearly, larger ones indexed.
type dict struct {
	keys, vals []any
	index      map[any]int // made past dictIndexed items
}

const dictIndexed = 8

// set reports how many bytes it added, for the budget.
func (d *dict) set(k, v any) int64 {
	if d.index != nil {
		if i, ok := d.index[k]; ok {
			d.vals[i] = v
			return 0
		}
	} else {
		for i, x := range d.keys {
			if x == k {
				d.vals[i] = v
				return 0
			}
		}
	}
	d.keys = append(d.keys, k)
	d.vals = append(d.vals, v)
	cost := int64(costEntry)
	switch {
	case d.index != nil:
		d.index[k] = len(d.keys) - 1
		cost += costEntry
	case len(d.keys) > dictIndexed:
		d.index = make(map[any]int, 2*len(d.keys))
		for i, x := range d.keys {
			d.index[x] = i
		}
		cost += costEntry * int64(len(d.keys))
	}
	return cost
}

// bigInt is an integer too wide for int64. Only its width is kept: no
// state dict needs its value, and converting a hostile megabyte-wide one
// to decimal would take minutes.
type bigInt struct{ nbytes int }

type global struct {
	module, name string
	kind         gkind
}

type storage struct {
	key   string
	dtype string
	size  int   // bytes per element
	numel int64 // elements, as data.pkl declares them
	data  []byte
	ready bool // data was read and checked against numel
}

type tensorVal struct{ t Tensor }

// object is a value of an allowed global that is not a container or a
// tensor (torch.Size, a dtype): kept opaque.
type object struct{ class string }

// ---------------------------------------------------------------- globals

type gkind int

const (
	gOpaque      gkind = iota // harmless; calling it gives an opaque object
	gDict                     // OrderedDict, dict
	gSet                      // set, frozenset
	gTensor                   // _rebuild_tensor, _rebuild_tensor_v2
	gParam                    // Parameter, _rebuild_parameter(_with_state)
	gFromType                 // _rebuild_from_type_v2(func, type, args, state)
	gFirst                    // libtorch's type tags: the first argument
	gStorage                  // a storage type of a persistent id
	gUnsupported              // allowed by PyTorch, but not a dense tensor dadash reads
)

// globals is PyTorch's weights_only allow-list (torch/_weights_only_unpickler.py)
// as far as state dicts use it, plus the wrappers of libtorch's pickler. Any
// other global is refused where the pickle names it.
var globals = map[string]gkind{
	"collections.OrderedDict": gDict, "builtins.dict": gDict, "__builtin__.dict": gDict,
	"builtins.set": gSet, "__builtin__.set": gSet, "builtins.frozenset": gSet, "__builtin__.frozenset": gSet,
	"torch._utils._rebuild_tensor":                   gTensor,
	"torch._utils._rebuild_tensor_v2":                gTensor,
	"torch._utils._rebuild_parameter":                gParam,
	"torch._utils._rebuild_parameter_with_state":     gParam,
	"torch.nn.parameter.Parameter":                   gParam,
	"torch._tensor._rebuild_from_type_v2":            gFromType,
	"torch.jit._pickle.restore_type_tag":             gFirst,
	"torch.jit._pickle.build_intlist":                gFirst,
	"torch.jit._pickle.build_tensorlist":             gFirst,
	"torch.jit._pickle.build_doublelist":             gFirst,
	"torch.jit._pickle.build_boollist":               gFirst,
	"torch._utils._rebuild_tensor_v3":                gUnsupported,
	"torch._utils._rebuild_sparse_tensor":            gUnsupported,
	"torch._utils._rebuild_sparse_csr_tensor":        gUnsupported,
	"torch._utils._rebuild_meta_tensor_no_storage":   gUnsupported,
	"torch._utils._rebuild_qtensor":                  gUnsupported,
	"torch._utils._rebuild_nested_tensor":            gUnsupported,
	"torch._utils._rebuild_wrapper_subclass":         gUnsupported,
	"torch._utils._rebuild_device_tensor_from_numpy": gUnsupported,
	"torch.Size": gOpaque, "torch.Tensor": gOpaque, "torch.device": gOpaque,
	"torch.serialization._get_layout": gOpaque, "torch.storage.TypedStorage": gOpaque,
	"torch.storage.UntypedStorage": gOpaque, "collections.Counter": gOpaque,
	"_codecs.encode": gOpaque, "builtins.bytearray": gOpaque, "builtins.complex": gOpaque,
}

func init() {
	for _, dt := range []string{"float16", "float32", "float64", "bfloat16", "int8", "int16", "int32", "int64",
		"uint8", "bool", "complex32", "complex64", "complex128"} {
		globals["torch."+dt] = gOpaque
	}
	for _, t := range []string{"Float", "Double", "Half", "BFloat16", "Long", "Int", "Short", "Char", "Byte", "Bool"} {
		for _, mod := range []string{"torch.", "torch.cuda."} {
			globals[mod+t+"Storage"] = gStorage
			globals[mod+t+"Tensor"] = gOpaque
		}
	}
	for _, t := range []string{"ComplexFloat", "ComplexDouble", "QInt32", "QInt8", "QUInt8", "QUInt4x2", "QUInt2x4"} {
		globals["torch."+t+"Storage"] = gUnsupported
		globals["torch.cuda."+t+"Storage"] = gUnsupported
	}
}

// ---------------------------------------------------------------- machine

// Estimated bytes of what the machine allocates, charged to the budget;
// slices that grow by doubling leave as much garbage as they hold.
const (
	costSlot   = 32  // an interface value on the stack or in a container
	costBox    = 32  // a container or boxed value
	costEntry  = 64  // a dict or memo entry
	costTensor = 256 // a named tensor in the result
)

type machine struct {
	data  []byte
	pos   int
	op    int // byte offset of the opcode being run, for errors
	stack []any
	marks []int
	memo  map[int64]any
	b     *budget
	// storages are those data.pkl declared, by key; read on first use.
	storages    map[string]*storage
	loadStorage func(st *storage) ([]byte, error)
	// shown is what the named tensors add up to, aliased bytes included:
	// the consumers copy each tensor, so it is bounded too (maxShown).
	shown, maxShown int64
}

func newMachine(data []byte, b *budget, read func(st *storage) ([]byte, error)) *machine {
	return &machine{data: data, memo: map[int64]any{}, b: b, storages: map[string]*storage{}, loadStorage: read,
		maxShown: shownFactor*b.fileSize + slackBytes}
}

// load runs the pickle and names the tensors it holds.
func (m *machine) load() ([]Tensor, error) {
	root, err := m.run()
	if err != nil {
		return nil, err
	}
	if o, ok := root.(*object); ok {
		return nil, fmt.Errorf("the file holds a pickled Python object (%s), not a state dict; in Python, save model.state_dict() instead of the model", o.class)
	}
	out, err := m.flatten(root)
	if err != nil {
		return nil, err
	}
	// The consumers copy len(numel*size) bytes from Data: a last check
	// that nothing above let a short buffer through.
	for _, t := range out {
		n := int64(elemSize(t.DType))
		for _, d := range t.Shape {
			n *= d
		}
		if n != int64(len(t.Data)) {
			return nil, fmt.Errorf("internal error: tensor %s has %d bytes for shape %v", quote(t.Name), len(t.Data), t.Shape)
		}
	}
	return out, nil
}

var errTruncated = errors.New("data.pkl is truncated")

func (m *machine) errf(format string, args ...any) error {
	return fmt.Errorf("data.pkl, byte %d: %s", m.op, fmt.Sprintf(format, args...))
}

func (m *machine) charge(n int64) error { return m.b.charge(n, "data.pkl") }

// read returns the next n bytes; n comes from the file, so it is compared
// with what is left rather than added to pos (which could overflow).
func (m *machine) read(n int64) ([]byte, error) {
	if n < 0 || n > int64(len(m.data)-m.pos) {
		return nil, m.pastEnd(uint64(n))
	}
	b := m.data[m.pos : m.pos+int(n)]
	m.pos += int(n)
	return b, nil
}

func (m *machine) pastEnd(n uint64) error {
	if n <= 64 {
		return errTruncated
	}
	return m.errf("an operand of %d bytes runs past the end of data.pkl (%d bytes): truncated or corrupt file", n, len(m.data))
}

func (m *machine) u8() (int64, error) {
	b, err := m.read(1)
	if err != nil {
		return 0, err
	}
	return int64(b[0]), nil
}

func (m *machine) u32() (int64, error) {
	b, err := m.read(4)
	if err != nil {
		return 0, err
	}
	return int64(binary.LittleEndian.Uint32(b)), nil
}

// u64 reads the length operand of the 8-byte opcodes.
func (m *machine) u64() (int64, error) {
	b, err := m.read(8)
	if err != nil {
		return 0, err
	}
	v := binary.LittleEndian.Uint64(b)
	if v > math.MaxInt64 {
		return 0, m.pastEnd(v)
	}
	return int64(v), nil
}

func (m *machine) line() (string, error) {
	rest := m.data[m.pos:]
	i := bytes.IndexByte(rest, '\n')
	if i < 0 {
		return "", errTruncated
	}
	s := string(rest[:i])
	m.pos += i + 1
	return s, m.charge(int64(len(s)) + costSlot)
}

func (m *machine) push(v any) error {
	m.stack = append(m.stack, v)
	return m.charge(costSlot)
}

func (m *machine) pop() (any, error) {
	if len(m.stack) == 0 {
		return nil, m.errf("stack underflow: corrupt pickle")
	}
	v := m.stack[len(m.stack)-1]
	m.stack = m.stack[:len(m.stack)-1]
	return v, nil
}

func (m *machine) top() (any, error) {
	if len(m.stack) == 0 {
		return nil, m.errf("empty stack: corrupt pickle")
	}
	return m.stack[len(m.stack)-1], nil
}

// popMark returns the items pushed since the last MARK.
func (m *machine) popMark() ([]any, error) {
	if len(m.marks) == 0 {
		return nil, m.errf("no MARK: corrupt pickle")
	}
	k := m.marks[len(m.marks)-1]
	m.marks = m.marks[:len(m.marks)-1]
	if k > len(m.stack) {
		return nil, m.errf("MARK beyond the stack: corrupt pickle")
	}
	if err := m.charge(costSlot * int64(len(m.stack)-k)); err != nil {
		return nil, err
	}
	items := append([]any{}, m.stack[k:]...)
	m.stack = m.stack[:k]
	return items, nil
}

// topList and topDict return the container under construction on top of
// the stack: the pickle's APPEND and SETITEM on anything else are refused,
// as PyTorch's weights_only loader refuses them.
func (m *machine) topList(op string) (*list, error) {
	v, err := m.top()
	if err != nil {
		return nil, err
	}
	l, ok := v.(*list)
	if !ok {
		return nil, m.errf("%s on %s, not a list: corrupt pickle", op, describe(v))
	}
	return l, nil
}

func (m *machine) topDict(op string) (*dict, error) {
	v, err := m.top()
	if err != nil {
		return nil, err
	}
	d, ok := v.(*dict)
	if !ok {
		return nil, m.errf("%s on %s, not a dict: corrupt pickle", op, describe(v))
	}
	return d, nil
}

func (m *machine) appendItems(l *list, items ...any) error {
	l.items = append(l.items, items...)
	return m.charge(costSlot * int64(len(items)))
}

func (m *machine) setItems(d *dict, items []any) error {
	if len(items)%2 != 0 {
		return m.errf("SETITEMS with an odd number of items: corrupt pickle")
	}
	for i := 0; i < len(items); i += 2 {
		switch items[i].(type) {
		case string, int64, bool, nil, float64:
		default:
			return m.errf("a dict key is %s; state dicts have str or int keys", describe(items[i]))
		}
		if err := m.charge(d.set(items[i], items[i+1])); err != nil {
			return err
		}
	}
	return nil
}

func (m *machine) global(module, name string) (global, error) {
	full := module + "." + name
	k, ok := globals[full]
	if !ok {
		return global{}, m.errf("the pickle calls for the Python global %s, which a weights-only load refuses: "+
			"only tensors, OrderedDict, plain containers, dtypes and storage types are allowed, as with PyTorch's torch.load(weights_only=True). "+
			"The file may run code when Python loads it with weights_only=False: do not, unless you trust its source; "+
			"if it is a whole pickled model, re-save model.state_dict() instead", quote(full))
	}
	return global{module, name, k}, nil
}

func (m *machine) run() (any, error) {
	for {
		m.op = m.pos
		op, err := m.u8()
		if err != nil {
			return nil, err
		}
		switch op {
		case 0x80: // PROTO
			_, err = m.u8()
		case 0x95: // FRAME
			_, err = m.read(8)
		case '.': // STOP
			return m.pop()
		case '(': // MARK
			m.marks = append(m.marks, len(m.stack))
			err = m.charge(8)
		case '0': // POP
			_, err = m.pop()
		case '1': // POP_MARK
			_, err = m.popMark()
		case '2': // DUP
			var v any
			if v, err = m.top(); err == nil {
				err = m.push(v)
			}
		case 'N':
			err = m.push(nil)
		case 0x88:
			err = m.push(true)
		case 0x89:
			err = m.push(false)
		case 'J': // BININT
			var b []byte
			if b, err = m.read(4); err == nil {
				err = m.pushBoxed(int64(int32(binary.LittleEndian.Uint32(b))))
			}
		case 'K': // BININT1
			var v int64
			if v, err = m.u8(); err == nil {
				err = m.pushBoxed(v)
			}
		case 'M': // BININT2
			var b []byte
			if b, err = m.read(2); err == nil {
				err = m.pushBoxed(int64(binary.LittleEndian.Uint16(b)))
			}
		case 0x8a, 0x8b: // LONG1, LONG4
			var n int64
			if op == 0x8a {
				n, err = m.u8()
			} else {
				n, err = m.u32()
			}
			if err != nil {
				return nil, err
			}
			if n > maxIntBytes {
				return nil, m.errf("an integer of %d bytes; nothing in a state dict is wider than 8 (limit %d): corrupt or hostile file", n, maxIntBytes)
			}
			var b []byte
			if b, err = m.read(n); err == nil {
				err = m.pushBoxed(decodeLong(b))
			}
		case 'I', 'L': // INT, LONG (text)
			var s string
			if s, err = m.line(); err == nil {
				s = strings.TrimSuffix(s, "L")
				switch s {
				case "00":
					err = m.push(false)
				case "01":
					err = m.push(true)
				default:
					v, perr := strconv.ParseInt(s, 10, 64)
					if perr != nil {
						return nil, m.errf("bad integer %s", quote(s))
					}
					err = m.pushBoxed(v)
				}
			}
		case 'G': // BINFLOAT
			var b []byte
			if b, err = m.read(8); err == nil {
				err = m.pushBoxed(math.Float64frombits(binary.BigEndian.Uint64(b)))
			}
		case 'F': // FLOAT (text)
			var s string
			if s, err = m.line(); err == nil {
				f, perr := strconv.ParseFloat(s, 64)
				if perr != nil {
					return nil, m.errf("bad float %s", quote(s))
				}
				err = m.pushBoxed(f)
			}
		case 'X', 0x8c, 0x8d, 'T', 'U', 'B', 'C', 0x8e: // unicode, strings, bytes
			var n int64
			switch op {
			case 0x8c, 'U', 'C':
				n, err = m.u8()
			case 0x8d, 0x8e:
				n, err = m.u64()
			default:
				n, err = m.u32()
			}
			if err != nil {
				return nil, err
			}
			var b []byte
			if b, err = m.read(n); err == nil {
				if err = m.charge(int64(len(b)) + costBox); err == nil {
					err = m.push(string(b))
				}
			}
		case ']', 0x8f: // EMPTY_LIST, EMPTY_SET
			if err = m.charge(costBox); err == nil {
				err = m.push(&list{})
			}
		case 'l', 0x91: // LIST, FROZENSET
			var items []any
			if items, err = m.popMark(); err == nil {
				if err = m.charge(costBox); err == nil {
					err = m.push(&list{items})
				}
			}
		case 'a': // APPEND
			var v any
			var l *list
			if v, err = m.pop(); err == nil {
				if l, err = m.topList("APPEND"); err == nil {
					err = m.appendItems(l, v)
				}
			}
		case 'e', 0x90: // APPENDS, ADDITEMS
			var items []any
			var l *list
			if items, err = m.popMark(); err == nil {
				if l, err = m.topList("APPENDS"); err == nil {
					err = m.appendItems(l, items...)
				}
			}
		case ')':
			err = m.push(tuple{})
		case 't':
			var items []any
			if items, err = m.popMark(); err == nil {
				if err = m.charge(costBox); err == nil {
					err = m.push(tuple(items))
				}
			}
		case 0x85, 0x86, 0x87: // TUPLE1, TUPLE2, TUPLE3
			n := int(op - 0x84)
			if len(m.stack) < n {
				return nil, m.errf("stack underflow: corrupt pickle")
			}
			t := append(tuple{}, m.stack[len(m.stack)-n:]...)
			m.stack = m.stack[:len(m.stack)-n]
			if err = m.charge(costBox + costSlot*int64(n)); err == nil {
				err = m.push(t)
			}
		case '}':
			if err = m.charge(2 * costBox); err == nil {
				err = m.push(&dict{})
			}
		case 'd': // DICT
			var items []any
			if items, err = m.popMark(); err == nil {
				d := &dict{}
				if err = m.setItems(d, items); err == nil {
					err = m.push(d)
				}
			}
		case 's': // SETITEM
			var k, v any
			var d *dict
			if v, err = m.pop(); err != nil {
				break
			}
			if k, err = m.pop(); err != nil {
				break
			}
			if d, err = m.topDict("SETITEM"); err == nil {
				err = m.setItems(d, []any{k, v})
			}
		case 'u': // SETITEMS
			var items []any
			var d *dict
			if items, err = m.popMark(); err == nil {
				if d, err = m.topDict("SETITEMS"); err == nil {
					err = m.setItems(d, items)
				}
			}
		case 'c': // GLOBAL
			var mod, name string
			if mod, err = m.line(); err == nil {
				if name, err = m.line(); err == nil {
					var g global
					if g, err = m.global(mod, name); err == nil {
						err = m.pushBoxed(g)
					}
				}
			}
		case 0x93: // STACK_GLOBAL
			var name, mod any
			if name, err = m.pop(); err == nil {
				if mod, err = m.pop(); err == nil {
					ms, ok1 := mod.(string)
					ns, ok2 := name.(string)
					if !ok1 || !ok2 {
						return nil, m.errf("STACK_GLOBAL of %s and %s, not strings: corrupt pickle", describe(mod), describe(name))
					}
					var g global
					if g, err = m.global(ms, ns); err == nil {
						err = m.pushBoxed(g)
					}
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
			if v, err = m.reduce(fn, args, true); err == nil {
				err = m.pushBoxed(v)
			}
		case 'b': // BUILD
			var state, obj any
			if state, err = m.pop(); err != nil {
				break
			}
			// The state (an OrderedDict's attributes such as the state
			// dict's _metadata, a Parameter's, an opaque value's) is not needed.
			_ = state
			if obj, err = m.top(); err == nil {
				switch obj.(type) {
				case *object, *tensorVal, *dict:
				default:
					return nil, m.errf("BUILD on %s: corrupt or hostile pickle", describe(obj))
				}
			}
		case 'q', 'r', 'p', 0x94: // BINPUT, LONG_BINPUT, PUT, MEMOIZE
			var idx int64
			switch op {
			case 'q':
				idx, err = m.u8()
			case 'r':
				idx, err = m.u32()
			case 'p':
				var s string
				if s, err = m.line(); err == nil {
					var perr error
					if idx, perr = strconv.ParseInt(s, 10, 64); perr != nil {
						return nil, m.errf("bad memo index %s", quote(s))
					}
				}
			default:
				idx = int64(len(m.memo))
			}
			if err != nil {
				return nil, err
			}
			var v any
			if v, err = m.top(); err == nil {
				if _, ok := m.memo[idx]; !ok && len(m.memo) >= maxMemo {
					return nil, m.errf("more than %d memo entries; a state dict needs a few per tensor: corrupt or hostile file", maxMemo)
				}
				m.memo[idx] = v
				err = m.charge(costEntry)
			}
		case 'h', 'j', 'g': // BINGET, LONG_BINGET, GET
			var idx int64
			switch op {
			case 'h':
				idx, err = m.u8()
			case 'j':
				idx, err = m.u32()
			default:
				var s string
				if s, err = m.line(); err == nil {
					var perr error
					if idx, perr = strconv.ParseInt(s, 10, 64); perr != nil {
						return nil, m.errf("bad memo index %s", quote(s))
					}
				}
			}
			if err != nil {
				return nil, err
			}
			v, ok := m.memo[idx]
			if !ok {
				return nil, m.errf("memo %d not set: corrupt pickle", idx)
			}
			err = m.push(v)
		case 'Q': // BINPERSID
			var pid any
			if pid, err = m.pop(); err == nil {
				var s *storage
				if s, err = m.persistent(pid); err == nil {
					err = m.push(s)
				}
			}
		default:
			return nil, m.errf("unsupported pickle opcode 0x%02x (not a torch.save file?)", op)
		}
		if err != nil {
			return nil, err
		}
	}
}

// pushBoxed pushes a value that Go boxes in its own allocation.
func (m *machine) pushBoxed(v any) error {
	if err := m.charge(costBox); err != nil {
		return err
	}
	return m.push(v)
}

func decodeLong(b []byte) any {
	if len(b) > 8 {
		// Sign-extended padding may still fit in int64; otherwise keep the width only.
		pad := byte(0)
		if b[len(b)-1]&0x80 != 0 {
			pad = 0xff
		}
		for _, c := range b[8:] {
			if c != pad {
				return bigInt{len(b)}
			}
		}
		if (b[7]&0x80 != 0) != (pad == 0xff) {
			return bigInt{len(b)}
		}
		b = b[:8]
	}
	var u uint64
	for i := len(b) - 1; i >= 0; i-- {
		u = u<<8 | uint64(b[i])
	}
	if n := len(b); n > 0 && n < 8 && b[n-1]&0x80 != 0 {
		u |= ^uint64(0) << (8 * n) // sign-extend
	}
	return int64(u)
}

// persistent checks a storage reference: ("storage", type, key, location,
// numel). A key seen before must be declared the same way again: the
// storage's dtype and size are properties of the storage, not of each
// reference.
func (m *machine) persistent(pid any) (*storage, error) {
	t, ok := pid.(tuple)
	if !ok || len(t) < 5 {
		return nil, m.errf("unsupported persistent id %s (torch.save writes (\"storage\", type, key, location, size))", describe(pid))
	}
	if s, _ := t[0].(string); s != "storage" {
		return nil, m.errf("unsupported persistent id kind %s", describe(t[0]))
	}
	g, ok := t[1].(global)
	if !ok || g.kind != gStorage {
		if ok {
			return nil, m.errf("unsupported storage type %s.%s", g.module, g.name)
		}
		return nil, m.errf("a storage type is %s, not a storage class", describe(t[1]))
	}
	st := storageTypes[g.name]
	key, ok := t[2].(string)
	if !ok {
		return nil, m.errf("a storage key is %s, not a string", describe(t[2]))
	}
	numel, ok := t[4].(int64)
	if !ok || numel < 0 || numel > math.MaxInt64/int64(st.size) {
		return nil, m.errf("storage %s has a bad size %s", quote(key), describe(t[4]))
	}
	if prev, ok := m.storages[key]; ok {
		if prev.dtype != st.dtype || prev.numel != numel {
			return nil, m.errf("storage %s is declared twice, as %d elements of %s and as %d of %s: corrupt or hostile file",
				quote(key), prev.numel, prev.dtype, numel, st.dtype)
		}
		return prev, nil
	}
	s := &storage{key: key, dtype: st.dtype, size: st.size, numel: numel}
	m.storages[key] = s
	return s, m.charge(costEntry + int64(len(key)))
}

func (m *machine) reduce(fn, args any, outer bool) (any, error) {
	g, ok := fn.(global)
	if !ok {
		return nil, m.errf("REDUCE calls %s, not an allowed global: corrupt or hostile pickle", describe(fn))
	}
	a, ok := args.(tuple)
	if !ok {
		return nil, m.errf("%s.%s called with %s, not a tuple of arguments", g.module, g.name, describe(args))
	}
	name := g.module + "." + g.name
	switch g.kind {
	case gDict:
		d := &dict{}
		if len(a) == 1 {
			var pairs []any
			switch x := a[0].(type) {
			case *list:
				pairs = x.items
			case tuple:
				pairs = x
			default:
				return nil, m.errf("%s(%s): want a list of (key, value) pairs", name, describe(a[0]))
			}
			for _, p := range pairs {
				kv, ok := p.(tuple)
				if !ok || len(kv) != 2 {
					return nil, m.errf("%s: an item is %s, not a (key, value) pair", name, describe(p))
				}
				if err := m.setItems(d, []any{kv[0], kv[1]}); err != nil {
					return nil, err
				}
			}
		} else if len(a) > 1 {
			return nil, m.errf("%s with %d arguments", name, len(a))
		}
		return d, m.charge(costBox)
	case gSet:
		if len(a) == 0 {
			return &list{}, m.charge(costBox)
		}
		if l, ok := a[0].(*list); ok && len(a) == 1 {
			return l, nil
		}
		return nil, m.errf("%s(%s): want a list", name, describe(a[0]))
	case gTensor:
		return m.rebuildTensor(name, a)
	case gParam:
		if len(a) == 0 {
			return nil, m.errf("%s without a tensor", name)
		}
		if _, ok := a[0].(*tensorVal); !ok {
			return nil, m.errf("%s of %s, not a tensor", name, describe(a[0]))
		}
		return a[0], nil
	case gFromType:
		// (func, type, args, state): the tensor is func(*args); the type
		// (a global, so already allowed) and the state are not needed.
		if len(a) < 3 || !outer {
			return nil, m.errf("%s with bad arguments", name)
		}
		inner, ok := a[0].(global)
		if !ok || (inner.kind != gTensor && inner.kind != gParam) {
			return nil, m.errf("%s rebuilding with %s, not a tensor function", name, describe(a[0]))
		}
		return m.reduce(inner, a[2], false)
	case gFirst:
		if len(a) == 0 {
			return nil, m.errf("%s without arguments", name)
		}
		return a[0], nil
	case gUnsupported:
		return nil, m.errf("%s: dadash reads dense tensors of real dtypes only (not sparse, quantized, complex, meta or nested ones)", name)
	}
	return &object{class: name}, m.charge(costBox)
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

// rebuildTensor makes the contiguous row-major tensor that a (storage,
// offset, size, stride) view describes, after checking the view against the
// storage's bytes. Contiguous views share the storage's bytes; others are
// copied, charged to the budget.
func (m *machine) rebuildTensor(fn string, a tuple) (any, error) {
	if len(a) < 4 {
		return nil, m.errf("%s with %d arguments", fn, len(a))
	}
	st, ok := a[0].(*storage)
	if !ok {
		return nil, m.errf("%s of %s, not a storage", fn, describe(a[0]))
	}
	offset, ok1 := a[1].(int64)
	shape, ok2 := ints(a[2])
	stride, ok3 := ints(a[3])
	if !ok1 || !ok2 || !ok3 || len(shape) != len(stride) {
		return nil, m.errf("%s with a bad offset, size or stride", fn)
	}
	if len(shape) > 64 {
		return nil, m.errf("a tensor of %d dimensions", len(shape))
	}
	if err := m.charge(costEntry + 16*int64(len(shape))); err != nil {
		return nil, err
	}
	if !st.ready {
		buf, err := m.loadStorage(st)
		if err != nil {
			return nil, err
		}
		if int64(len(buf)) != st.numel*int64(st.size) {
			return nil, fmt.Errorf("storage %s has %d bytes, expected %d (truncated?)", quote(st.key), len(buf), st.numel*int64(st.size))
		}
		st.data, st.ready = buf, true
	}
	bad := func(what string) error {
		return m.errf("a tensor of size %v and stride %v at offset %d %s its storage %s of %d elements: corrupt or hostile file", shape, stride, offset, what, quote(st.key), st.numel)
	}
	if offset < 0 || offset > st.numel {
		return nil, bad("starts outside")
	}
	// numel and the last element touched, without overflow: every product
	// is checked against the storage's size before it is made.
	numel := int64(1)
	for _, d := range shape {
		if d < 0 {
			return nil, bad("has a negative size for")
		}
		if d == 0 {
			numel = 0
			break
		}
		if numel > st.numel/d {
			// A stored view has at most as many elements as its storage
			// (expanded zero-stride views are not what state dicts hold).
			return nil, bad("has more elements than")
		}
		numel *= d
	}
	if numel > 0 {
		room := st.numel - 1 - offset // element index space left after offset
		if room < 0 {
			return nil, bad("starts at the end of")
		}
		for i, d := range shape {
			if stride[i] < 0 {
				return nil, bad("has a negative stride for")
			}
			if d > 1 && stride[i] > 0 {
				if d-1 > room/stride[i] {
					return nil, bad("reaches beyond")
				}
				room -= (d - 1) * stride[i]
			}
		}
	}
	es := int64(st.size)
	t := Tensor{DType: st.dtype, Shape: shape}
	if numel == 0 {
		t.Data = []byte{}
		return &tensorVal{t}, nil
	}
	if contiguous(shape, stride) {
		t.Data = st.data[offset*es : (offset+numel)*es : (offset+numel)*es]
		return &tensorVal{t}, nil
	}
	if err := m.charge(numel * es); err != nil {
		return nil, err
	}
	out := make([]byte, numel*es)
	// Copy rows: the last dimension is a run of elements stride apart.
	nd := len(shape)
	rowLen, rowStride := shape[nd-1], stride[nd-1]
	idx := make([]int64, nd-1)
	for n := int64(0); n < numel; n += rowLen {
		src := offset
		for i := range idx {
			src += idx[i] * stride[i]
		}
		dst := out[n*es : (n+rowLen)*es]
		if rowStride == 1 {
			copy(dst, st.data[src*es:(src+rowLen)*es])
		} else {
			for j := int64(0); j < rowLen; j++ {
				s := (src + j*rowStride) * es
				copy(dst[j*es:(j+1)*es], st.data[s:s+es])
			}
		}
		for i := len(idx) - 1; i >= 0; i-- {
			idx[i]++
			if idx[i] < shape[i] {
				break
			}
			idx[i] = 0
		}
	}
	t.Data = out
	return &tensorVal{t}, nil
}

// contiguous reports whether stride is the row-major layout of shape
// (dimensions of size 1 may have any stride).
func contiguous(shape, stride []int64) bool {
	want := int64(1)
	for i := len(shape) - 1; i >= 0; i-- {
		if shape[i] != 1 && stride[i] != want {
			return false
		}
		want *= shape[i]
	}
	return true
}

// describe names a value's kind for errors, without printing its content
// (which may be huge or contain itself).
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		return "a bool"
	case int64:
		return strconv.FormatInt(x, 10)
	case bigInt:
		return fmt.Sprintf("an integer of %d bytes", x.nbytes)
	case float64:
		return "a float"
	case string:
		return "the string " + quote(x)
	case tuple:
		return fmt.Sprintf("a tuple of %d", len(x))
	case *list:
		return fmt.Sprintf("a list of %d", len(x.items))
	case *dict:
		return fmt.Sprintf("a dict of %d", len(x.keys))
	case global:
		return x.module + "." + x.name
	case *storage:
		return "storage " + quote(x.key)
	case *tensorVal:
		return "a tensor"
	case *object:
		return "a " + x.class
	}
	return fmt.Sprintf("a %T", v)
}

// ---------------------------------------------------------------- naming

// flatten names every tensor by its path of keys and indices from the root,
// walking the structure with an explicit stack: a cycle is an error, and a
// container shared by several paths is walked at each (within maxVisits).
func (m *machine) flatten(root any) ([]Tensor, error) {
	type frame struct {
		seq   []any // list or tuple items
		d     *dict
		i     int
		id    any // the container, for the cycle check; nil for tuples
		depth int // len(path) of the container itself
	}
	var (
		out    []Tensor
		path   []string
		ends   []int // ends[i]: bytes of the name made of path[:i+1]
		stack  []frame
		onPath = map[any]bool{}
		visits int
	)
	where := func() string {
		if len(path) == 0 {
			return "the root"
		}
		return quote(strings.Join(path, "."))
	}
	visit := func(v any) error {
		visits++
		if visits > maxVisits {
			return fmt.Errorf("data.pkl: the structure refers to its parts more than %d times (shared containers nested in each other?): corrupt or hostile file", maxVisits)
		}
		var f frame
		switch x := v.(type) {
		case *tensorVal:
			n := 0
			if len(ends) > 0 {
				n = ends[len(ends)-1]
			}
			// Charged before the name is made: names nested deep under long
			// keys could otherwise be huge.
			if err := m.charge(int64(n) + costTensor); err != nil {
				return err
			}
			t := x.t
			m.shown += int64(len(t.Data))
			if m.shown > m.maxShown {
				return fmt.Errorf("data.pkl: its tensors add up to more than %s, %d times the file's size: shared storages referenced too often (corrupt or hostile file)", human(uint64(m.maxShown)), shownFactor)
			}
			t.Name = strings.Join(path, ".")
			out = append(out, t)
			return nil
		case *dict:
			f = frame{d: x, id: x}
		case *list:
			f = frame{seq: x.items, id: x}
		case tuple:
			f = frame{seq: x}
		default:
			return nil
		}
		if len(stack) >= maxDepth {
			return fmt.Errorf("data.pkl: the structure is nested more than %d levels deep (at %s): not a state dict", maxDepth, where())
		}
		if f.id != nil {
			if onPath[f.id] {
				return fmt.Errorf("data.pkl: %s contains itself (at %s): a cyclic structure is not a state dict", describe(v), where())
			}
			onPath[f.id] = true
		}
		f.depth = len(path)
		stack = append(stack, f)
		return nil
	}
	if err := visit(root); err != nil {
		return nil, err
	}
	for len(stack) > 0 {
		f := &stack[len(stack)-1]
		var key string
		var child any
		switch {
		case f.d != nil && f.i < len(f.d.keys):
			key, child = keyString(f.d.keys[f.i]), f.d.vals[f.i]
		case f.d == nil && f.i < len(f.seq):
			key, child = strconv.Itoa(f.i), f.seq[f.i]
		default:
			if f.id != nil {
				delete(onPath, f.id)
			}
			stack = stack[:len(stack)-1]
			continue
		}
		f.i++
		path = append(path[:f.depth], key)
		end := len(key)
		if f.depth > 0 {
			end += ends[f.depth-1] + 1
		}
		ends = append(ends[:f.depth], end)
		if err := visit(child); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func keyString(k any) string {
	switch x := k.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case bool:
		if x {
			return "True"
		}
		return "False"
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return "None"
}

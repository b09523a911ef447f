package npy

import (
	"fmt"
	"strconv"
	"strings"
)

// The .npy header is the repr of a Python dict and numpy reads it back with
// ast.literal_eval. This is the subset of Python literals that such headers
// use: dicts, tuples, lists, strings, ints (with Python 2's L suffix),
// True, False and None.

type pyNone struct{}

type pyTuple []any

type pyList []any

type pyDict struct {
	keys []string
	vals map[string]any
}

type literalParser struct {
	s   string
	pos int
}

// parseLiteral parses the whole header text into a value.
func parseLiteral(s string) (any, error) {
	p := &literalParser{s: s}
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos != len(p.s) {
		return nil, p.errorf("unexpected %q after the dictionary", p.rest())
	}
	return v, nil
}

// Headers are tiny; the limit only stops hostile inputs from recursing deep.
const maxDepth = 32

func (p *literalParser) errorf(format string, args ...any) error {
	return fmt.Errorf("at offset %d: %s", p.pos, fmt.Sprintf(format, args...))
}

func (p *literalParser) rest() string {
	r := p.s[p.pos:]
	if len(r) > 20 {
		r = r[:20] + "..."
	}
	return r
}

func (p *literalParser) skipSpace() {
	for p.pos < len(p.s) {
		switch p.s[p.pos] {
		case ' ', '\t', '\n', '\r', '\f', '\v':
			p.pos++
		default:
			return
		}
	}
}

func (p *literalParser) value(depth int) (any, error) {
	if depth > maxDepth {
		return nil, p.errorf("nested too deeply")
	}
	p.skipSpace()
	if p.pos >= len(p.s) {
		return nil, p.errorf("unexpected end of header")
	}
	switch c := p.s[p.pos]; {
	case c == '{':
		return p.dict(depth)
	case c == '(':
		p.pos++
		items, trailingComma, err := p.sequence(')', depth)
		if err != nil {
			return nil, err
		}
		// (x) is just x in Python; only (x,) is a one-element tuple.
		if len(items) == 1 && !trailingComma {
			return items[0], nil
		}
		return pyTuple(items), nil
	case c == '[':
		p.pos++
		items, _, err := p.sequence(']', depth)
		return pyList(items), err
	case c == '\'' || c == '"':
		return p.str()
	case c == '-' || c == '+' || (c >= '0' && c <= '9'):
		return p.integer()
	case isIdentByte(c):
		start := p.pos
		for p.pos < len(p.s) && isIdentByte(p.s[p.pos]) {
			p.pos++
		}
		switch word := p.s[start:p.pos]; word {
		case "True":
			return true, nil
		case "False":
			return false, nil
		case "None":
			return pyNone{}, nil
		default:
			p.pos = start
			return nil, p.errorf("unexpected name %q", word)
		}
	default:
		return nil, p.errorf("unexpected %q", p.rest())
	}
}

func isIdentByte(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

// sequence parses comma-separated values up to the closing byte, which the
// caller has already seen opened.
func (p *literalParser) sequence(closing byte, depth int) (items []any, trailingComma bool, err error) {
	for {
		p.skipSpace()
		if p.pos < len(p.s) && p.s[p.pos] == closing {
			p.pos++
			return items, trailingComma, nil
		}
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, false, err
		}
		items = append(items, v)
		trailingComma = false
		p.skipSpace()
		if p.pos >= len(p.s) {
			return nil, false, p.errorf("missing %q", closing)
		}
		switch p.s[p.pos] {
		case ',':
			p.pos++
			trailingComma = true
		case closing:
		default:
			return nil, false, p.errorf("expected ',' or %q, found %q", closing, p.rest())
		}
	}
}

func (p *literalParser) dict(depth int) (any, error) {
	p.pos++ // '{'
	d := pyDict{vals: map[string]any{}}
	for {
		p.skipSpace()
		if p.pos < len(p.s) && p.s[p.pos] == '}' {
			p.pos++
			return d, nil
		}
		k, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		key, ok := k.(string)
		if !ok {
			return nil, p.errorf("dictionary key %s is not a string", pyRepr(k))
		}
		if _, dup := d.vals[key]; dup {
			return nil, p.errorf("duplicate key %q", key)
		}
		p.skipSpace()
		if p.pos >= len(p.s) || p.s[p.pos] != ':' {
			return nil, p.errorf("expected ':' after key %q", key)
		}
		p.pos++
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		d.keys = append(d.keys, key)
		d.vals[key] = v
		p.skipSpace()
		if p.pos >= len(p.s) {
			return nil, p.errorf("missing '}'")
		}
		switch p.s[p.pos] {
		case ',':
			p.pos++
		case '}':
		default:
			return nil, p.errorf("expected ',' or '}', found %q", p.rest())
		}
	}
}

func (p *literalParser) str() (any, error) {
	quote := p.s[p.pos]
	p.pos++
	var b strings.Builder
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		switch {
		case c == quote:
			p.pos++
			return b.String(), nil
		case c == '\\' && p.pos+1 < len(p.s):
			// Only the escapes a dtype descr could plausibly need.
			p.pos += 2
			switch e := p.s[p.pos-1]; e {
			case '\\', '\'', '"':
				b.WriteByte(e)
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			default:
				b.WriteByte('\\')
				b.WriteByte(e)
			}
		case c == '\n':
			return nil, p.errorf("newline inside a string")
		default:
			b.WriteByte(c)
			p.pos++
		}
	}
	return nil, p.errorf("unterminated string")
}

func (p *literalParser) integer() (any, error) {
	start := p.pos
	if c := p.s[p.pos]; c == '-' || c == '+' {
		p.pos++
	}
	digits := p.pos
	for p.pos < len(p.s) && p.s[p.pos] >= '0' && p.s[p.pos] <= '9' {
		p.pos++
	}
	if p.pos == digits {
		p.pos = start
		return nil, p.errorf("expected a number, found %q", p.rest())
	}
	text := p.s[start:p.pos]
	// Python 2 wrote long ints as 3L; numpy still reads such headers.
	if p.pos < len(p.s) && (p.s[p.pos] == 'L' || p.s[p.pos] == 'l') {
		p.pos++
	}
	if p.pos < len(p.s) && (isIdentByte(p.s[p.pos]) || p.s[p.pos] == '.') {
		p.pos = start
		return nil, p.errorf("expected an integer, found %q", p.rest())
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		p.pos = start
		return nil, p.errorf("integer %s out of range", text)
	}
	return n, nil
}

// pyRepr spells a parsed value the way Python would, for error messages.
func pyRepr(v any) string {
	switch v := v.(type) {
	case string:
		return "'" + v + "'"
	case bool:
		if v {
			return "True"
		}
		return "False"
	case pyNone:
		return "None"
	case int64:
		return strconv.FormatInt(v, 10)
	case pyTuple:
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = pyRepr(x)
		}
		if len(parts) == 1 {
			return "(" + parts[0] + ",)"
		}
		return "(" + strings.Join(parts, ", ") + ")"
	case pyList:
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = pyRepr(x)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case pyDict:
		parts := make([]string, len(v.keys))
		for i, k := range v.keys {
			parts[i] = "'" + k + "': " + pyRepr(v.vals[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprint(v)
}

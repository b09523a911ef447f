package interp

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/dadash/dadash/lang"
)

// Python's number formatting, which Starlark lacks ("%.3f" % x and
// "{:.3f}".format(x) are how every training log prints a loss). The
// rewriter sends `"literal" % args` and `"literal".format(...)` here; the
// predeclared format(value, spec) exposes the spec mini-language directly.

const syntaxPercent = syntax.PERCENT

const (
	percentName = "operator %"
	formatName  = "operator format"
)

// number returns v as an int or float for numeric formatting; one-element
// tensors (lang.Numeric) count as numbers, as float(t) does in PyTorch.
func number(v starlark.Value) (starlark.Value, bool) {
	switch v := v.(type) {
	case starlark.Int, starlark.Float:
		return v, true
	case starlark.Bool:
		if v {
			return starlark.MakeInt(1), true
		}
		return starlark.MakeInt(0), true
	case lang.Numeric:
		data, _, err := v.NumericData()
		if err == nil && len(data) == 1 {
			return starlark.Float(data[0]), true
		}
	}
	return nil, false
}

func asF(v starlark.Value) float64 {
	switch v := v.(type) {
	case starlark.Int:
		f, _ := new(big.Float).SetInt(v.BigInt()).Float64()
		return f
	case starlark.Float:
		return float64(v)
	}
	return math.NaN()
}

func strOf(v starlark.Value) string {
	if s, ok := v.(starlark.String); ok {
		return string(s)
	}
	return v.String()
}

// spec is a parsed format specification ([[fill]align][sign][#][0][width][,|_][.precision][type]).
type spec struct {
	fill      rune
	align     byte
	sign      byte
	alt       bool
	zero      bool
	width     int
	grouping  byte
	precision int // -1: none
	typ       byte
}

func parseSpec(s string) (spec, error) {
	sp := spec{fill: ' ', precision: -1}
	orig := s
	if r, n := utf8.DecodeRuneInString(s); n > 0 && len(s) > n && strings.IndexByte("<>=^", s[n]) >= 0 {
		sp.fill, sp.align, s = r, s[n], s[n+1:]
	} else if len(s) > 0 && strings.IndexByte("<>=^", s[0]) >= 0 {
		sp.align, s = s[0], s[1:]
	}
	if len(s) > 0 && strings.IndexByte("+- ", s[0]) >= 0 {
		sp.sign, s = s[0], s[1:]
	}
	if len(s) > 0 && s[0] == '#' {
		sp.alt, s = true, s[1:]
	}
	if len(s) > 0 && s[0] == '0' {
		sp.zero, s = true, s[1:]
	}
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i > 0 {
		sp.width, _ = strconv.Atoi(s[:i])
		s = s[i:]
	}
	if len(s) > 0 && (s[0] == ',' || s[0] == '_') {
		sp.grouping, s = s[0], s[1:]
	}
	if len(s) > 0 && s[0] == '.' {
		i = 1
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 1 {
			return sp, fmt.Errorf("format specifier %q: missing precision after '.'", orig)
		}
		sp.precision, _ = strconv.Atoi(s[1:i])
		s = s[i:]
	}
	if len(s) == 1 {
		sp.typ, s = s[0], ""
	}
	if s != "" {
		return sp, fmt.Errorf("invalid format specifier %q", orig)
	}
	return sp, nil
}

// formatValue applies a spec to a value as Python's format(value, spec).
func formatValue(v starlark.Value, sp spec) (string, error) {
	var body, sign string
	numeric := false
	switch sp.typ {
	case 0, 's':
		n, isNum := number(v)
		if sp.typ == 0 && isNum && (sp.precision >= 0 || sp.sign != 0 || sp.grouping != 0 || sp.zero) {
			if _, isInt := n.(starlark.Int); isInt && sp.precision < 0 {
				sp.typ = 'd'
			} else {
				sp.typ = 'g'
				if sp.precision < 0 {
					sp.precision = 12
				}
			}
			return formatValue(n, sp)
		}
		if sp.typ == 's' && isNum {
			if _, isStr := v.(starlark.String); !isStr {
				return "", fmt.Errorf("unknown format code 's' for a %s", v.Type())
			}
		}
		body = strOf(v)
		if isNum {
			if _, isStr := v.(starlark.String); !isStr {
				numeric = true
			}
		}
		if sp.precision >= 0 && !numeric {
			if r := []rune(body); len(r) > sp.precision {
				body = string(r[:sp.precision])
			}
		}
	case 'd', 'b', 'o', 'x', 'X', 'c', 'n':
		n, ok := number(v)
		iv, isInt := n.(starlark.Int)
		if !ok || !isInt {
			return "", fmt.Errorf("unknown format code '%c' for a %s", sp.typ, v.Type())
		}
		numeric = true
		b := iv.BigInt()
		if b.Sign() < 0 {
			sign = "-"
			b = new(big.Int).Neg(b)
		}
		switch sp.typ {
		case 'd', 'n':
			body = b.String()
			body = groupDigits(body, sp.grouping)
		case 'b':
			body = b.Text(2)
		case 'o':
			body = b.Text(8)
		case 'x':
			body = b.Text(16)
		case 'X':
			body = strings.ToUpper(b.Text(16))
		case 'c':
			body, numeric = string(rune(b.Int64())), false
		}
		if sp.alt && strings.IndexByte("box", sp.typ|0x20) >= 0 {
			body = "0" + string(sp.typ) + body
		}
	case 'e', 'E', 'f', 'F', 'g', 'G', '%':
		n, ok := number(v)
		if !ok {
			return "", fmt.Errorf("unknown format code '%c' for a %s", sp.typ, v.Type())
		}
		numeric = true
		f := asF(n)
		if math.Signbit(f) && !math.IsNaN(f) {
			sign = "-"
			f = -f
		}
		body = formatFloat(f, sp.typ, sp.precision, sp.alt)
		if sp.grouping != 0 && !math.IsInf(f, 0) && !math.IsNaN(f) {
			intPart, rest := body, ""
			if k := strings.IndexAny(body, ".e%"); k >= 0 {
				intPart, rest = body[:k], body[k:]
			}
			body = groupDigits(intPart, sp.grouping) + rest
		}
	default:
		return "", fmt.Errorf("unknown format code '%c'", sp.typ)
	}
	if numeric && sign == "" {
		switch sp.sign {
		case '+':
			sign = "+"
		case ' ':
			sign = " "
		}
	}
	return pad(sign, body, sp, numeric), nil
}

func formatFloat(f float64, typ byte, prec int, alt bool) string {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		s := "inf"
		if math.IsNaN(f) {
			s = "nan"
		}
		if typ >= 'A' && typ <= 'Z' {
			s = strings.ToUpper(s)
		}
		return s
	}
	switch typ {
	case 'e', 'E':
		if prec < 0 {
			prec = 6
		}
		s := strconv.FormatFloat(f, 'e', prec, 64)
		if typ == 'E' {
			s = strings.ToUpper(s)
		}
		return s
	case 'f', 'F':
		if prec < 0 {
			prec = 6
		}
		return strconv.FormatFloat(f, 'f', prec, 64)
	case '%':
		if prec < 0 {
			prec = 6
		}
		return strconv.FormatFloat(f*100, 'f', prec, 64) + "%"
	}
	// g, G: Python's general format.
	if prec < 0 {
		prec = 6
	}
	if prec == 0 {
		prec = 1
	}
	if f == 0 {
		return "0"
	}
	exp := int(math.Floor(math.Log10(f)))
	// Rounding can carry into the next decade (9.9995 at 4 digits).
	if r, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'e', prec-1, 64), 64); r != 0 {
		exp = int(math.Floor(math.Log10(r)))
	}
	var s string
	if exp < -4 || exp >= prec {
		s = strconv.FormatFloat(f, 'e', prec-1, 64)
		if !alt {
			mant, e, _ := strings.Cut(s, "e")
			if strings.Contains(mant, ".") {
				mant = strings.TrimRight(strings.TrimRight(mant, "0"), ".")
			}
			s = mant + "e" + e
		}
	} else {
		s = strconv.FormatFloat(f, 'f', max(prec-1-exp, 0), 64)
		if !alt && strings.Contains(s, ".") {
			s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
		}
	}
	if typ == 'G' {
		s = strings.ToUpper(s)
	}
	return s
}

func groupDigits(digits string, sep byte) string {
	if sep == 0 || len(digits) <= 3 {
		return digits
	}
	var b strings.Builder
	lead := len(digits) % 3
	if lead > 0 {
		b.WriteString(digits[:lead])
	}
	for i := lead; i < len(digits); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(sep)
		}
		b.WriteString(digits[i : i+3])
	}
	return b.String()
}

func pad(sign, body string, sp spec, numeric bool) string {
	n := utf8.RuneCountInString(sign) + utf8.RuneCountInString(body)
	if sp.width <= n {
		return sign + body
	}
	fill, align := sp.fill, sp.align
	if sp.zero && align == 0 {
		fill, align = '0', '='
	}
	if align == 0 {
		align = '<'
		if numeric {
			align = '>'
		}
	}
	k := sp.width - n
	f := strings.Repeat(string(fill), k)
	switch align {
	case '<':
		return sign + body + f
	case '^':
		return strings.Repeat(string(fill), k/2) + sign + body + strings.Repeat(string(fill), k-k/2)
	case '=':
		return sign + f + body
	}
	return f + sign + body
}

// percentFormat is Python's printf-style `format % args`.
func percentFormat(format string, args starlark.Value) (string, error) {
	var list []starlark.Value
	var mapping starlark.Mapping
	switch a := args.(type) {
	case starlark.Tuple:
		list = a
	case *starlark.Dict:
		mapping = a
		list = []starlark.Value{a}
	default:
		list = []starlark.Value{args}
	}
	next := 0
	take := func() (starlark.Value, error) {
		if next >= len(list) {
			return nil, fmt.Errorf("not enough arguments for format string %q", format)
		}
		next++
		return list[next-1], nil
	}
	var b strings.Builder
	usedMapping := false
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(format) {
			return "", fmt.Errorf("incomplete format %q", format)
		}
		var key string
		if format[i] == '(' {
			end := strings.IndexByte(format[i:], ')')
			if end < 0 {
				return "", fmt.Errorf("incomplete format key in %q", format)
			}
			key = format[i+1 : i+end]
			i += end + 1
		}
		sp := spec{fill: ' ', precision: -1}
	flags:
		for ; i < len(format); i++ {
			switch format[i] {
			case '-':
				sp.align = '<'
			case '+':
				sp.sign = '+'
			case ' ':
				if sp.sign == 0 {
					sp.sign = ' '
				}
			case '#':
				sp.alt = true
			case '0':
				sp.zero = true
			default:
				break flags
			}
		}
		for ; i < len(format) && (format[i] >= '0' && format[i] <= '9' || format[i] == '*'); i++ {
			if format[i] == '*' {
				v, err := take()
				if err != nil {
					return "", err
				}
				w, err := starlark.AsInt32(v)
				if err != nil {
					return "", fmt.Errorf("* wants an int")
				}
				sp.width = w
				continue
			}
			sp.width = sp.width*10 + int(format[i]-'0')
		}
		if i < len(format) && format[i] == '.' {
			sp.precision = 0
			for i++; i < len(format) && format[i] >= '0' && format[i] <= '9'; i++ {
				sp.precision = sp.precision*10 + int(format[i]-'0')
			}
		}
		if i >= len(format) {
			return "", fmt.Errorf("incomplete format %q", format)
		}
		conv := format[i]
		if conv == '%' {
			b.WriteByte('%')
			continue
		}
		var v starlark.Value
		var err error
		if key != "" {
			if mapping == nil {
				return "", fmt.Errorf("format requires a mapping for %%(%s)", key)
			}
			usedMapping = true
			var found bool
			v, found, err = mapping.Get(starlark.String(key))
			if err != nil {
				return "", err
			}
			if !found {
				return "", fmt.Errorf("key %q not in the format mapping", key)
			}
		} else if v, err = take(); err != nil {
			return "", err
		}
		if sp.zero && sp.align == '<' {
			sp.zero = false
		}
		if sp.align == 0 && !sp.zero {
			sp.align = '>' // printf pads on the left unless given '-'
		}
		switch conv {
		case 's', 'r', 'a':
			s := strOf(v)
			if conv != 's' {
				s = v.String()
			}
			if sp.precision >= 0 && len([]rune(s)) > sp.precision {
				s = string([]rune(s)[:sp.precision])
			}
			sp.zero = false
			b.WriteString(pad("", s, sp, false))
			continue
		case 'i', 'u':
			conv = 'd'
		}
		if strings.IndexByte("doxXeEfFgGc", conv) < 0 {
			return "", fmt.Errorf("unsupported format character '%c' in %q", conv, format)
		}
		if conv == 'd' || conv == 'o' || conv == 'x' || conv == 'X' {
			// %d truncates floats, as Python does.
			if n, ok := number(v); ok {
				if f, isF := n.(starlark.Float); isF {
					if math.IsInf(float64(f), 0) || math.IsNaN(float64(f)) {
						return "", fmt.Errorf("cannot convert %v to an integer", f)
					}
					bf, _ := new(big.Float).SetFloat64(math.Trunc(float64(f))).Int(nil)
					v = starlark.MakeBigInt(bf)
				} else {
					v = n
				}
			}
			if sp.precision >= 0 {
				// %.3d: at least 3 digits (zero-padded), then the width.
				inner := spec{fill: ' ', typ: conv, zero: true, width: sp.precision, precision: -1, alt: sp.alt, sign: sp.sign}
				if n, ok := v.(starlark.Int); ok && n.Sign() < 0 || sp.sign != 0 {
					inner.width++
				}
				digits, err := formatValue(v, inner)
				if err != nil {
					return "", fmt.Errorf("%%%c format: a number is required, not %s", conv, v.Type())
				}
				sp.zero = false
				b.WriteString(pad("", digits, sp, true))
				continue
			}
		}
		sp.typ = conv
		s, err := formatValue(v, sp)
		if err != nil {
			return "", fmt.Errorf("%%%c format: a number is required, not %s", conv, v.Type())
		}
		b.WriteString(s)
	}
	if !usedMapping && next < len(list) && mapping == nil {
		return "", fmt.Errorf("not all arguments converted during string formatting")
	}
	return b.String(), nil
}

// strFormat is Python's str.format with positional and keyword fields,
// conversions (!r, !s) and format specs, including nested {} in specs.
func strFormat(format string, args starlark.Tuple, kwargs []starlark.Tuple) (string, error) {
	var b strings.Builder
	auto := 0
	lookup := func(field string) (starlark.Value, error) {
		name, rest := field, ""
		if k := strings.IndexAny(field, ".["); k >= 0 {
			name, rest = field[:k], field[k:]
		}
		var v starlark.Value
		switch {
		case name == "":
			if auto >= len(args) {
				return nil, fmt.Errorf("format %q: not enough positional arguments", format)
			}
			v = args[auto]
			auto++
		case name[0] >= '0' && name[0] <= '9':
			i, err := strconv.Atoi(name)
			if err != nil || i >= len(args) {
				return nil, fmt.Errorf("format %q: no positional argument %s", format, name)
			}
			v = args[i]
		default:
			found := false
			for _, kv := range kwargs {
				if string(kv[0].(starlark.String)) == name {
					v, found = kv[1], true
				}
			}
			if !found {
				return nil, fmt.Errorf("format %q: no keyword argument %q", format, name)
			}
		}
		for rest != "" {
			if rest[0] == '.' {
				end := strings.IndexAny(rest[1:], ".[")
				if end < 0 {
					end = len(rest) - 1
				}
				attr := rest[1 : end+1]
				ha, ok := v.(starlark.HasAttrs)
				if !ok {
					return nil, fmt.Errorf("format: %s has no attribute %q", v.Type(), attr)
				}
				x, err := ha.Attr(attr)
				if err != nil || x == nil {
					return nil, fmt.Errorf("format: %s has no attribute %q", v.Type(), attr)
				}
				v, rest = x, rest[end+1:]
				continue
			}
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return nil, fmt.Errorf("format %q: missing ']'", format)
			}
			key := rest[1:end]
			var k starlark.Value = starlark.String(key)
			if n, err := strconv.Atoi(key); err == nil {
				k = starlark.MakeInt(n)
			}
			var err error
			switch c := v.(type) {
			case starlark.Mapping:
				var found bool
				v, found, err = c.Get(k)
				if err == nil && !found {
					err = fmt.Errorf("key %s not found", k)
				}
			case starlark.Indexable:
				i, ierr := starlark.AsInt32(k)
				if ierr != nil || i < 0 || i >= c.Len() {
					err = fmt.Errorf("index %s out of range", key)
				} else {
					v = c.Index(i)
				}
			default:
				err = fmt.Errorf("%s is not indexable", v.Type())
			}
			if err != nil {
				return nil, fmt.Errorf("format %q: %v", format, err)
			}
			rest = rest[end+1:]
		}
		return v, nil
	}
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c == '}' {
			if i+1 < len(format) && format[i+1] == '}' {
				i++
			}
			b.WriteByte('}')
			continue
		}
		if c != '{' {
			b.WriteByte(c)
			continue
		}
		if i+1 < len(format) && format[i+1] == '{' {
			b.WriteByte('{')
			i++
			continue
		}
		// Find the matching '}' (a spec may hold nested {...}).
		depth, j := 1, i+1
		for ; j < len(format) && depth > 0; j++ {
			switch format[j] {
			case '{':
				depth++
			case '}':
				depth--
			}
		}
		if depth != 0 {
			return "", fmt.Errorf("format %q: unmatched '{'", format)
		}
		field := format[i+1 : j-1]
		i = j - 1
		conv := byte(0)
		specStr := ""
		if k := strings.IndexByte(field, ':'); k >= 0 {
			field, specStr = field[:k], field[k+1:]
		}
		if k := strings.IndexByte(field, '!'); k >= 0 {
			if k+2 != len(field) {
				return "", fmt.Errorf("format %q: bad conversion in {%s}", format, field)
			}
			conv = field[k+1]
			field = field[:k]
		}
		v, err := lookup(field)
		if err != nil {
			return "", err
		}
		if strings.Contains(specStr, "{") {
			if specStr, err = strFormat(specStr, args, kwargs); err != nil {
				return "", err
			}
		}
		switch conv {
		case 0:
		case 'r', 'a':
			v = starlark.String(v.String())
		case 's':
			v = starlark.String(strOf(v))
		default:
			return "", fmt.Errorf("format %q: unknown conversion !%c", format, conv)
		}
		sp, err := parseSpec(specStr)
		if err != nil {
			return "", err
		}
		s, err := formatValue(v, sp)
		if err != nil {
			return "", err
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

func percentBuiltin(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	f, ok := args[0].(starlark.String)
	if !ok || len(args) != 2 {
		return starlark.Binary(syntaxPercent, args[0], args[1])
	}
	s, err := percentFormat(string(f), args[1])
	if err != nil {
		return nil, err
	}
	return starlark.String(s), nil
}

func formatMethodBuiltin(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	s, err := strFormat(string(args[0].(starlark.String)), args[1:], kwargs)
	if err != nil {
		return nil, err
	}
	return starlark.String(s), nil
}

// pyFormat is Python's format(value, format_spec="").
func pyFormat(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var v starlark.Value
	specStr := ""
	if err := starlark.UnpackPositionalArgs("format", args, kwargs, 1, &v, &specStr); err != nil {
		return nil, err
	}
	sp, err := parseSpec(specStr)
	if err != nil {
		return nil, fmt.Errorf("format: %w", err)
	}
	s, err := formatValue(v, sp)
	if err != nil {
		return nil, fmt.Errorf("format: %w", err)
	}
	return starlark.String(s), nil
}

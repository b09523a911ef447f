package interp

import (
	"bytes"
	"strings"
)

// Starlark's grammar allows a slice only as the whole subscript (x[a:b])
// and has no `...`, while tensor code indexes several dimensions at once:
// t[:, 1:3], t[..., -1], t[::2, 0]. rewriteSubscripts turns such subscripts
// into ones Starlark parses, before the parser sees the source:
//
//	t[:, 1:3]   ->  t[slice(None, None), slice(1, 3)]
//	t[..., -1]  ->  t[Ellipsis, -1]
//
// slice and Ellipsis are predeclared (lang.Slice, lang.Ellipsis). Only
// subscripts that need it are changed; lines never move, so error lines stay
// exact (columns to the right of a rewritten subscript shift).
func rewriteSubscripts(src []byte) []byte {
	if !bytes.Contains(src, []byte(":")) && !bytes.Contains(src, []byte("...")) {
		return src
	}
	s := &subScanner{src: src}
	out, changed := s.run(0, 0)
	if !changed {
		return src
	}
	return out
}

type subScanner struct {
	src []byte
	pos int
}

// keywords after which '[' starts a list literal, not a subscript.
var listAfter = map[string]bool{
	"in": true, "and": true, "or": true, "not": true, "if": true, "else": true, "elif": true,
	"return": true, "for": true, "lambda": true, "while": true, "yield": true, "assert": true,
}

// run copies source until the closing bracket `closer` (0: end of input),
// rewriting subscripts found on the way. It returns the copied text.
func (s *subScanner) run(closer byte, depth int) ([]byte, bool) {
	var out bytes.Buffer
	changed := false
	lastSig := "" // the previous significant token, to tell subscripts from list literals
	for s.pos < len(s.src) {
		c := s.src[s.pos]
		switch {
		case c == closer && closer != 0:
			return out.Bytes(), changed
		case c == '#':
			end := bytes.IndexByte(s.src[s.pos:], '\n')
			if end < 0 {
				end = len(s.src) - s.pos
			}
			out.Write(s.src[s.pos : s.pos+end])
			s.pos += end
		case c == '"' || c == '\'':
			start := s.pos
			s.skipString()
			out.Write(s.src[start:s.pos])
			lastSig = "str"
		case c == '(' || c == '{':
			cl := byte(')')
			if c == '{' {
				cl = '}'
			}
			s.pos++
			inner, ch := s.run(cl, depth+1)
			changed = changed || ch
			out.WriteByte(c)
			out.Write(inner)
			if s.pos < len(s.src) {
				out.WriteByte(s.src[s.pos])
				s.pos++
			}
			lastSig = string(cl)
		case c == '[':
			subscript := lastSig == ")" || lastSig == "]" || lastSig == "}" || lastSig == "str" ||
				(isIdentStart(lastSig) && !listAfter[lastSig])
			s.pos++
			inner, ch := s.run(']', depth+1)
			changed = changed || ch
			if subscript {
				if r, ok := rewriteIndex(inner); ok {
					inner = r
					changed = true
				}
			}
			out.WriteByte('[')
			out.Write(inner)
			if s.pos < len(s.src) {
				out.WriteByte(']')
				s.pos++
			}
			lastSig = "]"
		case isIdentByte(c):
			start := s.pos
			for s.pos < len(s.src) && isIdentByte(s.src[s.pos]) {
				s.pos++
			}
			word := string(s.src[start:s.pos])
			out.WriteString(word)
			// A number is a value too (e.g. `1 [0]` never occurs, but keep
			// identifiers and numbers alike).
			lastSig = word
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\\':
			out.WriteByte(c)
			s.pos++
		default:
			out.WriteByte(c)
			s.pos++
			lastSig = string(c)
		}
	}
	return out.Bytes(), changed
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

func isIdentStart(w string) bool { return w != "" && isIdentByte(w[0]) }

// skipString advances past a string literal starting at s.pos (with any
// quote style; prefixes are ordinary identifier bytes already copied).
func (s *subScanner) skipString() {
	q := s.src[s.pos]
	triple := bytes.HasPrefix(s.src[s.pos:], []byte{q, q, q})
	if triple {
		s.pos += 3
		for s.pos < len(s.src) {
			if s.src[s.pos] == '\\' {
				s.pos += 2
				continue
			}
			if bytes.HasPrefix(s.src[s.pos:], []byte{q, q, q}) {
				s.pos += 3
				return
			}
			s.pos++
		}
		return
	}
	s.pos++
	for s.pos < len(s.src) {
		switch s.src[s.pos] {
		case '\\':
			s.pos += 2
			continue
		case q:
			s.pos++
			return
		case '\n':
			return
		}
		s.pos++
	}
}

// rewriteIndex rewrites the inside of one subscript when it holds `...` or
// a slice next to other indices. Nested brackets have been handled already.
func rewriteIndex(inner []byte) ([]byte, bool) {
	parts := splitTop(inner, ',')
	need := false
	for _, p := range parts {
		t := strings.TrimSpace(string(p))
		if t == "..." || (len(parts) > 1 && len(splitTop(p, ':')) > 1) {
			need = true
		}
	}
	if !need {
		return nil, false
	}
	var out bytes.Buffer
	for i, p := range parts {
		if i > 0 {
			out.WriteByte(',')
		}
		t := strings.TrimSpace(string(p))
		lead := p[:len(p)-len(bytes.TrimLeft(p, " \t\r\n\\"))]
		out.Write(lead)
		switch {
		case t == "...":
			out.WriteString("Ellipsis")
		case len(splitTop(p, ':')) > 1:
			bounds := splitTop(p, ':')
			out.WriteString("slice(")
			for j, b := range bounds {
				if j > 0 {
					out.WriteString(", ")
				}
				bt := strings.TrimSpace(string(b))
				if bt == "" {
					bt = "None"
				}
				out.WriteString(bt)
			}
			out.WriteString(")")
		default:
			out.WriteString(strings.TrimLeft(string(p), " \t\r\n\\"))
		}
	}
	// A single `...` subscript stays a single index, not a tuple.
	return out.Bytes(), true
}

// splitTop splits b at sep outside brackets and strings.
func splitTop(b []byte, sep byte) [][]byte {
	var parts [][]byte
	depth, start := 0, 0
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
		case '"', '\'':
			s := &subScanner{src: b, pos: i}
			s.skipString()
			i = s.pos - 1
		case sep:
			if depth == 0 {
				parts = append(parts, b[start:i])
				start = i + 1
			}
		}
	}
	return append(parts, b[start:])
}

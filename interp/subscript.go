package interp

import (
	"bytes"
	"strings"
)

// rewriteSubscripts brings four pieces of Python syntax that tensor code
// relies on, and Starlark's grammar lacks, into Starlark, by rewriting the
// source before the parser sees it:
//
//	t[:, 1:3]        ->  t[slice(None, None), slice(1, 3)]   (slices beside other indices)
//	t[..., -1]       ->  t[Ellipsis, -1]
//	t[1:3] = v       ->  t[slice(1, 3)] = v                  (slice assignment)
//	a ** b           ->  pow(a, b)                           (with Python's precedence)
//	a @ b            ->  a * __matmul__(b)                   (precedence of *)
//	torch.load(...)  ->  torch.__load__(...)                 (load is a Starlark keyword)
//
// slice, Ellipsis, pow and __matmul__ are predeclared; modules answer __load__ as load.
// Lines never move, so error lines stay exact; columns right of a rewrite
// shift. Strings and comments are left alone.
func rewriteSubscripts(src []byte) []byte {
	if !bytes.Contains(src, []byte(":")) && !bytes.Contains(src, []byte("...")) &&
		!bytes.Contains(src, []byte("**")) && !bytes.Contains(src, []byte(".load")) &&
		!bytes.Contains(src, []byte("@")) {
		return src
	}
	toks := tokenize(src)
	root, _ := group(toks, 0, "")
	changed := rewriteNodes(&root.kids)
	if !changed {
		return src
	}
	var out bytes.Buffer
	root.emit(&out)
	return out.Bytes()
}

type tokKind int

const (
	tIdent tokKind = iota
	tNum
	tStr
	tOp
	tEOF
)

type token struct {
	kind   tokKind
	text   string
	trivia string // whitespace and comments before the token
}

// tokenize splits Python-like source into tokens, keeping everything
// between tokens as trivia so the source can be reproduced exactly.
func tokenize(src []byte) []token {
	var toks []token
	i := 0
	for {
		start := i
		for i < len(src) {
			c := src[i]
			if c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\\' || c == '\f' {
				i++
			} else if c == '#' {
				for i < len(src) && src[i] != '\n' {
					i++
				}
			} else {
				break
			}
		}
		trivia := string(src[start:i])
		if i >= len(src) {
			toks = append(toks, token{kind: tEOF, trivia: trivia})
			return toks
		}
		c := src[i]
		j := i
		kind := tOp
		switch {
		case c == '"' || c == '\'':
			j = skipString(src, i)
			kind = tStr
		case isIdentByte(c) && !(c >= '0' && c <= '9'):
			for j < len(src) && isIdentByte(src[j]) {
				j++
			}
			kind = tIdent
			// String prefixes: r"..", b'..', rb"..".
			if j < len(src) && (src[j] == '"' || src[j] == '\'') && len(src[i:j]) <= 2 &&
				strings.Trim(strings.ToLower(string(src[i:j])), "rb") == "" {
				j = skipString(src, j)
				kind = tStr
			}
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(src) && src[i+1] >= '0' && src[i+1] <= '9':
			for j < len(src) && (isIdentByte(src[j]) || src[j] == '.' ||
				(src[j] == '+' || src[j] == '-') && (src[j-1] == 'e' || src[j-1] == 'E') && !bytes.HasPrefix(src[i:], []byte("0x"))) {
				j++
			}
			kind = tNum
		default:
			j = i + 1
			for _, op := range []string{"...", "**=", "//=", "<<=", ">>=", "**", "//", "==", "!=", "<=", ">=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<", ">>", "->"} {
				if bytes.HasPrefix(src[i:], []byte(op)) {
					j = i + len(op)
					break
				}
			}
		}
		toks = append(toks, token{kind: kind, text: string(src[i:j]), trivia: trivia})
		i = j
	}
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

// skipString returns the index just past the string literal at i.
func skipString(src []byte, i int) int {
	q := src[i]
	if bytes.HasPrefix(src[i:], []byte{q, q, q}) {
		for i += 3; i < len(src); i++ {
			if src[i] == '\\' {
				i++
			} else if bytes.HasPrefix(src[i:], []byte{q, q, q}) {
				return i + 3
			}
		}
		return len(src)
	}
	for i++; i < len(src); i++ {
		switch src[i] {
		case '\\':
			i++
		case q:
			return i + 1
		case '\n':
			return i
		}
	}
	return len(src)
}

// node is a token or a bracketed group of nodes.
type node struct {
	tok         token // for a leaf; for a group, the opening bracket
	kids        []*node
	close       *token // closing bracket of a group (nil when missing)
	isGroup     bool
	synthesized bool // a group made by a rewrite (pow(...)): an operand
}

func (n *node) emit(b *bytes.Buffer) {
	if !n.isGroup {
		b.WriteString(n.tok.trivia)
		b.WriteString(n.tok.text)
		return
	}
	b.WriteString(n.tok.trivia)
	b.WriteString(n.tok.text)
	for _, k := range n.kids {
		k.emit(b)
	}
	if n.close != nil {
		b.WriteString(n.close.trivia)
		b.WriteString(n.close.text)
	}
}

var closers = map[string]string{"(": ")", "[": "]", "{": "}"}

// group builds the bracket tree from toks[i:] until closer ("" = EOF).
func group(toks []token, i int, closer string) (*node, int) {
	g := &node{isGroup: true}
	for i < len(toks) {
		t := toks[i]
		if t.kind == tEOF {
			g.kids = append(g.kids, &node{tok: t})
			return g, i + 1
		}
		if t.kind == tOp && t.text == closer {
			tt := t
			g.close = &tt
			return g, i + 1
		}
		if t.kind == tOp && closers[t.text] != "" {
			sub, next := group(toks, i+1, closers[t.text])
			sub.tok = t
			g.kids = append(g.kids, sub)
			i = next
			continue
		}
		g.kids = append(g.kids, &node{tok: t})
		i++
	}
	return g, i
}

var keywords = map[string]bool{
	"and": true, "or": true, "not": true, "in": true, "if": true, "else": true, "elif": true, "for": true,
	"while": true, "return": true, "lambda": true, "def": true, "load": true, "pass": true, "break": true,
	"continue": true, "yield": true, "assert": true, "is": true, "del": true, "with": true, "as": true,
	"import": true, "from": true, "class": true, "try": true, "except": true, "raise": true, "global": true,
}

// operandEnd reports whether n can end an operand (so a following '[' or
// '(' is a subscript or call, and a following ** is binary).
func operandEnd(n *node) bool {
	if n.isGroup {
		return n.synthesized || n.tok.text == "(" || n.tok.text == "[" || n.tok.text == "{"
	}
	switch n.tok.kind {
	case tIdent:
		return !keywords[n.tok.text]
	case tNum, tStr:
		return true
	}
	return false
}

func isOp(n *node, text string) bool { return !n.isGroup && n.tok.kind == tOp && n.tok.text == text }

var assignOps = map[string]bool{"=": true, "+=": true, "-=": true, "*=": true, "/=": true, "//=": true, "%=": true, "&=": true, "|=": true, "^=": true, "<<=": true, ">>=": true}

// rewriteNodes applies the rewrites to one list of sibling nodes and,
// first, to every group inside it.
func rewriteNodes(kids *[]*node) bool {
	changed := false
	for _, k := range *kids {
		if k.isGroup && rewriteNodes(&k.kids) {
			changed = true
		}
	}
	ks := *kids
	for i, k := range ks {
		// x.load -> x.__load__
		if !k.isGroup && k.tok.kind == tIdent && k.tok.text == "load" && i > 0 && isOp(ks[i-1], ".") {
			k.tok.text = "__load__"
			changed = true
		}
		if k.isGroup && k.tok.text == "[" && i > 0 && operandEnd(ks[i-1]) {
			target := i+1 < len(ks) && !ks[i+1].isGroup && ks[i+1].tok.kind == tOp && assignOps[ks[i+1].tok.text]
			if rewriteIndex(k, target) {
				changed = true
			}
		}
	}
	if rewritePow(kids) {
		changed = true
	}
	if rewriteMatmul(kids) {
		changed = true
	}
	return changed
}

// rewriteMatmul turns a @ b into a * __matmul__(b): the right operand is
// wrapped in a value whose reflected * is matrix multiplication, so @ keeps
// the precedence and left associativity of * as in Python.
func rewriteMatmul(kids *[]*node) bool {
	changed := false
	ks := *kids
	for i := 1; i < len(ks); i++ {
		if !isOp(ks[i], "@") || !operandEnd(ks[i-1]) {
			continue
		}
		re := primaryEnd(ks, i+1)
		if re <= i+1 {
			continue
		}
		ks[i].tok.text = "*"
		call := &node{isGroup: true, tok: token{kind: tOp, text: "("}, close: &token{kind: tOp, text: ")"}, synthesized: true}
		operand := append([]*node{}, ks[i+1:re]...)
		var trivia string
		trivia, operand[0] = takeTrivia(operand[0])
		call.kids = operand
		wrapped := &node{isGroup: true, synthesized: true, kids: []*node{leaf("__matmul__", trivia), call}}
		ks = append(append(append([]*node{}, ks[:i+1]...), wrapped), ks[re:]...)
		changed = true
	}
	*kids = ks
	return changed
}

// splitTop splits nodes at top-level tokens with the given text.
func splitTop(ns []*node, sep string) [][]*node {
	var parts [][]*node
	start := 0
	for i, n := range ns {
		if isOp(n, sep) {
			parts = append(parts, ns[start:i])
			start = i + 1
		}
	}
	return append(parts, ns[start:])
}

func leaf(text string, trivia string) *node {
	kind := tOp
	if isIdentByte(text[0]) {
		kind = tIdent
	}
	return &node{tok: token{kind: kind, text: text, trivia: trivia}}
}

// rewriteIndex rewrites the inside of a subscript when it holds `...`, a
// slice beside other indices, or a slice that is assigned to.
func rewriteIndex(g *node, target bool) bool {
	kids := g.kids
	var eof *node
	if n := len(kids); n > 0 && !kids[n-1].isGroup && kids[n-1].tok.kind == tEOF {
		return false // unterminated: leave it to the parser's error
	}
	_ = eof
	parts := splitTop(kids, ",")
	need := false
	for _, p := range parts {
		if len(p) == 1 && isOp(p[0], "...") {
			need = true
		}
		if len(splitTop(p, ":")) > 1 && (len(parts) > 1 || target) {
			need = true
		}
	}
	if !need {
		return false
	}
	var out []*node
	for i, p := range parts {
		if i > 0 {
			out = append(out, kids[indexOfSep(kids, i)])
		}
		switch {
		case len(p) == 1 && isOp(p[0], "..."):
			out = append(out, leaf("Ellipsis", p[0].tok.trivia))
		case len(splitTop(p, ":")) > 1:
			bounds := splitTop(p, ":")
			trivia := ""
			if len(p) > 0 && !p[0].isGroup {
				trivia = p[0].tok.trivia
			} else if len(p) > 0 {
				trivia = p[0].tok.trivia
			}
			call := &node{isGroup: true, tok: token{kind: tOp, text: "("}, close: &token{kind: tOp, text: ")"}, synthesized: true}
			for j, b := range bounds {
				if j > 0 {
					call.kids = append(call.kids, leaf(",", ""))
				}
				if len(b) == 0 {
					call.kids = append(call.kids, leaf("None", ""))
				} else {
					b = append([]*node{}, b...)
					if j == 0 && len(b) > 0 {
						// The part's leading trivia moves before "slice".
						c := *b[0]
						c.tok.trivia = ""
						b[0] = &c
					}
					call.kids = append(call.kids, b...)
				}
			}
			out = append(out, leaf("slice", trivia), call)
		default:
			out = append(out, p...)
		}
	}
	g.kids = out
	return true
}

// indexOfSep returns the index in kids of the n-th top-level comma.
func indexOfSep(kids []*node, n int) int {
	seen := 0
	for i, k := range kids {
		if isOp(k, ",") {
			seen++
			if seen == n {
				return i
			}
		}
	}
	return -1
}

// rewritePow turns binary ** into pow(L, R), rightmost first, so that
// a ** b ** c is a ** (b ** c) and -a ** b is -(a ** b), as in Python.
func rewritePow(kids *[]*node) bool {
	changed := false
	for {
		ks := *kids
		at := -1
		for i := len(ks) - 1; i > 0; i-- {
			if isOp(ks[i], "**") && operandEnd(ks[i-1]) {
				at = i
				break
			}
		}
		if at < 0 {
			return changed
		}
		ls := primaryStart(ks, at-1)
		re := primaryEnd(ks, at+1)
		if re <= at+1 {
			return changed // no right operand: leave it to the parser
		}
		call := &node{isGroup: true, tok: token{kind: tOp, text: "("}, close: &token{kind: tOp, text: ")"}, synthesized: true}
		left := append([]*node{}, ks[ls:at]...)
		var trivia string
		trivia, left[0] = takeTrivia(left[0])
		call.kids = append(call.kids, left...)
		call.kids = append(call.kids, leaf(",", ""))
		call.kids = append(call.kids, ks[at+1:re]...)
		repl := []*node{leaf("pow", trivia), call}
		// pow and its call group act as one operand from here on.
		wrapped := &node{isGroup: true, synthesized: true, tok: token{kind: tOp, text: ""}, kids: repl}
		out := append([]*node{}, ks[:ls]...)
		out = append(out, wrapped)
		out = append(out, ks[re:]...)
		*kids = out
		changed = true
	}
}

// primaryStart walks back from ks[j] over one primary expression: an atom
// with its trailers (.name, (...), [...]).
func primaryStart(ks []*node, j int) int {
	for j > 0 {
		n := ks[j]
		if !n.isGroup && n.tok.kind == tIdent && isOp(ks[j-1], ".") && j >= 2 {
			j -= 2
			continue
		}
		if n.isGroup && !n.synthesized && (n.tok.text == "(" || n.tok.text == "[") && operandEnd(ks[j-1]) {
			j--
			continue
		}
		break
	}
	return j
}

// primaryEnd returns the index after the unary expression starting at i:
// unary + - ~, an atom, and its trailers.
func primaryEnd(ks []*node, i int) int {
	for i < len(ks) && (isOp(ks[i], "-") || isOp(ks[i], "+") || isOp(ks[i], "~")) {
		i++
	}
	if i >= len(ks) || !operandEnd(ks[i]) {
		return i
	}
	i++
	for i < len(ks) {
		if isOp(ks[i], ".") && i+1 < len(ks) && !ks[i+1].isGroup && ks[i+1].tok.kind == tIdent {
			i += 2
			continue
		}
		if ks[i].isGroup && !ks[i].synthesized && (ks[i].tok.text == "(" || ks[i].tok.text == "[") {
			i++
			continue
		}
		break
	}
	return i
}

// takeTrivia returns n's leading whitespace and a copy of n without it
// (looking inside the wrappers that rewrites make).
func takeTrivia(n *node) (string, *node) {
	c := *n
	if c.isGroup && c.synthesized && c.tok.text == "" && len(c.kids) > 0 {
		c.kids = append([]*node{}, c.kids...)
		var t string
		t, c.kids[0] = takeTrivia(c.kids[0])
		return t, &c
	}
	t := c.tok.trivia
	c.tok.trivia = ""
	return t, &c
}

package interp

import (
	"go.starlark.net/syntax"
)

// Starlark cannot be extended with new operator semantics, so before
// compiling we rewrite the syntax tree: comparisons and truth tests become
// calls of hidden predeclared builtins. Their names contain a space, so no
// script can spell, shadow or reassign them.
const (
	hiddenPrefix = "operator "
	truthName    = "operator truth" // condition -> Bool
	testName     = "operator test"  // left operand of and/or -> value or a truth-carrying wrapper
	pickName     = "operator pick"  // result of and/or -> the operand value
)

// compareNames maps each comparison token to its hidden builtin.
var compareNames = map[syntax.Token]string{
	syntax.EQL: "operator ==",
	syntax.NEQ: "operator !=",
	syntax.LT:  "operator <",
	syntax.LE:  "operator <=",
	syntax.GT:  "operator >",
	syntax.GE:  "operator >=",
}

// isHidden reports whether a global name belongs to the rewrite machinery
// (and so must not appear in dir(), completion or tracebacks).
func isHidden(name string) bool {
	return len(name) > len(hiddenPrefix) && name[:len(hiddenPrefix)] == hiddenPrefix
}

// rewriteFile rewrites every statement of f in place.
func rewriteFile(f *syntax.File) {
	f.Stmts = rewriteStmts(f.Stmts)
}

func rewriteStmts(stmts []syntax.Stmt) []syntax.Stmt {
	for _, s := range stmts {
		rewriteStmt(s)
	}
	return stmts
}

func rewriteStmt(s syntax.Stmt) {
	switch s := s.(type) {
	case *syntax.AssignStmt:
		// The LHS keeps its shape (it must stay assignable); only
		// sub-expressions such as a[i == 0] are rewritten.
		s.LHS = rewriteExpr(s.LHS)
		s.RHS = rewriteExpr(s.RHS)
		guardAugmented(s) // budget.go
	case *syntax.DefStmt:
		rewriteParams(s.Params)
		rewriteStmts(s.Body)
	case *syntax.ExprStmt:
		s.X = rewriteExpr(s.X)
	case *syntax.IfStmt:
		s.Cond = rewriteCond(s.Cond)
		rewriteStmts(s.True)
		rewriteStmts(s.False)
	case *syntax.ForStmt:
		s.Vars = rewriteExpr(s.Vars)
		s.X = rewriteExpr(s.X)
		rewriteStmts(s.Body)
	case *syntax.WhileStmt:
		s.Cond = rewriteCond(s.Cond)
		rewriteStmts(s.Body)
	case *syntax.ReturnStmt:
		if s.Result != nil {
			s.Result = rewriteExpr(s.Result)
		}
	case *syntax.LoadStmt, *syntax.BranchStmt:
		// nothing to rewrite
	}
}

// rewriteParams rewrites default values; the parameter names stay.
func rewriteParams(params []syntax.Expr) {
	for _, p := range params {
		if b, ok := p.(*syntax.BinaryExpr); ok && b.Op == syntax.EQ {
			b.Y = rewriteExpr(b.Y)
		}
	}
}

// rewriteExpr returns e with comparisons, not, and/or and nested
// conditions rewritten. Nodes are changed in place where possible.
func rewriteExpr(e syntax.Expr) syntax.Expr {
	switch e := e.(type) {
	case nil:
		return nil
	case *syntax.Ident, *syntax.Literal:
		return e
	case *syntax.BinaryExpr:
		switch e.Op {
		case syntax.AND, syntax.OR:
			// pick(test(x) or y): the native operator keeps its laziness and
			// evaluates x once; test lets a TruthChecker decide (or refuse)
			// and pick unwraps the value that test may have wrapped.
			e.X = hiddenCall(testName, syntax.Start(e.X), rewriteExpr(e.X))
			e.Y = rewriteExpr(e.Y)
			return hiddenCall(pickName, e.OpPos, e)
		}
		e.X = rewriteExpr(e.X)
		e.Y = rewriteExpr(e.Y)
		if name, ok := compareNames[e.Op]; ok {
			return hiddenCall(name, e.OpPos, e.X, e.Y)
		}
		if e.Op == syntax.PERCENT && isStringLiteral(e.X) {
			// "%.3f" % x: Python's printf-style formatting (pyformat.go).
			return hiddenCall(percentName, e.OpPos, e.X, e.Y)
		}
		return guardBinary(e) // budget.go
	case *syntax.UnaryExpr:
		if e.Op == syntax.NOT {
			e.X = rewriteCond(e.X)
			return e
		}
		e.X = rewriteExpr(e.X) // nil for a bare * parameter
		return e
	case *syntax.CallExpr:
		if d, ok := e.Fn.(*syntax.DotExpr); ok && d.Name.Name == "format" && isStringLiteral(d.X) {
			// "{:.3f}".format(x): Python's format specs (pyformat.go).
			for i, a := range e.Args {
				if b, ok := a.(*syntax.BinaryExpr); ok && b.Op == syntax.EQ {
					b.Y = rewriteExpr(b.Y)
					continue
				}
				e.Args[i] = rewriteExpr(a)
			}
			call := hiddenCall(formatName, d.Dot, append([]syntax.Expr{d.X}, e.Args...)...)
			return call
		}
		e.Fn = rewriteExpr(e.Fn)
		for i, a := range e.Args {
			if b, ok := a.(*syntax.BinaryExpr); ok && b.Op == syntax.EQ {
				b.Y = rewriteExpr(b.Y) // keyword argument name=value
				continue
			}
			e.Args[i] = rewriteExpr(a) // positional, *args, **kwargs
		}
		return guardCall(e) // budget.go
	case *syntax.CondExpr:
		e.Cond = rewriteCond(e.Cond)
		e.True = rewriteExpr(e.True)
		e.False = rewriteExpr(e.False)
		return e
	case *syntax.Comprehension:
		e.Body = rewriteExpr(e.Body)
		for _, c := range e.Clauses {
			switch c := c.(type) {
			case *syntax.ForClause:
				c.Vars = rewriteExpr(c.Vars)
				c.X = rewriteExpr(c.X)
			case *syntax.IfClause:
				c.Cond = rewriteCond(c.Cond)
			}
		}
		return e
	case *syntax.DictExpr:
		for i, x := range e.List {
			e.List[i] = rewriteExpr(x)
		}
		return e
	case *syntax.DictEntry:
		e.Key = rewriteExpr(e.Key)
		e.Value = rewriteExpr(e.Value)
		return e
	case *syntax.DotExpr:
		e.X = rewriteExpr(e.X)
		return e
	case *syntax.IndexExpr:
		e.X = rewriteExpr(e.X)
		e.Y = rewriteExpr(e.Y)
		return e
	case *syntax.SliceExpr:
		e.X = rewriteExpr(e.X)
		e.Lo = rewriteExpr(e.Lo)
		e.Hi = rewriteExpr(e.Hi)
		e.Step = rewriteExpr(e.Step)
		return e
	case *syntax.LambdaExpr:
		rewriteParams(e.Params)
		e.Body = rewriteExpr(e.Body)
		return e
	case *syntax.ListExpr:
		for i, x := range e.List {
			e.List[i] = rewriteExpr(x)
		}
		return e
	case *syntax.TupleExpr:
		for i, x := range e.List {
			e.List[i] = rewriteExpr(x)
		}
		return e
	case *syntax.ParenExpr:
		e.X = rewriteExpr(e.X)
		return e
	}
	return e
}

// rewriteCond rewrites an expression whose value is only used for its
// truth. and/or/not stay native there (their result is then a Bool, which
// is all a condition needs), and every other operand gets a truth call.
func rewriteCond(e syntax.Expr) syntax.Expr {
	switch x := e.(type) {
	case *syntax.ParenExpr:
		x.X = rewriteCond(x.X)
		return x
	case *syntax.BinaryExpr:
		if x.Op == syntax.AND || x.Op == syntax.OR {
			x.X = rewriteCond(x.X)
			x.Y = rewriteCond(x.Y)
			return x
		}
	case *syntax.UnaryExpr:
		if x.Op == syntax.NOT {
			x.X = rewriteCond(x.X)
			return x
		}
	}
	return hiddenCall(truthName, syntax.Start(e), rewriteExpr(e))
}

// hiddenCall builds name(args...) positioned at pos, so that errors and
// tracebacks point at the operator or condition in the user's source.
func hiddenCall(name string, pos syntax.Position, args ...syntax.Expr) *syntax.CallExpr {
	return &syntax.CallExpr{
		Fn:     &syntax.Ident{NamePos: pos, Name: name},
		Lparen: pos,
		Args:   args,
		Rparen: pos,
	}
}

func isStringLiteral(e syntax.Expr) bool {
	l, ok := e.(*syntax.Literal)
	return ok && l.Token == syntax.STRING
}

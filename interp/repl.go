package interp

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/chzyer/readline"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

const replFile = "<stdin>"

// replOptions: in the REPL, load() binds globals, so later inputs see them.
var replOptions = func() *syntax.FileOptions {
	o := *fileOptions
	o.LoadBindsGlobally = true
	return &o
}()

// errInterrupt is Ctrl-C at the prompt: the input so far is dropped.
var errInterrupt = errors.New("^C")

// REPL reads statements from in and runs them until the end of the input,
// printing expression values and print() output to out. A terminal gets
// line editing, history and Tab completion, and an error is printed to the
// Stderr option without ending the session. Other input (a pipe, a file)
// is read line by line without prompts and runs like a script: the first
// error ends it and is returned, unprinted (unless ContinueOnError).
// Blocks (def, for, if, while) end with an empty line.
func (h *Host) REPL(ctx context.Context, in io.Reader, out io.Writer) error {
	cwd, err := os.Getwd()
	if err != nil {
		return err
	}
	s := h.newSession(nil, out)
	s.globals = starlark.StringDict{}
	for k, v := range s.predeclared {
		s.globals[k] = v
	}
	s.files[replFile] = fileInfo{dir: cwd, root: cwd}

	var r lineReader
	keepGoing := h.opts.ContinueOnError
	if f, ok := in.(*os.File); ok && readline.IsTerminal(int(f.Fd())) {
		keepGoing = true
		rl, err := readline.NewEx(&readline.Config{
			Prompt:            ">>> ",
			HistoryFile:       h.historyFile(),
			HistorySearchFold: true,
			AutoComplete:      completer{s},
			Stdin:             readline.NewCancelableStdin(f),
			Stdout:            out,
			Stderr:            h.opts.Stderr,
		})
		if err != nil {
			return err
		}
		fmt.Fprintln(out, "dadash: help() for a guide, Tab completes, Ctrl-D exits")
		r = termReader{rl}
	} else {
		r = &pipeReader{in: bufio.NewReader(in)}
	}
	defer r.Close()

	c := &chunker{r: r}
	for ctx.Err() == nil {
		f, err := c.next()
		switch {
		case err == io.EOF:
			return s.finish(nil)
		case err == errInterrupt:
			continue
		case err != nil && !keepGoing:
			return err
		case err != nil:
			fmt.Fprintln(h.opts.Stderr, FormatError(err))
			continue
		}
		if err := s.runChunk(ctx, f, out); err != nil {
			if !keepGoing {
				return err
			}
			fmt.Fprintln(h.opts.Stderr, FormatError(err))
		}
	}
	return ctx.Err()
}

// historyFile is the REPL history path, or "" for none.
func (h *Host) historyFile() string {
	p := h.opts.HistoryFile
	if p == "" {
		p = os.Getenv("DADASH_HISTORY")
	}
	if p == "" {
		if home, err := os.UserHomeDir(); err == nil {
			p = filepath.Join(home, ".dadash_history")
		}
	}
	if p == "-" {
		return ""
	}
	return p
}

// runChunk runs one REPL input: an expression is evaluated and printed
// (and kept in _ unless None), statements run against the globals.
func (s *session) runChunk(ctx context.Context, f *syntax.File, out io.Writer) error {
	return s.exec(ctx, func() error {
		if len(f.Stmts) == 1 {
			if e, ok := f.Stmts[0].(*syntax.ExprStmt); ok {
				v, err := starlark.EvalExprOptions(f.Options, s.thread, rewriteExpr(e.X), s.globals)
				if err != nil {
					return s.hintUndefined(err)
				}
				if v != starlark.None {
					s.globals["_"] = v
					fmt.Fprintln(out, v.String())
				}
				return nil
			}
		}
		rewriteFile(f)
		return s.hintUndefined(starlark.ExecREPLChunk(f, s.thread, s.globals))
	})
}

// A lineReader returns input lines without their newline: io.EOF at the
// end, errInterrupt on Ctrl-C.
type lineReader interface {
	ReadLine(prompt string) (string, error)
	Close() error
}

type termReader struct{ rl *readline.Instance }

func (t termReader) ReadLine(prompt string) (string, error) {
	t.rl.SetPrompt(prompt)
	line, err := t.rl.Readline()
	if err == readline.ErrInterrupt {
		return "", errInterrupt
	}
	return line, err
}

func (t termReader) Close() error { return t.rl.Close() }

// pipeReader reads lines from a non-terminal, without prompts.
type pipeReader struct {
	in  *bufio.Reader
	eof bool
}

func (p *pipeReader) ReadLine(string) (string, error) {
	if p.eof {
		return "", io.EOF
	}
	line, err := p.in.ReadString('\n')
	if err != nil {
		p.eof = true
		if line == "" {
			return "", io.EOF
		}
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func (p *pipeReader) Close() error { return nil }

// chunker groups input lines into units to run, as Python's REPL does: a
// simple statement runs when complete, a block (def/for/if/while) when an
// empty line, the end of input, or an unindented line follows it.
type chunker struct {
	r       lineReader
	pending *string // a line read ahead that starts the next unit
	eof     bool
}

func (c *chunker) readLine(prompt string) (string, error) {
	if c.pending != nil {
		line := *c.pending
		c.pending = nil
		return line, nil
	}
	if c.eof {
		return "", io.EOF
	}
	line, err := c.r.ReadLine(prompt)
	if err == io.EOF {
		c.eof = true
	}
	return line, err
}

func (c *chunker) next() (*syntax.File, error) {
	var lines []string
	var f *syntax.File
	var err error
	for {
		prompt := ">>> "
		if len(lines) > 0 {
			prompt = "... "
		}
		line, rerr := c.readLine(prompt)
		switch {
		case rerr == io.EOF && len(lines) == 0:
			return nil, io.EOF
		case rerr == io.EOF:
			return f, err // run what is complete; report what is not
		case rerr != nil:
			return nil, rerr
		case strings.TrimSpace(line) == "":
			if len(lines) == 0 {
				continue
			}
			if err == nil || !incomplete(err, len(lines)) || strings.HasSuffix(err.Error(), "want indent") {
				return f, err
			}
			// an empty line inside brackets or a string: keep reading
		case len(lines) > 0 && err == nil && !startsIndented(line) && !continuesBlock(line):
			c.pending = &line // the block is done; this line starts the next unit
			return f, nil
		}
		lines = append(lines, line)
		f, err = replOptions.Parse(replFile, rewriteSubscripts([]byte(strings.Join(lines, "\n")+"\n")), 0)
		if err == nil && !isCompound(f) {
			return f, nil
		}
		if err != nil && !incomplete(err, len(lines)) {
			return nil, err
		}
	}
}

// incomplete reports whether a syntax error of n lines of input is at its
// end, so that more lines may complete it.
func incomplete(err error, n int) bool {
	var se syntax.Error
	if !errors.As(err, &se) {
		return false
	}
	return se.Pos.Line > int32(n) || strings.Contains(se.Msg, "unexpected EOF")
}

func isCompound(f *syntax.File) bool {
	if len(f.Stmts) == 0 {
		return false
	}
	switch f.Stmts[0].(type) {
	case *syntax.DefStmt, *syntax.IfStmt, *syntax.ForStmt, *syntax.WhileStmt:
		return true
	}
	return false
}

func startsIndented(line string) bool {
	return line != "" && (line[0] == ' ' || line[0] == '\t')
}

// continuesBlock reports whether an unindented line continues an if.
func continuesBlock(line string) bool {
	if rest, ok := strings.CutPrefix(line, "else"); ok {
		return strings.HasPrefix(strings.TrimSpace(rest), ":")
	}
	rest, ok := strings.CutPrefix(line, "elif")
	return ok && rest != "" && !isIdentByte(rest[0])
}

// completer completes global names, module members and attributes. It
// evaluates only plain dotted names (attribute reads, never calls), so
// completion has no side effects beyond what reading an attribute does.
type completer struct{ s *session }

func (c completer) Do(line []rune, pos int) (candidates [][]rune, length int) {
	defer func() {
		if recover() != nil {
			candidates, length = nil, 0
		}
	}()
	head := string(line[:pos])
	i := len(head)
	for i > 0 && (isIdentByte(head[i-1]) || head[i-1] == '.') {
		i--
	}
	expr := head[i:]
	if strings.TrimSpace(head) == "" {
		return [][]rune{[]rune("    ")}, 0 // Tab indents at the start of a line
	}
	if expr == "" || expr[0] == '.' || ('0' <= expr[0] && expr[0] <= '9') {
		return nil, 0
	}
	var names []string
	prefix := expr
	if dot := strings.LastIndexByte(expr, '.'); dot >= 0 {
		prefix = expr[dot+1:]
		v := c.lookup(strings.Split(expr[:dot], "."))
		if v == nil {
			return nil, 0
		}
		names = attrNames(v)
	} else {
		names = append(visibleNames(c.s.globals), visibleNames(starlark.Universe)...)
		sort.Strings(names)
	}
	for _, n := range names {
		if strings.HasPrefix(n, prefix) {
			candidates = append(candidates, []rune(n[len(prefix):]))
		}
	}
	return candidates, len([]rune(prefix))
}

// lookup evaluates a dotted name chain, or returns nil.
func (c completer) lookup(parts []string) starlark.Value {
	v, ok := c.s.globals[parts[0]]
	if !ok {
		v, ok = starlark.Universe[parts[0]]
	}
	if !ok || isHidden(parts[0]) {
		return nil
	}
	for _, p := range parts[1:] {
		h, ok := v.(starlark.HasAttrs)
		if !ok || p == "" {
			return nil
		}
		if v, _ = h.Attr(p); v == nil {
			return nil
		}
	}
	return v
}

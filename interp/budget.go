package interp

// The memory budget of script values and the step limit.
//
// Script values (lists, strings, dicts) live in the Go heap, and Go ends
// the process with a fatal "out of memory" that no recover can catch, so a
// value too big for memory must be refused before it is allocated. Two
// layers do it:
//
//   - The operations that can make a value much larger than their operands
//     in one step are checked before they run: repetition (x * n, x *= n),
//     building a list, tuple, set or dict from a range or other sized
//     iterable (list(range(n)), sorted, enumerate, zip, list.extend, +=),
//     the string methods join, replace and format, printf-style widths
//     ("%999999999d"), and turning a value into text (str, repr, print,
//     fail, json.encode), which repeats shared parts ([x] * n prints x n
//     times). The rewrite routes them through hidden builtins (see
//     rewrite.go: guardBinary, guardCall, guardAugmented).
//   - Everything else grows a value step by step (append in a loop), so a
//     watcher samples the Go heap while a script runs and stops it at the
//     next step once the heap stays over the budget after a collection.
//
// Tensors live in libtorch's memory, outside the Go heap and the budget.

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"go.starlark.net/lib/json"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
	"go.starlark.net/syntax"
)

// DefaultMaxMemory is the budget when Options.MaxMemory is 0: a quarter of
// the memory the process may use (the machine's, or its cgroup's limit),
// at most 4 GiB (a doubling list may briefly need twice the budget, and
// the rest of the process needs memory too).
func DefaultMaxMemory() int64 {
	const most, least = 4 << 30, 256 << 20
	total := int64(most * 4)
	var si syscall.Sysinfo_t
	if err := syscall.Sysinfo(&si); err == nil {
		total = int64(si.Totalram) * int64(si.Unit)
	}
	for _, f := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		if b, err := os.ReadFile(f); err == nil {
			if n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && n > 0 {
				total = min(total, n) // "max" (no limit) does not parse
			}
		}
	}
	return max(least, min(most, total/4))
}

// budget is a run's memory budget, kept as a thread local.
type budget struct {
	limit int64
}

const budgetKey = "dadash.budget"

func budgetOf(th *starlark.Thread) *budget {
	if b, ok := th.Local(budgetKey).(*budget); ok {
		return b
	}
	return nil
}

// smallValue is the size under which operations are not checked: a check
// reads the heap size, which costs more than making a small value.
const smallValue = 1 << 20

// heapInUse is the size of the Go heap's objects, live or not yet swept.
func heapInUse() int64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int64(s[0].Value.Uint64())
}

// need refuses an operation that would make a value of about n bytes when
// that does not fit in the budget next to what the heap holds.
func need(th *starlark.Thread, what string, n int64) error {
	if n < smallValue {
		return nil
	}
	b := budgetOf(th)
	if b == nil {
		return nil
	}
	if n <= b.limit {
		used := heapInUse()
		if used+n <= b.limit {
			return nil
		}
		runtime.GC() // garbage may be most of it
		if used = heapInUse(); used+n <= b.limit {
			return nil
		}
		return fmt.Errorf("%s would take %s while script values already take %s, over the memory budget of %s (--max-memory); large arrays belong in tensors (torch.zeros(n)), which live outside the budget",
			what, sizeString(n), sizeString(used), sizeString(b.limit))
	}
	return fmt.Errorf("%s would take %s, over the memory budget of %s for script values (--max-memory); large arrays belong in tensors (torch.zeros(n)), which live outside the budget",
		what, sizeString(n), sizeString(b.limit))
}

func sizeString(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d bytes", n)
}

// mulSize is a*b, saturated at MaxInt64.
func mulSize(a, b int64) int64 {
	if a <= 0 || b <= 0 {
		return 0
	}
	if a > math.MaxInt64/b {
		return math.MaxInt64
	}
	return a * b
}

func addSize(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// watchMemory stops th at its next step once the Go heap stays over the
// budget after a collection; stop ends the watch.
func watchMemory(th *starlark.Thread) (stop func()) {
	b := budgetOf(th)
	if b == nil {
		return func() {}
	}
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-quit:
				return
			case <-tick.C:
			}
			if heapInUse() <= b.limit {
				continue
			}
			runtime.GC()
			if used := heapInUse(); used > b.limit {
				th.Cancel(fmt.Sprintf("memory budget exceeded: script values take %s, over the budget of %s (--max-memory); keep large data in tensors, which live outside it",
					sizeString(used), sizeString(b.limit)))
				return
			}
		}
	}()
	return func() {
		close(quit)
		<-done
	}
}

// setStepLimit makes th stop after max steps (0: no limit), counted from
// the start of each run or REPL input.
func setStepLimit(th *starlark.Thread, max uint64) {
	th.Steps = 0
	if max == 0 {
		th.SetMaxExecutionSteps(math.MaxUint64)
		th.OnMaxSteps = nil
		return
	}
	th.SetMaxExecutionSteps(max)
	th.OnMaxSteps = func(th *starlark.Thread) {
		th.Cancel(fmt.Sprintf("stopped after %d execution steps, the limit of --max-steps (an endless loop?); raise it with --max-steps N, or 0 for no limit", max))
	}
}

// ---------------------------------------------------------------- rewrite

// Hidden builtins of the budget; see isHidden.
const (
	mulName     = "operator *"
	percentNat  = "operator native %"
	guardedCall = "operator call"
	augmented   = "operator augmented"
)

// guardBinary routes x * y, and x % y with a non-literal format, through
// a checking builtin.
func guardBinary(e *syntax.BinaryExpr) syntax.Expr {
	switch e.Op {
	case syntax.STAR:
		if smallFactor(e.X) || smallFactor(e.Y) {
			return e // at most doubles a value, as + does: the watcher's case
		}
		return hiddenCall(mulName, e.OpPos, e.X, e.Y)
	case syntax.PERCENT:
		if numberLiteral(e.X) || numberLiteral(e.Y) {
			return e // i % 2: a modulo, or a format of one number
		}
		return hiddenCall(percentNat, e.OpPos, e.X, e.Y)
	}
	return e
}

// guardedNames are the callees whose calls guardCall routes through a
// check: universe builtins by name, methods by attribute name. Which value
// is really called is decided when it runs (a script may rebind list).
var guardedNames = map[string]bool{
	"list": true, "tuple": true, "sorted": true, "reversed": true, "enumerate": true, "zip": true,
	"set": true, "dict": true, "str": true, "repr": true, "print": true, "fail": true,
	"join": true, "replace": true, "extend": true, "format": true, "encode": true,
	"tensor": true,
}

// guardCall turns f(args) into "operator call"(f, args) when f may be one
// of the growing builtins.
func guardCall(e *syntax.CallExpr) syntax.Expr {
	var name string
	var pos syntax.Position
	switch fn := e.Fn.(type) {
	case *syntax.Ident:
		name, pos = fn.Name, fn.NamePos
	case *syntax.DotExpr:
		name, pos = fn.Name.Name, fn.Dot
	default:
		return e
	}
	if !guardedNames[name] {
		return e
	}
	return &syntax.CallExpr{
		Fn:     &syntax.Ident{NamePos: pos, Name: guardedCall},
		Lparen: e.Lparen,
		Args:   append([]syntax.Expr{e.Fn}, e.Args...),
		Rparen: e.Rparen,
	}
}

// guardAugmented checks x *= n and x += y: x op= "operator augmented"(op,
// x, y), which returns y. The statement itself is unchanged (+= on a list
// extends it in place). x is evaluated twice, so only side-effect-free
// targets are guarded.
func guardAugmented(s *syntax.AssignStmt) {
	if s.Op != syntax.STAR_EQ && s.Op != syntax.PLUS_EQ || smallFactor(s.RHS) {
		return
	}
	if _, ok := s.RHS.(*syntax.Literal); ok && s.Op == syntax.PLUS_EQ {
		return // n += 1: a literal adds little
	}
	x, ok := pureCopy(s.LHS)
	if !ok {
		return
	}
	op := &syntax.Literal{Token: syntax.STRING, TokenPos: s.OpPos, Raw: `"` + s.Op.String() + `"`, Value: s.Op.String()}
	s.RHS = hiddenCall(augmented, s.OpPos, op, x, s.RHS)
}

// smallFactor reports whether e is a literal that cannot make a
// repetition more than twice as big (0, 1, 2, or a float): loops such as
// x = i * 2 and n *= 2 then run unguarded.
func smallFactor(e syntax.Expr) bool {
	l, ok := e.(*syntax.Literal)
	if !ok {
		return false
	}
	switch v := l.Value.(type) {
	case int64:
		return v >= 0 && v <= 2
	case float64:
		return true
	}
	return false
}

func numberLiteral(e syntax.Expr) bool {
	l, ok := e.(*syntax.Literal)
	return ok && (l.Token == syntax.INT || l.Token == syntax.FLOAT)
}

// pureCopy copies a name, or an attribute or index of one with a name or
// literal index: evaluating it again has no effect.
func pureCopy(e syntax.Expr) (syntax.Expr, bool) {
	switch e := e.(type) {
	case *syntax.Ident:
		return &syntax.Ident{NamePos: e.NamePos, Name: e.Name}, true
	case *syntax.Literal:
		c := *e
		return &c, true
	case *syntax.DotExpr:
		x, ok := pureCopy(e.X)
		if !ok {
			return nil, false
		}
		return &syntax.DotExpr{X: x, Dot: e.Dot, NamePos: e.NamePos, Name: &syntax.Ident{NamePos: e.Name.NamePos, Name: e.Name.Name}}, true
	case *syntax.IndexExpr:
		x, ok1 := pureCopy(e.X)
		y, ok2 := pureCopy(e.Y)
		if !ok1 || !ok2 {
			return nil, false
		}
		return &syntax.IndexExpr{X: x, Lbrack: e.Lbrack, Y: y, Rbrack: e.Rbrack}, true
	}
	return nil, false
}

// ---------------------------------------------------------------- builtins

// budgetBuiltins are the hidden builtins of the guards, and wrappers of
// the printf-style formatting builtins in p.
func budgetBuiltins(p starlark.StringDict) starlark.StringDict {
	d := starlark.StringDict{
		mulName:     starlark.NewBuiltin(mulName, mulBuiltin),
		percentNat:  starlark.NewBuiltin(percentNat, nativePercentBuiltin),
		guardedCall: starlark.NewBuiltin(guardedCall, guardedCallBuiltin),
		augmented:   starlark.NewBuiltin(augmented, augmentedBuiltin),
	}
	for _, name := range []string{percentName, formatName} {
		inner, ok := p[name].(*starlark.Builtin)
		if !ok {
			continue
		}
		d[name] = starlark.NewBuiltin(name, func(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			if len(args) > 0 {
				if f, ok := args[0].(starlark.String); ok {
					n := addSize(int64(len(f)), widthBound(string(f), args[1:], kwargs))
					for _, a := range args[1:] {
						n = addSize(n, textSize(a, false))
					}
					for _, kv := range kwargs {
						n = addSize(n, textSize(kv[1], false))
					}
					if err := need(th, "formatting this string", n); err != nil {
						return nil, err
					}
				}
			}
			return inner.CallInternal(th, args, kwargs)
		})
	}
	return d
}

// repeatSize is the size of x * y when it is a repetition.
func repeatSize(x, y starlark.Value) (int64, bool) {
	if _, ok := x.(starlark.Int); ok {
		x, y = y, x
	}
	n, ok := y.(starlark.Int)
	if !ok {
		return 0, false
	}
	count, ok := n.Int64()
	if !ok {
		count = math.MaxInt64 // Binary reports it
	}
	switch x := x.(type) {
	case starlark.String:
		return mulSize(int64(len(x)), count), true
	case starlark.Bytes:
		return mulSize(int64(len(x)), count), true
	case *starlark.List:
		return mulSize(mulSize(int64(x.Len()), count), 16), true
	case starlark.Tuple:
		return mulSize(mulSize(int64(len(x)), count), 16), true
	}
	return 0, false
}

func mulBuiltin(th *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
	x, y := args[0], args[1]
	if n, ok := repeatSize(x, y); ok {
		if err := need(th, fmt.Sprintf("%s * %s", x.Type(), y.Type()), n); err != nil {
			return nil, err
		}
	}
	return starlark.Binary(syntax.STAR, x, y)
}

func nativePercentBuiltin(th *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
	x, y := args[0], args[1]
	if f, ok := x.(starlark.String); ok {
		if err := need(th, "formatting this string", addSize(int64(len(f)), textSize(y, false))); err != nil {
			return nil, err
		}
	}
	return starlark.Binary(syntax.PERCENT, x, y)
}

func augmentedBuiltin(th *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
	op, x, y := args[0].(starlark.String), args[1], args[2]
	if op == "*=" {
		if n, ok := repeatSize(x, y); ok {
			if err := need(th, fmt.Sprintf("%s *= %s", x.Type(), y.Type()), n); err != nil {
				return nil, err
			}
		}
	} else if l, ok := x.(*starlark.List); ok {
		if n := starlark.Len(y); n > 0 {
			if err := need(th, "list += "+y.Type(), mulSize(int64(l.Len()+n), 16)); err != nil {
				return nil, err
			}
		}
	}
	return y, nil
}

// Per-element sizes of what the sized builtins make: an interface slot,
// plus a tuple (enumerate, zip) or a hash table entry (set, dict).
var elementSize = map[string]int64{
	"list": 16, "tuple": 16, "sorted": 16, "reversed": 16,
	"enumerate": 72, "zip": 72, "set": 64, "dict": 64,
}

var jsonEncode = json.Module.Members["encode"]

// guardedCallBuiltin calls args[0] with the rest, after checking the size
// of what the growing builtins would make.
func guardedCallBuiltin(th *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	fn, rest := args[0], args[1:]
	if b, ok := fn.(*starlark.Builtin); ok {
		if err := checkCall(th, b, rest, kwargs); err != nil {
			return nil, err
		}
	}
	return starlark.Call(th, fn, rest, kwargs)
}

func checkCall(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) error {
	name := b.Name()
	switch recv := b.Receiver().(type) {
	case nil:
		if b == jsonEncode {
			return needText(th, "json.encode", args, true)
		}
		if name == "torch.tensor" && len(args) > 0 {
			// Nested lists are copied into a Go slice first: [[x] * n] * n
			// holds n*n numbers in 16n bytes.
			z := sizer{memo: map[memoKey]int64{}}
			n := z.leaves(args[0])
			return need(th, fmt.Sprintf("%s of %d numbers", name, n), mulSize(n, 16))
		}
		if starlark.Universe[name] != b {
			return nil // a module's function of the same name, or not a builtin
		}
		switch name {
		case "str", "print", "fail":
			return needText(th, name+"()", args, false)
		case "repr":
			return needText(th, name+"()", args, true)
		}
		per := elementSize[name]
		rows := int64(-1)
		for i, a := range args {
			if name != "zip" && i > 0 {
				break
			}
			if n := int64(starlark.Len(a)); rows < 0 || n < rows {
				rows = n
			}
		}
		if name == "zip" {
			per = mulSize(16, int64(len(args)+1)) + 24
		}
		if rows > 0 {
			return need(th, fmt.Sprintf("%s() of %d elements", name, rows), mulSize(rows, per))
		}
	case starlark.String:
		switch name {
		case "join":
			if len(args) == 1 {
				return need(th, "str.join", joinSize(string(recv), args[0]))
			}
		case "replace":
			if len(args) >= 2 {
				return need(th, "str.replace", replaceSize(string(recv), args))
			}
		case "format":
			n := int64(len(recv))
			for _, a := range args {
				n = addSize(n, textSize(a, false))
			}
			for _, kv := range kwargs {
				n = addSize(n, textSize(kv[1], false))
			}
			return need(th, "str.format", n)
		}
	case *starlark.List:
		if name == "extend" && len(args) == 1 {
			if n := starlark.Len(args[0]); n > 0 {
				return need(th, "list.extend", mulSize(int64(recv.Len()+n), 16))
			}
		}
	}
	return nil
}

func needText(th *starlark.Thread, what string, args starlark.Tuple, quoted bool) error {
	var n int64
	for _, a := range args {
		n = addSize(n, textSize(a, quoted))
	}
	return need(th, what, n)
}

// joinSize is the length of sep.join(items); it stops at the first item
// that is not a string (join then fails on it) and once over any budget.
func joinSize(sep string, items starlark.Value) int64 {
	it, ok := items.(starlark.Iterable)
	if !ok {
		return 0
	}
	iter := it.Iterate()
	defer iter.Done()
	var n int64
	var x starlark.Value
	for i := 0; iter.Next(&x); i++ {
		s, ok := x.(starlark.String)
		if !ok {
			return n
		}
		if i > 0 {
			n = addSize(n, int64(len(sep)))
		}
		if n = addSize(n, int64(len(s))); n == math.MaxInt64 {
			return n
		}
	}
	return n
}

// replaceSize is the length of s.replace(old, new[, count]).
func replaceSize(s string, args starlark.Tuple) int64 {
	old, ok1 := args[0].(starlark.String)
	repl, ok2 := args[1].(starlark.String)
	if !ok1 || !ok2 {
		return 0
	}
	n := int64(strings.Count(s, string(old))) // len+1 for "" (utf8 aware)
	if len(args) > 2 {
		if c, ok := args[2].(starlark.Int); ok {
			if c64, ok := c.Int64(); ok && c64 >= 0 && c64 < n {
				n = c64
			}
		}
	}
	grow := int64(len(repl)) - int64(len(old))
	if grow <= 0 {
		return int64(len(s))
	}
	return addSize(int64(len(s)), mulSize(n, grow))
}

// widthBound bounds what the widths and precisions of a printf-style or
// format() string add: the digits after % and inside {...:spec}, plus the
// integer arguments when a width comes from them (* or a nested {}).
func widthBound(f string, args starlark.Tuple, kwargs []starlark.Tuple) int64 {
	var n int64
	fromArgs := false
	digits := func(s string) {
		v := int64(0)
		for i := 0; i <= len(s); i++ {
			if i < len(s) && s[i] >= '0' && s[i] <= '9' {
				v = addSize(mulSize(v, 10), int64(s[i]-'0'))
				continue
			}
			n = addSize(n, v)
			v = 0
		}
	}
	for i := 0; i < len(f); i++ {
		switch f[i] {
		case '%':
			j := i + 1
			for j < len(f) && strings.IndexByte("-+ #0(", f[j]) >= 0 {
				if f[j] == '(' { // %(name)s
					if k := strings.IndexByte(f[j:], ')'); k >= 0 {
						j += k
					}
				}
				j++
			}
			k := j
			for k < len(f) && (f[k] >= '0' && f[k] <= '9' || f[k] == '.' || f[k] == '*') {
				fromArgs = fromArgs || f[k] == '*'
				k++
			}
			digits(f[j:k])
			i = k - 1
		case '{':
			depth, j := 1, i+1
			for j < len(f) && depth > 0 {
				switch f[j] {
				case '{':
					depth++
					fromArgs = true
				case '}':
					depth--
				}
				j++
			}
			if c := strings.IndexByte(f[i:j], ':'); c >= 0 {
				digits(f[i+c : j])
			}
			i = j - 1
		}
	}
	if fromArgs {
		add := func(v starlark.Value) {
			if x, ok := v.(starlark.Int); ok {
				if x64, ok := x.Int64(); ok {
					n = addSize(n, max(x64, -x64))
				} else {
					n = math.MaxInt64
				}
			}
		}
		for _, a := range args {
			add(a)
			if t, ok := a.(starlark.Tuple); ok {
				for _, e := range t {
					add(e)
				}
			}
		}
		for _, kv := range kwargs {
			add(kv[1])
		}
	}
	return n
}

// textSize bounds the length of str(v) (repr(v) when quoted): shared parts
// count every time they are printed, as printing repeats them. Each
// container is measured once (memoized), so the cost is linear in the
// value's real size; a container met again inside itself prints as [...].
func textSize(v starlark.Value, quoted bool) int64 {
	switch v := v.(type) {
	case starlark.String:
		if !quoted {
			return int64(len(v))
		}
	case starlark.NoneType, starlark.Bool, starlark.Int, starlark.Float:
		return scalarSize(v)
	}
	z := sizer{memo: map[memoKey]int64{}}
	return z.size(v)
}

func scalarSize(v starlark.Value) int64 {
	switch v := v.(type) {
	case starlark.String:
		return 4*int64(len(v)) + 2 // quotes and escapes (\x00 takes 4)
	case starlark.Bytes:
		return 4*int64(len(v)) + 3
	case starlark.Int:
		if x, ok := v.Int64(); ok {
			return int64(len(fmt.Sprint(x)))
		}
		return int64(v.BigInt().BitLen())*31/100 + 2 // log10(2) < 0.31
	case starlark.Float:
		return 25
	}
	return 8
}

type sizer struct {
	memo map[memoKey]int64 // -1 while being measured
}

// memoKey identifies a container; tuples are slices, so their length
// is part of it.
type memoKey struct {
	p unsafe.Pointer
	n int
}

// inProgress is what a container being measured counts when met inside
// itself (Starlark prints it as [...]).
const inProgress = 5

func (z *sizer) size(v starlark.Value) int64 {
	switch v := v.(type) {
	case starlark.NoneType, starlark.Bool, starlark.Int, starlark.Float, starlark.String, starlark.Bytes:
		return scalarSize(v)
	case *starlark.List:
		return z.memoized(unsafe.Pointer(v), 0, func() int64 {
			n := int64(2)
			for i := 0; i < v.Len(); i++ {
				n = addSize(n, addSize(z.size(v.Index(i)), 2))
			}
			return n
		})
	case starlark.Tuple:
		if len(v) == 0 {
			return 2
		}
		return z.memoized(unsafe.Pointer(&v[0]), len(v), func() int64 {
			n := int64(3)
			for _, e := range v {
				n = addSize(n, addSize(z.size(e), 2))
			}
			return n
		})
	case *starlark.Dict:
		return z.memoized(unsafe.Pointer(v), 0, func() int64 {
			n := int64(2)
			for _, kv := range v.Items() {
				n = addSize(n, addSize(addSize(z.size(kv[0]), z.size(kv[1])), 4))
			}
			return n
		})
	case *starlark.Set:
		return z.memoized(unsafe.Pointer(v), 0, func() int64 {
			n := int64(7)
			iter := v.Iterate()
			defer iter.Done()
			var e starlark.Value
			for iter.Next(&e) {
				n = addSize(n, addSize(z.size(e), 2))
			}
			return n
		})
	case *starlarkstruct.Struct:
		return z.memoized(unsafe.Pointer(v), 0, func() int64 {
			n := int64(len(v.Constructor().String()) + 2)
			for _, name := range v.AttrNames() {
				if x, err := v.Attr(name); err == nil {
					n = addSize(n, addSize(z.size(x), int64(len(name)+4)))
				}
			}
			return n
		})
	}
	// Other values (tensors, modules, functions) print a bounded summary.
	return 256
}

// leaves counts the numbers of nested lists and tuples, shared parts
// every time they occur.
func (z *sizer) leaves(v starlark.Value) int64 {
	var p unsafe.Pointer
	var elems func(func(starlark.Value))
	switch v := v.(type) {
	case *starlark.List:
		p = unsafe.Pointer(v)
		elems = func(f func(starlark.Value)) {
			for i := 0; i < v.Len(); i++ {
				f(v.Index(i))
			}
		}
	case starlark.Tuple:
		if len(v) == 0 {
			return 0
		}
		p = unsafe.Pointer(&v[0])
		elems = func(f func(starlark.Value)) {
			for _, e := range v {
				f(e)
			}
		}
	default:
		return 1
	}
	return z.memoized(p, starlark.Len(v), func() int64 {
		var n int64
		elems(func(e starlark.Value) { n = addSize(n, z.leaves(e)) })
		return n
	})
}

func (z *sizer) memoized(p unsafe.Pointer, length int, measure func() int64) int64 {
	k := memoKey{p, length}
	if n, ok := z.memo[k]; ok {
		if n < 0 {
			return inProgress
		}
		return n
	}
	z.memo[k] = -1
	n := measure()
	z.memo[k] = n
	return n
}

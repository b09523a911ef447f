package interp

import (
	"fmt"
	"math"
	"math/big"

	starmath "go.starlark.net/lib/math"
	"go.starlark.net/starlarkstruct"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/dadash/dadash/lang"
)

// Python operators that Starlark lacks, reached through the source rewrite
// in subscript.go: a ** b is pow(a, b), and a @ b is a * __matmul__(b).

// pow is Python's pow(base, exp): exact for ints with a non-negative
// exponent, float otherwise; values such as tensors answer it through
// HasBinary with the ** token.
func pyPow(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x, y starlark.Value
	if err := starlark.UnpackPositionalArgs("pow", args, kwargs, 2, &x, &y); err != nil {
		return nil, err
	}
	if hb, ok := x.(starlark.HasBinary); ok {
		if v, err := hb.Binary(syntax.STARSTAR, y, starlark.Left); v != nil || err != nil {
			return v, err
		}
	}
	if hb, ok := y.(starlark.HasBinary); ok {
		if v, err := hb.Binary(syntax.STARSTAR, x, starlark.Right); v != nil || err != nil {
			return v, err
		}
	}
	xi, xInt := x.(starlark.Int)
	yi, yInt := y.(starlark.Int)
	if xInt && yInt && yi.Sign() >= 0 {
		e, ok := yi.Int64()
		if !ok || e > 1<<20 {
			return nil, fmt.Errorf("pow: exponent %s is too large", yi)
		}
		return starlark.MakeBigInt(new(big.Int).Exp(xi.BigInt(), big.NewInt(e), nil)), nil
	}
	xf, ok1 := starlark.AsFloat(x)
	yf, ok2 := starlark.AsFloat(y)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("unsupported operand type(s) for ** or pow(): %s and %s", x.Type(), y.Type())
	}
	if xf == 0 && yf < 0 {
		return nil, fmt.Errorf("0.0 cannot be raised to a negative power")
	}
	return starlark.Float(math.Pow(xf, yf)), nil
}

// matmulOperand is the right operand of @, rewritten as a * __matmul__(b)
// so that @ keeps the precedence and associativity of *.
type matmulOperand struct{ v starlark.Value }

func (m matmulOperand) String() string        { return fmt.Sprintf("@%s", m.v) }
func (m matmulOperand) Type() string          { return "matmul operand" }
func (m matmulOperand) Freeze()               {}
func (m matmulOperand) Truth() starlark.Bool  { return true }
func (m matmulOperand) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable") }

func (m matmulOperand) Binary(op syntax.Token, x starlark.Value, side starlark.Side) (starlark.Value, error) {
	if op != syntax.STAR || side != starlark.Right {
		return nil, fmt.Errorf("the @ operator applies to two operands")
	}
	if mm, ok := x.(lang.MatMuler); ok {
		if v, err := mm.MatMul(m.v, false); v != nil || err != nil {
			return v, err
		}
	}
	if mm, ok := m.v.(lang.MatMuler); ok {
		if v, err := mm.MatMul(x, true); v != nil || err != nil {
			return v, err
		}
	}
	return nil, fmt.Errorf("unsupported operand type(s) for @: %s and %s", x.Type(), m.v.Type())
}

func makeMatmulOperand(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var v starlark.Value
	if err := starlark.UnpackPositionalArgs("@", args, kwargs, 1, &v); err != nil {
		return nil, err
	}
	return matmulOperand{v}, nil
}

// pySum is Python's sum(iterable, start=0), with + so that tensors add up.
func pySum(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var it starlark.Iterable
	var acc starlark.Value = starlark.MakeInt(0)
	if err := starlark.UnpackArgs("sum", args, kwargs, "iterable", &it, "start?", &acc); err != nil {
		return nil, err
	}
	iter := it.Iterate()
	defer iter.Done()
	var x starlark.Value
	for iter.Next(&x) {
		v, err := starlark.Binary(syntax.PLUS, acc, x)
		if err != nil {
			return nil, fmt.Errorf("sum: %w", err)
		}
		acc = v
	}
	return acc, nil
}

// pyRound is Python's round(number, ndigits=None): half to even; an int
// without ndigits.
func pyRound(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x, nd starlark.Value = nil, starlark.None
	if err := starlark.UnpackArgs("round", args, kwargs, "number", &x, "ndigits?", &nd); err != nil {
		return nil, err
	}
	if i, ok := x.(starlark.Int); ok && nd == starlark.None {
		return i, nil
	}
	f, ok := starlark.AsFloat(x)
	if !ok {
		if n, isNum := x.(interface {
			NumericData() ([]float64, []int64, error)
		}); isNum {
			d, _, err := n.NumericData()
			if err != nil || len(d) != 1 {
				return nil, fmt.Errorf("round: a tensor must have one element")
			}
			f = d[0]
		} else {
			return nil, fmt.Errorf("round: %s is not a number", x.Type())
		}
	}
	if nd == starlark.None {
		r := math.RoundToEven(f)
		if math.IsInf(r, 0) || math.IsNaN(r) {
			return nil, fmt.Errorf("round: cannot convert %v to an integer", f)
		}
		bf, _ := new(big.Float).SetFloat64(r).Int(nil)
		return starlark.MakeBigInt(bf), nil
	}
	n, err := starlark.AsInt32(nd)
	if err != nil {
		return nil, fmt.Errorf("round: ndigits must be an int")
	}
	p := math.Pow(10, float64(n))
	return starlark.Float(math.RoundToEven(f*p) / p), nil
}

// mathModule is Starlark's math plus what Python's has and training code
// needs: isnan, isinf, isfinite, inf and nan. (Starlark orders NaN equal to
// itself, so the Python idiom x != x does not find a NaN.)
var mathModule = func() *starlarkstruct.Module {
	members := starlark.StringDict{}
	for k, v := range starmath.Module.Members {
		members[k] = v
	}
	test := func(name string, f func(float64) bool) *starlark.Builtin {
		return starlark.NewBuiltin("math."+name, func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var x starlark.Value
			if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &x); err != nil {
				return nil, err
			}
			n, ok := number(x)
			if !ok {
				return nil, fmt.Errorf("%s: %s is not a number", b.Name(), x.Type())
			}
			return starlark.Bool(f(asF(n))), nil
		})
	}
	members["isnan"] = test("isnan", math.IsNaN)
	members["isinf"] = test("isinf", func(x float64) bool { return math.IsInf(x, 0) })
	members["isfinite"] = test("isfinite", func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) })
	members["inf"] = starlark.Float(math.Inf(1))
	members["nan"] = starlark.Float(math.NaN())
	return &starlarkstruct.Module{Name: "math", Members: members}
}()

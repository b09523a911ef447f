package interp_test

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dadash/dadash/lang"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
	"go.starlark.net/syntax"
)

// probe stands in for a tensor: comparisons give a string describing the
// call RichCompare received, and its truth may be ambiguous.
type probe struct {
	name    string
	truth   int  // 1 true, 0 false, -1 ambiguous (CheckTruth fails)
	decline bool // RichCompare returns nil, nil
}

var (
	_ lang.RichComparer = (*probe)(nil)
	_ lang.TruthChecker = (*probe)(nil)
	_ starlark.HasAttrs = (*probe)(nil)
)

func (p *probe) String() string { return p.name }
func (p *probe) Type() string   { return "probe" }
func (p *probe) Freeze()        {}

// Truth is what native Starlark would use; it is deliberately true for an
// ambiguous probe so that tests notice when CheckTruth is bypassed.
func (p *probe) Truth() starlark.Bool  { return p.truth != 0 }
func (p *probe) Hash() (uint32, error) { return 0, errors.New("unhashable: probe") }

func (p *probe) RichCompare(op syntax.Token, other starlark.Value, reflected bool) (starlark.Value, error) {
	if p.decline {
		return nil, nil
	}
	if s, ok := other.(starlark.String); ok && s == "boom" {
		return nil, fmt.Errorf("probe %s cannot compare with boom", p.name)
	}
	desc := fmt.Sprintf("%s %s %s", p.name, op, other)
	if reflected {
		desc += " reflected"
	}
	return starlark.String(desc), nil
}

func (p *probe) CheckTruth() (bool, error) {
	if p.truth < 0 {
		return false, fmt.Errorf("the truth value of probe %s is ambiguous", p.name)
	}
	return p.truth == 1, nil
}

func (p *probe) Attr(name string) (starlark.Value, error) {
	switch name {
	case "shape":
		return starlark.Tuple{starlark.MakeInt(2), starlark.MakeInt(3)}, nil
	case "explode":
		return starlark.NewBuiltin("explode", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			panic("kaboom")
		}).BindReceiver(p), nil
	case "mean":
		return starlark.NewBuiltin("mean", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			return starlark.Float(0.5), nil
		}).BindReceiver(p), nil
	}
	return nil, nil
}

func (p *probe) AttrNames() []string { return []string{"mean", "shape"} }

// probes are the predeclared fakes of the .star tests.
func probes() starlark.StringDict {
	return starlark.StringDict{
		"p":   &probe{name: "p", truth: 1},
		"q":   &probe{name: "q", truth: 1},
		"t":   &probe{name: "t", truth: 1},
		"f":   &probe{name: "f", truth: 0},
		"amb": &probe{name: "amb", truth: -1},
		"d":   &probe{name: "d", truth: 1, decline: true},
	}
}

// vector is a lang.Numeric value for assert.allclose.
type vector struct {
	data  []float64
	shape []int64
}

func (v *vector) String() string        { return fmt.Sprintf("vector(%v)", v.data) }
func (v *vector) Type() string          { return "vector" }
func (v *vector) Freeze()               {}
func (v *vector) Truth() starlark.Bool  { return true }
func (v *vector) Hash() (uint32, error) { return 0, errors.New("unhashable: vector") }
func (v *vector) NumericData() ([]float64, []int64, error) {
	return v.data, v.shape, nil
}

// testmod is a registered module, as builtins/torch will be.
func init() {
	lang.SetDoc("probe.mean", "mean() returns the mean of a probe.")
	lang.Register(lang.Module{
		Name: "testmod",
		Doc:  "testmod: a module for the interpreter's tests.\n\nIt has a few functions.",
		Value: &starlarkstruct.Module{Name: "testmod", Members: starlark.StringDict{
			"double": lang.Func("testmod.double", "double(x) returns 2 * x.", func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
				var x starlark.Int
				if err := starlark.UnpackArgs(b.Name(), args, kwargs, "x", &x); err != nil {
					return nil, err
				}
				return x.Mul(starlark.MakeInt(2)), nil
			}),
			"boom": lang.Func("testmod.boom", "boom() panics, as a buggy builtin would.", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
				var m map[string]int
				m["x"] = 1 // nil map write
				return starlark.None, nil
			}),
			"spin": lang.Func("testmod.spin", "spin() works until the run is interrupted.", func(thread *starlark.Thread, _ *starlark.Builtin, _ starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
				for {
					if err := lang.Check(thread); err != nil {
						return nil, err
					}
					time.Sleep(time.Millisecond)
				}
			}),
			"vector": starlark.NewBuiltin("testmod.vector", func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
				v := &vector{}
				for _, a := range args {
					f, _ := starlark.AsFloat(a)
					v.data = append(v.data, f)
				}
				v.shape = []int64{int64(len(v.data))}
				return v, nil
			}),
			"undocumented": starlark.NewBuiltin("testmod.undocumented", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
				return starlark.None, nil
			}),
		}},
	})
}

// opsFallback stands in for torch's libtorch operators: any name "op_*"
// resolves, and two are listed.
type opsFallback struct{}

func (opsFallback) Lookup(name string) (starlark.Value, error) {
	switch {
	case name == "op_crash":
		// A builtin made without lang.Func: the namespace must guard it.
		return starlark.NewBuiltin("nsmod.op_crash", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			var s []int
			return starlark.MakeInt(s[3]), nil
		}), nil
	case strings.HasPrefix(name, "op_"):
		return lang.Func("nsmod."+name, "", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			return starlark.String(name), nil
		}), nil
	}
	return nil, nil
}

func (opsFallback) Names() []string { return []string{"op_log2", "op_logical_and"} }

// gadget has a method that panics, made with lang.Safe as builtin
// packages make methods.
type gadget struct{}

func (gadget) String() string        { return "gadget" }
func (gadget) Type() string          { return "gadget" }
func (gadget) Freeze()               {}
func (gadget) Truth() starlark.Bool  { return true }
func (gadget) Hash() (uint32, error) { return 0, nil }
func (g gadget) Attr(name string) (starlark.Value, error) {
	if name != "spin" {
		return nil, nil
	}
	return starlark.NewBuiltin("spin", lang.Safe(func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		panic(errors.New("gear stripped"))
	})).BindReceiver(g), nil
}
func (gadget) AttrNames() []string { return []string{"spin"} }

// nsmod is registered as a lang.Namespace, the way torch, nn and the
// other builtin modules are.
func init() {
	lang.Register(lang.Module{
		Name: "nsmod",
		Doc:  "nsmod: a Namespace module for the interpreter's tests.",
		Value: lang.NewNamespace("nsmod", "nsmod: a Namespace module for the interpreter's tests.", starlark.StringDict{
			"crash": starlark.NewBuiltin("nsmod.crash", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
				var m map[string]int
				m["x"] = 1
				return starlark.None, nil
			}),
			"gadget": lang.Func("nsmod.gadget", "nsmod.gadget(): a gadget.", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
				return gadget{}, nil
			}),
			"fails": lang.Func("nsmod.fails", "nsmod.fails(): an error that does not name the function.", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
				return nil, errors.New("the widget is broken")
			}),
		}, opsFallback{}),
	})
}

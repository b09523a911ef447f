package losses

import (
	"regexp"
	"strings"
	"testing"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/builtins/losses/option"
	"github.com/dadash/dadash/builtins/nn"
	"github.com/dadash/dadash/lang"
)

// The published defaults (DADA.md for oproxy, the authors' code for
// SoftTriple and NormSoftmax), copied once from the pre-registry
// constructors: the registry must keep them.
func TestRegistryDefaultsUnchanged(t *testing.T) {
	oproxy := "pos_alpha=32.0 neg_alpha=32.0 pos_delta=0.1 neg_delta=-0.1 proxy_init=\"norm\""
	want := map[string]string{
		"proxy_anchor": oproxy,
		"proxy_nca":    oproxy,
		"oproxy":       "dim=0 " + oproxy,
		"soft_triple":  "centers_per_class=10 la=20.0 gamma=0.1 margin=0.01 tau=0.2 proxy_init=\"uniform\"",
		"norm_softmax": "temperature=0.05 proxy_init=\"uniform\"",
	}
	if len(registry) != len(want) {
		t.Errorf("%d losses, want %d", len(registry), len(want))
	}
	for _, k := range registry {
		if got := strings.Join(k.options.Items(), " "); got != want[k.name] {
			t.Errorf("%s: options %s, want %s", k.name, got, want[k.name])
		}
	}
}

var sigItem = regexp.MustCompile(`(\w+)=("[^"]*"|[^,)\s]+)`)

// help(losses.X) shows each keyword X accepts with the value a loss made
// without it has, and describes each option and part; Members has one
// constructor per row.
func TestRegistryDocsMatchBehaviour(t *testing.T) {
	thread := &starlark.Thread{}
	for _, k := range registry {
		doc, ok := lang.DocOf("losses." + k.name)
		if !ok {
			t.Errorf("no documentation for losses.%s", k.name)
			continue
		}
		ctor, ok := Module.Members()[k.name].(starlark.Callable)
		if !ok {
			t.Errorf("losses.%s is missing", k.name)
			continue
		}
		v, err := starlark.Call(thread, ctor, starlark.Tuple{starlark.MakeInt(3), starlark.MakeInt(4)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		m := v.(*nn.Module)
		sig := doc[:strings.Index(doc, ")")+1]
		items := sigItem.FindAllStringSubmatch(sig, -1)
		if len(items) != len(k.options)+len(constructorArgs) {
			t.Errorf("%s: the signature has %d keywords, the row %d options and %d common arguments", k.name, len(items), len(k.options), len(constructorArgs))
		}
		for _, it := range items {
			name := it[1]
			def, err := starlark.Eval(thread, "doc", it[2], nil)
			if err != nil {
				t.Errorf("%s: %s: %v", k.name, it[2], err)
				continue
			}
			if s, ok := k.options.Lookup(name); ok && s.Use != option.Construct {
				if got := m.AttrValue(name); got == nil || got.String() != def.String() {
					t.Errorf("%s.%s: the doc says %s, a default loss has %v", k.name, name, def, got)
				}
			}
			if !regexp.MustCompile(`(?m)^  ` + name + ` \(`).MatchString(doc) {
				t.Errorf("%s: %s is not described in help(losses.%s)", k.name, name, k.name)
			}
			if _, err := starlark.Call(thread, ctor, starlark.Tuple{starlark.MakeInt(3), starlark.MakeInt(4)},
				[]starlark.Tuple{{starlark.String(name), def}}); err != nil {
				t.Errorf("losses.%s(3, 4, %s=%s): %v", k.name, name, def, err)
			}
		}
		for _, p := range k.parts {
			if !regexp.MustCompile(`(?m)^  ` + p.Name + `: `).MatchString(doc) {
				t.Errorf("%s: the part %s is not described", k.name, p.Name)
			}
		}
		// The module's type leads back to a row with the same options.
		if r := ofType(m.TypeName()); r == nil || strings.Join(r.options.Items(), ",") != strings.Join(k.options.Items(), ",") && k.name != "oproxy" {
			t.Errorf("%s makes a %s, whose row does not match", k.name, m.TypeName())
		}
	}
	if n := len(Module.Members()); n != len(registry)+5 {
		t.Errorf("the module has %d members, want one per loss and names, defaults, options, parts, make", n)
	}
}

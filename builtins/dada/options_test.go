package dada

import (
	"regexp"
	"strings"
	"testing"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/builtins/losses"
	"github.com/dadash/dadash/builtins/losses/option"
	"github.com/dadash/dadash/builtins/nn"
	"github.com/dadash/dadash/lang"
)

// The defaults are DADA.md's (the reference's); the table must keep them.
// This literal is the pre-table fnWrap's, copied once on purpose.
func TestWrapDefaultsUnchanged(t *testing.T) {
	o, st := fromValues(wrapTable.DefaultValues())
	wantO := options{dDisRatio: 0.01, dDiscrepancyRatio: 0.5, oproxyRatio: 0.0075, disGamma: 1, disMode: "nwd",
		shiftScale: 1, mixAlpha: 0.5, mixBeta: 0.5, normal: true}
	wantSt := structure{mixMode: "random", fdFC1: 512, fcFC1: 512, fcFC2: 128, dropout: 0.5}
	if o != wantO {
		t.Errorf("default options %+v, want %+v", o, wantO)
	}
	if st != wantSt {
		t.Errorf("default structure %+v, want %+v", st, wantSt)
	}
	want := []string{"d_dis_ratio", "d_discrepancy_ratio", "oproxy_ratio", "dis_gamma", "dis_mode", "mix_mode",
		"shift_scale", "mix_alpha", "mix_beta", "pos_class_mix", "mix_extension", "normal", "fd_fc1", "fc_fc1",
		"fc_fc2", "fd2_bn", "fc2_bn", "dropout", "shared_mix"}
	if got := wrapTable.Names(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("options %v, want %v", got, want)
	}
}

// Each row's field holds its kind, and the default passes its own check.
func TestWrapTableRows(t *testing.T) {
	for _, w := range wrapOptions {
		var o options
		var st structure
		cv, err := w.Convert(w.Default)
		if err != nil {
			t.Errorf("%s: default rejected: %v", w.Name, err)
			continue
		}
		f := w.field(&o, &st)
		store(f, cv)
		if !equal(load(f), w.Default) {
			t.Errorf("%s: stored %s, read back %s", w.Name, w.Default, load(f))
		}
		_, inSt := map[string]bool{"mix_mode": true, "fd_fc1": true, "fc_fc1": true, "fc_fc2": true,
			"fd2_bn": true, "fc2_bn": true, "dropout": true}[w.Name]
		if inSt != (w.Use == option.Fixed) {
			t.Errorf("%s: use %s, but its field is in the %s", w.Name, w.Use, map[bool]string{true: "structure", false: "options"}[inSt])
		}
	}
}

var sigItem = regexp.MustCompile(`(\w+)=("[^"]*"|[^,)\s]+)`)

// The signature help(dada.wrap) shows names every keyword wrap accepts,
// with the default a criterion made without it has, and the option list
// below it describes each one; dada.defaults() agrees.
func TestWrapDocMatchesBehaviour(t *testing.T) {
	doc, ok := lang.DocOf("dada.wrap")
	if !ok {
		t.Fatal("no documentation for dada.wrap")
	}
	sig := doc[:strings.Index(doc, ")")+1]
	thread := &starlark.Thread{}
	loss, err := starlark.Call(thread, losses.Module.Members()["proxy_anchor"].(starlark.Callable),
		starlark.Tuple{starlark.MakeInt(3), starlark.MakeInt(4)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	crit, err := starlark.Call(thread, Module.Members()["wrap"].(starlark.Callable), starlark.Tuple{loss}, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := crit.(*nn.Module)
	defaults, err := starlark.Call(thread, Module.Members()["defaults"].(starlark.Callable), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	dd := defaults.(*starlark.Dict)
	items := sigItem.FindAllStringSubmatch(sig, -1)
	if len(items) != dd.Len() {
		t.Errorf("the signature names %d options, dada.defaults() %d", len(items), dd.Len())
	}
	for i, it := range items {
		name := it[1]
		def, err := starlark.Eval(thread, "doc", it[2], nil)
		if err != nil {
			t.Errorf("%s: default %s: %v", name, it[2], err)
			continue
		}
		if got := m.AttrValue(name); got == nil || !equal(got, def) {
			t.Errorf("%s: the doc says %s, a default criterion has %v", name, def, got)
		}
		if i < dd.Len() {
			k := dd.Keys()[i]
			v, _, _ := dd.Get(k)
			if string(k.(starlark.String)) != name || !equal(v, def) {
				t.Errorf("dada.defaults() item %d is %s=%s, the signature's %s=%s", i, k, v, name, def)
			}
		}
		if !regexp.MustCompile(`(?m)^  ` + name + ` \(`).MatchString(doc) {
			t.Errorf("%s is not described in the option list of help(dada.wrap)", name)
		}
		// Only the signature's keywords are accepted: each one works alone.
		if _, err := starlark.Call(thread, Module.Members()["wrap"].(starlark.Callable), starlark.Tuple{loss},
			[]starlark.Tuple{{starlark.String(name), def}}); err != nil {
			t.Errorf("dada.wrap(loss, %s=%s): %v", name, def, err)
		}
	}
}

package checkpoint

import (
	"strings"
	"testing"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/builtins/torch"
	"github.com/dadash/dadash/builtins/torch/safetensors"
)

// FuzzDescription: no description may panic the loader, take unbounded
// memory, or give a checkpoint whose items disagree with its names; a
// tensor is handed out at most once. Seeded with what save writes and with
// the hostile descriptions.
func FuzzDescription(f *testing.F) {
	f.Add(`{"format":"dadash.checkpoint","version":1,"items":[` +
		`{"name":"model","type":"dict","state_dict":true,"value":{"dict":[["fc.weight",{"tensor":"a"}],["n",{"tensor":"n"}]]}},` +
		`{"name":"opt","type":"list","value":[{"dict":[[0,{"tensor":"b"}]]},{"tuple":[0.9,1.0,{"float":"nan"},{"float":"-inf"}]}]},` +
		`{"name":"epoch","type":"int","value":3},{"name":"big","type":"int","value":123456789012345678901234567890},` +
		`{"name":"s","type":"string","value":"x\u00e9"},{"name":"none","type":"NoneType","value":null},{"name":"t","type":"bool","value":true}]}`)
	for _, c := range hostileDescriptions() {
		if len(c.desc) < 4096 {
			f.Add(c.desc)
		}
	}
	tensors := []safetensors.Tensor{
		{Name: "a", DType: "F32", Shape: []int64{2, 2}, Data: make([]byte, 16)},
		{Name: "b", DType: "I64", Shape: []int64{1}, Data: make([]byte, 8)},
		{Name: "n", DType: "BOOL", Shape: []int64{0}, Data: []byte{}},
		{Name: "s", DType: "BF16", Shape: []int64{}, Data: make([]byte, 2)},
	}
	f.Fuzz(func(t *testing.T, desc string) {
		file := &safetensors.File{Tensors: tensors, Metadata: map[string]string{metadataKey: desc}}
		ck, err := fromFile("fuzz.safetensors", file, "")
		if err != nil {
			if ck != nil {
				t.Fatal("a checkpoint returned with an error")
			}
			if !strings.Contains(err.Error(), "fuzz.safetensors") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if len(ck.names) != len(ck.values) || len(ck.types) != len(ck.names) {
			t.Fatalf("%d names, %d values, %d types", len(ck.names), len(ck.values), len(ck.types))
		}
		seen := map[*torch.Tensor]bool{}
		var walk func(v starlark.Value, depth int)
		walk = func(v starlark.Value, depth int) {
			if depth > maxDescDepth {
				t.Fatal("a value nested deeper than the limit")
			}
			switch x := v.(type) {
			case *torch.Tensor:
				if seen[x] {
					t.Fatal("one tensor handed out twice")
				}
				seen[x] = true
			case *starlark.List:
				for i := 0; i < x.Len(); i++ {
					walk(x.Index(i), depth+1)
				}
			case starlark.Tuple:
				for _, e := range x {
					walk(e, depth+1)
				}
			case *starlark.Dict:
				for _, kv := range x.Items() {
					walk(kv[0], depth+1)
					walk(kv[1], depth+1)
				}
			}
		}
		for _, n := range ck.names {
			walk(ck.values[n], 0)
		}
	})
}

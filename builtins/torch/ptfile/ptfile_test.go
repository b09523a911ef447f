package ptfile

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The fixtures were written by PyTorch 1.13's torch.save (see the comment
// in each test for the Python that made them).

func f32s(b []byte) []float32 {
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

func byName(ts []Tensor) map[string]Tensor {
	m := map[string]Tensor{}
	for _, t := range ts {
		m[t.Name] = t
	}
	return m
}

func TestStateDict(t *testing.T) {
	// torch.manual_seed(0); nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2)).state_dict()
	ts, err := Read("testdata/state_dict.pth")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, x := range ts {
		names = append(names, x.Name)
	}
	want := "0.weight 0.bias 1.weight 1.bias 1.running_mean 1.running_var 1.num_batches_tracked"
	if got := strings.Join(names, " "); got != want {
		t.Fatalf("names %q, want %q", got, want)
	}
	w := ts[0]
	if w.DType != "float32" || len(w.Shape) != 2 || w.Shape[0] != 2 || w.Shape[1] != 3 {
		t.Fatalf("0.weight: %s %v", w.DType, w.Shape)
	}
	if v := f32s(w.Data); v[0] != float32(-0.004322517663240433) || v[5] != float32(0.15482072532176971) {
		t.Fatalf("0.weight values %v", v)
	}
	if nbt := ts[6]; nbt.DType != "int64" || len(nbt.Shape) != 0 || len(nbt.Data) != 8 {
		t.Fatalf("num_batches_tracked: %+v", nbt)
	}
}

func TestCheckpointAndViews(t *testing.T) {
	// {"state_dict": sd, "epoch": 3, "best": 0.5, "name": "x", "opt": {"lr": [1e-3]}}
	ts, err := Read("testdata/checkpoint.pth")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := byName(ts)["state_dict.0.weight"]; !ok || len(ts) != 7 {
		t.Fatalf("checkpoint names: %v", ts)
	}
	// base = arange(12).view(3, 4); t = base.t(); slice = base[1:, 2:]; shared = base; ...
	ts, err = Read("testdata/mixed.pth")
	if err != nil {
		t.Fatal(err)
	}
	m := byName(ts)
	if v := f32s(m["t"].Data); len(v) != 12 || v[0] != 0 || v[1] != 4 || v[2] != 8 || v[3] != 1 {
		t.Fatalf("transposed view: %v %v", m["t"].Shape, v)
	}
	if v := f32s(m["slice"].Data); len(v) != 4 || v[0] != 6 || v[1] != 7 || v[2] != 10 || v[3] != 11 {
		t.Fatalf("offset view: %v", v)
	}
	checks := []struct {
		name, dtype string
		nbytes      int
	}{{"f64", "float64", 16}, {"f16", "float16", 4}, {"bf16", "bfloat16", 4}, {"i64", "int64", 24}, {"i32", "int32", 4},
		{"u8", "uint8", 2}, {"b", "bool", 3}, {"scalar", "float32", 4}, {"empty", "float32", 0}, {"param", "float32", 8}}
	for _, c := range checks {
		x, ok := m[c.name]
		if !ok || x.DType != c.dtype || len(x.Data) != c.nbytes {
			t.Errorf("%s: %+v", c.name, x)
		}
	}
	if math.Float64frombits(binary.LittleEndian.Uint64(m["f64"].Data[8:])) != -2.25 {
		t.Error("f64 values")
	}
	if m["u8"].Data[0] != 255 || m["b"].Data[1] != 0 || m["b"].Data[2] != 1 {
		t.Error("u8/bool values")
	}
	if len(m["empty"].Shape) != 2 || m["empty"].Shape[1] != 3 {
		t.Error("empty shape")
	}
}

func TestBadFiles(t *testing.T) {
	if _, err := Read("testdata/legacy.pth"); !errors.Is(err, ErrLegacy) {
		t.Fatalf("legacy: %v", err)
	}
	dir := t.TempDir()
	full, _ := os.ReadFile("testdata/mixed.pth")
	for _, n := range []int{0, 3, 100, len(full) / 2, len(full) - 30} {
		p := filepath.Join(dir, "cut.pth")
		os.WriteFile(p, full[:n], 0o644)
		if _, err := Read(p); err == nil {
			t.Errorf("truncated to %d bytes: no error", n)
		} else if !strings.Contains(err.Error(), "cut.pth") {
			t.Errorf("error does not name the file: %v", err)
		}
	}
	p := filepath.Join(dir, "text.pth")
	os.WriteFile(p, []byte("hello world"), 0o644)
	if _, err := Read(p); err == nil || !strings.Contains(err.Error(), "not a zip-format PyTorch file") {
		t.Errorf("text file: %v", err)
	}
	if _, err := Read(filepath.Join(dir, "missing.pth")); err == nil {
		t.Error("missing file: no error")
	}
}

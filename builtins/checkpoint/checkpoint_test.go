package checkpoint

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.starlark.net/starlark"

	_ "github.com/dadash/dadash/builtins/optim"
	"github.com/dadash/dadash/builtins/torch"
	"github.com/dadash/dadash/builtins/torch/aten"
	"github.com/dadash/dadash/builtins/torch/safetensors"
	"github.com/dadash/dadash/interp/startest"
)

func TestStar(t *testing.T) {
	startest.Run(t, "testdata/*.star", startest.Files(t))
}

// saveTensors writes a checkpoint holding epoch and a float32 tensor of n
// elements, all equal to epoch, through the same code as checkpoint.save.
func saveTensors(t testing.TB, path string, epoch int, n int) {
	vals := make([]float32, n)
	for i := range vals {
		vals[i] = float32(epoch)
	}
	w, err := aten.FromFloat32s(vals, int64(n))
	if err != nil {
		t.Fatal(err)
	}
	objects := []starlark.Tuple{
		{starlark.String("epoch"), starlark.MakeInt(epoch)},
		{starlark.String("w"), torch.New(w)},
	}
	if err := save(&starlark.Thread{}, path, objects); err != nil {
		t.Fatal(err)
	}
}

// checkIntact loads path and checks that it is one whole checkpoint.
func checkIntact(t *testing.T, path string, n int) int {
	t.Helper()
	ck, err := load(path, nil)
	if err != nil {
		t.Fatalf("the checkpoint no longer loads: %v", err)
	}
	epoch, _ := starlark.AsInt32(ck.values["epoch"])
	w := ck.values["w"].(*torch.Tensor).ATen()
	vals, err := w.Float32s()
	if err != nil || len(vals) != n {
		t.Fatalf("w: %d values, err %v", len(vals), err)
	}
	for i, v := range vals {
		if v != float32(epoch) {
			t.Fatalf("w[%d] = %v in the checkpoint of epoch %d: a mix of two saves", i, v, epoch)
		}
	}
	return epoch
}

// TestCrashChild is the writer that TestCrashDuringSave kills: it saves
// epochs first, first+1, ... to the same path until it is killed (or n times).
func TestCrashChild(t *testing.T) {
	path := os.Getenv("DADASH_CHECKPOINT_CRASH_PATH")
	if path == "" {
		t.Skip("run by TestCrashDuringSave")
	}
	n, _ := strconv.Atoi(os.Getenv("DADASH_CHECKPOINT_CRASH_N"))
	first, _ := strconv.Atoi(os.Getenv("DADASH_CHECKPOINT_CRASH_FIRST"))
	for epoch := first; n == 0 || epoch < first+n; epoch++ {
		saveTensors(t, path, epoch, crashElems)
	}
}

const crashElems = 8 << 20 // 32 MiB of float32: long enough to kill mid-write

func crashChild(t *testing.T, path string, first, n int) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$")
	cmd.Env = append(os.Environ(), "DADASH_CHECKPOINT_CRASH_PATH="+path,
		"DADASH_CHECKPOINT_CRASH_FIRST="+strconv.Itoa(first), "DADASH_CHECKPOINT_CRASH_N="+strconv.Itoa(n))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// TestCrashDuringSave kills a process (kill -9) while it writes a
// checkpoint over an existing one, 20 times at varying points of the
// write, and checks that the path always holds a whole checkpoint (the old
// one, or a newer complete one), never a torn file; and that the next run
// saving into the folder removes the killed writers' temporary files.
func TestCrashDuringSave(t *testing.T) {
	if testing.Short() {
		t.Skip("writes about 1 GB")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "ck.safetensors")
	saveTensors(t, path, 1, crashElems)
	tmpGlob := filepath.Join(dir, ".ck.safetensors.tmp*")
	rng := rand.New(rand.NewPCG(1, 2))
	orphans := 0
	for round := 0; round < 20; round++ {
		before, _ := filepath.Glob(tmpGlob)          // the previous round's orphan
		cmd := crashChild(t, path, 100*(round+1), 0) // epochs 100, 101, ... in round 0
		// Kill the writer once its own temporary file exists, after a
		// delay that puts some kills early in a write and some late.
		deadline := time.Now().Add(60 * time.Second)
		for started := false; !started && time.Now().Before(deadline); {
			tmps, _ := filepath.Glob(tmpGlob)
			for _, tmp := range tmps {
				started = started || !slices.Contains(before, tmp)
			}
			time.Sleep(time.Millisecond)
		}
		time.Sleep(time.Duration(rng.IntN(300)) * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()
		epoch := checkIntact(t, path, crashElems)
		tmps, _ := filepath.Glob(tmpGlob)
		orphans += len(tmps)
		// A new writer removes the previous killed one's file when it
		// first saves, so at most one orphan is ever there.
		t.Logf("round %d: the path holds epoch %d; %d temporary file(s) left", round, epoch, len(tmps))
	}
	if orphans == 0 {
		t.Fatal("no kill landed during a write")
	}
	// The next run: its first save into the folder removes the orphans.
	cmd := crashChild(t, path, 9999, 1)
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	checkIntact(t, path, crashElems)
	if tmps, _ := filepath.Glob(tmpGlob); len(tmps) != 0 {
		t.Fatalf("%d orphans left after the next run saved: %v", len(tmps), tmps)
	}
}

// TestConcurrentSaves: two processes save the same checkpoint at once,
// each several times; both finish, and the file is one whole save (the
// last rename wins).
func TestConcurrentSaves(t *testing.T) {
	if testing.Short() {
		t.Skip("writes about 600 MB")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "ck.safetensors")
	a, b := crashChild(t, path, 100, 5), crashChild(t, path, 200, 5)
	if err := a.Wait(); err != nil {
		t.Fatalf("first writer: %v", err)
	}
	if err := b.Wait(); err != nil {
		t.Fatalf("second writer: %v", err)
	}
	if epoch := checkIntact(t, path, crashElems); epoch != 104 && epoch != 204 {
		t.Errorf("the checkpoint holds epoch %d, not the last save of either writer", epoch)
	}
	if tmps, _ := filepath.Glob(filepath.Join(dir, ".ck.safetensors.tmp*")); len(tmps) != 0 {
		t.Errorf("temporary files left: %v", tmps)
	}
}

// TestFormat checks the documented layout: tensors named by their path,
// and the structure as JSON in the "dadash.checkpoint" metadata entry.
func TestFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ck.safetensors")
	w, _ := aten.FromFloat64s([]float64{1, 2, 3, 4}, 2, 2)
	i, _ := aten.FromInt64s([]int64{7}, 1)
	model := starlark.NewDict(2)
	model.SetKey(starlark.String("fc.weight"), torch.New(w))
	state := starlark.NewDict(1)
	state.SetKey(starlark.MakeInt(0), torch.New(i))
	objects := []starlark.Tuple{
		{starlark.String("model"), model},
		{starlark.String("opt"), starlark.NewList([]starlark.Value{state, starlark.Tuple{starlark.Float(0.9), starlark.Float(1)}})},
		{starlark.String("epoch"), starlark.MakeInt(3)},
	}
	if err := save(&starlark.Thread{}, path, objects); err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, st := range f.Tensors {
		names = append(names, st.Name+":"+st.DType)
	}
	if got := strings.Join(names, " "); got != "model/fc.weight:F64 opt/0/0:I64" {
		t.Errorf("tensors: %s", got)
	}
	if f.Metadata["format"] != "pt" {
		t.Errorf("format metadata %q", f.Metadata["format"])
	}
	var desc map[string]any
	if err := json.Unmarshal([]byte(f.Metadata["dadash.checkpoint"]), &desc); err != nil {
		t.Fatal(err)
	}
	if desc["format"] != "dadash.checkpoint" || desc["version"] != 1.0 || desc["created"] == "" || desc["libtorch"] == "" {
		t.Errorf("description header: %v", desc)
	}
	items, _ := json.Marshal(desc["items"])
	want := `[{"name":"model","type":"dict","value":{"dict":[["fc.weight",{"tensor":"model/fc.weight"}]]}},` +
		`{"name":"opt","type":"list","value":[{"dict":[[0,{"tensor":"opt/0/0"}]]},{"tuple":[0.9,1]}]},` +
		`{"name":"epoch","type":"int","value":3}]`
	if string(items) != want {
		t.Errorf("items:\n got %s\nwant %s", items, want)
	}
	// Floats keep a point in the raw JSON, so Python's json reads them as floats.
	if !strings.Contains(f.Metadata["dadash.checkpoint"], `{"tuple":[0.9,1.0]}`) {
		t.Errorf("raw description: %s", f.Metadata["dadash.checkpoint"])
	}
}

// TestCorrupt: a valid safetensors file with a broken description, and
// files that are not checkpoints, give errors naming the file.
func TestCorrupt(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]map[string]string{
		"json.safetensors":    {"dadash.checkpoint": `{"format": "dadash.checkpoint", "version": 1, "items": [`},
		"node.safetensors":    {"dadash.checkpoint": `{"version": 1, "items": [{"name": "x", "value": {"set": [1]}}]}`},
		"missing.safetensors": {"dadash.checkpoint": `{"version": 1, "items": [{"name": "x", "value": {"tensor": "x"}}]}`},
		"newer.safetensors":   {"dadash.checkpoint": `{"version": 2, "items": []}`},
		"plain.safetensors":   {"format": "pt"},
	}
	wants := map[string]string{
		"json.safetensors":    "corrupt checkpoint description",
		"node.safetensors":    `item "x": unknown node kind "set"`,
		"missing.safetensors": `refers to tensor "x", which the file does not hold`,
		"newer.safetensors":   "written by a newer dadash",
		"plain.safetensors":   "is not a dadash checkpoint",
	}
	for name, meta := range cases {
		path := filepath.Join(dir, name)
		if err := safetensors.Write(path, nil, meta); err != nil {
			t.Fatal(err)
		}
		_, err := load(path, nil)
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), wants[name]) {
			t.Errorf("%s: error %v, want one naming the file and saying %q", name, err, wants[name])
		}
	}
}

package checkpoint

import (
	"archive/zip"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/dadash/dadash/builtins/torch/safetensors"
)

// Hand-made checkpoints whose description is hostile (issue 11): each must
// fail with an error naming the file, quickly and without taking memory.

func descFile(t testing.TB, dir, name, desc string, tensors ...safetensors.Tensor) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := safetensors.Write(path, tensors, map[string]string{metadataKey: desc}); err != nil {
		t.Fatal(err)
	}
	return path
}

func descItem(value string) string {
	return `{"format":"dadash.checkpoint","version":1,"items":[{"name":"x","type":"list","value":` + value + `}]}`
}

type descCase struct {
	name, desc string
	tensors    []safetensors.Tensor
	want       string
}

func hostileDescriptions() []descCase {
	mib := safetensors.Tensor{Name: "w", DType: "F32", Shape: []int64{1 << 18}, Data: make([]byte, 1<<20)}
	small := safetensors.Tensor{Name: "s", DType: "F32", Shape: []int64{1}, Data: make([]byte, 4)}
	refs := strings.Repeat(`{"tensor":"w"},`, 999) + `{"tensor":"w"}`
	return []descCase{
		{"1000-refs-to-1MiB", descItem("[" + refs + "]"), []safetensors.Tensor{mib}, `refers to tensor "w" more than once`},
		{"ref-in-two-items", `{"version":1,"items":[{"name":"a","value":{"tensor":"s"}},{"name":"b","value":{"tensor":"s"}}]}`,
			[]safetensors.Tensor{small}, `refers to tensor "s" more than once`},
		{"arrays-100000-deep", descItem(strings.Repeat("[", 100000) + strings.Repeat("]", 100000)), nil, "corrupt checkpoint description"},
		{"arrays-400-deep", descItem(strings.Repeat("[", 400) + strings.Repeat("]", 400)), nil, "nested more than 308 levels deep"},
		{"tuples-200-deep", descItem(strings.Repeat(`{"tuple":[`, 200) + strings.Repeat("]}", 200)), nil, "nested more than 308 levels deep"},
		{"1M-values", descItem("[" + strings.Repeat("0,", 1<<20) + "0]"), nil, "more than 524288 values"},
		{"20MB-description", descItem(`"` + strings.Repeat("a", 20<<20) + `"`), nil, "more than the 16777216 a checkpoint's structure needs"},
		{"huge-integer", descItem(strings.Repeat("9", 100000)), nil, "an integer of 100000 digits"},
		{"two-keys", descItem(`{"tensor":"s","tuple":[]}`), []safetensors.Tensor{small}, "a tensor node has more than one key"},
		{"empty-node", descItem(`{}`), nil, "unknown node {}"},
		{"dict-entry-of-3", descItem(`{"dict":[[1,2,3]]}`), nil, "a dict entry has more than 2 items"},
		{"unhashable-key", descItem(`{"dict":[[[1],2]]}`), nil, "unhashable"},
		{"float-node", descItem(`{"float":"big"}`), nil, `bad float node "big"`},
		{"tensor-node-of-number", descItem(`{"tensor":3}`), nil, "a tensor node holds 3"},
	}
}

// peakDuring returns how much the process's resident high-water mark rose
// while f ran (Linux: /proc/self/status, the mark reset through
// /proc/self/clear_refs), or -1 where that cannot be measured.
func peakDuring(f func()) int64 {
	runtime.GC()
	debug.FreeOSMemory()
	before := procStatus("VmRSS")
	if before < 0 || os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) != nil {
		f()
		return -1
	}
	f()
	return procStatus("VmHWM") - before
}

func procStatus(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == field+":" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return -1
}

func TestHostileDescriptions(t *testing.T) {
	dir := t.TempDir()
	for _, c := range hostileDescriptions() {
		path := descFile(t, dir, c.name+".safetensors", c.desc, c.tensors...)
		var err error
		peak := peakDuring(func() { _, err = load(path, nil) })
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one naming the file and saying %q", c.name, err, c.want)
		}
		fi, _ := os.Stat(path)
		if peak >= 0 && peak-fi.Size() > 64<<20 {
			t.Errorf("%s: peak memory %d MB beyond the file's size", c.name, (peak-fi.Size())>>20)
		}
		t.Logf("%-24s file %8d bytes, peak RSS +%6d KB: %v", c.name, fi.Size(), peak>>10, err)
	}
	// The honest form of the first: 1000 tensors, each referred to once.
	var ts []safetensors.Tensor
	var parts []string
	for i := 0; i < 1000; i++ {
		n := fmt.Sprintf("w%d", i)
		ts = append(ts, safetensors.Tensor{Name: n, DType: "F32", Shape: []int64{1}, Data: make([]byte, 4)})
		parts = append(parts, `{"tensor":"`+n+`"}`)
	}
	ck, err := load(descFile(t, dir, "honest.safetensors", descItem("["+strings.Join(parts, ",")+"]"), ts...), nil)
	if err != nil {
		t.Fatal(err)
	}
	if l, ok := ck.values["x"].(interface{ Len() int }); !ok || l.Len() != 1000 {
		t.Fatalf("x: %v", ck.values["x"])
	}
}

// TestNotACheckpoint: a file of another format says what it is (a .pth
// read as safetensors used to report a header length of 7.6e18 bytes).
func TestNotACheckpoint(t *testing.T) {
	dir := t.TempDir()
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	w, _ := zw.Create("archive/data.pkl")
	w.Write([]byte("\x80\x02}."))
	zw.Close()
	files := map[string][]byte{
		"x.pth":     zb.Bytes(),
		"old.pt":    []byte("\x80\x02\x8a\x0alZ\xfc\x9cF\xf9 j\xa8P\x19."),
		"a.npy":     []byte("\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }"),
		"text.ckpt": []byte("not a checkpoint at all, just text"),
	}
	wants := map[string]string{
		"x.pth":     "x.pth is not a dadash checkpoint: it is a zip archive, as PyTorch's torch.save writes: load it with torch.load",
		"old.pt":    "old.pt is not a dadash checkpoint: it is a Python pickle",
		"a.npy":     "a.npy is not a dadash checkpoint: it is a NumPy .npy file",
		"text.ckpt": "text.ckpt: header length",
	}
	for name, b := range files {
		path := filepath.Join(dir, name)
		os.WriteFile(path, b, 0o644)
		_, err := load(path, nil)
		if err == nil || !strings.Contains(err.Error(), wants[name]) {
			t.Errorf("%s: %v, want %q", name, err, wants[name])
		}
	}
}

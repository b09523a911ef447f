package ptfile

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The hostile files of issue 11, written by hand, and honest controls.
// Each must end in a clear error or load correctly: never a panic, a Go
// fatal error, a hang, or a silent wrong value.

type hcase struct {
	name   string
	file   func() []byte
	refuse string                // a substring of the error; "" when the file must load
	check  func([]Tensor) string // for files that load: "" when the tensors are right
}

func one(b []byte) func() []byte { return func() []byte { return b } }

// deflated is a torch.save file whose data.pkl is compressed (torch.save
// stores it; a hand-made file is smaller deflated).
func deflated(pickle []byte) []byte {
	return makeZip(entry{name: "archive/data.pkl", data: pickle, deflate: true})
}

func f32of(key string, numel int64, shape ...int64) func(*pb) {
	return func(p *pb) { p.f32(key, numel, shape...) }
}

// secondRef is {"a": 1 float over storage "0", "b": a second reference to
// storage "0"}, the storage holding 4 bytes.
func secondRef(b func(p *pb)) []byte {
	return pth(newPickle().dict("a", f32of("0", 1, 1), "b", b).stop(), "0", f32bytes(1.5))
}

func namesAre(want ...string) func([]Tensor) string {
	return func(ts []Tensor) string {
		var got []string
		for _, t := range ts {
			got = append(got, t.Name)
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			return fmt.Sprintf("names %q, want %q", got, want)
		}
		return ""
	}
}

func hostileCases() []hcase {
	evil := func(mod, name string) func(*pb) {
		return func(p *pb) { p.glob(mod, name).str("echo pwned").op(0x85, 'R') }
	}
	zeros := func(n int) []byte { return make([]byte, n) }
	cases := []hcase{
		// Cycles and depth.
		{"cycle-6-bytes", one(pth([]byte("]q\x00h\x00a."))), "contains itself", nil},
		{"cycle-dict", one(pth([]byte("\x80\x02}q\x00X\x01\x00\x00\x00kh\x00s."))), "contains itself", nil},
		{"cycle-with-tensor", func() []byte {
			p := newPickle().op('}', 'q', 0, '(')
			p.str("w").f32("0", 1, 1).str("self").op('h', 0, 'u', '.')
			return pth(p.Bytes(), "0", f32bytes(2))
		}, "contains itself", nil},
		{"tuple-100000-deep", func() []byte {
			return deflated(append(append([]byte{0x80, 2, ')'}, bytes.Repeat([]byte{0x85}, 100000)...), '.'))
		}, "nested more than 1000 levels", nil},
		{"list-100000-deep", func() []byte {
			b := append(bytes.Repeat([]byte{'('}, 100000), bytes.Repeat([]byte{'l'}, 100000)...)
			return deflated(append(b, '.'))
		}, "nested more than 1000 levels", nil},
		{"dict-100000-deep-with-tensor", func() []byte {
			p := newPickle()
			for i := 0; i < 100000; i++ {
				p.op('}', 0x8c, 1, 'k')
			}
			p.f32("0", 1, 1)
			p.Write(bytes.Repeat([]byte{'s'}, 100000))
			return makeZip(entry{name: "archive/data.pkl", data: p.stop(), deflate: true},
				entry{name: "archive/data/0", data: f32bytes(1)})
		}, "nested more than 1000 levels", nil},
		{"tuple-500-deep-with-tensor (honest)", func() []byte {
			p := newPickle().f32("0", 1, 1)
			p.Write(bytes.Repeat([]byte{0x85}, 500))
			return pth(p.stop(), "0", f32bytes(7))
		}, "", func(ts []Tensor) string {
			if len(ts) != 1 || strings.Count(ts[0].Name, ".") != 499 || f32s(ts[0].Data)[0] != 7 {
				return fmt.Sprintf("%d tensors", len(ts))
			}
			return ""
		}},

		// A second reference to one storage, declared differently.
		{"second-ref-2^40-elements", one(secondRef(func(p *pb) {
			p.tensor("FloatStorage", "0", 1<<40, 0, []int64{1 << 40}, []int64{1})
		})), "declared twice", nil},
		{"second-ref-268M-from-4-bytes", one(secondRef(func(p *pb) {
			p.tensor("FloatStorage", "0", 268435456, 0, []int64{268435456}, []int64{1})
		})), "declared twice", nil},
		{"second-ref-float32-as-float64", one(secondRef(func(p *pb) {
			p.tensor("DoubleStorage", "0", 1, 0, []int64{1}, []int64{1})
		})), "as 1 elements of float32 and as 1 of float64", nil},
		{"second-ref-slice-bound", one(secondRef(func(p *pb) {
			p.tensor("FloatStorage", "0", 100, 50, []int64{10}, []int64{1})
		})), "declared twice", nil},
		{"first-ref-lies-about-size", one(pth(newPickle().dict("a", f32of("0", 1<<40, 1<<40)).stop(), "0", f32bytes(1))),
			"holds 4 bytes, but data.pkl declares 1099511627776 elements", nil},
		{"view-beyond-storage", one(pth(newPickle().dict("a", func(p *pb) {
			p.tensor("FloatStorage", "0", 4, 2, []int64{3}, []int64{1})
		}).stop(), "0", f32bytes(1, 2, 3, 4))), "reaches beyond", nil},
		{"view-stride-overflow", one(pth(newPickle().dict("a", func(p *pb) {
			p.tensor("FloatStorage", "0", 4, 0, []int64{2, 2}, []int64{math.MaxInt64 / 2, 1})
		}).stop(), "0", f32bytes(1, 2, 3, 4))), "reaches beyond", nil},
		{"view-size-overflow", one(pth(newPickle().dict("a", func(p *pb) {
			p.tensor("FloatStorage", "0", 4, 0, []int64{1 << 32, 1 << 32}, []int64{0, 0})
		}).stop(), "0", f32bytes(1, 2, 3, 4))), "more elements than", nil},
		{"view-negative-offset", one(pth(newPickle().dict("a", func(p *pb) {
			p.tensor("FloatStorage", "0", 4, -1, []int64{2}, []int64{1})
		}).stop(), "0", f32bytes(1, 2, 3, 4))), "starts outside", nil},
		{"shared-storage-views (honest)", one(pth(newPickle().dict(
			"base", f32of("0", 12, 3, 4),
			"t", func(p *pb) { p.tensor("FloatStorage", "0", 12, 0, []int64{4, 3}, []int64{1, 4}) },
			"row", func(p *pb) { p.tensor("FloatStorage", "0", 12, 4, []int64{4}, []int64{1}) },
			"tied", f32of("0", 12, 3, 4),
		).stop(), "0", f32bytes(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11))), "", func(ts []Tensor) string {
			m := byName(ts)
			if fmt.Sprint(f32s(m["t"].Data)) != "[0 4 8 1 5 9 2 6 10 3 7 11]" || fmt.Sprint(f32s(m["row"].Data)) != "[4 5 6 7]" ||
				fmt.Sprint(f32s(m["tied"].Data)) != fmt.Sprint(f32s(m["base"].Data)) || len(ts) != 4 {
				return fmt.Sprintf("values: %v", ts)
			}
			return ""
		}},

		// Integers and strings.
		{"long4-8MB", func() []byte {
			b := append([]byte{0x80, 2, 0x8b}, binary.LittleEndian.AppendUint32(nil, 8<<20)...)
			return pth(append(append(b, bytes.Repeat([]byte{0x7f}, 8<<20)...), '.'))
		}, "an integer of 8388608 bytes", nil},
		{"binunicode8-2^63", one(pth(append(binary.LittleEndian.AppendUint64([]byte{0x80, 4, 0x8d}, 1<<63), 'x', '.'))),
			"runs past the end", nil},
		{"binunicode8-2^63-1", one(pth(append(binary.LittleEndian.AppendUint64([]byte{0x80, 4, 0x8d}, math.MaxInt64), 'x', '.'))),
			"runs past the end", nil},
		{"binbytes8-2^64-1", one(pth(append(binary.LittleEndian.AppendUint64([]byte{0x80, 4, 0x8e}, math.MaxUint64), 'x', '.'))),
			"runs past the end", nil},
		{"binunicode-4GB", one(pth(append(binary.LittleEndian.AppendUint32([]byte{0x80, 2, 'X'}, math.MaxUint32), 'x', '.'))),
			"runs past the end", nil},
		{"wide-int-as-size", one(pth(newPickle().dict("a", func(p *pb) {
			p.glob("torch._utils", "_rebuild_tensor_v2").op('(').storage("FloatStorage", "0", 1).int(0)
			p.op('(', 0x8a, 16).Write(bytes.Repeat([]byte{0xff}, 15))
			p.op(0x7f, 't').ints(1).op(0x89).glob("collections", "OrderedDict").op(')', 'R', 't', 'R')
		}).stop(), "0", f32bytes(1))), "bad offset, size or stride", nil},

		// Zip entries.
		{"zip-declares-2.86GB-from-1KB", func() []byte {
			var c bytes.Buffer
			c.Write(deflateBytes(zeros(1 << 20)))
			n := int64(715_000_000)
			return makeZipRaw(newPickle().dict("a", f32of("0", n, n)).stop(), "archive/data/0", c.Bytes(), uint64(4*n))
		}, "more than deflate can produce", nil},
		{"zip-declares-1GB-from-1MB", func() []byte {
			r := rand.New(rand.NewSource(1))
			junk := make([]byte, 1<<20+1<<10)
			r.Read(junk)
			n := int64(1 << 28)
			return makeZipRaw(newPickle().dict("a", f32of("0", n, n)).stop(), "archive/data/0", junk, uint64(4*n))
		}, "decoding would take more than", nil},
		{"zip-stream-longer-than-declared", func() []byte {
			return makeZipRaw(newPickle().dict("a", f32of("0", 1, 1)).stop(), "archive/data/0", deflateBytes(zeros(64<<20)), 4)
		}, "archive/data/0", nil},
		{"zip-overlapping-entries-1000x1MB", func() []byte {
			p := newPickle().op('}', '(')
			for i := 0; i < 1000; i++ {
				p.str(strconv.Itoa(i)).f32(strconv.Itoa(i), 1<<18, 1<<18)
			}
			return overlappingZip(p.op('u').stop(), zeros(1<<20), 1000)
		}, "decoding would take more than", nil},
		{"zip-data.pkl-declares-1GB", func() []byte {
			return makeZip(entry{name: "archive/data.pkl", data: []byte("\x80\x02N."), deflate: true, declared: 1 << 30})
		}, "declares 1.00 GB", nil},
		{"zip-truncated", func() []byte {
			b := pth(newPickle().dict("a", f32of("0", 1, 1)).stop(), "0", f32bytes(1))
			return b[:len(b)-120] // cuts into the central directory
		}, "truncated or corrupt", nil},
		{"zip-entry-past-end", func() []byte {
			var buf bytes.Buffer
			w := zipWriter(&buf)
			pk := newPickle().dict("a", f32of("0", 1<<18, 1<<18)).stop()
			w.raw("archive/data.pkl", pk, false, uint64(len(pk)))
			h := &zip.FileHeader{Name: "archive/data/0", Method: zip.Store, CompressedSize64: 1 << 20, UncompressedSize64: 1 << 20}
			fw, _ := w.CreateRaw(h)
			fw.Write(f32bytes(1))
			w.Close()
			return buf.Bytes()
		}, "run past the end of the file", nil},
		{"zip-bad-crc", func() []byte {
			b := pth(newPickle().dict("a", f32of("0", 1, 1)).stop(), "0", f32bytes(1))
			i := bytes.Index(b, f32bytes(1))
			b[i] ^= 1
			return b
		}, "checksum", nil},
		{"zip-deflated-data.pkl (honest)", func() []byte {
			return makeZip(entry{name: "archive/data.pkl", data: newPickle().dict("w", f32of("0", 2, 2)).stop(), deflate: true},
				entry{name: "archive/data/0", data: f32bytes(1, 2), deflate: true})
		}, "", func(ts []Tensor) string {
			if len(ts) != 1 || fmt.Sprint(f32s(ts[0].Data)) != "[1 2]" {
				return fmt.Sprintf("%v", ts)
			}
			return ""
		}},

		// Globals outside the allow-list, anywhere.
		{"os.system-nested-in-dict", one(pth(newPickle().dict("w", f32of("0", 1, 1), "x", evil("os", "system")).stop(), "0", f32bytes(1))),
			`Python global "os.system"`, nil},
		{"builtins.eval-in-list-in-dict", one(pth(newPickle().dict("w", func(p *pb) {
			p.op(']', '(').glob("builtins", "eval").str("1").op(0x85, 'R', 'e')
		}).stop())), `Python global "builtins.eval"`, nil},
		{"posix.system-bare", one(pth([]byte("cposix\nsystem\n."))), `Python global "posix.system"`, nil},
		{"builtins.exec-stack-global", one(pth([]byte("\x80\x04\x8c\x08builtins\x8c\x04exec\x93\x8c\x011\x85R."))),
			`Python global "builtins.exec"`, nil},
		{"os.system-in-_metadata", one(pth(newPickle().glob("collections", "OrderedDict").op(')', 'R', '}').
			str("_metadata").glob("os", "system").str("id").op(0x85, 'R', 's', 'b').stop())), `Python global "os.system"`, nil},
		{"whole-pickled-model", one(pth(newPickle().glob("torchvision.models.resnet", "ResNet").op(')', 0x81).stop())),
			"re-save model.state_dict()", nil},
		{"reduce-of-a-tuple", one(pth([]byte("\x80\x02))R."))), "REDUCE calls a tuple", nil},
		{"sparse-tensor", one(pth(newPickle().glob("torch._utils", "_rebuild_sparse_tensor").op(')', 'R').stop())),
			"dense tensors", nil},

		// Bombs of values.
		{"empty-dicts-3M", func() []byte {
			return deflated(append(bytes.Repeat([]byte{'}'}, 3<<20), '.'))
		}, "decoding would take more than", nil},
		{"memo-1.1M-entries", func() []byte {
			p := newPickle().op(']')
			for i := 0; i < 1100000; i++ {
				p.op('r').Write(binary.LittleEndian.AppendUint32(nil, uint32(i)))
			}
			return deflated(p.stop())
		}, "data.pkl", nil},
		{"shared-lists-2^64-paths", func() []byte {
			p := newPickle().op(']').f32("0", 1, 1).op('a', 'q', 0)
			for i := 1; i <= 64; i++ {
				p.op('(', 'h', byte(i-1), 'h', byte(i-1), 'l', 'q', byte(i))
			}
			return pth(p.stop(), "0", f32bytes(1))
		}, "corrupt or hostile", nil},
		{"1000-names-for-1MB", func() []byte {
			p := newPickle().op('}', '(')
			for i := 0; i < 1000; i++ {
				p.str(strconv.Itoa(i)).f32("0", 1<<18, 1<<18)
			}
			return pth(p.op('u').stop(), "0", zeros(1<<20))
		}, "referenced too often", nil},
		{"1000-strided-copies-of-1MB", func() []byte {
			p := newPickle().op('}', '(')
			for i := 0; i < 1000; i++ {
				p.str(strconv.Itoa(i)).tensor("FloatStorage", "0", 1<<18, 0, []int64{512, 512}, []int64{1, 512})
			}
			return pth(p.op('u').stop(), "0", zeros(1<<20))
		}, "decoding would take more than", nil},
		{"model-and-ema-share-a-state-dict (honest)", one(pth(newPickle().op('}', '(').str("model").
			dict("w", f32of("0", 2, 2)).op('q', 9).str("ema").op('h', 9, 'u').stop(), "0", f32bytes(3, 4))),
			"", namesAre("model.w", "ema.w")},

		// Broken pickles.
		{"no-STOP", one(pth([]byte("\x80\x02}"))), "truncated", nil},
		{"empty-data.pkl", one(pth(nil)), "truncated", nil},
		{"stack-underflow", one(pth([]byte("\x80\x02a."))), "stack underflow", nil},
		{"setitem-on-a-list", one(pth([]byte("\x80\x02]NNs."))), "SETITEM on a list", nil},
		{"missing-storage", one(pth(newPickle().dict("a", f32of("0", 1, 1)).stop())), `storage "0" missing`, nil},
		{"odd-dict-key", one(pth([]byte("\x80\x02}))N\x86s."))), "dict key is a tuple", nil},
	}
	// The fixtures written by PyTorch 1.13: honest controls.
	for _, n := range []string{"state_dict.pth", "mixed.pth", "checkpoint.pth"} {
		n := n
		cases = append(cases, hcase{n + " (honest, torch.save)", func() []byte {
			b, err := os.ReadFile("testdata/" + n)
			if err != nil {
				panic(err)
			}
			return b
		}, "", func(ts []Tensor) string {
			if len(ts) < 7 {
				return fmt.Sprintf("%d tensors", len(ts))
			}
			return ""
		}})
	}
	return cases
}

func deflateBytes(b []byte) []byte {
	z := makeZip(entry{name: "x", data: b, deflate: true})
	zr, _ := zipReader(z)
	off, _ := zr.File[0].DataOffset()
	return z[off : off+int64(zr.File[0].CompressedSize64)]
}

// makeZipRaw is a torch.save file whose storage entry has the given
// compressed bytes and declared size, whatever they decompress to.
func makeZipRaw(pickle []byte, name string, compressed []byte, declared uint64) []byte {
	var buf bytes.Buffer
	w := zipWriter(&buf)
	w.raw("archive/data.pkl", pickle, false, uint64(len(pickle)))
	w.raw(name, compressed, true, declared)
	w.Close()
	return buf.Bytes()
}

// outcome runs one case in this process, with a time limit.
func outcome(t *testing.T, c hcase, b []byte) ([]Tensor, error) {
	t.Helper()
	type res struct {
		ts  []Tensor
		err error
	}
	done := make(chan res, 1)
	go func() {
		ts, err := ReadFrom(bytes.NewReader(b), int64(len(b)))
		done <- res{ts, err}
	}()
	select {
	case r := <-done:
		return r.ts, r.err
	case <-time.After(20 * time.Second):
		t.Fatalf("%s: still running after 20 s", c.name)
	}
	return nil, nil
}

// judge says whether a case ended as it must; "" when it did.
func judge(c hcase, ts []Tensor, err error) string {
	switch {
	case err != nil && (strings.Contains(err.Error(), "panic") || strings.Contains(err.Error(), "runtime error")):
		return "crashed: " + err.Error()
	case c.refuse != "" && err == nil:
		return fmt.Sprintf("loaded %d tensors, want an error saying %q", len(ts), c.refuse)
	case c.refuse != "" && !strings.Contains(err.Error(), c.refuse):
		return fmt.Sprintf("error %q, want one saying %q", err, c.refuse)
	case c.refuse == "" && c.check != nil && err != nil:
		return "refused an honest file: " + err.Error()
	case c.check != nil:
		return c.check(ts)
	}
	return ""
}

func TestHostile(t *testing.T) {
	for _, c := range hostileCases() {
		b := c.file()
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		ts, err := outcome(t, c, b)
		el := time.Since(start)
		runtime.ReadMemStats(&after)
		if msg := judge(c, ts, err); msg != "" {
			t.Errorf("%s: %s", c.name, msg)
		}
		// Everything the read allocated, garbage included: an upper bound
		// on its peak heap.
		alloc := int64(after.TotalAlloc - before.TotalAlloc)
		if alloc > int64(len(b))+64<<20 {
			t.Errorf("%s: allocated %s for a %s file", c.name, human(uint64(alloc)), human(uint64(len(b))))
		}
		if el > 5*time.Second {
			t.Errorf("%s: took %v", c.name, el)
		}
		t.Logf("%-40s %6s allocated %9s  %v", c.name, el.Round(time.Millisecond), human(uint64(alloc)), err)
	}
}

// TestHostileProbe reads every case in a process of its own and reports
// the peak memory each took (the process's resident high-water mark,
// getrusage's ru_maxrss, from /proc/self/status, reset before the read):
// files tried, refused with a clear error, loaded correctly, crashed (a Go
// fatal error, a panic, a wrong value; must be 0), and the worst peak
// beyond the file's size.
func TestHostileProbe(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a process per file")
	}
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("needs /proc/self/status")
	}
	dir := t.TempDir()
	var tried, refused, loaded, crashed int
	var worst int64
	worstName := ""
	var rows []string
	for i, c := range hostileCases() {
		b := c.file()
		path := filepath.Join(dir, fmt.Sprintf("%02d.pth", i))
		os.WriteFile(path, b, 0o644)
		cmd := exec.Command(os.Args[0], "-test.run=^TestHostileChild$", "-test.v")
		cmd.Env = append(os.Environ(), "DADASH_PTFILE_PROBE="+path, "DADASH_PTFILE_CASE="+strconv.Itoa(i))
		outB, err := cmd.CombinedOutput()
		out := string(outB)
		tried++
		var verdict, msg string
		var peak int64
		if k := strings.Index(out, "PROBE "); k >= 0 {
			line := strings.SplitN(out[k+6:], "\n", 2)[0]
			f := strings.SplitN(line, " ", 3)
			if len(f) == 3 {
				verdict, msg = f[0], f[2]
				peak, _ = strconv.ParseInt(f[1], 10, 64)
			}
		}
		switch {
		case err != nil || verdict == "" || strings.Contains(out, "fatal error") || strings.Contains(out, "panic"):
			crashed++
			verdict = "CRASHED"
			t.Errorf("%s: the reading process failed: %v\n%s", c.name, err, tail(out, 2000))
		case verdict == "refused":
			refused++
		case verdict == "loaded":
			loaded++
		default:
			crashed++
			t.Errorf("%s: %s", c.name, msg)
		}
		beyond := peak - int64(len(b))
		if beyond > worst {
			worst, worstName = beyond, c.name
		}
		rows = append(rows, fmt.Sprintf("%-42s %-8s file %9s  peak +%9s  beyond file %9s", c.name, verdict, human(uint64(len(b))), signed(peak), signed(beyond)))
	}
	sort.Strings(rows)
	t.Logf("peak: growth of the resident high-water mark during the read\n%s", strings.Join(rows, "\n"))
	summary := fmt.Sprintf("hostile .pth probe: %d files tried, %d refused with a clear error, %d loaded correctly, %d crashed; worst peak %s beyond the file's size (%s)",
		tried, refused, loaded, crashed, signed(worst), worstName)
	t.Log(summary)
	fmt.Println(summary)
	if worst > 64<<20 {
		t.Errorf("worst peak memory %s beyond the file's size: over the 64 MB target", signed(worst))
	}
}

// procStatus returns a field of /proc/self/status in bytes.
func procStatus(field string) int64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, field+":") {
			f := strings.Fields(l[len(field)+1:])
			if len(f) > 0 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

func signed(n int64) string {
	if n < 0 {
		return "-" + human(uint64(-n))
	}
	return human(uint64(n))
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// TestHostileChild is the reading process of TestHostileProbe: it prints
// "PROBE <verdict> <peak bytes> <message>".
func TestHostileChild(t *testing.T) {
	path := os.Getenv("DADASH_PTFILE_PROBE")
	if path == "" {
		t.Skip("run by TestHostileProbe")
	}
	runtime.GC()
	before := procStatus("VmRSS")
	// Reset the high-water mark to the current RSS (Linux 4.0+); where
	// that is refused, the mark since the start is an upper bound.
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	ts, err := Read(path)
	peak := procStatus("VmHWM") - before
	idx, _ := strconv.Atoi(os.Getenv("DADASH_PTFILE_CASE"))
	c := hostileCases()[idx]
	switch msg := judge(c, ts, err); {
	case msg != "":
		fmt.Printf("PROBE WRONG %d %s\n", peak, strings.ReplaceAll(msg, "\n", " "))
	case err != nil:
		fmt.Printf("PROBE refused %d %s\n", peak, strings.ReplaceAll(err.Error(), "\n", " "))
	default:
		fmt.Printf("PROBE loaded %d %d tensors\n", peak, len(ts))
	}
}

package aten

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// The thread policy reaches libgomp, which reads it while the loader maps
// it: this test binary runs itself again with OMP_DISPLAY_ENV=verbose, so
// libgomp prints the spin count it settled on.
func TestThreadPolicy(t *testing.T) {
	if os.Getenv("DADASH_POLICY_CHILD") != "" {
		return // the child only needs to start
	}
	spin := regexp.MustCompile(`GOMP_SPINCOUNT = '(\d+)'`)
	for _, c := range []struct {
		env  []string
		want string
	}{
		{nil, "10000"}, // about 0.1 ms of spinning, then sleep
		{[]string{"DADASH_THREAD_POLICY=default"}, "300000"}, // libgomp's own default
		{[]string{"OMP_WAIT_POLICY=ACTIVE"}, "30000000000"},  // the user's choice wins
		{[]string{"GOMP_SPINCOUNT=1000"}, "1000"},            // and so does libgomp's knob
		{[]string{"OMP_WAIT_POLICY=PASSIVE"}, "0"},           // PASSIVE alone: no spin given
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestThreadPolicy$")
		cmd.Env = []string{"DADASH_POLICY_CHILD=1", "OMP_DISPLAY_ENV=verbose"}
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "OMP_") && !strings.HasPrefix(kv, "GOMP_") && !strings.HasPrefix(kv, "DADASH_THREAD_POLICY=") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		cmd.Env = append(cmd.Env, c.env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %v\n%s", c.env, err, out)
		}
		m := spin.FindSubmatch(out)
		if m == nil {
			t.Fatalf("%v: libgomp printed no GOMP_SPINCOUNT:\n%s", c.env, out)
		}
		if string(m[1]) != c.want {
			t.Errorf("%v: GOMP_SPINCOUNT = %s, want %s", c.env, m[1], c.want)
		}
	}
}

// Products below 2^24 multiply-adds run on one BLAS thread, larger ones on
// the --threads pool (threadpolicy.c's sgemm_ and dgemm_ stand in front of
// OpenBLAS's).
func TestBLASPoolBySize(t *testing.T) {
	if blasPool() < 0 {
		t.Skip("the BLAS library is not OpenBLAS")
	}
	defer SetNumThreads(NumThreads())
	SetNumThreads(2)
	mm := func(dt DType, m, k, n int64) {
		a, err := Run("ones", Is(m, k), KW("dtype", D(dt)))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := Run("ones", Is(k, n), KW("dtype", D(dt)))
		c, err := Run("mm", T(a), T(b))
		if err != nil {
			t.Fatal(err)
		}
		v, _ := c.Float64s()
		if v[0] != float64(k) { // the product itself is right
			t.Fatalf("mm = %v, want %d", v[0], k)
		}
	}
	for _, dt := range []DType{Float32, Float64} {
		mm(dt, 60, 64, 1800) // 6.9M multiply-adds
		if p := blasPool(); p != 1 {
			t.Fatalf("%s: after a small product the pool has %d threads, want 1", dt, p)
		}
		mm(dt, 512, 512, 512) // 134M
		if p := blasPool(); p != 2 {
			t.Fatalf("%s: after a large product the pool has %d threads, want 2", dt, p)
		}
	}
}

// Tensors up to 32 MB come from malloc's heap, not from a fresh mmap each
// (threadpolicy.c's malloc policy); with DADASH_THREAD_POLICY=default glibc
// serves a 20 MB block by mmap.
func TestMallocPolicy(t *testing.T) {
	if os.Getenv("DADASH_MALLOC_CHILD") != "" {
		before := mmappedBlocks()
		x, err := Run("empty", Is(5<<20)) // 20 MB of float32
		if err != nil {
			t.Fatal(err)
		}
		if d := mmappedBlocks() - before; (d == 0) != (os.Getenv("DADASH_THREAD_POLICY") == "") {
			t.Fatalf("a 20 MB tensor added %d mmapped blocks (DADASH_THREAD_POLICY=%q)", d, os.Getenv("DADASH_THREAD_POLICY"))
		}
		x.Free()
		return
	}
	for _, env := range [][]string{nil, {"DADASH_THREAD_POLICY=default"}} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestMallocPolicy$")
		cmd.Env = append(append([]string{"DADASH_MALLOC_CHILD=1"}, filterEnv("DADASH_THREAD_POLICY=", "GLIBC_TUNABLES=", "MALLOC_")...), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", env, err, out)
		}
	}
}

func filterEnv(drop ...string) []string {
	var out []string
next:
	for _, kv := range os.Environ() {
		for _, p := range drop {
			if strings.HasPrefix(kv, p) {
				continue next
			}
		}
		out = append(out, kv)
	}
	return out
}

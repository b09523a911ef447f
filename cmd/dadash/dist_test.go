package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Data-parallel training end to end: real processes on 127.0.0.1 with Gloo,
// started by dadash run --nproc_per_node or by hand with torchrun's
// environment.

// proc is a dadash process started with extra environment.
type proc struct {
	cmd      *exec.Cmd
	out, err bytes.Buffer
	start    time.Time
}

func startDadash(t *testing.T, dir string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(binary, args...), start: time.Now()}
	p.cmd.Dir = dir
	p.cmd.Env = append(append(launchEnv(os.Environ()), "DADASH_HISTORY=-", "DADASH_NUM_THREADS=1"), env...)
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.err
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return p
}

// wait returns the exit code and how long the process ran; a process still
// running after limit is killed and fails the test.
func (p *proc) wait(t *testing.T, limit time.Duration) (int, time.Duration) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(limit):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		_ = p.cmd.Process.Kill()
		<-done
		t.Fatalf("dadash %q still running after %s\nstdout: %s\nstderr: %s", p.cmd.Args[1:], limit, p.out.String(), p.err.String())
	}
	took := time.Since(p.start)
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, took
	case errors.As(err, &ee):
		return ee.ExitCode(), took
	}
	t.Fatal(err)
	return 0, took
}

func runDadash(t *testing.T, dir string, env []string, limit time.Duration, args ...string) (result, time.Duration) {
	t.Helper()
	p := startDadash(t, dir, env, args...)
	code, took := p.wait(t, limit)
	return result{code, p.out.String(), p.err.String()}, took
}

func freeTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func rendezvousEnv(port, rank, world int) []string {
	return []string{"MASTER_ADDR=127.0.0.1", fmt.Sprintf("MASTER_PORT=%d", port), fmt.Sprintf("RANK=%d", rank),
		fmt.Sprintf("WORLD_SIZE=%d", world), fmt.Sprintf("LOCAL_RANK=%d", rank)}
}

// equivRecord is what testdata/dist/equiv.star writes.
type equivRecord struct {
	World    int                  `json:"world"`
	Losses   [][]float64          `json:"losses"`
	Grads    map[string][]float64 `json:"grads"`
	DisGrads map[string][]float64 `json:"dis_grads"`
	Params   map[string][]float64 `json:"params"`
}

func readRecord(t *testing.T, path string) equivRecord {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r equivRecord
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return r
}

func norm(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x * x
	}
	return math.Sqrt(s)
}

// compareTensors checks ||got - want|| <= rtol * ||want|| for every tensor,
// where a tensor whose gradient is zero up to rounding (a bias before
// BatchNorm) is measured against a millionth of its group's norm instead.
func compareTensors(t *testing.T, what string, got, want map[string][]float64, rtol float64) float64 {
	t.Helper()
	if len(want) == 0 || len(got) != len(want) {
		t.Fatalf("%s: %d tensors, want %d (> 0)", what, len(got), len(want))
	}
	groupNorm := map[string]float64{}
	group := func(name string) string { g, _, _ := strings.Cut(name, "."); return g }
	for name, w := range want {
		groupNorm[group(name)] = math.Hypot(groupNorm[group(name)], norm(w))
	}
	worst := 0.0
	for name, w := range want {
		g, ok := got[name]
		if !ok || len(g) != len(w) {
			t.Errorf("%s %s: %d values, want %d", what, name, len(g), len(w))
			continue
		}
		diff := make([]float64, len(w))
		for i := range w {
			diff[i] = g[i] - w[i]
		}
		den := math.Max(norm(w), 1e-6*groupNorm[group(name)])
		if den == 0 {
			t.Errorf("%s %s: all zero", what, name)
			continue
		}
		rel := norm(diff) / den
		worst = math.Max(worst, rel)
		if rel > rtol || math.IsNaN(rel) {
			t.Errorf("%s %s: relative difference %.3g > %g", what, name, rel, rtol)
		}
	}
	return worst
}

// Two (and three) processes with a global batch of 16 give the losses,
// gradients and, after 20 Adam steps, the parameters of one process with
// the batch of 16: the sampler shards each batch, the embeddings and labels
// are gathered before the loss, DDP averages the gradients.
func TestDistMatchesOneProcess(t *testing.T) {
	root, err := filepath.Abs("testdata/dist/equiv.star")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "syn")
	r, _ := runDadash(t, dir, nil, 2*time.Minute, "-c", fmt.Sprintf("data.make_synthetic(%q, classes = 20, per_class = 8, size = (16, 12))", data))
	r.check(t, "make_synthetic", 0, "*")
	cases := []struct {
		mode, dtype string
		nproc       int
		rtol        float64
	}{
		{"proxy", "float32", 2, 1e-5},
		{"proxy", "float32", 3, 1e-5}, // parts of 5, 5 and 6
		// DADA's nuclear norm (an SVD) turns float32 rounding into relative
		// differences of 2e-5, as much as one process with 1 and 2 threads
		// differ by; in float64 the comparison is exact to 1e-5 and beyond.
		{"dada", "float64", 2, 1e-5},
	}
	for _, c := range cases {
		name := fmt.Sprintf("%s_%s_%d", c.mode, c.dtype, c.nproc)
		t.Run(name, func(t *testing.T) {
			one := filepath.Join(dir, name+"_1.json")
			many := filepath.Join(dir, name+"_n.json")
			r, _ := runDadash(t, dir, nil, 3*time.Minute, root, c.mode, c.dtype, one, data)
			r.check(t, "one process", 0, "*")
			r, _ = runDadash(t, dir, nil, 3*time.Minute, "run", "--nproc_per_node", strconv.Itoa(c.nproc), root, c.mode, c.dtype, many, data)
			r.check(t, "launched", 0, "*")
			a, b := readRecord(t, one), readRecord(t, many)
			if a.World != 1 || b.World != c.nproc || len(a.Losses) != 20 || len(b.Losses) != 20 {
				t.Fatalf("worlds %d, %d and %d, %d steps", a.World, b.World, len(a.Losses), len(b.Losses))
			}
			for i := range a.Losses {
				for j := range a.Losses[i] {
					if d := math.Abs(b.Losses[i][j]-a.Losses[i][j]) / math.Abs(a.Losses[i][j]); d > c.rtol {
						t.Errorf("step %d loss %d: %v vs %v (relative %.3g)", i, j, b.Losses[i][j], a.Losses[i][j], d)
					}
				}
			}
			if first, last := a.Losses[0][len(a.Losses[0])-1], a.Losses[19][len(a.Losses[19])-1]; !(last < first) {
				t.Errorf("the loss did not fall in 20 steps (%v to %v): the run is not training", first, last)
			}
			g := compareTensors(t, "gradient", b.Grads, a.Grads, c.rtol)
			if c.mode == "dada" {
				g = math.Max(g, compareTensors(t, "discriminator gradient", b.DisGrads, a.DisGrads, c.rtol))
			}
			p := compareTensors(t, "parameter after 20 steps", b.Params, a.Params, c.rtol)
			t.Logf("worst relative difference: gradients %.2g, parameters %.2g", g, p)
		})
	}
}

// childOf finds the process that parent started with RANK=rank.
func childOf(t *testing.T, parent, rank int) int {
	t.Helper()
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so start after ')'.
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(fields) < 2 || fields[1] != strconv.Itoa(parent) {
			continue
		}
		env, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		for _, kv := range bytes.Split(env, []byte{0}) {
			if string(kv) == fmt.Sprintf("RANK=%d", rank) {
				return pid
			}
		}
	}
	t.Fatalf("no process with RANK=%d under %d", rank, parent)
	return 0
}

func waitFiles(t *testing.T, p *proc, paths ...string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for _, f := range paths {
		for {
			if _, err := os.Stat(f); err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s did not appear\nstdout: %s\nstderr: %s", f, p.out.String(), p.err.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

func gone(pid int) bool { return syscall.Kill(pid, 0) == syscall.ESRCH }

const loopScript = `dist.init_process_group(timeout = 60)
rank = dist.get_rank()
os.write_text("ready%d" % rank, "")
for i in range(1000000000):
    t = torch.ones(4)
    dist.all_reduce(t)
    if rank == 1 and i == int(os.getenv("FAIL_AT", "-1")):
        fail("rank 1 gives up at step %d" % i)
`

// A process killed mid-run: the launcher stops the others and exits
// non-zero, naming the rank. A script error does the same.
func TestDistLauncherStopsJob(t *testing.T) {
	dir := writeFiles(t, map[string]string{"loop.star": loopScript})
	p := startDadash(t, dir, nil, "run", "--nproc_per_node", "3", "loop.star")
	waitFiles(t, p, filepath.Join(dir, "ready0"), filepath.Join(dir, "ready1"), filepath.Join(dir, "ready2"))
	victim, other := childOf(t, p.cmd.Process.Pid, 1), childOf(t, p.cmd.Process.Pid, 0)
	if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	code, _ := p.wait(t, time.Minute)
	took := time.Since(killed)
	if code == 0 || !strings.Contains(p.err.String(), "dadash run: failed: rank 1 was killed by signal 9 (killed) (the first process to fail)") {
		t.Errorf("exit %d\nstderr: %s", code, p.err.String())
	}
	if took > stopGrace+20*time.Second {
		t.Errorf("the launcher took %s to stop the job", took)
	}
	if !gone(other) {
		t.Errorf("rank 0 (pid %d) still runs", other)
	}

	r, _ := runDadash(t, dir, []string{"FAIL_AT=3"}, time.Minute, "run", "--nproc_per_node", "2", "loop.star")
	r.check(t, "script error", 1, "*", "[rank 1] loop.star:8:13: fail: rank 1 gives up at step 3",
		"dadash run: failed: rank 1 exited with status 1")
}

// Ctrl-C reaches every process; the launcher exits 130.
func TestDistLauncherInterrupt(t *testing.T) {
	dir := writeFiles(t, map[string]string{"loop.star": loopScript})
	p := startDadash(t, dir, nil, "run", "--nproc_per_node", "2", "loop.star")
	waitFiles(t, p, filepath.Join(dir, "ready0"), filepath.Join(dir, "ready1"))
	children := []int{childOf(t, p.cmd.Process.Pid, 0), childOf(t, p.cmd.Process.Pid, 1)}
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	code, _ := p.wait(t, time.Minute)
	if code != exitInterrupt || !strings.Contains(p.err.String(), "dadash run: interrupted") {
		t.Errorf("exit %d\nstderr: %s", code, p.err.String())
	}
	for _, c := range children {
		if !gone(c) {
			t.Errorf("pid %d still runs", c)
		}
	}
}

// The launcher's environment, output prefixes, and several "nodes".
func TestDistLauncherEnv(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"env.star": `print("hello", os.getenv("RANK"), os.getenv("LOCAL_RANK"), os.getenv("WORLD_SIZE"), os.getenv("LOCAL_WORLD_SIZE"), os.getenv("GROUP_RANK"), os.getenv("MASTER_ADDR"), args)`,
		"sum.star": `dist.init_process_group(timeout = 60)
t = torch.tensor([float(dist.get_rank() + 1)])
dist.all_reduce(t)
print("rank", dist.get_rank(), "of", dist.get_world_size(), "sum", t.item())
dist.destroy_process_group()
`,
	})
	r, _ := runDadash(t, dir, nil, time.Minute, "run", "--nproc-per-node=2", "env.star", "x")
	r.check(t, "env", 0, "*")
	for _, want := range []string{"hello 0 0 2 2 0 127.0.0.1 [\"x\"]\n", "[rank 1] hello 1 1 2 2 0 127.0.0.1 [\"x\"]\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	// Two "machines" of two processes each, on this one.
	port := strconv.Itoa(freeTCPPort(t))
	var nodes []*proc
	for node := 0; node < 2; node++ {
		nodes = append(nodes, startDadash(t, dir, nil, "run", "--nnodes", "2", "--node_rank", strconv.Itoa(node), "--nproc_per_node", "2",
			"--master_addr", "127.0.0.1", "--master_port", port, "sum.star"))
	}
	for node, p := range nodes {
		code, _ := p.wait(t, 2*time.Minute)
		out := p.out.String()
		want := []string{"rank 0 of 4 sum 10.0\n", "[rank 1] rank 1 of 4 sum 10.0\n"} // node 0's rank 0 writes unprefixed
		if node == 1 {
			want = []string{"[rank 2] rank 2 of 4 sum 10.0\n", "[rank 3] rank 3 of 4 sum 10.0\n"}
		}
		for _, w := range want {
			if code != 0 || !strings.Contains(out, w) {
				t.Errorf("node %d: exit %d, stdout lacks %q:\n%s\nstderr: %s", node, code, w, out, p.err.String())
			}
		}
	}
}

// Rendezvous mistakes are errors that say what to do, within the timeout.
func TestDistRendezvousErrors(t *testing.T) {
	dir := writeFiles(t, map[string]string{"init.star": "dist.init_process_group(timeout = 3)\nprint('joined')\n"})
	const limit = time.Minute // the timeout is 3s; the machine may be slow

	// The port is taken.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	r, _ := runDadash(t, dir, nil, limit, "run", "--nproc_per_node", "2", "--master_port", strconv.Itoa(port), "init.star")
	r.check(t, "port in use", 1, "*", fmt.Sprintf("cannot listen on port %d, which another process uses", port),
		"choose another with --master_port", "dadash run: failed: rank 0 exited with status 1")

	// Nobody serves the rendezvous.
	port = freeTCPPort(t)
	r, took := runDadash(t, dir, rendezvousEnv(port, 1, 2), limit, "init.star")
	r.check(t, "no master", 1, "", fmt.Sprintf("rendezvous at 127.0.0.1:%d as rank 1 of 2: rank 0 did not answer within 3s", port))
	t.Logf("no master: failed after %s", took)

	// WORLD_SIZE differs between the processes.
	port = freeTCPPort(t)
	a := startDadash(t, dir, rendezvousEnv(port, 0, 2), "init.star")
	b := startDadash(t, dir, rendezvousEnv(port, 1, 3), "init.star")
	for _, p := range []*proc{a, b} {
		if code, _ := p.wait(t, limit); code != 1 || !strings.Contains(p.err.String(), "WORLD_SIZE differs between processes: rank ") {
			t.Errorf("mismatched WORLD_SIZE: exit %d\nstderr: %s", code, p.err.String())
		}
	}

	// One of three processes never comes.
	port = freeTCPPort(t)
	a = startDadash(t, dir, rendezvousEnv(port, 0, 3), "init.star")
	b = startDadash(t, dir, rendezvousEnv(port, 1, 3), "init.star")
	for _, p := range []*proc{a, b} {
		if code, _ := p.wait(t, limit); code != 1 || !strings.Contains(p.err.String(), "not all 3 processes joined within 3s") {
			t.Errorf("missing process: exit %d\nstderr: %s", code, p.err.String())
		}
	}

	// Two processes claim the same rank.
	port = freeTCPPort(t)
	a = startDadash(t, dir, rendezvousEnv(port, 0, 3), "init.star")
	b = startDadash(t, dir, rendezvousEnv(port, 1, 3), "init.star")
	c := startDadash(t, dir, rendezvousEnv(port, 1, 3), "init.star")
	dup := 0
	for _, p := range []*proc{a, b, c} {
		if code, _ := p.wait(t, limit); code != 1 {
			t.Errorf("duplicate rank: exit %d\nstderr: %s", code, p.err.String())
		}
		if strings.Contains(p.err.String(), "another process already joined as rank 1") {
			dup++
		}
	}
	if dup != 1 {
		t.Errorf("duplicate rank: %d processes named it", dup)
	}

	// Not started by a launcher.
	r, _ = runDadash(t, dir, nil, limit, "init.star")
	r.check(t, "no environment", 1, "", "environment variable MASTER_ADDR expected, but not set: start the script with `dadash run --nproc_per_node N")
	r, _ = runDadash(t, dir, []string{"MASTER_ADDR=127.0.0.1", "MASTER_PORT=1", "RANK=2", "WORLD_SIZE=2"}, limit, "init.star")
	r.check(t, "rank out of range", 1, "", "RANK=2 but WORLD_SIZE=2")
}

func TestLaunchCommandLine(t *testing.T) {
	dir := writeFiles(t, map[string]string{"s.star": "print(1)\n"})
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--nproc_per_node", "0", "s.star"}, "--nproc_per_node 0: want an integer >= 1"},
		{[]string{"--nproc_per_node", "2"}, "missing script"},
		{[]string{"--nproc_per_node", "2", "nope.star"}, "no such script nope.star"},
		{[]string{"--nnodes", "2", "--nproc_per_node", "1", "s.star"}, "--nnodes 2 needs --master_addr"},
		{[]string{"--nnodes", "2", "--node_rank", "2", "--master_addr", "h", "s.star"}, "--node_rank 2: with --nnodes 2 the node ranks are 0 to 1"},
		{[]string{"--nproc_per_node", "2", "--bogus", "1", "s.star"}, "unknown flag --bogus"},
		{[]string{"--nproc_per_node", "2", "--master_port", "70000", "s.star"}, "a port is at most 65535"},
	} {
		r, _ := runDadash(t, dir, nil, time.Minute, append([]string{"run"}, c.args...)...)
		r.check(t, strings.Join(c.args, " "), exitUsage, "", c.want)
	}
	r, _ := runDadash(t, dir, nil, time.Minute, "run", "--nproc_per_node", "2", "--help")
	r.check(t, "help", 0, "*")
	if !strings.Contains(r.stdout, "--nnodes M --node_rank R") {
		t.Errorf("help: %s", r.stdout)
	}
	if !isLaunch([]string{"--threads", "2", "--nproc_per_node=2", "s.star"}) || isLaunch([]string{"s.star", "--nproc_per_node", "2"}) {
		t.Error("isLaunch: only flags before the script start the launcher")
	}
}

func TestPrefixWriter(t *testing.T) {
	var b bytes.Buffer
	w := &prefixWriter{mu: new(sync.Mutex), w: &b, prefix: "[rank 3] "}
	fmt.Fprint(w, "a\nb")
	fmt.Fprint(w, "c\n\nd")
	w.flush()
	if got := b.String(); got != "[rank 3] a\n[rank 3] bc\n[rank 3] \n[rank 3] d\n" {
		t.Errorf("got %q", got)
	}
}

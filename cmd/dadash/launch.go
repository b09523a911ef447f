package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/dadash/dadash/internal/atomicfile"
)

// dadash run --nproc_per_node N script.star: the data-parallel launcher.
// It starts N copies of `dadash run script.star` on this machine with the
// environment torchrun gives its workers (MASTER_ADDR, MASTER_PORT, RANK,
// WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, GROUP_RANK), forwards SIGINT and
// SIGTERM to them, and when one fails stops the others and exits non-zero,
// naming the failed rank. dist.init_process_group() in the script joins them.

const launchUsage = `usage: dadash run --nproc_per_node N [--nnodes M --node_rank R --master_addr A --master_port P]
                  [--threads T] [--set key=value] FILE.star [args...]

Starts N processes of FILE.star on this machine for data-parallel training (torchrun's flags and
environment: MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, GROUP_RANK);
the script joins them with dist.init_process_group(). Several machines: run the same command on
each, with --nnodes M, its own --node_rank (0 to M-1) and node 0's --master_addr and --master_port.
On one machine the rendezvous is 127.0.0.1 on a free port unless --master_port says.

Rank 0 writes to this terminal as a single run does; the others' lines start with "[rank K]".
Ctrl-C and SIGTERM reach every process. When one process fails the others are stopped (SIGTERM,
then SIGKILL after %s) and dadash exits with the failed process's status, naming its rank.
Each process uses --threads T CPU threads (default: the cores divided by N, unless
DADASH_NUM_THREADS or OMP_NUM_THREADS is set).
`

// How long processes get to end before SIGKILL: after another process
// failed (they are likely stuck in a collective), and after Ctrl-C or
// SIGTERM (a script may be writing a checkpoint; a second Ctrl-C kills).
const (
	stopGrace      = 5 * time.Second
	interruptGrace = 30 * time.Second
)

type launchOptions struct {
	nproc, nnodes, nodeRank int
	masterAddr              string
	masterPort              int
	childFlags              []string // --threads, --set for every process
	threadsGiven            bool
	script                  string
	rest                    []string
}

// launchFlags are the launcher's own flags (torchrun's spellings: both
// --nproc_per_node and --nproc-per-node).
var launchFlags = map[string]string{
	"nproc_per_node": "nproc", "nproc-per-node": "nproc",
	"nnodes": "nnodes", "node_rank": "node_rank", "node-rank": "node_rank",
	"master_addr": "master_addr", "master-addr": "master_addr",
	"master_port": "master_port", "master-port": "master_port",
}

// isLaunch reports whether `dadash run` args ask for the launcher: a
// launcher flag before the script.
func isLaunch(args []string) bool {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || !strings.HasPrefix(a, "-") || a == "-" {
			return false
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if _, ok := launchFlags[name]; ok {
			return true
		}
		if (name == "threads" || name == "set") && !hasValue {
			i++ // its value
		}
	}
	return false
}

func (c *cli) parseLaunch(args []string) (*launchOptions, error) {
	o := &launchOptions{nproc: 1, nnodes: 1, masterPort: -1}
	if c.threads > 0 {
		o.childFlags = append(o.childFlags, "--threads", strconv.Itoa(c.threads))
		o.threadsGiven = true
	}
	for _, s := range c.sets {
		o.childFlags = append(o.childFlags, "--set", s)
	}
	for len(args) > 0 {
		a := args[0]
		if a == "--" {
			args = args[1:]
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			break
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if name == "h" || name == "help" {
			return nil, errHelp
		}
		if !hasValue {
			if len(args) < 2 {
				return nil, usagef("%s needs a value", a)
			}
			value = args[1]
			args = args[2:]
		} else {
			args = args[1:]
		}
		num := func(min int) (int, error) {
			n, err := strconv.Atoi(value)
			if err != nil || n < min {
				return 0, usagef("%s %s: want an integer >= %d", a, value, min)
			}
			return n, nil
		}
		var err error
		switch key := launchFlags[name]; {
		case key == "nproc":
			o.nproc, err = num(1)
		case key == "nnodes":
			o.nnodes, err = num(1)
		case key == "node_rank":
			o.nodeRank, err = num(0)
		case key == "master_addr":
			o.masterAddr = value
		case key == "master_port":
			o.masterPort, err = num(1)
			if err == nil && o.masterPort > 65535 {
				err = usagef("%s %s: a port is at most 65535", a, value)
			}
		case name == "threads":
			if _, err = num(1); err == nil {
				o.childFlags = append(o.childFlags, "--threads", value)
				o.threadsGiven = true
			}
		case name == "set":
			o.childFlags = append(o.childFlags, "--set", value)
		default:
			err = usagef("unknown flag %s (dadash run --nproc_per_node takes --nnodes, --node_rank, --master_addr, --master_port, --threads, --set)", a)
		}
		if err != nil {
			return nil, err
		}
	}
	if len(args) == 0 {
		return nil, usagef("run: missing script (usage: dadash run --nproc_per_node N FILE.star [args...])")
	}
	o.script, o.rest = args[0], args[1:]
	if o.nodeRank >= o.nnodes {
		return nil, usagef("--node_rank %d: with --nnodes %d the node ranks are 0 to %d", o.nodeRank, o.nnodes, o.nnodes-1)
	}
	if o.nnodes > 1 && o.masterAddr == "" {
		return nil, usagef("--nnodes %d needs --master_addr: the address of node 0, reachable from every node", o.nnodes)
	}
	if o.nnodes > 1 && o.masterPort < 0 {
		o.masterPort = 29500 // torchrun's default; every node must agree on it
	}
	if o.masterAddr == "" {
		o.masterAddr = "127.0.0.1"
	}
	if st, err := os.Stat(o.script); err != nil {
		return nil, usagef("no such script %s", o.script)
	} else if st.IsDir() {
		return nil, usagef("%s is a folder, not a script", o.script)
	}
	return o, nil
}

// freePort asks the kernel for a port that nothing listens on now.
func freePort(addr string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// worker is one started process.
type worker struct {
	rank, localRank int
	cmd             *exec.Cmd
	errorFile       string
	done            bool // its exit was received (main loop only)
	stopped         bool // the launcher signalled it (main loop only)
}

// errorFileEnv names the file where a process started by dadash run records
// when and why it failed (as torchrun's TORCHELASTIC_ERROR_FILE). Processes
// whose peer died fail too, a moment later; the records name the first.
const errorFileEnv = "DADASH_ERROR_FILE"

// recordFailure writes err to the launcher's error file, if there is one;
// cli.fail calls it.
func recordFailure(err error) {
	path := os.Getenv(errorFileEnv)
	if path == "" || err == nil {
		return
	}
	msg, _, _ := strings.Cut(strings.TrimSpace(err.Error()), "\n")
	_ = atomicfile.Write(path, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "%d\n%s\n", time.Now().UnixNano(), msg)
		return err
	})
}

// readFailure reads a record of recordFailure; ok is false when there is none.
func readFailure(path string) (at int64, msg string, ok bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, "", false
	}
	first, rest, _ := strings.Cut(string(b), "\n")
	at, err = strconv.ParseInt(first, 10, 64)
	return at, strings.TrimSpace(rest), err == nil
}

// exit is a worker's end. Workers are reaped with Process.Wait as soon as
// they end (their output is copied apart), so exits arrive in the order
// the processes ended: the first failure is the cause, not a process that
// failed because a peer had gone.
type exit struct {
	w     *worker
	state *os.ProcessState
	err   error
}

func (e exit) failed() bool { return e.err != nil || !e.state.Success() }

// output gives a process's stdout or stderr: w itself when it is a file and
// needs no prefix, else a pipe whose lines copy goroutines (counted in
// copies) write to w after prefix. closeAfterStart is the child's end.
func output(w io.Writer, prefix string, mu *sync.Mutex, copies *sync.WaitGroup) (child *os.File, closeAfterStart func(), err error) {
	if f, ok := w.(*os.File); ok && prefix == "" {
		return f, func() {}, nil
	}
	r, wr, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	pw := &prefixWriter{mu: mu, w: w, prefix: prefix}
	copies.Add(1)
	go func() {
		defer copies.Done()
		_, _ = io.Copy(pw, r)
		pw.flush()
		r.Close()
	}()
	return wr, func() { wr.Close() }, nil
}

func (c *cli) launchCommand(args []string) int {
	o, err := c.parseLaunch(args)
	if err == errHelp {
		fmt.Fprintf(c.stdout, launchUsage, stopGrace)
		return exitOK
	}
	if err != nil {
		return c.fail(err)
	}
	if o.masterPort < 0 {
		if o.masterPort, err = freePort(o.masterAddr); err != nil {
			return c.fail(fmt.Errorf("dadash run: no free port on %s for the rendezvous: %v (give --master_port)", o.masterAddr, err))
		}
	}
	exe, err := os.Executable()
	if err != nil {
		return c.fail(fmt.Errorf("dadash run: cannot find the dadash executable to start: %v", err))
	}
	env := launchEnv(os.Environ())
	errDir, err := os.MkdirTemp("", "dadash-run-")
	if err != nil {
		return c.fail(fmt.Errorf("dadash run: %v", err))
	}
	defer os.RemoveAll(errDir)
	if !o.threadsGiven && os.Getenv("DADASH_NUM_THREADS") == "" && os.Getenv("OMP_NUM_THREADS") == "" {
		// N processes each taking every core would fight over them.
		env = append(env, "DADASH_NUM_THREADS="+strconv.Itoa(max(1, runtime.NumCPU()/o.nproc)))
	}
	world := o.nnodes * o.nproc
	childArgs := append(append(append([]string{"run"}, o.childFlags...), o.script), o.rest...)

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)

	var outMu sync.Mutex
	var copies sync.WaitGroup
	exits := make(chan exit, o.nproc)
	var workers []*worker
	for lr := 0; lr < o.nproc; lr++ {
		w := &worker{rank: o.nodeRank*o.nproc + lr, localRank: lr}
		w.errorFile = filepath.Join(errDir, fmt.Sprintf("rank%d", w.rank))
		cmd := exec.Command(exe, childArgs...)
		cmd.Env = append(append([]string{}, env...),
			"MASTER_ADDR="+o.masterAddr, "MASTER_PORT="+strconv.Itoa(o.masterPort),
			"RANK="+strconv.Itoa(w.rank), "WORLD_SIZE="+strconv.Itoa(world),
			"LOCAL_RANK="+strconv.Itoa(lr), "LOCAL_WORLD_SIZE="+strconv.Itoa(o.nproc),
			"GROUP_RANK="+strconv.Itoa(o.nodeRank), "DADASH_LAUNCHED=1", errorFileEnv+"="+w.errorFile)
		// Own process group: a terminal's Ctrl-C reaches the launcher only,
		// which forwards it once; the processes die with the launcher.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		prefix := ""
		if w.rank != 0 {
			prefix = fmt.Sprintf("[rank %d] ", w.rank)
		}
		stdout, closeOut, err := output(c.stdout, prefix, &outMu, &copies)
		if err != nil {
			return c.fail(fmt.Errorf("dadash run: %v", err))
		}
		stderr, closeErr, err := output(c.stderr, prefix, &outMu, &copies)
		if err != nil {
			return c.fail(fmt.Errorf("dadash run: %v", err))
		}
		cmd.Stdout, cmd.Stderr = stdout, stderr
		w.cmd = cmd
		err = cmd.Start()
		closeOut()
		closeErr()
		if err != nil {
			for _, prev := range workers {
				signalGroup(prev, syscall.SIGKILL)
			}
			return c.fail(fmt.Errorf("dadash run: starting rank %d: %v", w.rank, err))
		}
		workers = append(workers, w)
		go func() {
			st, err := w.cmd.Process.Wait()
			exits <- exit{w, st, err}
		}()
	}
	// All output is written before the launcher ends (bounded: a grandchild
	// may hold a pipe open).
	defer func() {
		done := make(chan struct{})
		go func() { copies.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
		}
	}()

	var (
		failures    []exit
		interrupted bool
		kill        <-chan time.Time
	)
	stopAll := func(sig syscall.Signal) {
		for _, w := range workers {
			if !w.done {
				w.stopped = true
				signalGroup(w, sig)
			}
		}
	}
	for left := len(workers); left > 0; {
		select {
		case e := <-exits:
			left--
			e.w.done = true
			if !e.failed() || interrupted || e.w.stopped {
				continue
			}
			failures = append(failures, e)
			if len(failures) == 1 {
				fmt.Fprintf(c.stderr, "dadash run: rank %d (local rank %d, pid %d) %s; stopping the other %d process(es)\n",
					e.w.rank, e.w.localRank, e.w.cmd.Process.Pid, e.describe(), left)
				stopAll(syscall.SIGTERM)
				kill = time.After(stopGrace)
			}
		case s := <-sigs:
			if interrupted {
				stopAll(syscall.SIGKILL)
				continue
			}
			interrupted = true
			stopAll(s.(syscall.Signal))
			kill = time.After(interruptGrace)
		case <-kill:
			fmt.Fprintf(c.stderr, "dadash run: %d process(es) still running after being stopped; killing them\n", left)
			stopAll(syscall.SIGKILL)
			kill = nil
		}
	}
	switch {
	case interrupted:
		fmt.Fprintln(c.stderr, "dadash run: interrupted")
		return exitInterrupt
	case len(failures) > 0:
		failed := firstFailure(failures)
		fmt.Fprintf(c.stderr, "dadash run: failed: rank %d %s (the first process to fail)\n", failed.w.rank, failed.describe())
		if failed.err == nil && failed.state.ExitCode() > 0 {
			return failed.state.ExitCode()
		}
		return exitError
	}
	return exitOK
}

// launchEnv drops the rendezvous variables a surrounding launcher may have
// set, so that the ones given to each process are the only ones.
func launchEnv(env []string) []string {
	drop := map[string]bool{"MASTER_ADDR": true, "MASTER_PORT": true, "RANK": true, "WORLD_SIZE": true, "LOCAL_RANK": true,
		"LOCAL_WORLD_SIZE": true, "GROUP_RANK": true, "DADASH_LAUNCHED": true, errorFileEnv: true}
	out := env[:0:0]
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if !drop[k] {
			out = append(out, kv)
		}
	}
	return out
}

func signalGroup(w *worker, sig syscall.Signal) {
	if w.cmd.Process != nil {
		_ = syscall.Kill(-w.cmd.Process.Pid, sig)
	}
}

// firstFailure picks the cause among processes that failed on their own
// (not stopped by the launcher): one killed by a signal (an out-of-memory
// kill, a kill -9) left no record and caused the others' errors; else the
// earliest record; else the first exit.
func firstFailure(failures []exit) exit {
	for _, e := range failures {
		if ws, ok := e.state.Sys().(syscall.WaitStatus); ok && e.err == nil && ws.Signaled() {
			return e
		}
	}
	best, bestAt := failures[0], int64(-1)
	for _, e := range failures {
		if at, _, ok := readFailure(e.w.errorFile); ok && (bestAt < 0 || at < bestAt) {
			best, bestAt = e, at
		}
	}
	return best
}

func (e exit) describe() string {
	if e.err != nil {
		return "could not be waited for: " + e.err.Error()
	}
	if ws, ok := e.state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return fmt.Sprintf("was killed by signal %d (%v)", int(ws.Signal()), ws.Signal())
	}
	return fmt.Sprintf("exited with status %d", e.state.ExitCode())
}

// prefixWriter writes whole lines, each after prefix, under a lock shared
// by all the processes' outputs so their lines do not mix.
type prefixWriter struct {
	mu     *sync.Mutex
	w      io.Writer
	prefix string
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			break
		}
		p.emit(p.buf[:i+1])
		p.buf = p.buf[i+1:]
	}
	return len(b), nil
}

func (p *prefixWriter) emit(line []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, _ = p.w.Write(append([]byte(p.prefix), line...))
}

// flush writes a last line that has no newline.
func (p *prefixWriter) flush() {
	if len(p.buf) > 0 {
		p.emit(append(p.buf, '\n'))
		p.buf = nil
	}
}

package atomicfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
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

func temps(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, ".*tmp*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestWrite(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f.txt")
	if err := Write(p, func(w io.Writer) error { _, err := io.WriteString(w, "one"); return err }); err != nil {
		t.Fatal(err)
	}
	// A failing writer leaves the old content and no temporary files.
	boom := errors.New("boom")
	if err := Write(p, func(w io.Writer) error { io.WriteString(w, "partial"); return boom }); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "one" {
		t.Fatalf("content %q after a failed write", b)
	}
	if m := temps(t, filepath.Dir(p)); len(m) != 0 {
		t.Fatalf("temporary files left: %v", m)
	}
	if err := Write(filepath.Join(t.TempDir(), "missing", "x"), func(io.Writer) error { return nil }); err == nil {
		t.Fatal("no error for a missing folder")
	}
}

// TestNames checks that a temporary file names its owner.
func TestNames(t *testing.T) {
	dir := t.TempDir()
	var seen string
	err := WritePath(filepath.Join(dir, "a.bin"), func(tmp string) error {
		seen = filepath.Base(tmp)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	m := tmpName.FindStringSubmatch(seen)
	if m == nil || m[1] != "a.bin" || m[2] != strconv.Itoa(os.Getpid()) || m[4] != self.host {
		t.Fatalf("temporary name %q does not carry base, pid and host", seen)
	}
	if _, err := os.Stat("/proc/self/stat"); err == nil && self.start == 0 {
		t.Error("the process start time was not read from /proc")
	}
}

// TestPanic checks that a panicking writer leaves no temporary file.
func TestPanic(t *testing.T) {
	dir := t.TempDir()
	func() {
		defer func() { recover() }()
		Write(filepath.Join(dir, "p.txt"), func(w io.Writer) error {
			io.WriteString(w, "half")
			panic("writer bug")
		})
	}()
	if m := temps(t, dir); len(m) != 0 {
		t.Fatalf("temporary files left after a panic: %v", m)
	}
	if len(live) != 0 {
		t.Fatalf("registry still holds %v", live)
	}
}

// TestRemoveTemps is what the signal handler does: the file being written
// disappears and the write fails without replacing the target.
func TestRemoveTemps(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "r.txt")
	err := Write(p, func(w io.Writer) error {
		io.WriteString(w, "x")
		if len(temps(t, dir)) != 1 {
			t.Error("no temporary file while writing")
		}
		RemoveTemps()
		if m := temps(t, dir); len(m) != 0 {
			t.Errorf("RemoveTemps left %v", m)
		}
		return nil
	})
	if err == nil {
		t.Fatal("the write succeeded although its temporary file was removed")
	}
	if _, err := os.Stat(p); err == nil {
		t.Fatal("the target was written")
	}
}

// content is writer w's i-th version of the file: a header naming it and a
// body whose every byte depends on it, so a mix of two writes shows.
func content(w string, i int) []byte {
	head := fmt.Sprintf("%s %d\n", w, i)
	body := bytes.Repeat([]byte(head), 20000)
	return append([]byte(head), body...)
}

func checkWhole(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	head, _, ok := strings.Cut(string(b), "\n")
	var w string
	var i int
	if _, err := fmt.Sscanf(head, "%s %d", &w, &i); !ok || err != nil {
		t.Fatalf("%s starts with %q", path, head)
	}
	if !bytes.Equal(b, content(w, i)) {
		t.Fatalf("%s is not one whole write (header %q)", path, head)
	}
	return w
}

// TestWriterChild writes versions of one file until killed, or n times.
func TestWriterChild(t *testing.T) {
	path := os.Getenv("ATOMICFILE_CHILD_PATH")
	if path == "" {
		t.Skip("run by TestConcurrentWriters and TestKilledWriters")
	}
	n, _ := strconv.Atoi(os.Getenv("ATOMICFILE_CHILD_N"))
	for i := 0; n == 0 || i < n; i++ {
		c := content("child", i)
		if err := Write(path, func(w io.Writer) error { _, err := w.Write(c); return err }); err != nil {
			t.Fatal(err)
		}
	}
}

func child(t *testing.T, path string, n int) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestWriterChild$")
	cmd.Env = append(os.Environ(), "ATOMICFILE_CHILD_PATH="+path, "ATOMICFILE_CHILD_N="+strconv.Itoa(n))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// TestConcurrentWriters: goroutines of this process and another process
// rewrite one file at once; every write succeeds, the file is always one
// whole write, and no temporary file stays.
func TestConcurrentWriters(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "shared.txt")
	cmd := child(t, path, 200)
	var wg sync.WaitGroup
	errs := make(chan error, 4*200)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			name := "goroutine" + strconv.Itoa(g)
			for i := 0; i < 200; i++ {
				c := content(name, i)
				if err := Write(path, func(w io.Writer) error { _, err := w.Write(c); return err }); err != nil {
					errs <- err
				}
			}
		}(g)
	}
	// Read while they write: always a whole version.
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	writers := map[string]bool{}
	for reading := true; reading; {
		select {
		case <-done:
			reading = false
		default:
			if _, err := os.Stat(path); err == nil {
				writers[checkWhole(t, path)] = true
			}
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the other process failed: %v", err)
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	writers[checkWhole(t, path)] = true
	if m := temps(t, dir); len(m) != 0 {
		t.Fatalf("temporary files left: %v", m)
	}
	t.Logf("versions seen from: %v", writers)
}

// TestKilledWriters kills a writing process (kill -9) repeatedly: the file
// is always whole, and the next writer in the folder removes the killed
// ones' temporary files.
func TestKilledWriters(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "k.txt")
	if err := Write(path, func(w io.Writer) error { _, err := w.Write(content("parent", 0)); return err }); err != nil {
		t.Fatal(err)
	}
	orphans := 0
	for round := 0; round < 5; round++ {
		cmd := child(t, path, 0)
		deadline := time.Now().Add(30 * time.Second)
		for len(temps(t, dir)) == 0 && time.Now().Before(deadline) {
			time.Sleep(100 * time.Microsecond)
		}
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		orphans += len(temps(t, dir))
		checkWhole(t, path)
	}
	if orphans == 0 {
		t.Fatal("no kill landed during a write; the test did not test anything")
	}
	cleaned.Delete(dir) // as a new process would: this folder is new to it
	if err := Write(path, func(w io.Writer) error { _, err := w.Write(content("parent", 0)); return err }); err != nil {
		t.Fatal(err)
	}
	if m := temps(t, dir); len(m) != 0 {
		t.Fatalf("orphans left after the next write: %v", m)
	}
	t.Logf("%d orphans from 5 kills, all removed by the next write", orphans)
}

// TestCleanStale checks which temporary files count as stale.
func TestCleanStale(t *testing.T) {
	dir := t.TempDir()
	// A process that has exited: its pid is free (or reused, which the
	// start time tells).
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	deadPid := dead.Process.Pid
	sleeper := exec.Command("sleep", "60")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { sleeper.Process.Kill(); sleeper.Wait() }()
	livePid := sleeper.Process.Pid
	var liveStart uint64
	for i := 0; i < 100 && liveStart == 0; i++ {
		liveStart = procStart(livePid)
	}
	name := func(base string, pid int, start uint64, host string) string {
		return fmt.Sprintf(".%s.tmp-%d-%d-%s-0badc0de", base, pid, start, host)
	}
	other := "0000beef"
	if other == self.host {
		other = "0000dead"
	}
	files := map[string]bool{ // name -> whether CleanStale must remove it
		name("ck.ckpt", deadPid, 12345, self.host):       true,  // owner gone
		name("ck.ckpt", livePid, liveStart, self.host):   false, // owner runs
		name("ck.ckpt", deadPid, 12345, other):           false, // another host: cannot tell
		name("ck.ckpt", self.pid, self.start, self.host): true,  // this process, not being written
		".report.html.tmp123456":                         true,  // old format, untouched for 2 h
		".report.html.tmp654321":                         false, // old format, fresh
		".bashrc":                                        false,
		".x.tmp-notmine":                                 false,
		"ck.ckpt":                                        false,
	}
	if _, err := os.Stat("/proc/self/stat"); err == nil {
		// The pid runs, but as another process than the one that wrote.
		files[name("ck.ckpt", livePid, liveStart+1, self.host)] = true
	}
	for n := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * time.Hour)
	os.Chtimes(filepath.Join(dir, ".report.html.tmp123456"), old, old)

	// A write of this process in progress keeps its own file.
	var mine string
	err := WritePath(filepath.Join(dir, "mine.bin"), func(tmp string) error {
		mine = filepath.Base(tmp)
		CleanStale(dir)
		if _, err := os.Stat(tmp); err != nil {
			t.Errorf("CleanStale removed this process's file being written: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for n, gone := range files {
		_, err := os.Stat(filepath.Join(dir, n))
		if gone && err == nil {
			t.Errorf("%s was left although its writer is gone", n)
		}
		if !gone && err != nil {
			t.Errorf("%s was removed although it may be in use", n)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, mine)); err == nil {
		t.Error("the finished write left its temporary file")
	}
}

// TestFirstWriteCleans: opening a folder for writing removes its orphans.
func TestFirstWriteCleans(t *testing.T) {
	dir := t.TempDir()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	orphan := filepath.Join(dir, fmt.Sprintf(".log.csv.tmp-%d-1-%s-00000000", dead.Process.Pid, self.host))
	os.WriteFile(orphan, []byte("half"), 0o600)
	if err := Write(filepath.Join(dir, "log.csv"), func(w io.Writer) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(orphan); err == nil {
		t.Fatal("the first write into the folder left the orphan")
	}
}

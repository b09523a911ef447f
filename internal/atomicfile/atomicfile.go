// Package atomicfile writes files so that readers see either the old
// content or the whole new content, never a part: the data goes to a
// temporary file in the same folder, is synced, and is renamed into place.
// Checkpoints, reports and arrays all use it, so an interrupted run never
// leaves a truncated file behind.
//
// Temporary files are named .<name>.tmp-<pid>-<start>-<host>-<random>: the
// owner's process id and start time, and a hash of its host name. So two
// processes writing the same file never share a temporary file (the last
// rename wins, both finish), and a temporary file whose owner is gone (a
// kill -9, a power cut) can be told from one still being written: the
// first write into a folder removes the stale ones (CleanStale). A process
// removes its own temporary files on every exit path it controls: errors
// and panics here, signals through RemoveTemps.
package atomicfile

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Write calls write with a buffered writer on a temporary file next to path
// and, if it succeeds, replaces path with it. An existing file keeps its
// permissions; new files get 0644.
func Write(path string, write func(io.Writer) error) error {
	return WritePath(path, func(tmp string) error {
		f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_TRUNC, 0)
		if err != nil {
			return err
		}
		defer f.Close() // on a panic in write; a second Close is harmless
		bw := bufio.NewWriterSize(f, 1<<20)
		if err := write(bw); err != nil {
			return fmt.Errorf("write %s: %w", tmp, err)
		}
		if err := bw.Flush(); err != nil {
			return fmt.Errorf("write %s: %w", tmp, err)
		}
		return f.Close()
	})
}

// WritePath is Write for writers that take a file name (native code): write
// fills the (already created, empty) temporary file named tmp, which is
// then synced and renamed over path. On any failure, and on a panic, the
// temporary file is removed.
func WritePath(path string, write func(tmp string) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	cleanOnce(dir)
	mode := os.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	tmp, err := create(dir, base)
	if err != nil {
		return err
	}
	committed := false
	defer func() {
		// Not only on err: a panic in write leaves err nil here.
		if !committed {
			os.Remove(tmp)
		}
		forget(tmp)
	}()
	if err = write(tmp); err != nil {
		return err
	}
	f, err := os.OpenFile(tmp, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if err = f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if err = f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	committed = true
	// Persist the rename itself; some systems cannot sync a directory,
	// which leaves the data safe but the name possibly not, so ignore it.
	if d, derr := os.Open(dir); derr == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// ---------------------------------------------------------------- names

// tmpName matches the temporary files of this package: base, pid, start
// time, host hash, random part.
var tmpName = regexp.MustCompile(`^\.(.+)\.tmp-([0-9]+)-([0-9]+)-([0-9a-f]{8})-([0-9a-f]{8})$`)

// legacyName matches os.CreateTemp's names, which dadash used before the
// owner was part of the name.
var legacyName = regexp.MustCompile(`^\.(.+)\.tmp[0-9]+$`)

// LegacyAge is how long a temporary file without an owner in its name
// (written by an older dadash) must have been untouched to count as stale:
// a live writer keeps its file's modification time fresh.
const LegacyAge = time.Hour

var self = struct {
	pid   int
	start uint64 // process start time in clock ticks since boot; 0 if unknown
	host  string // 8 hex digits
}{pid: os.Getpid(), start: procStart(os.Getpid()), host: hostHash()}

func hostHash() string {
	h := fnv.New32a()
	name, _ := os.Hostname()
	h.Write([]byte(name))
	return fmt.Sprintf("%08x", h.Sum32())
}

// procStart is the start time of process pid (Linux); 0 when unknown.
func procStart(pid int) uint64 {
	start, _ := procStat(pid)
	return start
}

// procStat reads the state (field 3) and start time (field 22) of
// /proc/pid/stat; state is 0 when there is no such process.
func procStat(pid int) (start uint64, state byte) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0
	}
	// The command name (field 2) may hold spaces and parentheses; the
	// fields after the last ')' are plain.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 || f[0] == "" {
		return 0, 0
	}
	start, _ = strconv.ParseUint(f[19], 10, 64) // field 22 is the 20th after the name
	return start, f[0][0]
}

// create makes a new empty temporary file for base in dir, registered as
// this process's until forget.
func create(dir, base string) (string, error) {
	for try := 0; ; try++ {
		var r [4]byte
		rand.Read(r[:])
		name := filepath.Join(dir, fmt.Sprintf(".%s.tmp-%d-%d-%s-%s", base, self.pid, self.start, self.host, hex.EncodeToString(r[:])))
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			f.Close()
			remember(name)
			return name, nil
		}
		if !errors.Is(err, fs.ErrExist) || try == 100 {
			return "", err
		}
	}
}

// ---------------------------------------------------------------- own files

var (
	liveMu sync.Mutex
	live   = map[string]bool{} // this process's temporary files
)

func remember(name string) {
	liveMu.Lock()
	live[name] = true
	liveMu.Unlock()
}

func forget(name string) {
	liveMu.Lock()
	delete(live, name)
	liveMu.Unlock()
}

func isLive(name string) bool {
	liveMu.Lock()
	defer liveMu.Unlock()
	return live[name]
}

// RemoveTemps deletes the temporary files this process is writing now. A
// signal handler calls it just before the process exits, when no deferred
// cleanup will run; a write still in progress then fails, which is fine
// since the process is about to end.
func RemoveTemps() {
	liveMu.Lock()
	defer liveMu.Unlock()
	for name := range live {
		os.Remove(name)
		delete(live, name)
	}
}

// ---------------------------------------------------------------- stale files

var cleaned sync.Map // absolute folder -> true, once CleanStale ran there

// cleanOnce runs CleanStale the first time this process writes into dir.
func cleanOnce(dir string) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return
	}
	if _, done := cleaned.LoadOrStore(abs, true); !done {
		CleanStale(abs)
	}
}

// CleanStale removes the temporary files in dir whose writer is gone: a
// process of this host that no longer runs (or whose pid now belongs to
// another process), and files in the old nameless format untouched for
// LegacyAge. Files of other hosts and of live processes stay. It returns
// the names it removed.
func CleanStale(dir string) []string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var removed []string
	for _, e := range ents {
		name := e.Name()
		if !strings.HasPrefix(name, ".") || !strings.Contains(name, ".tmp") || e.IsDir() {
			continue
		}
		full := filepath.Join(dir, name)
		if !stale(full, name, e) {
			continue
		}
		if err := os.Remove(full); err == nil {
			removed = append(removed, name)
		}
	}
	return removed
}

func stale(full, name string, e fs.DirEntry) bool {
	if m := tmpName.FindStringSubmatch(name); m != nil {
		pid, err1 := strconv.Atoi(m[2])
		start, err2 := strconv.ParseUint(m[3], 10, 64)
		if err1 != nil || err2 != nil || m[4] != self.host {
			return false
		}
		if pid == self.pid && start == self.start {
			return !isLive(full) // ours, but no write of ours has it open
		}
		return !alive(pid, start)
	}
	if legacyName.MatchString(name) {
		info, err := e.Info()
		return err == nil && time.Since(info.ModTime()) > LegacyAge
	}
	return false
}

// alive reports whether process pid runs and is the one that started at
// start (when start times are known: pids are reused).
func alive(pid int, start uint64) bool {
	if pid <= 0 {
		return false
	}
	if _, err := os.Stat("/proc/self/stat"); err == nil {
		now, state := procStat(pid)
		switch state {
		case 0, 'Z', 'X': // gone, or dead and not yet reaped
			return false
		}
		return start == 0 || now == start
	}
	// No /proc: signal 0 checks existence; EPERM means it exists but
	// belongs to another user.
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

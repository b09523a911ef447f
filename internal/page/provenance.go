package page

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/dadash/dadash/lang"
)

// Provenance says what wrote a page or a run, so that a result can be
// traced back: the program and library versions, the command line, the
// commit of the working directory, the host and the times.
type Provenance struct {
	Dadash   string    `json:"dadash"`             // dadash's version
	Build    string    `json:"build,omitempty"`    // the VCS revision dadash was built from
	Versions []string  `json:"versions,omitempty"` // "libtorch: 1.13.0", "faiss: 1.7.3", ...
	Command  []string  `json:"command"`            // the command line
	Dir      string    `json:"dir,omitempty"`      // the working directory
	Commit   string    `json:"commit,omitempty"`   // its git commit ("" outside a git tree)
	Host     string    `json:"host,omitempty"`
	Started  time.Time `json:"started"`
	Ended    time.Time `json:"ended"`             // the last update while Running
	Running  bool      `json:"running,omitempty"` // not finished (yet, or ever: interrupted)
}

// ProcessStart is when this process started (as far as Go can tell: when
// the package was initialised).
var ProcessStart = time.Now()

var (
	versionMu sync.Mutex
	versionFn = func() string {
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			return bi.Main.Version
		}
		return "dev"
	}
)

// SetVersion sets where dadash's version comes from (the command sets it
// to its link-time version).
func SetVersion(f func() string) {
	versionMu.Lock()
	versionFn = f
	versionMu.Unlock()
}

// Version is dadash's version.
func Version() string {
	versionMu.Lock()
	f := versionFn
	versionMu.Unlock()
	return f()
}

// Current is this process's provenance: started at ProcessStart, ended now.
func Current() Provenance {
	dir, _ := os.Getwd()
	host, _ := os.Hostname()
	return Provenance{
		Dadash:   Version(),
		Build:    buildRevision(),
		Versions: lang.Versions(),
		Command:  append([]string(nil), os.Args...),
		Dir:      dir,
		Commit:   gitCommit(dir),
		Host:     host,
		Started:  ProcessStart,
		Ended:    time.Now(),
	}
}

// buildRevision is the commit dadash was built from, "+changes" when the
// tree had uncommitted changes; "" when the build recorded none.
func buildRevision() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev != "" && modified == "true" {
		rev += " + uncommitted changes"
	}
	return rev
}

var commits sync.Map // dir -> string

// gitCommit is the commit checked out in dir (with a note when the tracked
// files differ from it), or "" when dir is not in a git tree or git is
// missing. Asked once per folder and process.
func gitCommit(dir string) string {
	if dir == "" {
		return ""
	}
	if c, ok := commits.Load(dir); ok {
		return c.(string)
	}
	git := func(args ...string) (string, bool) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
		var out bytes.Buffer
		cmd.Stdout = &out
		if cmd.Run() != nil {
			return "", false
		}
		return strings.TrimSpace(out.String()), true
	}
	c := ""
	if rev, ok := git("rev-parse", "--short=12", "HEAD"); ok && rev != "" {
		c = rev
		if st, ok := git("status", "--porcelain", "--untracked-files=no"); ok && st != "" {
			c += " + uncommitted changes"
		}
	}
	commits.Store(dir, c)
	return c
}

// Duration is Ended - Started, rounded to the second; 0 when either is unknown.
func (p Provenance) Duration() time.Duration {
	if p.Started.IsZero() || p.Ended.IsZero() {
		return 0
	}
	return p.Ended.Sub(p.Started).Round(time.Second)
}

// Rows are the provenance as (name, value) pairs for display.
func (p Provenance) Rows() [][2]string {
	var out [][2]string
	add := func(k, v string) {
		if v != "" {
			out = append(out, [2]string{k, v})
		}
	}
	dadash := p.Dadash
	if p.Build != "" {
		dadash += " (built from " + p.Build + ")"
	}
	add("dadash", dadash)
	for _, v := range p.Versions {
		name, ver, ok := strings.Cut(v, ": ")
		if ok {
			add(name, ver)
		}
	}
	add("command", ShellJoin(p.Command))
	add("folder", p.Dir)
	add("commit", p.Commit)
	add("host", p.Host)
	add("started", stamp(p.Started))
	if p.Running {
		add("ended", "not yet (last update "+stamp(p.Ended)+")")
	} else {
		add("ended", stamp(p.Ended))
	}
	if d := p.Duration(); d > 0 {
		add("duration", FormatDuration(d))
	}
	return out
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format("2006-01-02 15:04:05 MST")
}

// FormatDuration writes a duration as a person would: 42 s, 3 min 05 s, 2 h 07 min.
func FormatDuration(d time.Duration) string {
	s := int(d.Round(time.Second) / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%d s", s)
	case s < 3600:
		return fmt.Sprintf("%d min %02d s", s/60, s%60)
	}
	return fmt.Sprintf("%d h %02d min", s/3600, (s%3600)/60)
}

// ShellJoin quotes a command line so it can be pasted into a shell.
func ShellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a != "" && strings.IndexFunc(a, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,@+%", r))
		}) < 0 {
			q[i] = a
			continue
		}
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

// WriteProvenance writes the provenance as a folded block.
func WriteProvenance(w io.Writer, p Provenance) error {
	var b bytes.Buffer
	b.WriteString("<details class=\"provenance\" id=\"provenance\"><summary>Provenance</summary><table class=\"config\">\n")
	for _, kv := range p.Rows() {
		fmt.Fprintf(&b, "<tr><td class=\"k\">%s</td><td class=\"v\">%s</td></tr>\n", Escape(kv[0]), Escape(kv[1]))
	}
	b.WriteString("</table></details>\n")
	_, err := w.Write(b.Bytes())
	return err
}

package sandbox

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.starlark.net/starlark"
)

// tree makes root/{data,runs} and outside/, with links from inside the
// roots to outside. It returns the real (link-free) paths.
func tree(t *testing.T) (data, runs, outside string) {
	base, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data, runs, outside = filepath.Join(base, "data"), filepath.Join(base, "runs"), filepath.Join(base, "outside")
	for _, d := range []string{data, runs, outside, filepath.Join(outside, "sub")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o600)
	os.WriteFile(filepath.Join(data, "ok.txt"), []byte("ok"), 0o600)
	links := map[string]string{
		filepath.Join(data, "out"):        outside,                          // a folder link out
		filepath.Join(data, "secret"):     filepath.Join(outside, "secret"), // a file link out
		filepath.Join(runs, "dangling"):   filepath.Join(outside, "new"),    // to a file not made yet
		filepath.Join(runs, "rel"):        "../outside/sub",                 // relative link out
		filepath.Join(data, "alias"):      "ok.txt",                         // a link that stays inside
		filepath.Join(runs, "loop"):       "loop",                           // a link to itself
		filepath.Join(data, "runs_again"): runs,                             // a link between roots
	}
	for link, target := range links {
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
	}
	return data, runs, outside
}

func TestResolve(t *testing.T) {
	data, runs, outside := tree(t)
	cases := map[string]string{
		filepath.Join(data, "ok.txt"):                 filepath.Join(data, "ok.txt"),
		filepath.Join(data, "out", "secret"):          filepath.Join(outside, "secret"),
		filepath.Join(data, "secret"):                 filepath.Join(outside, "secret"),
		filepath.Join(runs, "dangling"):               filepath.Join(outside, "new"),
		filepath.Join(runs, "rel", "x"):               filepath.Join(outside, "sub", "x"),
		filepath.Join(data, "alias"):                  filepath.Join(data, "ok.txt"),
		filepath.Join(runs, "new", "deeper", "f.txt"): filepath.Join(runs, "new", "deeper", "f.txt"),
		// ".." after a link goes up from where the link leads, as the kernel does.
		data + "/out/sub/../secret":        filepath.Join(outside, "secret"),
		data + "/out/../data/ok.txt":       filepath.Join(filepath.Dir(outside), "data", "ok.txt"),
		runs + "/missing/../../outside/x":  filepath.Join(outside, "x"),
		data + "/./runs_again/./f":         filepath.Join(runs, "f"),
		data + "/ok.txt/below":             filepath.Join(data, "ok.txt", "below"),
		filepath.Join(data, "runs_again"):  runs,
		string(filepath.Separator) + "..":  string(filepath.Separator),
		filepath.Join(runs, "..", "runs"):  runs,
		filepath.Join(data, "out") + "/..": filepath.Dir(outside),
	}
	for in, want := range cases {
		got, err := Resolve(in)
		if err != nil || got != want {
			t.Errorf("Resolve(%s) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := Resolve(filepath.Join(runs, "loop")); err == nil {
		t.Error("a link loop resolved")
	}
	// Relative paths start at the working folder.
	wd, _ := os.Getwd()
	defer os.Chdir(wd)
	os.Chdir(data)
	if got, _ := Resolve("out/secret"); got != filepath.Join(outside, "secret") {
		t.Errorf("relative: %s", got)
	}
	if got, _ := Resolve("../runs/x"); got != filepath.Join(runs, "x") {
		t.Errorf("relative with ..: %s", got)
	}
}

func TestPolicy(t *testing.T) {
	data, runs, outside := tree(t)
	p, err := New([]string{data}, []string{filepath.Join(runs, "run1")}) // run1 does not exist yet
	if err != nil {
		t.Fatal(err)
	}
	reads := map[string]bool{
		filepath.Join(data, "ok.txt"):             true,
		filepath.Join(data, "alias"):              true,
		filepath.Join(data, "out", "secret"):      false,
		filepath.Join(data, "secret"):             false,
		filepath.Join(data, "runs_again", "run1"): true, // leads into the write root
		filepath.Join(runs, "run1", "log.csv"):    true,
		filepath.Join(runs, "other"):              false,
		"/etc/passwd":                             false,
		data + "/../outside/secret":               false,
	}
	for path, ok := range reads {
		err := p.CheckRead("os.read_text", path)
		if ok != (err == nil) {
			t.Errorf("read %s: %v", path, err)
		}
	}
	writes := map[string]bool{
		filepath.Join(runs, "run1"):                 true,
		filepath.Join(runs, "run1", "a", "b.ckpt"):  true,
		filepath.Join(data, "ok.txt"):               false, // readable, not writable
		filepath.Join(runs, "dangling"):             false,
		filepath.Join(runs, "rel", "x"):             false,
		filepath.Join(runs, "run1", "..", "x"):      false,
		filepath.Join(os.Getenv("HOME"), ".bashrc"): false,
	}
	for path, ok := range writes {
		err := p.CheckWrite("os.write_text", path)
		if ok != (err == nil) {
			t.Errorf("write %s: %v", path, err)
		}
	}
	err = p.CheckWrite("os.write_text", filepath.Join(data, "secret"))
	var se *Error
	if !errors.As(err, &se) {
		t.Fatalf("err = %v", err)
	}
	msg := err.Error()
	for _, want := range []string{"os.write_text", filepath.Join(data, "secret"), filepath.Join(outside, "secret"), "--allow-write", filepath.Join(runs, "run1")} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	if _, err := New([]string{""}, nil); err == nil {
		t.Error("an empty root was accepted")
	}
}

func TestThread(t *testing.T) {
	th := &starlark.Thread{}
	if Read(th, "f", "/etc/passwd") != nil || Write(th, "f", "/x") != nil || Env(th, "os.getenv") != nil {
		t.Fatal("a thread without a policy was restricted")
	}
	p, _ := New([]string{t.TempDir()}, nil)
	Set(th, p)
	if Read(th, "f", "/etc/passwd") == nil || Write(th, "f", "/tmp/x") == nil {
		t.Fatal("the policy was not applied")
	}
	if err := Env(th, "os.getenv"); err == nil || !strings.Contains(err.Error(), "--set") {
		t.Fatalf("Env: %v", err)
	}
}

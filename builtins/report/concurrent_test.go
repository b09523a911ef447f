package report

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
)

// TestReportWriterChild appends to a report until it has n blocks; run by
// TestTwoProcessesOneReport.
func TestReportWriterChild(t *testing.T) {
	path := os.Getenv("REPORT_CHILD_PATH")
	if path == "" {
		t.Skip("run by TestTwoProcessesOneReport")
	}
	n, _ := strconv.Atoi(os.Getenv("REPORT_CHILD_N"))
	r, err := Open(path, "child")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if err := r.Text("child block " + strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestTwoProcessesOneReport: another process and goroutines of this one
// open and append to the same page at once. Before temporary files named
// their owner, an Open deleted the other process's temporary file and its
// next rename failed; now every writer finishes and the page on disk is
// always one writer's whole page.
func TestTwoProcessesOneReport(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "report.html")
	cmd := exec.Command(os.Args[0], "-test.run=^TestReportWriterChild$")
	cmd.Env = append(os.Environ(), "REPORT_CHILD_PATH="+path, "REPORT_CHILD_N=150")
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 2; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for round := 0; round < 15; round++ {
				// Each round opens the page again, as a new run would.
				r, err := Open(path, "parent")
				if err != nil {
					t.Error(err)
					return
				}
				for i := 0; i < 10; i++ {
					if err := r.Text("parent block"); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}(g)
	}
	wg.Wait()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the other process failed: %v\n%s", err, out.String())
	}
	checkFile(t, path)
	if m, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(m) != 0 {
		t.Errorf("temporary files left: %v", m)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b = append(s.b, p...)
	return len(p), nil
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.b)
}

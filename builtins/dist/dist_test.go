package dist

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dadash/dadash/interp/startest"
)

// The collectives need several processes: TestCollectives runs this test
// binary again, once per rank, with the environment `dadash run
// --nproc_per_node` gives; each child runs a .star file (TestWorker).

const workerEnv = "DADASH_DIST_TEST_SCRIPT"

func TestWorker(t *testing.T) {
	script := os.Getenv(workerEnv)
	if script == "" {
		t.Skip("run by TestCollectives as one process of a group")
	}
	startest.RunFile(t, script)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// runGroup runs script in n processes and returns each one's output and error.
func runGroup(t *testing.T, script string, n int) ([]string, []error) {
	t.Helper()
	port := freePort(t)
	outs := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for r := 0; r < n; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(os.Args[0], "-test.run=^TestWorker$", "-test.v")
			cmd.Env = append(os.Environ(), workerEnv+"="+script, "MASTER_ADDR=127.0.0.1", fmt.Sprintf("MASTER_PORT=%d", port),
				fmt.Sprintf("RANK=%d", r), fmt.Sprintf("WORLD_SIZE=%d", n), fmt.Sprintf("LOCAL_RANK=%d", r), "DADASH_LAUNCHED=1",
				"DADASH_NUM_THREADS=1")
			var buf bytes.Buffer
			cmd.Stdout, cmd.Stderr = &buf, &buf
			done := make(chan error, 1)
			if err := cmd.Start(); err != nil {
				errs[r] = err
				return
			}
			go func() { done <- cmd.Wait() }()
			select {
			case errs[r] = <-done:
			case <-time.After(3 * time.Minute):
				_ = cmd.Process.Kill()
				errs[r] = fmt.Errorf("rank %d still running after 3 minutes", r)
				<-done
			}
			outs[r] = buf.String()
		}()
	}
	wg.Wait()
	return outs, errs
}

func TestCollectives(t *testing.T) {
	outs, errs := runGroup(t, "testdata/api.star", 3)
	for r := range outs {
		if errs[r] != nil || !strings.Contains(outs[r], "--- PASS: TestWorker") {
			t.Errorf("rank %d: %v\n%s", r, errs[r], outs[r])
		}
	}
}

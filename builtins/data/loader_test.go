package data

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/dadash/dadash/interp"
)

// run executes a script through the dadash host.
func run(t *testing.T, ctx context.Context, src string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	h, err := interp.New(interp.Options{Stdout: &out, Stderr: &out})
	if err != nil {
		t.Fatal(err)
	}
	err = h.RunString(ctx, "test.star", src, nil)
	return out.String(), err
}

// settle waits for goroutines to drop back to n (exiting goroutines take a
// moment to be unscheduled) and reports the final count.
func settle(n int) int {
	for range 200 {
		if g := runtime.NumGoroutine(); g <= n {
			return g
		}
		time.Sleep(5 * time.Millisecond)
	}
	return runtime.NumGoroutine()
}

func synthRoot(t *testing.T, classes, per int) string {
	t.Helper()
	dir := t.TempDir()
	s := &synthetic{root: dir, classes: classes, per: per, w: 64, h: 48}
	if err := s.make("cub200"); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestLoaderBreakStopsWorkers: leaving a for loop early (Iterator.Done)
// shuts the producer and the workers down.
func TestLoaderBreakStopsWorkers(t *testing.T) {
	root := synthRoot(t, 4, 10)
	before := runtime.NumGoroutine()
	out, err := run(t, context.Background(), fmt.Sprintf(`
l = data.loader(data.cub200(%q).train, batch_size = 2, transform = data.train_transform(size = 64), workers = 4, prefetch = 3)
n = 0
for images, labels, idx in l:
    n += 1
    if n == 2:
        break
print(n, l.epoch)
for images, labels, idx in l:
    break
`, root))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if strings.TrimSpace(out) != "2 1" { // after the loop, epoch is the next one
		t.Errorf("output %q, want \"2 1\"", out)
	}
	if g := settle(before); g > before {
		t.Errorf("%d goroutines after the loops, %d before", g, before)
	}
}

// TestLoaderInterrupt: cancelling the run (Ctrl-C) stops a loop that is
// waiting for data, promptly, and leaves no goroutines behind.
func TestLoaderInterrupt(t *testing.T) {
	root := synthRoot(t, 4, 30)
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		time.Sleep(300 * time.Millisecond)
		cancel()
	}()
	start := time.Now()
	out, err := run(t, ctx, fmt.Sprintf(`
# Big crops keep the workers busy, so the loop is often waiting when the
# interrupt comes.
l = data.loader(data.cub200(%q).train, batch_size = 8, transform = data.train_transform(size = 600), workers = 1)
def forever():
    for e in range(1000000):
        for images, labels, idx in l:
            pass
forever()
print("not reached")
`, root))
	elapsed := time.Since(start)
	var ie *interp.InterruptedError
	if !errors.As(err, &ie) {
		t.Fatalf("want an interrupted error, got %v\n%s", err, out)
	}
	if strings.Contains(out, "not reached") {
		t.Error("the script went on after the interrupt")
	}
	if elapsed > 3*time.Second {
		t.Errorf("stopping took %v", elapsed)
	}
	if g := settle(before); g > before {
		t.Errorf("%d goroutines after the interrupt, %d before", g, before)
	}
}

// TestLoaderErrorEndsLoop: a corrupt image stops the for loop with an
// error naming the file (no skip_bad), and the goroutines stop.
func TestLoaderErrorEndsLoop(t *testing.T) {
	root := synthRoot(t, 2, 8)
	bad := filepath.Join(root, "cub200/images/001.Synthetic_Bird_1/Synthetic_Bird_0005_1.jpg")
	if err := os.WriteFile(bad, []byte("not an image"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()
	out, err := run(t, context.Background(), fmt.Sprintf(`
l = data.loader(data.cub200(%q).train, batch_size = 2, transform = data.train_transform(size = 32), workers = 2)
n = 0
for images, labels, idx in l:
    n += 1
print("after", n)
`, root))
	if err == nil || !strings.Contains(err.Error(), "cannot decode "+bad+": not a JPEG or PNG file") {
		t.Fatalf("want a decode error naming %s, got %v\n%s", bad, err, out)
	}
	if strings.Contains(out, "after") {
		t.Error("the script went on after the error")
	}
	var ie *interp.InterruptedError
	if errors.As(err, &ie) {
		t.Error("a decode error is not an interruption")
	}
	if g := settle(before); g > before {
		t.Errorf("%d goroutines after the error, %d before", g, before)
	}
}

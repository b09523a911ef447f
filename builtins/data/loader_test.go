package data

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
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

// corruptFolder writes an image_folder of 36 good JPEGs (4 classes of 9)
// and one truncated JPEG that sorts first in its class, and returns the
// root and the bad file.
func corruptFolder(t *testing.T) (string, string) {
	t.Helper()
	root := t.TempDir()
	s := &synthetic{root: root, classes: 4, per: 9, w: 40, h: 30}
	if err := s.make("image_folder"); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(filepath.Join(root, "class_000", "0000.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(root, "class_000", "0.jpg")
	if err := os.WriteFile(bad, good[:20], 0o644); err != nil {
		t.Fatal(err)
	}
	return root, bad
}

// TestLoaderCorruptJPEGSkipped: one corrupt JPEG among 36 good ones costs
// that one image whatever the number of workers (a decoder handle left in
// its error state once lost 36, 20, 36 and 16 of them with 0, 1, 2 and 4
// workers), and the epoch ends with a warning that counts and names it.
func TestLoaderCorruptJPEGSkipped(t *testing.T) {
	root, bad := corruptFolder(t)
	out, err := run(t, context.Background(), fmt.Sprintf(`
ds = data.image_folder(%q)
counts = []
for w in [0, 1, 2, 4]:
    l = data.loader(ds, batch_size = 8, transform = [data.resize((16, 16)), data.to_tensor()], workers = w, skip_bad = True, max_bad_fraction = 0.05)
    n = 0
    for images, labels, idx in l:
        n += images.shape[0]
    counts.append(n)
    st = l.stats()
    counts.append((st["skipped"], st["skipped_files"]))
print(counts)
`, root))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	one := fmt.Sprintf("(1, [%q])", bad)
	if want := fmt.Sprintf("[36, %s, 36, %s, 36, %s, 36, %s]", one, one, one, one); !strings.Contains(out, want) {
		t.Errorf("output:\n%s\nwant %s", out, want)
	}
	summary := "warning: data.loader: epoch 0 of image_folder skipped 1 of its 37 images (2.7%) that could not be loaded: " + bad + "\n"
	if n := strings.Count(out, summary); n != 4 {
		t.Errorf("%d end-of-epoch summaries %q, want 4; output:\n%s", n, summary, out)
	}
}

// TestLoaderMaxBadFraction: skipping more than max_bad_fraction of an
// epoch (1 of 37 is 2.7% > the default 1%) stops the loop with an error
// naming the files; a second bad file is counted in the message.
func TestLoaderMaxBadFraction(t *testing.T) {
	root, bad := corruptFolder(t)
	out, err := run(t, context.Background(), fmt.Sprintf(`
l = data.loader(data.image_folder(%q), batch_size = 8, transform = [data.resize((16, 16)), data.to_tensor()], workers = 2, skip_bad = True)
n = 0
for images, labels, idx in l:
    n += 1
print("after", n)
`, root))
	want := "data.loader: epoch 0 of image_folder skipped 1 of its 37 images (2.7%) that could not be loaded: " + bad +
		"; that is more than max_bad_fraction=0.01 of the epoch: fix or remove the files, or raise max_bad_fraction"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v\n%s\nwant %q", err, out, want)
	}
	if strings.Contains(out, "after") {
		t.Error("the script went on after the error")
	}
	// Two bad files of 38 with a limit of 5%: fine; 1% is not.
	bad2 := filepath.Join(root, "class_001", "0.jpg")
	if err := os.WriteFile(bad2, []byte("GIF89a"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		frac string
		ok   bool
	}{{"0.06", true}, {"0.05", false}} {
		out, err = run(t, context.Background(), fmt.Sprintf(`
l = data.loader(data.image_folder(%q), batch_size = 8, transform = [data.resize((16, 16)), data.to_tensor()], workers = 0, skip_bad = True, max_bad_fraction = %s)
n = 0
for images, labels, idx in l:
    n += images.shape[0]
print("images", n, l.stats()["skipped"])
`, root, c.frac))
		if c.ok && (err != nil || !strings.Contains(out, "images 36 2")) {
			t.Errorf("max_bad_fraction=%s: %v\n%s", c.frac, err, out)
		}
		if !c.ok && (err == nil || !strings.Contains(err.Error(), "skipped 2 of its 38 images (5.26%) that could not be loaded: "+bad+", "+bad2+";")) {
			t.Errorf("max_bad_fraction=%s: %v\n%s", c.frac, err, out)
		}
	}
}

// pngBomb is a complete PNG of 73 bytes declaring w x h RGB pixels.
func pngBomb(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		b.WriteString(typ)
		b.Write(data)
		binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	chunk("IHDR", ihdr)
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
	zw.Write([]byte{0, 0, 0, 0})
	zw.Close()
	chunk("IDAT", z.Bytes())
	chunk("IEND", nil)
	return b.Bytes()
}

// jpegBomb is a small real JPEG whose frame header declares w x h.
func jpegBomb(t *testing.T, good []byte, w, h int) []byte {
	out := append([]byte(nil), good...)
	for i := 2; i+8 < len(out); i++ {
		if out[i] == 0xFF && out[i+1] == 0xC0 {
			binary.BigEndian.PutUint16(out[i+5:], uint16(h))
			binary.BigEndian.PutUint16(out[i+7:], uint16(w))
			return out
		}
	}
	t.Fatal("no SOF0 marker")
	return nil
}

// TestLoaderImageBombs: a PNG declaring 100,000 x 100,000 pixels and a JPEG
// declaring 65,500 x 65,500 (PIL's DecompressionBombError cases) end the
// loop with an error naming the file and the size, or are skipped with
// skip_bad; data.read_image refuses them too, and max_pixels moves the
// limit. Without the check the PNG alone kills the process (Go's decoder
// allocates 40 GB up front).
func TestLoaderImageBombs(t *testing.T) {
	root := t.TempDir()
	s := &synthetic{root: root, classes: 2, per: 10, w: 40, h: 30}
	if err := s.make("image_folder"); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(filepath.Join(root, "class_000", "0000.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	pngPath := filepath.Join(root, "class_000", "0.png")
	jpgPath := filepath.Join(root, "class_001", "0.jpg")
	if err := os.WriteFile(pngPath, pngBomb(100000, 100000), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(jpgPath, jpegBomb(t, good, 65500, 65500), 0o644); err != nil {
		t.Fatal(err)
	}
	loop := `
l = data.loader(data.image_folder(%q), batch_size = 4, transform = [data.resize((16, 16)), data.to_tensor()], workers = 2%s)
n = 0
for images, labels, idx in l:
    n += images.shape[0]
print("images", n)
`
	out, err := run(t, context.Background(), fmt.Sprintf(loop, root, ""))
	want := "data: cannot decode " + pngPath + ": the image declares 100000 x 100000 = 10,000,000,000 pixels, over the limit of 89,478,485 (a decompression bomb, or an image far larger than a dataset needs); if the file is trusted, raise the limit with max_pixels="
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v\n%s\nwant %q", err, out, want)
	}
	out, err = run(t, context.Background(), fmt.Sprintf(loop, root, ", skip_bad = True, max_bad_fraction = 0.1"))
	if err != nil || !strings.Contains(out, "images 20") || !strings.Contains(out, "65500 x 65500 = 4,290,250,000 pixels") ||
		!strings.Contains(out, "skipped 2 of its 22 images (9.09%) that could not be loaded: "+pngPath+", "+jpgPath+"\n") {
		t.Errorf("skip_bad: %v\n%s", err, out)
	}
	g := filepath.Join(root, "class_000", "0000.jpg")
	out, err = run(t, context.Background(), fmt.Sprintf(`print(data.read_image(%q).shape, data.read_image(%q, max_pixels = None).shape, data.read_image(%q, max_pixels = 1200).shape)`, g, g, g))
	if err != nil || !strings.Contains(out, "(3, 30, 40) (3, 30, 40) (3, 30, 40)") {
		t.Errorf("read_image: %v\n%s", err, out)
	}
	for _, c := range []struct{ call, want string }{
		{fmt.Sprintf("data.read_image(%q)", pngPath), "cannot decode " + pngPath + ": the image declares 100000 x 100000"},
		{fmt.Sprintf("data.read_image(%q)", jpgPath), "cannot decode " + jpgPath + ": the image declares 65500 x 65500"},
		{fmt.Sprintf("data.read_image(%q, max_pixels = 1199)", g), "cannot decode " + g + ": the image declares 40 x 30 = 1,200 pixels, over the limit of 1,199"},
		{fmt.Sprintf("data.read_image(%q, max_pixels = -5)", g), "max_pixels must be a positive int"},
	} {
		out, err := run(t, context.Background(), c.call)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v\n%s\nwant %q", c.call, err, out, c.want)
		}
	}
}

package imgproc

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/jpeg"
	"strings"
	"sync"
	"testing"
)

// testJPEG encodes a 64 x 48 pattern with Go's encoder.
func testJPEG(t *testing.T) []byte {
	t.Helper()
	m := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for i := range m.Pix {
		m.Pix[i] = uint8(i*7 + i/256)
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, m, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// withSize rewrites the frame header (SOF0) of a JPEG to declare w x h.
func withSize(t *testing.T, data []byte, w, h int) []byte {
	t.Helper()
	out := append([]byte(nil), data...)
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

// pngBomb is a complete PNG of a few dozen bytes declaring w x h RGB
// pixels (its one compressed row is all the data there is).
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

// TestDecompressionBombs: files declaring billions of pixels are refused
// from their headers, with the size and the limit in the message, before
// any pixel buffer exists (without the check, Go's PNG decoder asks for
// 40 GB and the process dies).
func TestDecompressionBombs(t *testing.T) {
	bombs := map[string][]byte{
		"png":  pngBomb(100000, 100000),
		"jpeg": withSize(t, testJPEG(t), 65500, 65500),
	}
	want := map[string]string{
		"png":  "the image declares 100000 x 100000 = 10,000,000,000 pixels, over the limit of 89,478,485",
		"jpeg": "the image declares 65500 x 65500 = 4,290,250,000 pixels, over the limit of 89,478,485",
	}
	for name, data := range bombs {
		t.Logf("%s bomb: %d bytes", name, len(data))
		w, h, err := Size(data)
		if err != nil || int64(w)*int64(h) < 4e9 {
			t.Errorf("%s: Size = %d, %d, %v", name, w, h, err)
		}
		for _, reuse := range []bool{false, true} {
			m, err := Decode(data, Options{Reuse: reuse})
			var big *TooLargeError
			if !errors.As(err, &big) || !strings.Contains(err.Error(), want[name]) {
				t.Errorf("%s: got %v, %v; want %q", name, m, err, want[name])
			}
		}
	}
	// The limit is the option's: 64 x 48 = 3,072 pixels.
	good := testJPEG(t)
	if _, err := Decode(good, Options{MaxPixels: 3071}); err == nil || !strings.Contains(err.Error(), "over the limit of 3,071") {
		t.Errorf("3,072 pixels with a limit of 3,071: %v", err)
	}
	if _, err := Decode(good, Options{MaxPixels: 3072}); err != nil {
		t.Errorf("3,072 pixels with a limit of 3,072: %v", err)
	}
	if _, err := Decode(good, Options{MaxPixels: -1}); err != nil {
		t.Errorf("no limit: %v", err)
	}
	if err := CheckSize(1<<20, 1<<20, -1); err != nil {
		t.Errorf("no limit: %v", err)
	}
	// A header declaring no pixels is an error, not an index panic.
	if _, err := Decode(withSize(t, good, 64, 0), Options{}); err == nil {
		t.Error("a JPEG of height 0 decoded")
	}
}

// TestCorruptJPEGDoesNotPoison: after a file fails in libjpeg, the next
// decodes (on whatever handle the pool gives) are right. A handle returned
// to the pool in its error state made every later decode on it fail with
// "Bogus DQT index" or "Bogus marker length".
func TestCorruptJPEGDoesNotPoison(t *testing.T) {
	good := testJPEG(t)
	ref, err := Decode(good, Options{})
	if err != nil {
		t.Fatal(err)
	}
	dqt := append([]byte(nil), good...)
	for i := 2; i+3 < len(dqt); i++ {
		if dqt[i] == 0xFF && dqt[i+1] == 0xDB {
			dqt[i+2], dqt[i+3] = 0xFF, 0xFF
			break
		}
	}
	bad := map[string][]byte{"cut at 20 bytes": good[:20], "cut at 100 bytes": good[:100], "cut at 300 bytes": good[:300], "bad DQT length": dqt}
	check := func(what string) {
		t.Helper()
		got, err := Decode(good, Options{Reuse: true})
		if err != nil {
			t.Fatalf("after %s: %v", what, err)
		}
		if n, worst := diff(got, ref); n != 0 {
			t.Fatalf("after %s: %s", what, describe(n, worst, got, ref))
		}
		Recycle(got)
		if w, h, err := Size(good); err != nil || w != 64 || h != 48 {
			t.Fatalf("after %s: Size = %d, %d, %v", what, w, h, err)
		}
	}
	for name, data := range bad {
		if _, err := Decode(data, Options{}); err == nil {
			t.Errorf("%s: decoded", name)
		}
		check(name)
		if _, _, err := Size(data); err == nil && name == "cut at 20 bytes" {
			t.Errorf("%s: Size read a header", name)
		}
		check(name + " (Size)")
	}
	// The same with goroutines sharing the pool.
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 40 {
				if (i+g)%5 == 0 {
					Decode(good[:20+i], Options{})
					continue
				}
				got, err := Decode(good, Options{})
				if err == nil {
					if n, _ := diff(got, ref); n != 0 {
						err = errors.New("wrong pixels")
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

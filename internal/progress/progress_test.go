package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// clock is a fake time source.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }
func newBar(w *bytes.Buffer, total int, tty bool) (*Bar, *clock) {
	c := &clock{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	b := New(w, total, "epoch 1/3")
	b.now = c.now
	b.start, b.last, b.rateAt = c.t, c.t, c.t
	b.SetTerminal(tty)
	return b, c
}

// TestLogLines: not a terminal, one line per tenth and the final one.
func TestLogLines(t *testing.T) {
	var out bytes.Buffer
	b, c := newBar(&out, 1000, false)
	b.SetUnit("img")
	for i := 0; i < 1000; i++ {
		c.advance(10 * time.Millisecond) // 100 img/s
		b.Add(1)
		if i == 500 {
			b.SetInfo("loss 0.412")
		}
	}
	b.Done()
	b.Done() // idempotent
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 10 {
		t.Fatalf("%d lines, want 10 (9 tenths and the end):\n%s", len(lines), out.String())
	}
	if want := "epoch 1/3: 100/1000 (10%)  100 img/s  ETA 9s"; lines[0] != want {
		t.Errorf("first line %q, want %q", lines[0], want)
	}
	if want := "epoch 1/3: 1000/1000 (100%)  loss 0.412  100 img/s  in 10s"; lines[9] != want {
		t.Errorf("last line %q, want %q", lines[9], want)
	}
	if strings.Contains(out.String(), "\r") {
		t.Error("carriage returns in a log")
	}
}

// TestLogSlowWork: when a tenth takes longer than 30 s, a line every 30 s.
func TestLogSlowWork(t *testing.T) {
	var out bytes.Buffer
	b, c := newBar(&out, 10, false)
	for i := 0; i < 20; i++ {
		c.advance(10 * time.Second)
		if i%10 == 9 {
			b.Add(1)
		} else {
			b.Add(0)
		}
	}
	if n := strings.Count(out.String(), "\n"); n != 2+6 {
		t.Errorf("%d lines in 200 s with 2 items done, want 8 (2 tenths, 6 half-minutes):\n%s", n, out.String())
	}
}

// TestUnknownTotal: counts without percentages.
func TestUnknownTotal(t *testing.T) {
	var out bytes.Buffer
	b, c := newBar(&out, 0, false)
	c.advance(31 * time.Second)
	b.Add(5)
	b.Done()
	if got := out.String(); !strings.Contains(got, "epoch 1/3: 5 it") || strings.Contains(got, "%") {
		t.Errorf("output %q", got)
	}
}

// TestTerminal: redrawn in place at most every 100 ms, one line at the end.
func TestTerminal(t *testing.T) {
	var out bytes.Buffer
	b, c := newBar(&out, 333, true)
	for i := 0; i < 333; i++ {
		c.advance(5 * time.Millisecond)
		b.Add(1)
	}
	b.Done()
	s := out.String()
	draws := strings.Count(s, "\r")
	if draws < 15 || draws > 20 {
		t.Errorf("%d redraws for 1.7 s of work, want about 17", draws)
	}
	last := s[strings.LastIndex(s, "\r")+1:]
	if !strings.HasPrefix(last, "epoch 1/3 ████████████████████ 333/333 (100%)  200 it/s  in 2s\x1b[K\n") {
		t.Errorf("final line %q", last)
	}
	if strings.Count(s, "\n") != 1 {
		t.Error("more than one line on a terminal")
	}
}

func TestFormats(t *testing.T) {
	for v, want := range map[float64]string{1840.4: "1,840 img/s", 12.54: "12.5 img/s", 0.4: "2.5 s/img", 1234567: "1,234,567 img/s"} {
		if got := Rate(v, "img"); got != want {
			t.Errorf("Rate(%v) = %q, want %q", v, got, want)
		}
	}
	for d, want := range map[time.Duration]string{4 * time.Second: "4s", 62 * time.Second: "1m02s", 3900 * time.Second: "1h05m"} {
		if got := Duration(d); got != want {
			t.Errorf("Duration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestScale(t *testing.T) {
	var buf bytes.Buffer
	b := New(&buf, 10, "epoch")
	clock := b.start
	b.now = func() time.Time { return clock }
	b.SetUnit("img")
	b.SetScale(90)
	clock = clock.Add(time.Second)
	b.Add(10)
	b.Done()
	if !strings.Contains(buf.String(), "900 img/s") {
		t.Errorf("scaled rate: %q", buf.String())
	}
}

// Package progress shows the progress of long operations (epochs,
// evaluation, t-SNE, data indexing). On a terminal it draws a bar with the
// count, rate and ETA, redrawn in place; when the output is a file or a
// pipe (CI logs) it prints a plain line at every tenth of the work, or every
// 30 seconds when that is slower, so logs stay short:
//
//	epoch 3/3 ████████████░░░░ 250/333  75%  loss 0.412  1,840 img/s  ETA 0s     (terminal)
//	epoch 3/3: 250/333 (75%)  loss 0.412  1,840 img/s  ETA 0s                     (log)
//
// A Bar is safe for concurrent use.
package progress

import (
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"sync"
	"time"
)

// Bar is one progress display.
type Bar struct {
	mu    sync.Mutex
	w     io.Writer
	total int // <= 0: unknown
	label string
	unit  string
	info  string
	scale float64 // units per item for the rate (e.g. images per batch); 0 means 1
	tty   bool
	width int

	n        int
	start    time.Time
	last     time.Time // last redraw (terminal) or line (log)
	lastN    int
	rate     float64 // smoothed items per second
	rateAt   time.Time
	rateN    int
	nextFrac int // log mode: the next tenth to report
	done     bool
	drawn    bool

	now func() time.Time // tests replace the clock
}

// Redraw and log intervals.
const (
	redrawEvery = 100 * time.Millisecond
	logEvery    = 30 * time.Second
)

// New starts a bar for total items (total <= 0: unknown) written to w.
// Whether w is a terminal decides the style; TERM=dumb counts as not one.
func New(w io.Writer, total int, label string) *Bar {
	b := &Bar{w: w, total: total, label: label, unit: "it", now: time.Now, width: 80}
	if f, ok := w.(*os.File); ok && os.Getenv("TERM") != "dumb" {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			b.tty = true
		}
	}
	if c := os.Getenv("COLUMNS"); c != "" {
		fmt.Sscan(c, &b.width)
	}
	b.start = b.now()
	b.rateAt, b.last = b.start, b.start
	b.nextFrac = 1
	return b
}

// SetTerminal overrides the terminal detection (for tests, or to force a style).
func (b *Bar) SetTerminal(tty bool) {
	b.mu.Lock()
	b.tty = tty
	b.mu.Unlock()
}

// SetUnit names the items for the rate ("img" gives "1,840 img/s").
func (b *Bar) SetUnit(unit string) {
	b.mu.Lock()
	b.unit = unit
	b.mu.Unlock()
}

// SetScale makes the rate count scale units per item: a bar over batches
// with SetUnit("img") and SetScale(90) shows images per second.
func (b *Bar) SetScale(scale float64) {
	b.mu.Lock()
	b.scale = scale
	b.mu.Unlock()
}

// SetInfo sets a short text shown after the count, e.g. "loss 0.412".
func (b *Bar) SetInfo(info string) {
	b.mu.Lock()
	b.info = info
	b.mu.Unlock()
}

// Add records n more items done and redraws when it is time.
func (b *Bar) Add(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return
	}
	b.n += n
	now := b.now()
	b.updateRate(now)
	if b.tty {
		if !b.drawn || now.Sub(b.last) >= redrawEvery || (b.total > 0 && b.n >= b.total) {
			b.draw(now)
		}
		return
	}
	due := now.Sub(b.last) >= logEvery
	if b.total > 0 && b.n*10 >= b.nextFrac*b.total {
		due = true
		b.nextFrac = b.n*10/b.total + 1
	}
	if due && b.n < b.total || due && b.total <= 0 {
		b.logLine(now)
	}
}

// Done finishes the bar: the final state on its own line. It can be called
// more than once (e.g. deferred and on success).
func (b *Bar) Done() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return
	}
	b.done = true
	now := b.now()
	if b.tty {
		b.draw(now)
		fmt.Fprintln(b.w)
		return
	}
	b.logLine(now)
}

// updateRate smooths the rate over windows of at least half a second, as
// tqdm does, so that one slow batch does not swing the ETA.
func (b *Bar) updateRate(now time.Time) {
	dt := now.Sub(b.rateAt).Seconds()
	if dt < 0.5 {
		return
	}
	r := float64(b.n-b.rateN) / dt
	if b.rate == 0 {
		b.rate = r
	} else {
		b.rate = 0.3*r + 0.7*b.rate
	}
	b.rateAt, b.rateN = now, b.n
}

// currentRate is the smoothed rate, or the average so far before the
// first window closes.
func (b *Bar) currentRate(now time.Time) float64 {
	if b.rate > 0 {
		return b.rate
	}
	if el := now.Sub(b.start).Seconds(); el > 0 {
		return float64(b.n) / el
	}
	return 0
}

func (b *Bar) draw(now time.Time) {
	b.last, b.lastN, b.drawn = now, b.n, true
	line := b.label
	if line != "" {
		line += " "
	}
	if b.total > 0 {
		const cells = 20
		frac := math.Min(float64(b.n)/float64(b.total), 1)
		full := int(frac * cells)
		line += strings.Repeat("█", full) + strings.Repeat("░", cells-full) + " "
	}
	line += b.status(now, "  ")
	// Keep to one terminal line, so that \r redraws it in place.
	if r := []rune(line); b.width > 1 && len(r) > b.width-1 {
		line = string(r[:b.width-1])
	}
	fmt.Fprintf(b.w, "\r%s\x1b[K", line)
}

func (b *Bar) logLine(now time.Time) {
	b.last, b.lastN = now, b.n
	line := b.status(now, "  ")
	if b.label != "" {
		line = b.label + ": " + line
	}
	fmt.Fprintln(b.w, line)
}

// status is "250/333 (75%)  loss 0.412  1,840 img/s  ETA 4s", or with
// "in 1m02s" instead of the ETA once done.
func (b *Bar) status(now time.Time, sep string) string {
	var parts []string
	if b.total > 0 {
		parts = append(parts, fmt.Sprintf("%d/%d (%d%%)", b.n, b.total, 100*b.n/b.total))
	} else {
		parts = append(parts, fmt.Sprintf("%d %s", b.n, b.unit))
	}
	if b.info != "" {
		parts = append(parts, b.info)
	}
	rate := b.currentRate(now)
	if b.done {
		el := now.Sub(b.start)
		if el > 0 {
			rate = float64(b.n) / el.Seconds()
		}
	}
	if rate > 0 {
		shown := rate
		if b.scale > 0 {
			shown *= b.scale
		}
		parts = append(parts, Rate(shown, b.unit))
	}
	switch {
	case b.done:
		parts = append(parts, "in "+Duration(now.Sub(b.start)))
	case b.total > 0 && rate > 0:
		left := float64(b.total-b.n) / rate
		parts = append(parts, "ETA "+Duration(time.Duration(math.Max(left, 0)*float64(time.Second))))
	}
	return strings.Join(parts, sep)
}

// Rate formats items per second: "1,840 img/s", "12.5 it/s", or "2.5 s/it"
// when items are slower than one a second.
func Rate(perSec float64, unit string) string {
	switch {
	case perSec >= 100:
		return commas(int64(math.Round(perSec))) + " " + unit + "/s"
	case perSec >= 1:
		return fmt.Sprintf("%.1f %s/s", perSec, unit)
	}
	return fmt.Sprintf("%.1f s/%s", 1/perSec, unit)
}

func commas(n int64) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// Duration formats a duration as 4s, 1m02s or 1h05m.
func Duration(d time.Duration) string {
	s := int(d.Round(time.Second) / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	}
	return fmt.Sprintf("%dh%02dm", s/3600, s%3600/60)
}

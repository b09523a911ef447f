// Package report is the `report` module of dadash scripts: one
// self-contained HTML page per run, written as the run goes. A script opens
// a report and appends headings, text, tables, charts, images, embedding
// views and configuration blocks in order; after every append the whole
// page is rewritten atomically (a temporary file, synced, renamed over the
// old one), so a crashed or interrupted run leaves a valid page with
// everything up to its last append.
//
// Each block is rendered to HTML when it is appended and kept, so a rewrite
// is a concatenation, and later changes to a value do not change the page.
package report

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dadash/dadash/internal/atomicfile"
	"github.com/dadash/dadash/internal/page"
)

// Report is an open report page.
type Report struct {
	mu      sync.Mutex
	path    string
	title   string
	lead    string
	started time.Time
	updated time.Time
	running bool
	held    bool // appends do not write the page; Flush does
	blocks  [][]byte
	toc     []heading
	anchors map[string]bool
	ids     int
}

type heading struct {
	level      int
	text, anch string
}

// Open starts a report at path (replacing any file there, creating its
// folder) and writes the empty page.
func Open(path, title string) (*Report, error) { return open(path, title, 0, false) }

// open is Open for work that had been running for elapsed when the page
// was first opened; held: see Hold.
func open(path, title string, elapsed time.Duration, held bool) (*Report, error) {
	if path == "" {
		return nil, fmt.Errorf("report: empty path")
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("report: %w", err)
		}
	}
	// Temporary files of a killed run are removed by atomicfile when this
	// process first writes into the folder; those of a live process (two
	// runs writing one page) stay, so both runs finish.
	r := &Report{path: path, title: title, started: firstOpened(path, elapsed), held: held, anchors: map[string]bool{}}
	if err := r.write(); err != nil {
		return nil, err
	}
	return r, nil
}

var (
	openedMu sync.Mutex
	opened   = map[string]time.Time{}
)

// firstOpened is when this process first opened a page at path, less
// elapsed at that time: a script that reopens its page after every epoch
// keeps the time it started.
func firstOpened(path string, elapsed time.Duration) time.Time {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	openedMu.Lock()
	defer openedMu.Unlock()
	t, ok := opened[path]
	if !ok {
		t = time.Now().Add(-elapsed)
		opened[path] = t
	}
	return t
}

// SetLead sets the line under the title (what the page is about).
func (r *Report) SetLead(lead string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lead = lead
	return r.write()
}

// SetStarted sets when the work the page reports on started (a run's
// start, which may be long before this page was opened), and whether it
// is still running: the header and the provenance say so.
func (r *Report) SetStarted(t time.Time, running bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !t.IsZero() {
		r.started = t
	}
	r.running = running
	return r.write()
}

// Path is where the page is written.
func (r *Report) Path() string { return r.path }

// Title is the page title.
func (r *Report) Title() string { return r.title }

// Len is the number of blocks appended.
func (r *Report) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.blocks)
}

// add renders a block, appends it and rewrites the page. If the page
// cannot be written the block is dropped again, so that the report in
// memory is the one on disk.
func (r *Report) add(render func(w io.Writer, id string) error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ids++
	var buf bytes.Buffer
	if err := render(&buf, "b"+strconv.Itoa(r.ids)); err != nil {
		return err
	}
	r.blocks = append(r.blocks, buf.Bytes())
	if err := r.write(); err != nil {
		r.blocks = r.blocks[:len(r.blocks)-1]
		return err
	}
	return nil
}

// Hold stops rewriting the page after every append until Flush: a page
// built in one go (a run page after each epoch) is written once, and the
// previous page stays whole until then.
func (r *Report) Hold() {
	r.mu.Lock()
	r.held = true
	r.mu.Unlock()
}

// Flush writes the page, and rewrites it after every append from then on.
func (r *Report) Flush() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.held = false
	return r.write()
}

func (r *Report) write() error {
	if r.held {
		return nil
	}
	r.updated = time.Now()
	if err := atomicfile.Write(r.path, r.render); err != nil {
		return fmt.Errorf("report: writing %s: %w", r.path, err)
	}
	return nil
}

// RenderHTML implements page.Renderer: the page as it stands.
func (r *Report) RenderHTML(w io.Writer) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.render(w)
}

func (r *Report) render(w io.Writer) error {
	p := page.Current()
	p.Started, p.Ended, p.Running = r.started, r.updated, r.running
	meta := []string{"started " + r.started.Format("2006-01-02 15:04:05")}
	if r.running {
		meta = append(meta, "in progress, updated "+r.updated.Format("15:04:05"))
	} else {
		meta = append(meta, "updated "+r.updated.Format("15:04:05"))
	}
	if d := p.Duration(); d > 0 {
		meta = append(meta, page.FormatDuration(d))
	}
	toc := make([]page.TOCEntry, len(r.toc))
	for i, h := range r.toc {
		toc[i] = page.TOCEntry{Level: h.level, Text: h.text, Anchor: h.anch}
	}
	c := page.Chrome{Title: r.title, Lead: r.lead, Meta: meta, TOC: toc, Provenance: &p,
		Footer: "Written by dadash. The page is rewritten after every item, so it is complete up to the last one above."}
	return page.WritePage(w, c, func(w io.Writer) error {
		for _, blk := range r.blocks {
			if _, err := w.Write(blk); err != nil {
				return err
			}
		}
		return nil
	})
}

// Heading appends a heading of level 2 to 4 (level 1 is the page title);
// headings are listed at the top of the page.
func (r *Report) Heading(text string, level int) error {
	if level < 1 || level > 4 {
		return fmt.Errorf("report: heading level must be 1 to 4, got %d", level)
	}
	if level == 1 {
		level = 2 // the page title is the only <h1>
	}
	r.mu.Lock()
	anch := r.anchor(text)
	r.mu.Unlock()
	err := r.add(func(w io.Writer, id string) error {
		_, err := fmt.Fprintf(w, "<h%d id=\"%s\">%s</h%d>\n", level, page.Escape(anch), page.Escape(text), level)
		return err
	})
	if err == nil && level <= 3 {
		r.mu.Lock()
		r.toc = append(r.toc, heading{level, text, anch})
		r.mu.Unlock()
	}
	return err
}

var notSlug = regexp.MustCompile(`[^a-z0-9]+`)

// anchor makes a unique id for a heading.
func (r *Report) anchor(text string) string {
	base := strings.Trim(notSlug.ReplaceAllString(strings.ToLower(text), "-"), "-")
	if base == "" {
		base = "section"
	}
	a := base
	for i := 2; r.anchors[a]; i++ {
		a = base + "-" + strconv.Itoa(i)
	}
	r.anchors[a] = true
	return a
}

// Text appends text: paragraphs separated by blank lines, "- " lists,
// **bold**, *italic*, `code`, [links](https://...) and ``` code blocks.
// Everything else is shown as written (HTML in it is escaped).
func (r *Report) Text(text string) error {
	return r.add(func(w io.Writer, id string) error {
		_, err := io.WriteString(w, markdown(text))
		return err
	})
}

// Pre appends preformatted text (logs, printed tensors).
func (r *Report) Pre(text string) error {
	return r.add(func(w io.Writer, id string) error {
		_, err := fmt.Fprintf(w, "<pre>%s</pre>\n", page.Escape(text))
		return err
	})
}

// Add appends a chart, an embedding view or another page fragment.
func (r *Report) Add(f page.Fragment) error {
	return r.add(f.WriteFragment)
}

// Image appends an image: src is a data URI or an image file, inlined as
// a data URI. width is in pixels (0: the image's own, at most the page's).
func (r *Report) Image(src, caption string, width int) error {
	uri, err := page.DataURI(src)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return r.image(uri, caption, width, false)
}

// image appends an image; pixels: an upscaled array, drawn without smoothing.
func (r *Report) image(uri, caption string, width int, pixels bool) error {
	return r.add(func(w io.Writer, id string) error {
		style := ""
		if width > 0 {
			style = fmt.Sprintf(" style=\"width:%dpx\"", width)
		}
		class := "picture"
		if pixels {
			class += " pixels"
		}
		_, err := fmt.Fprintf(w, "<figure id=\"%s\"><img class=\"%s\" alt=\"%s\" src=\"%s\"%s>", id, class, page.Escape(caption), page.Escape(uri), style)
		if err == nil && caption != "" {
			_, err = fmt.Fprintf(w, "<figcaption>%s</figcaption>", page.Escape(caption))
		}
		if err == nil {
			_, err = io.WriteString(w, "</figure>\n")
		}
		return err
	})
}

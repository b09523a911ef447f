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

	"github.com/dadash/dadash/builtins/report/page"
	"github.com/dadash/dadash/internal/atomicfile"
)

// Report is an open report page.
type Report struct {
	mu      sync.Mutex
	path    string
	title   string
	started time.Time
	updated time.Time
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
func Open(path, title string) (*Report, error) {
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
	r := &Report{path: path, title: title, started: time.Now(), anchors: map[string]bool{}}
	if err := r.write(); err != nil {
		return nil, err
	}
	return r, nil
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

func (r *Report) write() error {
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
	if err := page.WriteStart(w, r.title); err != nil {
		return err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "<header class=\"page\"><h1>%s</h1><p class=\"meta\">dadash report · started %s · updated %s · %d item%s</p>\n",
		page.Escape(r.title), r.started.Format("2006-01-02 15:04:05"), r.updated.Format("15:04:05"), len(r.blocks), plural(len(r.blocks)))
	if len(r.toc) > 1 {
		b.WriteString("<nav class=\"toc\">")
		for _, h := range r.toc {
			fmt.Fprintf(&b, "<a class=\"l%d\" href=\"#%s\">%s</a>", h.level, page.Escape(h.anch), page.Escape(h.text))
		}
		b.WriteString("</nav>\n")
	}
	b.WriteString("</header>\n<main>\n")
	if _, err := w.Write(b.Bytes()); err != nil {
		return err
	}
	for _, blk := range r.blocks {
		if _, err := w.Write(blk); err != nil {
			return err
		}
	}
	if _, err := io.WriteString(w, "</main>\n<footer class=\"page\">Written by dadash. The page is rewritten after every item, so it is complete up to the last one above.</footer>\n"); err != nil {
		return err
	}
	return page.WriteEnd(w)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
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

// KV is one setting of a configuration block.
type KV struct{ Key, Value string }

// Config appends a configuration block: settings in the order given,
// under a collapsible title.
func (r *Report) Config(title string, settings []KV) error {
	if title == "" {
		title = "Configuration"
	}
	return r.add(func(w io.Writer, id string) error {
		var b bytes.Buffer
		fmt.Fprintf(&b, "<details class=\"config\" id=\"%s\" open><summary>%s</summary><table class=\"config\">\n", id, page.Escape(title))
		for _, kv := range settings {
			fmt.Fprintf(&b, "<tr><td class=\"k\">%s</td><td class=\"v\">%s</td></tr>\n", page.Escape(kv.Key), page.Escape(kv.Value))
		}
		b.WriteString("</table></details>\n")
		_, err := w.Write(b.Bytes())
		return err
	})
}

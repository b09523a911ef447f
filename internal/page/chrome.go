package page

import (
	"bytes"
	"fmt"
	"io"
	"strings"
)

// Chrome is what every dadash page shows around its content, the same on
// run pages, comparison pages and the REPL's pages: the title, a line of
// what the page is about, a muted line of facts, the table of contents,
// the provenance (folded, at the end) and the footer.
type Chrome struct {
	Title      string
	Lead       string   // one line under the title (plain text)
	Meta       []string // facts for the muted line, joined with " · "
	TOC        []TOCEntry
	Provenance *Provenance // nil: none shown
	Footer     string
	// Bare leaves out the header: a page of one chart or view, which
	// carries its own title.
	Bare bool
}

// TOCEntry is a link in the table of contents.
type TOCEntry struct {
	Level        int // 2 or 3
	Text, Anchor string
}

// WritePage writes a whole document: the shell, the header, body, the
// provenance and the footer.
func WritePage(w io.Writer, c Chrome, body func(w io.Writer) error) error {
	if err := WriteStart(w, c.Title); err != nil {
		return err
	}
	if _, err := w.Write(c.header()); err != nil {
		return err
	}
	if err := body(w); err != nil {
		return err
	}
	if _, err := w.Write(c.footer()); err != nil {
		return err
	}
	return WriteEnd(w)
}

func (c Chrome) header() []byte {
	var b bytes.Buffer
	if !c.Bare {
		fmt.Fprintf(&b, "<header class=\"page\"><h1>%s</h1>\n", Escape(c.Title))
		if c.Lead != "" {
			fmt.Fprintf(&b, "<p class=\"lead\">%s</p>\n", Escape(c.Lead))
		}
		if len(c.Meta) > 0 {
			fmt.Fprintf(&b, "<p class=\"meta\">%s</p>\n", Escape(strings.Join(c.Meta, " · ")))
		}
		toc := c.TOC
		if c.Provenance != nil && len(toc) > 0 {
			toc = append(toc[:len(toc):len(toc)], TOCEntry{Level: 2, Text: "Provenance", Anchor: "provenance"})
		}
		if len(toc) > 1 {
			b.WriteString("<nav class=\"toc\">")
			for _, h := range toc {
				fmt.Fprintf(&b, "<a class=\"l%d\" href=\"#%s\">%s</a>", h.Level, Escape(h.Anchor), Escape(h.Text))
			}
			b.WriteString("</nav>\n")
		}
		b.WriteString("</header>\n")
	}
	b.WriteString("<main>\n")
	return b.Bytes()
}

func (c Chrome) footer() []byte {
	var b bytes.Buffer
	if c.Provenance != nil {
		WriteProvenance(&b, *c.Provenance)
	}
	b.WriteString("</main>\n<footer class=\"page\">")
	if c.Footer != "" {
		fmt.Fprintf(&b, "<p>%s</p>", Escape(c.Footer))
	}
	if p := c.Provenance; p != nil {
		facts := []string{"dadash " + p.Dadash}
		for _, v := range p.Versions {
			if strings.HasPrefix(v, "libtorch: ") {
				facts = append(facts, "libtorch "+strings.TrimPrefix(v, "libtorch: "))
			}
		}
		if p.Host != "" {
			facts = append(facts, p.Host)
		}
		if !p.Ended.IsZero() {
			facts = append(facts, p.Ended.Format("2006-01-02 15:04"))
		}
		fmt.Fprintf(&b, "<p class=\"prov\">%s</p>", Escape(strings.Join(facts, " · ")))
	}
	b.WriteString("</footer>\n")
	return b.Bytes()
}

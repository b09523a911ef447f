package report

import (
	"regexp"
	"strings"

	"github.com/dadash/dadash/internal/page"
)

// A small, safe subset of Markdown for report text. The text is escaped
// first and the markup is recognised in the escaped text, so nothing from
// the input can become an HTML tag; link targets are limited to http(s),
// mailto and relative URLs.

var (
	reCode   = regexp.MustCompile("`([^`]+)`")
	reBold   = regexp.MustCompile(`\*\*([^*]+)\*\*`)
	reItalic = regexp.MustCompile(`(^|[^*\w])\*([^*\s][^*]*)\*`)
	reLink   = regexp.MustCompile(`\[([^\]]+)\]\(([^)\s]+)\)`)
	reOL     = regexp.MustCompile(`^\d+[.)] `)
)

// markdown renders text as HTML blocks.
func markdown(text string) string {
	var out strings.Builder
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	var para []string
	flush := func() {
		// A paragraph is runs of list items and of plain lines.
		for len(para) > 0 {
			n := run(para, isBullet)
			if n > 0 {
				out.WriteString("<ul>")
				for _, l := range para[:n] {
					out.WriteString("<li>" + inline(l[2:]) + "</li>")
				}
				out.WriteString("</ul>\n")
				para = para[n:]
				continue
			}
			if n = run(para, reOL.MatchString); n > 0 {
				out.WriteString("<ol>")
				for _, l := range para[:n] {
					out.WriteString("<li>" + inline(reOL.ReplaceAllString(l, "")) + "</li>")
				}
				out.WriteString("</ol>\n")
				para = para[n:]
				continue
			}
			n = run(para, func(l string) bool { return !isBullet(l) && !reOL.MatchString(l) })
			parts := make([]string, n)
			for i, l := range para[:n] {
				parts[i] = inline(l)
			}
			// Plain text keeps its line breaks.
			out.WriteString("<p>" + strings.Join(parts, "<br>\n") + "</p>\n")
			para = para[n:]
		}
	}
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if strings.HasPrefix(strings.TrimSpace(l), "```") {
			flush()
			var code []string
			for i++; i < len(lines) && !strings.HasPrefix(strings.TrimSpace(lines[i]), "```"); i++ {
				code = append(code, lines[i])
			}
			out.WriteString("<pre>" + page.Escape(strings.Join(code, "\n")) + "</pre>\n")
			continue
		}
		if strings.TrimSpace(l) == "" {
			flush()
			continue
		}
		para = append(para, strings.TrimRight(l, " \t"))
	}
	flush()
	return out.String()
}

// run is the number of leading lines for which ok holds.
func run(lines []string, ok func(string) bool) int {
	n := 0
	for n < len(lines) && ok(lines[n]) {
		n++
	}
	return n
}

func isBullet(l string) bool { return strings.HasPrefix(l, "- ") || strings.HasPrefix(l, "* ") }

// inline renders one line: code spans are kept apart so that ** inside
// them stays literal.
func inline(line string) string {
	var out strings.Builder
	rest := line
	for {
		loc := reCode.FindStringSubmatchIndex(rest)
		if loc == nil {
			out.WriteString(emphasis(page.Escape(rest)))
			return out.String()
		}
		out.WriteString(emphasis(page.Escape(rest[:loc[0]])))
		out.WriteString("<code>" + page.Escape(rest[loc[2]:loc[3]]) + "</code>")
		rest = rest[loc[1]:]
	}
}

// emphasis applies bold, italic and links to escaped text.
func emphasis(s string) string {
	s = reLink.ReplaceAllStringFunc(s, func(m string) string {
		g := reLink.FindStringSubmatch(m)
		if !safeURL(g[2]) {
			return m
		}
		return `<a href="` + g[2] + `" rel="noopener">` + g[1] + `</a>`
	})
	s = reBold.ReplaceAllString(s, "<b>$1</b>")
	return reItalic.ReplaceAllString(s, "$1<i>$2</i>")
}

// safeURL accepts http(s), mailto and relative URLs (no scheme), so a link
// cannot run script. The URL is already HTML-escaped.
func safeURL(u string) bool {
	lower := strings.ToLower(u)
	if strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://") || strings.HasPrefix(lower, "mailto:") {
		return true
	}
	i := strings.IndexAny(lower, ":/?#")
	return i < 0 || lower[i] != ':'
}

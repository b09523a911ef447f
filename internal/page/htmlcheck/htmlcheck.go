// Package htmlcheck checks, for tests, that a page dadash wrote is complete,
// well-formed HTML, and collects what the tests look for in it. The pages
// close every element they open, so the check is stricter than HTML
// requires: a tag closed out of order, an element left open, or anything
// after </html> is an error. It uses the HTML5 tokenizer of
// golang.org/x/net/html, so <script> contents are read as browsers read
// them: a "</script>" inside data would end the element and show up here
// as an extra script and broken markup.
package htmlcheck

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/net/html"
)

// Element is one start tag.
type Element struct {
	Tag   string
	Attrs map[string]string
}

// Class reports whether the element has the class c.
func (e Element) Class(c string) bool {
	for _, f := range strings.Fields(e.Attrs["class"]) {
		if f == c {
			return true
		}
	}
	return false
}

// Doc is what Check found.
type Doc struct {
	Elements []Element
	Scripts  []string // the text of each inline <script>
	Text     []string // text nodes outside <script> and <style>, unescaped
}

// Count is the number of elements with tag (any tag if "") and class (any if "").
func (d *Doc) Count(tag, class string) int {
	n := 0
	for _, e := range d.Elements {
		if (tag == "" || e.Tag == tag) && (class == "" || e.Class(class)) {
			n++
		}
	}
	return n
}

// HasText reports whether some text node contains s.
func (d *Doc) HasText(s string) bool {
	for _, t := range d.Text {
		if strings.Contains(t, s) {
			return true
		}
	}
	return false
}

var void = map[string]bool{"area": true, "base": true, "br": true, "col": true, "embed": true, "hr": true,
	"img": true, "input": true, "link": true, "meta": true, "source": true, "track": true, "wbr": true}

// Check tokenizes a whole document.
func Check(page []byte) (*Doc, error) {
	if !bytes.HasPrefix(bytes.TrimLeft(page, " \n"), []byte("<!DOCTYPE html>")) {
		return nil, errors.New("the page does not start with <!DOCTYPE html>")
	}
	z := html.NewTokenizer(bytes.NewReader(page))
	d := &Doc{}
	var stack []string
	closed := false
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			if z.Err() != io.EOF {
				return nil, z.Err()
			}
			if len(stack) > 0 {
				return nil, fmt.Errorf("the page ends with elements still open: %v", stack)
			}
			if !closed {
				return nil, errors.New("the page has no </html>")
			}
			return d, nil
		case html.DoctypeToken, html.CommentToken:
		case html.TextToken:
			text := string(z.Text())
			if closed && strings.TrimSpace(text) != "" {
				return nil, fmt.Errorf("text after </html>: %.40q", text)
			}
			if len(stack) > 0 && stack[len(stack)-1] == "script" {
				d.Scripts = append(d.Scripts, text)
			} else if len(stack) == 0 || stack[len(stack)-1] != "style" {
				d.Text = append(d.Text, text)
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			if closed {
				return nil, errors.New("markup after </html>")
			}
			t := z.Token()
			e := Element{Tag: t.Data, Attrs: map[string]string{}}
			for _, a := range t.Attr {
				e.Attrs[a.Key] = a.Val
			}
			d.Elements = append(d.Elements, e)
			if !void[t.Data] {
				if tt == html.SelfClosingTagToken {
					return nil, fmt.Errorf("<%s/> is not a void element", t.Data)
				}
				stack = append(stack, t.Data)
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			tag := string(name)
			if len(stack) == 0 || stack[len(stack)-1] != tag {
				return nil, fmt.Errorf("</%s> closes nothing open (open: %v)", tag, stack)
			}
			stack = stack[:len(stack)-1]
			if tag == "html" {
				closed = true
			}
		}
	}
}

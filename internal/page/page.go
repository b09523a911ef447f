// Package page is the HTML shell shared by dadash's charts, embedding views
// and reports: one self-contained document with the style sheet, the
// ECharts library and dadash's page runtime inlined, and helpers that keep
// data out of the markup (escaping, JSON safe inside <script>, images as
// data URIs).
//
// A piece of a page is a Fragment; a value that can stand alone as a page
// (a chart, a view, a report) is a Renderer, which is what the REPL's
// show() looks for.
package page

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/dadash/dadash/internal/atomicfile"
	"github.com/dadash/dadash/internal/page/assets"
)

// Fragment is a piece of a page. WriteFragment writes its elements and
// script; id is unique within the page, and every DOM id the fragment uses
// starts with it.
type Fragment interface {
	WriteFragment(w io.Writer, id string) error
}

// Renderer values write themselves as a whole, standalone HTML page.
type Renderer interface {
	RenderHTML(w io.Writer) error
}

// Escape escapes text for HTML element content and quoted attributes.
func Escape(s string) string { return html.EscapeString(s) }

// JSON encodes v for a <script> element. encoding/json escapes <, >, & and
// U+2028/U+2029, so no data can close the element ("</script>") or break
// the JavaScript around it. NaN and infinities, which JSON lacks, must be
// replaced by the caller (Float does it).
func JSON(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding page data: %w", err)
	}
	return b, nil
}

// Float is a number for page data: NaN and infinities encode as null, which
// ECharts draws as a gap. Whole numbers stay exact; other values get the
// shortest form that reads back as the same float32, which is all a chart
// can show and keeps pages of many points small.
type Float float64

// MarshalJSON implements json.Marshaler.
func (f Float) MarshalJSON() ([]byte, error) {
	return AppendFloat(nil, float64(f)), nil
}

// AppendFloat appends the JSON form of Float(v) to b.
func AppendFloat(b []byte, v float64) []byte {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return append(b, "null"...)
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return strconv.AppendInt(b, int64(v), 10)
	case math.Abs(v) < math.MaxFloat32 && math.Abs(v) > math.SmallestNonzeroFloat32:
		return strconv.AppendFloat(b, v, 'g', -1, 32)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// Floats converts a slice for page data.
func Floats(xs []float64) []Float {
	out := make([]Float, len(xs))
	for i, x := range xs {
		out[i] = Float(x)
	}
	return out
}

// Warnings receives the one-time warning that ECharts is not inlined.
var Warnings io.Writer = os.Stderr

var warnOnce sync.Once

// echartsJS gives the library to inline (tests replace it to check the
// fallback).
var echartsJS = assets.ECharts

// Inlined reports whether pages inline ECharts (false: they link the CDN).
func Inlined() bool { return echartsJS() != nil }

// WriteStart writes the document up to and including <body>.
func WriteStart(w io.Writer, title string) error {
	ew := &errWriter{w: w}
	ew.str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
	ew.str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	ew.str("<meta name=\"generator\" content=\"dadash\">\n")
	ew.str("<title>" + Escape(title) + "</title>\n<style>\n")
	ew.bytes(assets.Style())
	// The runtime comes before ECharts so that its error collector also
	// sees a failure while ECharts loads.
	ew.str("</style>\n<script>\n")
	ew.bytes(assets.Runtime())
	ew.str("</script>\n")
	if js := echartsJS(); js != nil {
		ew.str("<script>\n")
		ew.bytes(js)
		ew.str("\n</script>\n")
	} else {
		warnOnce.Do(func() {
			fmt.Fprintf(Warnings, "warning: this dadash was built without ECharts (internal/page/assets/echarts.min.js); "+
				"pages load it from %s and need the network to show charts. Run `make` to fetch it.\n", assets.EChartsCDN)
		})
		ew.str("<script src=\"" + Escape(assets.EChartsCDN) + "\"></script>\n")
	}
	ew.str("</head>\n<body>\n")
	return ew.err
}

// WriteEnd closes the document.
func WriteEnd(w io.Writer) error {
	_, err := io.WriteString(w, "</body>\n</html>\n")
	return err
}

// Standalone writes a page holding one fragment (a chart or a view saved
// or shown from the REPL), with the shared chrome: no header, since the
// fragment carries its title, and the provenance at the end.
func Standalone(w io.Writer, title string, f Fragment) error {
	p := Current()
	c := Chrome{Title: title, Bare: true, Provenance: &p, Footer: "Written by dadash."}
	return WritePage(w, c, func(w io.Writer) error { return f.WriteFragment(w, "f1") })
}

// WriteFile writes a page to path atomically, creating its folder.
func WriteFile(path string, r Renderer) error {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	return atomicfile.Write(path, r.RenderHTML)
}

// ChartScript writes the <script> that draws a chart: dadash.chart(id,
// option, extra) with both objects as JSON.
func ChartScript(w io.Writer, call, id string, args ...[]byte) error {
	ew := &errWriter{w: w}
	idJSON, _ := json.Marshal(id)
	ew.str("<script>dadash." + call + "(")
	ew.bytes(idJSON)
	for _, a := range args {
		ew.str(", ")
		ew.bytes(a)
	}
	ew.str(");</script>\n")
	return ew.err
}

// errWriter keeps the first write error, so that a sequence of writes
// needs one check.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) bytes(b []byte) {
	if e.err == nil {
		_, e.err = e.w.Write(b)
	}
}

func (e *errWriter) str(s string) {
	if e.err == nil {
		_, e.err = io.WriteString(e.w, s)
	}
}

// basePalette is ECharts' default palette plus a grey: runtime.js uses the
// same colours, so Go-built charts and JS-built views agree.
var basePalette = []string{"#5470c6", "#91cc75", "#fac858", "#ee6666", "#73c0de", "#3ba272", "#fc8452", "#9a60b4", "#ea7ccc", "#4d4d4d"}

// Palette returns n distinct colours: ECharts' own for up to ten classes,
// hues spread by the golden angle for more (the palette repeats otherwise,
// and two classes would share a colour).
func Palette(n int) []string {
	if n <= len(basePalette) {
		return append([]string(nil), basePalette[:n]...)
	}
	out := make([]string, n)
	for i := range out {
		h := math.Mod(float64(i)*137.508, 360)
		l := [3]int{45, 60, 35}[i%3]
		out[i] = fmt.Sprintf("hsl(%.1f,65%%,%d%%)", h, l)
	}
	return out
}

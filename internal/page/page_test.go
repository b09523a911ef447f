package page

import (
	"bytes"
	"encoding/base64"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dadash/dadash/internal/page/assets"
	"github.com/dadash/dadash/internal/page/htmlcheck"
)

type frag string

func (f frag) WriteFragment(w io.Writer, id string) error {
	_, err := w.Write([]byte("<p id=\"" + id + "\">" + Escape(string(f)) + "</p>\n"))
	return err
}

func TestStandaloneInlinesECharts(t *testing.T) {
	if !Inlined() {
		t.Skip("this build has no internal/page/assets/echarts.min.js (run make)")
	}
	var b bytes.Buffer
	if err := Standalone(&b, `a </title> "title"`, frag("x")); err != nil {
		t.Fatal(err)
	}
	d, err := htmlcheck.Check(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if d.Count("script", "") != 2 || !strings.Contains(b.String(), `t.version="`+assets.EChartsVersion+`"`) {
		t.Errorf("want the runtime and ECharts %s inlined; %d scripts", assets.EChartsVersion, d.Count("script", ""))
	}
	if !d.HasText(`a </title> "title"`) {
		t.Error("the title is not its text")
	}
}

// TestFallback: without the embedded library, pages link the CDN and a
// warning is printed once.
func TestFallback(t *testing.T) {
	saved, savedW := echartsJS, Warnings
	defer func() { echartsJS, Warnings = saved, savedW }()
	echartsJS = func() []byte { return nil }
	var warn bytes.Buffer
	Warnings = &warn
	for i := 0; i < 2; i++ {
		var b bytes.Buffer
		if err := Standalone(&b, "t", frag("x")); err != nil {
			t.Fatal(err)
		}
		d, err := htmlcheck.Check(b.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		var srcs []string
		for _, e := range d.Elements {
			if e.Tag == "script" && e.Attrs["src"] != "" {
				srcs = append(srcs, e.Attrs["src"])
			}
		}
		if len(srcs) != 1 || srcs[0] != assets.EChartsCDN {
			t.Errorf("script sources %v, want the CDN", srcs)
		}
	}
	if n := strings.Count(warn.String(), "warning:"); n != 1 || !strings.Contains(warn.String(), "make") {
		t.Errorf("warnings: %q (want one, saying to run make)", warn.String())
	}
}

// The fetch script and the Go side must agree on the version.
func TestVersionInStep(t *testing.T) {
	b, err := os.ReadFile("assets/fetch-echarts.sh")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "\nversion="+assets.EChartsVersion+"\n") {
		t.Errorf("fetch-echarts.sh does not fetch version %s", assets.EChartsVersion)
	}
}

func TestJSONCannotCloseScript(t *testing.T) {
	b, err := JSON(map[string]any{"name": "</script><script>alert(1)</script>\u2028&"})
	if err != nil {
		t.Fatal(err)
	}
	if s := string(b); strings.ContainsAny(s, "<>&\u2028") {
		t.Errorf("JSON %s has characters that are unsafe in a <script>", s)
	}
}

func TestFloat(t *testing.T) {
	for v, want := range map[float64]string{
		math.NaN(): "null", math.Inf(1): "null", 3: "3", -2: "-2", 0.1: "0.1", 1.0 / 3: "0.33333334",
		1e20: "1e+20", 2.5e-7: "2.5e-07",
	} {
		if got := string(AppendFloat(nil, v)); got != want {
			t.Errorf("Float(%v) = %s, want %s", v, got, want)
		}
	}
}

func TestImages(t *testing.T) {
	// (C, H, W) in [0, 1]: a 2x3 RGB image.
	uri, err := ArrayPNG([]float64{1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0}, []int64{3, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(uri, "data:image/png;base64,"))
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 3 || b.Dy() != 2 {
		t.Errorf("size %v, want 3x2", b)
	}
	if r, g, _, _ := img.At(0, 0).RGBA(); r != 0xffff || g != 0 {
		t.Errorf("pixel (0,0) = %v, want red", img.At(0, 0))
	}
	if r, g, _, _ := img.At(2, 1).RGBA(); r != 0 || g != 0xffff {
		t.Errorf("pixel (2,1) = %v, want green", img.At(2, 1))
	}
	batch, err := BatchPNG(make([]float64, 4*28*28), []int64{4, 28, 28})
	if err != nil || len(batch) != 4 {
		t.Errorf("batch: %d images, %v", len(batch), err)
	}
	if _, err := ArrayPNG(make([]float64, 10), []int64{2, 5, 5}); err == nil {
		t.Error("no error for a shape that is not an image")
	}
	// Files are sniffed; text is refused.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.png"), raw, 0o644)
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("hello"), 0o644)
	if u, err := DataURI(filepath.Join(dir, "a.png")); err != nil || !strings.HasPrefix(u, "data:image/png;base64,") {
		t.Errorf("DataURI(png) = %.40s, %v", u, err)
	}
	if _, err := DataURI(filepath.Join(dir, "a.txt")); err == nil {
		t.Error("a text file became an image")
	}
	if _, err := DataURI("data:text/html,<script>"); err == nil {
		t.Error("a non-image data URI was accepted")
	}
}

func TestPalette(t *testing.T) {
	if p := Palette(3); len(p) != 3 || p[0] != "#5470c6" {
		t.Errorf("Palette(3) = %v", p)
	}
	seen := map[string]bool{}
	for _, c := range Palette(200) {
		if seen[c] {
			t.Fatalf("Palette(200) repeats %s", c)
		}
		seen[c] = true
	}
}

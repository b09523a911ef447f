package glyphs

import (
	"testing"
)

// BenchmarkRender renders GB2312 level-1 characters in the 12 faces of the
// default set at 32 px on one goroutine, cycling through faces and
// characters as a first run does; bench/run reports its glyphs/s.
func BenchmarkRender(b *testing.B) {
	srcs, err := resolveFonts(nil)
	if err != nil {
		b.Fatal(err)
	}
	faces, _, closer := openFaces(srcs)
	defer closer()
	chars, err := Charset("gb2312-1")
	if err != nil {
		b.Fatal(err)
	}
	kept, _ := dedup(faces, chars, DefaultDedup)
	g := Geometry{Size: 32, Padding: 2, Scale: 1}
	rd := newRenderer(g)
	px := make([]byte, g.Size*g.Size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f := kept[i%len(kept)]
		r := chars[(i/len(kept)*7919)%len(chars)] // a stride, so the font data is not all in cache
		if _, err := rd.render(f.font, rd.glyphIndex(f.font, r), px); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "glyphs/s")
}

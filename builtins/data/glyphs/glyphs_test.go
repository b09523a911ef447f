package glyphs

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/image/font/sfnt"
)

// The tests render with the Debian fonts that the Makefile installs (`make
// test` installs them first).
const (
	droidPath  = "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"
	smileyPath = "/usr/share/fonts/truetype/smiley-sans/SmileySans-Oblique.ttf"
	notoPath   = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
	ukaiPath   = "/usr/share/fonts/truetype/arphic/ukai.ttc"
	umingPath  = "/usr/share/fonts/truetype/arphic/uming.ttc"
	zenheiPath = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"
)

func needFont(t *testing.T, path string) string {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s is not installed; run `make` as root, or apt-get install -y --no-install-recommends %s", path, strings.Join(DefaultPackages(), " "))
	}
	return path
}

// testChars are 40 GB2312 level-1 characters spread over the repertoire.
func testChars(t *testing.T) string {
	all, err := Charset("gb2312-1")
	if err != nil {
		t.Fatal(err)
	}
	var out []rune
	for i := 0; i < 40; i++ {
		out = append(out, all[i*len(all)/40])
	}
	return string(out)
}

func TestCharsets(t *testing.T) {
	l1, err := Charset("gb2312-1")
	if err != nil {
		t.Fatal(err)
	}
	all, err := Charset("gb2312")
	if err != nil {
		t.Fatal(err)
	}
	if len(l1) != 3755 || len(all) != 6763 {
		t.Fatalf("GB2312 level 1 has %d characters, levels 1-2 %d; want 3755 and 6763", len(l1), len(all))
	}
	// Level 1 runs from 啊 (0xB0A1) to 座 (0xD7F9) by pinyin.
	if l1[0] != '啊' || l1[1] != '阿' || l1[len(l1)-1] != '座' {
		t.Errorf("level 1 starts %q and ends %q", string(l1[:2]), string(l1[len(l1)-1]))
	}
	if string(all[:len(l1)]) != string(l1) {
		t.Error("levels 1-2 do not start with level 1")
	}
	seen := map[rune]bool{}
	for _, r := range all {
		if seen[r] {
			t.Fatalf("%c appears twice", r)
		}
		seen[r] = true
	}
	got, err := Charset("永 和永,九")
	if err != nil || string(got) != "永和九" {
		t.Errorf("a string charset gives %q, %v; want the distinct ideographs in order", string(got), err)
	}
	if _, err := Charset("abc"); err == nil || !strings.Contains(err.Error(), "not a known repertoire") {
		t.Errorf("charset \"abc\": %v", err)
	}
}

// AR PL UKai/UMing and WenQuanYi Zen Hei have tables off 4-byte boundaries,
// which sfnt refuses; the realigned copies parse, every face of them.
func TestMisalignedCollectionsParse(t *testing.T) {
	for _, p := range []string{ukaiPath, umingPath, zenheiPath} {
		data, err := os.ReadFile(needFont(t, p))
		if err != nil {
			t.Fatal(err)
		}
		c, err := sfnt.ParseCollection(data)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Font(0); err == nil {
			t.Logf("%s: sfnt now parses it as it is", p)
		}
		n := c.NumFonts()
		fonts, errs := parseFaces(data, n)
		for i, f := range fonts {
			if f == nil {
				t.Errorf("%s face %d: %v", p, i, errs[i])
				continue
			}
			var b sfnt.Buffer
			name, _ := f.Name(&b, sfnt.NameIDFull)
			gi, err := f.GlyphIndex(&b, '永')
			if err != nil || gi == 0 {
				t.Errorf("%s face %d (%s) has no 永", p, i, name)
			}
		}
	}
}

type inkBox struct{ x0, y0, x1, y1, sum int }

func ink(px []byte, size int) inkBox {
	b := inkBox{x0: size, y0: size, x1: -1, y1: -1}
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			if v := px[y*size+x]; v > 0 {
				b.x0, b.y0, b.x1, b.y1 = min(b.x0, x), min(b.y0, y), max(b.x1, x), max(b.y1, y)
				b.sum += int(v)
			}
		}
	}
	return b
}

func loadFace(t *testing.T, path, name string) *face {
	t.Helper()
	faces, warns, closer := openFaces([]fontSource{{path: needFont(t, path)}})
	t.Cleanup(closer)
	if len(warns) > 0 {
		t.Fatalf("%s: %v", path, warns)
	}
	for _, f := range faces {
		if name == "" || f.Name == name {
			return f
		}
	}
	t.Fatalf("%s has no face %q", path, name)
	return nil
}

func TestRender(t *testing.T) {
	g := Geometry{Size: 32, Padding: 2, Scale: 1}
	droid := loadFace(t, droidPath, "")
	noto := loadFace(t, notoPath, "Noto Sans CJK SC") // CFF outlines in a collection
	rd := newRenderer(g)
	draw := func(f *face, r rune) []byte {
		t.Helper()
		px := make([]byte, g.Size*g.Size)
		ok, err := rd.render(f.font, rd.glyphIndex(f.font, r), px)
		if !ok || err != nil {
			t.Fatalf("%s %c: ok=%v err=%v", f.Name, r, ok, err)
		}
		return px
	}
	for _, f := range []*face{droid, noto} {
		for _, r := range "永一口鬱" {
			px := draw(f, r)
			b := ink(px, g.Size)
			if b.sum < 255*10 {
				t.Errorf("%s %c: only %d of ink", f.Name, r, b.sum)
			}
			// Inside the padded box, and centred to within a pixel.
			if b.x0 < g.Padding-1 || b.y0 < g.Padding-1 || b.x1 > g.Size-g.Padding || b.y1 > g.Size-g.Padding {
				t.Errorf("%s %c: ink box %+v leaves the padded box", f.Name, r, b)
			}
			cx, cy := float64(b.x0+b.x1+1)/2, float64(b.y0+b.y1+1)/2
			if d := max(abs(cx-16), abs(cy-16)); d > 1 {
				t.Errorf("%s %c: ink box centred at (%.1f, %.1f), want (16, 16)", f.Name, r, cx, cy)
			}
			if again := draw(f, r); !bytes.Equal(px, again) {
				t.Errorf("%s %c: two renderings differ", f.Name, r)
			}
		}
	}
	// One character in two faces differs; two characters in one face differ.
	if d := meanAbsDiff(draw(droid, '永'), draw(noto, '永')); d < 0.02 {
		t.Errorf("永 in Droid Sans Fallback and Noto Sans CJK SC differ by only %.4f", d)
	}
	if d := meanAbsDiff(draw(noto, '永'), draw(noto, '水')); d < 0.05 {
		t.Errorf("永 and 水 differ by only %.4f", d)
	}
	// A character the face lacks has no glyph.
	if gi := rd.glyphIndex(noto.font, 0xE000); gi != 0 {
		t.Errorf("a private-use code point has glyph %d", gi)
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// setupFonts makes a font folder: two real faces, a byte-for-byte copy of
// one under another name, a garbage file and a truncated font.
func setupFonts(t *testing.T) string {
	dir := t.TempDir()
	droid, err := os.ReadFile(needFont(t, droidPath))
	if err != nil {
		t.Fatal(err)
	}
	smiley, err := os.ReadFile(needFont(t, smileyPath))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"a-droid.ttf":      droid,
		"b-smiley.ttf":     smiley,
		"c-copy.ttf":       droid,
		"d-garbage.ttf":    []byte("this is not a font file at all, just some text\n"),
		"e-truncated.ttf":  droid[:3000],
		"sub/readme.txt":   []byte("not a font, ignored"),
		"sub/f-smiley.otf": smiley[:0], // empty
	}
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadCache(t *testing.T) {
	fonts := setupFonts(t)
	root := filepath.Join(t.TempDir(), "cache")
	var log bytes.Buffer
	chars := testChars(t)
	opts := Options{Root: root, Fonts: []string{fonts}, Charset: chars, Geometry: Geometry{Size: 32, Padding: 2, Scale: 1}, Dedup: DefaultDedup, Workers: 3, Log: &log}
	s, err := Load(opts)
	if err != nil {
		t.Fatal(err)
	}
	if s.Cached {
		t.Error("the first load says it came from the cache")
	}
	// Unreadable files are skipped with a warning naming them.
	for _, bad := range []string{"d-garbage.ttf", "e-truncated.ttf", "f-smiley.otf"} {
		if !strings.Contains(log.String(), bad) || !strings.Contains(strings.Join(s.Warnings, "\n"), bad) {
			t.Errorf("no warning names %s:\n%s", bad, log.String())
		}
	}
	// The copy is dropped as a duplicate of the original.
	var names []string
	for _, f := range s.Faces {
		names = append(names, f.Name)
	}
	if strings.Join(names, ",") != "Droid Sans Fallback,Smiley Sans Oblique" {
		t.Errorf("faces %v", names)
	}
	if len(s.Dropped) != 1 || !strings.HasSuffix(s.Dropped[0].Face.File, "c-copy.ttf") || s.Dropped[0].DuplicateOf != "Droid Sans Fallback" || s.Dropped[0].Difference != 0 {
		t.Errorf("dropped %+v", s.Dropped)
	}
	if string(s.Chars) != chars || s.Images() != 2*len([]rune(chars)) || s.Size != 32 {
		t.Fatalf("%d characters, %d images of %d px", len(s.Chars), s.Images(), s.Size)
	}
	// The image folders hold the same pixels as the array.
	n := s.Size * s.Size
	for ci, r := range s.Chars {
		for k, fi := range s.FacesOf[ci] {
			p := filepath.Join(s.Root, "glyphs", "images", ClassFolder(ci, r, len(s.Chars)), s.Faces[fi].Slug+".png")
			f, err := os.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(f)
			f.Close()
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			g, ok := img.(*image.Gray)
			want := s.Pixels[(s.Offset[ci]+k)*n : (s.Offset[ci]+k+1)*n]
			if !ok || !bytes.Equal(g.Pix, want) {
				t.Fatalf("%s differs from the array", p)
			}
		}
	}
	if ClassFolder(0, '啊', 3755) != "0001.啊_U+554A" || ClassName('永') != "永 U+6C38" {
		t.Errorf("names %q %q", ClassFolder(0, '啊', 3755), ClassName('永'))
	}
	first := append([]byte(nil), s.Pixels...)

	// A second load reads the cache: same entry, same pixels, no rendering.
	log.Reset()
	s2, err := Load(opts)
	if err != nil {
		t.Fatal(err)
	}
	if !s2.Cached || s2.Root != s.Root || !bytes.Equal(s2.Pixels, first) || strings.Contains(log.String(), "rendering") {
		t.Errorf("second load: cached=%v root=%s log=%q", s2.Cached, s2.Root, log.String())
	}
	// Other options are another entry.
	o3 := opts
	o3.Size, o3.Padding = 24, 1
	s3, err := Load(o3)
	if err != nil {
		t.Fatal(err)
	}
	if s3.Root == s.Root || s3.Size != 24 || s3.Cached {
		t.Errorf("image_size=24 gave entry %s (size %d, cached %v)", s3.Root, s3.Size, s3.Cached)
	}

	// Damage of each kind is detected and the entry rendered again.
	damage := map[string]func(){
		"truncated array": func() { os.Truncate(filepath.Join(s.Root, pixelsFile), 1000) },
		"flipped byte": func() {
			p := filepath.Join(s.Root, pixelsFile)
			b, _ := os.ReadFile(p)
			b[len(b)/2] ^= 0xff
			os.WriteFile(p, b, 0o644)
		},
		"no marker":     func() { os.Remove(filepath.Join(s.Root, markerFile)) },
		"garbage index": func() { os.WriteFile(filepath.Join(s.Root, indexFile), []byte("{"), 0o644) },
		"no array":      func() { os.Remove(filepath.Join(s.Root, pixelsFile)) },
	}
	for what, hurt := range damage {
		hurt()
		log.Reset()
		s4, err := Load(opts)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if s4.Cached || !strings.Contains(log.String(), "incomplete or corrupt") || !bytes.Equal(s4.Pixels, first) {
			t.Errorf("%s: cached=%v, log %q", what, s4.Cached, log.String())
		}
	}
}

// A render killed midway leaves only its temporary folder, never a
// half-written entry; the next build removes it once its process is gone.
func TestStaleTemporaryFolders(t *testing.T) {
	fonts := setupFonts(t)
	root := t.TempDir()
	dead := deadPID(t)
	stale := filepath.Join(root, fmt.Sprintf(".tmp-0123abcd-%d-4711", dead))
	live := filepath.Join(root, ".tmp-0123abcd-1-4712") // pid 1 is alive
	for _, d := range []string{stale, live} {
		if err := os.MkdirAll(filepath.Join(d, "glyphs", "images"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	_, err := Load(Options{Root: root, Fonts: []string{fonts}, Charset: "永和九年", Geometry: Geometry{Size: 16, Padding: 1, Scale: 1}, Dedup: DefaultDedup})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("the dead render's folder is still there")
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("a live process's folder was removed")
	}
	es, _ := os.ReadDir(root)
	for _, e := range es {
		if strings.HasPrefix(e.Name(), ".tmp-") && filepath.Join(root, e.Name()) != live {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

func deadPID(t *testing.T) int {
	for pid := 4194000; pid > 100000; pid-- {
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return pid
		}
	}
	t.Fatal("no free pid")
	return 0
}

func TestMissingDefaultFonts(t *testing.T) {
	saved := DefaultFonts
	defer func() { DefaultFonts = saved }()
	DefaultFonts = append([]FontFile{{Package: "fonts-not-there", Path: "/nonexistent/font.ttf"}}, saved...)
	root := filepath.Join(t.TempDir(), "cache")
	_, err := Load(Options{Root: root, Geometry: Geometry{Size: 32, Padding: 2, Scale: 1}})
	var me *MissingFontsError
	if !errors.As(err, &me) {
		t.Fatalf("got %v, want a MissingFontsError", err)
	}
	if !strings.Contains(err.Error(), "apt-get install -y --no-install-recommends fonts-not-there") || !strings.Contains(err.Error(), "/nonexistent/font.ttf") {
		t.Errorf("message: %v", err)
	}
	if _, err := os.Stat(root); !os.IsNotExist(err) {
		t.Errorf("the cache folder was made although the fonts are missing")
	}
}

func TestBadOptions(t *testing.T) {
	fonts := setupFonts(t)
	root := t.TempDir()
	cases := []struct {
		o    Options
		want string
	}{
		{Options{Geometry: Geometry{Size: 4, Padding: 0, Scale: 1}}, "image_size=4"},
		{Options{Geometry: Geometry{Size: 32, Padding: 15, Scale: 1}}, "padding=15"},
		{Options{Geometry: Geometry{Size: 32, Padding: 2, Scale: 0}}, "scale=0"},
		{Options{Geometry: Geometry{Size: 32, Padding: 2, Scale: 1}, Dedup: 1.5}, "dedup=1.5"},
		{Options{Geometry: Geometry{Size: 32, Padding: 2, Scale: 1}, Charset: "latin"}, "not a known repertoire"},
		{Options{Geometry: Geometry{Size: 32, Padding: 2, Scale: 1}, Fonts: []string{"/nonexistent"}}, "font /nonexistent: no such file"},
		{Options{Geometry: Geometry{Size: 32, Padding: 2, Scale: 1}, Fonts: []string{filepath.Join(fonts, "d-garbage.ttf")}}, "no font face could be read from .*d-garbage.ttf"},
		{Options{Geometry: Geometry{Size: 32, Padding: 2, Scale: 1}, Fonts: []string{t.TempDir()}}, "has no .ttf, .otf, .ttc or .otc files"},
	}
	for _, c := range cases {
		c.o.Root = root
		_, err := Load(c.o)
		if err == nil || !regexp.MustCompile(c.want).MatchString(err.Error()) {
			t.Errorf("%+v: got %v, want an error containing %q", c.o, err, c.want)
		}
	}
}

// The default set: which faces are kept, which are dropped as what, and
// that every kept face draws all of GB2312 level 1.
func TestDefaultFonts(t *testing.T) {
	for _, f := range DefaultFonts {
		needFont(t, f.Path)
	}
	root := t.TempDir()
	var log bytes.Buffer
	s, err := Load(Options{Root: root, Charset: testChars(t), Geometry: Geometry{Size: 32, Padding: 2, Scale: 1}, Dedup: DefaultDedup, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range s.Faces {
		names = append(names, f.Name)
	}
	want := "Noto Sans CJK SC,Noto Serif CJK SC,Noto Sans CJK SC Bold,Noto Serif CJK SC Bold,AR PL UKai CN,AR PL UMing CN,WenQuanYi Zen Hei,Droid Sans Fallback,HanaMinA Regular,LXGW WenKai,Smiley Sans Oblique,Unifont"
	if strings.Join(names, ",") != want {
		t.Errorf("kept faces\n  %s\nwant\n  %s", strings.Join(names, ","), want)
	}
	dropped := map[string]string{}
	for _, d := range s.Dropped {
		dropped[d.Face.Name] = d.DuplicateOf
	}
	for dup, of := range map[string]string{
		"Noto Sans CJK JP": "Noto Sans CJK SC", "Noto Sans Mono CJK SC": "Noto Sans CJK SC", "Noto Serif CJK TC Bold": "Noto Serif CJK SC Bold",
		"AR PL UKai TW": "AR PL UKai CN", "AR PL UMing HK": "AR PL UMing CN", "WenQuanYi Zen Hei Sharp": "WenQuanYi Zen Hei",
		"LXGW WenKai Light": "LXGW WenKai", "LXGW WenKai Mono": "LXGW WenKai",
	} {
		if dropped[dup] != of {
			t.Errorf("%s: dropped as a duplicate of %q, want %q", dup, dropped[dup], of)
		}
	}
	if len(s.Dropped)+len(s.Faces) != 49 {
		t.Errorf("%d faces kept and %d dropped; the default files hold 49", len(s.Faces), len(s.Dropped))
	}
	if !regexp.MustCompile(`kept Noto Sans CJK SC for Noto Sans CJK JP \(0\.0\d\d\)`).MatchString(log.String()) {
		t.Errorf("the log does not say what was left out:\n%s", log.String())
	}

	// Every kept face draws every character of GB2312 level 1.
	srcs, err := resolveFonts(nil)
	if err != nil {
		t.Fatal(err)
	}
	faces, warns, closer := openFaces(srcs)
	defer closer()
	if len(warns) > 0 {
		t.Errorf("warnings on the default fonts: %v", warns)
	}
	chars, _ := Charset("gb2312-1")
	rd := newRenderer(Geometry{Size: 16, Padding: 1, Scale: 1})
	px := make([]byte, 256)
	for _, f := range faces {
		if !strings.Contains(","+want+",", ","+f.Name+",") {
			continue
		}
		missing := 0
		for _, r := range chars {
			gi := rd.glyphIndex(f.font, r)
			if ok, err := rd.render(f.font, gi, px); gi == 0 || !ok || err != nil {
				missing++
			}
		}
		if missing > 0 {
			t.Errorf("%s lacks %d characters of GB2312 level 1", f.Name, missing)
		}
	}
}

// Every package of the default set is installed by the Makefile.
func TestMakefileInstallsTheFonts(t *testing.T) {
	mk, err := os.ReadFile("../../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, line := range strings.Split(string(mk), "\n") {
		if strings.HasPrefix(line, "APT_PACKAGES :=") || strings.HasPrefix(line, "APT_PACKAGES +=") {
			listed = append(listed, strings.Fields(line)[2:]...)
		}
	}
	have := map[string]bool{}
	for _, p := range listed {
		have[p] = true
	}
	for _, p := range DefaultPackages() {
		if !have[p] {
			t.Errorf("the Makefile's APT_PACKAGES lacks %s", p)
		}
	}
}

func TestJitter(t *testing.T) {
	const w, h = 32, 32
	img := make([]byte, w*h)
	for y := 10; y < 22; y++ { // a 12 x 4 bar
		for x := 14; x < 18; x++ {
			img[y*w+x] = 255
		}
	}
	sum := func(p []byte) (s int) {
		for _, v := range p {
			s += int(v)
		}
		return
	}
	if out := (Jitter{Scale: 1}).Apply(img, w, h, 1); !bytes.Equal(out, img) {
		t.Error("the identity jitter changes the image")
	}
	if out := (Jitter{Scale: 1, TX: 3}).Apply(img, w, h, 1); out[15*w+17+3] != 255 || out[15*w+14] != 0 {
		t.Error("a shift of 3 pixels does not move the bar 3 pixels right")
	}
	thick := sum((Jitter{Scale: 1, Thickness: 1}).Apply(img, w, h, 1))
	thin := sum((Jitter{Scale: 1, Thickness: -1}).Apply(img, w, h, 1))
	if base := sum(img); !(thick > base && thin < base && thin > 0) {
		t.Errorf("ink: thickened %d, thinned %d, original %d", thick, thin, base)
	}
	rot := (Jitter{Rotate: 90, Scale: 1}).Apply(img, w, h, 1)
	if rot[16*w+11] != 255 || rot[11*w+16] != 0 {
		t.Error("a 90 degree rotation does not lay the bar flat")
	}
	if big := sum((Jitter{Scale: 1.5}).Apply(img, w, h, 1)); big < sum(img)*2 {
		t.Errorf("scale 1.5 gives ink %d from %d", big, sum(img))
	}
}

// Package glyphs renders a metric-learning dataset of CJK characters from
// font files: every character of a repertoire (GB2312 level 1 by default)
// drawn by every distinct typeface that has it. It finds the faces, reads
// their coverage from the character maps, keeps one of each group of
// near-identical faces (region variants of a collection, proportional or
// monospaced variants, clones of one design), renders the glyphs in
// parallel and caches them in two forms: an image-folder tree of PNGs and
// one memory-mapped array.
//
// Rendering uses golang.org/x/image's sfnt (TrueType and CFF outlines,
// .ttc collections) and vector rasteriser, without hinting. Measured against
// FreeType 2.12 (FT_LOAD_NO_HINTING, the smooth rasteriser) on the same
// outlines and placement, the two differ by 0.1-0.3% of full scale on
// average (a few edge pixels per glyph), at a comparable speed (about
// 35,000-125,000 glyphs/s on one core either way, sfnt faster on CFF
// faces, FreeType on some TrueType ones). sfnt needs no cgo or native
// library and reads untrusted files in memory-safe code; the one thing it
// lacks, reading fonts whose tables are not 4-byte aligned (AR PL UKai and
// UMing, WenQuanYi Zen Hei), is handled here by re-laying such a face out.
package glyphs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"golang.org/x/image/font/sfnt"
)

// FontFile is one file of the default font set and the Debian package that
// installs it. Prefer names the faces of a collection to try first, so that
// the Simplified Chinese member is the one kept of a group of region
// variants.
type FontFile struct {
	Package string
	Path    string
	Prefer  []string
}

// DefaultFonts is the default font set: the Debian packages whose faces
// draw every character of GB2312 level 1 in distinct designs. Each file's
// other faces (region variants, monospaced and other weights of the same
// design) are listed too and are dropped as near-duplicates by rendering,
// so the report shows what was found and why it was left out.
//
// Left out on purpose: fonts-arphic-gbsn00lp and gkai00mp (the GB glyphs
// of AR PL UMing and UKai, mean difference 0.03-0.04), fonts-wqy-microhei
// (derived from Droid Sans Fallback, difference 0.001), fonts-babelstone-han
// (AR PL SungtiL GB's glyphs), fonts-noto-cjk-extra (more weights of Noto,
// 214 MB), fonts-cns11643-kai/sung (distinct designs, but 276 MB installed),
// and the Japanese families (IPA, Takao, VL Gothic, Kouzan, Aoyagi, Konatu,
// Komatuna, Motoya, Umeplus, Seto, Klee): they draw only the 2,400-3,300
// GB2312 level-1 characters that are also Japanese kanji, in Japanese
// forms. fonts=[...] takes any of them.
var DefaultFonts = []FontFile{
	{"fonts-noto-cjk", "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", []string{"Noto Sans CJK SC"}},
	{"fonts-noto-cjk", "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", []string{"Noto Serif CJK SC"}},
	{"fonts-noto-cjk", "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", []string{"Noto Sans CJK SC Bold"}},
	{"fonts-noto-cjk", "/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc", []string{"Noto Serif CJK SC Bold"}},
	{"fonts-arphic-ukai", "/usr/share/fonts/truetype/arphic/ukai.ttc", []string{"AR PL UKai CN"}},
	{"fonts-arphic-uming", "/usr/share/fonts/truetype/arphic/uming.ttc", []string{"AR PL UMing CN"}},
	{"fonts-wqy-zenhei", "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", []string{"WenQuanYi Zen Hei"}},
	{"fonts-droid-fallback", "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", nil},
	{"fonts-hanazono", "/usr/share/fonts/truetype/hanazono/HanaMinA.ttf", nil},
	{"fonts-lxgw-wenkai", "/usr/share/fonts/truetype/lxgw-wenkai/LXGWWenKai-Regular.ttf", nil},
	{"fonts-lxgw-wenkai", "/usr/share/fonts/truetype/lxgw-wenkai/LXGWWenKai-Light.ttf", nil},
	{"fonts-lxgw-wenkai", "/usr/share/fonts/truetype/lxgw-wenkai/LXGWWenKai-Bold.ttf", nil},
	{"fonts-lxgw-wenkai", "/usr/share/fonts/truetype/lxgw-wenkai/LXGWWenKaiMono-Regular.ttf", nil},
	{"fonts-smiley-sans", "/usr/share/fonts/truetype/smiley-sans/SmileySans-Oblique.ttf", nil},
	{"fonts-unifont", "/usr/share/fonts/opentype/unifont/unifont.otf", nil},
}

// DefaultPackages lists the Debian packages of DefaultFonts once each, in
// order.
func DefaultPackages() []string {
	var out []string
	seen := map[string]bool{}
	for _, f := range DefaultFonts {
		if !seen[f.Package] {
			seen[f.Package] = true
			out = append(out, f.Package)
		}
	}
	return out
}

// MissingFontsError is returned when files of the default font set are
// not installed; nothing has been written then.
type MissingFontsError struct {
	Packages []string
	Files    []string
}

func (e *MissingFontsError) Error() string {
	return fmt.Sprintf("the default fonts are not installed (missing %s); install them with\n    apt-get install -y --no-install-recommends %s\n(`make` run as root installs them), or pass fonts=[...] with font files or folders",
		strings.Join(e.Files, ", "), strings.Join(e.Packages, " "))
}

// fontSource is one font file to read, with its place in the preference
// order.
type fontSource struct {
	path    string
	pkg     string
	prefer  []string
	size    int64
	modTime int64
}

var fontExts = map[string]bool{".ttf": true, ".otf": true, ".ttc": true, ".otc": true}

// resolveFonts turns the fonts option into the list of files to read: nil
// means DefaultFonts (all of which must exist); otherwise each entry is a
// font file or a folder searched recursively for .ttf, .otf, .ttc and .otc
// files (sorted by path).
func resolveFonts(fonts []string) ([]fontSource, error) {
	if fonts == nil {
		var out []fontSource
		missing := &MissingFontsError{}
		seenPkg := map[string]bool{}
		for _, f := range DefaultFonts {
			st, err := os.Stat(f.Path)
			if err != nil {
				missing.Files = append(missing.Files, f.Path)
				if !seenPkg[f.Package] {
					seenPkg[f.Package] = true
					missing.Packages = append(missing.Packages, f.Package)
				}
				continue
			}
			out = append(out, fontSource{path: f.Path, pkg: f.Package, prefer: f.Prefer, size: st.Size(), modTime: st.ModTime().UnixNano()})
		}
		if len(missing.Files) > 0 {
			return nil, missing
		}
		return out, nil
	}
	if len(fonts) == 0 {
		return nil, errors.New("fonts=[] names no font files or folders")
	}
	var out []fontSource
	seen := map[string]bool{}
	add := func(p string, st os.FileInfo) {
		abs, err := filepath.Abs(p)
		if err == nil {
			p = abs
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, fontSource{path: p, size: st.Size(), modTime: st.ModTime().UnixNano()})
		}
	}
	for _, p := range fonts {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("font %s: %v", p, unwrapPath(err))
		}
		if !st.IsDir() {
			add(p, st)
			continue
		}
		var files []string
		err = filepath.WalkDir(p, func(q string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && fontExts[strings.ToLower(filepath.Ext(q))] {
				files = append(files, q)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("cannot read the font folder %s: %v", p, err)
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("the font folder %s has no .ttf, .otf, .ttc or .otc files", p)
		}
		sort.Strings(files)
		for _, q := range files {
			st, err := os.Stat(q)
			if err != nil {
				return nil, fmt.Errorf("font %s: %v", q, unwrapPath(err))
			}
			add(q, st)
		}
	}
	return out, nil
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// face is one typeface of a font file, parsed.
type face struct {
	Name  string
	Path  string
	Index int
	Pkg   string
	font  *sfnt.Font
	rank  int // preference order: lower is kept first among duplicates
}

// mapFile maps a font file read-only, so that a large collection costs
// page cache rather than heap.
func mapFile(path string) ([]byte, func(), error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if st.Size() == 0 {
		return nil, nil, errors.New("the file is empty")
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, err
	}
	return data, func() { syscall.Munmap(data) }, nil
}

// openFaces parses every face of the font files. A file or face that does
// not parse is skipped with a warning naming it. The returned closer
// unmaps the files; the faces must not be used after it.
func openFaces(srcs []fontSource) (faces []*face, warnings []string, closer func()) {
	var unmaps []func()
	closer = func() {
		for _, u := range unmaps {
			u()
		}
	}
	for si, src := range srcs {
		data, unmap, err := mapFile(src.path)
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("skipping font %s: %v", src.path, unwrapPath(err)))
			continue
		}
		unmaps = append(unmaps, unmap)
		n, err := numFaces(data)
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("skipping font %s: not a TrueType/OpenType font or collection (%v)", src.path, err))
			continue
		}
		fonts, errs := parseFaces(data, n)
		var got []*face
		for i, f := range fonts {
			if f == nil {
				warnings = append(warnings, fmt.Sprintf("skipping face %d of font %s: %v", i, src.path, errs[i]))
				continue
			}
			var b sfnt.Buffer
			name, err := f.Name(&b, sfnt.NameIDFull)
			if err != nil || strings.TrimSpace(name) == "" {
				name = strings.TrimSuffix(filepath.Base(src.path), filepath.Ext(src.path))
				if n > 1 {
					name += fmt.Sprintf(" #%d", i)
				}
			}
			got = append(got, &face{Name: strings.TrimSpace(name), Path: src.path, Index: i, Pkg: src.pkg, font: f})
		}
		// Preferred faces of a file first, then the rest in collection
		// order; files in the order given.
		for k, g := range got {
			g.rank = si*1000 + 100 + k
			for pi, p := range src.prefer {
				if g.Name == p {
					g.rank = si*1000 + pi
				}
			}
		}
		faces = append(faces, got...)
	}
	sort.SliceStable(faces, func(a, b int) bool { return faces[a].rank < faces[b].rank })
	return faces, warnings, closer
}

// numFaces is the number of faces in a font file (1 unless a collection).
func numFaces(data []byte) (n int, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed font: %v", r)
		}
	}()
	c, err := sfnt.ParseCollection(data)
	if err != nil {
		return 0, err
	}
	return c.NumFonts(), nil
}

// parseFaces parses the n faces of a font file; a face that fails has a nil
// font and its error. sfnt requires every table to start on a 4-byte
// boundary, which the OpenType specification asks for but some real fonts
// (AR PL UKai and UMing, WenQuanYi Zen Hei) do not do; such a file is
// copied once with aligned tables and parsed again.
func parseFaces(data []byte, n int) ([]*sfnt.Font, []error) {
	fonts, errs := make([]*sfnt.Font, n), make([]error, n)
	bad := parseAll(data, fonts, errs)
	if bad > 0 {
		if re, err := realign(data); err == nil {
			fonts2, errs2 := make([]*sfnt.Font, n), make([]error, n)
			if parseAll(re, fonts2, errs2) < bad {
				return fonts2, errs2
			}
		}
	}
	return fonts, errs
}

// parseAll parses every face, turning a panic on malformed data into an
// error; it returns how many failed.
func parseAll(data []byte, fonts []*sfnt.Font, errs []error) (bad int) {
	c, err := sfnt.ParseCollection(data)
	for i := range fonts {
		if err != nil {
			errs[i] = err
			bad++
			continue
		}
		func() {
			defer func() {
				if r := recover(); r != nil {
					fonts[i], errs[i] = nil, fmt.Errorf("malformed font: %v", r)
				}
			}()
			fonts[i], errs[i] = c.Font(i)
		}()
		if fonts[i] == nil {
			bad++
		}
	}
	return bad
}

// realign copies an sfnt file or collection with every table moved to a
// 4-byte boundary. Table contents are position-independent (offsets inside
// a table are relative to it), so moving whole tables keeps the font
// valid; tables that faces of a collection share stay shared.
func realign(data []byte) ([]byte, error) {
	bad := errors.New("malformed table directory")
	u32 := func(o int) uint32 { return binary.BigEndian.Uint32(data[o:]) }
	ttc := len(data) >= 12 && string(data[:4]) == "ttcf"
	offsets := []int{0}
	var out []byte
	if ttc {
		n := int(u32(8))
		if n == 0 || n > 1024 || 12+4*n > len(data) {
			return nil, bad
		}
		offsets = offsets[:0]
		for i := 0; i < n; i++ {
			offsets = append(offsets, int(u32(12+4*i)))
		}
		out = make([]byte, 12+4*n)
		copy(out, "ttcf")
		binary.BigEndian.PutUint32(out[4:], 0x00010000)
		binary.BigEndian.PutUint32(out[8:], uint32(n))
	}
	// The faces' table directories first, then the tables.
	type rec struct{ pos, off, n int }
	var recs []rec
	for i, off := range offsets {
		if off < 0 || off+12 > len(data) {
			return nil, bad
		}
		nt := int(binary.BigEndian.Uint16(data[off+4:]))
		hdr := 12 + 16*nt
		if off+hdr > len(data) {
			return nil, bad
		}
		if ttc {
			binary.BigEndian.PutUint32(out[12+4*i:], uint32(len(out)))
		}
		pos := len(out)
		out = append(out, data[off:off+hdr]...)
		for t := 0; t < nt; t++ {
			o, l := int(u32(off+12+16*t+8)), int(u32(off+12+16*t+12))
			if o < 0 || l < 0 || o+l > len(data) {
				return nil, bad
			}
			recs = append(recs, rec{pos + 12 + 16*t, o, l})
		}
	}
	moved := map[[2]int]int{}
	for _, r := range recs {
		at, ok := moved[[2]int{r.off, r.n}]
		if !ok {
			for len(out)%4 != 0 {
				out = append(out, 0)
			}
			at = len(out)
			out = append(out, data[r.off:r.off+r.n]...)
			moved[[2]int{r.off, r.n}] = at
		}
		binary.BigEndian.PutUint32(out[r.pos+8:], uint32(at))
	}
	return out, nil
}

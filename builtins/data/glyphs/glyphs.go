package glyphs

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode"

	"golang.org/x/image/font/sfnt"
)

// formatVersion changes whenever the rendering or the cache layout does,
// so that an old cache is never read as a new one.
const formatVersion = 1

// Options say what to render and where to cache it.
type Options struct {
	Root    string   // cache folder; "" is DefaultRoot()
	Fonts   []string // font files or folders; nil is DefaultFonts
	Charset string   // "gb2312-1", "gb2312", or a string of characters
	Geometry
	Dedup   float64   // near-duplicate threshold; 0 keeps every face
	Workers int       // rendering goroutines; 0 is GOMAXPROCS
	Log     io.Writer // progress and warnings (nil: none)
}

// FaceInfo describes one face.
type FaceInfo struct {
	Name     string `json:"name"`
	File     string `json:"file"`
	Index    int    `json:"index"`
	Package  string `json:"package,omitempty"`
	Slug     string `json:"slug,omitempty"`     // its file name in the image folders
	Coverage int    `json:"coverage,omitempty"` // characters it draws
}

func (f *face) info() FaceInfo {
	return FaceInfo{Name: f.Name, File: f.Path, Index: f.Index, Package: f.Pkg}
}

// Set is a rendered dataset: Pixels holds the images of Chars[0] (one per
// face in FacesOf[0]), then those of Chars[1], and so on.
type Set struct {
	Root       string // the cache entry; images under Root/glyphs/images/<class>/<face>.png
	Size       int
	Charset    string
	Repertoire int        // characters in the charset
	Chars      []rune     // characters with at least one face, in charset order
	Faces      []FaceInfo // kept faces, in preference order
	Dropped    []Dropped  // near-duplicate faces left out
	Unused     []FaceInfo // faces that draw none of the characters
	Warnings   []string   // fonts and faces that could not be read
	FacesOf    [][]int    // per character, the faces (indices into Faces) that draw it
	Offset     []int      // per character, the index of its first image
	Pixels     []byte     // Size x Size bytes per image, read-only (memory-mapped)
	Cached     bool       // read from an existing cache entry
	Seconds    float64    // time to render and write it (this run or when it was made)
}

// Images is the number of images.
func (s *Set) Images() int { return len(s.Pixels) / (s.Size * s.Size) }

// ClassName is how a character is named in reports: "永 U+6C38".
func ClassName(r rune) string { return fmt.Sprintf("%c U+%04X", r, r) }

// ClassFolder is a character's folder in the image tree: its 1-based
// position first, so that sorting by name keeps the charset's order.
func ClassFolder(i int, r rune, n int) string {
	w := max(4, len(strconv.Itoa(n)))
	return fmt.Sprintf("%0*d.%c_U+%04X", w, i+1, r, r)
}

// DefaultRoot is the cache folder: $DADASH_CACHE/glyphs, else
// $XDG_CACHE_HOME/dadash/glyphs, else ~/.cache/dadash/glyphs (as the
// native build's cache).
func DefaultRoot() (string, error) {
	if d := os.Getenv("DADASH_CACHE"); d != "" {
		return filepath.Join(d, "glyphs"), nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache folder (%v); pass root=", err)
	}
	return filepath.Join(d, "dadash", "glyphs"), nil
}

func (o *Options) logf(format string, args ...any) {
	if o.Log != nil {
		fmt.Fprintf(o.Log, "data.glyphs: "+format+"\n", args...)
	}
}

// Load returns the dataset of the options, from the cache when a complete
// entry exists, else rendering it and writing the entry first. A missing
// default font is an error before anything is written; an entry that is
// incomplete or corrupt is rendered again.
func Load(opts Options) (*Set, error) {
	if opts.Charset == "" {
		opts.Charset = "gb2312-1"
	}
	if err := opts.Geometry.check(); err != nil {
		return nil, err
	}
	if opts.Dedup < 0 || opts.Dedup >= 1 {
		return nil, fmt.Errorf("dedup=%g: must be in [0, 1) (0 keeps every face)", opts.Dedup)
	}
	chars, err := Charset(opts.Charset)
	if err != nil {
		return nil, err
	}
	srcs, err := resolveFonts(opts.Fonts)
	if err != nil {
		return nil, err
	}
	root := opts.Root
	if root == "" {
		if root, err = DefaultRoot(); err != nil {
			return nil, err
		}
	}
	key := cacheKey(opts, chars, srcs)
	dir := filepath.Join(root, key)
	if _, err := os.Stat(dir); err == nil {
		s, verr := open(dir)
		if verr == nil {
			return s, nil
		}
		opts.logf("the cache entry %s is incomplete or corrupt (%v); rendering it again", dir, verr)
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("cannot make the cache folder %s: %v", root, unwrapPath(err))
	}
	cleanStale(root)
	tmp, err := os.MkdirTemp(root, fmt.Sprintf(".tmp-%s-%d-", key, os.Getpid()))
	if err != nil {
		return nil, fmt.Errorf("cannot write in the cache folder %s: %v", root, unwrapPath(err))
	}
	if err := build(tmp, key, opts, chars, srcs); err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	if err := install(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	s, err := open(dir)
	if err != nil {
		return nil, fmt.Errorf("the cache entry %s just written does not read back: %v", dir, err)
	}
	s.Cached = false
	return s, nil
}

// cacheKey names a cache entry by everything that decides its content: the
// format, the geometry, the duplicate threshold, the characters and each
// font file's path, size and modification time.
func cacheKey(o Options, chars []rune, srcs []fontSource) string {
	h := sha256.New()
	fmt.Fprintf(h, "glyphs v%d\nsize %d padding %d scale %g dedup %g\nchars %s\n", formatVersion, o.Size, o.Padding, o.Scale, o.Dedup, string(chars))
	for _, s := range srcs {
		fmt.Fprintf(h, "font %q %d %d\n", s.path, s.size, s.modTime)
	}
	return hex.EncodeToString(h.Sum(nil))[:20]
}

// install moves a finished entry into place. If another process installed
// the same entry meanwhile, that one is kept when it is complete; a broken
// one is replaced.
func install(tmp, dir string) error {
	if err := os.Rename(tmp, dir); err == nil {
		syncDir(filepath.Dir(dir))
		return nil
	}
	if _, err := open(dir); err == nil {
		os.RemoveAll(tmp)
		return nil
	}
	old := fmt.Sprintf("%s.old-%d-%d", dir, os.Getpid(), time.Now().UnixNano())
	old = filepath.Join(filepath.Dir(dir), "."+filepath.Base(old))
	if err := os.Rename(dir, old); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("cannot replace the broken cache entry %s: %v", dir, unwrapPath(err))
	}
	os.RemoveAll(old)
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("cannot install the cache entry %s: %v", dir, unwrapPath(err))
	}
	syncDir(filepath.Dir(dir))
	return nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// cleanStale removes the temporary folders of renders whose process is
// gone (killed mid-render); those of live processes are left alone.
func cleanStale(root string) {
	es, err := os.ReadDir(root)
	if err != nil {
		return
	}
	for _, e := range es {
		name := e.Name()
		if !strings.HasPrefix(name, ".tmp-") && !strings.Contains(name, ".old-") {
			continue
		}
		var pid int
		parts := strings.Split(name, "-")
		for i := len(parts) - 2; i >= 1; i-- {
			if p, err := strconv.Atoi(parts[i]); err == nil && p > 0 {
				pid = p
				break
			}
		}
		if pid == 0 || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			os.RemoveAll(filepath.Join(root, name))
		}
	}
}

// ---------------------------------------------------------------- building

// index is the entry's description, glyphs/index.json.
type index struct {
	Format     int        `json:"format"`
	Key        string     `json:"key"`
	Charset    string     `json:"charset"`
	Repertoire int        `json:"repertoire"`
	Size       int        `json:"image_size"`
	Padding    int        `json:"padding"`
	Scale      float64    `json:"scale"`
	Dedup      float64    `json:"dedup"`
	Fonts      []string   `json:"fonts"`
	Faces      []FaceInfo `json:"faces"`
	Dropped    []Dropped  `json:"dropped"`
	Unused     []FaceInfo `json:"unused"`
	Warnings   []string   `json:"warnings"`
	Characters string     `json:"characters"`
	FacesOf    [][]int    `json:"faces_of"`
	Images     int        `json:"images"`
	Seconds    float64    `json:"seconds"`
}

// marker is the entry's completion record, COMPLETE, written last: the
// sizes and CRC-32C checksums of the array and the index.
type marker struct {
	Format     int    `json:"format"`
	PixelsSize int64  `json:"pixels_size"`
	PixelsCRC  uint32 `json:"pixels_crc32c"`
	IndexSize  int64  `json:"index_size"`
	IndexCRC   uint32 `json:"index_crc32c"`
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

const (
	pixelsFile = "glyphs/pixels.u8"
	indexFile  = "glyphs/index.json"
	markerFile = "COMPLETE"
)

func build(tmp, key string, o Options, chars []rune, srcs []fontSource) error {
	start := time.Now()
	faces, warnings, closeFonts := openFaces(srcs)
	defer closeFonts()
	for _, w := range warnings {
		o.logf("warning: %s", w)
	}
	workers := o.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}

	// Coverage from each face's character map. A glyph that several
	// characters share is a placeholder (a "no such character" box), not a
	// drawing of any of them.
	gis := make([][]sfnt.GlyphIndex, len(faces))
	var inUse []*face
	var inUseGIs [][]sfnt.GlyphIndex
	var unused []FaceInfo
	rd := newRenderer(o.Geometry)
	for fi, f := range faces {
		gis[fi] = make([]sfnt.GlyphIndex, len(chars))
		count := map[sfnt.GlyphIndex]int{}
		n := 0
		for ci, r := range chars {
			if gi := rd.glyphIndex(f.font, r); gi != 0 {
				gis[fi][ci] = gi
				count[gi]++
				n++
			}
		}
		for ci, gi := range gis[fi] {
			if gi != 0 && count[gi] > 2 {
				gis[fi][ci] = 0
				n--
			}
		}
		if n == 0 {
			unused = append(unused, f.info())
			continue
		}
		inUse = append(inUse, f)
		inUseGIs = append(inUseGIs, gis[fi])
	}
	if len(faces) == 0 {
		return fmt.Errorf("no font face could be read from %s (see the warnings)", fontList(srcs))
	}
	if len(inUse) == 0 {
		return fmt.Errorf("none of the %d faces found (%s) draws any of the %d characters of charset %q", len(faces), fontList(srcs), len(chars), clip(o.Charset))
	}
	kept, dropped := dedup(inUse, chars, o.Dedup)
	keptGIs := make([][]sfnt.GlyphIndex, len(kept))
	for ki, k := range kept {
		for ui, u := range inUse {
			if u == k {
				keptGIs[ki] = inUseGIs[ui]
			}
		}
	}
	o.logf("rendering %d characters in %d faces at %d px into %s (once; later runs read this cache)", len(chars), len(kept), o.Size, filepath.Dir(tmp))
	logDropped(o, kept, dropped)

	// Render in parallel, characters in chunks.
	n := o.Size * o.Size
	pix := make([][]byte, len(chars)) // faces x n bytes per character
	have := make([][]bool, len(chars))
	failed := make([]int, len(kept))
	firstErr := make([]error, len(kept))
	var mu sync.Mutex
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rd := newRenderer(o.Geometry)
			for ci := range next {
				buf := make([]byte, len(kept)*n)
				hv := make([]bool, len(kept))
				for fi, f := range kept {
					gi := keptGIs[fi][ci]
					if gi == 0 {
						continue
					}
					ok, err := rd.render(f.font, gi, buf[fi*n:(fi+1)*n])
					if err != nil {
						mu.Lock()
						failed[fi]++
						if firstErr[fi] == nil {
							firstErr[fi] = fmt.Errorf("%c U+%04X: %v", chars[ci], chars[ci], err)
						}
						mu.Unlock()
					}
					hv[fi] = ok && err == nil
				}
				pix[ci], have[ci] = buf, hv
			}
		}()
	}
	for ci := range chars {
		next <- ci
	}
	close(next)
	wg.Wait()
	for fi, c := range failed {
		if c > 0 {
			w := fmt.Sprintf("%d glyphs of %s (%s) failed to load and were left out (first: %v)", c, kept[fi].Name, kept[fi].Path, firstErr[fi])
			warnings = append(warnings, w)
			o.logf("warning: %s", w)
		}
	}

	// The faces' names in the image folders, unique.
	infos := make([]FaceInfo, len(kept))
	slugs := map[string]bool{}
	for fi, f := range kept {
		infos[fi] = f.info()
		s := slug(f.Name)
		for k := 2; slugs[s]; k++ {
			s = fmt.Sprintf("%s-%d", slug(f.Name), k)
		}
		slugs[s] = true
		infos[fi].Slug = s
	}
	idx := index{Format: formatVersion, Key: key, Charset: o.Charset, Repertoire: len(chars), Size: o.Size, Padding: o.Padding,
		Scale: o.Scale, Dedup: o.Dedup, Faces: infos, Dropped: dropped, Unused: unused, Warnings: warnings}
	for _, s := range srcs {
		idx.Fonts = append(idx.Fonts, s.path)
	}
	var rendered []rune
	var classPix [][]byte
	var classFaces [][]int
	for ci, r := range chars {
		var fs []int
		for fi, ok := range have[ci] {
			if ok {
				fs = append(fs, fi)
				infos[fi].Coverage++
			}
		}
		if len(fs) == 0 {
			continue
		}
		rendered = append(rendered, r)
		classFaces = append(classFaces, fs)
		classPix = append(classPix, pix[ci])
		idx.Images += len(fs)
	}
	if len(rendered) == 0 {
		return fmt.Errorf("the %d faces found draw none of the %d characters of charset %q (all glyphs empty)", len(kept), len(chars), clip(o.Charset))
	}
	idx.Characters, idx.FacesOf = string(rendered), classFaces

	// The image folders (in parallel), then the array, the index and the
	// completion marker, each synced; the caller renames the folder into
	// place, so a reader sees all of it or nothing.
	if err := writePNGs(tmp, rendered, classFaces, classPix, infos, o.Size, workers); err != nil {
		return err
	}
	pixPath := filepath.Join(tmp, pixelsFile)
	var crc uint32
	var size int64
	if err := writeSynced(pixPath, func(w io.Writer) error {
		for ci, fs := range classFaces {
			for _, fi := range fs {
				b := classPix[ci][fi*n : (fi+1)*n]
				crc = crc32.Update(crc, castagnoli, b)
				size += int64(len(b))
				if _, err := w.Write(b); err != nil {
					return err
				}
			}
		}
		return nil
	}); err != nil {
		return err
	}
	idx.Seconds = time.Since(start).Seconds()
	js, err := json.Marshal(idx)
	if err != nil {
		return err
	}
	if err := writeSynced(filepath.Join(tmp, indexFile), func(w io.Writer) error { _, err := w.Write(js); return err }); err != nil {
		return err
	}
	m := marker{Format: formatVersion, PixelsSize: size, PixelsCRC: crc, IndexSize: int64(len(js)), IndexCRC: crc32.Checksum(js, castagnoli)}
	mj, _ := json.Marshal(m)
	if err := writeSynced(filepath.Join(tmp, markerFile), func(w io.Writer) error { _, err := w.Write(mj); return err }); err != nil {
		return err
	}
	syncDir(tmp)
	return nil
}

// logDropped says, per kept face, which near-duplicates it stands for.
func logDropped(o Options, kept []*face, dropped []Dropped) {
	if len(dropped) == 0 {
		return
	}
	o.logf("left out %d near-duplicate faces (region variants, monospaced or proportional variants, close weights, clones; mean difference in brackets):", len(dropped))
	for _, k := range kept {
		var parts []string
		for _, d := range dropped {
			if d.DuplicateOf == k.Name {
				parts = append(parts, fmt.Sprintf("%s (%.3f)", d.Face.Name, d.Difference))
			}
		}
		if len(parts) > 0 {
			o.logf("  kept %s for %s", k.Name, strings.Join(parts, ", "))
		}
	}
}

func fontList(srcs []fontSource) string {
	var ps []string
	for i, s := range srcs {
		if i == 3 {
			ps = append(ps, fmt.Sprintf("and %d more", len(srcs)-3))
			break
		}
		ps = append(ps, s.path)
	}
	return strings.Join(ps, ", ")
}

func slug(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	s := strings.TrimSuffix(b.String(), "-")
	if s == "" {
		s = "face"
	}
	return s
}

func writeSynced(path string, write func(io.Writer) error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := write(bw); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

type pngPool struct{ b *png.EncoderBuffer }

func (p *pngPool) Get() *png.EncoderBuffer  { return p.b }
func (p *pngPool) Put(b *png.EncoderBuffer) { p.b = b }

func writePNGs(tmp string, chars []rune, facesOf [][]int, pix [][]byte, faces []FaceInfo, size, workers int) error {
	base := filepath.Join(tmp, "glyphs", "images")
	n := size * size
	var wg sync.WaitGroup
	var once sync.Once
	var firstErr error
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A small image stored uncompressed still fits one 4 KB disk
			// block, and skipping deflate halves the time of a first run.
			level := png.BestSpeed
			if size*(size+1)+100 <= 4096 {
				level = png.NoCompression
			}
			enc := &png.Encoder{CompressionLevel: level, BufferPool: &pngPool{}}
			for ci := range next {
				dir := filepath.Join(base, ClassFolder(ci, chars[ci], len(chars)))
				if err := os.MkdirAll(dir, 0o755); err != nil {
					once.Do(func() { firstErr = err })
					continue
				}
				for _, fi := range facesOf[ci] {
					img := &image.Gray{Pix: pix[ci][fi*n : (fi+1)*n], Stride: size, Rect: image.Rect(0, 0, size, size)}
					f, err := os.Create(filepath.Join(dir, faces[fi].Slug+".png"))
					if err == nil {
						bw := bufio.NewWriterSize(f, 4096)
						err = enc.Encode(bw, img)
						if err == nil {
							err = bw.Flush()
						}
						if cerr := f.Close(); err == nil {
							err = cerr
						}
					}
					if err != nil {
						once.Do(func() { firstErr = err })
					}
				}
			}
		}()
	}
	for ci := range chars {
		next <- ci
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return fmt.Errorf("writing the image folders under %s: %v", base, firstErr)
	}
	return nil
}

// ---------------------------------------------------------------- reading

var (
	mapsMu sync.Mutex
	maps   = map[string][]byte{} // path, inode and size -> mapping, kept for the process's life
)

// open reads a complete cache entry, checking the marker's sizes and
// checksums, and maps the array.
func open(dir string) (*Set, error) {
	mb, err := os.ReadFile(filepath.Join(dir, markerFile))
	if err != nil {
		return nil, fmt.Errorf("no completion marker: %v", unwrapPath(err))
	}
	var m marker
	if err := json.Unmarshal(mb, &m); err != nil {
		return nil, fmt.Errorf("unreadable completion marker: %v", err)
	}
	if m.Format != formatVersion {
		return nil, fmt.Errorf("format %d, not %d", m.Format, formatVersion)
	}
	js, err := os.ReadFile(filepath.Join(dir, indexFile))
	if err != nil {
		return nil, fmt.Errorf("no index: %v", unwrapPath(err))
	}
	if int64(len(js)) != m.IndexSize || crc32.Checksum(js, castagnoli) != m.IndexCRC {
		return nil, fmt.Errorf("%s does not match its checksum", indexFile)
	}
	var idx index
	if err := json.Unmarshal(js, &idx); err != nil {
		return nil, fmt.Errorf("unreadable index: %v", err)
	}
	chars := []rune(idx.Characters)
	if len(chars) != len(idx.FacesOf) || idx.Size <= 0 {
		return nil, errors.New("the index is inconsistent")
	}
	pix, err := mapPixels(filepath.Join(dir, pixelsFile), m)
	if err != nil {
		return nil, err
	}
	n := idx.Size * idx.Size
	if len(pix) != idx.Images*n {
		return nil, fmt.Errorf("%s holds %d bytes, the index says %d images of %d", pixelsFile, len(pix), idx.Images, n)
	}
	s := &Set{Root: dir, Size: idx.Size, Charset: idx.Charset, Repertoire: idx.Repertoire, Chars: chars, Faces: idx.Faces,
		Dropped: idx.Dropped, Unused: idx.Unused, Warnings: idx.Warnings, FacesOf: idx.FacesOf, Pixels: pix, Cached: true, Seconds: idx.Seconds}
	s.Offset = make([]int, len(chars))
	off := 0
	for ci, fs := range idx.FacesOf {
		s.Offset[ci] = off
		for _, fi := range fs {
			if fi < 0 || fi >= len(idx.Faces) {
				return nil, errors.New("the index names a face that is not there")
			}
		}
		off += len(fs)
	}
	if off != idx.Images {
		return nil, errors.New("the index's image count is inconsistent")
	}
	return s, nil
}

func mapPixels(path string, m marker) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("no array: %v", unwrapPath(err))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() != m.PixelsSize {
		return nil, fmt.Errorf("%s has %d bytes, the marker says %d", pixelsFile, st.Size(), m.PixelsSize)
	}
	if st.Size() == 0 {
		return nil, fmt.Errorf("%s is empty", pixelsFile)
	}
	var ino uint64
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		ino = sys.Ino
	}
	id := fmt.Sprintf("%s\x00%d\x00%d\x00%d", path, ino, st.Size(), st.ModTime().UnixNano())
	mapsMu.Lock()
	defer mapsMu.Unlock()
	if b, ok := maps[id]; ok {
		return b, nil
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("cannot map %s: %v", path, err)
	}
	if crc32.Checksum(b, castagnoli) != m.PixelsCRC {
		syscall.Munmap(b)
		return nil, fmt.Errorf("%s does not match its checksum", pixelsFile)
	}
	maps[id] = b
	return b, nil
}

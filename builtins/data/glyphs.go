package data

import (
	"fmt"
	"sort"
	"strings"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/builtins/data/glyphs"
	"github.com/dadash/dadash/lang"
)

const docGlyphs = `data.glyphs(root=None, fonts=None, charset="gb2312-1", train_classes=None, test_classes=None,
            min_faces=None, image_size=32, padding=None, scale=1.0, dedup=0.05, augment=False,
            split=None, transform=None, workers=None)

Unseen CJK characters drawn by many typefaces: a class is a character, its images are that character in
each distinct face. Classes split by character as CUB's 100/100: the first train_classes characters are
.train, the next test_classes .test (default: half and the rest), each labelled 0..n-1 and named by the
character and its code point ("永 U+6C38"). Images are gray (1 channel, white ink on black, like
fashion_mnist): put data.grayscale_to_rgb() in the transform for RGB models.

Fonts: by default 9 Debian packages that the Makefile installs (fonts-noto-cjk, fonts-arphic-ukai,
fonts-arphic-uming, fonts-wqy-zenhei, fonts-droid-fallback, fonts-hanazono, fonts-lxgw-wenkai,
fonts-smiley-sans, fonts-unifont): 12 distinct faces that each draw all 3,755 characters of GB2312
level 1. fonts=[...] takes font files and folders (.ttf, .otf, .ttc, .otc; folders searched recursively)
instead. A file that does not parse is skipped with a warning. Coverage comes from each face's character
map (empty and shared placeholder glyphs do not count); a character is a class when at least min_faces
faces draw it (default: every face).
charset: "gb2312-1" (3,755 hanzi), "gb2312" (6,763), or a string of characters; classes keep its order
(GB2312's is by pinyin, so the split mixes radicals).
Near-duplicates: faces whose renderings differ from an earlier face by a mean of less than dedup (a
fraction of full ink, over up to 128 characters at 32 px) are kept once: region variants of a
collection, monospaced and proportional variants, clones. ds.faces and ds.dropped_faces say which.
Geometry: the em square spans (image_size - 2*padding) * scale pixels (padding defaults to
image_size/16), and each glyph's outline box is centred; a glyph too big for the padded box is shrunk.
augment=True adds glyph jitter to .train's transform, before transform: a random affine map (rotation
and shear up to 5 degrees, scale 0.9-1.1, shift up to 5% of the size) and stroke thickness (a blend
with a 3x3 dilation or erosion, up to half of it), drawn per (loader seed, epoch, position, index)
like the other augmentations; a dict {"degrees", "translate", "scale", "shear", "thickness"} sets them.
Cache: rendered once, in parallel (workers), into <root>/<key>/ (root defaults to
~/.cache/dadash/glyphs; key from the font files' paths, sizes and times and the rendering options) as
glyphs/images/<NNNN.char_U+XXXX>/<face>.png (read by data.image_folder) and one array that is
memory-mapped, written to a temporary folder and renamed into place; an entry that is incomplete or
corrupt is rendered again.`

// glyphAugment is data.glyphs' training augmentation.
type glyphAugment struct {
	degrees, translate, shear, thickness float64
	scale                                [2]float64
}

var defaultGlyphAugment = glyphAugment{degrees: 5, translate: 0.05, shear: 5, thickness: 0.5, scale: [2]float64{0.9, 1.1}}

func (o *glyphAugment) String() string {
	return fmt.Sprintf("glyph_jitter(degrees=%s, translate=%s, scale=(%s, %s), shear=%s, thickness=%s)", fmtFloat(o.degrees),
		fmtFloat(o.translate), fmtFloat(o.scale[0]), fmtFloat(o.scale[1]), fmtFloat(o.shear), fmtFloat(o.thickness))
}

func (o *glyphAugment) apply(s *sample) error {
	m, err := s.image("glyph_jitter")
	if err != nil {
		return err
	}
	r := s.rng
	j := glyphs.Jitter{
		Rotate:    r.Uniform(-o.degrees, o.degrees),
		Shear:     r.Uniform(-o.shear, o.shear),
		Scale:     r.Uniform(o.scale[0], o.scale[1]),
		TX:        r.Uniform(-o.translate, o.translate) * float64(m.W),
		TY:        r.Uniform(-o.translate, o.translate) * float64(m.H),
		Thickness: r.Uniform(-o.thickness, o.thickness),
	}
	m.Pix = j.Apply(m.Pix, m.W, m.H, m.C)
	return nil
}

func glyphAugmentArg(fn string, v starlark.Value) (*glyphAugment, error) {
	switch x := v.(type) {
	case nil, starlark.NoneType:
		return nil, nil
	case starlark.Bool:
		if !x {
			return nil, nil
		}
		a := defaultGlyphAugment
		return &a, nil
	case *starlark.Dict:
		a := defaultGlyphAugment
		for _, item := range x.Items() {
			k, ok := starlark.AsString(item[0])
			if !ok {
				return nil, fmt.Errorf("%s: augment's keys are strings, got %s", fn, item[0].Type())
			}
			var err error
			num := func(dst *float64, lo, hi float64) {
				f, ok := starlark.AsFloat(item[1])
				if !ok || f < lo || f > hi {
					err = fmt.Errorf("%s: augment[%q] must be a number in [%g, %g], got %s", fn, k, lo, hi, item[1])
					return
				}
				*dst = f
			}
			switch k {
			case "degrees":
				num(&a.degrees, 0, 180)
			case "translate":
				num(&a.translate, 0, 0.5)
			case "shear":
				num(&a.shear, 0, 45)
			case "thickness":
				num(&a.thickness, 0, 1)
			case "scale":
				a.scale, err = pairArg(fn, `augment["scale"]`, item[1])
				if err == nil && !(a.scale[0] > 0 && a.scale[0] <= a.scale[1]) {
					err = fmt.Errorf("%s: augment[\"scale\"] must be (lo, hi) with 0 < lo <= hi, got %s", fn, item[1])
				}
			default:
				return nil, fmt.Errorf("%s: augment has no setting %q (degrees, translate, scale, shear, thickness)", fn, k)
			}
			if err != nil {
				return nil, err
			}
		}
		return &a, nil
	}
	return nil, fmt.Errorf("%s: augment must be True, False or a dict of settings, got %s", fn, v.Type())
}

func optInt(fn, name string, v starlark.Value, def int) (int, error) {
	if v == nil || v == starlark.None {
		return def, nil
	}
	i, err := starlark.AsInt32(v)
	if err != nil {
		return 0, fmt.Errorf("%s: %s must be an int, got %s", fn, name, v.Type())
	}
	return i, nil
}

func fnGlyphs(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	fn := b.Name()
	var rootV, fontsV, trainV, testV, minV, padV, augV, tv, workersV starlark.Value
	charset, sp := "gb2312-1", ""
	size, scale, dedupT := 32, 1.0, glyphs.DefaultDedup
	if err := starlark.UnpackArgs(fn, args, kwargs, "root?", &rootV, "fonts?", &fontsV, "charset?", &charset,
		"train_classes?", &trainV, "test_classes?", &testV, "min_faces?", &minV, "image_size?", &size,
		"padding?", &padV, "scale?", &scale, "dedup?", &dedupT, "augment?", &augV, "split?", &sp,
		"transform?", &tv, "workers?", &workersV); err != nil {
		return nil, err
	}
	opts := glyphs.Options{Charset: charset, Dedup: dedupT, Log: lang.Stderr(thread)}
	if rootV != nil && rootV != starlark.None {
		s, ok := starlark.AsString(rootV)
		if !ok {
			return nil, fmt.Errorf("%s: root must be a folder path, got %s", fn, rootV.Type())
		}
		opts.Root = s
	}
	if fontsV != nil && fontsV != starlark.None {
		if s, ok := starlark.AsString(fontsV); ok {
			opts.Fonts = []string{s}
		} else {
			it, ok := fontsV.(starlark.Iterable)
			if !ok {
				return nil, fmt.Errorf("%s: fonts must be a list of font files or folders, got %s", fn, fontsV.Type())
			}
			opts.Fonts = []string{}
			iter := it.Iterate()
			var e starlark.Value
			for iter.Next(&e) {
				s, ok := starlark.AsString(e)
				if !ok {
					iter.Done()
					return nil, fmt.Errorf("%s: fonts must be paths (strings), got an element of type %s", fn, e.Type())
				}
				opts.Fonts = append(opts.Fonts, s)
			}
			iter.Done()
		}
	}
	var err error
	pad, err := optInt(fn, "padding", padV, (size+8)/16)
	if err != nil {
		return nil, err
	}
	if opts.Workers, err = optInt(fn, "workers", workersV, 0); err != nil {
		return nil, err
	}
	opts.Geometry = glyphs.Geometry{Size: size, Padding: pad, Scale: scale}
	aug, err := glyphAugmentArg(fn, augV)
	if err != nil {
		return nil, err
	}
	tr, err := transformArg(fn, tv)
	if err != nil {
		return nil, err
	}
	if sp != "" && sp != "train" && sp != "test" {
		return nil, fmt.Errorf("%s: no split %q (the splits are train, test)", fn, sp)
	}

	set, err := glyphs.Load(opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn, err)
	}
	if set.Cached {
		for _, w := range set.Warnings {
			fmt.Fprintf(lang.Stderr(thread), "data.glyphs: warning: %s\n", w)
		}
	}
	faces := len(set.Faces)
	if faces < 2 {
		return nil, fmt.Errorf("%s: only %d distinct face draws the characters (fonts: %s); a class needs at least two images, so give fonts with at least two distinct faces", fn, faces, fontsDesc(opts.Fonts))
	}
	minFaces, err := optInt(fn, "min_faces", minV, faces)
	if err != nil {
		return nil, err
	}
	if minFaces < 2 {
		return nil, fmt.Errorf("%s: min_faces=%d: must be at least 2 (a class needs two images for a positive pair)", fn, minFaces)
	}
	if minFaces > faces {
		return nil, fmt.Errorf("%s: min_faces=%d, but only %d distinct faces were found (%d near-duplicates left out)", fn, minFaces, faces, len(set.Dropped))
	}
	var eligible []int
	for ci, fs := range set.FacesOf {
		if len(fs) >= minFaces {
			eligible = append(eligible, ci)
		}
	}
	nTrain, err := optInt(fn, "train_classes", trainV, len(eligible)/2)
	if err != nil {
		return nil, err
	}
	nTest, err := optInt(fn, "test_classes", testV, len(eligible)-nTrain)
	if err != nil {
		return nil, err
	}
	if nTrain < 1 || nTest < 1 {
		return nil, fmt.Errorf("%s: train_classes=%d and test_classes=%d: each must be at least 1 (%d characters are drawn by at least %d faces)", fn, nTrain, nTest, len(eligible), minFaces)
	}
	if nTrain+nTest > len(eligible) {
		return nil, fmt.Errorf("%s: train_classes=%d and test_classes=%d need %d characters, but only %d of the %d characters of charset %q are drawn by at least min_faces=%d of the %d faces",
			fn, nTrain, nTest, nTrain+nTest, len(eligible), set.Repertoire, clipName(charset), minFaces, faces)
	}

	n := set.Size * set.Size
	mk := func(name string, classes []int, t *Transform) *Dataset {
		s := split{name: name}
		var ranges [][2]int
		for label, ci := range classes {
			s.classes = append(s.classes, glyphs.ClassName(set.Chars[ci]))
			lo := set.Offset[ci]
			hi := lo + len(set.FacesOf[ci])
			for i := lo; i < hi; i++ {
				s.labels = append(s.labels, int32(label))
			}
			if k := len(ranges); k > 0 && ranges[k-1][1] == lo {
				ranges[k-1][1] = hi
			} else {
				ranges = append(ranges, [2]int{lo, hi})
			}
		}
		ds := newDataset(thread, "glyphs", set.Root, s, t)
		if len(ranges) == 1 {
			// One run of the array: use the mapping itself, no copy.
			ds.mem = set.Pixels[ranges[0][0]*n : ranges[0][1]*n : ranges[0][1]*n]
		} else {
			ds.mem = make([]byte, 0, len(s.labels)*n)
			for _, r := range ranges {
				ds.mem = append(ds.mem, set.Pixels[r[0]*n:r[1]*n]...)
			}
		}
		ds.memW, ds.memH = set.Size, set.Size
		return ds
	}
	trainTr := tr
	if aug != nil {
		trainTr = &Transform{ops: []op{aug}}
		if tr != nil {
			trainTr.ops = append(trainTr.ops, tr.ops...)
		}
	}
	g := &glyphGroup{Group: &Group{name: "glyphs", root: set.Root, splits: map[string]*Dataset{}}, set: set, minFaces: minFaces}
	for _, part := range []struct {
		name   string
		lo, hi int
		t      *Transform
	}{{"train", 0, nTrain, trainTr}, {"test", nTrain, nTrain + nTest, tr}} {
		g.order = append(g.order, part.name)
		g.splits[part.name] = mk(part.name, eligible[part.lo:part.hi], part.t)
	}
	if sp != "" {
		return g.splits[sp], nil
	}
	return g, nil
}

func fontsDesc(fonts []string) string {
	if fonts == nil {
		return "the default set"
	}
	return strings.Join(fonts, ", ")
}

func clipName(s string) string {
	if r := []rune(s); len(r) > 20 {
		return string(r[:20]) + "..."
	}
	return s
}

// glyphGroup is data.glyphs' result: the splits, plus what was rendered.
type glyphGroup struct {
	*Group
	set      *glyphs.Set
	minFaces int
}

func (g *glyphGroup) String() string {
	return strings.TrimSuffix(g.Group.String(), ">") + fmt.Sprintf("; %d faces at %d px>", len(g.set.Faces), g.set.Size)
}

var glyphGroupAttrs = []string{"dropped_faces", "faces", "image_size", "min_faces"}

func (g *glyphGroup) AttrNames() []string {
	names := append(g.Group.AttrNames(), glyphGroupAttrs...)
	sort.Strings(names)
	return names
}

func (g *glyphGroup) Attr(name string) (starlark.Value, error) {
	switch name {
	case "faces":
		out := make([]string, len(g.set.Faces))
		for i, f := range g.set.Faces {
			out[i] = f.Name
		}
		return stringList(out), nil
	case "dropped_faces":
		out := make([]string, len(g.set.Dropped))
		for i, d := range g.set.Dropped {
			out[i] = d.String()
		}
		return stringList(out), nil
	case "image_size":
		return starlark.MakeInt(g.set.Size), nil
	case "min_faces":
		return starlark.MakeInt(g.minFaces), nil
	}
	return g.Group.Attr(name)
}

package glyphs

import (
	"fmt"
	"sort"
)

// The near-duplicate test: faces are compared on up to dedupSample
// characters of the repertoire (evenly spaced) that both draw, rendered at
// 32 pixels whatever the dataset's size, so the set of faces does not
// depend on image_size. Measured on Debian's CJK fonts (GB2312 level 1,
// mean absolute difference as a fraction of full ink): monospaced and
// proportional variants and clones 0.000-0.001; region variants of Noto
// CJK 0.005-0.030; the GB glyphs of AR PL UKai and UMing against AR PL
// KaitiM GB and SungtiL GB 0.03-0.04; the light and bold weights of LXGW
// WenKai against its regular 0.03-0.04; distinct designs 0.08 and more
// (Noto Sans SC against Droid Sans Fallback 0.088, AR PL UKai against
// TW-Kai 0.084). The default threshold, 0.05, sits in that gap.
const (
	dedupSample = 128
	dedupMin    = 16 // fewer common characters than this: not comparable, both kept
	// DefaultDedup is the default threshold.
	DefaultDedup = 0.05
)

var dedupGeometry = Geometry{Size: 32, Padding: 2, Scale: 1}

// Dropped is a face left out as a near-duplicate of a kept one.
type Dropped struct {
	Face        FaceInfo `json:"face"`
	DuplicateOf string   `json:"duplicate_of"`
	Difference  float64  `json:"difference"`
	Compared    int      `json:"compared"`
}

func (d Dropped) String() string {
	return fmt.Sprintf("%s (%s) is a near-duplicate of %s: mean difference %.4f over %d characters",
		d.Face.Name, d.Face.File, d.DuplicateOf, d.Difference, d.Compared)
}

// dedup keeps, in preference order, each face that differs from every face
// kept before it by at least threshold; threshold <= 0 keeps all.
func dedup(faces []*face, chars []rune, threshold float64) (kept []*face, dropped []Dropped) {
	if threshold <= 0 || len(faces) < 2 {
		return faces, nil
	}
	var sample []rune
	if len(chars) <= dedupSample {
		sample = chars
	} else {
		for i := 0; i < dedupSample; i++ {
			sample = append(sample, chars[i*len(chars)/dedupSample])
		}
	}
	n := dedupGeometry.Size * dedupGeometry.Size
	rd := newRenderer(dedupGeometry)
	imgs := make([][][]byte, len(faces)) // nil where the face lacks the character
	for fi, f := range faces {
		imgs[fi] = make([][]byte, len(sample))
		for ci, r := range sample {
			gi := rd.glyphIndex(f.font, r)
			if gi == 0 {
				continue
			}
			px := make([]byte, n)
			if ok, err := rd.render(f.font, gi, px); ok && err == nil {
				imgs[fi][ci] = px
			}
		}
	}
	var keptIdx []int
	for fi, f := range faces {
		best, bestD, bestN := -1, 0.0, 0
		for _, ki := range keptIdx {
			sum, cnt := 0.0, 0
			for ci := range sample {
				a, b := imgs[fi][ci], imgs[ki][ci]
				if a == nil || b == nil {
					continue
				}
				sum += meanAbsDiff(a, b)
				cnt++
			}
			if cnt < dedupMin && cnt < len(sample) {
				continue
			}
			if cnt == 0 {
				continue
			}
			d := sum / float64(cnt)
			if best < 0 || d < bestD {
				best, bestD, bestN = ki, d, cnt
			}
		}
		if best >= 0 && bestD < threshold {
			dropped = append(dropped, Dropped{Face: f.info(), DuplicateOf: faces[best].Name, Difference: bestD, Compared: bestN})
			continue
		}
		keptIdx = append(keptIdx, fi)
	}
	sort.Ints(keptIdx)
	for _, ki := range keptIdx {
		kept = append(kept, faces[ki])
	}
	return kept, dropped
}

func meanAbsDiff(a, b []byte) float64 {
	s := 0
	for i := range a {
		d := int(a[i]) - int(b[i])
		if d < 0 {
			d = -d
		}
		s += d
	}
	return float64(s) / float64(len(a)) / 255
}

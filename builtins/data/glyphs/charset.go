package glyphs

import (
	"fmt"
	"unicode"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// Charsets are the named repertoires. GB2312 orders its hanzi by pinyin
// within each level, so a first-part/rest split of the classes mixes
// radicals and stroke counts between training and test; Unicode's order
// groups characters by radical, which would put whole radicals (water,
// grass, speech, metal...) on one side of the split.
var Charsets = map[string]string{
	"gb2312-1": "GB2312 level 1: the 3,755 most common simplified hanzi, in GB2312 code order (by pinyin)",
	"gb2312":   "GB2312 levels 1 and 2: 6,763 hanzi in GB2312 code order (level 1 by pinyin, then level 2 by radical)",
}

// Charset returns the characters of a named repertoire in its own order,
// or, for any other string, the distinct ideographs of the string in the
// order given.
func Charset(name string) ([]rune, error) {
	switch name {
	case "gb2312-1":
		return gb2312(0xB0, 0xD7)
	case "gb2312":
		return gb2312(0xB0, 0xF7)
	}
	var out []rune
	seen := map[rune]bool{}
	for _, r := range name {
		if r == ' ' || r == '\n' || r == '\t' || r == ',' {
			continue
		}
		if !unicode.Is(unicode.Han, r) {
			return nil, fmt.Errorf("charset=%q: not a known repertoire (gb2312-1, gb2312) nor a string of CJK ideographs (%q is U+%04X)", clip(name), r, r)
		}
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("charset=%q holds no characters", name)
	}
	return out, nil
}

func clip(s string) string {
	if r := []rune(s); len(r) > 20 {
		return string(r[:20]) + "..."
	}
	return s
}

// gb2312 decodes the GB2312 rows hi0..hi1 (EUC-CN lead bytes), skipping
// the unassigned cells at the end of row 55 (0xD7FA-0xD7FE).
func gb2312(hi0, hi1 int) ([]rune, error) {
	dec := simplifiedchinese.GBK.NewDecoder()
	var out []rune
	for hi := hi0; hi <= hi1; hi++ {
		for lo := 0xA1; lo <= 0xFE; lo++ {
			if hi == 0xD7 && lo > 0xF9 {
				continue
			}
			s, err := dec.Bytes([]byte{byte(hi), byte(lo)})
			if err != nil {
				return nil, fmt.Errorf("decoding GB2312 0x%02X%02X: %v", hi, lo, err)
			}
			rs := []rune(string(s))
			if len(rs) != 1 || !unicode.Is(unicode.Han, rs[0]) {
				return nil, fmt.Errorf("GB2312 0x%02X%02X decodes to %q, not one hanzi", hi, lo, s)
			}
			out = append(out, rs[0])
		}
	}
	return out, nil
}

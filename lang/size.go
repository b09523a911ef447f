package lang

import (
	"strconv"
	"strings"
)

// Size formats a shape as PyTorch prints sizes: torch.Size([2, 3]). Every
// message that names a shape uses it, so that shapes read one way.
func Size[T ~int | ~int32 | ~int64](shape []T) string {
	var b strings.Builder
	b.WriteString("torch.Size([")
	for i, d := range shape {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.FormatInt(int64(d), 10))
	}
	b.WriteString("])")
	return b.String()
}

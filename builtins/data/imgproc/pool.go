package imgproc

import (
	"math/bits"
	"sync"
)

// pixPools hold pixel buffers of images that are no longer used (decoded
// images consumed by a resize, resize intermediates), so a worker decoding
// image after image does not allocate (and zero) half a megabyte each time.
// Buffers are pooled by power-of-two capacity, so the varying sizes of
// crops and intermediates do not make a pool of one size useless to the
// next request.
var pixPools [48]sync.Pool // *[]uint8 of capacity >= 1<<class

// getPix returns a buffer of n bytes with arbitrary contents.
func getPix(n int) []uint8 {
	class := bits.Len(uint(max(n, 1) - 1)) // the smallest 1<<class >= n
	if class < len(pixPools) {
		if p, ok := pixPools[class].Get().(*[]uint8); ok {
			return (*p)[:n]
		}
		return make([]uint8, n, 1<<class)
	}
	return make([]uint8, n)
}

// Recycle gives m's pixels back for reuse. Only for an image nothing else
// references any more; m is empty afterwards.
func Recycle(m *Image) {
	if m == nil || cap(m.Pix) == 0 {
		return
	}
	p := m.Pix[:0]
	m.Pix, m.W, m.H = nil, 0, 0
	if class := bits.Len(uint(cap(p))) - 1; class < len(pixPools) { // 1<<class <= cap
		pixPools[class].Put(&p)
	}
}

package imgproc

import "sync"

// pixPool holds pixel buffers of images that are no longer used (decoded
// images consumed by a resize, resize intermediates), so a worker decoding
// image after image does not allocate (and zero) half a megabyte each time.
var pixPool sync.Pool // *[]uint8

// getPix returns a buffer of n bytes with arbitrary contents.
func getPix(n int) []uint8 {
	if p, ok := pixPool.Get().(*[]uint8); ok && cap(*p) >= n {
		return (*p)[:n]
	}
	// A pooled buffer too small is dropped: the pool settles on the
	// largest size in use.
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
	pixPool.Put(&p)
}

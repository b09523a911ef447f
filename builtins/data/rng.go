package data

import "math"

// rng is a small generator with a specified algorithm (xoshiro256**,
// seeded through splitmix64), so that sampler orders and augmentations
// are the same on every machine and Go version: a resumed run or a rerun
// sees exactly the batches of the original.
type rng struct{ s [4]uint64 }

func splitmix(x *uint64) uint64 {
	*x += 0x9e3779b97f4a7c15
	z := *x
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Streams keep the generators of different purposes independent.
const (
	streamSampler   = 0x5a4d
	streamTransform = 0x7a3f
	streamSynthetic = 0x51e7
)

// newRNG derives a generator from a key: (seed, stream, epoch, position, ...).
func newRNG(key ...uint64) *rng {
	h := uint64(0x243f6a8885a308d3)
	for _, k := range key {
		h ^= k
		h = splitmix(&h)
	}
	r := &rng{}
	for i := range r.s {
		r.s[i] = splitmix(&h)
	}
	return r
}

func rotl(x uint64, k uint) uint64 { return (x << k) | (x >> (64 - k)) }

func (r *rng) Uint64() uint64 {
	s := &r.s
	out := rotl(s[1]*5, 7) * 9
	t := s[1] << 17
	s[2] ^= s[0]
	s[3] ^= s[1]
	s[1] ^= s[2]
	s[0] ^= s[3]
	s[2] ^= t
	s[3] = rotl(s[3], 45)
	return out
}

// Float64 is uniform in [0, 1).
func (r *rng) Float64() float64 { return float64(r.Uint64()>>11) / (1 << 53) }

// Uniform is uniform in [a, b).
func (r *rng) Uniform(a, b float64) float64 { return a + (b-a)*r.Float64() }

// Intn is uniform in [0, n), without modulo bias.
func (r *rng) Intn(n int) int {
	if n <= 1 {
		return 0
	}
	bound := uint64(n)
	limit := math.MaxUint64 - math.MaxUint64%bound
	for {
		if v := r.Uint64(); v < limit {
			return int(v % bound)
		}
	}
}

// Perm is a uniformly random permutation of 0..n-1 (Fisher-Yates).
func (r *rng) Perm(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	for i := n - 1; i > 0; i-- {
		j := r.Intn(i + 1)
		p[i], p[j] = p[j], p[i]
	}
	return p
}

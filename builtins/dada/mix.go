package dada

import (
	"fmt"
	"sort"

	"github.com/dadash/dadash/builtins/torch/aten"
)

// sampleBeta draws m ~ Beta(a, b) from libtorch's default CPU generator, so
// torch.manual_seed makes runs reproducible on any device. Beta(a, b) is the
// first coordinate of Dirichlet(a, b), which is how torch.distributions.Beta
// samples. (The reference draws with numpy; numpy's stream cannot be
// reproduced here, only its distribution.) Tests replace it.
var sampleBeta = func(a, b float64) (float64, error) {
	alpha, err := aten.FromFloat64s([]float64{a, b}, 2)
	if err != nil {
		return 0, err
	}
	var v []float64
	err = aten.NoGrad(func() error {
		s, err := aten.Run("_sample_dirichlet", aten.T(alpha))
		if err != nil {
			return err
		}
		v, err = s.Float64s()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sampling Beta(%g, %g): %w", a, b, err)
	}
	return v[0], nil
}

// posPairs picks DADA's positive pairs: for every class with two or more
// samples, the anchor is its first sample in the batch and the positive its
// second, classes in ascending order. This is what the reference's
// get_pos_pairs yields (all same-label pairs in row-major order, then the
// first pair of each unique label).
func posPairs(labels []int64) (anchors, positives []int64) {
	first := map[int64]int64{}
	second := map[int64]int64{}
	for i, y := range labels {
		if _, ok := first[y]; !ok {
			first[y] = int64(i)
		} else if _, ok := second[y]; !ok {
			second[y] = int64(i)
		}
	}
	classes := make([]int64, 0, len(second))
	for y := range second {
		classes = append(classes, y)
	}
	sort.Slice(classes, func(i, j int) bool { return classes[i] < classes[j] })
	for _, y := range classes {
		anchors = append(anchors, first[y])
		positives = append(positives, second[y])
	}
	return anchors, positives
}

// batch is what the discriminators and the proxy loss see: embeddings,
// labels and the proxy of each row (after positive-pair mixup, if on).
type batch struct {
	x, y, p aten.Tensor
	// extended reports that positive-pair mixup appended rows; the proxy
	// loss then gets p as its per-sample positive proxies.
	extended bool
}

// posMix appends m*x_a + (1-m)*x_p with label y_a and proxy p_a for each
// positive pair (m ~ Beta(2, 2), one per call). A batch without a class of
// two samples is returned unchanged and draws nothing.
func posMix(c *calc, b batch, labels []int64) batch {
	anchors, positives := posPairs(labels)
	if len(anchors) == 0 || c.Err != nil {
		return b
	}
	m, err := sampleBeta(2, 2)
	c.check(err)
	ia, err := aten.FromInt64s(anchors, int64(len(anchors)))
	c.check(err)
	ip, err := aten.FromInt64s(positives, int64(len(positives)))
	c.check(err)
	if c.Err != nil {
		return b
	}
	if dev := b.x.Device(); dev != "cpu" {
		ia, err = ia.To(-1, dev, false)
		c.check(err)
		ip, err = ip.To(-1, dev, false)
		c.check(err)
	}
	mixed := c.add(c.scale(c.rows(b.x, ia), m), c.scale(c.rows(b.x, ip), 1-m))
	return batch{
		x:        c.cat(b.x, mixed),
		y:        c.cat(b.y, c.rows(b.y, ia)),
		p:        c.cat(b.p, c.rows(b.p, ia)),
		extended: true,
	}
}

// mixer draws the mixing coefficient of the random mode and mixes.
type mixer struct {
	mode  string
	o     options
	w     aten.Tensor // mix_w: 1 x d (individual) or 2d x d (linear)
	m     float64
	drawn bool
}

// draw samples a new m (random mode only; the learnable modes draw nothing).
func (mx *mixer) draw(c *calc) {
	if mx.mode != "random" || c.Err != nil {
		return
	}
	m, err := sampleBeta(mx.o.mixAlpha, mx.o.mixBeta)
	c.check(err)
	mx.m, mx.drawn = m, true
}

// mix is DADA's sample-proxy mixup, with s = shift_scale in (-1, 1]:
//
//	random:     s >= 0: (1 - m s) x + m s p;  s < 0: m s' x + (1 - m s') p, s' = s + 1
//	individual: w * x + (1 - w) * p            (w: 1 x d, learnable)
//	linear:     [x, p] @ W                     (W: 2d x d, learnable)
func (mx *mixer) mix(c *calc, x, p aten.Tensor) aten.Tensor {
	switch mx.mode {
	case "random":
		if !mx.drawn {
			mx.draw(c)
		}
		m, s := mx.m, mx.o.shiftScale
		if s >= 0 {
			return c.add(c.scale(x, 1-m*s), c.scale(p, m*s))
		}
		s++
		return c.add(c.scale(x, m*s), c.scale(p, 1-m*s))
	case "individual":
		return c.add(c.mul(mx.w, x), c.mul(c.op("rsub", aten.T(mx.w), aten.F(1)), p))
	case "linear":
		return c.op("mm", aten.T(c.op("cat", aten.Ts(x, p), aten.I(1))), aten.T(mx.w))
	}
	c.check(fmt.Errorf("unknown mix_mode %q", mx.mode))
	return aten.Tensor{}
}

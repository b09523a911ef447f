package data

import (
	"fmt"

	"go.starlark.net/starlark"
)

// Sampler orders a dataset for one epoch. Its order is a pure function of
// (seed, epoch), so a run resumed from a checkpoint sees the same batches.
// A class-balanced sampler yields whole batches; the others yield indices
// that the loader cuts into batches.
type Sampler struct {
	kind      string // "class_balanced", "random", "sequential"
	dataset   string // the dataset's description, for printing
	n         int
	byClass   [][]int
	batchSize int
	spc       int
	seed      uint64
	epoch     int
	// Data-parallel sharding (num_replicas > 1): this process's contiguous
	// part of each global batch (class-balanced) or of the dataset
	// (sequential), so that the parts of ranks 0, 1, ... in order are the
	// single-process batch or order.
	replicas, rank int
}

// part is the [lo, hi) of n items that rank takes (all of them when unsharded).
func (s *Sampler) part(n int) (lo, hi int) {
	if s.replicas <= 1 {
		return 0, n
	}
	return s.rank * n / s.replicas, (s.rank + 1) * n / s.replicas
}

// posOffset is the position in the epoch of this process's first item of a
// batch (class-balanced) or of the epoch (sequential), so that the loader
// keys augmentations by the single-process position.
func (s *Sampler) posOffset() int {
	if s.batchSampler() {
		lo, _ := s.part(s.batchSize)
		return lo
	}
	lo, _ := s.part(s.n)
	return lo
}

func (s *Sampler) shardString() string {
	if s.replicas <= 1 {
		return ""
	}
	return fmt.Sprintf(", rank %d of %d", s.rank, s.replicas)
}

var (
	_ starlark.HasAttrs = (*Sampler)(nil)
	_ starlark.Sequence = (*Sampler)(nil)
)

func (s *Sampler) String() string {
	switch s.kind {
	case "class_balanced":
		return fmt.Sprintf("<class_balanced_sampler of %s: batch_size=%d, samples_per_class=%d, seed=%d, epoch=%d, %d batches%s>", s.dataset, s.batchSize, s.spc, s.seed, s.epoch, s.Len(), s.shardString())
	case "random":
		return fmt.Sprintf("<random_sampler of %s: seed=%d, epoch=%d>", s.dataset, s.seed, s.epoch)
	}
	return fmt.Sprintf("<sequential_sampler of %s%s>", s.dataset, s.shardString())
}
func (s *Sampler) Type() string          { return "data.Sampler" }
func (s *Sampler) Freeze()               {}
func (s *Sampler) Truth() starlark.Bool  { return true }
func (s *Sampler) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: data.Sampler") }

// batchSampler reports whether the sampler yields whole batches.
func (s *Sampler) batchSampler() bool { return s.kind == "class_balanced" }

// Len is the number of batches (class-balanced) or of indices.
func (s *Sampler) Len() int {
	if s.batchSampler() {
		return s.n / s.batchSize
	}
	lo, hi := s.part(s.n)
	return hi - lo
}

// order returns the epoch's indices (index samplers).
func (s *Sampler) order(epoch int) []int {
	if s.kind == "random" {
		return newRNG(s.seed, streamSampler, uint64(epoch)).Perm(s.n)
	}
	lo, hi := s.part(s.n)
	out := make([]int, hi-lo)
	for i := range out {
		out[i] = lo + i
	}
	return out
}

// batches returns the epoch's batches as DADA's reference samples them:
// N // batch_size batches, each of batch_size / samples_per_class classes
// drawn uniformly with replacement, with samples_per_class images of each,
// distinct unless the class has fewer images. A sharded sampler draws the
// same global batches and keeps its part of each.
func (s *Sampler) batches(epoch int) [][]int {
	r := newRNG(s.seed, streamSampler, uint64(epoch))
	var classes []int
	for c, idx := range s.byClass {
		if len(idx) > 0 {
			classes = append(classes, c)
		}
	}
	out := make([][]int, s.Len())
	for b := range out {
		batch := make([]int, 0, s.batchSize)
		for range s.batchSize / s.spc {
			members := s.byClass[classes[r.Intn(len(classes))]]
			batch = append(batch, pick(r, members, s.spc)...)
		}
		lo, hi := s.part(len(batch))
		out[b] = batch[lo:hi]
	}
	return out
}

// pick draws k of members: without replacement when there are enough
// (Floyd's algorithm, O(k) for big classes), else with replacement.
func pick(r *rng, members []int, k int) []int {
	n := len(members)
	out := make([]int, 0, k)
	if n < k {
		for range k {
			out = append(out, members[r.Intn(n)])
		}
		return out
	}
	chosen := make(map[int]bool, k)
	for j := n - k; j < n; j++ {
		t := r.Intn(j + 1)
		if chosen[t] {
			t = j
		}
		chosen[t] = true
		out = append(out, members[t])
	}
	return out
}

// Iterate yields the current epoch's batches (lists) or indices.
func (s *Sampler) Iterate() starlark.Iterator {
	if s.batchSampler() {
		bs := s.batches(s.epoch)
		vals := make([]starlark.Value, len(bs))
		for i, b := range bs {
			vals[i] = intList(b)
		}
		return starlark.NewList(vals).Iterate()
	}
	return intList(s.order(s.epoch)).Iterate()
}

var samplerAttrs = []string{"batch_size", "epoch", "kind", "load_state_dict", "num_replicas", "rank", "samples_per_class", "seed", "set_epoch", "state_dict"}

func (s *Sampler) AttrNames() []string { return samplerAttrs }

func (s *Sampler) Attr(name string) (starlark.Value, error) {
	switch name {
	case "kind":
		return starlark.String(s.kind), nil
	case "epoch":
		return starlark.MakeInt(s.epoch), nil
	case "num_replicas":
		return starlark.MakeInt(max(s.replicas, 1)), nil
	case "rank":
		return starlark.MakeInt(s.rank), nil
	case "seed":
		return starlark.MakeUint64(s.seed), nil
	case "batch_size":
		if !s.batchSampler() {
			return starlark.None, nil
		}
		return starlark.MakeInt(s.batchSize), nil
	case "samples_per_class":
		if !s.batchSampler() {
			return starlark.None, nil
		}
		return starlark.MakeInt(s.spc), nil
	case "set_epoch":
		return method(s, name, "sampler.set_epoch(epoch): use the order of that epoch (a function of seed and epoch).", s.setEpoch), nil
	case "state_dict":
		return method(s, name, "sampler.state_dict(): {kind, seed, epoch, ...} to save in a checkpoint.", s.stateDict), nil
	case "load_state_dict":
		return method(s, name, "sampler.load_state_dict(state): restores seed and epoch from state_dict().", s.loadStateDict), nil
	}
	return nil, nil
}

func (s *Sampler) setEpoch(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var e int
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "epoch", &e); err != nil {
		return nil, err
	}
	if e < 0 {
		return nil, fmt.Errorf("%s: epoch must be >= 0, got %d", b.Name(), e)
	}
	s.epoch = e
	return starlark.None, nil
}

func (s *Sampler) state() *starlark.Dict {
	d := starlark.NewDict(6)
	d.SetKey(starlark.String("kind"), starlark.String(s.kind))
	d.SetKey(starlark.String("seed"), starlark.MakeUint64(s.seed))
	d.SetKey(starlark.String("epoch"), starlark.MakeInt(s.epoch))
	d.SetKey(starlark.String("num_samples"), starlark.MakeInt(s.n))
	if s.batchSampler() {
		d.SetKey(starlark.String("batch_size"), starlark.MakeInt(s.batchSize))
		d.SetKey(starlark.String("samples_per_class"), starlark.MakeInt(s.spc))
	}
	return d
}

func (s *Sampler) stateDict(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	return s.state(), nil
}

func (s *Sampler) loadStateDict(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var st starlark.IterableMapping
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "state", &st); err != nil {
		return nil, err
	}
	return starlark.None, s.load(b.Name(), st)
}

func (s *Sampler) load(fn string, st starlark.IterableMapping) error {
	get := func(key string) (starlark.Value, error) {
		v, ok, err := st.Get(starlark.String(key))
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("%s: the state has no %q (expected a dict from sampler.state_dict())", fn, key)
		}
		return v, nil
	}
	kind, err := get("kind")
	if err != nil {
		return err
	}
	if k, _ := starlark.AsString(kind); k != s.kind {
		return fmt.Errorf("%s: the state is of a %s sampler, this is a %s sampler", fn, k, s.kind)
	}
	check := func(key string, want int) error {
		v, err := get(key)
		if err != nil {
			return err
		}
		if got, err := starlark.AsInt32(v); err != nil || got != want {
			return fmt.Errorf("%s: the state has %s=%s but this sampler has %d: it was saved for another dataset or configuration", fn, key, v, want)
		}
		return nil
	}
	if err := check("num_samples", s.n); err != nil {
		return err
	}
	if s.batchSampler() {
		if err := check("batch_size", s.batchSize); err != nil {
			return err
		}
		if err := check("samples_per_class", s.spc); err != nil {
			return err
		}
	}
	seedV, err := get("seed")
	if err != nil {
		return err
	}
	var seed uint64
	if err := starlark.AsInt(seedV, &seed); err != nil {
		return fmt.Errorf("%s: seed: %v", fn, err)
	}
	epochV, err := get("epoch")
	if err != nil {
		return err
	}
	epoch, err := starlark.AsInt32(epochV)
	if err != nil || epoch < 0 {
		return fmt.Errorf("%s: epoch must be an int >= 0, got %s", fn, epochV)
	}
	s.seed, s.epoch = seed, epoch
	return nil
}

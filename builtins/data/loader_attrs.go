package data

import (
	"fmt"

	"go.starlark.net/starlark"
)

var loaderAttrs = []string{"batch", "batch_size", "dataset", "drop_last", "epoch", "indices", "load_state_dict",
	"max_bad_fraction", "max_pixels", "prefetch", "sampler", "seed", "set_epoch", "skip_bad", "state_dict", "stats", "transform",
	"wait_seconds", "workers"}

func (l *Loader) AttrNames() []string { return loaderAttrs }

func (l *Loader) Attr(name string) (starlark.Value, error) {
	switch name {
	case "batch_size":
		return starlark.MakeInt(l.batchSize), nil
	case "dataset":
		return l.ds, nil
	case "sampler":
		return l.sampler, nil
	case "transform":
		if l.transform == nil {
			return starlark.None, nil
		}
		return l.transform, nil
	case "workers":
		return starlark.MakeInt(l.workers), nil
	case "prefetch":
		return starlark.MakeInt(l.prefetch), nil
	case "seed":
		return starlark.MakeUint64(l.seed), nil
	case "drop_last":
		return starlark.Bool(l.dropLast), nil
	case "skip_bad":
		return starlark.Bool(l.skipBad), nil
	case "max_bad_fraction":
		return starlark.Float(l.maxBad), nil
	case "max_pixels":
		if l.opt.maxPixels < 0 {
			return starlark.None, nil
		}
		return starlark.MakeInt64(l.opt.maxPixels), nil
	case "epoch":
		return starlark.MakeInt(l.currentEpoch()), nil
	case "wait_seconds":
		l.mu.Lock()
		defer l.mu.Unlock()
		return starlark.Float(l.wait.Seconds()), nil
	case "stats":
		return method(l, name, "loader.stats(): how long the consumer waited for data: wait_seconds (all batches but the first of each epoch), max_wait_seconds, waits (batches not ready when asked for), startup_seconds (first batches), batches, samples; skipped (images skip_bad left out, all epochs) and skipped_files (the first few).", l.stats), nil
	case "set_epoch":
		return method(l, name, "loader.set_epoch(epoch): the next for loop runs that epoch (each for loop otherwise runs the next epoch).", l.setEpoch), nil
	case "state_dict":
		return method(l, name, "loader.state_dict(): {epoch, batch, seed, ...}: where the run is, to resume mid-epoch with load_state_dict.", l.stateDict), nil
	case "load_state_dict":
		return method(l, name, "loader.load_state_dict(state): the next for loop continues the saved epoch after its last yielded batch.", l.loadStateDict), nil
	case "indices":
		return method(l, name, "loader.indices(epoch=None): the dataset indices of every batch of an epoch (default: the next), as lists.", l.indicesFn), nil
	case "batch":
		return method(l, name, "loader.batch(k, epoch=None): batch k of an epoch (default: the next), loaded now: (images, labels, indices).", l.batchFn), nil
	}
	return nil, nil
}

func (l *Loader) stats(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	d := starlark.NewDict(8)
	d.SetKey(starlark.String("batches"), starlark.MakeInt64(l.batchesOut))
	d.SetKey(starlark.String("samples"), starlark.MakeInt64(l.samplesOut))
	d.SetKey(starlark.String("wait_seconds"), starlark.Float(l.wait.Seconds()))
	d.SetKey(starlark.String("max_wait_seconds"), starlark.Float(l.maxWait.Seconds()))
	d.SetKey(starlark.String("waits"), starlark.MakeInt64(l.waits))
	d.SetKey(starlark.String("startup_seconds"), starlark.Float(l.firstWait.Seconds()))
	d.SetKey(starlark.String("skipped"), starlark.MakeInt64(l.skipped))
	files := make([]starlark.Value, len(l.skippedFiles))
	for i, f := range l.skippedFiles {
		files[i] = starlark.String(f)
	}
	d.SetKey(starlark.String("skipped_files"), starlark.NewList(files))
	return d, nil
}

func (l *Loader) setEpoch(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var e int
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "epoch", &e); err != nil {
		return nil, err
	}
	if e < 0 {
		return nil, fmt.Errorf("%s: epoch must be >= 0, got %d", b.Name(), e)
	}
	l.mu.Lock()
	l.epoch, l.resume = e, 0
	l.mu.Unlock()
	return starlark.None, nil
}

func (l *Loader) stateDict(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	l.mu.Lock()
	epoch, batch := l.epoch, l.resume
	if p := l.cur; p != nil && p.next < len(p.batches) {
		epoch, batch = p.epoch, p.next
	}
	l.mu.Unlock()
	d := starlark.NewDict(6)
	d.SetKey(starlark.String("epoch"), starlark.MakeInt(epoch))
	d.SetKey(starlark.String("batch"), starlark.MakeInt(batch))
	d.SetKey(starlark.String("seed"), starlark.MakeUint64(l.seed))
	d.SetKey(starlark.String("num_samples"), starlark.MakeInt(l.ds.Len()))
	d.SetKey(starlark.String("batch_size"), starlark.MakeInt(l.batchSize))
	d.SetKey(starlark.String("sampler"), l.sampler.state())
	return d, nil
}

func (l *Loader) loadStateDict(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var st starlark.IterableMapping
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "state", &st); err != nil {
		return nil, err
	}
	geti := func(key string) (int, error) {
		v, ok, err := st.Get(starlark.String(key))
		if err != nil {
			return 0, err
		}
		if !ok {
			return 0, fmt.Errorf("%s: the state has no %q (expected a dict from loader.state_dict())", b.Name(), key)
		}
		i, err := starlark.AsInt32(v)
		if err != nil || i < 0 {
			return 0, fmt.Errorf("%s: %s must be an int >= 0, got %s", b.Name(), key, v)
		}
		return i, nil
	}
	vals := map[string]int{}
	for _, k := range []string{"epoch", "batch", "seed", "num_samples", "batch_size"} {
		v, err := geti(k)
		if err != nil {
			return nil, err
		}
		vals[k] = v
	}
	if vals["num_samples"] != l.ds.Len() || vals["batch_size"] != l.batchSize {
		return nil, fmt.Errorf("%s: the state is of a loader over %d images in batches of %d, this one has %d images in batches of %d", b.Name(), vals["num_samples"], vals["batch_size"], l.ds.Len(), l.batchSize)
	}
	if sv, ok, _ := st.Get(starlark.String("sampler")); ok {
		sm, ok := sv.(starlark.IterableMapping)
		if !ok {
			return nil, fmt.Errorf("%s: sampler must be a dict, got %s", b.Name(), sv.Type())
		}
		if err := l.sampler.load(b.Name(), sm); err != nil {
			return nil, err
		}
	}
	if vals["batch"] > l.Len() {
		return nil, fmt.Errorf("%s: batch %d is past the %d batches of an epoch", b.Name(), vals["batch"], l.Len())
	}
	l.mu.Lock()
	l.seed = uint64(vals["seed"])
	l.epoch, l.resume = vals["epoch"], vals["batch"]
	l.mu.Unlock()
	return starlark.None, nil
}

func (l *Loader) epochArg(v starlark.Value, fn string) (int, error) {
	if v == nil || v == starlark.None {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.epoch, nil
	}
	e, err := starlark.AsInt32(v)
	if err != nil || e < 0 {
		return 0, fmt.Errorf("%s: epoch must be an int >= 0, got %s", fn, v)
	}
	return e, nil
}

func (l *Loader) indicesFn(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var ev starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "epoch?", &ev); err != nil {
		return nil, err
	}
	e, err := l.epochArg(ev, b.Name())
	if err != nil {
		return nil, err
	}
	plan := l.plan(e)
	out := make([]starlark.Value, len(plan))
	for i, p := range plan {
		out[i] = intList(p)
	}
	return starlark.NewList(out), nil
}

func (l *Loader) batchFn(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var k int
	var ev starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "k", &k, "epoch?", &ev); err != nil {
		return nil, err
	}
	e, err := l.epochArg(ev, b.Name())
	if err != nil {
		return nil, err
	}
	plan := l.plan(e)
	if k < 0 || k >= len(plan) {
		return nil, fmt.Errorf("%s: batch %d out of range (%d batches)", b.Name(), k, len(plan))
	}
	r := l.loadBatch(e, k, plan[k])
	if r.err != nil {
		return nil, r.err
	}
	l.warn(r.bad)
	if r.n == 0 {
		return starlark.None, nil
	}
	return starlark.Tuple{tensorOf(r.images), tensorOf(r.labels), tensorOf(r.indices)}, nil
}

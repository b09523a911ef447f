package data

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/builtins/torch"
	"github.com/dadash/dadash/builtins/torch/aten"
	"github.com/dadash/dadash/lang"
)

// Loader decodes and augments batches in background goroutines. Each image
// draws its augmentation from a generator keyed by (seed, epoch, position
// in the epoch, index), and batches are assembled in order, so the batches
// are the same for any number of workers and any scheduling.
type Loader struct {
	thread    *starlark.Thread
	ds        *Dataset
	sampler   *Sampler
	batchSize int
	transform *Transform
	workers   int
	prefetch  int
	seed      uint64
	dropLast  bool
	skipBad   bool
	maxBad    float64 // the largest fraction of an epoch skip_bad may skip
	opt       decodeOpts

	mu     sync.Mutex
	epoch  int   // the epoch of the next pass
	resume int   // batches to skip at the start of the next pass
	cur    *pass // the pass being iterated
	warned map[int]bool

	// Images skipped (skip_bad) over all passes, and the first few of them.
	skipped      int64
	skippedFiles []string

	// Consumer-side statistics: how long Next waited for a batch.
	batchesOut, samplesOut int64
	wait, firstWait        time.Duration
	maxWait                time.Duration
	waits                  int64
}

var (
	_ starlark.HasAttrs = (*Loader)(nil)
	_ starlark.Sequence = (*Loader)(nil)
)

func (l *Loader) String() string {
	return fmt.Sprintf("<data.loader of %s: %d batches of %d, workers=%d, prefetch=%d, seed=%d, epoch=%d>",
		l.ds.desc(), l.Len(), l.batchSize, l.workers, l.prefetch, l.seed, l.currentEpoch())
}
func (l *Loader) Type() string          { return "data.Loader" }
func (l *Loader) Freeze()               {}
func (l *Loader) Truth() starlark.Bool  { return true }
func (l *Loader) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: data.Loader") }

// Len is the number of batches in an epoch.
func (l *Loader) Len() int {
	if l.sampler.batchSampler() {
		return l.sampler.Len()
	}
	n := l.sampler.Len()
	if l.dropLast {
		return n / l.batchSize
	}
	return (n + l.batchSize - 1) / l.batchSize
}

// plan returns an epoch's batches of dataset indices.
func (l *Loader) plan(epoch int) [][]int {
	if l.sampler.batchSampler() {
		return l.sampler.batches(epoch)
	}
	order := l.sampler.order(epoch)
	out := make([][]int, 0, l.Len())
	for lo := 0; lo < len(order); lo += l.batchSize {
		hi := min(lo+l.batchSize, len(order))
		if hi-lo < l.batchSize && l.dropLast {
			break
		}
		out = append(out, order[lo:hi])
	}
	return out
}

func (l *Loader) currentEpoch() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cur != nil {
		return l.cur.epoch
	}
	return l.epoch
}

// ---------------------------------------------------------------- one batch

// batchJob collects the samples of one batch as workers finish them.
type batchJob struct {
	b     int
	idx   []int
	items []*chw
	errs  []error
	left  atomic.Int32
}

// batchResult is an assembled batch, or why there is none.
type batchResult struct {
	images, labels, indices aten.Tensor
	n                       int
	err                     error
	bad                     []badItem
}

type badItem struct {
	index int
	err   error
}

// loadOne runs one sample of a batch through the transform.
func (l *Loader) loadOne(epoch int, j *batchJob, slot int) {
	// A worker goroutine's panic would end the process: make it this
	// sample's error, which the loop reports at the script's line.
	defer func() {
		if r := recover(); r != nil {
			j.errs[slot] = &lang.PanicError{Func: "data.loader", Value: r}
		}
	}()
	i := j.idx[slot]
	pos := uint64(j.b*l.batchSize + l.sampler.posOffset() + slot)
	s, err := l.ds.load(i, l.transform, newRNG(l.seed, streamTransform, uint64(epoch), pos, uint64(i)), l.opt)
	if err == nil {
		j.items[slot], err = s.finish()
		if err != nil {
			err = fmt.Errorf("%s: %w", s.path, err)
		}
	}
	j.errs[slot] = err
}

var bufPool sync.Pool // *[]float32 batch buffers (FromData copies, so they are reused)

// assemble stacks the finished samples into (images, labels, indices).
func (l *Loader) assemble(j *batchJob) *batchResult {
	r := &batchResult{}
	var keep []int
	for slot, err := range j.errs {
		if err == nil {
			keep = append(keep, slot)
			continue
		}
		if !l.skipBad {
			r.err = err
			return r
		}
		r.bad = append(r.bad, badItem{j.idx[slot], err})
	}
	if len(keep) == 0 {
		return r
	}
	first := j.items[keep[0]]
	per := first.C * first.H * first.W
	for _, slot := range keep {
		if t := j.items[slot]; t.C != first.C || t.H != first.H || t.W != first.W {
			r.err = fmt.Errorf("data.loader: images in a batch differ in size: %dx%dx%d (index %d) and %dx%dx%d (index %d); add a resize or crop to the transform so that every image has one size",
				first.C, first.H, first.W, j.idx[keep[0]], t.C, t.H, t.W, j.idx[slot])
			return r
		}
	}
	n := len(keep)
	var buf []float32
	if p, ok := bufPool.Get().(*[]float32); ok && cap(*p) >= n*per {
		buf = (*p)[:n*per]
	} else {
		buf = make([]float32, n*per)
	}
	labels := make([]int64, n)
	indices := make([]int64, n)
	for k, slot := range keep {
		copy(buf[k*per:(k+1)*per], j.items[slot].Data)
		recycleCHW(j.items[slot])
		j.items[slot] = nil
		indices[k] = int64(j.idx[slot])
		labels[k] = int64(l.ds.labels[j.idx[slot]])
	}
	var err error
	if r.images, err = aten.FromFloat32s(buf, int64(n), int64(first.C), int64(first.H), int64(first.W)); err == nil {
		if r.labels, err = aten.FromInt64s(labels, int64(n)); err == nil {
			r.indices, err = aten.FromInt64s(indices, int64(n))
		}
	}
	bufPool.Put(&buf)
	r.n, r.err = n, err
	return r
}

func newJob(b int, idx []int) *batchJob {
	j := &batchJob{b: b, idx: idx, items: make([]*chw, len(idx)), errs: make([]error, len(idx))}
	j.left.Store(int32(len(idx)))
	return j
}

// loadBatch loads batch b of an epoch on the calling goroutine.
func (l *Loader) loadBatch(epoch, b int, idx []int) *batchResult {
	j := newJob(b, idx)
	for slot := range idx {
		l.loadOne(epoch, j, slot)
	}
	return l.assemble(j)
}

// ---------------------------------------------------------------- a pass

// pass is one iteration over an epoch: a producer queues the samples of
// up to prefetch batches ahead of the consumer, workers transform them, and
// whichever worker finishes a batch's last sample assembles its tensors.
type pass struct {
	l       *Loader
	epoch   int
	batches [][]int
	next    int
	parent  context.Context // the run's context (Ctrl-C)
	ctx     context.Context
	cancel  context.CancelFunc
	done    []chan *batchResult
	slots   chan struct{}
	wg      sync.WaitGroup
	stopped bool
	started bool
	waited  bool // the first batch has been waited for

	// skip_bad's accounting, kept by the consumer (under l.mu for stats).
	total    int      // images in the batches this pass iterates
	skipped  int      // images skipped so far
	badFiles []string // the first few of them
	failed   bool     // ended by an error or an interruption: no summary
}

func (l *Loader) startPass(epoch, skip int) *pass {
	p := &pass{l: l, epoch: epoch, batches: l.plan(epoch), next: skip, parent: lang.Context(l.thread)}
	for _, b := range p.batches[min(skip, len(p.batches)):] {
		p.total += len(b)
	}
	p.ctx, p.cancel = context.WithCancel(p.parent)
	if l.workers == 0 || p.next >= len(p.batches) {
		return p
	}
	p.done = make([]chan *batchResult, len(p.batches))
	for i := range p.done {
		p.done[i] = make(chan *batchResult, 1)
	}
	p.slots = make(chan struct{}, l.prefetch)
	tasks := make(chan func(), 2*l.workers)
	p.wg.Add(1 + l.workers)
	first := p.next // the consumer owns p.next from here on
	go func() {
		defer p.wg.Done()
		defer close(tasks)
		for b := first; b < len(p.batches); b++ {
			select {
			case p.slots <- struct{}{}:
			case <-p.ctx.Done():
				return
			}
			j := newJob(b, p.batches[b])
			if len(j.idx) == 0 {
				p.done[b] <- &batchResult{}
				continue
			}
			for slot := range j.idx {
				t := func() {
					l.loadOne(epoch, j, slot)
					if j.left.Add(-1) == 0 {
						p.done[j.b] <- l.assemble(j)
					}
				}
				select {
				case tasks <- t:
				case <-p.ctx.Done():
					return
				}
			}
		}
	}()
	for range l.workers {
		go func() {
			defer p.wg.Done()
			// A worker's tensor work (assembling a batch: large copies
			// that libtorch parallelises) runs on one OpenMP thread: the
			// cores belong to the training step, and a second team of
			// spinning or sleeping threads per worker would only contend
			// with it. The thread is not unlocked, so it ends with the
			// worker and the cap never reaches other goroutines.
			runtime.LockOSThread()
			aten.LimitThisThread(1)
			for t := range tasks {
				if p.ctx.Err() == nil {
					t()
				}
			}
		}()
	}
	p.started = true
	return p
}

// stop ends the goroutines and waits for them, so an abandoned or
// interrupted pass leaves nothing running.
func (p *pass) stop() {
	if p.stopped {
		return
	}
	p.stopped = true
	p.cancel()
	p.wg.Wait()
	p.l.mu.Lock()
	if p.l.cur == p {
		p.l.cur = nil
	}
	p.l.mu.Unlock()
	if p.skipped > 0 && !p.failed {
		fmt.Fprintf(lang.Stderr(p.l.thread), "warning: data.loader: epoch %d of %s skipped %s\n", p.epoch, p.l.ds.desc(), p.skippedSummary())
	}
}

// skippedSummary says how many images the pass skipped and names the
// first few.
func (p *pass) skippedSummary() string {
	s := fmt.Sprintf("%d of its %d images (%.3g%%) that could not be loaded: %s", p.skipped, p.total,
		100*float64(p.skipped)/float64(max(p.total, 1)), strings.Join(p.badFiles, ", "))
	if more := p.skipped - len(p.badFiles); more > 0 {
		s += fmt.Sprintf(" and %d more", more)
	}
	return s
}

// Iterate starts the next epoch (see set_epoch and load_state_dict). Each
// pass has its own goroutines, so nested loops over one loader work; the
// newest is the one state_dict describes.
func (l *Loader) Iterate() starlark.Iterator {
	l.mu.Lock()
	epoch, skip := l.epoch, l.resume
	l.epoch, l.resume = epoch+1, 0
	l.mu.Unlock()
	if l.sampler != nil {
		l.sampler.epoch = epoch
	}
	p := l.startPass(epoch, skip)
	l.mu.Lock()
	l.cur = p
	l.mu.Unlock()
	return &loaderIter{p: p}
}

type loaderIter struct{ p *pass }

func (it *loaderIter) Next(v *starlark.Value) bool {
	p, l := it.p, it.p.l
	for p.next < len(p.batches) {
		if p.stopped || p.ctx.Err() != nil {
			return it.interrupted()
		}
		var r *batchResult
		if !p.started {
			t0 := time.Now()
			r = l.loadBatch(p.epoch, p.next, p.batches[p.next])
			l.recordWait(p, time.Since(t0))
		} else {
			select {
			case r = <-p.done[p.next]:
				l.recordWait(p, 0)
			default:
				t0 := time.Now()
				select {
				case r = <-p.done[p.next]:
				case <-p.ctx.Done():
					return it.interrupted()
				}
				l.recordWait(p, time.Since(t0))
			}
			<-p.slots
		}
		p.next++
		if r.err == nil {
			r.err = l.skip(p, r.bad)
		}
		if r.err != nil {
			p.failed = true
			p.stop()
			failIteration(l.thread, r.err)
			return false
		}
		if r.n == 0 {
			continue
		}
		l.mu.Lock()
		l.batchesOut++
		l.samplesOut += int64(r.n)
		l.mu.Unlock()
		*v = starlark.Tuple{torch.New(r.images), torch.New(r.labels), torch.New(r.indices)}
		return true
	}
	p.stop()
	return false
}

// interrupted stops the pass; if the run was interrupted (Ctrl-C) the
// thread is cancelled too, so the script stops instead of carrying on
// after the loop.
func (it *loaderIter) interrupted() bool {
	it.p.failed = true
	it.p.stop()
	if it.p.parent.Err() != nil {
		it.p.l.thread.Cancel("interrupted")
	}
	return false
}

func (it *loaderIter) Done() { it.p.stop() }

// recordWait adds the time Next waited for a batch: the first batch of a
// pass (start-up) apart from the rest, which is where training stalls.
func (l *Loader) recordWait(p *pass, d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !p.waited {
		p.waited = true
		l.firstWait += d
		return
	}
	if d > 0 {
		l.waits++
	}
	l.wait += d
	l.maxWait = max(l.maxWait, d)
}

// maxWarned is how many bad images are described one by one; the
// end-of-epoch summary counts the rest.
const maxWarned = 10

func (l *Loader) warn(bad []badItem) {
	if len(bad) == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.warned == nil {
		l.warned = map[int]bool{}
	}
	for _, b := range bad {
		if l.warned[b.index] || len(l.warned) >= maxWarned {
			continue
		}
		l.warned[b.index] = true
		more := ""
		if len(l.warned) == maxWarned {
			more = " (further bad images are only counted, at the end of each epoch)"
		}
		fmt.Fprintf(lang.Stderr(l.thread), "warning: data.loader: skipping image %d of %s: %v%s\n", b.index, l.ds.desc(), b.err, more)
	}
}

// maxNamed is how many skipped files a summary or stats() names.
const maxNamed = 5

// skip counts the images skip_bad left out of a batch of pass p, and fails
// once the epoch has skipped more than max_bad_fraction of its images (a
// count that can only grow, so failing early gives the verdict the end of
// the epoch would).
func (l *Loader) skip(p *pass, bad []badItem) error {
	if len(bad) == 0 {
		return nil
	}
	l.warn(bad)
	l.mu.Lock()
	p.skipped += len(bad)
	l.skipped += int64(len(bad))
	for _, b := range bad {
		name := l.ds.itemName(b.index)
		if len(p.badFiles) < maxNamed {
			p.badFiles = append(p.badFiles, name)
		}
		if len(l.skippedFiles) < maxNamed && !slices.Contains(l.skippedFiles, name) {
			l.skippedFiles = append(l.skippedFiles, name)
		}
	}
	l.mu.Unlock()
	if float64(p.skipped) > l.maxBad*float64(p.total) {
		return fmt.Errorf("data.loader: epoch %d of %s skipped %s; that is more than max_bad_fraction=%g of the epoch: fix or remove the files, or raise max_bad_fraction if losing them is acceptable",
			p.epoch, l.ds.desc(), p.skippedSummary(), l.maxBad)
	}
	return nil
}

func tensorOf(a aten.Tensor) starlark.Value { return torch.New(a) }

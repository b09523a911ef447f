package dist

import (
	"fmt"
	"sync"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/builtins/nn"
	"github.com/dadash/dadash/builtins/torch"
	"github.com/dadash/dadash/builtins/torch/aten"
	"github.com/dadash/dadash/lang"
)

const docDDP = `dist.DistributedDataParallel(module, device_ids=None, output_device=None, broadcast_buffers=True,
                             bucket_cap_mb=25, find_unused_parameters=False, gradient_as_bucket_view=False)

PyTorch's DistributedDataParallel (also torch.nn.parallel.DistributedDataParallel): a module whose
child "module" is the given one. Making it checks that every process has the same parameters (count,
shapes, dtypes) and copies rank 0's parameters and buffers to all. Calling it runs module's forward;
the backward that follows averages the gradients over all processes with libtorch's c10d Reducer,
bucket by bucket (bucket_cap_mb, the first bucket 1 MB) while backward still runs, so after it
every process holds the same gradients and the same optimizer step keeps the models identical.
broadcast_buffers: copy rank 0's buffers (BatchNorm statistics) to all before each training forward.
find_unused_parameters: search the output's graph for parameters that get no gradient this
iteration (slower; needed when parts of the model are skipped). When the set of parameters that
require grad changes (model.module.freeze_backbone), the reducer is rebuilt at the next forward.
ddp.no_sync(fn) runs fn() without averaging (gradient accumulation); ddp.module is the model: save
and evaluate ddp.module.`

// ddp is the state behind one DistributedDataParallel module.
type ddp struct {
	inner            *nn.Module
	gen              int64 // the process group generation it was made in
	bucketBytes      int64
	findUnused       bool
	gradAsView       bool
	broadcastBuffers bool

	red       *reducer
	trainable []*torch.Tensor // the parameters red reduces, in order
	// As PyTorch: buffers are synchronised before a forward with autograd on
	// unless the previous forward ran without it (evaluation).
	requireForwardParamSync bool
	requireBackwardGradSync bool
	dead                    bool
}

// The reducers alive, freed by destroy_process_group (a reducer holds the
// process group, whose threads should end there).
var (
	liveMu sync.Mutex
	live   = map[*ddp]bool{}
)

func freeReducers() {
	liveMu.Lock()
	defer liveMu.Unlock()
	for d := range live {
		if d.red != nil {
			d.red.free()
			d.red = nil
		}
		d.dead = true
	}
	live = map[*ddp]bool{}
}

const broadcastBucketBytes = 250 << 20 // DDP's broadcast_bucket_size

func fnDDP(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var mv starlark.Value
	var deviceIDs, outputDevice, processGroup starlark.Value = starlark.None, starlark.None, starlark.None
	broadcastBuffers, findUnused, gradAsView := true, false, false
	var bucketCapMB float64 = 25
	if err := lang.UnpackArgs(b.Name(), args, kwargs, "module", &mv, "device_ids?", &deviceIDs, "output_device?", &outputDevice,
		"dim?", new(int), "broadcast_buffers?", &broadcastBuffers, "process_group?", &processGroup, "bucket_cap_mb?", &bucketCapMB,
		"find_unused_parameters?", &findUnused, "check_reduction?", new(bool), "gradient_as_bucket_view?", &gradAsView,
		"static_graph?", new(bool)); err != nil {
		return nil, err
	}
	inner, ok := mv.(*nn.Module)
	if !ok {
		return nil, fmt.Errorf("%s: module must be an nn module, got %s", b.Name(), mv.Type())
	}
	if err := checkGroup(b.Name(), processGroup); err != nil {
		return nil, err
	}
	if err := initialized(b.Name()); err != nil {
		return nil, err
	}
	if !(bucketCapMB > 0) {
		return nil, fmt.Errorf("%s: bucket_cap_mb must be positive, got %g", b.Name(), bucketCapMB)
	}
	params := inner.NamedParameters()
	if len(params) == 0 {
		return nil, fmt.Errorf("%s: %s has no parameters to train", b.Name(), inner.TypeName())
	}
	if err := checkDevices(b.Name(), params, deviceIDs); err != nil {
		return nil, err
	}
	d := &ddp{inner: inner, gen: cGeneration(), bucketBytes: int64(bucketCapMB * (1 << 20)), findUnused: findUnused,
		gradAsView: gradAsView, broadcastBuffers: broadcastBuffers, requireForwardParamSync: true, requireBackwardGradSync: true}
	trainable := d.trainableParams()
	if len(trainable) == 0 {
		return nil, fmt.Errorf("%s: no parameter of %s requires grad", b.Name(), inner.TypeName())
	}
	if err := cVerifyParams(atens(trainable)); err != nil {
		return nil, fmt.Errorf("%s: the processes' models differ: %w", b.Name(), err)
	}
	// Rank 0's parameters and buffers become everyone's.
	states := atens(tensorsOf(params))
	states = append(states, atens(tensorsOf(inner.NamedBuffers()))...)
	if err := cBroadcastCoalesced(states, broadcastBucketBytes, 0); err != nil {
		return nil, fmt.Errorf("%s: broadcasting rank 0's parameters: %w", b.Name(), err)
	}
	if err := d.buildReducer(trainable); err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	liveMu.Lock()
	live[d] = true
	liveMu.Unlock()

	m := nn.NewModule("DistributedDataParallel", d.forward)
	if err := m.AddChild("module", inner); err != nil {
		return nil, err
	}
	m.AddMethod("no_sync", "ddp.no_sync(fn, *args, **kwargs): runs fn with gradient averaging off (gradients accumulate locally; the next backward outside no_sync averages all of them), returns its result.", d.noSync)
	return m, nil
}

// checkDevices accepts device_ids as PyTorch does for single-device modules:
// None, or one device that holds the parameters.
func checkDevices(fn string, params []nn.NamedTensor, ids starlark.Value) error {
	if ids == starlark.None {
		return nil
	}
	seq, ok := ids.(starlark.Indexable)
	if !ok || seq.Len() != 1 {
		return fmt.Errorf("%s: device_ids must be None or a list of one device (one device per process), got %s", fn, ids)
	}
	want := ""
	switch v := seq.Index(0).(type) {
	case starlark.Int:
		i, _ := v.Int64()
		want = fmt.Sprintf("cuda:%d", i)
	case starlark.String:
		want = string(v)
		if want == "cuda" {
			want = "cuda:0"
		}
	default:
		return fmt.Errorf("%s: device_ids[0] must be a GPU index or a device string, got %s", fn, v.Type())
	}
	if got := params[0].Tensor.ATen().Device(); got != want {
		return fmt.Errorf("%s: device_ids=%s but the module's parameters are on %s: move it first (module.to(%q))", fn, ids, got, want)
	}
	return nil
}

func tensorsOf(nts []nn.NamedTensor) []*torch.Tensor {
	out := make([]*torch.Tensor, len(nts))
	for i, nt := range nts {
		out[i] = nt.Tensor
	}
	return out
}

func atens(ts []*torch.Tensor) []aten.Tensor {
	out := make([]aten.Tensor, len(ts))
	for i, t := range ts {
		out[i] = t.ATen()
	}
	return out
}

// trainableParams lists the parameters that require grad, in module order.
func (d *ddp) trainableParams() []*torch.Tensor {
	var out []*torch.Tensor
	for _, nt := range d.inner.NamedParameters() {
		if nt.Tensor.ATen().RequiresGrad() {
			out = append(out, nt.Tensor)
		}
	}
	return out
}

func (d *ddp) buildReducer(trainable []*torch.Tensor) error {
	if d.red != nil {
		d.red.free()
		d.red = nil
	}
	d.trainable = trainable
	if len(trainable) == 0 {
		return nil
	}
	r, err := newReducer(atens(trainable), d.bucketBytes, d.findUnused, d.gradAsView)
	if err != nil {
		return err
	}
	d.red = r
	return nil
}

// refreshReducer rebuilds the reducer when the parameters that require
// grad are not the ones it was made for (a backbone frozen or thawed).
// Every process changes them at the same step, so they rebuild together.
func (d *ddp) refreshReducer() error {
	now := d.trainableParams()
	same := len(now) == len(d.trainable)
	for i := 0; same && i < len(now); i++ {
		same = now[i] == d.trainable[i] && now[i].ATen().Handle() == d.trainable[i].ATen().Handle()
	}
	if same {
		return nil
	}
	if len(now) > 0 {
		if err := cVerifyParams(atens(now)); err != nil {
			return fmt.Errorf("the parameters that require grad changed differently on the processes: %w", err)
		}
	}
	return d.buildReducer(now)
}

func (d *ddp) alive(fn string) error {
	if d.dead || !cInitialized() || cGeneration() != d.gen {
		return fmt.Errorf("%s: the process group this DistributedDataParallel was made in was destroyed; wrap the module again after init_process_group", fn)
	}
	return nil
}

func (d *ddp) forward(thread *starlark.Thread, m *nn.Module, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	const fn = "DistributedDataParallel.forward"
	if err := d.alive(fn); err != nil {
		return nil, err
	}
	grad := aten.GradEnabled()
	sync := grad && d.requireBackwardGradSync
	if sync {
		if err := d.refreshReducer(); err != nil {
			return nil, fmt.Errorf("%s: %w", fn, err)
		}
		if d.red != nil {
			if err := d.red.prepareForward(); err != nil {
				return nil, fmt.Errorf("%s: %w", fn, err)
			}
		}
	}
	if d.broadcastBuffers && d.requireForwardParamSync {
		if bufs := d.inner.NamedBuffers(); len(bufs) > 0 {
			if err := cBroadcastCoalesced(atens(tensorsOf(bufs)), broadcastBucketBytes, 0); err != nil {
				return nil, fmt.Errorf("%s: broadcasting rank 0's buffers: %w", fn, err)
			}
		}
	}
	out, err := d.inner.Forward(thread, args, kwargs)
	if err != nil {
		return nil, err
	}
	if sync {
		d.requireForwardParamSync = true
		if d.red != nil {
			var outs []aten.Tensor
			if d.findUnused {
				outs = findTensors(out, nil)
			}
			if err := d.red.prepareBackward(outs); err != nil {
				return nil, fmt.Errorf("%s: %w", fn, err)
			}
		}
	} else {
		d.requireForwardParamSync = false
	}
	return out, nil
}

// findTensors collects the tensors of a forward's output (tensors, tuples,
// lists, a model's named tuple) for the unused-parameter search.
func findTensors(v starlark.Value, acc []aten.Tensor) []aten.Tensor {
	switch x := v.(type) {
	case *torch.Tensor:
		return append(acc, x.ATen())
	case *starlark.Dict:
		for _, kv := range x.Items() {
			acc = findTensors(kv[1], acc)
		}
	case starlark.Indexable:
		for i := 0; i < x.Len(); i++ {
			acc = findTensors(x.Index(i), acc)
		}
	}
	return acc
}

func (d *ddp) noSync(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("%s: missing fn (ddp.no_sync(fn, *args))", b.Name())
	}
	f, ok := args[0].(starlark.Callable)
	if !ok {
		return nil, fmt.Errorf("%s: fn must be callable, got %s", b.Name(), args[0].Type())
	}
	prev := d.requireBackwardGradSync
	d.requireBackwardGradSync = false
	defer func() { d.requireBackwardGradSync = prev }()
	return starlark.Call(thread, f, args[1:], kwargs)
}

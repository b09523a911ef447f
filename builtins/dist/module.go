// Package dist is the `dist` module of dadash scripts: PyTorch's
// torch.distributed over libtorch's own c10d (a TCPStore rendezvous, then
// Gloo on CPUs, or NCCL on GPUs in CUDA builds): process groups set up from
// the environment that torchrun, srun, Kubernetes or `dadash run
// --nproc_per_node N` give each process, the collectives, an autograd-aware
// all-gather for losses that must see the global batch, and
// DistributedDataParallel over c10d's Reducer.
//
// The process group is the process's own, as torch.distributed's default
// group: one per process, made by init_process_group and dropped by
// destroy_process_group.
package dist

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"sync"
	"time"

	startime "go.starlark.net/lib/time"
	"go.starlark.net/starlark"

	"github.com/dadash/dadash/builtins/nn"
	"github.com/dadash/dadash/builtins/torch"
	"github.com/dadash/dadash/builtins/torch/aten"
	"github.com/dadash/dadash/lang"
)

// Module is the dist module value (also torch.distributed).
var Module *torch.Namespace

// The group as the Go side knows it (the C++ side holds the real one).
var (
	mu        sync.Mutex
	groupInfo struct {
		rendezvous
		backend string
	}
)

func init() {
	ops := starlark.StringDict{}
	for _, o := range reduceOps {
		ops[o.name] = o
	}
	reduceOpNS := torch.NewNamespace("dist.ReduceOp", "-", "dist.ReduceOp: SUM, AVG, PRODUCT, MIN, MAX, BAND, BOR, BXOR (AVG: SUM divided by the world size).", ops)
	nnNS := torch.NewNamespace("dist.nn", "-", "dist.nn: collectives that autograd differentiates (torch.distributed.nn): all_gather, all_gather_cat.", starlark.StringDict{
		"all_gather":     lang.Func("dist.nn.all_gather", docNNAllGather, fnNNAllGather(false)),
		"all_gather_cat": lang.Func("dist.nn.all_gather_cat", docNNAllGatherCat, fnNNAllGather(true)),
	})
	ddpCtor := lang.Func("dist.DistributedDataParallel", docDDP, fnDDP)
	members := starlark.StringDict{
		"is_available":             lang.Func("dist.is_available", "dist.is_available(): True: this dadash has torch.distributed (Gloo; NCCL in CUDA builds).", fnIsAvailable),
		"is_gloo_available":        lang.Func("dist.is_gloo_available", "dist.is_gloo_available(): whether the Gloo backend (CPU) is built in.", fnBackendAvailable(glooBuilt)),
		"is_nccl_available":        lang.Func("dist.is_nccl_available", "dist.is_nccl_available(): whether the NCCL backend (CUDA) is built in: it needs a CUDA libtorch and NCCL's headers at build time.", fnBackendAvailable(ncclBuilt)),
		"launched":                 lang.Func("dist.launched", "dist.launched(): whether a launcher started this process as one of several (WORLD_SIZE and RANK set, as dadash run, torchrun and Kubernetes do, or SLURM_NTASKS > 1 under srun): the recipes then call init_process_group themselves. Reads the environment in Go, so it works under --sandbox.", fnLaunched),
		"is_torchelastic_launched": lang.Func("dist.is_torchelastic_launched", "dist.is_torchelastic_launched(): whether this process was started by a launcher that set the rendezvous environment (TORCHELASTIC_RUN_ID, or dadash run's DADASH_LAUNCHED).", fnIsLaunched),
		"init_process_group":       lang.Func("dist.init_process_group", docInit, fnInit),
		"destroy_process_group":    lang.Func("dist.destroy_process_group", "dist.destroy_process_group(): leaves the process group (and frees DistributedDataParallel's reducers); init_process_group may be called again.", fnDestroy),
		"is_initialized":           lang.Func("dist.is_initialized", "dist.is_initialized(): whether init_process_group has been called (and not destroyed).", fnIsInitialized),
		"get_rank":                 lang.Func("dist.get_rank", "dist.get_rank(): this process's rank, 0 to get_world_size()-1.", fnGetRank),
		"get_world_size":           lang.Func("dist.get_world_size", "dist.get_world_size(): the number of processes in the group.", fnGetWorldSize),
		"get_backend":              lang.Func("dist.get_backend", "dist.get_backend(): \"gloo\" or \"nccl\".", fnGetBackend),
		"get_node_local_rank":      lang.Func("dist.get_node_local_rank", "dist.get_node_local_rank(fallback_rank=None): this process's index on its machine (LOCAL_RANK, or SLURM_LOCALID), which picks its GPU; fallback_rank when neither is set, else an error.", fnLocalRank),
		"barrier":                  lang.Func("dist.barrier", "dist.barrier(): waits until every process reaches it.", fnBarrier),
		"all_reduce":               lang.Func("dist.all_reduce", "dist.all_reduce(tensor, op=dist.ReduceOp.SUM): reduces tensor over all processes, in place on every process.", fnAllReduce),
		"reduce":                   lang.Func("dist.reduce", "dist.reduce(tensor, dst, op=dist.ReduceOp.SUM): reduces tensor over all processes into rank dst's tensor (in place; the others' are scratch).", fnReduce),
		"broadcast":                lang.Func("dist.broadcast", "dist.broadcast(tensor, src): copies rank src's tensor into every process's tensor (in place).", fnBroadcast),
		"all_gather":               lang.Func("dist.all_gather", "dist.all_gather(tensor_list, tensor): fills tensor_list (world_size tensors of tensor's shape and dtype) with every process's tensor, in rank order. No gradient: see dist.nn.all_gather.", fnAllGather),
		"ReduceOp":                 reduceOpNS,
		"nn":                       nnNS,
		"DistributedDataParallel":  ddpCtor,
	}
	Module = torch.NewNamespace("dist", "-", docModule, members)
	// PyTorch's spellings: torch.distributed and torch.nn.parallel.DistributedDataParallel.
	torch.Module.Members()["distributed"] = Module
	nn.NN.Members()["parallel"] = torch.NewNamespace("nn.parallel", "-", "nn.parallel: DistributedDataParallel (the same as dist.DistributedDataParallel).",
		starlark.StringDict{"DistributedDataParallel": ddpCtor})
	lang.Register(lang.Module{Name: "dist", Value: Module, Doc: docModule})
}

const docModule = `dist: data-parallel training over several processes (torch.distributed).

Start N processes with dadash run --nproc_per_node N script.star (or torchrun, or srun), then in
the script:

    dist.init_process_group()                # Gloo on CPU; NCCL on GPUs in CUDA builds
    rank, world = dist.get_rank(), dist.get_world_size()
    ddp = dist.DistributedDataParallel(model) # same start on every process; averaged gradients
    sampler = data.class_balanced_sampler(ds, B, 2, num_replicas = world, rank = rank)
    emb = dist.nn.all_gather_cat(ddp(images).embedding)  # the global batch, with gradients
    labels = dist.nn.all_gather_cat(labels)
    loss = criterion(emb, labels)            # the single-process loss on every process
    loss.backward(); opt.step()
    dist.destroy_process_group()

Process group: init_process_group, destroy_process_group, is_initialized, get_rank, get_world_size,
get_backend, get_node_local_rank. Collectives (in place, as PyTorch): barrier, all_reduce, reduce,
broadcast, all_gather; ReduceOp. With gradients: dist.nn.all_gather, dist.nn.all_gather_cat.
DistributedDataParallel (also torch.nn.parallel.DistributedDataParallel).`

const docInit = `dist.init_process_group(backend=None, init_method="env://", timeout=1800, world_size=-1, rank=-1)

Joins the job's process group. env:// reads MASTER_ADDR, MASTER_PORT, RANK and WORLD_SIZE (set by
dadash run --nproc_per_node, torchrun and Kubernetes' PyTorchJob; under srun, SLURM_PROCID and
SLURM_NTASKS stand in for RANK and WORLD_SIZE); tcp://host:port names the rendezvous instead;
rank= and world_size= override the environment. Rank 0 serves the rendezvous (c10d's TCPStore) on
MASTER_PORT. backend: "gloo" (CPU tensors) or "nccl" (CUDA tensors, in CUDA builds); None picks
nccl when CUDA is available and built in, else gloo. With CUDA, LOCAL_RANK selects the current
GPU, so "cuda" means this process's GPU. timeout (seconds, or a time.duration) bounds the
rendezvous and every collective: a process that does not show up, an unreachable master, a port in
use, a duplicate RANK or a WORLD_SIZE that differs between processes is an error, not a hang.
GLOO_SOCKET_IFNAME picks Gloo's network interface(s) as in PyTorch.`

func fnIsAvailable(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	return starlark.True, nil
}

func fnBackendAvailable(f func() bool) func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
	return func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
			return nil, err
		}
		return starlark.Bool(f()), nil
	}
}

func fnIsLaunched(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	return starlark.Bool(os.Getenv("TORCHELASTIC_RUN_ID") != "" || os.Getenv("DADASH_LAUNCHED") != ""), nil
}

func fnLaunched(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	many := func(v string) bool {
		n, err := strconv.Atoi(v)
		return err == nil && n > 1
	}
	torchrun := os.Getenv("RANK") != "" && many(os.Getenv("WORLD_SIZE"))
	return starlark.Bool(torchrun || many(os.Getenv("SLURM_NTASKS"))), nil
}

// seconds reads a timeout: a number of seconds or a time.duration.
func seconds(fn string, v starlark.Value) (float64, error) {
	var s float64
	switch x := v.(type) {
	case starlark.Int:
		s = float64(x.BigInt().Int64())
	case starlark.Float:
		s = float64(x)
	case startime.Duration:
		s = time.Duration(x).Seconds()
	default:
		return 0, fmt.Errorf("%s: timeout must be a number of seconds or a time.duration, got %s", fn, v.Type())
	}
	if !(s > 0) || math.IsInf(s, 0) {
		return 0, fmt.Errorf("%s: timeout must be positive, got %v", fn, v)
	}
	return s, nil
}

func fnInit(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var backendV starlark.Value = starlark.None
	initMethod := "env://"
	var timeoutV starlark.Value = starlark.MakeInt(1800)
	worldSize, rank := -1, -1
	var storeV, groupName, pgOptions starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "backend?", &backendV, "init_method?", &initMethod, "timeout?", &timeoutV,
		"world_size?", &worldSize, "rank?", &rank, "store?", &storeV, "group_name?", &groupName, "pg_options?", &pgOptions); err != nil {
		return nil, err
	}
	if storeV != nil && storeV != starlark.None {
		return nil, fmt.Errorf("%s: store= is not supported; use init_method (env:// or tcp://host:port)", b.Name())
	}
	timeoutS, err := seconds(b.Name(), timeoutV)
	if err != nil {
		return nil, err
	}
	if cInitialized() {
		return nil, fmt.Errorf("%s: trying to initialize the default process group twice! (call dist.destroy_process_group() first)", b.Name())
	}
	backend := ""
	if backendV != starlark.None {
		s, ok := starlark.AsString(backendV)
		if !ok {
			return nil, fmt.Errorf("%s: backend must be a string (\"gloo\" or \"nccl\"), got %s", b.Name(), backendV.Type())
		}
		backend = s
	}
	switch backend {
	case "":
		backend = "gloo"
		if ncclBuilt() && aten.CUDAAvailable() {
			backend = "nccl"
		}
	case "gloo":
	case "nccl":
		if !ncclBuilt() {
			return nil, fmt.Errorf("%s: backend \"nccl\" is not available: this dadash was built against a libtorch without CUDA or without NCCL's headers (nccl.h); use backend=\"gloo\", or rebuild with 'make LIBTORCH=/path/to/cuda/libtorch' and libnccl-dev installed", b.Name())
		}
		if !aten.CUDAAvailable() {
			return nil, fmt.Errorf("%s: backend \"nccl\" needs a GPU, and CUDA is not available here; use backend=\"gloo\"", b.Name())
		}
	case "mpi", "ucc":
		return nil, fmt.Errorf("%s: backend %q is not built into dadash; use \"gloo\" (CPU) or \"nccl\" (CUDA)", b.Name(), backend)
	default:
		return nil, fmt.Errorf("%s: unknown backend %q (expected \"gloo\" or \"nccl\")", b.Name(), backend)
	}
	r, err := fromEnv(os.Getenv, initMethod, rank, worldSize)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	// With CUDA, LOCAL_RANK picks this process's GPU (before NCCL's
	// communicator is made on the current device).
	if aten.CUDAAvailable() && r.localRank >= 0 {
		if err := cSetDevice(r.localRank % aten.CUDADeviceCount()); err != nil {
			return nil, fmt.Errorf("%s: selecting GPU %d (LOCAL_RANK): %w", b.Name(), r.localRank, err)
		}
	}
	p := initParams{backend: backend, masterAddr: r.masterAddr, masterPort: r.masterPort, rank: r.rank, worldSize: r.worldSize,
		localRank: r.localRank, timeoutMS: int64(timeoutS * 1000), ifname: os.Getenv("GLOO_SOCKET_IFNAME")}
	if err := cInit(p); err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), explainInit(err, r, timeoutS))
	}
	mu.Lock()
	groupInfo.rendezvous, groupInfo.backend = r, backend
	mu.Unlock()
	return starlark.None, nil
}

// initialized fails, as PyTorch does, when there is no process group.
func initialized(fn string) error {
	if !cInitialized() {
		return fmt.Errorf("%s: Default process group has not been initialized, please make sure to call init_process_group (dist.init_process_group(), in a script started by dadash run --nproc_per_node N, torchrun or srun)", fn)
	}
	return nil
}

func fnDestroy(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	if err := initialized(b.Name()); err != nil {
		return nil, err
	}
	freeReducers()
	if err := cDestroy(); err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return starlark.None, nil
}

func fnIsInitialized(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	return starlark.Bool(cInitialized()), nil
}

func info(fn string, args starlark.Tuple, kwargs []starlark.Tuple) (rendezvous, string, error) {
	var group starlark.Value
	if err := starlark.UnpackArgs(fn, args, kwargs, "group?", &group); err != nil {
		return rendezvous{}, "", err
	}
	if err := checkGroup(fn, group); err != nil {
		return rendezvous{}, "", err
	}
	if err := initialized(fn); err != nil {
		return rendezvous{}, "", err
	}
	mu.Lock()
	defer mu.Unlock()
	return groupInfo.rendezvous, groupInfo.backend, nil
}

// checkGroup accepts only the default group (group=None), the one dadash has.
func checkGroup(fn string, g starlark.Value) error {
	if g != nil && g != starlark.None {
		return fmt.Errorf("%s: only the default group is supported (group=None)", fn)
	}
	return nil
}

func fnGetRank(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	r, _, err := info(b.Name(), args, kwargs)
	if err != nil {
		return nil, err
	}
	return starlark.MakeInt(r.rank), nil
}

func fnGetWorldSize(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	r, _, err := info(b.Name(), args, kwargs)
	if err != nil {
		return nil, err
	}
	return starlark.MakeInt(r.worldSize), nil
}

func fnGetBackend(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	_, be, err := info(b.Name(), args, kwargs)
	if err != nil {
		return nil, err
	}
	return starlark.String(be), nil
}

func fnLocalRank(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var fallback starlark.Value = starlark.None
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "fallback_rank?", &fallback); err != nil {
		return nil, err
	}
	for _, name := range []string{"LOCAL_RANK", "SLURM_LOCALID"} {
		if v := os.Getenv(name); v != "" {
			var n int
			if _, err := fmt.Sscanf(v, "%d", &n); err != nil || n < 0 {
				return nil, fmt.Errorf("%s: %s=%q is not a local rank (an integer >= 0)", b.Name(), name, v)
			}
			return starlark.MakeInt(n), nil
		}
	}
	if fallback != starlark.None {
		return fallback, nil
	}
	return nil, fmt.Errorf("%s: LOCAL_RANK is not set (the process was not started by dadash run --nproc_per_node, torchrun or srun); pass fallback_rank=", b.Name())
}

// collective unpacks the common arguments of the in-place collectives.
func tensorArg(fn, what string, v starlark.Value) (*torch.Tensor, error) {
	t, ok := v.(*torch.Tensor)
	if !ok {
		return nil, fmt.Errorf("%s: %s must be a Tensor, got %s", fn, what, v.Type())
	}
	return t, nil
}

func noAsync(fn string, async bool) error {
	if async {
		return fmt.Errorf("%s: async_op=True is not supported (collectives complete before returning)", fn)
	}
	return nil
}

func rankArg(fn, what string, v int) error {
	mu.Lock()
	ws := groupInfo.worldSize
	mu.Unlock()
	if v < 0 || v >= ws {
		return fmt.Errorf("%s: %s=%d is not a rank of the group (0 to %d)", fn, what, v, ws-1)
	}
	return nil
}

func fnBarrier(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var group starlark.Value
	async := false
	var deviceIDs starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "group?", &group, "async_op?", &async, "device_ids?", &deviceIDs); err != nil {
		return nil, err
	}
	if err := firstErr(checkGroup(b.Name(), group), noAsync(b.Name(), async), initialized(b.Name())); err != nil {
		return nil, err
	}
	return starlark.None, wrapErr(b.Name(), cBarrier())
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func wrapErr(fn string, err error) error {
	if err != nil {
		return fmt.Errorf("%s: %w", fn, explainCollective(err))
	}
	return nil
}

func fnAllReduce(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var tv, group starlark.Value
	op := *opValue(opSum)
	async := false
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "tensor", &tv, "op?", &op, "group?", &group, "async_op?", &async); err != nil {
		return nil, err
	}
	t, err := tensorArg(b.Name(), "tensor", tv)
	if err := firstErr(err, checkGroup(b.Name(), group), noAsync(b.Name(), async), initialized(b.Name())); err != nil {
		return nil, err
	}
	return starlark.None, wrapErr(b.Name(), cAllReduce(t.ATen(), op.code))
}

func fnReduce(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var tv, group starlark.Value
	var dst int
	op := *opValue(opSum)
	async := false
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "tensor", &tv, "dst", &dst, "op?", &op, "group?", &group, "async_op?", &async); err != nil {
		return nil, err
	}
	t, err := tensorArg(b.Name(), "tensor", tv)
	if err := firstErr(err, checkGroup(b.Name(), group), noAsync(b.Name(), async), initialized(b.Name())); err != nil {
		return nil, err
	}
	if err := rankArg(b.Name(), "dst", dst); err != nil {
		return nil, err
	}
	return starlark.None, wrapErr(b.Name(), cReduce(t.ATen(), dst, op.code))
}

func fnBroadcast(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var tv, group starlark.Value
	var src int
	async := false
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "tensor", &tv, "src", &src, "group?", &group, "async_op?", &async); err != nil {
		return nil, err
	}
	t, err := tensorArg(b.Name(), "tensor", tv)
	if err := firstErr(err, checkGroup(b.Name(), group), noAsync(b.Name(), async), initialized(b.Name())); err != nil {
		return nil, err
	}
	if err := rankArg(b.Name(), "src", src); err != nil {
		return nil, err
	}
	return starlark.None, wrapErr(b.Name(), cBroadcast(t.ATen(), src))
}

func fnAllGather(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var lv, tv, group starlark.Value
	async := false
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "tensor_list", &lv, "tensor", &tv, "group?", &group, "async_op?", &async); err != nil {
		return nil, err
	}
	t, err := tensorArg(b.Name(), "tensor", tv)
	if err := firstErr(err, checkGroup(b.Name(), group), noAsync(b.Name(), async), initialized(b.Name())); err != nil {
		return nil, err
	}
	list, ok := lv.(*starlark.List)
	if !ok {
		return nil, fmt.Errorf("%s: tensor_list must be a list of world_size tensors, got %s", b.Name(), lv.Type())
	}
	outs := make([]aten.Tensor, list.Len())
	for i := range outs {
		o, err := tensorArg(b.Name(), fmt.Sprintf("tensor_list[%d]", i), list.Index(i))
		if err != nil {
			return nil, err
		}
		outs[i] = o.ATen()
	}
	return starlark.None, wrapErr(b.Name(), cAllGatherInto(t.ATen(), outs))
}

const docNNAllGather = `dist.nn.all_gather(tensor)

Every process's tensor, as a tuple in rank order, with gradients (torch.distributed.nn.all_gather):
the backward of the gathered tensors gives each process its own rows of the gradient summed over all
processes. Gathering the embeddings before a loss that every process computes alike makes each
process's gradient its share of the single-process gradient, and DistributedDataParallel's
averaging then gives the single-process gradient times 1 (the sum over processes divided by their
number). The first dimension may differ between processes; the others and the dtype must agree.
Every process must call it (and its backward) in the same order.`

const docNNAllGatherCat = `dist.nn.all_gather_cat(tensor)

torch.cat(dist.nn.all_gather(tensor)) in one step: the global batch (rank 0's rows first), with
gradients as dist.nn.all_gather. For labels (no gradient) it is a plain gather.`

func fnNNAllGather(cat bool) func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
	return func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var tv, group starlark.Value
		if err := starlark.UnpackArgs(b.Name(), args, kwargs, "tensor", &tv, "group?", &group); err != nil {
			return nil, err
		}
		t, err := tensorArg(b.Name(), "tensor", tv)
		if err := firstErr(err, checkGroup(b.Name(), group), initialized(b.Name())); err != nil {
			return nil, err
		}
		// Autograd only when it could matter: a floating tensor with grad mode on.
		grad := aten.GradEnabled() && t.ATen().DType().IsFloating()
		outs, err := cGather(t.ATen(), cat, grad)
		if err != nil {
			return nil, wrapErr(b.Name(), err)
		}
		if cat {
			return torch.New(outs[0]), nil
		}
		vals := make(starlark.Tuple, len(outs))
		for i, o := range outs {
			vals[i] = torch.New(o)
		}
		return vals, nil
	}
}

// ---------------------------------------------------------------- ReduceOp

type reduceOp struct {
	name string
	code int
}

var reduceOps = []*reduceOp{{"SUM", opSum}, {"AVG", opAvg}, {"PRODUCT", opProduct}, {"MIN", opMin}, {"MAX", opMax}, {"BAND", opBand}, {"BOR", opBor}, {"BXOR", opBxor}}

func opValue(code int) *reduceOp {
	for _, o := range reduceOps {
		if o.code == code {
			return o
		}
	}
	panic("dist: unknown reduce op")
}

var _ starlark.Unpacker = (*reduceOp)(nil)

func (o *reduceOp) String() string        { return "ReduceOp." + o.name }
func (o *reduceOp) Type() string          { return "dist.ReduceOp" }
func (o *reduceOp) Freeze()               {}
func (o *reduceOp) Truth() starlark.Bool  { return true }
func (o *reduceOp) Hash() (uint32, error) { return uint32(o.code) + 0x5ed, nil }

// Unpack lets op=dist.ReduceOp.MAX reach a *reduceOp parameter.
func (o *reduceOp) Unpack(v starlark.Value) error {
	r, ok := v.(*reduceOp)
	if !ok {
		return fmt.Errorf("op must be a dist.ReduceOp (e.g. dist.ReduceOp.SUM), got %s", v.Type())
	}
	*o = *r
	return nil
}

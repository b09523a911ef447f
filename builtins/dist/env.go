package dist

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// rendezvous is where and as whom a process joins its job.
type rendezvous struct {
	masterAddr string
	masterPort int
	rank       int
	worldSize  int
	localRank  int // -1 when the launcher did not say
}

// launchHint ends the errors about a missing environment.
const launchHint = "start the script with `dadash run --nproc_per_node N script.star`, torchrun or srun, or set MASTER_ADDR, MASTER_PORT, RANK and WORLD_SIZE"

// fromEnv reads the rendezvous of init_method (env:// or tcp://host:port)
// from the variables torchrun, Kubernetes' PyTorchJob and dadash run set
// (MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE, LOCAL_RANK), with SLURM's
// SLURM_PROCID, SLURM_NTASKS and SLURM_LOCALID for a job started by srun.
// rank and worldSize >= 0 override the environment, as in PyTorch.
func fromEnv(getenv func(string) string, initMethod string, rank, worldSize int) (rendezvous, error) {
	r := rendezvous{rank: rank, worldSize: worldSize, localRank: -1}
	lookup := func(names ...string) (string, string) {
		for _, n := range names {
			if v := strings.TrimSpace(getenv(n)); v != "" {
				return n, v
			}
		}
		return "", ""
	}
	intVar := func(what string, names ...string) (int, error) {
		name, v := lookup(names...)
		if name == "" {
			return 0, fmt.Errorf("environment variable %s expected, but not set: %s", names[0], launchHint)
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, fmt.Errorf("%s=%q: the %s must be an integer", name, v, what)
		}
		return n, nil
	}

	switch {
	case initMethod == "" || initMethod == "env://":
		addrVar, addr := lookup("MASTER_ADDR")
		if addrVar == "" {
			hint := launchHint
			if getenv("SLURM_PROCID") != "" {
				hint = "under SLURM, export MASTER_ADDR=$(scontrol show hostnames \"$SLURM_JOB_NODELIST\" | head -n 1) and MASTER_PORT in the job script before srun"
			}
			return r, fmt.Errorf("environment variable MASTER_ADDR expected, but not set: %s", hint)
		}
		r.masterAddr = addr
		port, err := intVar("port", "MASTER_PORT")
		if err != nil {
			return r, err
		}
		r.masterPort = port
	case strings.HasPrefix(initMethod, "tcp://"):
		host, portS, err := net.SplitHostPort(strings.TrimPrefix(initMethod, "tcp://"))
		if err != nil || host == "" {
			return r, fmt.Errorf("init_method %q: expected tcp://host:port", initMethod)
		}
		port, err := strconv.Atoi(portS)
		if err != nil {
			return r, fmt.Errorf("init_method %q: the port must be an integer", initMethod)
		}
		r.masterAddr, r.masterPort = host, port
	default:
		return r, fmt.Errorf("init_method %q is not supported: use \"env://\" (the default) or \"tcp://host:port\"", initMethod)
	}
	if r.masterPort < 1 || r.masterPort > 65535 {
		return r, fmt.Errorf("master port %d is out of range (1 to 65535)", r.masterPort)
	}

	var err error
	if r.rank < 0 {
		if r.rank, err = intVar("rank", "RANK", "SLURM_PROCID"); err != nil {
			return r, err
		}
	}
	if r.worldSize < 0 {
		if r.worldSize, err = intVar("world size", "WORLD_SIZE", "SLURM_NTASKS"); err != nil {
			return r, err
		}
	}
	if name, v := lookup("LOCAL_RANK", "SLURM_LOCALID"); name != "" {
		if r.localRank, err = strconv.Atoi(v); err != nil || r.localRank < 0 {
			return r, fmt.Errorf("%s=%q: the local rank must be an integer >= 0", name, v)
		}
	}
	if r.worldSize < 1 {
		return r, fmt.Errorf("WORLD_SIZE=%d: the number of processes must be at least 1", r.worldSize)
	}
	if r.rank >= r.worldSize {
		return r, fmt.Errorf("RANK=%d but WORLD_SIZE=%d: ranks go from 0 to WORLD_SIZE-1", r.rank, r.worldSize)
	}
	return r, nil
}

// explainInit turns c10d's rendezvous errors (prefixed by dist_init with
// the stage that failed: store, join or group) into what to do about them.
func explainInit(err error, r rendezvous, timeoutS float64) error {
	msg := err.Error()
	stage := ""
	if strings.HasPrefix(msg, "[") {
		if i := strings.Index(msg, "] "); i > 0 {
			stage, msg = msg[1:i], msg[i+2:]
		}
	}
	where := fmt.Sprintf("rendezvous at %s:%d as rank %d of %d", r.masterAddr, r.masterPort, r.rank, r.worldSize)
	timedOut := strings.Contains(msg, "imed out") || strings.Contains(msg, "imeout")
	notAll := fmt.Sprintf("not all %d processes joined within %gs: are they all started, with WORLD_SIZE=%d and the same MASTER_ADDR and MASTER_PORT?", r.worldSize, timeoutS, r.worldSize)
	switch {
	case strings.Contains(msg, "Address already in use") || strings.Contains(msg, "failed to listen"):
		return fmt.Errorf("%s: cannot listen on port %d, which another process uses (a previous run still going?): choose another with --master_port or MASTER_PORT (%s)", where, r.masterPort, msg)
	case strings.Contains(msg, "WORLD_SIZE differs") || strings.Contains(msg, "already joined as rank"):
		return fmt.Errorf("%s: %s", where, msg)
	case stage == "store" && r.rank == 0 && timedOut, stage == "join" && (timedOut || strings.Contains(msg, "did not join")):
		return fmt.Errorf("%s: %s (%s)", where, notAll, msg)
	case stage == "join" && (strings.Contains(msg, "Broken pipe") || strings.Contains(msg, "onnection")):
		return fmt.Errorf("%s: rank 0 left the rendezvous before this process joined: see its error (%s)", where, msg)
	case stage == "store" && (timedOut || strings.Contains(msg, "onnection refused")):
		return fmt.Errorf("%s: rank 0 did not answer within %gs: is it running, and is %s reachable from this machine on port %d? (%s)", where, timeoutS, r.masterAddr, r.masterPort, msg)
	case stage == "group":
		return fmt.Errorf("%s: building the process group: %s (between machines, GLOO_SOCKET_IFNAME=<interface> picks the network Gloo uses)", where, msg)
	}
	return fmt.Errorf("%s: %s", where, msg)
}

// explainCollective says what a broken connection in a collective means.
func explainCollective(err error) error {
	msg := err.Error()
	for _, s := range []string{"Connection closed by peer", "Connection reset by peer", "Broken pipe"} {
		if strings.Contains(msg, s) {
			return fmt.Errorf("another process of the job stopped (see its error; with dadash run, the first rank reported as failed): %s", msg)
		}
	}
	return err
}

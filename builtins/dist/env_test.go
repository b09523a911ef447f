package dist

import (
	"errors"
	"strings"
	"testing"
)

func TestFromEnv(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	torchrun := env("MASTER_ADDR", "10.0.0.1", "MASTER_PORT", "29400", "RANK", "5", "WORLD_SIZE", "8", "LOCAL_RANK", "1")
	good := []struct {
		name       string
		getenv     func(string) string
		method     string
		rank, size int
		want       rendezvous
	}{
		{"torchrun", torchrun, "env://", -1, -1, rendezvous{"10.0.0.1", 29400, 5, 8, 1}},
		{"default method", torchrun, "", -1, -1, rendezvous{"10.0.0.1", 29400, 5, 8, 1}},
		{"arguments win", torchrun, "env://", 2, 4, rendezvous{"10.0.0.1", 29400, 2, 4, 1}},
		{"srun", env("MASTER_ADDR", "node1", "MASTER_PORT", "29500", "SLURM_PROCID", "3", "SLURM_NTASKS", "4", "SLURM_LOCALID", "3"),
			"env://", -1, -1, rendezvous{"node1", 29500, 3, 4, 3}},
		{"tcp", env("RANK", "0", "WORLD_SIZE", "2"), "tcp://127.0.0.1:1234", -1, -1, rendezvous{"127.0.0.1", 1234, 0, 2, -1}},
		{"tcp ipv6", env(), "tcp://[::1]:1234", 1, 2, rendezvous{"::1", 1234, 1, 2, -1}},
	}
	for _, c := range good {
		got, err := fromEnv(c.getenv, c.method, c.rank, c.size)
		if err != nil || got != c.want {
			t.Errorf("%s: got %+v, %v; want %+v", c.name, got, err, c.want)
		}
	}
	bad := []struct {
		getenv     func(string) string
		method     string
		rank, size int
		want       string
	}{
		{env(), "env://", -1, -1, "environment variable MASTER_ADDR expected, but not set: start the script with `dadash run --nproc_per_node N"},
		{env("SLURM_PROCID", "0"), "env://", -1, -1, "under SLURM, export MASTER_ADDR=$(scontrol show hostnames"},
		{env("MASTER_ADDR", "a"), "env://", -1, -1, "environment variable MASTER_PORT expected"},
		{env("MASTER_ADDR", "a", "MASTER_PORT", "x"), "env://", -1, -1, `MASTER_PORT="x": the port must be an integer`},
		{env("MASTER_ADDR", "a", "MASTER_PORT", "70000", "RANK", "0", "WORLD_SIZE", "1"), "env://", -1, -1, "master port 70000 is out of range"},
		{env("MASTER_ADDR", "a", "MASTER_PORT", "1"), "env://", -1, -1, "environment variable RANK expected"},
		{env("MASTER_ADDR", "a", "MASTER_PORT", "1", "RANK", "0"), "env://", -1, -1, "environment variable WORLD_SIZE expected"},
		{env("MASTER_ADDR", "a", "MASTER_PORT", "1", "RANK", "2", "WORLD_SIZE", "2"), "env://", -1, -1, "RANK=2 but WORLD_SIZE=2: ranks go from 0 to WORLD_SIZE-1"},
		{env("MASTER_ADDR", "a", "MASTER_PORT", "1", "RANK", "0", "WORLD_SIZE", "0"), "env://", -1, -1, "WORLD_SIZE=0: the number of processes must be at least 1"},
		{env("MASTER_ADDR", "a", "MASTER_PORT", "1", "RANK", "0", "WORLD_SIZE", "1", "LOCAL_RANK", "-1"), "env://", -1, -1, `LOCAL_RANK="-1": the local rank must be an integer >= 0`},
		{env(), "tcp://nohost", 0, 1, `init_method "tcp://nohost": expected tcp://host:port`},
		{env(), "file:///x", 0, 1, `init_method "file:///x" is not supported`},
	}
	for _, c := range bad {
		_, err := fromEnv(c.getenv, c.method, c.rank, c.size)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want an error containing %q", c.method, err, c.want)
		}
	}
}

func TestExplainInit(t *testing.T) {
	r0 := rendezvous{"127.0.0.1", 29500, 0, 4, 0}
	r1 := rendezvous{"10.1.2.3", 29500, 1, 4, 1}
	cases := []struct {
		msg  string
		r    rendezvous
		want string
	}{
		{"[store] The server socket has failed to listen on any local network address. ... (errno: 98 - Address already in use).", r0, "cannot listen on port 29500, which another process uses"},
		{"[store] Timed out after 31 seconds waiting for clients. 2/4 clients joined.", r0, "not all 4 processes joined within 30s"},
		{"[store] The client socket has timed out after 30s while trying to connect to (10.1.2.3, 29500).", r1, "rank 0 did not answer within 30s: is it running, and is 10.1.2.3 reachable from this machine on port 29500?"},
		{"[join] Socket Timeout", r1, "not all 4 processes joined within 30s"},
		{"[join] rank 0: rank 3 did not join within the timeout", r1, "not all 4 processes joined within 30s"},
		{"[join] Broken pipe", r1, "rank 0 left the rendezvous before this process joined"},
		{"[join] WORLD_SIZE differs between processes: rank 0 has WORLD_SIZE=2, this process (rank 1) has WORLD_SIZE=4", r1, "rendezvous at 10.1.2.3:29500 as rank 1 of 4: WORLD_SIZE differs"},
		{"[group] Connection refused", r1, "building the process group: Connection refused (between machines, GLOO_SOCKET_IFNAME"},
	}
	for _, c := range cases {
		got := explainInit(errors.New(c.msg), c.r, 30).Error()
		if !strings.Contains(got, c.want) {
			t.Errorf("%q: got %q, want it to contain %q", c.msg, got, c.want)
		}
	}
	if got := explainCollective(errors.New("[../gloo/transport/tcp/pair.cc:598] Connection closed by peer [127.0.0.1]:5000")).Error(); !strings.Contains(got, "another process of the job stopped") {
		t.Errorf("explainCollective: %q", got)
	}
}

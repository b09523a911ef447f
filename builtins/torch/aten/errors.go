package aten

import (
	"bufio"
	"errors"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// OutOfMemoryError is libtorch failing to allocate memory for a result.
type OutOfMemoryError struct {
	Bytes  int64  // what the allocation asked for; 0 when libtorch did not say
	Device string // "cpu" or "cuda:N" ("cuda" when libtorch did not say which)
	Native string // libtorch's own message, for the curious
}

func (e *OutOfMemoryError) Error() string {
	where := "CPU memory"
	if e.Device != "cpu" {
		where = "GPU memory (" + e.Device + ")"
	}
	if e.Bytes > 0 {
		return "out of memory: needs " + gib(e.Bytes) + " of " + where
	}
	return "out of memory: " + where + " is exhausted"
}

// For is the message for a call that failed so: call is how the user would
// write it ("torch.zeros(100000, 100000, 100)").
func (e *OutOfMemoryError) For(call string) string {
	where := "CPU memory"
	have := MemTotal()
	if e.Device != "cpu" {
		where, have = "GPU memory on "+e.Device, 0
	}
	s := "out of memory: " + call
	if e.Bytes > 0 {
		s += " needs " + gib(e.Bytes) + " of " + where
	} else {
		s += " ran out of " + where
	}
	if have > 0 {
		s += " (this machine has " + gib(have) + ")"
	}
	return s + "; use smaller sizes (a smaller batch_size, image size or embedding dimension)"
}

var (
	// [enforce fail at alloc_cpu.cpp:75] err == 0. DefaultCPUAllocator: can't
	// allocate memory: you tried to allocate 4000000000000 bytes. Error code 12 (...)
	cpuOOM = regexp.MustCompile(`can't allocate memory: you tried to allocate (\d+) bytes`)
	// CUDA out of memory. Tried to allocate 20.00 GiB (GPU 0; ...
	cudaOOM = regexp.MustCompile(`CUDA out of memory\. Tried to allocate ([0-9.]+) ([KMGT]i?B)(?: \(GPU (\d+))?`)
	// libtorch's internal assertion prefix, which says nothing to a user.
	enforce = regexp.MustCompile(`^\[enforce fail at [^\]]*\] (?:[^.]*\. )?`)
)

// translate turns an error message of the extension into an error a script
// user can act on: out-of-memory failures become *OutOfMemoryError, and
// libtorch's "[enforce fail at file.cpp:N] cond." prefix is dropped.
func translate(msg string) error {
	if m := cpuOOM.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.ParseInt(m[1], 10, 64)
		return &OutOfMemoryError{Bytes: n, Device: "cpu", Native: msg}
	}
	if m := cudaOOM.FindStringSubmatch(msg); m != nil {
		dev := "cuda"
		if m[3] != "" {
			dev = "cuda:" + m[3]
		}
		return &OutOfMemoryError{Bytes: parseBytes(m[1], m[2]), Device: dev, Native: msg}
	}
	if strings.Contains(msg, "CUDA out of memory") || strings.Contains(msg, "CUDA error: out of memory") {
		return &OutOfMemoryError{Device: "cuda", Native: msg}
	}
	return errors.New(enforce.ReplaceAllString(msg, ""))
}

func parseBytes(num, unit string) int64 {
	f, _ := strconv.ParseFloat(num, 64)
	scale := map[string]float64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12}[unit]
	return int64(f * scale)
}

// gib formats bytes in GiB: "3,725 GiB", "12.5 GiB", "0.37 GiB".
func gib(bytes int64) string {
	g := float64(bytes) / (1 << 30)
	switch {
	case g >= 100:
		s := strconv.FormatInt(int64(g+0.5), 10)
		var b strings.Builder
		for i, c := range s {
			if i > 0 && (len(s)-i)%3 == 0 {
				b.WriteByte(',')
			}
			b.WriteRune(c)
		}
		return b.String() + " GiB"
	case g >= 10:
		return strconv.FormatFloat(g, 'f', 1, 64) + " GiB"
	}
	return strconv.FormatFloat(g, 'f', 2, 64) + " GiB"
}

// MemTotal is the machine's memory in bytes (0 when unknown), for
// out-of-memory messages.
func MemTotal() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			fields := strings.Fields(rest)
			if len(fields) >= 1 {
				kb, _ := strconv.ParseInt(fields[0], 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}

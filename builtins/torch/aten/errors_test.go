package aten

import (
	"errors"
	"testing"
)

func TestTranslate(t *testing.T) {
	err := translate("[enforce fail at alloc_cpu.cpp:75] err == 0. DefaultCPUAllocator: can't allocate memory: you tried to allocate 4000000000000 bytes. Error code 12 (Cannot allocate memory)")
	var oom *OutOfMemoryError
	if !errors.As(err, &oom) || oom.Bytes != 4000000000000 || oom.Device != "cpu" {
		t.Fatalf("cpu: %#v", err)
	}
	if got := oom.Error(); got != "out of memory: needs 3,725 GiB of CPU memory" {
		t.Errorf("cpu message: %s", got)
	}
	err = translate("CUDA out of memory. Tried to allocate 20.00 GiB (GPU 1; 79.15 GiB total capacity; 60.00 GiB already allocated)")
	if !errors.As(err, &oom) || oom.Device != "cuda:1" || oom.Bytes != 20<<30 {
		t.Fatalf("cuda: %#v", err)
	}
	if got := oom.For("torch.randn(5, 5)"); got != "out of memory: torch.randn(5, 5) needs 20.0 GiB of GPU memory on cuda:1; use smaller sizes (a smaller batch_size, image size or embedding dimension)" {
		t.Errorf("cuda message: %s", got)
	}
	if got := translate("[enforce fail at inline_container.cc:222] . file not found: archive/constants.pkl").Error(); got != "file not found: archive/constants.pkl" {
		t.Errorf("enforce prefix: %q", got)
	}
	if got := translate("mat1 and mat2 shapes cannot be multiplied (2x5 and 3x4)").Error(); got != "mat1 and mat2 shapes cannot be multiplied (2x5 and 3x4)" {
		t.Errorf("plain: %q", got)
	}
	for _, tc := range []struct {
		n    int64
		want string
	}{{4000000000000, "3,725 GiB"}, {15 << 29, "7.50 GiB"}, {12 << 30, "12.0 GiB"}, {400 << 20, "0.39 GiB"}} {
		if got := gib(tc.n); got != tc.want {
			t.Errorf("gib(%d) = %s, want %s", tc.n, got, tc.want)
		}
	}
}

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Bad tensor input through the real binary: a clear error naming the
// script line and the problem, exit status 1, and never a C++ abort or a Go
// panic (dadash() checks for panic traces; "terminate called" is checked here).
func TestTorchErrors(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"notnpy.npy": "this is not a numpy file",
	})
	// A .npy file cut short.
	full := []byte("\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (100,), }")
	for len(full)%64 != 63 {
		full = append(full, ' ')
	}
	full = append(full, '\n')
	full = append(full, make([]byte, 40)...) // 10 of 100 floats
	if err := os.WriteFile(filepath.Join(dir, "short.npy"), full, 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, src string
		stderr    []string
	}{
		{"matmul shapes", "a = torch.ones(2, 3)\nb = torch.ones(4, 5)\nc = a @ b\n",
			[]string{"<cmd>:3:7:", "shapes cannot be multiplied (2x3 and 4x5)"}},
		{"mm shapes", "torch.mm(torch.ones(2, 3), torch.ones(4, 5))\n",
			[]string{"torch.mm: mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)", "float32 tensor of torch.Size([2, 3]), float32 tensor of torch.Size([4, 5])"}},
		{"index out of range", "t = torch.zeros(3)\nt[5]\n",
			[]string{"<cmd>:2:2:", "index 5 is out of bounds for dimension 0 with size 3"}},
		{"bad dtype", "torch.tensor([1, 2]).mean()\n",
			[]string{"Tensor.mean", "Long"}},
		{"wrong argument type", "torch.zeros(2).sum(dim = 'x')\n",
			[]string{"Tensor.sum", "no signature matches"}},
		{"wrong argument count", "torch.tensor()\n",
			[]string{"torch.tensor: missing argument for data"}},
		{"cuda", "torch.zeros(2, device = 'cuda')\n",
			[]string{"CUDA is not available", "device=\"cpu\""}},
		{"not npy", "torch.load_npy('notnpy.npy')\n",
			[]string{"torch.load_npy", "notnpy.npy"}},
		{"truncated npy", "torch.load_npy('short.npy')\n",
			[]string{"short.npy", "truncated", "expected 400 bytes"}},
		{"ambiguous truth", "if torch.ones(2):\n    pass\n",
			[]string{"<cmd>:1:", "more than one value is ambiguous"}},
	}
	for _, c := range cases {
		r := dadash(t, dir, "", "-c", c.src)
		r.check(t, c.name, 1, "", c.stderr...)
		for _, bad := range []string{"terminate called", "Exception raised from", "frame #"} {
			if strings.Contains(r.stderr, bad) {
				t.Errorf("%s: stderr shows a C++ trace (%q):\n%s", c.name, bad, r.stderr)
			}
		}
	}
}

func TestTorchScript(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"t.star": "x = torch.arange(6).view(2, 3).float()\nx.requires_grad_()\ny = (x ** 2).sum()\ny.backward()\nprint(x.grad[:, 1:])\nprint(torch.tensor([1.5, 2]))\n",
	})
	dadash(t, dir, "", "t.star").check(t, "script", 0, "tensor([[ 2.,  4.],\n        [ 8., 10.]])\ntensor([1.5000, 2.0000])\n")
	// The REPL on a pipe: values print as PyTorch prints them, _ holds the last one.
	dadash(t, dir, "x = torch.ones(2)\nx * 3\n_ + 1\n").check(t, "repl", 0, "tensor([3., 3.])\ntensor([4., 4.])\n")
	dadash(t, dir, "", "version").check(t, "version", 0, "*")
}

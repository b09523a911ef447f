package interp

import "testing"

func TestDestutter(t *testing.T) {
	for in, want := range map[string]string{
		"nn.functional.max_pool2d: max_pool2d: max_pool2d(): Expected 3D": "nn.functional.max_pool2d: Expected 3D",
		"torch.zeros: torch.zeros: size must be ints":                     "torch.zeros: size must be ints",
		"Tensor.sum: sum: bad":                                            "Tensor.sum: bad",
		"torch.zeros: out of memory: torch.zeros(1, 2) needs":             "torch.zeros: out of memory: torch.zeros(1, 2) needs",
		"losses.proxy_anchor: logsumexp: bad":                             "losses.proxy_anchor: logsumexp: bad",
		"floored division by zero":                                        "floored division by zero",
		"a b: a b: c":                                                     "a b: a b: c",
	} {
		if got := destutter(in); got != want {
			t.Errorf("destutter(%q) = %q, want %q", in, got, want)
		}
	}
}

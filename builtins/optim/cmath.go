package optim

// The scalar maths of the optimizers and schedulers (beta ** step, the
// cosine of the annealing schedule) goes through the C library, because
// that is what CPython's float ** float and math.cos call: Go's math.Pow and
// math.Cos can differ from glibc in the last bit, and a learning rate one
// ulp off is enough to make a run diverge from PyTorch's bit for bit.

// #cgo LDFLAGS: -lm
// #include <math.h>
import "C"

func cpow(x, y float64) float64 { return float64(C.pow(C.double(x), C.double(y))) }

func ccos(x float64) float64 { return float64(C.cos(C.double(x))) }

# Generates golden_test.go from a real PyTorch 1.13 so that the Go tests
# compare against strings PyTorch itself printed. Run by hand only; the Go
# tests never need Python:
#
#   python3 testdata/gen_golden.py > golden_test.go && gofmt -w golden_test.go
import math
import torch
import torch._tensor_str as ts

torch.manual_seed(1234)

DTYPES = {
    "float32": torch.float32, "float64": torch.float64, "float16": torch.float16,
    "bfloat16": torch.bfloat16, "int64": torch.int64, "int32": torch.int32,
    "int16": torch.int16, "int8": torch.int8, "uint8": torch.uint8, "bool": torch.bool,
}
FLOAT = {"float32", "float64", "float16", "bfloat16"}

cases = []


def gofloat(v):
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v == 0 and math.copysign(1, v) < 0:
        return "negz"
    return repr(v)


def gen(n, mul, mod, off, scale):
    # Mirrors genFloats in the Go tests: exact integer arithmetic, then one
    # multiplication, so both sides compute bit-identical doubles.
    return [float(((i * mul) % mod) - off) * scale for i in range(n)]


def add(name, values, shape, dtype="float32", *, device=None, requires_grad=False,
        grad=None, precision=4, threshold=1000, edgeitems=3, linewidth=80,
        sci_mode=None, genspec=None):
    torch.set_printoptions(precision=precision, threshold=threshold,
                           edgeitems=edgeitems, linewidth=linewidth, sci_mode=sci_mode)
    t = torch.tensor(values, dtype=DTYPES[dtype]).reshape(shape)
    if requires_grad or grad:
        t.requires_grad_(True)
    if grad == "add":
        t = t + (-0.0)  # the identity of addition, -0. stays -0.
    elif grad == "mul":
        t = t * 1
    if device is None:
        s = repr(t)
    else:
        # Only a CPU build is available: reuse PyTorch's own contents and
        # suffix code with the device suffix it would have put first.
        assert not requires_grad and grad is None
        suffixes = ["device='%s'" % device]
        if t.numel() == 0:
            if t.dim() != 1:
                suffixes.append("size=" + str(tuple(t.shape)))
            if t.dtype != torch.get_default_dtype():
                suffixes.append("dtype=" + str(t.dtype))
            body = "[]"
        else:
            if t.dtype not in (torch.float32, torch.int64, torch.bool):
                suffixes.append("dtype=" + str(t.dtype))
            body = ts._tensor_str(t, 7)
        s = ts._add_suffixes("tensor(" + body, suffixes, 7, False)
    torch.set_printoptions(profile="default", sci_mode=None)
    cases.append(dict(name=name, values=values, shape=shape, dtype=dtype,
                      device=device, requires_grad=requires_grad and grad is None,
                      grad={"add": "AddBackward0", "mul": "MulBackward0"}.get(grad),
                      precision=precision, threshold=threshold, edgeitems=edgeitems,
                      linewidth=linewidth, sci_mode=sci_mode, genspec=genspec, want=s))


def addgen(name, n, mul, mod, off, scale, shape, dtype="float32", **kw):
    vals = gen(n, mul, mod, off, scale)
    if dtype not in FLOAT:
        vals = [int(v) for v in vals]
    add(name, vals, shape, dtype, genspec=(n, mul, mod, off, scale), **kw)


def randn(*shape):
    return torch.randn(*shape).reshape(-1).tolist()


nan, inf = float("nan"), float("inf")

# 0-dim
add("scalar int-valued float", 3.0, [])
add("scalar zero", 0.0, [])
add("scalar negative zero", -0.0, [])
add("scalar fraction", -2.5, [])
add("scalar small sci", 1e-5, [])
add("scalar nan", nan, [])
add("scalar inf", inf, [])
add("scalar -inf", -inf, [])
add("scalar big int-valued", 1e10, [])
add("scalar pi float64", 3.14159265358979, [], "float64")
add("scalar float16 rounding", 0.1, [], "float16")
add("scalar bfloat16 rounding", 0.1, [], "bfloat16")
add("scalar int64", 5, [], "int64")
add("scalar int32 negative", -7, [], "int32")
add("scalar bool", True, [], "bool")
add("scalar requires_grad", 2.0, [], requires_grad=True)
add("scalar grad_fn", 1.5, [], grad="add")

# vectors: modes
add("int mode", [1.0, 2.0, 3.0], [3])
add("int mode negative widths", [-1.0, 10.0, 100.0], [3])
add("fixed", [1.5, -2.25], [2])
add("all zero", [0.0, 0.0], [2])
add("signed zeros", [-0.0, 0.0], [2])
add("negative zero fixed", [-0.0, 1.5], [2])
add("nonfinite only", [nan, inf, -inf], [3])
add("int mode with nan", [nan, 1.0], [2])
add("int mode with inf", [1.0, inf, -inf, 20.0], [4])
add("fixed with nonfinite", [1.5, nan, -inf], [3])
add("sci with nan", [nan, 1e-5], [2])
add("sci small", [1e-5, 1.0], [2])
add("int mode 1e8 not sci", [1e8, 1.0], [2])
add("int mode >1e8 sci", [1e9, 1.0], [2])
add("int mode ratio sci", [123456.0, 1.0], [2])
add("int mode ratio 1000 not sci", [1000.0, 1.0], [2])
add("ratio sci", [0.001, 1000.0], [2])
add("ratio exactly 1000", [0.1, 100.0], [2], "float64")
add("float32 1e-4 rounds below", [1e-4, 0.5], [2])
add("float64 1e-4 stays fixed", [1e-4, 0.5], [2], "float64")
add("fixed large", [1234.5, 2.5], [2])
add("huge float64", [1e300, 1.0], [2], "float64")
add("tiny float64", [1e-300, -1.0], [2], "float64")
add("float32 unrounded input", [0.1, 0.2, 0.3], [3])
add("float16 vector", [0.1, 1 / 3, 65519.0, -2.0], [4], "float16")
add("bfloat16 vector", [0.1, 1 / 3, 1.00390625, 1.01171875], [4], "bfloat16")
add("float64 vector", [1.0, 2.0], [2], "float64")
add("float64 fractions", [1 / 3, 2 / 3, -1e-3], [3], "float64")
add("rounding half even", [0.00005, 0.00015, 0.00025, 1.0], [4], "float64")

# integer and bool dtypes
add("int64", [1, 2, 3], [3], "int64")
add("int64 widths", [-100, 5, 20000], [3], "int64")
add("int64 extremes", [-9223372036854775808, 9223372036854775807], [2], "int64")
add("int32", [1, -2, 3], [3], "int32")
add("int16", [300, -300], [2], "int16")
add("int8", [-128, 127, 0], [3], "int8")
add("uint8", [0, 255, 7], [3], "uint8")
add("bool", [True, False, True], [3], "bool")
add("bool matrix", [True, False, False, True], [2, 2], "bool")

# shapes
add("matrix 4x5", randn(4, 5), [4, 5])
add("3d 2x3x4", randn(2, 3, 4), [2, 3, 4])
add("4d 2x2x2x2", randn(16), [2, 2, 2, 2])
add("column", [1.0, 2.0, 3.0], [3, 1])
add("row", [1.0, 2.0, 3.0], [1, 3])
add("1x1x1", [7.0], [1, 1, 1])
add("int matrix", [1, 22, 333, -4, 5, 6], [2, 3], "int64")
add("5d", list(range(32)), [2, 2, 2, 2, 2], "int64")

# line wrapping
add("wrap floats", randn(30), [30])
add("wrap ints", list(range(100)), [100], "int64")
add("wrap matrix", randn(75), [3, 25])
add("wrap 3d", randn(2 * 2 * 15), [2, 2, 15])
add("wrap linewidth 40", randn(12), [12], linewidth=40)
add("wrap linewidth 120", randn(40), [2, 20], linewidth=120)
add("wrap linewidth tiny", [1.5, 2.5, 3.5], [3], linewidth=5)
add("wrap sci", [1e-7 * (i + 1) for i in range(20)], [20])

# summarisation
addgen("summarize ints 2000", 2000, 1, 100000, 0, 1.0, [2000], "int64")
addgen("summarize floats 2000", 2000, 7919, 1000, 500, 0.25, [2000])
addgen("summarize 50x50", 2500, 7919, 1000, 500, 0.125, [50, 50])
addgen("summarize 10x10x20", 2000, 104729, 2000, 1000, 0.5, [10, 10, 20])
addgen("summarize 1001", 1001, 31, 997, 400, 1.0, [1001])
addgen("summarize 4x300 no row elision", 1200, 17, 1000, 500, 0.01, [4, 300])
addgen("summarize 300x4", 1200, 13, 1000, 500, 0.01, [300, 4])
addgen("summarize sci", 1500, 7919, 1000, 1, 1e-6, [1500])
add("threshold 5", list(range(10)), [10], "int64", threshold=5)
add("threshold 5 floats", [i * 1.5 for i in range(10)], [10], threshold=5)
add("threshold edgeitems 2", [float(i) for i in range(36)], [6, 6], threshold=5, edgeitems=2)
add("threshold edgeitems 1 3d", [float(i) for i in range(60)], [3, 4, 5], threshold=10, edgeitems=1)
add("threshold exactly numel", list(range(6)), [6], "int64", threshold=6)
add("threshold 0", list(range(8)), [8], "int64", threshold=0)
add("summarize bool", [bool(i % 3) for i in range(20)], [20], "bool", threshold=10)
add("summarize small dims kept", [float(i) for i in range(24)], [2, 3, 4], threshold=5)
add("summarize wrap", [i * 1.25 for i in range(200)], [200], threshold=100, edgeitems=20)

# precision and sci mode options
add("precision 2", [1.23456, -7.891], [2], precision=2)
add("precision 8", [1.23456, -7.891], [2], "float64", precision=8)
add("precision 0", [1.5, 2.25, -0.5], [3], precision=0)
add("precision 0 sci", [1e-5, 1.0], [2], precision=0)
add("sci forced on", [1.5, 2.0], [2], sci_mode=True)
add("sci forced on int mode", [1.0, 20.0], [2], sci_mode=True)
add("sci forced off", [1e-5, 1.0], [2], sci_mode=False)
add("sci forced on all zero keeps quirk", [0.0, 0.0], [2], sci_mode=True)
add("sci forced on ints ignored", [1, 2], [2], "int64", sci_mode=True)

# suffixes
add("dtype int32 suffix", [1, 2], [2], "int32")
add("dtype float16 suffix", [1.0, 2.5], [2], "float16")
add("requires_grad", [1.0, 2.0], [2], requires_grad=True)
add("grad_fn add", [1.0, 2.5], [2], grad="add")
add("grad_fn mul float64", [1.0, 2.5], [2], "float64", grad="mul")
add("suffix wraps", randn(9), [9], "float64", linewidth=80)
add("suffix wraps after long last line", [float(i) + 0.5 for i in range(10)], [10], "float64")
add("suffix wraps with grad", [float(i) + 0.5 for i in range(10)], [10], "float64", grad="add")
add("suffix on matrix", randn(6), [2, 3], "float64", requires_grad=True)
add("suffix fits exactly", [float(i) + 0.5 for i in range(7)], [7], "float64")
for n in range(6, 12):
    add("suffix boundary %d" % n, [float(i) + 0.25 for i in range(n)], [n], "float16", grad="add")
add("device cuda", [1.0, 2.0], [2], device="cuda:0")
add("device cuda float64", [1.0, 2.0], [2], "float64", device="cuda:0")
add("device cuda long row", [float(i) + 0.5 for i in range(10)], [10], "float64", device="cuda:0")
add("device cuda empty", [], [0, 3], device="cuda:0")
add("device cuda scalar int32", 4, [], "int32", device="cuda:1")

# empty tensors
add("empty 1d", [], [0])
add("empty 0x3", [], [0, 3])
add("empty 2x0x4", [], [2, 0, 4])
add("empty int64", [], [0], "int64")
add("empty bool 2d", [], [3, 0], "bool")
add("empty float64", [], [0], "float64")
add("empty requires_grad", [], [0, 2], requires_grad=True)


# randomised cases: shapes, magnitudes, special values and print options
import random
rng = random.Random(42)
for k in range(80):
    ndim = rng.choice([0, 1, 1, 2, 2, 3, 4])
    shape = [rng.randint(1, 5 if ndim > 2 else 12) for _ in range(ndim)]
    n = 1
    for d in shape:
        n *= d
    dtype = rng.choice(["float32", "float32", "float64", "float16", "bfloat16", "int64", "int32", "uint8", "bool"])
    scale = 10 ** rng.uniform(-7, 10)
    if dtype in FLOAT:
        style = rng.choice(["normal", "ints", "mixed"])
        vals = []
        for _ in range(n):
            v = rng.gauss(0, 1) * scale
            if style == "ints":
                v = float(round(v))
            elif style == "mixed" and rng.random() < 0.3:
                v = rng.choice([0.0, -0.0, nan, inf, -inf, 1.0, 1e-6])
            vals.append(v)
    elif dtype == "bool":
        vals = [rng.random() < 0.5 for _ in range(n)]
    elif dtype == "uint8":
        vals = [rng.randint(0, 255) for _ in range(n)]
    else:
        vals = [int(rng.gauss(0, 1) * scale) % 2**31 - 2**30 if scale > 1e9 else int(rng.gauss(0, 1) * scale) for _ in range(n)]
    if ndim == 0:
        vals = vals[0]
    kw = {}
    if rng.random() < 0.3:
        kw["precision"] = rng.randint(1, 8)
    if rng.random() < 0.3:
        kw["linewidth"] = rng.randint(20, 140)
    if rng.random() < 0.3:
        kw["threshold"] = rng.randint(1, 40)
        kw["edgeitems"] = rng.randint(1, 4)
    if dtype in FLOAT and rng.random() < 0.2:
        kw["grad"] = rng.choice(["add", "mul"])
    add("random %d" % k, vals, shape, dtype, **kw)


def golit(s):
    assert "`" not in s
    return "`" + s + "`"


def godata(c):
    if c["genspec"] is not None:
        n, mul, mod, off, scale = c["genspec"]
        g = "genFloats(%d, %d, %d, %d, %r)" % (n, mul, mod, off, scale)
        if c["dtype"] in FLOAT:
            return "Data{F: %s}" % g
        return "Data{I: toInts(%s)}" % g
    vals = c["values"]
    if not isinstance(vals, list):
        vals = [vals]
    if c["dtype"] == "bool":
        return "Data{B: []bool{%s}}" % ", ".join("true" if v else "false" for v in vals)
    if c["dtype"] in FLOAT:
        return "Data{F: []float64{%s}}" % ", ".join(gofloat(float(v)) for v in vals)
    return "Data{I: []int64{%s}}" % ", ".join(str(int(v)) for v in vals)


print("// Code generated by testdata/gen_golden.py from PyTorch %s; DO NOT EDIT." % torch.__version__)
print()
print("package tensorfmt")
print()
print("var goldenCases = []goldenCase{")
for c in cases:
    opts = ['DType: "%s"' % c["dtype"]]
    if c["device"]:
        opts.append('Device: "%s"' % c["device"])
    if c["requires_grad"]:
        opts.append("RequiresGrad: true")
    if c["grad"]:
        opts.append('GradFn: "%s"' % c["grad"])
    if c["precision"] != 4:
        opts.append("Precision: %d" % (c["precision"] if c["precision"] else -1))
    if c["threshold"] != 1000:
        opts.append("Threshold: %d" % (c["threshold"] if c["threshold"] else -1))
    if c["edgeitems"] != 3:
        opts.append("EdgeItems: %d" % c["edgeitems"])
    if c["linewidth"] != 80:
        opts.append("LineWidth: %d" % c["linewidth"])
    if c["sci_mode"] is not None:
        opts.append("SciMode: %s" % ("SciOn" if c["sci_mode"] else "SciOff"))
    shape = "[]int64{%s}" % ", ".join(str(d) for d in c["shape"])
    print("\t{")
    print("\t\tname:  %s," % golit(c["name"]))
    print("\t\tdata:  %s," % godata(c))
    print("\t\tshape: %s," % shape)
    print("\t\topts:  Options{%s}," % ", ".join(opts))
    print("\t\twant:  %s," % golit(c["want"]))
    print("\t},")
print("}")

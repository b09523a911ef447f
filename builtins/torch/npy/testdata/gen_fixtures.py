# Writes the .npy fixtures in this folder with numpy (1.24 when they were
# made). Run by hand from this folder; the Go tests only read the files.
import numpy as np
from numpy.lib import format as fmt


def save(name, a, version=None):
    with open(name, "wb") as f:
        fmt.write_array(f, a, version=version)


save("v1_f4_2x3.npy", np.arange(6, dtype="<f4").reshape(2, 3) / 4)
save("v2_i8_3.npy", np.array([1, -2, 3], dtype="<i8"), version=(2, 0))
save("v3_u1_2x2.npy", np.array([[0, 1], [254, 255]], dtype="u1"), version=(3, 0))
save("be_f8_2x2.npy", np.array([[1.5, -2.0], [3.25, 1e300]], dtype=">f8"))
save("be_i2_3.npy", np.array([1, -2, 300], dtype=">i2"))
save("fortran_i4_2x3x4.npy", np.asfortranarray(np.arange(24, dtype="<i4").reshape(2, 3, 4)))
save("bool_4.npy", np.array([True, False, False, True]))
save("f2_3.npy", np.array([0.5, -1.0, 65504.0], dtype="<f2"))
save("i1_scalar.npy", np.array(-5, dtype="i1"))
save("f4_empty_0x3.npy", np.zeros((0, 3), dtype="<f4"))
save("i2_32dims.npy", np.arange(2, dtype="<i2").reshape((1,) * 31 + (2,)))
save("object.npy", np.array([1, "a"], dtype=object))
save("structured.npy", np.zeros(2, dtype=[("a", "<f4"), ("b", "<i8")]))
save("u2.npy", np.zeros(2, dtype="<u2"))

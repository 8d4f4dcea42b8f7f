"""The generated CUDA source checked as text, and the plugin's pure-Python geometry.

Nothing here needs cupy, a GPU or a compiler. (``test_cupy_host_kernels.py``
compiles and runs the same source on the CPU; ``test_cupy_gpu.py`` on a GPU.)
"""
from __future__ import annotations

import re
import sys

import numpy as np
import pytest

from cupy_host_emulation import parse_signature
from layerkit.backend.kernels import KERNEL_NAMES
from layerkit.backend.kernels import random as generic_random
from layerkit_cupy import _cuda, conv, nnet, pool
from layerkit_cupy import random as lkrandom
from layerkit_cupy.backend import CUPY_KERNELS, OUT_KERNELS

SOURCES = {
    "im2col": conv.im2col_source, "col2im": conv.col2im_source,
    "pool_fwd": pool.pool_fwd_source, "pool_bwd": pool.pool_bwd_source,
    "softmax": nnet.softmax_source,
}
GEOMETRY = ["C", "H", "W", "kh", "kw", "sh", "sw", "ph", "pw", "dh", "dw", "oh", "ow"]
POOL = ["H", "W", "oh", "ow", "wh", "ww", "sh", "sw", "ph", "pw", "mode"]
SIGNATURES = {
    "im2col": [("x", True), ("cols", True), ("total", False)] + [(g, False) for g in GEOMETRY],
    "col2im": [("dcols", True), ("gx", True), ("total", False)] + [(g, False) for g in GEOMETRY],
    "pool_fwd": [("x", True), ("y", True), ("total", False)] + [(g, False) for g in POOL],
    "pool_bwd": [("x", True), ("out", True), ("gout", True), ("gx", True), ("total", False)]
    + [(g, False) for g in POOL],
    "softmax": [("x", True), ("y", True), ("total", False), ("cols", False),
                ("log_mode", False)],
}


def _name_and_source(kind, dtype, itype):
    return SOURCES[kind](dtype, itype)


@pytest.mark.parametrize("kind", sorted(SOURCES))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("itype", ["int", "long long"])
def test_kernel_signature_and_types(kind, dtype, itype):
    name, src = _name_and_source(kind, dtype, itype)
    T = {"float32": "float", "float64": "double"}[dtype]
    assert name == f"lk_{'softmax_rows' if kind == 'softmax' else kind}_" \
                   f"{'f32' if dtype == 'float32' else 'f64'}_{'i32' if itype == 'int' else 'i64'}"
    assert src.startswith(f'extern "C" __global__ void {name}(')
    params = parse_signature(src, name)
    assert [(p, ptr) for _, p, ptr in params] == SIGNATURES[kind]
    for ctype, pname, pointer in params:
        if pointer:
            assert ctype == T, f"{pname}: {ctype}"
        elif pname == "total":
            assert ctype == itype
        else:
            assert ctype == "int", f"{pname}: {ctype}"
    # inputs are const, outputs written through the last pointers only
    pointers = [p for _, p, ptr in params if ptr]
    for p in pointers[:-1]:
        assert f"const {T}* __restrict__ {p}" in src
    assert f"{T}* __restrict__ {pointers[-1]}" in src


@pytest.mark.parametrize("kind", sorted(SOURCES))
def test_kernels_are_grid_stride_loops_without_block_cooperation(kind):
    """The host emulation (and any launch shape) is exact only for such kernels."""
    _, src = _name_and_source(kind, "float32", "int")
    assert re.search(r"for \(int \w+ = \(int\)blockIdx\.x \* blockDim\.x \+ threadIdx\.x; "
                     r"\w+ < total;\s+\w+ \+= \(int\)blockDim\.x \* gridDim\.x\)", src), src
    for forbidden in ("__shared__", "__syncthreads", "atomic", "__shfl"):
        assert forbidden not in src
    assert src.count("{") == src.count("}")


def test_long_index_type_is_used_throughout():
    _, src = conv.im2col_source("float64", "long long")
    assert "for (long long idx = (long long)blockIdx.x * blockDim.x" in src
    assert "const long long n = t / C;" in src
    _, src = conv.col2im_source("float32", "long long")
    assert "const long long L = (long long)oh * ow;" in src


def test_im2col_reads_padding_as_zero_and_the_tap_formula():
    _, src = conv.im2col_source("float32", "int")
    assert "const int y = r * sh + i * dh - ph;" in src
    assert "const int xc = q * sw + j * dw - pw;" in src
    assert "if (y >= 0 && y < H && xc >= 0 && xc < W)" in src
    assert "v = x[((n * C + c) * H + y) * W + xc];" in src


def test_col2im_gathers_in_tap_order_without_atomics():
    _, src = conv.col2im_source("float64", "int")
    i_loop, j_loop = src.index("for (int i = 0; i < kh; ++i)"), src.index("for (int j = 0; j < kw; ++j)")
    assert i_loop < j_loop
    assert "if (ry < 0 || ry % sh != 0) continue;" in src   # checked before the modulo's sign matters
    assert "acc += dcols[" in src and "atomicAdd" not in src


def test_pool_kernels_walk_windows_as_the_generic_kernel_adds_them():
    _, fwd = pool.pool_fwd_source("float32", "int")
    assert "if (v > acc || v != v) acc = v;" in fwd             # max propagates NaN
    assert "acc = acc / (float)((ey - y0) * (ex - x0));" in fwd   # average_inc_pad
    assert "acc = acc / (float)((yhi - ylo) * (xhi - xlo));" in fwd   # average_exc_pad
    _, bwd = pool.pool_bwd_source("float32", "int")
    assert "for (int a = ahi; a >= alo; --a)" in bwd and "for (int b = bhi; b >= blo; --b)" in bwd
    # max: the first maximum in window order takes the gradient (D62), not every tie
    assert "if (xv == m) {" in bwd and "if (first) acc += gout[o];" in bwd
    assert "if (p[(yy - ph) * W + (xx - pw)] == m) { first = false; break; }" in bwd


@pytest.mark.parametrize("dtype", ["int32", "int64", "uint8"])
def test_pool_sources_for_integer_dtypes(dtype):
    name, src = pool.pool_fwd_source(dtype, "int")
    assert f"const {_cuda.CTYPES[dtype]}* __restrict__ x" in src
    assert name.endswith(f"_{_cuda.suffix(dtype)}_i32")


def test_softmax_uses_the_dtype_s_math_functions():
    _, f32 = nnet.softmax_source("float32", "int")
    assert "expf(xr[j] - m)" in f32 and "logf(s)" in f32 and " exp(" not in f32
    _, f64 = nnet.softmax_source("float64", "int")
    assert "exp(xr[j] - m)" in f64 and "log(s)" in f64 and "expf" not in f64


# -- random ------------------------------------------------------------------------

def test_random_constants_are_the_generic_kernels():
    assert lkrandom.GOLDEN == generic_random._GOLDEN
    assert (lkrandom.MUL1, lkrandom.MUL2) == (generic_random._MUL1, generic_random._MUL2)
    assert f"0x{generic_random._GOLDEN:X}ULL" in lkrandom.PREAMBLE
    assert f"0x{generic_random._MUL1:X}ULL" in lkrandom.PREAMBLE
    assert f"0x{generic_random._MUL2:X}ULL" in lkrandom.PREAMBLE


@pytest.mark.parametrize("key,counter,stream", [(0, 0, 0), (42, 7, 3), (2**70 + 5, 2**64 + 1, 2),
                                                (12345, 99, 1)])
def test_seeds_are_the_generic_kernels(key, counter, stream):
    assert lkrandom.seed_for(key, counter, stream) == generic_random._seed(key, counter, stream)


def test_random_bits_of_the_preamble_are_splitmix_on_the_host():
    """The host re-statement of the kernel's formula gives the generic kernel's bits."""
    seed = lkrandom.seed_for(5, 3, 0)
    i = np.arange(6, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = (i + np.uint64(1)) * np.uint64(lkrandom.GOLDEN) + np.uint64(seed)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(lkrandom.MUL1)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(lkrandom.MUL2)
        z = z ^ (z >> np.uint64(31))
    np.testing.assert_array_equal(z, generic_random.random_bits(5, 3, 6, np))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_uniform_and_normal_sources_avoid_fused_multiply_add(dtype):
    mul, add = ("__fmul_rn", "__fadd_rn") if dtype == "float32" else ("__dmul_rn", "__dadd_rn")
    in_p, out_p, body, name = lkrandom.uniform_source(dtype)
    assert in_p == f"uint64 seed, {dtype} scale, {dtype} low" and out_p == f"{dtype} y"
    assert f"y = {add}(low, {mul}(scale, u));" in body
    assert name == f"lk_random_uniform_{_cuda.suffix(dtype)}"
    in_p, out_p, body, _ = lkrandom.normal_source(dtype)
    assert in_p.startswith("uint64 seed_r, uint64 seed_a")
    assert f"y = {add}(mean, {mul}(std, {mul}(r, a)));" in body
    if dtype == "float32":
        assert ">> 40) * 5.9604644775390625e-08f" in body and "logf(" in body
        assert float(np.float32(2.0**-24)) == 5.9604644775390625e-08
    else:
        assert ">> 11) * 1.1102230246251565e-16" in body
        assert 2.0**-53 == 1.1102230246251565e-16


def test_binomial_source_counts_trials_in_integers():
    in_p, out_p, body, _ = lkrandom.binomial_source("float32")
    assert in_p == "uint64 base, uint64 threshold, int32 trials, bool always"
    assert out_p == "float32 y"
    assert f"lk_mix64(base + {lkrandom.BINOMIAL}ULL + (unsigned long long)t)" in body
    assert "lk_bits(i, s) < threshold" in body and "y = (float)count;" in body


# -- geometry and the table -----------------------------------------------------------

def test_conv_plan_matches_the_generic_geometry_and_refuses_what_it_refuses():
    p = conv.ConvPlan((2, 3, 7, 6), (4, 3, 3, 2), (2, 1), (1, 0), (1, 2))
    assert (p.oh, p.ow, p.k, p.length) == (4, 4, 18, 16)
    assert [int(a) for a in p.geometry_args()] == [3, 7, 6, 3, 2, 2, 1, 1, 0, 1, 2, 4, 4]
    assert all(type(a) is np.int32 for a in p.geometry_args())
    with pytest.raises(ValueError, match="the input has 3 channels but the filters expect 2"):
        conv.ConvPlan((2, 3, 7, 6), (4, 2, 3, 3), (1, 1), (0, 0), (1, 1))
    with pytest.raises(ValueError, match="do not fit an input of size"):
        conv.ConvPlan((2, 3, 2, 2), (4, 3, 3, 3), (1, 1), (0, 0), (1, 1))


def test_conv_chunks_cover_the_batch_and_respect_the_byte_budget():
    p = conv.ConvPlan((10, 2, 5, 5), (3, 2, 3, 3), (1, 1), (0, 0), (1, 1))
    per = p.k * p.length * 4
    assert p.chunks(4) == [(0, 10)]
    assert p.chunks(4, chunk_bytes=3 * per) == [(0, 3), (3, 6), (6, 9), (9, 10)]
    assert p.chunks(4, chunk_bytes=1) == [(k, k + 1) for k in range(10)]


def test_index_type_switches_at_32_bits():
    assert _cuda.index_type(2**31 - 1) == "int"
    assert _cuda.index_type(10, 2**31) == "long long"
    p = conv.ConvPlan((1, 1, 50000, 50000), (1, 1, 1, 1), (1, 1), (0, 0), (1, 1))
    assert p.itype(1) == "long long"


def test_launch_grid():
    assert _cuda.grid_for(0) == 1 and _cuda.grid_for(1) == 1
    assert _cuda.grid_for(_cuda.BLOCK + 1) == 2
    assert _cuda.grid_for(10**12) == _cuda.MAX_GRID


def test_kernel_table_covers_the_contract_without_importing_cupy():
    missing = {"conv2d", "conv2d_grad_input", "conv2d_grad_weight", "pool2d", "pool2d_grad",
               "softmax", "log_softmax", "matmul", "random_uniform", "random_normal",
               "random_binomial"} - set(CUPY_KERNELS)
    assert not missing
    assert set(CUPY_KERNELS) <= KERNEL_NAMES
    assert {"add", "multiply", "sigmoid", "exp", "clip", "softplus"} <= OUT_KERNELS
    if "cupy" not in sys.modules:
        import layerkit_cupy.backend  # noqa: F401
        assert "cupy" not in sys.modules

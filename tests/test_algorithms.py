"""How a convolution is computed: each algorithm equals F.conv2d, its multiplications are the
ones the page counts, and the page's numbers are what the code measures."""

import json
import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

from sitegen.pages import algorithms as page
from snippets import algorithms as A

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
F64 = torch.float64


def counted_flops(fn, *args, **kwargs) -> int:
    with FlopCounterMode(display=False) as counter:
        fn(*args, **kwargs)
    return counter.get_total_flops()


class MultiplicationCounter(TorchDispatchMode):
    """Counts the multiplications of data by data that really run: m·n·k per matrix product,
    one per element of an element-wise product of two tensors (a depthwise einsum becomes
    one); scalings by a constant (a 0-dim tensor) are the transforms', not counted."""

    def __init__(self):
        super().__init__()
        self.count = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if func in (torch.ops.aten.mm.default, torch.ops.aten.bmm.default):
            a, b = args[0], args[1]
            self.count += out.numel() * a.shape[-1]
        elif func is torch.ops.aten.mul.Tensor and all(
                isinstance(a, torch.Tensor) and a.dim() > 0 for a in args[:2]):
            self.count += out.numel()
        else:
            assert func not in (torch.ops.aten.addmm.default, torch.ops.aten.baddbmm.default,
                                torch.ops.aten.matmul.default, torch.ops.aten.mv.default,
                                torch.ops.aten.dot.default), func
        return out


def counted_multiplications(fn, *args, **kwargs) -> int:
    with MultiplicationCounter() as counter:
        fn(*args, **kwargs)
    return counter.count


@st.composite
def conv_case(draw, max_kernel=4, strided=True, grouped=True):
    """A valid F.conv2d configuration: rectangular kernels, stride, padding, dilation, groups."""
    groups = draw(st.integers(1, 3)) if grouped else 1
    cg, og = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, max_kernel)), draw(st.integers(1, max_kernel))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3))) if strided else (1, 1)
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    span = (dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1)
    h = draw(st.integers(max(1, span[0] - 2 * padding[0]), span[0] + 6))
    w = draw(st.integers(max(1, span[1] - 2 * padding[1]), span[1] + 6))
    return dict(x=(draw(st.integers(1, 2)), groups * cg, h, w),
                weight=(groups * og, cg, kh, kw), bias=draw(st.booleans()),
                stride=stride, padding=padding, dilation=dilation, groups=groups)


def tensors(case, device, dtype=F64, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(case["x"], generator=g, dtype=dtype).to(device)
    w = torch.randn(case["weight"], generator=g, dtype=dtype).to(device)
    b = torch.randn(case["weight"][0], generator=g, dtype=dtype).to(device) \
        if case["bias"] else None
    return x, w, b


def args(case):
    return {k: case[k] for k in ("stride", "padding", "dilation", "groups")}


# --- each algorithm equals F.conv2d (float64) ------------------------------------------------
@SETTINGS
@given(case=conv_case())
def test_direct_equals_conv2d(device, case):
    x, w, b = tensors(case, device)
    torch.testing.assert_close(A.conv2d_direct(x, w, b, **args(case)),
                               F.conv2d(x, w, b, **args(case)))


@SETTINGS
@given(case=conv_case())
def test_im2col_equals_conv2d(device, case):
    x, w, b = tensors(case, device)
    torch.testing.assert_close(A.conv2d_im2col(x, w, b, **args(case)),
                               F.conv2d(x, w, b, **args(case)))


@SETTINGS
@given(h=st.integers(1, 13), w=st.integers(1, 13), padding=st.integers(0, 1),
       cin=st.integers(1, 5), cout=st.integers(1, 4), groups=st.sampled_from([1, 2]),
       tile=st.sampled_from([2, 4]), batch=st.integers(1, 2), bias=st.booleans())
def test_winograd_equals_conv2d(device, h, w, padding, cin, cout, groups, tile, batch, bias):
    """Odd and even H and W (pad to whole tiles, then crop), padding 0 and 1, channels."""
    if h + 2 * padding < 3 or w + 2 * padding < 3:
        return
    case = dict(x=(batch, cin * groups, h, w), weight=(cout * groups, cin, 3, 3), bias=bias)
    x, wt, b = tensors(case, device)
    torch.testing.assert_close(A.conv2d_winograd(x, wt, b, padding=padding, groups=groups,
                                                 tile=tile),
                               F.conv2d(x, wt, b, padding=padding, groups=groups))


@SETTINGS
@given(case=conv_case(max_kernel=9, strided=False))
def test_fft_equals_conv2d(device, case):
    """Kernel sizes 1-9, rectangular, with padding, dilation and groups."""
    x, w, b = tensors(case, device)
    torch.testing.assert_close(A.conv2d_fft(x, w, b, **args(case)),
                               F.conv2d(x, w, b, **args(case)))


def test_fft_with_a_reused_kernel_spectrum(device):
    x, w = torch.randn(2, 3, 20, 17, dtype=F64, device=device), \
        torch.randn(5, 3, 7, 7, dtype=F64, device=device)
    spectrum = A.kernel_spectrum(x.shape, w, padding=3)
    torch.testing.assert_close(A.conv2d_fft(x, w, padding=3, weight_spectrum=spectrum),
                               F.conv2d(x, w, padding=3))
    with pytest.raises(ValueError, match="weight_spectrum"):
        A.conv2d_fft(x, w, padding=2, weight_spectrum=spectrum)


@pytest.mark.parametrize("n", range(1, 200))
def test_fft_size_is_the_next_7_smooth_number(n):
    m = A.fft_size(n)
    smooth = lambda v: all(p <= 7 for p in _prime_factors(v))  # noqa: E731
    assert m >= n and smooth(m) and not any(smooth(v) for v in range(n, m))


def _prime_factors(n):
    p, out = 2, []
    while n > 1:
        while n % p == 0:
            out.append(p)
            n //= p
        p += 1
    return out


def test_fft_is_a_correlation_not_a_convolution():
    """Without the conjugate (X · W) the result is the convolution: the kernel flipped."""
    x, w = torch.randn(1, 1, 12, 12, dtype=F64), torch.randn(1, 1, 3, 3, dtype=F64)
    X, W = torch.fft.rfft2(x), torch.fft.rfft2(w, s=(12, 12))
    convolution = torch.fft.irfft2(X * W, s=(12, 12))[..., 2:, 2:]   # its linear part
    torch.testing.assert_close(convolution, F.conv2d(x, w.flip(-1, -2)))
    assert not torch.allclose(convolution, F.conv2d(x, w))


# --- multiplications: counted in the running code -------------------------------------------
COUNT_CASES = [((2, 8, 11, 10), (6, 8, 3, 3), 1, 1), ((1, 6, 16, 16), (4, 3, 3, 3), 0, 2),
               ((1, 16, 56, 56), (16, 16, 3, 3), 1, 1), ((3, 4, 7, 9), (4, 1, 3, 3), 1, 4)]


@pytest.mark.parametrize("xs, ws, padding, groups", COUNT_CASES)
def test_direct_and_im2col_do_the_multiplications_conv2d_does(xs, ws, padding, groups):
    x, w = torch.randn(xs), torch.randn(ws)
    want = A.direct_multiplications(xs, ws, padding=padding, groups=groups)
    assert counted_flops(F.conv2d, x, w, padding=padding, groups=groups) == 2 * want
    assert counted_multiplications(A.conv2d_direct, x, w, padding=padding,
                                   groups=groups) == want
    assert counted_multiplications(A.conv2d_im2col, x, w, padding=padding,
                                   groups=groups) == want
    o, cg, kh, kw = ws
    assert want % (o * cg * kh * kw) == 0   # C/g · kh · kw per output value


@pytest.mark.parametrize("tile", [2, 4])
@pytest.mark.parametrize("xs, ws, padding, groups", COUNT_CASES)
def test_winograd_multiplications_are_counted_in_the_product(tile, xs, ws, padding, groups):
    """Only the transformed product multiplies data by data (the transforms add and scale)."""
    x, w = torch.randn(xs), torch.randn(ws)
    want = A.winograd_multiplications(xs, ws, padding=padding, groups=groups, tile=tile)
    assert counted_multiplications(A.conv2d_winograd, x, w, padding=padding, groups=groups,
                                   tile=tile) == want


def test_winograd_saves_2_25_and_4_times_on_whole_tiles():
    xs, ws = (1, 16, 56, 56), (16, 16, 3, 3)    # 56 is a multiple of 2 and 4
    direct = A.direct_multiplications(xs, ws, padding=1)
    assert direct / A.winograd_multiplications(xs, ws, padding=1, tile=2) == 36 / 16 == 2.25
    assert direct / A.winograd_multiplications(xs, ws, padding=1, tile=4) == 144 / 36 == 4


@pytest.mark.parametrize("xs, ws, padding, groups", COUNT_CASES)
def test_fft_multiplications_are_counted_in_the_product(xs, ws, padding, groups):
    x, w = torch.randn(xs), torch.randn(ws)
    want = A.fft_multiplications(xs, ws, padding=padding, groups=groups)
    assert counted_multiplications(A.conv2d_fft, x, w, padding=padding, groups=groups) == want


class ElementwiseCounter(TorchDispatchMode):
    """Counts the element operations of additions, subtractions, negations and scalings."""
    OPS = {torch.ops.aten.add.Tensor, torch.ops.aten.sub.Tensor, torch.ops.aten.neg.default,
           torch.ops.aten.mul.Tensor}

    def __init__(self):
        super().__init__()
        self.count = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if func in self.OPS:
            self.count += out.numel()
        else:
            assert func in (torch.ops.aten.unbind.int, torch.ops.aten.stack.default,
                            torch.ops.aten.select.int, torch.ops.aten.unsqueeze.default,
                            torch.ops.aten.cat.default), func
        return out


@pytest.mark.parametrize("tile", [2, 4])
def test_winograd_transform_ops_are_what_the_transforms_do(tile):
    mats, a = A._WINOGRAD[tile], tile + 2
    ops = A.winograd_transform_ops(tile)
    for key, matrix, shape in (("input", mats["BT"], (a, a)), ("kernel", mats["G"], (3, 3)),
                               ("output", mats["AT"], (a, a))):
        t = torch.randn(shape, dtype=F64)
        with ElementwiseCounter() as counter:
            A._sandwich(matrix, t)
        assert counter.count == ops[key], key


@pytest.mark.parametrize("tile", [2, 4])
def test_winograd_matrices_compute_f_m_3(tile):
    """Aᵀ[(Gg) ⊙ (Bᵀd)] is the 1-D correlation of d with g, and the 2-D nesting is exact."""
    m = A.winograd_matrices(tile)
    g, d = torch.randn(3, dtype=F64), torch.randn(tile + 2, dtype=F64)
    y = m["AT"] @ ((m["G"] @ g) * (m["BT"] @ d))
    torch.testing.assert_close(y, torch.stack([d[i:i + 3] @ g for i in range(tile)]))
    g2, d2 = torch.randn(3, 3, dtype=F64), torch.randn(tile + 2, tile + 2, dtype=F64)
    y2 = m["AT"] @ ((m["G"] @ g2 @ m["G"].T) * (m["BT"] @ d2 @ m["BT"].T)) @ m["AT"].T
    torch.testing.assert_close(y2, F.conv2d(d2[None, None], g2[None, None])[0, 0])


# --- bad arguments ---------------------------------------------------------------------------
X, W3, W5 = torch.randn(1, 2, 8, 8), torch.randn(3, 2, 3, 3), torch.randn(3, 2, 5, 5)
ALL = [A.conv2d_direct, A.conv2d_im2col, A.conv2d_winograd, A.conv2d_fft]


@pytest.mark.parametrize("fn", ALL)
@pytest.mark.parametrize("kwargs, error, match", [
    (dict(x=torch.randn(2, 8, 8)), ValueError, "x must be 4-D"),
    (dict(x=[[1.0]]), TypeError, "x must be a torch.Tensor"),
    (dict(weight=torch.randn(3, 2, 3)), ValueError, "weight must be 4-D"),
    (dict(weight=torch.randn(3, 3, 3, 3)), ValueError, "input channels"),
    (dict(bias=torch.randn(4)), ValueError, "bias must have shape"),
    (dict(padding=-1), ValueError, "padding"),
    (dict(padding=1.5), TypeError, "padding"),
    (dict(groups=0), ValueError, "groups"),
    (dict(groups=2), ValueError, "groups"),
    (dict(x=torch.randn(1, 2, 2, 2)), ValueError, "more than the padded input"),
])
def test_bad_arguments_raise_at_entry(fn, kwargs, error, match):
    call = dict(x=X, weight=W3, bias=None, padding=0, groups=1) | kwargs
    with pytest.raises(error, match=match):
        fn(call.pop("x"), call.pop("weight"), **call)


@pytest.mark.parametrize("kwargs, match", [
    (dict(weight=W5), "weight must be 3x3"), (dict(stride=2), "stride must be 1"),
    (dict(dilation=2), "dilation must be 1"), (dict(tile=3), "tile must be one of"),
    (dict(weight=torch.randn(3, 2, 3, 1)), "weight must be 3x3"),
])
def test_winograd_refuses_what_it_cannot_compute(kwargs, match):
    call = dict(weight=W3) | kwargs
    with pytest.raises(ValueError, match=match):
        A.conv2d_winograd(X, call.pop("weight"), **call)


def test_fft_refuses_a_stride_and_tile_must_be_an_int():
    with pytest.raises(ValueError, match="stride must be 1"):
        A.conv2d_fft(X, W3, stride=(1, 2))
    with pytest.raises(TypeError, match="tile"):
        A.conv2d_winograd(X, W3, tile=2.0)
    with pytest.raises(ValueError, match="n must be"):
        A.fft_size(0)


# --- the page's numbers ----------------------------------------------------------------------
def test_error_table_is_what_the_code_measures():
    """The table on the page, recomputed here from the algorithms directly."""
    rows = {r["name"]: r for r in page.error_rows()}
    g = torch.Generator().manual_seed(page.ERROR_SEED)
    shape = page.ERROR_CASE
    x = torch.randn(shape["x"], generator=g, dtype=F64)
    w = torch.randn(shape["weight"], generator=g, dtype=F64) / math.sqrt(
        math.prod(shape["weight"][1:]))
    ref = F.conv2d(x, w, padding=1)
    x32, w32 = x.float(), w.float()
    for name, fn in page.ALGORITHMS.items():
        err = (fn(x32, w32).double() - ref).abs()
        assert rows[name]["max_abs"] == err.max().item(), name
        assert rows[name]["rms_rel"] == (err.pow(2).mean().sqrt()
                                        / ref.pow(2).mean().sqrt()).item(), name
    # what the text says: Winograd's error grows with the tile, F(4x4) the largest
    assert rows["winograd4"]["max_abs"] > rows["winograd2"]["max_abs"] > rows["direct"]["max_abs"]
    assert max(rows, key=lambda n: rows[n]["max_abs"]) == "winograd4"


def test_im2col_memory_is_measured_and_k_squared():
    for row in page.memory_rows():
        assert row["cols_bytes"] == row["channels"] * row["k"] ** 2 * row["size"] ** 2 * 4
        assert row["measured_bytes"] == row["cols_bytes"]
        assert row["cols_bytes"] / row["input_bytes"] == row["k"] ** 2


def test_the_crossover_is_read_from_the_result_file():
    result = json.loads(page.RESULT.read_text())
    rows = result["rows"]
    assert [r["kernel_size"] for r in rows] == list(range(3, 32, 2))
    cross = page.crossover(result, "fft")
    if cross is not None:
        faster = [r["times"]["fft"]["median_ms"] < r["times"]["conv2d"]["median_ms"]
                  for r in rows]
        first = faster.index(True)
        assert rows[first]["kernel_size"] == cross
    assert result["threads"] == 1 and result["load_average"]["before"]


@pytest.mark.slow
def test_benchmark_quick_mode_writes_a_result(tmp_path):
    from snippets import algorithms_bench
    out = algorithms_bench.main(["--quick", "--out", str(tmp_path / "cpu.json")])
    result = json.loads(out.read_text())
    assert [r["kernel_size"] for r in result["rows"]] == [3, 7]
    assert all(set(r["times"]) == set(algorithms_bench.IMPLEMENTATIONS) for r in result["rows"])
    assert all(r["backend"] for r in result["rows"])

"""Convolution basics: every claim of the basics page against what torch does.

Cross-correlation against true convolution (direct definition, commutativity, associativity),
channels, output size with 'valid' / 'same' / full padding and pooling's ceil_mode, padding
modes, and 1x1 convs as per-pixel linear maps (groups included).
"""

import itertools

import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from snippets import formulas as FM
from snippets.basics import (bottleneck, conv2d_by_channels, convolve2d, convolve2d_direct,
                             cross_correlate2d, pad_like_conv, pointwise_conv, same_padding)
from sitegen.pages import basics as page
from tests.conftest import flops

SETTINGS = settings(max_examples=30, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
close = dict(atol=1e-10, rtol=1e-10)   # float64 throughout the algebra tests


def rand(*shape, device="cpu"):
    return torch.randn(*shape, dtype=torch.float64, device=device)


shapes = st.tuples(st.integers(1, 6), st.integers(1, 6))


# --- cross-correlation and convolution -------------------------------------------------------
@SETTINGS
@given(shapes, shapes)
def test_true_convolution_equals_the_direct_definition(device, sa, sb):
    a, b = rand(*sa, device=device), rand(*sb, device=device)
    torch.testing.assert_close(convolve2d(a, b, "full"), convolve2d_direct(a, b), **close)
    # and entry by entry, straight from sum_{u,v} a[u,v] b[i-u, j-v]
    full = convolve2d(a, b, "full")
    i, j = full.shape[0] // 2, full.shape[1] // 2
    entry = sum(a[u, v] * b[i - u, j - v] for u in range(sa[0]) for v in range(sa[1])
                if 0 <= i - u < sb[0] and 0 <= j - v < sb[1])
    torch.testing.assert_close(full[i, j], torch.as_tensor(entry, dtype=full.dtype,
                                                           device=device), **close)


@SETTINGS
@given(shapes, shapes, shapes)
def test_convolution_commutes_and_associates(device, sa, sb, sc):
    a, b, c = (rand(*s, device=device) for s in (sa, sb, sc))
    torch.testing.assert_close(convolve2d(a, b, "full"), convolve2d(b, a, "full"), **close)
    torch.testing.assert_close(convolve2d(convolve2d(a, b, "full"), c, "full"),
                               convolve2d(a, convolve2d(b, c, "full"), "full"), **close)
    # cross-correlation swapped is the same result turned by 180 degrees
    torch.testing.assert_close(cross_correlate2d(b, a, "full"),
                               cross_correlate2d(a, b, "full").flip(0, 1), **close)


def test_cross_correlation_neither_commutes_nor_associates():
    for seed in range(20):
        g = torch.Generator().manual_seed(seed)
        a, b, c = (torch.randn(3, 3, generator=g, dtype=torch.float64) for _ in range(3))
        swapped = (cross_correlate2d(a, b, "full") - cross_correlate2d(b, a, "full")).abs().max()
        regrouped = (cross_correlate2d(cross_correlate2d(a, b, "full"), c, "full")
                     - cross_correlate2d(a, cross_correlate2d(b, c, "full"), "full")).abs().max()
        assert swapped > 1e-3 and regrouped > 1e-3
    facts = page.algebra_facts()
    assert facts["conv_commute"] < 1e-12 and facts["conv_assoc"] < 1e-12
    assert facts["corr_commute"] > 1e-3 and facts["corr_assoc"] > 1e-3


def test_conv2d_is_cross_correlation_and_a_flipped_weight_makes_it_convolution(device):
    x, w = rand(9, 11, device=device), rand(3, 4, device=device)
    conv = nn.Conv2d(1, 1, (3, 4), bias=False).double().to(device)
    with torch.no_grad():
        conv.weight.copy_(w[None, None])
    torch.testing.assert_close(conv(x[None, None])[0, 0], cross_correlate2d(x, w), **close)
    with torch.no_grad():
        conv.weight.copy_(w.flip(0, 1)[None, None])
    torch.testing.assert_close(conv(x[None, None])[0, 0], convolve2d(x, w), **close)
    # an impulse: cross-correlation returns the kernel turned around, convolution the kernel
    impulse = torch.zeros(5, 5, dtype=torch.float64, device=device)
    impulse[2, 2] = 1
    torch.testing.assert_close(cross_correlate2d(impulse, w, "full")[2:5, 2:6], w.flip(0, 1))
    torch.testing.assert_close(convolve2d(impulse, w, "full")[2:5, 2:6], w)


def test_transposed_conv_is_a_full_true_convolution(device):
    """Stride 1, one channel: conv_transpose2d(x, w) is the true convolution of x with w."""
    for sx, sw in [((5, 7), (3, 3)), ((4, 4), (2, 3)), ((1, 6), (1, 2))]:
        x, w = rand(*sx, device=device), rand(*sw, device=device)
        y = F.conv_transpose2d(x[None, None], w[None, None])[0, 0]
        torch.testing.assert_close(y, convolve2d(x, w, "full"), **close)


def test_two_stacked_correlations_are_one_with_the_convolved_kernel(device):
    x = rand(1, 1, 12, 12, device=device)
    w1, w2 = rand(3, 3, device=device), rand(3, 3, device=device)
    two = F.conv2d(F.conv2d(x, w1[None, None]), w2[None, None])
    one = F.conv2d(x, convolve2d(w1, w2, "full")[None, None])
    assert one.shape == two.shape == (1, 1, 8, 8)
    torch.testing.assert_close(one, two, **close)


# --- channels ----------------------------------------------------------------------------------
@SETTINGS
@given(st.integers(1, 3), st.integers(1, 4), st.integers(1, 4), st.integers(1, 3),
       st.booleans())
def test_each_output_channel_sums_over_all_input_channels(device, batch, c_in, c_out, k, bias):
    x = rand(batch, c_in, 7, 6, device=device)
    w = rand(c_out, c_in, k, k, device=device)
    b = rand(c_out, device=device) if bias else None
    torch.testing.assert_close(conv2d_by_channels(x, w, b), F.conv2d(x, w, b), **close)
    conv = nn.Conv2d(c_in, c_out, k)
    assert tuple(conv.weight.shape) == (c_out, c_in, k, k)   # C_out kernels of C_in x k x k


# --- output size -------------------------------------------------------------------------------
def test_same_padding_split_matches_torch(device):
    for k, d, n in itertools.product(range(1, 7), range(1, 4), (5, 8, 13)):
        conv = nn.Conv2d(2, 3, k, padding="same", dilation=d).double().to(device)
        left, right = same_padding(k, d)
        assert conv._reversed_padding_repeated_twice[:2] == [left, right]
        x = rand(1, 2, n, n + 1, device=device)
        y = conv(x)
        assert y.shape[-2:] == x.shape[-2:]
        explicit = F.conv2d(F.pad(x, (left, right, left, right)), conv.weight, conv.bias,
                            dilation=d)
        torch.testing.assert_close(y, explicit, **close)
        if d * (k - 1) % 2:   # odd total: one more on the right, and only there
            assert right == left + 1


def test_padding_same_is_refused_with_stride():
    with pytest.raises(ValueError, match="same"):
        nn.Conv2d(1, 1, 3, stride=2, padding="same")


def test_valid_and_full_padding_sizes():
    for n, k, d in itertools.product(range(1, 12), range(1, 6), range(1, 3)):
        span = d * (k - 1) + 1
        x = torch.zeros(1, 1, n)
        w = torch.zeros(1, 1, k)
        full = F.conv1d(x, w, padding=d * (k - 1), dilation=d).shape[-1]
        assert full == FM.conv_output_size(n, k, padding=d * (k - 1), dilation=d) == n + span - 1
        if span <= n:
            valid = F.conv1d(x, w, padding="valid", dilation=d).shape[-1]
            assert valid == FM.conv_output_size(n, k, dilation=d) == n - span + 1


def test_the_derivation_counts_window_starts():
    """n_out is the number of starts i*s with the window inside the padded input."""
    for n, k, s, p, d in itertools.product(range(1, 10), range(1, 5), range(1, 4), range(3),
                                           range(1, 3)):
        span = d * (k - 1) + 1
        starts = [i for i in range(0, n + 2 * p) if i % s == 0 and i + span <= n + 2 * p]
        if not starts:
            continue
        assert len(starts) == FM.conv_output_size(n, k, s, p, d)


def test_strided_conv_drops_the_leftover_pixels(device):
    """n=8, k=3, s=2: windows start at 0, 2, 4; the last pixel never enters a window."""
    for row in page.leftover_rows():
        n, k, s = row["n"], row["k"], row["s"]
        x = torch.ones(1, 1, n, n, device=device, requires_grad=True)
        conv = nn.Conv2d(1, 1, k, s, bias=False).to(device)
        with torch.no_grad():
            conv.weight.fill_(1.0)
        conv(x).sum().backward()
        unused_cols = int((x.grad[0, 0, 0] == 0).sum())
        assert unused_cols == row["unused"]
        assert conv(x).shape[-1] == row["out"]


def test_pool_output_size_matches_torch_with_ceil_mode():
    checked = 0
    for n, k, s, p, d, ceil in itertools.product(range(1, 12), range(1, 5), range(1, 4),
                                                 range(0, 3), range(1, 3), (False, True)):
        pool = nn.MaxPool1d(k, s, p, dilation=d, ceil_mode=ceil)
        x = torch.zeros(1, 1, n)
        try:
            real = pool(x).shape[-1]
        except RuntimeError:
            real = None
        try:
            formula = FM.pool_output_size(n, k, s, p, d, ceil)
        except ValueError:
            formula = None
        if real is not None and real < 1:
            real = None
        assert real == formula, (n, k, s, p, d, ceil)
        checked += formula is not None
    assert checked > 500
    for row in page.pool_rows():
        assert nn.MaxPool2d(row["k"], row["s"], ceil_mode=True)(
            torch.zeros(1, 1, row["n"], row["n"])).shape[-1] == row["ceil"]


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_each_padding_mode_is_f_pad_then_a_valid_conv(device, mode):
    for p, k in [(1, 3), (2, 5), (2, 3), ((1, 2), 3)]:
        ph, pw = (p, p) if isinstance(p, int) else p
        conv = nn.Conv2d(2, 3, k, padding=p, padding_mode=mode).double().to(device)
        x = rand(2, 2, 6, 7, device=device)
        explicit = F.conv2d(pad_like_conv(x, (pw, pw, ph, ph), mode), conv.weight, conv.bias)
        torch.testing.assert_close(conv(x), explicit, **close)


def test_padding_mode_figure_values_are_f_pad():
    x = torch.arange(1.0, 17.0).view(1, 1, 4, 4)
    for mode, grid in page.padding_mode_grids().items():
        torch.testing.assert_close(grid, pad_like_conv(x, (2, 2, 2, 2), mode)[0, 0])
    # reflect mirrors without repeating the edge, replicate repeats it, circular wraps
    g = page.padding_mode_grids()
    assert g["reflect"][2, 1] == x[0, 0, 0, 1] and g["replicate"][2, 1] == x[0, 0, 0, 0]
    assert g["circular"][2, 1] == x[0, 0, 0, 3] and g["zeros"][2, 1] == 0


def test_reflect_padding_must_be_smaller_than_the_input():
    with pytest.raises(ValueError, match="reflect padding"):
        pad_like_conv(torch.zeros(1, 1, 3, 3), (3, 3, 0, 0), "reflect")
    with pytest.raises(RuntimeError):
        F.pad(torch.zeros(1, 1, 3, 3), (3, 3, 0, 0), mode="reflect")


# --- 1x1 convolution ---------------------------------------------------------------------------
@SETTINGS
@given(st.sampled_from([1, 2, 3]), st.integers(1, 3), st.integers(1, 3), st.booleans())
def test_1x1_conv_is_a_per_pixel_linear_map(device, groups, cin_g, cout_g, bias):
    c_in, c_out = groups * cin_g, groups * cout_g
    conv = nn.Conv2d(c_in, c_out, 1, groups=groups, bias=bias).double().to(device)
    x = rand(2, c_in, 5, 4, device=device)
    torch.testing.assert_close(pointwise_conv(x, conv.weight, conv.bias, groups), conv(x),
                               **close)
    # the block-diagonal matrix as one nn.Linear applied to every pixel's channel vector
    linear = nn.Linear(c_in, c_out, bias=bias).double().to(device)
    with torch.no_grad():
        linear.weight.copy_(torch.block_diag(*conv.weight[:, :, 0, 0].split(cout_g)))
        if bias:
            linear.bias.copy_(conv.bias)
    y = linear(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)   # (B, H, W, C) -> (B, C, H, W)
    torch.testing.assert_close(y, conv(x), **close)


def test_bottleneck_costs_match_torch():
    for row in page.bottleneck_rows():
        direct, reduced = row["direct"], row["reduced"]
        # meta tensors: torch works out shapes and counts FLOPs without computing anything
        x = torch.empty(1, row["in_channels"], row["size"], row["size"], device="meta")
        assert sum(p.numel() for p in direct.parameters()) == row["direct_params"]
        assert sum(p.numel() for p in reduced.parameters()) == row["reduced_params"]
        assert flops(direct, x) == 2 * row["direct_macs"]
        assert flops(reduced, x) == 2 * row["reduced_macs"]
        assert direct(x).shape == reduced(x).shape
    block = bottleneck(256, 64, 256)
    assert sum(p.numel() for p in block.parameters()) == (
        FM.conv2d_params(256, 64, 1, bias=False) + FM.conv2d_params(64, 64, 3, bias=False)
        + FM.conv2d_params(64, 256, 1, bias=False))


# --- bad arguments -----------------------------------------------------------------------------
@pytest.mark.parametrize("call, error, message", [
    (lambda: FM.pool_output_size(8, 2, padding=2), ValueError, "at most half the kernel_size"),
    (lambda: FM.pool_output_size(8, 3, ceil_mode=1), ValueError, "ceil_mode must be True"),
    (lambda: same_padding(0), ValueError, "kernel_size must be a positive"),
    (lambda: same_padding(3.0), TypeError, "kernel_size must be an integer"),
    (lambda: cross_correlate2d(torch.zeros(3, 3), torch.zeros(1, 3, 3)), ValueError,
     "kernel must be a non-empty 2-D"),
    (lambda: cross_correlate2d(torch.zeros(2, 2), torch.zeros(3, 3)), ValueError,
     "larger than the image"),
    (lambda: convolve2d(torch.zeros(4, 4), torch.zeros(3, 3), "same"), ValueError,
     "mode must be one of"),
    (lambda: conv2d_by_channels(torch.zeros(1, 2, 5, 5), torch.zeros(3, 4, 3, 3)), ValueError,
     "x has 2 channels"),
    (lambda: pad_like_conv(torch.zeros(1, 1, 4, 4), (1, 1, 1, 1), "mirror"), ValueError,
     "padding_mode must be one of"),
    (lambda: pointwise_conv(torch.zeros(1, 4, 3, 3), torch.zeros(2, 4, 3, 3)), ValueError,
     "is not a 1x1 kernel"),
    (lambda: bottleneck(8, 4, 8, kernel_size=4), ValueError, "kernel_size must be odd"),
])
def test_bad_arguments_raise_clear_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


# --- the page's exercises ----------------------------------------------------------------------
def test_exercise_numbers_match_torch():
    ex = page.exercise_values()
    for n in (ex["ex1_n"], ex["ex1_n"] + 1):
        y = nn.Conv2d(1, 1, ex["ex1_k"], ex["ex1_s"])(torch.zeros(1, 1, n, n))
        assert y.shape[-1] == ex[f"ex1_out_{n}"]

"""deform_conv2d against F.conv2d (zero and integer offsets), against the formula written as
a loop (fractional offsets), gradcheck, the block at initialisation, costs, bad arguments."""

import json

import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from snippets import deformable
from snippets.deformable import (
    DeformableConv2d,
    DeformConv2d,
    deform_conv2d,
    deform_conv2d_loop,
    deform_output_size,
    deformable_conv2d_macs,
    deformable_conv2d_params,
    deformable_sampling_macs,
)
from snippets.deformable_bench import IMPLEMENTATIONS, run as bench_run
from tests.conftest import ROOT, flops

F64 = torch.float64
def fixture_ok(n):
    """settings for a hypothesis test that takes the (immutable) device fixture"""
    return settings(max_examples=n, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@st.composite
def layers(draw):
    """A convolution and an input: every argument deform_conv2d takes, sizes kept small."""
    groups = draw(st.sampled_from([1, 1, 2]))
    offset_groups = draw(st.sampled_from([1, 1, 2, 4]))
    per = draw(st.sampled_from([1, 2]))
    channels = 4 * per if offset_groups == 4 or groups == 2 else draw(st.integers(1, 3)) * 2
    kh, kw = draw(st.sampled_from([(3, 3), (1, 1), (2, 3), (3, 1)]))
    cfg = dict(
        in_channels=channels,
        out_channels=groups * draw(st.integers(1, 3)),
        kernel_size=(kh, kw),
        stride=draw(st.sampled_from([1, 2, (1, 2)])),
        padding=draw(st.sampled_from([0, 1, (2, 1)])),
        dilation=draw(st.sampled_from([1, 2, (2, 1)])),
        groups=groups,
        offset_groups=offset_groups,
        batch=draw(st.sampled_from([1, 2, 3])),
        height=draw(st.integers(5, 8)),
        width=draw(st.integers(5, 8)),
        bias=draw(st.booleans()),
    )
    return cfg


def _pair(v):
    return (v, v) if isinstance(v, int) else v


def make(cfg, device, dtype=F64, seed=0):
    """input, weight, bias, output size and a random (offset, mask) generator for cfg."""
    g = torch.Generator().manual_seed(seed)
    C, O, G = cfg["in_channels"], cfg["out_channels"], cfg["offset_groups"]
    kh, kw = cfg["kernel_size"]
    (sh, sw), (ph, pw), (dh, dw) = (_pair(cfg[k]) for k in ("stride", "padding", "dilation"))
    ho = deform_output_size(cfg["height"], kh, sh, ph, dh)
    wo = deform_output_size(cfg["width"], kw, sw, pw, dw)
    x = torch.randn(cfg["batch"], C, cfg["height"], cfg["width"], generator=g, dtype=dtype)
    w = torch.randn(O, C // cfg["groups"], kh, kw, generator=g, dtype=dtype)
    b = torch.randn(O, generator=g, dtype=dtype) if cfg["bias"] else None
    offset = 2.0 * torch.randn(cfg["batch"], 2 * G * kh * kw, ho, wo, generator=g, dtype=dtype)
    mask = torch.rand(cfg["batch"], G * kh * kw, ho, wo, generator=g, dtype=dtype)
    to = lambda t: None if t is None else t.to(device)  # noqa: E731
    return to(x), to(w), to(b), to(offset), to(mask), (ho, wo)


def conv_args(cfg):
    return dict(stride=cfg["stride"], padding=cfg["padding"], dilation=cfg["dilation"])


@fixture_ok(30)
@given(layers())
def test_zero_offsets_are_an_ordinary_conv(device, cfg):
    """Zero offsets with no mask, and with a mask of ones: exactly F.conv2d."""
    x, w, b, offset, mask, _ = make(cfg, device)
    plain = F.conv2d(x, w, b, groups=cfg["groups"], **conv_args(cfg))
    zero = torch.zeros_like(offset)
    torch.testing.assert_close(deform_conv2d(x, zero, w, b, **conv_args(cfg)), plain)
    torch.testing.assert_close(
        deform_conv2d(x, zero, w, b, mask=torch.ones_like(mask), **conv_args(cfg)), plain)


@fixture_ok(25)
@given(layers(), st.data())
def test_integer_offsets_are_a_conv_of_the_shifted_zero_padded_input(device, cfg, data):
    """The same integer shift (dy, dx) for every tap and position of an offset group reads
    x(p + p_k + (dy, dx)): a conv of that group's channels shifted, with zeros shifted in."""
    x, w, b, offset, _, (ho, wo) = make(cfg, device)
    G = cfg["offset_groups"]
    K = cfg["kernel_size"][0] * cfg["kernel_size"][1]
    shifts = [(data.draw(st.integers(-3, 3)), data.draw(st.integers(-3, 3))) for _ in range(G)]
    offset = torch.tensor([s for s in shifts for _ in range(K)], dtype=F64, device=device)
    offset = offset.reshape(1, 2 * G * K, 1, 1).expand(cfg["batch"], -1, ho, wo)
    # zero-pad first (conv padding plus room for the shift), then shift, then convolve
    # without padding: the padding is part of what moves
    cg, (H, W), big = x.shape[1] // G, x.shape[2:], 5
    (ph, pw) = _pair(cfg["padding"])
    padded = F.pad(x, (big, big, big, big))
    shifted = torch.cat([padded[:, g * cg:(g + 1) * cg,
                                big - ph + dy:big + ph + dy + H, big - pw + dx:big + pw + dx + W]
                         for g, (dy, dx) in enumerate(shifts)], dim=1)
    expected = F.conv2d(shifted, w, b, stride=cfg["stride"], dilation=cfg["dilation"],
                        groups=cfg["groups"])
    torch.testing.assert_close(deform_conv2d(x, offset, w, b, **conv_args(cfg)), expected)


@fixture_ok(20)
@given(layers(), st.booleans())
def test_fractional_offsets_equal_the_formula_loop(device, cfg, with_mask):
    """Random offsets (std 2 pixels: many samples fall partly or wholly outside the input)."""
    x, w, b, offset, mask, _ = make(cfg, device)
    mask = mask if with_mask else None
    got = deform_conv2d(x, offset, w, b, mask=mask, **conv_args(cfg))
    want = deform_conv2d_loop(x.cpu(), offset.cpu(), w.cpu(), None if b is None else b.cpu(),
                              mask=None if mask is None else mask.cpu(), **conv_args(cfg))
    torch.testing.assert_close(got.cpu(), want)


def test_float32_benchmark_layer_and_channels_last(device):
    """The benchmark's channel count in float32, both memory layouts, against the loop on a
    small image; the output keeps the input's memory format."""
    torch.manual_seed(0)
    x = torch.randn(2, 64, 6, 6, device=device)
    w = torch.randn(64, 64, 3, 3, device=device) / 24
    offset = torch.randn(2, 18, 6, 6, device=device)
    mask = torch.rand(2, 9, 6, 6, device=device)
    want = deform_conv2d_loop(x.cpu().double(), offset.cpu().double(), w.cpu().double(),
                              padding=1, mask=mask.cpu().double()).float()
    for layout in (torch.contiguous_format, torch.channels_last):
        y = deform_conv2d(x.contiguous(memory_format=layout), offset, w, padding=1, mask=mask)
        assert y.is_contiguous(memory_format=layout)
        torch.testing.assert_close(y.cpu(), want, rtol=1e-4, atol=1e-4)


def test_blocks_of_images_give_the_same_values_and_gradients(device, monkeypatch):
    torch.manual_seed(1)
    x = torch.randn(5, 4, 7, 7, dtype=F64, device=device, requires_grad=True)
    w = torch.randn(6, 2, 3, 3, dtype=F64, device=device, requires_grad=True)
    offset = torch.randn(5, 36, 7, 7, dtype=F64, device=device, requires_grad=True)
    mask = torch.rand(5, 18, 7, 7, dtype=F64, device=device, requires_grad=True)
    inputs = (x, w, offset, mask)

    def go():
        y = deform_conv2d(x, offset, w, padding=1, mask=mask)
        return y, torch.autograd.grad((y * y.detach().cos()).sum(), inputs)

    whole, whole_grads = go()
    monkeypatch.setattr(deformable, "COLUMN_BLOCK_BYTES", 1)   # one image per block
    blocked, blocked_grads = go()
    torch.testing.assert_close(blocked, whole)
    for a, b in zip(blocked_grads, whole_grads, strict=True):
        torch.testing.assert_close(a, b)


def test_the_contraction_is_a_matrix_product_per_group():
    """What the page says: the 1 x K convolution with stride K over the column image is the
    product of each group's weight matrix with its (C/g * K, H' * W') columns."""
    torch.manual_seed(2)
    B, C, O, g, K, ho, wo = 2, 6, 4, 2, 9, 3, 5
    cols = torch.randn(B, ho, wo, K, C, dtype=F64)          # channels last, taps adjacent
    w = torch.randn(O, C // g, 3, 3, dtype=F64)
    image = cols.reshape(B, ho, wo * K, C).permute(0, 3, 1, 2)
    got = F.conv2d(image, w.reshape(O, C // g, 1, K), stride=(1, K), groups=g)
    # (B, g, C/g * K, H'*W') columns times (g, O/g, C/g * K) weights
    mat = cols.reshape(B, ho * wo, K, g, C // g).permute(0, 3, 4, 2, 1).reshape(B, g, -1, ho * wo)
    want = (w.reshape(g, O // g, -1) @ mat).reshape(B, O, ho, wo)
    torch.testing.assert_close(got, want)


def test_sampling_reads_the_zero_extended_input():
    """One tap, one position: bilinear interpolation over the input extended with zeros,
    torchvision's rule (a point within 1 pixel outside still reads its inside neighbours)."""
    x = torch.arange(1.0, 10.0, dtype=F64).view(1, 1, 3, 3)     # 1..9
    w = torch.ones(1, 1, 1, 1, dtype=F64)

    def read(dy, dx, y0=0, x0=0):
        offset = torch.zeros(1, 2, 3, 3, dtype=F64)
        offset[0, :, y0, x0] = torch.tensor([dy, dx], dtype=F64)
        return deform_conv2d(x, offset, w)[0, 0, y0, x0].item()

    assert read(0.5, 0.5) == pytest.approx((1 + 2 + 4 + 5) / 4)
    assert read(-0.25, 0) == pytest.approx(0.75 * 1)              # a quarter pixel above row 0
    assert read(0, 2.5) == pytest.approx(0.5 * 3)                 # half way past the right edge
    assert read(-1, 0) == read(0, -1) == read(3, 0) == read(0, 3) == read(-7.3, 40.0) == 0
    assert read(1.25, 0.5, 1, 1) == pytest.approx(
        0.75 * (8 + 9) / 2 + 0.25 * 0)                            # row 3 is outside: zero


def test_gradcheck_input_offset_mask_weight_bias():
    """float64 gradcheck; offsets = integer + a fractional part in [0.2, 0.8], away from the
    kinks of bilinear interpolation (where it is not differentiable)."""
    g = torch.Generator().manual_seed(3)
    x = torch.randn(1, 4, 4, 4, dtype=F64, generator=g)
    w = torch.randn(2, 2, 3, 3, dtype=F64, generator=g)            # groups = 2
    b = torch.randn(2, dtype=F64, generator=g)
    whole = torch.randint(-2, 3, (1, 2 * 2 * 9, 2, 2), generator=g).to(F64)
    offset = whole + 0.2 + 0.6 * torch.rand(whole.shape, dtype=F64, generator=g)  # 2 groups
    mask = torch.rand(1, 2 * 9, 2, 2, dtype=F64, generator=g)
    tensors = [t.requires_grad_() for t in (x, offset, mask, w, b)]

    def v2(x, offset, mask, w, b):
        return deform_conv2d(x, offset, w, b, stride=2, padding=1, mask=mask)

    assert torch.autograd.gradcheck(v2, tensors)
    assert torch.autograd.gradcheck(            # v1: no mask
        lambda x, offset, w: deform_conv2d(x, offset, w, stride=2, padding=1), (x, offset, w))


def test_offset_gradient_is_the_neighbour_difference():
    """d x(p) / d dx is a difference of neighbouring pixels: zero where the input is flat
    (offsets learn only where the input has structure), 1 on the ramp x(q) = q_x."""
    w = torch.ones(1, 1, 3, 3, dtype=F64)
    offset = (0.3 * torch.ones(1, 18, 3, 3, dtype=F64)).requires_grad_()  # samples inside
    flat = torch.full((1, 1, 8, 8), 2.0, dtype=F64)
    deform_conv2d(flat, offset, w, stride=2).sum().backward()
    assert offset.grad.abs().max() == 0
    ramp = torch.arange(8, dtype=F64).view(1, 1, 1, 8).expand(1, 1, 8, 8)
    offset.grad = None
    deform_conv2d(ramp, offset, w, stride=2).sum().backward()
    torch.testing.assert_close(offset.grad[0, 1::2], torch.ones(9, 3, 3, dtype=F64))   # dx
    torch.testing.assert_close(offset.grad[0, 0::2], torch.zeros(9, 3, 3, dtype=F64))  # dy


@pytest.mark.parametrize("offset_groups", [1, 2])
@pytest.mark.parametrize("groups", [1, 2])
def test_block_at_initialisation_is_the_plain_conv(device, groups, offset_groups):
    torch.manual_seed(4)
    x = torch.randn(2, 4, 9, 9, dtype=F64, device=device)
    for modulated in (False, True):
        block = DeformableConv2d(4, 6, 3, stride=2, padding=2, dilation=2, groups=groups,
                                 modulated=modulated, offset_groups=offset_groups)
        block = block.to(device, F64)
        conv = block.conv
        plain = F.conv2d(x, conv.weight, conv.bias, 2, 2, 2, groups)
        offset, mask = block.offsets_and_mask(x)
        assert offset.abs().max() == 0
        if modulated:                                   # 2 * sigmoid(0) = 1
            torch.testing.assert_close(mask, torch.ones_like(mask))
        torch.testing.assert_close(block(x), plain)
    # the paper's plain sigmoid (mask_scale=1): the mask starts at 0.5, so the block starts
    # as half the convolution, plus the bias
    block = DeformableConv2d(4, 6, 3, padding=1, groups=groups, offset_groups=offset_groups,
                             mask_scale=1.0).to(device, F64)
    half = 0.5 * F.conv2d(x, block.conv.weight, None, padding=1, groups=groups)
    torch.testing.assert_close(block.offsets_and_mask(x)[1], torch.full(
        (2, offset_groups * 9, 9, 9), 0.5, dtype=F64, device=device))
    torch.testing.assert_close(block(x), half + block.conv.bias.view(1, -1, 1, 1))


def test_the_block_learns_offsets_and_gradients_reach_the_branch():
    """Zero-initialised, the offset branch still gets a gradient (its input is not zero)."""
    torch.manual_seed(5)
    block = DeformableConv2d(3, 4, 3, padding=1).double()
    x = torch.randn(2, 3, 8, 8, dtype=F64)
    block(x).square().sum().backward()
    assert block.offset_conv.weight.grad.abs().max() > 0
    assert block.offset_conv.bias.grad.abs().max() > 0


@settings(max_examples=15, deadline=None)
@given(layers(), st.booleans())
def test_params_and_flops_match_the_formulas(cfg, modulated):
    block = DeformableConv2d(cfg["in_channels"], cfg["out_channels"], cfg["kernel_size"],
                             cfg["stride"], cfg["padding"], cfg["dilation"], cfg["groups"],
                             cfg["bias"], modulated=modulated, offset_groups=cfg["offset_groups"])
    keys = dict(groups=cfg["groups"], offset_groups=cfg["offset_groups"], modulated=modulated)
    assert sum(p.numel() for p in block.parameters()) == deformable_conv2d_params(
        cfg["in_channels"], cfg["out_channels"], cfg["kernel_size"], bias=cfg["bias"], **keys)
    x = torch.randn(cfg["batch"], cfg["in_channels"], cfg["height"], cfg["width"])
    y = block(x)
    macs = deformable_conv2d_macs(cfg["in_channels"], cfg["out_channels"], cfg["kernel_size"],
                                  tuple(y.shape[2:]), batch=cfg["batch"], **keys)
    assert flops(block, x) == 2 * macs
    assert deformable_sampling_macs(cfg["in_channels"], cfg["kernel_size"], tuple(y.shape[2:]),
                                    cfg["batch"]) == 4 * x.shape[1] * y[0, 0].numel() * (
        cfg["kernel_size"][0] * cfg["kernel_size"][1] * cfg["batch"])


def test_the_module_matches_the_function_and_torchvision_init():
    torch.manual_seed(6)
    conv = DeformConv2d(4, 6, (3, 2), stride=(2, 1), padding=1, dilation=(1, 2), groups=2)
    assert conv.weight.shape == (6, 2, 3, 2) and conv.bias.shape == (6,)
    bound = 1 / (2 * 3 * 2) ** 0.5                               # nn.Conv2d's bias bound
    assert conv.bias.abs().max() <= bound
    x = torch.randn(2, 4, 7, 7)
    offset = torch.randn(2, 2 * 6, 4, 7)
    torch.testing.assert_close(conv(x, offset), deform_conv2d(
        x, offset, conv.weight, conv.bias, (2, 1), 1, (1, 2)))
    assert "groups=2" in repr(conv)


def test_empty_batch():
    y = deform_conv2d(torch.randn(0, 2, 5, 5), torch.randn(0, 18, 3, 3), torch.randn(3, 2, 3, 3))
    assert y.shape == (0, 3, 3, 3)


x4 = torch.randn(2, 4, 6, 6)
w4 = torch.randn(8, 4, 3, 3)


@pytest.mark.parametrize("call, error, message", [
    (lambda: deform_conv2d(x4, torch.zeros(2, 17, 4, 4), w4), ValueError,
     r"offset must have shape \(B, 2\*offset_groups\*3\*3, 4, 4\)"),
    (lambda: deform_conv2d(x4, torch.zeros(2, 18, 6, 6), w4), ValueError,
     r"offset must have shape \(2, 18, 4, 4\)"),
    (lambda: deform_conv2d(x4, torch.zeros(1, 18, 4, 4), w4), ValueError,
     r"offset must have shape \(2, 18, 4, 4\)"),
    (lambda: deform_conv2d(x4, torch.zeros(2, 3 * 18, 4, 4), w4), ValueError,
     "offset_groups dividing the 4 input channels"),
    (lambda: deform_conv2d(x4, torch.zeros(2, 36, 4, 4), w4, mask=torch.ones(2, 9, 4, 4)),
     ValueError, r"mask must have shape \(2, 18, 4, 4\)"),
    (lambda: deform_conv2d(x4, torch.zeros(2, 18, 4, 4), torch.randn(8, 3, 3, 3)), ValueError,
     r"weight.shape\[1\] \(3\) must divide the input's 4 channels"),
    (lambda: deform_conv2d(x4, torch.zeros(2, 18, 4, 4), torch.randn(7, 2, 3, 3)), ValueError,
     r"weight.shape\[0\] \(7\) must be divisible by groups \(2\)"),
    (lambda: deform_conv2d(x4, torch.zeros(2, 18, 4, 4), w4, torch.zeros(7)), ValueError,
     r"bias must have shape \(8,\)"),
    (lambda: deform_conv2d(x4, torch.zeros(2, 18, 4, 4), w4, stride=0), ValueError,
     "stride and dilation must be >= 1"),
    (lambda: deform_conv2d(torch.randn(1, 4, 2, 2), torch.zeros(1, 18, 1, 1), w4), ValueError,
     "kernel span 3 is larger than the padded input 2"),
    (lambda: deform_conv2d(x4[0], torch.zeros(2, 18, 4, 4), w4), ValueError, "input must be 4-D"),
    (lambda: deform_conv2d(x4.numpy(), torch.zeros(2, 18, 4, 4), w4), TypeError,
     "input must be a torch.Tensor"),
    (lambda: deform_conv2d(x4, torch.zeros(2, 18, 4, 4, dtype=F64), w4), TypeError,
     "offset must have the input's dtype"),
    (lambda: DeformConv2d(6, 8, 3, groups=4), ValueError,
     r"in_channels \(6\) must be divisible by groups \(4\)"),
    (lambda: DeformConv2d(8, 6, 3, groups=4), ValueError,
     r"out_channels \(6\) must be divisible by groups \(4\)"),
    (lambda: DeformConv2d(8, 8, 3, padding=-1), ValueError, r"padding must be >= 0"),
    (lambda: DeformConv2d(4, 8, 3)(x4[:, :3], torch.zeros(2, 18, 4, 4)), ValueError,
     r"expected input \(B, 4, H, W\)"),
    (lambda: DeformableConv2d(6, 8, 3, offset_groups=4), ValueError,
     r"in_channels \(6\) must be divisible by offset_groups \(4\)"),
    (lambda: DeformableConv2d(6, 8, 3, modulated=1), TypeError, "modulated must be a bool"),
    (lambda: DeformableConv2d(6, 8, 3, mask_scale=0), ValueError, "mask_scale must be"),
    (lambda: deformable_conv2d_params(6, 8, 3, offset_groups=4), ValueError,
     r"in_channels \(6\) must be divisible by offset_groups \(4\)"),
])
def test_bad_arguments_raise_errors_naming_the_expected_shape(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_quick_benchmark_result_and_the_committed_one():
    result = bench_run(quick=True)
    assert result["device"] == "cpu" and result["quick"] is True and result["threads"] == 1
    assert result["clock"] == "thread CPU time" and result["torch"] == torch.__version__
    assert set(result["times"]) == set(result["ratios"]) == set(IMPLEMENTATIONS)
    assert result["load_average"]["before"] is None or len(result["load_average"]["before"]) == 3
    committed = json.loads((ROOT / "results" / "deformable" / "cpu.json").read_text())
    assert committed["quick"] is False and committed["threads"] == 1
    assert committed["config"] == {**committed["config"], "in_channels": 64, "out_channels": 64,
                                   "size": 56, "kernel_size": 3, "batch": 8}
    for name in IMPLEMENTATIONS:
        t = committed["times"][name]
        assert t["median_ms"] > 0 and t["runs"] >= 3
        assert committed["ratios"][name] == pytest.approx(
            t["median_ms"] / committed["times"]["conv2d"]["median_ms"])

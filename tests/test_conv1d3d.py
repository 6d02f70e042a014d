"""1-D, causal and 3-D convolution: every claim of the page against what torch does.

Causal 1-D convs never depend on a later step (autograd Jacobian), causal stacks have the
dilated receptive field, Conv2d equals the described Conv3d, and the 3-D and (2+1)-D formulas
match numel and FlopCounterMode over generated grids, with ValueError on bad arguments.
"""

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from snippets import formulas as FM
from snippets.conv1d3d import (CausalConv1d, Conv2Plus1d, causal_stack, conv2d_as_conv3d,
                               conv2plus1d_mid, input_dependence)
from sitegen.pages import conv1d3d as page
from tests.conftest import flops

SETTINGS = settings(max_examples=30, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
close = dict(atol=1e-10, rtol=1e-10)


def rand(*shape, device="cpu"):
    return torch.randn(*shape, dtype=torch.float64, device=device)


# --- causal 1-D convolution --------------------------------------------------------------------
@pytest.mark.parametrize("k, d, stride", [(2, 1, 1), (3, 1, 1), (2, 4, 1), (3, 2, 1), (3, 1, 2)])
def test_causal_output_never_depends_on_the_future(device, k, d, stride):
    conv = CausalConv1d(2, 3, k, stride=stride, dilation=d).double().to(device)
    length = 16
    x = rand(1, 2, length, device=device)
    jac = torch.autograd.functional.jacobian(lambda v: conv(v), x)  # (1, 3, T', 1, 2, T)
    dep = jac[0].abs().sum(dim=(0, 2, 3)) != 0       # (T', T): output step by input step
    assert conv(x).shape[-1] == (length - 1) // stride + 1
    for t_out in range(dep.shape[0]):
        t = t_out * stride
        seen = dep[t_out].nonzero().flatten().tolist()
        assert max(seen) <= t                           # nothing after t
        assert seen == [i for i in range(t - d * (k - 1), t + 1, d) if i >= 0]


def test_symmetric_padding_looks_ahead():
    conv = nn.Conv1d(1, 1, 3, padding=1).double()
    x = rand(1, 1, 8).requires_grad_()
    conv(x)[0, 0, 4].backward()
    assert x.grad[0, 0, 5] != 0   # the centred kernel reads step t + 1


def test_causal_stack_receptive_field_is_the_dilated_formula(device):
    for row in page.wavenet_rows():
        dilations = row["dilations"]
        if row["rf"] > 300:
            continue   # measured below for the small ones; the formula is checked in test_dilated
        stack = causal_stack(2, dilations).to(device)
        length = row["rf"] + 5
        t = length - 1
        seen = input_dependence(stack, 2, length, t).nonzero().flatten()
        assert int(seen.max()) == t and t - int(seen.min()) + 1 == row["rf"]
        assert bool(input_dependence(stack, 2, length, t)[t - row["rf"] + 1:].all())
        assert row["rf"] == FM.receptive_field([(2, 1, d) for d in dilations])
    wavenet = page.wavenet_rows()[-1]
    assert wavenet["rf"] == 1024 and wavenet["dilations"][-1] == 512


def test_causal_figure_edges_reach_exactly_the_measured_inputs():
    dilations, length = page.CAUSAL_FIGURE_DILATIONS, page.CAUSAL_FIGURE_LENGTH
    reached = page.causal_figure_reach()
    measured = input_dependence(causal_stack(1, dilations), 1, length, length - 1)
    assert reached == set(measured.nonzero().flatten().tolist())


# --- 3-D convolution ---------------------------------------------------------------------------
@st.composite
def conv3d_configs(draw):
    groups = draw(st.sampled_from([1, 1, 2]))
    triple = lambda lo, hi: tuple(draw(st.integers(lo, hi)) for _ in range(3))  # noqa: E731
    return dict(in_channels=groups * draw(st.integers(1, 3)),
                out_channels=groups * draw(st.integers(1, 3)),
                kernel_size=triple(1, 3), stride=triple(1, 3), padding=triple(0, 2),
                dilation=triple(1, 2), groups=groups, bias=draw(st.booleans()),
                size=triple(1, 7), batch=draw(st.integers(1, 2)))


@settings(max_examples=80, deadline=None)
@given(conv3d_configs())
def test_conv3d_formulas_match_torch(c):
    conv = nn.Conv3d(c["in_channels"], c["out_channels"], c["kernel_size"], c["stride"],
                     c["padding"], c["dilation"], c["groups"], c["bias"])
    x = torch.randn(c["batch"], c["in_channels"], *c["size"])
    spans = [d * (k - 1) + 1 for k, d in zip(c["kernel_size"], c["dilation"])]
    if any(sp > n + 2 * p for sp, n, p in zip(spans, c["size"], c["padding"])):
        with pytest.raises(RuntimeError):
            conv(x)
        with pytest.raises(ValueError, match="larger than the padded input"):
            FM.conv3d_output_shape(c["size"], c["kernel_size"], c["stride"], c["padding"],
                                   c["dilation"])
        return
    out = FM.conv3d_output_shape(c["size"], c["kernel_size"], c["stride"], c["padding"],
                                 c["dilation"])
    assert conv(x).shape == (c["batch"], c["out_channels"], *out)
    assert sum(p.numel() for p in conv.parameters()) == FM.conv3d_params(
        c["in_channels"], c["out_channels"], c["kernel_size"], c["groups"], c["bias"])
    assert flops(conv, x) == 2 * FM.conv3d_macs(
        c["in_channels"], c["out_channels"], c["kernel_size"], out, c["groups"], c["batch"])


@SETTINGS
@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 3), st.integers(1, 3),
       st.integers(0, 1), st.integers(1, 2), st.booleans())
def test_conv2d_is_a_conv3d_as_deep_as_the_channels(device, c_in, c_out, k, s, p, d, bias):
    conv = nn.Conv2d(c_in, c_out, k, s, p, d, bias=bias).double().to(device)
    x = rand(2, c_in, 8, 7, device=device)
    conv3d = conv2d_as_conv3d(conv)
    assert conv3d.kernel_size[0] == c_in and conv3d.padding[0] == 0
    y = conv3d(x.unsqueeze(1))        # (B, 1, C_in, H, W) -> (B, C_out, 1, H', W')
    assert y.shape[2] == 1
    torch.testing.assert_close(y.squeeze(2), conv(x), **close)
    assert sum(q.numel() for q in conv3d.parameters()) == sum(
        q.numel() for q in conv.parameters())


@SETTINGS
@given(st.integers(1, 16), st.integers(1, 16), st.integers(1, 3), st.integers(1, 3),
       st.integers(1, 2), st.integers(0, 1), st.booleans())
def test_conv2plus1d_params_and_flops_match_torch(c_in, c_out, t, d, s, p, bias):
    mid = FM.conv2plus1d_mid_channels(c_in, c_out, t, d)
    assert mid == conv2plus1d_mid(c_in, c_out, t, d)
    if mid < 1:   # too narrow to factorise: the block says so instead of building 0 channels
        with pytest.raises(ValueError, match="mid_channels must be a positive"):
            Conv2Plus1d(c_in, c_out, (t, d), stride=s, padding=p, bias=bias)
        return
    block = Conv2Plus1d(c_in, c_out, (t, d), stride=s, padding=p, bias=bias)
    assert block.spatial.out_channels == mid
    assert sum(q.numel() for q in block.parameters()) == FM.conv2plus1d_params(
        c_in, c_out, t, d, bias=bias)
    size = (4, 6, 5)
    x = torch.randn(1, c_in, *size)
    assert flops(block, x) == 2 * FM.conv2plus1d_macs(c_in, c_out, t, d, size, s, p)
    # the same output shape as the t x d x d conv it replaces
    full = nn.Conv3d(c_in, c_out, (t, d, d), s, p)
    assert block(x).shape == full(x).shape
    # M is the largest width whose weights do not exceed the full conv's
    weights = lambda m: d * d * c_in * m + t * m * c_out  # noqa: E731
    assert weights(mid) <= FM.conv3d_params(c_in, c_out, (t, d, d), bias=False)
    assert weights(mid + 1) > FM.conv3d_params(c_in, c_out, (t, d, d), bias=False)


def test_conv3d_page_rows_match_torch():
    for row in page.conv3d_rows():
        module = row["module"]
        x = torch.empty(1, *page.VIDEO, device="meta")
        assert sum(q.numel() for q in module.parameters()) == row["params"]
        assert flops(module, x) == 2 * row["macs"]
        assert tuple(module(x).shape[1:]) == row["output"]


@pytest.mark.parametrize("call, error, message", [
    (lambda: FM.conv3d_output_shape((4, 4), 3), ValueError, "size must be an int or a triple"),
    (lambda: FM.conv3d_output_shape(4, 5), ValueError, "larger than the padded input"),
    (lambda: FM.conv3d_output_shape(4, 3, stride=(1, 0, 1)), ValueError,
     "stride must be a positive integer"),
    (lambda: FM.conv3d_params(6, 8, 3, groups=4), ValueError, r"in_channels \(6\)"),
    (lambda: FM.conv3d_params(4, 4, (3, 0, 3)), ValueError, "kernel_size must be a positive"),
    (lambda: FM.conv3d_macs(4, 4, 3, (2, 2, 0)), ValueError, "output_size must be a positive"),
    (lambda: FM.conv2plus1d_mid_channels(4, 4, 0, 3), ValueError, "t must be a positive"),
    (lambda: FM.conv2plus1d_params(4, 4, 3, 3, mid_channels=0), ValueError,
     "mid_channels must be a positive"),
    (lambda: CausalConv1d(3, 4, 2, groups=2), ValueError, "divisible by groups"),
    (lambda: CausalConv1d(3, 4, 0), ValueError, "kernel_size must be a positive"),
    (lambda: causal_stack(4, 2), ValueError, "dilations must be a non-empty sequence"),
    (lambda: input_dependence(CausalConv1d(1, 1, 2), 1, 5, t=5), ValueError, "t must be in"),
    (lambda: conv2d_as_conv3d(nn.Conv2d(4, 4, 3, groups=2)), ValueError, "only groups=1"),
    (lambda: conv2d_as_conv3d(nn.Conv1d(4, 4, 3)), TypeError, "must be an nn.Conv2d"),
    (lambda: Conv2Plus1d(4, 4, (3, 3, 3)), ValueError, "kernel_size must be an int or a"),
    (lambda: Conv2Plus1d(4, 4, 3, padding=-1), ValueError, "padding must be zero or positive"),

])
def test_bad_arguments_raise_clear_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


# --- the page's exercises ----------------------------------------------------------------------
def test_exercise_numbers_match_torch():
    ex = page.exercise_values()
    c, *size = page.CLIP
    conv = nn.Conv3d(c, **page.CLIP_CONV, device="meta")
    x = torch.empty(1, c, *size, device="meta")
    assert tuple(conv(x).shape[2:]) == ex["ex1_out"]
    assert sum(p.numel() for p in conv.parameters()) == ex["ex1_params"]
    assert flops(conv, x) == 2 * ex["ex1_macs"]
    stack = causal_stack(1, ex["ex4_dilations"], kernel_size=ex["ex4_k"])
    length = ex["ex4_rf"] + 3
    seen = input_dependence(stack, 1, length, length - 1).nonzero().flatten()
    assert length - int(seen.min()) == ex["ex4_rf"]
    block = Conv2Plus1d(64, 128, 3, bias=False)
    assert sum(p.numel() for p in block.parameters()) == ex["ex5_params"]
    assert block.spatial.out_channels == ex["ex5_mid"]

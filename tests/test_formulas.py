"""The shared formulas against what torch actually does, over generated configurations."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from snippets import formulas as F
from tests.conftest import flops

SETTINGS = settings(max_examples=150, deadline=None)


@st.composite
def conv_configs(draw):
    groups = draw(st.sampled_from([1, 1, 2, 3, 4]))
    return dict(
        size=draw(st.integers(1, 20)),
        in_channels=groups * draw(st.integers(1, 4)),
        out_channels=groups * draw(st.integers(1, 4)),
        kernel_size=draw(st.integers(1, 5)),
        stride=draw(st.integers(1, 4)),
        padding=draw(st.integers(0, 3)),
        dilation=draw(st.integers(1, 3)),
        groups=groups,
        bias=draw(st.booleans()),
        batch=draw(st.integers(1, 3)),
    )


@SETTINGS
@given(conv_configs())
def test_conv2d_shape_params_flops_match_torch(c):
    conv = torch.nn.Conv2d(c["in_channels"], c["out_channels"], c["kernel_size"], c["stride"],
                           c["padding"], c["dilation"], c["groups"], c["bias"])
    x = torch.randn(c["batch"], c["in_channels"], c["size"], c["size"])
    span = F.effective_kernel_size(c["kernel_size"], c["dilation"])
    if span > c["size"] + 2 * c["padding"]:
        # torch refuses too; the formula says why instead of returning a size
        with pytest.raises(RuntimeError):
            conv(x)
        with pytest.raises(ValueError, match="larger than the padded input"):
            F.conv_output_size(c["size"], c["kernel_size"], c["stride"], c["padding"],
                               c["dilation"])
        return
    out = F.conv_output_size(c["size"], c["kernel_size"], c["stride"], c["padding"],
                             c["dilation"])
    y = conv(x)
    assert y.shape == (c["batch"], c["out_channels"], out, out)
    assert sum(p.numel() for p in conv.parameters()) == F.conv2d_params(
        c["in_channels"], c["out_channels"], c["kernel_size"], c["groups"], c["bias"])
    assert flops(conv, x) == 2 * F.conv2d_macs(
        c["in_channels"], c["out_channels"], c["kernel_size"], out, c["groups"], c["batch"])


@SETTINGS
@given(conv_configs(), st.integers(0, 3))
def test_conv_transpose2d_shape_params_flops_match_torch(c, output_padding):
    kwargs = dict(stride=c["stride"], padding=c["padding"], output_padding=output_padding,
                  dilation=c["dilation"])
    x = torch.randn(c["batch"], c["in_channels"], c["size"], c["size"])
    try:
        conv = torch.nn.ConvTranspose2d(c["in_channels"], c["out_channels"], c["kernel_size"],
                                        groups=c["groups"], bias=c["bias"], **kwargs)
        y = conv(x)
        if min(y.shape[-2:]) < 1:  # torch returns an empty tensor; the formula says why
            raise RuntimeError(f"empty output {tuple(y.shape)}")
    except (RuntimeError, ValueError):
        with pytest.raises(ValueError):
            F.conv_transpose_output_size(c["size"], c["kernel_size"], **kwargs)
        return
    out = F.conv_transpose_output_size(c["size"], c["kernel_size"], **kwargs)
    assert y.shape == (c["batch"], c["out_channels"], out, out)
    assert sum(p.numel() for p in conv.parameters()) == F.conv2d_params(
        c["in_channels"], c["out_channels"], c["kernel_size"], c["groups"], c["bias"])
    assert flops(conv, x) == 2 * F.conv_transpose2d_macs(
        c["in_channels"], c["out_channels"], c["kernel_size"], c["size"], c["groups"],
        c["batch"])


def test_output_padding_range_is_every_size_the_conv_maps_back():
    for size in range(1, 30):
        for k, s, p in [(3, 2, 1), (4, 2, 1), (3, 3, 0), (5, 2, 2)]:
            preimage = [n for n in range(1, 200) if n + 2 * p >= k
                        and F.conv_output_size(n, k, s, p) == size]
            if preimage and min(preimage) == F.conv_transpose_output_size(size, k, s, p):
                assert F.conv_transpose_output_padding_range(size, k, s, p) == preimage


@SETTINGS
@given(st.integers(1, 8), st.integers(1, 64), st.sampled_from([1, 3, 5, 7]),
       st.integers(1, 12))
def test_separable_costs_match_torch(batch, m, k, n):
    depthwise = torch.nn.Conv2d(m, m, k, padding=k // 2, groups=m, bias=False)
    pointwise = torch.nn.Conv2d(m, n, 1, bias=False)
    block = torch.nn.Sequential(depthwise, pointwise)
    x = torch.randn(batch, m, 9, 9)
    assert sum(p.numel() for p in block.parameters()) == F.separable_params(m, n, k)
    assert flops(block, x) == 2 * F.separable_macs(m, n, k, 9, batch)
    standard = F.conv2d_macs(m, n, k, 9, batch=batch)
    assert F.separable_macs(m, n, k, 9, batch) / standard == pytest.approx(
        F.separable_cost_ratio(n, k))


def test_receptive_field_of_a_single_layer_is_its_span():
    for k in range(1, 6):
        for d in range(1, 4):
            assert F.receptive_field([(k, 1, d)]) == F.effective_kernel_size(k, d)


@pytest.mark.parametrize("call, message", [
    (lambda: F.conv_output_size(0, 3), "size must be a positive integer, got 0"),
    (lambda: F.conv_output_size(8, -1), "kernel_size must be a positive integer, got -1"),
    (lambda: F.conv_output_size(8, 3, stride=0), "stride must be a positive integer, got 0"),
    (lambda: F.conv_output_size(8, 3, padding=-1), "padding must be zero or positive"),
    (lambda: F.conv_output_size(2, 5), r"kernel span 5 .* larger than the padded input 2"),
    (lambda: F.conv2d_params(6, 8, 3, groups=4),
     r"in_channels \(6\) must be divisible by groups \(4\)"),
    (lambda: F.conv2d_params(8, 6, 3, groups=4),
     r"out_channels \(6\) must be divisible by groups \(4\)"),
    (lambda: F.conv2d_params(8, 8, (3, 3, 3)), "kernel_size must be an int or a pair"),
    (lambda: F.conv2d_macs(8, 8, 3, 0), "output_size must be a positive integer, got 0"),
    (lambda: F.conv_transpose_output_size(4, 3, stride=2, output_padding=2),
     r"output_padding \(2\) must be smaller than stride \(2\) or dilation \(1\)"),
    (lambda: F.conv_output_size(8.0, 3), "size must be an integer"),
    (lambda: F.receptive_field([(3, 1)]), r"layer 0 must be \(kernel_size, stride, dilation\)"),
    (lambda: F.dynamic_conv2d_params(8, 8, 3, num_kernels=0),
     "num_kernels must be a positive integer, got 0"),
])
def test_bad_arguments_raise_clear_value_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()

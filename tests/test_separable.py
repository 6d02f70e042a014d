"""The separable chapter's claims, checked against torch: shapes, the fused kernel, costs,
bad arguments, and the bug in the source note's block."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch.utils.flop_counter import FlopCounterMode

from snippets import formulas
from snippets.separable import (
    MOBILENET_V1_BLOCKS,
    DepthwiseSeparableConv2d,
    NoteBlock,
    fuse_separable_bias,
    fuse_separable_kernel,
    mobilenet_v1_features,
)
from tests.conftest import flops

# the device fixture is a plain torch.device, safe to share between generated examples
SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def n_params(module) -> int:
    return sum(p.numel() for p in module.parameters())


# --- shapes -------------------------------------------------------------------------------
@pytest.mark.parametrize("size", [(1, 1), (5, 5), (7, 12), (16, 16), (31, 20)])
@pytest.mark.parametrize("kernel_size", [1, 3, 5])
@pytest.mark.parametrize("dilation", [1, 2])
@pytest.mark.parametrize("stride", [1, 2])
def test_block_output_shape(device, size, kernel_size, dilation, stride):
    block = DepthwiseSeparableConv2d(4, 6, kernel_size, stride=stride, dilation=dilation)
    block = block.to(device).eval()  # eval: BatchNorm accepts a single value per channel
    y = block(torch.randn(2, 4, *size, device=device))
    pad = kernel_size // 2 * dilation
    expected = tuple(formulas.conv_output_size(n, kernel_size, stride, pad, dilation)
                     for n in size)
    assert y.shape == (2, 6, *expected)
    if stride == 1:  # odd kernel, default padding: "same"
        assert y.shape[-2:] == size
    else:  # stride 2 halves, rounding up
        assert y.shape[-2:] == tuple((n + 1) // 2 for n in size)


def test_note_input_gives_the_note_shape_with_stride_2(device):
    x = torch.randn(32, 3, 224, 224, device=device)
    with torch.no_grad():
        assert DepthwiseSeparableConv2d(3, 64, stride=2).to(device)(x).shape == (32, 64, 112, 112)
        assert DepthwiseSeparableConv2d(3, 64).to(device)(x[:2]).shape == (2, 64, 224, 224)


def test_pair_arguments_like_conv2d(device):
    block = DepthwiseSeparableConv2d(3, 5, kernel_size=(3, 5), stride=(1, 2), padding=(1, 2),
                                     dilation=(1, 1)).to(device)
    assert block(torch.randn(2, 3, 10, 10, device=device)).shape == (2, 5, 10, 5)
    assert block.depthwise.weight.shape == (3, 1, 3, 5)


def test_structure_follows_mobilenets():
    block = DepthwiseSeparableConv2d(8, 16)
    assert block.depthwise.groups == 8 and block.depthwise.weight.shape == (8, 1, 3, 3)
    assert block.pointwise.weight.shape == (16, 8, 1, 1)
    assert block.depthwise.bias is None and block.pointwise.bias is None
    kinds = [type(m) for m in block.children()]
    assert kinds == [torch.nn.Conv2d, torch.nn.BatchNorm2d, torch.nn.ReLU] * 2
    plain = DepthwiseSeparableConv2d(8, 16, norm=False, activation=False)
    assert [type(m) for m in plain.children()] == [torch.nn.Conv2d, torch.nn.Identity, torch.nn.Identity] * 2


# --- the fused kernel: separable = one standard conv with W[n,m] = P[n,m] D[m] -------------
@st.composite
def fuse_configs(draw):
    kernel_size = draw(st.integers(1, 5))
    dilation = draw(st.integers(1, 3))
    return dict(
        in_channels=draw(st.integers(1, 6)),
        out_channels=draw(st.integers(1, 6)),
        kernel_size=kernel_size,
        stride=draw(st.integers(1, 3)),
        padding=draw(st.integers(0, 3)),
        dilation=dilation,
        bias=draw(st.booleans()),
        # big enough for the dilated kernel even without padding
        size=draw(st.integers(dilation * (kernel_size - 1) + 1, 14)),
        batch=draw(st.integers(1, 3)),
    )


@SETTINGS
@given(c=fuse_configs())
def test_separable_equals_one_standard_conv_with_the_fused_kernel(device, c):
    # float64: the two paths sum in different orders; doubles (and no TF32 on CUDA)
    # make the comparison tight
    block = DepthwiseSeparableConv2d(
        c["in_channels"], c["out_channels"], c["kernel_size"], c["stride"], c["padding"],
        c["dilation"], bias=c["bias"], norm=False, activation=False,
    ).to(device, torch.float64)
    x = torch.randn(c["batch"], c["in_channels"], c["size"], c["size"], device=device,
                    dtype=torch.float64)
    weight = fuse_separable_kernel(block.depthwise.weight, block.pointwise.weight)
    assert weight.shape == (c["out_channels"], c["in_channels"], c["kernel_size"],
                            c["kernel_size"])
    bias = fuse_separable_bias(block.pointwise.weight, block.depthwise.bias,
                               block.pointwise.bias) if c["bias"] else None
    standard = F.conv2d(x, weight, bias, c["stride"], c["padding"], c["dilation"])
    torch.testing.assert_close(block(x), standard)


def test_fused_kernel_slices_are_multiples_of_the_depthwise_filter(device):
    d = torch.randn(4, 1, 3, 3, device=device)
    p = torch.randn(5, 4, 1, 1, device=device)
    w = fuse_separable_kernel(d, p)
    for n in range(5):
        for m in range(4):
            torch.testing.assert_close(w[n, m], p[n, m, 0, 0] * d[m, 0])
    # each (n, m) slice has rank 1 over the "channel" axis: the N x M matrix of slices is
    # P (N x M) scaled per column by D, so its flattening (N, M*k*k) has rank <= M
    assert torch.linalg.matrix_rank(w.reshape(5, 4 * 9)) <= 4


def test_a_relu_between_the_steps_breaks_the_equivalence(device):
    torch.manual_seed(0)
    block = DepthwiseSeparableConv2d(3, 4, norm=False, activation=True).to(device).double()
    x = torch.randn(2, 3, 8, 8, device=device, dtype=torch.float64)
    weight = fuse_separable_kernel(block.depthwise.weight, block.pointwise.weight)
    assert not torch.allclose(block(x), F.relu(F.conv2d(x, weight, padding=1)))


# --- costs: the page's formulas against FlopCounterMode and numel --------------------------
@st.composite
def cost_configs(draw):
    return dict(
        in_channels=draw(st.integers(1, 24)),
        out_channels=draw(st.integers(1, 24)),
        kernel_size=draw(st.sampled_from([1, 3, 5, 7, (3, 5)])),
        stride=draw(st.integers(1, 3)),
        dilation=draw(st.integers(1, 2)),
        height=draw(st.integers(1, 16)),
        width=draw(st.integers(1, 16)),
        batch=draw(st.integers(1, 3)),
        bias=draw(st.booleans()),
        norm=draw(st.booleans()),
    )


@SETTINGS
@given(c=cost_configs())
def test_block_flops_and_params_match_the_formulas(device, c):
    m, n, k = c["in_channels"], c["out_channels"], c["kernel_size"]
    block = DepthwiseSeparableConv2d(m, n, k, c["stride"], dilation=c["dilation"],
                                     bias=c["bias"], norm=c["norm"]).to(device).eval()
    x = torch.randn(c["batch"], m, c["height"], c["width"], device=device)
    y = block(x)
    out = tuple(y.shape[-2:])
    kh, kw = (k, k) if isinstance(k, int) else k
    expected = tuple(formulas.conv_output_size(size, kk, c["stride"], kk // 2 * c["dilation"],
                                               c["dilation"])
                     for size, kk in zip((c["height"], c["width"]), (kh, kw)))
    assert out == expected
    # the formulas count conv weights; biases and BatchNorm's scale and shift come on top
    conv_weights = formulas.separable_params(m, n, k)
    extra = (m + n) * (c["bias"] + 2 * c["norm"])
    assert n_params(block) == conv_weights + extra
    assert n_params(block.depthwise) + n_params(block.pointwise) == conv_weights + (
        (m + n) if c["bias"] else 0)
    # FlopCounterMode counts the convs only (2 per multiply-add), not BatchNorm or ReLU
    assert flops(block, x) == 2 * formulas.separable_macs(m, n, k, out, c["batch"])


@pytest.mark.parametrize("n", [32, 64, 128, 256, 512, 1024])
def test_cost_ratio_is_one_over_n_plus_one_over_k_squared(n):
    for m in (3, 32, n):
        for out in (7, 56):
            sep = formulas.separable_macs(m, n, 3, out)
            std = formulas.conv2d_macs(m, n, 3, out)
            assert sep / std == pytest.approx(1 / n + 1 / 9)
            # the parameter ratio is the same number: MACs are parameters x D_fo^2 here
            assert formulas.separable_params(m, n, 3) / formulas.conv2d_params(
                m, n, 3, bias=False) == pytest.approx(1 / n + 1 / 9)
    speedup = 1 / formulas.separable_cost_ratio(n, 3)
    assert 7 < speedup < 9  # "slightly less than 9" only once N is large


def test_page_table_matches_the_formulas():
    from sitegen.pages import separable as page

    rows = page.ratio_rows()
    assert [r["N"] for r in rows] == [32, 64, 128, 256, 512, 1024]
    for r in rows:
        assert r["ratio"] == pytest.approx(formulas.separable_cost_ratio(r["N"], 3))
        assert r["speedup"] == pytest.approx(1 / r["ratio"])
        assert r["param_saving"] == pytest.approx(r["speedup"])
    for lang in ("zh", "en"):
        table = page.ratio_table(lang)
        assert table.count("\n") == len(rows) + 1
        assert "8.92" in table and "7.02" in table


# --- bad arguments ------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, message", [
    (dict(in_channels=0, out_channels=8), "in_channels must be a positive integer, got 0"),
    (dict(in_channels=8, out_channels=-1), "out_channels must be a positive integer, got -1"),
    (dict(in_channels=8.0, out_channels=8), "in_channels must be a positive integer, got 8.0"),
    (dict(in_channels=8, out_channels=8, kernel_size=0), "kernel_size must be positive, got 0"),
    (dict(in_channels=8, out_channels=8, kernel_size=(3, 3, 3)),
     r"kernel_size must be an int or a pair of ints, got \(3, 3, 3\)"),
    (dict(in_channels=8, out_channels=8, stride=0), "stride must be positive, got 0"),
    (dict(in_channels=8, out_channels=8, padding=-1), "padding must be zero or positive, got -1"),
    (dict(in_channels=8, out_channels=8, dilation=(1, 0)),
     r"dilation must be positive, got \(1, 0\)"),
    (dict(in_channels=8, out_channels=8, stride=True), "stride must be an int or a pair"),
])
def test_bad_arguments_raise_clear_value_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DepthwiseSeparableConv2d(**kwargs)


@pytest.mark.parametrize("d_shape, p_shape, message", [
    ((4, 2, 3, 3), (5, 4, 1, 1), r"depthwise_weight must have shape \(M, 1, kh, kw\), got \(4, 2, 3, 3\)"),
    ((4, 1, 3), (5, 4, 1, 1), r"depthwise_weight must have shape"),
    ((4, 1, 3, 3), (5, 4, 3, 3), r"pointwise_weight must have shape \(N, M, 1, 1\), got \(5, 4, 3, 3\)"),
    ((4, 1, 3, 3), (5, 3, 1, 1), "pointwise_weight has 3 input channels but depthwise_weight has 4"),
])
def test_fuse_rejects_mismatched_weights(d_shape, p_shape, message):
    with pytest.raises(ValueError, match=message):
        fuse_separable_kernel(torch.zeros(d_shape), torch.zeros(p_shape))


# --- the source note's block: stride=2 hard-coded, `stride` ignored ------------------------
def test_note_block_ignores_its_stride_argument(device):
    x = torch.randn(2, 3, 224, 224, device=device)
    for stride in (1, 2, 4):
        assert NoteBlock(3, 64, stride=stride).to(device)(x).shape == (2, 64, 112, 112)
    assert DepthwiseSeparableConv2d(3, 64, stride=1).to(device)(x).shape == (2, 64, 224, 224)


def test_note_block_with_stride_2_is_our_block_with_stride_2(device):
    note = NoteBlock(3, 64).to(device).eval()
    ours = DepthwiseSeparableConv2d(3, 64, stride=2).to(device).eval()
    names = {"conv1": "depthwise", "bn1": "bn1", "conv2": "pointwise", "bn2": "bn2"}
    ours.load_state_dict({names[k.split(".")[0]] + k[k.index("."):]: v
                          for k, v in note.state_dict().items()})
    x = torch.randn(2, 3, 32, 32, device=device)
    torch.testing.assert_close(ours(x), note(x))


def test_mobilenet_built_from_the_note_block_collapses_to_1x1(device):
    x = torch.randn(1, 3, 224, 224, device=device)
    good = mobilenet_v1_features().to(device).eval()
    bad = mobilenet_v1_features(NoteBlock).to(device).eval()
    with torch.no_grad():
        sizes_good, sizes_bad = [], []
        y_good, y_bad = x, x
        for g, b in zip(good, bad):
            y_good, y_bad = g(y_good), b(y_bad)
            sizes_good.append(y_good.shape[-1])
            sizes_bad.append(y_bad.shape[-1])
    assert sizes_good == [112, 112, 56, 56, 28, 28, 14, 14, 14, 14, 14, 14, 7, 7]
    assert sizes_bad == [112, 56, 28, 14, 7, 4, 2, 1, 1, 1, 1, 1, 1, 1]
    assert y_good.shape == y_bad.shape[:2] + (7, 7) == (1, 1024, 7, 7)
    # MobileNet's classifier averages a 7x7 map: the note's network cannot even reach it
    assert torch.nn.AvgPool2d(7)(y_good).shape == (1, 1024, 1, 1)
    with pytest.raises(RuntimeError):
        torch.nn.AvgPool2d(7)(y_bad)
    assert len(MOBILENET_V1_BLOCKS) == 13


@pytest.mark.parametrize("alpha", [1.0, 0.75, 0.5, 0.25])
@pytest.mark.parametrize("resolution", [224, 192, 160, 128])
def test_width_and_resolution_multipliers_match_flop_counter(alpha, resolution):
    """MobileNet's alpha/rho cost formula equals what torch counts for the shrunk layer."""
    from snippets.formulas import multiplied_channels, separable_multiplier_macs
    rho = resolution / 224
    m = multiplied_channels(64, alpha)
    size = round(rho * 14)
    block = DepthwiseSeparableConv2d(m, m, norm=False, activation=False)
    assert flops(block, torch.randn(1, m, size, size)) == 2 * separable_multiplier_macs(
        64, 64, 3, 14, alpha, rho)


def test_multipliers_out_of_range_are_refused():
    from snippets.formulas import separable_multiplier_macs
    for bad in (0, 1.5, -0.5, float("nan")):
        with pytest.raises(ValueError, match="alpha"):
            separable_multiplier_macs(64, 64, 3, 14, alpha=bad)
        with pytest.raises(ValueError, match="rho"):
            separable_multiplier_macs(64, 64, 3, 14, rho=bad)

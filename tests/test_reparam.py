"""Structural re-parameterisation: every fused form equals its training-time form.

Equalities are checked with random weights AND random BatchNorm statistics (a fresh BatchNorm
is the identity and would hide a wrong fold), in float64 and float32, with the bound of
``snippets.reparam.TOLERANCES``: max |fused - original| <= tol * max |original|
(1e-12 in float64, 5e-5 in float32).
"""

import copy
import json

import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from snippets.formulas import acblock_macs, acblock_params, repvgg_macs, repvgg_params
from snippets.reparam import (TOLERANCES, ACBlock, RepVGGBlock, assert_fused_close, conv_bn,
                              fuse_conv_bn, identity_kernel, merge_parallel, merge_sequential,
                              pad_kernel, randomize_batchnorm, sequential_kernel)
from snippets.reparam_bench import FORMS, main as bench_main
from sitegen.pages import reparam as page
from tests.conftest import flops

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
DTYPES = [torch.float64, torch.float32]


def params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def random_bn(channels: int, seed: int, dtype=torch.float64, device="cpu") -> nn.BatchNorm2d:
    return randomize_batchnorm(nn.BatchNorm2d(channels), seed).to(device, dtype).eval()


# --- folding BatchNorm -----------------------------------------------------------------------
@st.composite
def conv_configs(draw):
    groups = draw(st.sampled_from([1, 2, 3]))
    return dict(in_channels=groups * draw(st.integers(1, 3)),
                out_channels=groups * draw(st.integers(1, 3)),
                kernel_size=draw(st.sampled_from([1, 3, (1, 3), (3, 5)])),
                stride=draw(st.sampled_from([1, 2, (2, 1)])),
                padding=draw(st.sampled_from([0, 1, 2])),
                dilation=draw(st.sampled_from([1, 2])),
                groups=groups, bias=draw(st.booleans()))


@SETTINGS
@given(cfg=conv_configs(), seed=st.integers(0, 2**16), dtype=st.sampled_from(DTYPES))
def test_fuse_conv_bn_equals_torch_fusion_and_eval_conv_bn(device, cfg, seed, dtype):
    """Against torch.nn.utils.fusion.fuse_conv_bn_eval and against bn(conv(x)) in eval mode,
    over groups, stride, dilation, padding and bias, with random BatchNorm statistics."""
    torch.manual_seed(seed)
    conv = nn.Conv2d(**cfg).to(device, dtype).eval()
    bn = random_bn(cfg["out_channels"], seed, dtype, device)
    fused = fuse_conv_bn(conv, bn)
    theirs = fuse_conv_bn_eval(conv, bn)
    torch.testing.assert_close(fused.weight, theirs.weight, rtol=0, atol=0)
    torch.testing.assert_close(fused.bias, theirs.bias, rtol=0, atol=0)
    for attr in ("stride", "padding", "dilation", "groups", "kernel_size"):
        assert getattr(fused, attr) == getattr(conv, attr)
    x = torch.randn(2, cfg["in_channels"], 9, 10, device=device, dtype=dtype)
    assert_fused_close(fused(x), bn(conv(x)))
    assert_fused_close(fused(x), theirs(x))


def test_fuse_conv_bn_keeps_padding_mode_and_batchnorm_without_affine():
    conv = nn.Conv2d(2, 3, 3, padding=1, padding_mode="reflect").double()
    bn = randomize_batchnorm(nn.BatchNorm2d(3, affine=False)).double().eval()
    fused = fuse_conv_bn(conv, bn)
    assert fused.padding_mode == "reflect"
    x = torch.randn(1, 2, 6, 6, dtype=torch.float64)
    assert_fused_close(fused(x), bn(conv(x)))


def test_a_train_mode_batchnorm_depends_on_the_batch_and_is_refused():
    """Why folding needs eval mode: in training mode a sample's output changes with the
    other samples in its batch, which no fixed kernel can reproduce."""
    conv, bn = nn.Conv2d(2, 3, 3).double(), nn.BatchNorm2d(3).double().train()
    x = torch.randn(4, 2, 6, 6, dtype=torch.float64)
    alone, together = bn(conv(x[:1])), bn(conv(x))[:1]
    assert not torch.allclose(alone, together)
    with pytest.raises(ValueError, match="training mode"):
        fuse_conv_bn(conv, bn)
    block = RepVGGBlock(3, 3)                 # a fresh module is in training mode
    with pytest.raises(ValueError, match="eval mode"):
        block.fuse()
    with pytest.raises(ValueError, match="eval mode"):
        ACBlock(3, 3).fuse()
    block.eval()
    block.one.bn.train()                      # one BatchNorm left in training mode
    with pytest.raises(ValueError, match="training mode"):
        block.fuse()


@pytest.mark.parametrize("call, error, message", [
    (lambda: fuse_conv_bn(nn.Linear(2, 2), nn.BatchNorm2d(2).eval()), TypeError, "nn.Conv2d"),
    (lambda: fuse_conv_bn(nn.Conv2d(2, 2, 1), nn.BatchNorm1d(2).eval()), TypeError,
     "BatchNorm2d"),
    (lambda: fuse_conv_bn(nn.Conv2d(2, 3, 1), nn.BatchNorm2d(2).eval()), ValueError,
     "2 features but the conv has 3"),
    (lambda: fuse_conv_bn(nn.Conv2d(2, 2, 1),
                          nn.BatchNorm2d(2, track_running_stats=False).eval()), ValueError,
     "running statistics"),
    (lambda: merge_parallel([]), ValueError, "at least one"),
    (lambda: merge_parallel([nn.Conv2d(2, 2, 3, padding=1), nn.Conv2d(2, 2, 1, stride=2)]),
     ValueError, "stride"),
    (lambda: merge_parallel([nn.Conv2d(2, 2, 3, padding=1), nn.Conv2d(2, 2, 1, groups=2)]),
     ValueError, "groups"),
    (lambda: merge_parallel([nn.Conv2d(2, 2, 3, padding=2, dilation=2),
                             nn.Conv2d(2, 2, 3, padding=1)]), ValueError, "dilation"),
    (lambda: merge_parallel([nn.Conv2d(2, 2, 3, padding=1), nn.Conv2d(2, 4, 1)]), ValueError,
     "out_channels"),
    (lambda: merge_parallel([nn.Conv2d(2, 2, 3, padding=0), nn.Conv2d(2, 2, 1)]), ValueError,
     "centres"),
    (lambda: merge_parallel([nn.Conv2d(2, 2, 3, padding=1), nn.Conv2d(2, 2, 2, padding=1)]),
     ValueError, "centres|centred"),
    (lambda: merge_parallel([nn.Conv2d(2, 2, 3, padding="same")]), ValueError, "numbers"),
    (lambda: merge_parallel([nn.Conv2d(2, 2, 3, padding=1, padding_mode="circular")]),
     ValueError, "padding_mode"),
    (lambda: merge_parallel([nn.Linear(2, 2)]), TypeError, "nn.Conv2d"),
    (lambda: merge_sequential(nn.Conv2d(2, 3, 1), nn.Conv2d(3, 4, 3, padding=1)), ValueError,
     "Put the padding on the 1x1"),
    (lambda: merge_sequential(nn.Conv2d(2, 3, 3), nn.Conv2d(3, 4, 3)), ValueError, "1x1"),
    (lambda: merge_sequential(nn.Conv2d(2, 3, 1, stride=2), nn.Conv2d(3, 4, 3)), ValueError,
     "stride 1"),
    (lambda: merge_sequential(nn.Conv2d(2, 3, 1), nn.Conv2d(4, 4, 3)), ValueError,
     "gives 3 channels"),
    (lambda: merge_sequential(nn.Conv2d(2, 4, 1), nn.Conv2d(4, 4, 3, groups=2)), ValueError,
     "groups"),
    (lambda: pad_kernel(torch.ones(1, 1, 3, 3), 4), ValueError, "even amount"),
    (lambda: pad_kernel(torch.ones(1, 1, 3, 3), 1), ValueError, "cannot be centred"),
    (lambda: identity_kernel(4, 2), ValueError, "odd"),
    (lambda: identity_kernel(4, 3, groups=3), ValueError, "divisible by groups"),
    (lambda: RepVGGBlock(0, 4), ValueError, "in_channels"),
    (lambda: RepVGGBlock(4, 6, groups=4), ValueError, "out_channels .6. must be divisible"),
    (lambda: RepVGGBlock(4, 4, stride=0), ValueError, "stride"),
    (lambda: RepVGGBlock(4, 4, stride=1.5), ValueError, "stride"),
    (lambda: RepVGGBlock(4, True), ValueError, "out_channels"),
    (lambda: ACBlock(4, 4, kernel_size=4), ValueError, "odd"),
    (lambda: ACBlock(4, 4, groups=3), ValueError, "divisible"),
    (lambda: repvgg_macs(4, 4, 0), ValueError, "size"),
    (lambda: assert_fused_close(torch.ones(2, dtype=torch.int64),
                                torch.ones(2, dtype=torch.int64)), ValueError, "tolerance"),
])
def test_bad_arguments_raise_clear_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


# --- parallel branches -----------------------------------------------------------------------
def test_pad_kernel_and_identity_kernel():
    w = torch.randn(3, 2, 1, 3, dtype=torch.float64)
    padded = pad_kernel(w, (3, 5))
    assert padded.shape == (3, 2, 3, 5)
    torch.testing.assert_close(padded[:, :, 1:2, 1:4], w, rtol=0, atol=0)
    outside = padded.clone()
    outside[:, :, 1:2, 1:4] = 0
    assert not outside.any()                     # only zeros around the original kernel
    for channels, k, groups in [(4, 1, 1), (4, 3, 2), (6, 3, 6), (6, 5, 3)]:
        x = torch.randn(2, channels, 7, 7, dtype=torch.float64)
        kernel = identity_kernel(channels, k, groups, dtype=torch.float64)
        y = F.conv2d(x, kernel, padding=k // 2, groups=groups)
        torch.testing.assert_close(y, x, rtol=0, atol=0)
        assert int(kernel.sum()) == channels


@SETTINGS
@given(data=st.data(), seed=st.integers(0, 2**16), dtype=st.sampled_from(DTYPES))
def test_merge_parallel_equals_the_sum_of_branches(device, data, seed, dtype):
    """Kernels of several sizes with centre-aligned paddings, any stride, dilation, groups."""
    torch.manual_seed(seed)
    groups = data.draw(st.sampled_from([1, 2]))
    cin, cout = groups * data.draw(st.integers(1, 3)), groups * data.draw(st.integers(1, 3))
    stride, dilation = data.draw(st.sampled_from([1, 2])), data.draw(st.sampled_from([1, 2]))
    shift = data.draw(st.integers(0, 1))            # extra padding beyond "same"
    sizes = data.draw(st.lists(st.sampled_from([(1, 1), (3, 3), (1, 3), (3, 1), (5, 5)]),
                               min_size=1, max_size=4))
    convs = [nn.Conv2d(cin, cout, k, stride,
                       tuple(shift + dilation * (s - 1) // 2 for s in k), dilation, groups,
                       bias=data.draw(st.booleans())).to(device, dtype) for k in sizes]
    merged = merge_parallel(convs)
    x = torch.randn(2, cin, 11, 8, device=device, dtype=dtype)
    assert_fused_close(merged(x), sum(conv(x) for conv in convs))


@pytest.mark.parametrize("dtype", DTYPES)
def test_replknet_large_and_small_depthwise_kernels_merge(device, dtype):
    """RepLKNet: a 13x13 depthwise conv + BN beside a 5x5 depthwise conv + BN, stride 1 and 2."""
    channels = 8
    for stride in (1, 2):
        torch.manual_seed(stride)
        large = conv_bn(channels, channels, 13, stride, 6, groups=channels)
        small = conv_bn(channels, channels, 5, stride, 2, groups=channels)
        large, small = (randomize_batchnorm(m, seed).to(device, dtype).eval()
                        for seed, m in enumerate((large, small)))
        merged = merge_parallel([fuse_conv_bn(m.conv, m.bn) for m in (large, small)])
        assert merged.kernel_size == (13, 13) and merged.padding == (6, 6)
        x = torch.randn(2, channels, 20, 17, device=device, dtype=dtype)
        assert_fused_close(merged(x), large(x) + small(x))


@st.composite
def block_configs(draw):
    groups = draw(st.sampled_from([1, 1, 2, 4]))
    cin = groups * draw(st.integers(1, 3))
    same = draw(st.booleans())     # equal channels: the identity branch is possible
    cout = cin if same else groups * draw(st.integers(1, 3))
    return dict(in_channels=cin, out_channels=cout, stride=draw(st.sampled_from([1, 2])),
                groups=groups)


@SETTINGS
@given(cfg=block_configs(), seed=st.integers(0, 2**16), dtype=st.sampled_from(DTYPES),
       size=st.integers(3, 9))
def test_repvgg_fuse_equals_the_block_in_eval_mode(device, cfg, seed, dtype, size):
    torch.manual_seed(seed)
    block = randomize_batchnorm(RepVGGBlock(**cfg), seed).to(device, dtype).eval()
    has_identity = cfg["in_channels"] == cfg["out_channels"] and cfg["stride"] == 1
    assert (block.identity is not None) == has_identity
    deploy = block.fuse()
    assert [type(m) for m in deploy] == [nn.Conv2d, nn.ReLU]
    conv = deploy[0]
    assert conv.kernel_size == (3, 3) and conv.padding == (1, 1)
    assert conv.stride == (cfg["stride"],) * 2 and conv.groups == cfg["groups"]
    x = torch.randn(2, cfg["in_channels"], size, size + 1, device=device, dtype=dtype)
    assert_fused_close(deploy(x), block(x))


def test_the_identity_branch_is_present_only_when_shapes_allow():
    assert RepVGGBlock(8, 8).identity is not None
    assert RepVGGBlock(8, 8, groups=4).identity is not None
    assert RepVGGBlock(8, 8, stride=2).identity is None
    assert RepVGGBlock(8, 16).identity is None


@SETTINGS
@given(cfg=block_configs(), k=st.sampled_from([3, 5]), seed=st.integers(0, 2**16),
       dtype=st.sampled_from(DTYPES), size=st.integers(5, 10))
def test_acblock_fuse_equals_the_block_in_eval_mode(device, cfg, k, seed, dtype, size):
    torch.manual_seed(seed)
    block = ACBlock(cfg["in_channels"], cfg["out_channels"], k, cfg["stride"], cfg["groups"])
    block = randomize_batchnorm(block, seed).to(device, dtype).eval()
    fused = block.fuse()
    assert isinstance(fused, nn.Conv2d) and fused.kernel_size == (k, k)
    x = torch.randn(2, cfg["in_channels"], size, size + 2, device=device, dtype=dtype)
    assert_fused_close(fused(x), block(x))


# --- sequential 1x1 then k x k ---------------------------------------------------------------
@SETTINGS
@given(data=st.data(), seed=st.integers(0, 2**16), dtype=st.sampled_from(DTYPES))
def test_merge_sequential_is_exact_with_the_padding_on_the_1x1(device, data, seed, dtype):
    """DBB's 1x1 -> k x k branch, with BatchNorms folded, any stride/dilation/groups of the
    k x k: exact when the padding sits on the 1x1 (whose output is then b1 on the border)."""
    torch.manual_seed(seed)
    g = data.draw(st.sampled_from([1, 2]))
    cin, mid, cout = (g * data.draw(st.integers(1, 3)) for _ in range(3))
    k = data.draw(st.sampled_from([1, 3, 5]))
    stride, dilation = data.draw(st.sampled_from([1, 2])), data.draw(st.sampled_from([1, 2]))
    pad = data.draw(st.integers(0, dilation * (k // 2)))
    first = randomize_batchnorm(conv_bn(cin, mid, 1, 1, pad, g), seed).to(device, dtype).eval()
    second = nn.Conv2d(mid, cout, k, stride, 0, dilation, g,
                       bias=data.draw(st.booleans())).to(device, dtype)
    merged = merge_sequential(fuse_conv_bn(first.conv, first.bn), second)
    x = torch.randn(2, cin, 12, 9, device=device, dtype=dtype)
    assert_fused_close(merged(x), second(first(x)))


@pytest.mark.parametrize("dtype", DTYPES)
def test_merge_sequential_with_padding_on_the_kxk_needs_a_bias_free_1x1(device, dtype):
    first = nn.Conv2d(3, 5, 1, bias=False).to(device, dtype)
    second = nn.Conv2d(5, 4, 3, padding=1).to(device, dtype)
    x = torch.randn(2, 3, 7, 7, device=device, dtype=dtype)
    assert_fused_close(merge_sequential(first, second)(x), second(first(x)))


def test_the_naive_sequential_merge_is_wrong_exactly_on_the_border():
    """Padding on the k x k: the true block sees zeros around the 1x1's output, the merged
    conv sees b1 there. The error is zero inside and, on the border, equals the taps of
    conv2 that fall on padding, times b1."""
    torch.manual_seed(0)
    first, second = nn.Conv2d(3, 5, 1).double(), nn.Conv2d(5, 4, 3, padding=1).double()
    w, b = sequential_kernel(first.weight, first.bias, second.weight, second.bias)
    x = torch.randn(1, 3, 8, 8, dtype=torch.float64)
    error = F.conv2d(x, w, b, padding=1) - second(first(x))
    assert error[..., 1:-1, 1:-1].abs().max() < 1e-12
    # predicted error: conv2 applied to "b1 on the padding ring, 0 inside"
    ring = F.pad(torch.zeros(1, 5, 8, 8, dtype=torch.float64), (1, 1, 1, 1), value=1.0)
    ring = ring * first.bias.reshape(1, -1, 1, 1)
    torch.testing.assert_close(error, F.conv2d(ring, second.weight), rtol=1e-10, atol=1e-12)
    assert (error[..., 0, :].abs() > 1e-6).all() and (error[..., :, -1].abs() > 1e-6).all()
    assert page.border_error()["interior"] < 1e-12 < page.border_error()["border"]


def test_a_relu_between_the_two_convs_forbids_the_merge():
    torch.manual_seed(0)
    first = nn.Conv2d(3, 5, 1, padding=1).double()
    second = nn.Conv2d(5, 4, 3).double()
    merged = merge_sequential(first, second)
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64)
    assert_fused_close(merged(x), second(first(x)))
    assert not torch.allclose(merged(x), second(torch.relu(first(x))), atol=1e-3)


# --- costs -----------------------------------------------------------------------------------
@pytest.mark.parametrize("cin, cout, stride, groups, size", [
    (8, 8, 1, 1, 14), (8, 8, 2, 1, 15), (8, 16, 1, 1, 9), (8, 8, 1, 4, 10), (12, 24, 2, 3, 11),
    (48, 96, 2, 1, 112), (96, 96, 1, 1, 56)])
def test_repvgg_params_and_flops_match_the_formulas(cin, cout, stride, groups, size):
    block = RepVGGBlock(cin, cout, stride, groups).eval()
    deploy = block.fuse()
    x = torch.zeros(1, cin, size, size)
    assert params(block) == repvgg_params(cin, cout, stride, groups)
    assert params(deploy) == repvgg_params(cin, cout, stride, groups, fused=True)
    assert flops(block, x) == 2 * repvgg_macs(cin, cout, size, stride, groups)
    assert flops(deploy, x) == 2 * repvgg_macs(cin, cout, size, stride, groups, fused=True)


@pytest.mark.parametrize("cin, cout, k, stride, groups, size", [
    (8, 8, 3, 1, 1, 14), (8, 8, 3, 2, 1, 15), (6, 12, 5, 1, 3, 9), (64, 64, 3, 1, 1, 56)])
def test_acblock_params_and_flops_match_the_formulas(cin, cout, k, stride, groups, size):
    block = ACBlock(cin, cout, k, stride, groups).eval()
    fused = block.fuse()
    x = torch.zeros(1, cin, size, size)
    assert params(block) == acblock_params(cin, cout, k, groups)
    assert params(fused) == acblock_params(cin, cout, k, groups, fused=True)
    assert flops(block, x) == 2 * acblock_macs(cin, cout, size, k, stride, groups)
    assert flops(fused, x) == 2 * acblock_macs(cin, cout, size, k, stride, groups, fused=True)


def test_the_page_cost_table_counts_real_modules():
    """On the meta device: FlopCounterMode sees the same convolutions, nothing is computed."""
    for row in page.cost_rows():
        x = torch.zeros(1, *row["input"], device="meta")
        train, fused = (copy.deepcopy(row[k]).to("meta") for k in ("train", "fused"))
        assert params(train) == row["params"][0]
        assert params(fused) == row["params"][1]
        assert flops(train, x) == 2 * row["macs"][0]
        assert flops(fused, x) == 2 * row["macs"][1]


def test_the_page_error_table_respects_the_tolerances():
    for row in page.error_rows():
        assert 0 <= row["error"] <= TOLERANCES[row["dtype"]]


# --- benchmark and page ----------------------------------------------------------------------
def test_quick_benchmark_writes_valid_json(tmp_path, capsys):
    out = bench_main(["--quick", "--out", str(tmp_path / "bench.json")])
    result = json.loads(out.read_text())
    assert result["device"] == "cpu" and result["quick"] is True and result["threads"] == 1
    assert result["torch"] == torch.__version__ and result["clock"] == "thread CPU time"
    assert len(result["load_average"]["before"]) == 3
    assert {(r["case"], r["batch"]) for r in result["rows"]} == {
        (c, b) for c in ("conv_bn", "stage") for b in (1, 2)}
    for row in result["rows"]:
        assert set(row["times"]) == set(FORMS)
        for t in row["times"].values():
            assert t["median_ms"] > 0 and t["iqr_ms"] >= 0 and t["runs"] >= 1
        assert row["params"]["fused"] < row["params"]["train"]
    assert "wrote" in capsys.readouterr().out


def test_the_committed_cpu_result_is_a_full_one_threaded_run():
    result = page.load_result("cpu")
    assert result is not None and not result["quick"] and result["threads"] == 1
    assert {(r["case"], r["batch"]) for r in result["rows"]} == {
        (c, b) for c in ("conv_bn", "stage") for b in (1, 32)}
    assert result["load_average"]["before"] is not None


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_page_function_runs_in_both_languages(lang):
    names = [n for n in dir(page) if not n.startswith("_") and callable(getattr(page, n))
             and getattr(getattr(page, n), "__module__", "") == page.__name__
             and n in page.PAGE_FUNCTIONS]
    assert names
    for name in names:
        text = getattr(page, name)(lang)
        assert isinstance(text, str) and text.strip()

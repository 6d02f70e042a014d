"""DynamicConv2d against its definition: a per-sample loop, plain convs, the cost formulas."""

import json

import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch.utils.flop_counter import FlopCounterMode

from snippets import formulas
from snippets.dynamic import (
    DYNAMIC_STRATEGIES,
    DynamicConv2d,
    KernelAttention,
    dynamic_conv2d_loop,
    set_temperature,
    temperature_schedule,
)
from snippets.dynamic_bench import IMPLEMENTATIONS, main as bench_main

# the strategies DynamicConv2d can run (auto resolves to one of them per device)
CONCRETE = [s for s in DYNAMIC_STRATEGIES if s != "auto"]


@st.composite
def configs(draw):
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    return dict(
        in_channels=groups * draw(st.integers(1, 3)),
        out_channels=groups * draw(st.integers(1, 3)),
        kernel_size=draw(st.sampled_from([1, 3, (3, 1), (2, 3)])),
        stride=draw(st.sampled_from([1, 2, (1, 2)])),
        padding=draw(st.sampled_from([0, 1, 2])),
        dilation=draw(st.sampled_from([1, 2])),
        groups=groups,
        bias=draw(st.booleans()),
        num_kernels=draw(st.integers(1, 4)),
        reduction=draw(st.sampled_from([1, 2, 4])),
        temperature=draw(st.sampled_from([0.5, 1.0, 30.0])),
    ), dict(
        batch=draw(st.integers(1, 4)),
        size=draw(st.integers(6, 11)),
        channels_last=draw(st.booleans()),
    )


def make_input(shape, device, dtype, channels_last):
    x = torch.randn(*shape, device=device, dtype=dtype)
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


# the device fixture is an immutable torch.device: sharing it across examples is safe
@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(configs())
def test_output_and_gradients_equal_the_per_sample_loop(device, cfg):
    """Both strategies (and auto) against the plain definition, in float64 so the only
    differences are rounding: forward output and the gradients of x and every parameter."""
    kwargs, run = cfg
    conv = DynamicConv2d(**kwargs).to(device, torch.float64)
    # random attention weights, so the K kernels really get different shares
    torch.nn.init.normal_(conv.attention.fc2.weight, std=2.0)
    x = make_input((run["batch"], kwargs["in_channels"], run["size"], run["size"]),
                   device, torch.float64, run["channels_last"]).requires_grad_()
    expected = dynamic_conv2d_loop(conv, x)
    grad_out = torch.randn_like(expected)
    expected_grads = torch.autograd.grad(expected, [x, *conv.parameters()], grad_out)
    for strategy in DYNAMIC_STRATEGIES:
        conv.strategy = strategy
        y = conv(x)
        assert y.shape == expected.shape
        torch.testing.assert_close(y, expected)
        grads = torch.autograd.grad(y, [x, *conv.parameters()], grad_out)
        for got, want in zip(grads, expected_grads, strict=True):
            torch.testing.assert_close(got, want)


@pytest.mark.parametrize("strategy", DYNAMIC_STRATEGIES)
@pytest.mark.parametrize("channels_last", [False, True])
def test_float32_resnet_shape_batch_1_and_more(device, strategy, channels_last):
    """The benchmark's layer in float32, batch 1 and 3, both memory layouts."""
    conv = DynamicConv2d(64, 64, 3, padding=1, strategy=strategy).to(device)
    for batch in (1, 3):
        x = make_input((batch, 64, 14, 14), device, torch.float32, channels_last)
        y = conv(x)
        assert y.shape == (batch, 64, 14, 14)
        # 576-term dot products in float32: differences are rounding, ~1e-6 relative
        torch.testing.assert_close(y, dynamic_conv2d_loop(conv, x), rtol=1e-4, atol=1e-5)


def test_auto_strategy_picks_loop_only_for_channels_last_on_cpu(device):
    conv = DynamicConv2d(4, 4, 3).to(device)
    x = torch.randn(2, 4, 5, 5, device=device)
    x_cl = x.contiguous(memory_format=torch.channels_last)
    assert conv.resolved_strategy(x) == "grouped"
    assert conv.resolved_strategy(x_cl) == ("loop" if device.type == "cpu" else "grouped")
    conv.strategy = "loop"
    assert conv.resolved_strategy(x) == "loop"


@pytest.mark.parametrize("strategy", CONCRETE)
def test_one_kernel_is_a_plain_conv(device, strategy):
    """K = 1: softmax of one logit is 1, so the layer is nn.Conv2d with that kernel."""
    conv = DynamicConv2d(6, 8, 3, stride=2, padding=1, groups=2, num_kernels=1,
                         strategy=strategy).to(device, torch.float64)
    x = torch.randn(3, 6, 9, 9, device=device, dtype=torch.float64)
    expected = F.conv2d(x, conv.weight[0], conv.bias[0], stride=2, padding=1, groups=2)
    torch.testing.assert_close(conv(x), expected)


@pytest.mark.parametrize("strategy", CONCRETE)
def test_uniform_attention_is_a_conv_with_the_mean_kernel(device, strategy):
    conv = DynamicConv2d(4, 6, 3, padding=2, dilation=2, num_kernels=4,
                         strategy=strategy).to(device, torch.float64)
    x = torch.randn(2, 4, 8, 8, device=device, dtype=torch.float64)
    mean_conv = F.conv2d(x, conv.weight.mean(0), conv.bias.mean(0), padding=2, dilation=2)
    # zero logits: exactly uniform attention, for any input
    with torch.no_grad():
        conv.attention.fc2.weight.zero_()
        conv.attention.fc2.bias.zero_()
    torch.testing.assert_close(conv.attention(x), torch.full((2, 4), 0.25, device=device,
                                                             dtype=torch.float64))
    torch.testing.assert_close(conv(x), mean_conv)


def test_large_temperature_flattens_attention(device):
    """What annealing relies on: as tau grows the weights approach 1/K."""
    attention = KernelAttention(16, num_kernels=4).to(device)
    torch.nn.init.normal_(attention.fc2.weight, std=3.0)
    x = torch.randn(5, 16, 7, 7, device=device)
    spread = []
    for tau in (1.0, 30.0, 1e4):
        attention.temperature = tau
        pi = attention(x)
        torch.testing.assert_close(pi.sum(1), torch.ones(5, device=device))
        spread.append((pi - 0.25).abs().max().item())
    assert spread[0] > spread[1] > spread[2] and spread[2] < 1e-3


@settings(max_examples=25, deadline=None)
@given(configs())
def test_params_and_flops_match_the_formulas(cfg):
    kwargs, run = cfg
    conv = DynamicConv2d(**kwargs)
    x = make_input((run["batch"], kwargs["in_channels"], run["size"], run["size"]), "cpu",
                   torch.float32, run["channels_last"])
    keys = ("in_channels", "out_channels", "kernel_size", "groups", "bias", "num_kernels",
            "reduction")
    assert sum(p.numel() for p in conv.parameters()) == formulas.dynamic_conv2d_params(
        **{k: kwargs[k] for k in keys})
    out_size = [formulas.conv_output_size(run["size"], k, s, kwargs["padding"], kwargs["dilation"])
                for k, s in zip(conv.kernel_size, conv.stride)]
    macs = formulas.dynamic_conv2d_macs(**{k: kwargs[k] for k in keys},
                                        output_size=out_size, batch=run["batch"])
    for strategy in DYNAMIC_STRATEGIES:
        conv.strategy = strategy
        with FlopCounterMode(display=False) as counter:
            y = conv(x)
        assert tuple(y.shape[2:]) == tuple(out_size)
        assert counter.get_total_flops() == 2 * macs


def test_the_attention_mlp_width_comes_from_the_formula():
    for c, r in [(64, 4), (8, 4), (3, 1), (256, 16)]:
        attention = KernelAttention(c, reduction=r)
        assert attention.fc1.out_features == formulas.dynamic_attention_hidden(c, r)


def test_temperature_schedule_and_setter():
    assert temperature_schedule(0) == 30.0
    assert temperature_schedule(2.5) == pytest.approx(30 - 29 * 0.25)
    assert temperature_schedule(10) == temperature_schedule(50) == 1.0
    assert temperature_schedule(3, anneal_epochs=6, start=8, end=2) == 5.0
    model = torch.nn.Sequential(DynamicConv2d(3, 4, 3), torch.nn.ReLU(), DynamicConv2d(4, 4, 1))
    assert set_temperature(model, 12.0) == 2
    assert all(m.temperature == m.attention.temperature == 12.0
               for m in model if isinstance(m, DynamicConv2d))


@pytest.mark.parametrize("call, message", [
    (lambda: DynamicConv2d(8, 8, 3, num_kernels=0), "num_kernels must be a positive integer, got 0"),
    (lambda: DynamicConv2d(8, 8, 3, temperature=0), "temperature must be a finite number > 0, got 0"),
    (lambda: DynamicConv2d(8, 8, 3, temperature=-1.0), "temperature must be .* got -1.0"),
    (lambda: DynamicConv2d(6, 8, 3, groups=4), r"in_channels \(6\) must be divisible by groups \(4\)"),
    (lambda: DynamicConv2d(8, 6, 3, groups=4), r"out_channels \(6\) must be divisible by groups \(4\)"),
    (lambda: DynamicConv2d(8, 8, 3, reduction=0), "reduction must be a positive integer, got 0"),
    (lambda: DynamicConv2d(8, 8, 3, reduction=2.5), "reduction must be a positive integer, got 2.5"),
    (lambda: DynamicConv2d(8, 8, (3, 3, 3)), "kernel_size must be an int or a pair"),
    (lambda: DynamicConv2d(8, 8, 3, stride=0), r"stride must be >= 1, got \(0, 0\)"),
    (lambda: DynamicConv2d(8, 8, 3, strategy="fast"), "strategy must be one of"),
    (lambda: KernelAttention(8, num_kernels=0), "num_kernels must be a positive integer, got 0"),
    (lambda: setattr(DynamicConv2d(8, 8, 3), "temperature", float("inf")), "temperature"),
    (lambda: DynamicConv2d(8, 8, 3)(torch.randn(1, 4, 5, 5)), r"expected input \(B, 8, H, W\)"),
    (lambda: temperature_schedule(1, anneal_epochs=0), "anneal_epochs must be > 0, got 0"),
    (lambda: temperature_schedule(-1), "epoch must be >= 0, got -1"),
])
def test_bad_arguments_raise_clear_value_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_quick_benchmark_writes_valid_json(tmp_path, capsys):
    out = bench_main(["--quick", "--out", str(tmp_path / "bench.json")])
    result = json.loads(out.read_text())
    assert result["device"] == "cpu" and result["quick"] is True
    assert result["torch"] == torch.__version__ and result["threads"] >= 1
    assert result["device_name"] and "inference_mode" in result["mode"]
    rows = result["rows"]
    assert {(r["batch"], r["layout"]) for r in rows} == {
        (b, layout) for b in (1, 2) for layout in ("contiguous", "channels_last")}
    for row in rows:
        assert set(row["times"]) == set(IMPLEMENTATIONS)
        for t in row["times"].values():
            assert t["median_ms"] > 0 and t["iqr_ms"] >= 0 and t["runs"] >= 1
    assert "wrote" in capsys.readouterr().out

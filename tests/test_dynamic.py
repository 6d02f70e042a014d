"""The dynamic family (DynamicConv2d, CondConv2d, ODConv2d) against its definitions: per-sample
loops, plain convs, the cost formulas; the cuda_graph option against the default path."""

import json

import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch.utils.flop_counter import FlopCounterMode

from tests.conftest import flops

from snippets import formulas
from snippets.dynamic import (
    DYNAMIC_STRATEGIES,
    CondConv2d,
    DynamicConv2d,
    KernelAttention,
    ODConv2d,
    OmniAttention,
    condconv2d_loop,
    dynamic_conv2d_loop,
    odconv2d_loop,
    set_temperature,
    temperature_schedule,
)
from snippets.dynamic_bench import IMPLEMENTATIONS, PARTS, main as bench_main

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


# --- CondConv2d and ODConv2d -------------------------------------------------------------------
FAMILY = {"condconv": (CondConv2d, condconv2d_loop, "num_experts"),
          "odconv": (ODConv2d, odconv2d_loop, "kernel_num")}


def family_kwargs(name, kwargs):
    """The shared config drawn by ``configs`` for CondConv2d / ODConv2d."""
    kwargs = dict(kwargs)
    k = kwargs.pop("num_kernels")
    reduction, temperature = kwargs.pop("reduction"), kwargs.pop("temperature")
    if name == "odconv":
        return {**kwargs, "kernel_num": k, "reduction": reduction, "temperature": temperature}
    return {**kwargs, "num_experts": k}


def randomise_attention(conv):
    """Spread the attention weights so the K kernels (and every head) really differ."""
    for m in conv.modules():
        if isinstance(m, torch.nn.Linear):
            torch.nn.init.normal_(m.weight, std=1.5)
            torch.nn.init.normal_(m.bias, std=0.5)


@pytest.mark.parametrize("name", FAMILY)
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cfg=configs())
def test_family_output_and_gradients_equal_the_per_sample_loop(device, name, cfg):
    """Groups, stride 2, dilation 2, channels_last, batch 1 ... drawn by hypothesis; float64."""
    layer, loop, _ = FAMILY[name]
    kwargs, run = cfg
    conv = layer(**family_kwargs(name, kwargs)).to(device, torch.float64)
    randomise_attention(conv)
    x = make_input((run["batch"], kwargs["in_channels"], run["size"], run["size"]),
                   device, torch.float64, run["channels_last"]).requires_grad_()
    expected = loop(conv, x)
    y = conv(x)
    assert y.shape == expected.shape
    torch.testing.assert_close(y, expected)
    grad_out = torch.randn_like(expected)
    params = list(conv.parameters())
    want = torch.autograd.grad(expected, [x, *params], grad_out, allow_unused=True)
    got = torch.autograd.grad(y, [x, *params], grad_out, allow_unused=True)
    for g, w in zip(got, want, strict=True):
        torch.testing.assert_close(g, w)


@pytest.mark.parametrize("name", FAMILY)
@pytest.mark.parametrize("case", [
    dict(groups=1, stride=1, dilation=1, batch=1, channels_last=False),
    dict(groups=2, stride=2, dilation=1, batch=3, channels_last=True),
    dict(groups=4, stride=1, dilation=2, batch=2, channels_last=False),
    dict(groups=8, stride=2, dilation=2, batch=2, channels_last=True),   # depthwise
])
def test_family_named_cases(device, name, case):
    """The cases the issue names, spelled out (hypothesis draws the rest)."""
    layer, loop, kname = FAMILY[name]
    conv = layer(8, 8, 3, stride=case["stride"], padding=2, dilation=case["dilation"],
                 groups=case["groups"], bias=True, **{kname: 3}).to(device, torch.float64)
    randomise_attention(conv)
    x = make_input((case["batch"], 8, 9, 9), device, torch.float64, case["channels_last"])
    torch.testing.assert_close(conv(x), loop(conv, x))


def test_condconv_routing_is_sigmoid_without_sum_to_one(device):
    conv = CondConv2d(16, 8, 3, num_experts=4).to(device)
    randomise_attention(conv)
    r = conv.routing_weights(torch.randn(6, 16, 5, 5, device=device))
    assert r.shape == (6, 4) and bool(((r > 0) & (r < 1)).all())
    sums = r.sum(1)
    assert bool(((sums > 0) & (sums < 4)).all())
    assert not torch.allclose(sums, torch.ones_like(sums))   # not on the simplex


@pytest.mark.parametrize("bias", [False, True])
def test_condconv_one_expert_routing_one_is_a_static_conv(device, bias):
    """K = 1 and r = 1 (zero routing weights, a large bias: sigmoid(40) == 1.0 in float64)."""
    conv = CondConv2d(6, 4, 3, stride=2, padding=1, groups=2, bias=bias,
                      num_experts=1).to(device, torch.float64)
    with torch.no_grad():
        conv.routing.weight.zero_()
        conv.routing.bias.fill_(40.0)
    x = torch.randn(3, 6, 9, 9, device=device, dtype=torch.float64)
    expected = F.conv2d(x, conv.weight[0], conv.bias[0] if bias else None, stride=2,
                        padding=1, groups=2)
    torch.testing.assert_close(conv(x), expected, rtol=0, atol=0)


@pytest.mark.parametrize("bias", [False, True])
def test_odconv_one_kernel_attentions_one_is_a_static_conv(device, bias):
    """kernel_num = 1 (no kernel attention) and a_c = a_f = a_s = 1: nn.Conv2d's result."""
    conv = ODConv2d(6, 4, 3, stride=2, padding=2, dilation=2, groups=2, bias=bias,
                    kernel_num=1).to(device, torch.float64)
    assert conv.attention.kernel is None
    with torch.no_grad():
        for head in (conv.attention.channel, conv.attention.filter, conv.attention.spatial):
            head.weight.zero_()
            head.bias.fill_(40.0)
    x = torch.randn(3, 6, 9, 9, device=device, dtype=torch.float64)
    a_c, a_f, a_s, a_w = conv.attention(x)
    assert a_w is None and all(bool((a == 1).all()) for a in (a_c, a_f, a_s))
    expected = F.conv2d(x, conv.weight[0], conv.bias[0] if bias else None, stride=2,
                        padding=2, dilation=2, groups=2)
    torch.testing.assert_close(conv(x), expected)


def test_odconv_with_only_kernel_attention_is_a_softmax_mix(device):
    """a_c = a_f = a_s = 1 leaves ODConv's kernel attention: DyConv-style sum_k a_wk W_k."""
    conv = ODConv2d(8, 8, 3, padding=1, kernel_num=4).to(device, torch.float64)
    randomise_attention(conv)
    with torch.no_grad():
        for head in (conv.attention.channel, conv.attention.filter, conv.attention.spatial):
            head.weight.zero_()
            head.bias.fill_(40.0)
    x = torch.randn(2, 8, 7, 7, device=device, dtype=torch.float64)
    a_w = conv.attention(x)[3]
    torch.testing.assert_close(a_w.sum(1), torch.ones(2, device=device, dtype=torch.float64))
    expected = torch.cat([F.conv2d(x[b:b + 1], torch.einsum("k,koihw->oihw", a_w[b], conv.weight),
                                   padding=1) for b in range(2)])
    torch.testing.assert_close(conv(x), expected)


def test_odconv_heads_follow_the_authors_skips():
    dw = OmniAttention(16, 16, 3, groups=16, kernel_num=4)
    assert dw.filter is None and dw.spatial is not None      # depthwise: no filter attention
    pw = OmniAttention(16, 32, 1, kernel_num=1)
    assert pw.spatial is None and pw.kernel is None          # 1x1, one kernel
    assert OmniAttention(512, 512, 3).fc.out_features == formulas.odconv_attention_hidden(512)


def test_set_temperature_reaches_odconv_too():
    model = torch.nn.Sequential(ODConv2d(4, 4, 3), DynamicConv2d(4, 4, 3), CondConv2d(4, 4, 3))
    assert set_temperature(model, 5.0) == 2
    assert model[0].attention.temperature == 5.0


@settings(max_examples=20, deadline=None)
@given(configs())
def test_family_params_and_flops_match_the_formulas(cfg):
    kwargs, run = cfg
    x = make_input((run["batch"], kwargs["in_channels"], run["size"], run["size"]), "cpu",
                   torch.float32, run["channels_last"])
    base = {k: kwargs[k] for k in ("in_channels", "out_channels", "kernel_size", "groups",
                                   "bias")}
    out_size = [formulas.conv_output_size(run["size"], k, s, kwargs["padding"], kwargs["dilation"])
                for k, s in zip(formulas._pair("kernel_size", kwargs["kernel_size"]),
                                formulas._pair("stride", kwargs["stride"]))]
    K = kwargs["num_kernels"]
    cases = [
        (CondConv2d(**family_kwargs("condconv", kwargs)),
         formulas.condconv2d_params(**base, num_experts=K),
         formulas.condconv2d_macs(**base, num_experts=K, output_size=out_size,
                                  batch=run["batch"])),
        (ODConv2d(**family_kwargs("odconv", kwargs)),
         formulas.odconv2d_params(**base, kernel_num=K, reduction=kwargs["reduction"]),
         formulas.odconv2d_macs(**base, kernel_num=K, reduction=kwargs["reduction"],
                                output_size=out_size, batch=run["batch"])),
    ]
    for conv, params, macs in cases:
        assert sum(p.numel() for p in conv.parameters()) == params
        assert flops(conv, x) == 2 * macs
        assert tuple(conv(x).shape[2:]) == tuple(out_size)


@pytest.mark.parametrize("call, error, message", [
    (lambda: CondConv2d(8, 8, 3, num_experts=0), ValueError, "num_experts must be a positive"),
    (lambda: CondConv2d(8, 8, 3, num_experts=2.0), ValueError, "num_experts must be a positive"),
    (lambda: CondConv2d(6, 8, 3, groups=4), ValueError, r"in_channels \(6\) must be divisible"),
    (lambda: CondConv2d(8, 8, 3, dilation=0), ValueError, "dilation must be >= 1"),
    (lambda: CondConv2d(8, 8, 3, bias="no"), TypeError, "bias must be True or False"),
    (lambda: CondConv2d(8, 8, 3)(torch.randn(1, 3, 5, 5)), ValueError, r"expected input \(B, 8"),
    (lambda: CondConv2d(8, 8, 3)(torch.randn(8, 5, 5)), ValueError, r"expected input \(B, 8"),
    (lambda: ODConv2d(8, 8, 3, kernel_num=0), ValueError, "kernel_num must be a positive"),
    (lambda: ODConv2d(8, 8, 3, reduction=0), ValueError, "reduction must be a positive"),
    (lambda: ODConv2d(8, 8, 3, temperature=float("nan")), ValueError, "temperature must be"),
    (lambda: ODConv2d(8, 6, 3, groups=4), ValueError, r"in_channels \(8\)|out_channels \(6\)"),
    (lambda: ODConv2d(8, 8, (3, 3, 3)), ValueError, "kernel_size must be an int or a pair"),
    (lambda: ODConv2d(8, 8, 3, padding=-1), ValueError, "padding must be >= 0"),
    (lambda: ODConv2d(8, 8, 3)([1, 2]), TypeError, "x must be a tensor"),
    (lambda: setattr(ODConv2d(8, 8, 3), "temperature", 0), ValueError, "temperature"),
    (lambda: DynamicConv2d(8, 8, 3, cuda_graph=1), TypeError, "cuda_graph must be True or False"),
    (lambda: ODConv2d(8, 8, 3, cuda_graph="yes"), TypeError, "cuda_graph must be True or False"),
    (lambda: formulas.condconv2d_params(8, 8, 3, num_experts=0), ValueError, "num_experts"),
    (lambda: formulas.odconv2d_macs(8, 8, 3, 5, kernel_num=0), ValueError, "kernel_num"),
    (lambda: formulas.odconv2d_params(8, 8, 3, bias="no"), TypeError, "bias"),
    (lambda: formulas.dynamic_conv2d_macs(8, 8, 3, 5, num_kernels=0), ValueError, "num_kernels"),
])
def test_family_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call()


# --- the cuda_graph option ----------------------------------------------------------------------
@pytest.mark.parametrize("layer", [DynamicConv2d, CondConv2d, ODConv2d])
def test_cuda_graph_option_equals_the_default_path(device, layer):
    """On CUDA: graph replays (several inputs, two shapes, a temperature change, batch 1) equal
    the eager layer and do not alias each other; on the CPU the option runs the eager path."""
    torch.manual_seed(0)
    eager = layer(16, 16, 3, padding=1).to(device)
    fast = layer(16, 16, 3, padding=1, cuda_graph=True).to(device)
    fast.load_state_dict(eager.state_dict())
    outs = []
    with torch.inference_mode():
        for batch in (4, 4, 1, 4):
            x = torch.randn(batch, 16, 10, 10, device=device)
            want = eager(x)
            got = fast(x)
            torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
            outs.append((got, want))
        if hasattr(eager, "temperature"):
            eager.temperature = fast.temperature = 7.0
            x = torch.randn(4, 16, 10, 10, device=device)
            torch.testing.assert_close(fast(x), eager(x), rtol=1e-5, atol=1e-5)
    for got, want in outs:       # earlier results were not overwritten by later replays
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    if device.type == "cuda":
        assert len(fast._graphs) == 2 + hasattr(eager, "temperature")
    else:
        assert not fast._graphs
    # with autograd on, the option steps aside: gradients flow as usual
    x = torch.randn(2, 16, 10, 10, device=device, requires_grad=True)
    fast(x).sum().backward()
    assert x.grad is not None


def test_cuda_graph_is_used_only_on_gpu_without_autograd(device):
    conv = DynamicConv2d(4, 4, 3, cuda_graph=True).to(device)
    x = torch.randn(2, 4, 6, 6, device=device)
    assert not conv.use_cuda_graph(x)                          # autograd is on
    with torch.no_grad():
        assert conv.use_cuda_graph(x) == (device.type == "cuda")
    conv.cuda_graph = False
    with torch.no_grad():
        assert not conv.use_cuda_graph(x)


def test_quick_profile_writes_the_parts(tmp_path, capsys):
    out = bench_main(["--profile", "--quick", "--threads", "1",
                      "--out", str(tmp_path / "profile.json")])
    result = json.loads(out.read_text())
    rows = {(r["layer"], r["batch"]): r for r in result["rows"]}
    assert rows[("static", 1)]["ops_per_call"] == 1
    dyn = rows[("DynamicConv2d", 2)]
    assert set(dyn["parts"]) <= set(PARTS) and "other" not in dyn["parts"]
    assert {"pooling", "linears", "softmax / sigmoid", "kernel mixing",
            "convolution"} <= set(dyn["parts"])
    assert dyn["parts"]["convolution"]["ops"] == 1            # one grouped conv per call
    assert set(dyn["part_times"]) == {"pooling", "linears", "softmax / sigmoid",
                                      "kernel mixing", "convolution", "whole forward"}
    assert dyn["part_clock"] == "thread CPU time"
    assert rows[("ODConv2d", 2)]["ops_per_call"] > dyn["ops_per_call"] > rows[
        ("CondConv2d", 2)]["ops_per_call"]
    assert "wrote" in capsys.readouterr().out

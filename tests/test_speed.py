"""The speed benchmark and the speed page: the quick mode runs and writes a valid result, FLOPs
equal the formulas, and the page's tables and figures are regenerated from the result files
(with and without a GPU result) and show exactly their numbers."""

import copy
import json
import re
import subprocess
import sys

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from snippets import bench
from snippets.bench import LAYOUTS, MOBILENET_LAYERS, OPS, QUICK_LAYERS, Layer
from snippets.formulas import conv2d_macs, separable_cost_ratio, separable_macs
from tests.conftest import ROOT


# --- the benchmark ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def quick_runs(tmp_path_factory):
    """One ``--quick`` run per device, through the command line, cached for the module."""
    runs = {}

    def run(device: str):
        if device not in runs:
            out = tmp_path_factory.mktemp("bench") / f"{device}.json"
            proc = subprocess.run(
                [sys.executable, "-m", "snippets.bench", "--quick", "--device", device,
                 "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600)
            assert proc.returncode == 0, proc.stderr
            runs[device] = (out, proc.stderr)
        return runs[device]

    return run


def test_quick_mode_writes_a_valid_result_file(quick_runs, device):
    path, stderr = quick_runs(device.type)
    result = json.loads(path.read_text())
    bench.validate(result)                         # schema, grid, FLOPs = formulas
    assert result["mode"] == "quick" and result["device"]["type"] == device.type
    assert result["device"]["torch"] == torch.__version__ and result["device"]["name"]
    grid = len(QUICK_LAYERS) * len(result["settings"]["batches"]) * len(LAYOUTS) * len(OPS)
    assert len(result["measurements"]) == grid
    # one progress line per measurement, numbered, on stderr
    assert len(re.findall(rf"^\[ *\d+/{grid}\] ", stderr, re.M)) == grid
    if result["reuse"] is not None:             # CPU with glibc: the reused-memory pass
        assert device.type == "cpu"
        assert len(result["reuse"]["measurements"]) == grid // 2
        assert all(m["layout"] == "channels_last" for m in result["reuse"]["measurements"])
        assert len(re.findall(r"^\[ *\d+/\d+\] reused memory: ", stderr, re.M)) == grid // 2
    else:
        assert device.type == "cuda" or not bench.keep_freed_memory()
    for m in result["measurements"]:
        t = m["time"]
        assert t["runs"] >= 1 and t["calls_per_run"] >= 1
        assert 0 < t["min"] <= t["median"] <= t["max"] and t["iqr"] >= 0
    roof = result["roofline"]
    assert roof["matmul"]["flops_per_s"] == pytest.approx(
        roof["matmul"]["flops"] / roof["matmul"]["time"]["median"])
    assert roof["matmul"]["flops_per_s"] == max(m["flops_per_s"] for m in roof["matmuls"])
    assert roof["copy"]["bytes"] == roof["fresh_copy"]["bytes"] == 2 * 4 * roof["copy"]["numel"]


def test_validate_rejects_broken_results(quick_runs):
    result = json.loads(quick_runs("cpu")[0].read_text())
    broken = copy.deepcopy(result)
    broken["measurements"].pop()
    with pytest.raises(ValueError, match="do not cover the grid"):
        bench.validate(broken)
    broken = copy.deepcopy(result)
    broken["measurements"][0]["flops"] += 2
    with pytest.raises(ValueError, match="differ from snippets.formulas"):
        bench.validate(broken)
    broken = copy.deepcopy(result)
    del broken["roofline"]["copy"]["time"]["iqr"]
    with pytest.raises(ValueError, match="lacks"):
        bench.validate(broken)


@pytest.mark.parametrize("layer", MOBILENET_LAYERS, ids=lambda l: l.key)
@pytest.mark.parametrize("batch", [1, 32])
def test_flops_per_layer_equal_the_formulas(layer, batch):
    m, n, size = layer.in_channels, layer.out_channels, layer.size
    expected = {
        "standard": 2 * conv2d_macs(m, n, 3, size, batch=batch),
        "separable": 2 * separable_macs(m, n, 3, size, batch=batch),
        "depthwise": 2 * conv2d_macs(m, m, 3, size, groups=m, batch=batch),
        "pointwise": 2 * conv2d_macs(m, n, 1, size, batch=batch),
    }
    for op in OPS:
        assert bench.count_flops(op, layer, batch) == expected[op], op
        assert bench.formula_flops(op, layer, batch) == expected[op], op
    assert expected["standard"] / expected["separable"] == pytest.approx(
        1 / separable_cost_ratio(n, 3))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_ops_run_and_count_the_same_on_the_device(device, layout):
    layer = QUICK_LAYERS[1]
    x = bench.make_input(layer, 2, device, layout)
    for op in OPS:
        module = bench.build_op(op, layer, device, layout)
        with torch.inference_mode(), FlopCounterMode(display=False) as counter:
            y = module(x)
        assert y.shape == (2, layer.out_channels if op != "depthwise" else layer.in_channels,
                           layer.size, layer.size)
        assert counter.get_total_flops() == bench.formula_flops(op, layer, 2)
        if layout == "channels_last":
            assert y.is_contiguous(memory_format=torch.channels_last)


def test_layouts_compute_the_same_result(device):
    layer = QUICK_LAYERS[0]
    torch.manual_seed(0)
    block = bench.build_op("separable", layer, device)
    x = bench.make_input(layer, 2, device)
    # cuDNN may use TF32 by default, which rounds differently in each layout
    with torch.inference_mode(), torch.backends.cudnn.flags(enabled=True, allow_tf32=False):
        expected = block(x)
        block.to(memory_format=torch.channels_last)
        got = block(x.contiguous(memory_format=torch.channels_last))
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)


def test_minimal_traffic_model():
    layer, b = Layer(28, 256, 512), 4
    m, n, h = layer.in_channels, layer.out_channels, layer.size
    assert bench.traffic_bytes("standard", layer, b) == {
        "input": 4 * b * m * h * h, "weights": 4 * 9 * m * n, "output": 4 * b * n * h * h,
        "total": 4 * (b * m * h * h + 9 * m * n + b * n * h * h)}
    sep = bench.traffic_bytes("separable", layer, b)
    # the intermediate map is written by the depthwise conv and read by the pointwise conv
    assert sep["input"] == 4 * 2 * b * m * h * h and sep["output"] == 4 * b * (m + n) * h * h
    assert sep["weights"] == 4 * (9 * m + m * n)
    for layer in MOBILENET_LAYERS:
        for batch in (1, 32):
            dw = bench.count_flops("depthwise", layer, batch) / bench.traffic_bytes(
                "depthwise", layer, batch)["total"]
            assert 2.0 < dw < 9 / 4  # 18 B H^2 M / (4 (2 B H^2 M + 9 M)) -> 9/4


@pytest.mark.parametrize("call, message", [
    (lambda: bench.build_op("grouped", QUICK_LAYERS[0]), "op must be one of"),
    (lambda: bench.make_input(QUICK_LAYERS[0], 1, layout="nhwc"), "layout must be one of"),
    (lambda: bench.formula_flops("dilated", QUICK_LAYERS[0], 1), "op must be one of"),
    (lambda: bench.run("slow"), "mode must be one of"),
])
def test_bad_arguments_raise_clear_value_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_command_line_rejects_bad_threads():
    proc = subprocess.run([sys.executable, "-m", "snippets.bench", "--quick", "--threads", "0"],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode != 0 and "--threads must be at least 1, got 0" in proc.stderr


# --- the committed results and the page -----------------------------------------------------------
def test_committed_cpu_result_is_a_full_run():
    results = bench.load_results()
    assert "cpu" in results
    cpu = results["cpu"]
    assert cpu["mode"] == "full" and cpu["device"]["type"] == "cpu"
    assert [Layer(**d) for d in cpu["settings"]["layers"]] == list(MOBILENET_LAYERS)
    assert cpu["settings"]["batches"] == [1, 32]
    if "cuda" in results:
        assert results["cuda"]["mode"] == "full" and results["cuda"]["device"]["type"] == "cuda"


def fake_gpu(cpu: dict) -> dict:
    """A result shaped like a GPU's, made from the CPU's (only for testing the rendering)."""
    gpu = copy.deepcopy(cpu)
    gpu["device"].update(type="cuda", name="Test GPU 9000", cuda="12.x")
    gpu["reuse"] = None                      # the caching allocator needs no such pass
    for i, m in enumerate(gpu["measurements"]):
        for k in ("median", "mean", "min", "max", "iqr"):
            m["time"][k] /= 10 + i % 7          # different ratios from the CPU's
    return gpu


@pytest.fixture(params=["cpu only", "cpu and cuda"])
def results_dir(request, tmp_path, monkeypatch):
    """A copy of the committed results, with or without a (made-up) GPU result."""
    cpu = json.loads((bench.RESULTS_DIR / "cpu.json").read_text())
    (tmp_path / "cpu.json").write_text(json.dumps(cpu))
    if request.param == "cpu and cuda":
        (tmp_path / "cuda.json").write_text(json.dumps(fake_gpu(cpu)))
    monkeypatch.setattr(bench, "RESULTS_DIR", tmp_path)
    return tmp_path


def table_rows(markdown: str) -> list[list[str]]:
    rows = [[c.strip() for c in line.strip().strip("|").split("|")]
            for line in markdown.splitlines() if line.strip().startswith("|")]
    return [r for r in rows[2:]]            # without the header and the alignment row


def ratio_str(x: float) -> str:
    return f"{x:.2f}×" if x < 10 else f"{x:.1f}×"


def mark(result: dict, layer, batch, layout) -> str:
    """The page's † for a ratio whose standard or separable measurement is too wide."""
    t = {m["op"]: m["time"] for m in result["measurements"]
         if (m["layer"], m["batch"], m["layout"]) == (layer.key, batch, layout)}
    ok = all(t[op]["iqr"] <= bench.RELIABLE_SPREAD * t[op]["median"]
             for op in ("standard", "separable"))
    return "" if ok else "†"


def medians(result: dict) -> dict:
    return {(m["layer"], m["batch"], m["layout"], m["op"]): m["time"]["median"]
            for m in result["measurements"]}


def test_ratio_table_shows_the_result_files_ratios(results_dir):
    from sitegen.pages import speed
    cpu = json.loads((results_dir / "cpu.json").read_text())
    med = medians(cpu)
    for lang in ("zh", "en"):
        rows = table_rows(speed.ratio_table(lang))
        assert len(rows) == len(cpu["settings"]["layers"])
        for row, layer in zip(rows, cpu["settings"]["layers"]):
            layer = Layer(**layer)
            assert row[0] == layer.label
            assert row[1] == ratio_str(1 / (1 / layer.out_channels + 1 / 9))
            want = [ratio_str(med[(layer.key, b, lay, "standard")]
                              / med[(layer.key, b, lay, "separable")]) + mark(cpu, layer, b, lay)
                    for b in cpu["settings"]["batches"] for lay in ("nchw", "channels_last")]
            assert row[2:] == want


def test_gflops_table_and_details_show_the_result_files_numbers(results_dir):
    from sitegen.pages import speed
    cpu = json.loads((results_dir / "cpu.json").read_text())
    by_key = {(m["layer"], m["batch"], m["layout"], m["op"]): m for m in cpu["measurements"]}
    rows = table_rows(speed.gflops_table("en"))
    layers = [Layer(**d) for d in cpu["settings"]["layers"]]
    assert len(rows) == len(layers) * len(cpu["settings"]["batches"])
    for row in rows:
        layer = next(l for l in layers if l.label == row[0])
        batch = int(row[1])
        for col, op in ((2, "standard"), (3, "pointwise"), (4, "depthwise")):
            want = " / ".join(
                f"{by_key[(layer.key, batch, lay, op)]['flops'] / by_key[(layer.key, batch, lay, op)]['time']['median'] / 1e9:,.1f}"
                for lay in ("channels_last", "nchw"))
            assert row[col] == want, (row, op)
    details = speed.times_details("en")
    assert details.startswith('??? note "')
    assert len(table_rows(details)) == len(cpu["measurements"])
    for m in cpu["measurements"][:5]:
        assert f"{m['time']['runs']} × {m['time']['calls_per_run']}" in details


def test_allocation_table_shows_both_passes(results_dir):
    from sitegen.pages import speed
    cpu = json.loads((results_dir / "cpu.json").read_text())
    if cpu["reuse"] is None:
        assert "no reused-memory pass" in speed.allocation_table("en")
        return
    med, reuse = medians(cpu), {(m["layer"], m["batch"], m["op"]): m["time"]["median"]
                                for m in cpu["reuse"]["measurements"]}
    rows = table_rows(speed.allocation_table("en"))
    assert len(rows) == len(cpu["measurements"]) // 8
    for row in rows:
        layer = next(Layer(**d) for d in cpu["settings"]["layers"]
                     if Layer(**d).label == row[0])
        b = int(row[1])
        ratio = (ratio_str(med[(layer.key, b, "channels_last", "standard")]
                           / med[(layer.key, b, "channels_last", "separable")]) + " → "
                 + ratio_str(reuse[(layer.key, b, "standard")] / reuse[(layer.key, b, "separable")]))
        assert row[5] == ratio


def test_closing_quotes_every_layer_at_both_batches(results_dir):
    from sitegen.pages import speed
    results = bench.load_results()
    for lang in ("zh", "en"):
        text = speed.closing(lang)
        for name, result in results.items():
            med = medians(result)
            for d in result["settings"]["layers"]:
                layer = Layer(**d)
                line = next(l for l in text.splitlines()
                            if l.startswith(f"- {name.upper()} {layer.label}"))
                for b in result["settings"]["batches"]:
                    ratios = " / ".join(ratio_str(med[(layer.key, b, lay, "standard")]
                                                  / med[(layer.key, b, lay, "separable")])
                                        + mark(result, layer, b, lay)
                                        for lay in ("channels_last", "nchw"))
                    assert ratios in line, (line, b)


def test_gpu_section_awaits_a_run_or_shows_gpu_beside_cpu(results_dir):
    from sitegen.pages import speed
    has_gpu = (results_dir / "cuda.json").exists()
    for lang in ("zh", "en"):
        text = speed.gpu_section(lang)
        if not has_gpu:
            assert text.startswith("!!! info") and "cuda" in text
            assert "GFLOP/s" not in text and not re.search(r"\d+\.\d+×", text)
        else:
            gpu = json.loads((results_dir / "cuda.json").read_text())
            assert "Test GPU 9000" in text
            med = medians(gpu)
            rows = table_rows(text)
            layer, big = Layer(**gpu["settings"]["layers"][0]), gpu["settings"]["batches"][-1]
            ratio = ratio_str(med[(layer.key, big, "channels_last", "standard")]
                              / med[(layer.key, big, "channels_last", "separable")])
            assert rows[0][0] == layer.label and rows[0][-1].startswith(ratio)


def test_every_generated_piece_renders_in_both_languages(results_dir):
    from sitegen.pages import speed
    for name in speed.__all__:
        for lang in ("zh", "en"):
            text = getattr(speed, name)(lang)
            assert text and "nan" not in text and "inf" not in text.replace("info", ""), name


def bar_heights(ax) -> dict[str, list[float]]:
    return {c.get_label(): [p.get_height() for p in c.patches] for c in ax.containers}


def test_figures_are_drawn_from_the_result_files(results_dir):
    import matplotlib.pyplot as plt

    from sitegen.figures import STYLE
    from sitegen.figures import speed as figures
    results = bench.load_results()
    for lang in ("zh", "en"):
        with plt.rc_context(STYLE):
            fig = figures.fig_ratio(lang)
        assert len(fig.axes) == len(results)            # one panel per machine
        for ax, result in zip(fig.axes, results.values()):
            med = medians(result)
            heights = bar_heights(ax)
            layers = [Layer(**d) for d in result["settings"]["layers"]]
            for b in result["settings"]["batches"]:
                label = f"batch {b}, channels_last" if lang == "en" else f"批量 {b}，channels_last"
                assert heights[label] == pytest.approx(
                    [med[(l.key, b, "channels_last", "standard")]
                     / med[(l.key, b, "channels_last", "separable")] for l in layers])
        plt.close(fig)
        with plt.rc_context(STYLE):
            fig = figures.fig_roofline(lang)
        assert len(fig.axes) == len(results)
        for ax, result in zip(fig.axes, results.values()):
            points = {tuple(p) for c in ax.collections for p in c.get_offsets().tolist()}
            for m in result["measurements"]:
                if m["op"] == "separable":
                    continue
                point = (m["flops"] / m["bytes"]["total"], m["flops"] / m["time"]["median"] / 1e9)
                assert any(p == pytest.approx(point) for p in points), m["layer"]
            roof = result["roofline"]
            peak = roof["matmul"]["flops"] / roof["matmul"]["time"]["median"] / 1e9
            assert max(ax.lines[0].get_ydata()) == pytest.approx(peak)
        plt.close(fig)
        with plt.rc_context(STYLE):
            fig = figures.fig_breakdown(lang)
        assert len(fig.axes) == len(results) * 2
        plt.close(fig)


def test_figures_take_a_result_directly(quick_runs):
    """The notebook draws its own quick run with the same functions."""
    import matplotlib.pyplot as plt

    from sitegen.figures import STYLE
    from sitegen.figures import speed as figures
    result = json.loads(quick_runs("cpu")[0].read_text())
    for name in ("ratio", "roofline", "breakdown"):
        with plt.rc_context(STYLE):
            fig = getattr(figures, f"fig_{name}")("zh", results={"quick": result})
        assert fig.axes
        plt.close(fig)


# --- whole networks ------------------------------------------------------------------------------
from snippets import net_bench  # noqa: E402
from snippets.net_bench import StandardConvBlock, mobilenet_v1  # noqa: E402
from snippets.separable import MOBILENET_V1_BLOCKS, DepthwiseSeparableConv2d  # noqa: E402
from tests.conftest import flops  # noqa: E402


@pytest.mark.parametrize("block, cls", [("separable", DepthwiseSeparableConv2d),
                                        ("standard", StandardConvBlock)])
def test_networks_have_the_intended_structure(block, cls):
    net = mobilenet_v1(block).eval()
    children = list(net)
    assert len(children) == 1 + 13 + 3               # stem, 13 blocks, pool, flatten, fc
    assert isinstance(children[0][0], nn.Conv2d) and children[0][0].stride == (2, 2)
    blocks = children[1:14]
    assert all(isinstance(b, cls) for b in blocks)
    for b, (m, n, s) in zip(blocks, MOBILENET_V1_BLOCKS):
        convs = [c for c in b.modules() if isinstance(c, nn.Conv2d)]
        norms = [c for c in b.modules() if isinstance(c, nn.BatchNorm2d)]
        relus = [c for c in b.modules() if isinstance(c, nn.ReLU)]
        if block == "separable":   # depthwise 3x3 (groups = M, stride s), then pointwise 1x1
            assert [(c.in_channels, c.out_channels, c.kernel_size, c.stride, c.groups)
                    for c in convs] == [(m, m, (3, 3), (s, s), m), (m, n, (1, 1), (1, 1), 1)]
            assert len(norms) == len(relus) == 2
        else:                      # ONE standard 3x3 conv of the same shape and stride
            assert [(c.in_channels, c.out_channels, c.kernel_size, c.stride, c.groups)
                    for c in convs] == [(m, n, (3, 3), (s, s), 1)]
            assert len(norms) == len(relus) == 1
    assert isinstance(children[-1], nn.Linear) and children[-1].in_features == 1024
    sizes = []
    hooks = [b.register_forward_hook(lambda mod, i, o: sizes.append(o.shape[-1])) for b in blocks]
    with torch.inference_mode():
        assert net(torch.randn(1, 3, 224, 224)).shape == (1, 1000)
    for h in hooks:
        h.remove()
    assert sizes == [112, 56, 56, 28, 28, 14, 14, 14, 14, 14, 14, 7, 7]


def test_mobilenet_has_the_papers_multiply_adds_and_parameters(device):
    net = net_bench.build_network("mobilenet", device)
    macs = flops(net, torch.randn(1, 3, 224, 224, device=device)) // 2
    params = sum(p.numel() for p in net.parameters())
    assert macs == net_bench.count_macs("mobilenet") == net_bench.network_macs("separable")
    assert params == net_bench.count_params("mobilenet") == net_bench.network_params("separable")
    assert round(macs / 1e6) == 569 and round(params / 1e6, 1) == 4.2     # Howard et al., Table 1


def test_twin_has_the_formulas_multiply_adds_and_parameters():
    from snippets.formulas import conv2d_macs, conv2d_params
    macs, params = net_bench.count_macs("standard"), net_bench.count_params("standard")
    h, want_macs, want_params = 112, conv2d_macs(3, 32, 3, 112) + 1024 * 1000, 864 + 64 + 1025000
    for m, n, s in MOBILENET_V1_BLOCKS:
        h = (h + 2 - 3) // s + 1
        want_macs += conv2d_macs(m, n, 3, h)
        want_params += conv2d_params(m, n, 3, bias=False) + 2 * n      # conv + BN scale, shift
    assert macs == want_macs == net_bench.network_macs("standard")
    assert params == want_params == net_bench.network_params("standard")
    # the paper's Table 4 ("Conv MobileNet"): 4866 M multiply-adds, 29.3 M parameters
    assert abs(macs / 1e6 - 4866) < 2 and round(params / 1e6, 1) == 29.3
    # the ablations differ only by BN: no BN, no multiply-adds counted there either
    assert net_bench.count_macs("standard_conv") == macs


def test_network_counts_on_the_meta_device():
    calls = {n: net_bench.layer_calls(n) for n in ("mobilenet", "standard")}
    assert calls["mobilenet"]["conv"] == 1 + 2 * 13 and calls["standard"]["conv"] == 1 + 13
    assert calls["mobilenet"]["norm"] == calls["mobilenet"]["relu"] == 27
    b = net_bench.traffic_bytes("mobilenet")
    assert b["total"] == b["conv"] + b["bn_relu"] + b["other"]
    assert net_bench.traffic_bytes("mobilenet_conv")["bn_relu"] == 0


@pytest.mark.parametrize("call, error, message", [
    (lambda: mobilenet_v1("grouped"), ValueError, "block must be one of"),
    (lambda: mobilenet_v1(num_classes=0), ValueError, "num_classes"),
    (lambda: StandardConvBlock(0, 4), ValueError, "in_channels"),
    (lambda: StandardConvBlock(4, 4, kernel_size=2), ValueError, "kernel_size must be odd"),
    (lambda: net_bench.build_network("resnet"), ValueError, "name must be one of"),
    (lambda: net_bench.build_network("mobilenet", layout="nhwc"), ValueError, "layout"),
    (lambda: net_bench.run("slow"), ValueError, "mode must be one of"),
    (lambda: net_bench.run("quick", threads=[-1]), ValueError, "threads"),
])
def test_net_bench_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.fixture(scope="module")
def net_quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("net") / "net_cpu.json"
    proc = subprocess.run([sys.executable, "-m", "snippets.net_bench", "--quick", "--out",
                           str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return out, proc.stderr


def test_net_quick_mode_writes_a_valid_result_file(net_quick):
    path, stderr = net_quick
    result = net_bench.load_result(path)              # schema, counts = formulas, twins paired
    assert result["mode"] == "quick" and result["engine"] == "pytorch"
    assert result["load_average"]["before"] is not None
    names = {m["network"] for m in result["measurements"]}
    assert names == {"mobilenet", "standard", "mobilenet_conv", "standard_conv"}
    assert {m["layout"] for m in result["measurements"]} == set(net_bench.LAYOUTS)
    for m in result["measurements"]:
        assert m["clock"] == "thread CPU time" and m["threads"] == 1
        assert isinstance(m["time"]["reliable"], bool) and m["time"]["wall_mean"] > 0
    assert len(re.findall(r"^\[ *\d+\] ", stderr, re.M)) == len(result["measurements"])


def test_net_validate_and_merge(net_quick):
    result = json.loads(net_quick[0].read_text())
    broken = copy.deepcopy(result)
    broken["measurements"] = [m for m in broken["measurements"] if m["network"] != "standard"]
    with pytest.raises(ValueError, match="no twin"):
        net_bench.validate(broken)
    broken = copy.deepcopy(result)
    broken["networks"]["mobilenet"]["macs"] += 1
    with pytest.raises(ValueError, match="differ from snippets.formulas"):
        net_bench.validate(broken)
    other = copy.deepcopy(result)
    for m in other["measurements"]:
        m["threads"] = 2
    other["settings"]["threads"] = [2]
    merged = net_bench.merge_results([result, other])
    assert len(merged["measurements"]) == 2 * len(result["measurements"])
    assert merged["settings"]["threads"] == [1, 2] and len(merged["load_average"]["runs"]) == 2
    # a run stopped early keeps its complete pairs only
    partial = copy.deepcopy(result)
    partial["measurements"] = partial["measurements"][:-1]
    kept = net_bench._pairs_only(partial)
    assert len(kept["measurements"]) == len(result["measurements"]) - 2
    net_bench.validate(kept)


def synthetic_nets(base: dict, ratio: float, spread: float = 0.01,
                   device: str | None = None) -> dict:
    """A network result whose twin is exactly ``ratio`` times slower than MobileNet."""
    r = copy.deepcopy(base)
    if device:
        r["device"].update(type=device, name="Test GPU 9000")
        r["settings"]["dtypes"] = ["float32"]
    for m in r["measurements"]:
        tm = 0.010 * (ratio if m["network"].startswith("standard") else 1.0)
        m["time"].update(median=tm, min=tm * 0.99, max=tm * 1.01, iqr=spread * tm,
                         reliable=spread <= net_bench.RELIABLE_SPREAD)
    return r


@pytest.fixture
def net_dir(tmp_path, monkeypatch, net_quick):
    monkeypatch.setattr(net_bench, "RESULTS_DIR", tmp_path)
    base = json.loads(net_quick[0].read_text())
    base["settings"]["size"] = 224                    # counts as the committed file has them
    base["networks"] = json.loads((ROOT / "results/speed/net_cpu.json").read_text())["networks"]
    return tmp_path, base


@pytest.mark.parametrize("ratio, words", [(5.0, "the note's claim holds"),
                                          (2.0, "the note's claim does not hold"),
                                          (3.05, "cannot decide")])
def test_verdict_sentence_flips_with_the_data(net_dir, ratio, words):
    from sitegen.pages import speed
    tmp, base = net_dir
    (tmp / "net_cpu.json").write_text(json.dumps(synthetic_nets(base, ratio, spread=0.05)))
    text = speed.network_verdict("en")
    cpu_lines = [l for l in text.splitlines() if l.startswith("- **CPU")]
    assert cpu_lines and all(words in l for l in cpu_lines), text
    assert f"{ratio:.2f}×" in cpu_lines[0]
    zh = speed.network_verdict("zh")
    zh_words = {5.0: "笔记的说法成立", 2.0: "笔记的说法不成立", 3.05: "数据判断不了"}[ratio]
    assert zh_words in zh
    # without a GPU network result, the GPU line says so and gives the per-layer verdict
    assert "not been measured on a GPU yet" in text


@pytest.mark.parametrize("ratio, holds", [(0.9, True), (2.5, False)])
def test_gpu_verdict_flips_with_a_gpu_network_result(net_dir, ratio, holds):
    from sitegen.pages import speed
    tmp, base = net_dir
    (tmp / "net_cpu.json").write_text(json.dumps(synthetic_nets(base, 5.0)))
    (tmp / "net_cuda.json").write_text(json.dumps(synthetic_nets(base, ratio, device="cuda")))
    gpu = [l for l in speed.network_verdict("en").splitlines() if l.startswith("- **GPU")]
    assert gpu and all(("the note's claim holds" in l) == holds for l in gpu)
    assert "Test GPU 9000" in speed.network_gpu("en")


def test_unreliable_cells_are_marked(net_dir):
    from sitegen.pages import speed
    tmp, base = net_dir
    (tmp / "net_cpu.json").write_text(json.dumps(synthetic_nets(base, 5.0, spread=0.3)))
    table = speed.network_table("en")
    cells = [c for row in table_rows(table) for c in row[2:] if c != "–"]
    assert cells and all("†" in c for c in cells)
    (tmp / "net_cpu.json").write_text(json.dumps(synthetic_nets(base, 5.0, spread=0.02)))
    cells = [c for row in table_rows(speed.network_table("en")) for c in row[2:] if c != "–"]
    assert cells and not any("†" in c for c in cells)
    assert all(c.startswith("**5.00×**") for c in cells)


def test_committed_network_result_and_page_pieces():
    from sitegen.pages import speed
    result = net_bench.load_result(net_bench.RESULTS_DIR / "net_cpu.json")
    assert result["mode"] == "full" and result["settings"]["size"] == 224
    keys = {(m["batch"], m["layout"]) for m in result["measurements"]
            if m["network"] == "mobilenet" and m["threads"] == 1}
    assert {1, 8, 32} <= {b for b, _ in keys}
    for lang in ("zh", "en"):
        table = speed.network_table(lang)
        nets = speed._nets()
        row = next(r for r in table_rows(table) if r[1] == "channels_last")
        for b, cell in zip(nets.s["batches"], row[2:]):
            if cell != "–":
                assert cell.startswith(f"**{ratio_str(nets.ratio(b, 'channels_last', 1, 'float32', 'eager'))}**")
        closing = speed.network_closing(lang)
        assert ratio_str(nets.ratio(1, "channels_last", 1, "float32", "eager")) in closing


def test_network_figure_shows_the_ratios():
    import matplotlib.pyplot as plt

    from sitegen.figures import STYLE
    from sitegen.figures import speed as figures
    from sitegen.pages import speed
    nets = speed._nets()
    want = {round(nets.ratio(*k), 9) for k in nets.keys()}
    with plt.rc_context(STYLE):
        fig = figures.fig_network("en")
    heights = {round(p.get_height(), 9) for c in fig.axes[0].containers for p in c.patches}
    assert want <= heights
    plt.close(fig)

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
                              / med[(layer.key, b, lay, "separable")])
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

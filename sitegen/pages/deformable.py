"""Numbers and tables on the deformable convolution page: costs from ``snippets.deformable``,
timings from the committed benchmark results in ``results/deformable/<device>.json``, and the
exercise answers (computed with the same module)."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from sitegen.figures import t
from snippets.deformable import (
    deform_conv2d,
    deformable_conv2d_macs,
    deformable_conv2d_params,
    deformable_sampling_macs,
)
from snippets.formulas import conv2d_macs, conv2d_params

RESULTS = Path(__file__).resolve().parents[2] / "results" / "deformable"
TARGET_RATIO = 8     # the goal on CPU: within 8x of F.conv2d

# (name, output size, channels): the 3x3 convs of ResNet-50's stages (DCNv2 makes conv3-conv5
# deformable), and the benchmark's layer
LAYERS = [
    ("ResNet-50 conv2_x", 56, 64),
    ("ResNet-50 conv3_x", 28, 128),
    ("ResNet-50 conv4_x", 14, 256),
    ("ResNet-50 conv5_x", 7, 512),
]


def _si(n: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= scale:
            value = n / scale
            return f"{value:.2f} {unit}" if value < 10 else f"{value:.1f} {unit}"
    return str(int(n))


def _pct(new: int, old: int) -> str:
    return f"+{100 * (new - old) / old:.1f}%"


def layer_costs(size: int, channels: int) -> dict:
    """Plain / v1 / v2 parameters and multiply-adds of a bias-free 3x3 layer, per image."""
    c = channels
    return {
        "params": (conv2d_params(c, c, 3, bias=False),
                   deformable_conv2d_params(c, c, 3, bias=False, modulated=False),
                   deformable_conv2d_params(c, c, 3, bias=False, modulated=True)),
        "macs": (conv2d_macs(c, c, 3, size),
                 deformable_conv2d_macs(c, c, 3, size, modulated=False),
                 deformable_conv2d_macs(c, c, 3, size, modulated=True)),
        "sampling": deformable_sampling_macs(c, 3, size),
    }


def cost_table(lang: str) -> str:
    head = t(lang, "| 层（3×3，输出尺寸） | 参数量：普通 → v1 → v2 | 乘加（矩阵乘）：普通 → v1 → v2 | 双线性采样乘加 |",
             "| layer (3×3, output size) | parameters: plain → v1 → v2 | multiply-adds (matrix products): plain → v1 → v2 | bilinear sampling multiply-adds |")
    rows = [head, "|---|--:|--:|--:|"]
    for name, size, c in LAYERS:
        cost = layer_costs(size, c)
        p0, p1, p2 = cost["params"]
        m0, m1, m2 = cost["macs"]
        rows.append(f"| {name}, {c}→{c}, {size}×{size} | {_si(p0)} → {_si(p1)} ({_pct(p1, p0)}) "
                    f"→ {_si(p2)} ({_pct(p2, p0)}) | {_si(m0)} → {_si(m1)} ({_pct(m1, m0)}) → "
                    f"{_si(m2)} ({_pct(m2, m0)}) | {_si(cost['sampling'])} |")
    return "\n".join(rows)


def branch_share(lang: str) -> str:
    """The offset branch's share: 2GK/C (v1) or 3GK/C (v2) of the main convolution, in
    parameters and in multiply-adds alike, whatever the feature map size."""
    cost = layer_costs(56, 64)
    p0, p1, p2 = cost["params"]
    m0, m1, m2 = cost["macs"]
    big = layer_costs(7, 512)["macs"]
    return t(lang,
             f"偏移分支相对主卷积的比例，参数和乘加都是 $2GK/C_{{\\text{{out}}}}$（v1）或 "
             f"$3GK/C_{{\\text{{out}}}}$（v2），与特征图大小无关：$C=64$ 时参数 {_pct(p1, p0)} / "
             f"{_pct(p2, p0)}、乘加 {_pct(m1, m0)} / {_pct(m2, m0)}；$C=512$ 时乘加只多 "
             f"{_pct(big[1], big[0])} / {_pct(big[2], big[0])}。",
             f"The offset branch costs $2GK/C_{{\\text{{out}}}}$ (v1) or $3GK/C_{{\\text{{out}}}}$ "
             f"(v2) of the main convolution, in parameters and multiply-adds alike, whatever the "
             f"feature map size: at $C=64$ {_pct(p1, p0)} / {_pct(p2, p0)} parameters and "
             f"{_pct(m1, m0)} / {_pct(m2, m0)} multiply-adds; at $C=512$ only "
             f"{_pct(big[1], big[0])} / {_pct(big[2], big[0])} multiply-adds.")


# --- benchmark results ---------------------------------------------------------------------
def load_result(device: str) -> dict | None:
    path = RESULTS / f"{device}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _ms(value: float) -> str:
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


NAMES = {
    "conv2d": ("`F.conv2d`（下限）", "`F.conv2d` (the lower bound)"),
    "deform_v1": ("`deform_conv2d`，无掩码（v1）", "`deform_conv2d`, no mask (v1)"),
    "deform_v2": ("`deform_conv2d`，带掩码（v2）", "`deform_conv2d` with a mask (v2)"),
    "sampling": ("其中：采样（位置 + 双线性收集）", "of which: sampling (positions + bilinear gather)"),
    "contraction": ("其中：列张量与权重的矩阵乘", "of which: the columns times the weight"),
}


def benchmark_table(result: dict, lang: str) -> str:
    head = t(lang, "| 实现 | 中位数 ms（IQR） | 相对 `F.conv2d` |",
             "| implementation | median ms (IQR) | relative to `F.conv2d` |")
    rows = [head, "|---|--:|--:|"]
    for name, (zh, en) in NAMES.items():
        tm = result["times"][name]
        rows.append(f"| {t(lang, zh, en)} | {_ms(tm['median_ms'])} ({_ms(tm['iqr_ms'])}) "
                    f"| **{result['ratios'][name]:.2f}×** |")
    return "\n".join(rows)


def machine_sentence(result: dict, lang: str) -> str:
    load = result.get("load_average") or {}
    before, after = ((load.get(k) or [None])[0] for k in ("before", "after"))
    load_text = "" if before is None else t(
        lang, f"测量前后 1 分钟平均负载为 {before:.1f} 和 {after:.1f}（{result['cpu_count']} 个逻辑核，"
              "机器与其他进程共用，数字有噪声）。",
        f"The 1-minute load average was {before:.1f} before and {after:.1f} after "
        f"({result['cpu_count']} logical cores, shared with other processes: the numbers are "
        "noisy).")
    cfg = result["config"]
    shape = (f"{cfg['in_channels']}→{cfg['out_channels']}, {cfg['size']}×{cfg['size']}, "
             f"{cfg['kernel_size']}×{cfg['kernel_size']}, batch {cfg['batch']}")
    clock = t(lang, "线程 CPU 时间" if result["clock"] == "thread CPU time" else "墙上时间",
              result["clock"])
    return t(
        lang,
        f"测量环境：{result['device_name']}，PyTorch {result['torch']}，{result['threads']} 个线程，"
        f"{clock}，{result['mode'].replace('float32', 'float32 精度')}，形状 {shape.replace('batch', '批大小')}，"
        f"偏移为标准差 1 像素的随机数，测量于 {result['measured_at'][:10]}。{load_text}",
        f"Measured on {result['device_name']} with PyTorch {result['torch']}, "
        f"{result['threads']} thread{'s' if result['threads'] > 1 else ''}, {clock}, "
        f"{result['mode']}, shape {shape}, random offsets with a standard deviation of 1 pixel, "
        f"on {result['measured_at'][:10]}. {load_text}")


def summary_sentence(result: dict, lang: str) -> str:
    r = result["ratios"]
    within = r["deform_v2"] <= TARGET_RATIO
    sampling_share = result["times"]["sampling"]["median_ms"] / result["times"]["deform_v2"]["median_ms"]
    return t(lang,
             f"`deform_conv2d` 需要 `F.conv2d` 的 {r['deform_v1']:.2f} 倍（v1）和 {r['deform_v2']:.2f} 倍"
             f"（v2）时间，{'在' if within else '没有达到'}“不超过 {TARGET_RATIO} 倍”的目标{'之内' if within else ''}。"
             f"采样一步约占 v2 时间的 {100 * sampling_share:.0f}%；单独的矩阵乘是 `F.conv2d` 的 "
             f"{r['contraction']:.2f} 倍。",
             f"`deform_conv2d` takes {r['deform_v1']:.2f}× (v1) and {r['deform_v2']:.2f}× (v2) the "
             f"time of `F.conv2d`, {'within' if within else 'outside'} the goal of at most "
             f"{TARGET_RATIO}×. Sampling is about {100 * sampling_share:.0f}% of v2's time; the "
             f"matrix product alone takes {r['contraction']:.2f}× `F.conv2d`.")


def _benchmark(device: str, lang: str) -> str:
    result = load_result(device)
    if result is None:
        return t(lang,
                 f"`results/deformable/{device}.json` 还不存在：这张表等待一次 "
                 f"`python -m snippets.deformable_bench --device {device}` 的运行结果，"
                 "这里不填任何估计的数字。",
                 f"`results/deformable/{device}.json` does not exist yet: this table awaits a "
                 f"run of `python -m snippets.deformable_bench --device {device}`; no estimated "
                 "numbers are shown in its place.")
    return "\n\n".join([machine_sentence(result, lang), benchmark_table(result, lang),
                        summary_sentence(result, lang)])


def cpu_benchmark(lang: str) -> str:
    return _benchmark("cpu", lang)


def gpu_benchmark(lang: str) -> str:
    return _benchmark("cuda", lang)


def cpu_ratio(lang: str) -> str:
    result = load_result("cpu")
    if result is None:
        return t(lang, "（尚未测量）", "(not measured yet)")
    return f"{result['ratios']['deform_v2']:.2f}×"


# --- exercise answers ----------------------------------------------------------------------
def sample_at(dy: float, dx: float) -> tuple[float, float]:
    """Exercise 2: value and d value / d dy at one sample of the 2x2 image [[1, 2], [3, 4]]
    (output position (0, 0), 1x1 kernel of weight 1), from deform_conv2d and autograd."""
    x = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]], dtype=torch.float64)
    offset = torch.zeros(1, 2, 2, 2, dtype=torch.float64)
    offset[0, 0, 0, 0], offset[0, 1, 0, 0] = dy, dx
    offset.requires_grad_()
    y = deform_conv2d(x, offset, torch.ones(1, 1, 1, 1, dtype=torch.float64))[0, 0, 0, 0]
    (grad,) = torch.autograd.grad(y, offset)
    return y.item(), grad[0, 0, 0, 0].item()


def exercise_sample(lang: str) -> str:
    v, g = sample_at(-0.25, 0.5)
    return t(lang, f"值为 {v:g}，对 $\\Delta y$ 的导数为 {g:g}",
             f"the value is {v:g} and its derivative with respect to $\\Delta y$ is {g:g}")


def exercise_params(lang: str) -> str:
    p0 = conv2d_params(64, 64, 3, bias=False)
    p1 = deformable_conv2d_params(64, 64, 3, bias=False, modulated=False)
    p2 = deformable_conv2d_params(64, 64, 3, bias=False, modulated=True)
    return t(lang, f"普通卷积 {p0}，v1 {p1}（多 {p1 - p0}），v2 {p2}（多 {p2 - p0}）",
             f"plain {p0}, v1 {p1} ({p1 - p0} more), v2 {p2} ({p2 - p0} more)")

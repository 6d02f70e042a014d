"""Numbers and tables on the 1-D, causal and 3-D convolution page, from ``snippets.formulas``
(``tests/test_conv1d3d.py`` checks each against torch)."""

from __future__ import annotations

from functools import lru_cache

from torch import nn

from sitegen.figures import t
from snippets.conv1d3d import Conv2Plus1d
from snippets.formulas import (conv2plus1d_macs, conv2plus1d_mid_channels, conv2plus1d_params,
                               conv3d_macs, conv3d_output_shape, conv3d_params,
                               receptive_field)

CAUSAL_FIGURE_DILATIONS = (1, 2, 4, 8)
CAUSAL_FIGURE_LENGTH = 16
WAVENET_LAYERS = (1, 2, 3, 4, 6, 8, 10)
VIDEO = (64, 16, 56, 56)              # C3D's conv2a input: 64 channels, 16 frames of 56x56
CLIP = (3, 16, 112, 112)              # exercise 1: a 16-frame RGB clip
CLIP_CONV = dict(out_channels=64, kernel_size=(3, 7, 7), stride=(1, 2, 2), padding=(1, 3, 3))


def _t(lang, zh, en):
    return t(lang, zh, en)


# --- causal ------------------------------------------------------------------------------------
def wavenet_rows() -> list[dict]:
    rows = []
    for layers in WAVENET_LAYERS:
        dilations = [2**i for i in range(layers)]
        rows.append(dict(layers=layers, dilations=dilations,
                         rf=receptive_field([(2, 1, d) for d in dilations])))
    return rows


def wavenet_table(lang: str) -> str:
    head = _t(lang, "| 层数 | 空洞率 | 感受野（时间步） |",
              "| layers | dilations | receptive field (steps) |")
    rows = [head, "|--:|---|--:|"]
    for r in wavenet_rows():
        d = r["dilations"]
        shown = ", ".join(map(str, d)) if len(d) <= 4 else f"1, 2, 4, …, {d[-1]}"
        rows.append(f"| {r['layers']} | {shown} | {r['rf']:,} |")
    return "\n".join(rows)


def wavenet_repeated(lang: str) -> str:
    one = [(2, 1, 2**i) for i in range(10)]
    three = receptive_field(one * 3)
    return _t(lang, f"WaveNet 把 1, 2, …, 512 这一组重复几次；重复三次时感受野是 {three:,} 个时间步"
                    f"（每多一组只加 {receptive_field(one) - 1:,}）。",
              f"WaveNet repeats the group 1, 2, …, 512 a few times; three groups see {three:,} "
              f"steps (each further group adds only {receptive_field(one) - 1:,}).")


def causal_figure_reach() -> set[int]:
    """Input steps the last output of the figure's stack reaches (kernel 2: t and t - d)."""
    reached = {CAUSAL_FIGURE_LENGTH - 1}
    for d in reversed(CAUSAL_FIGURE_DILATIONS):
        reached = {s for t_ in reached for s in (t_, t_ - d) if s >= 0}
    return reached


# --- 3-D ---------------------------------------------------------------------------------------
def conv3d_rows(device: str = "meta") -> list[dict]:
    c, *size = VIDEO
    rows = []
    full = conv3d_output_shape(size, 3, padding=1)
    rows.append(dict(
        name=("3×3×3 卷积（C3D conv2a）", "3×3×3 conv (C3D conv2a)"),
        code="Conv3d(64, 128, 3, padding=1)",
        module=nn.Conv3d(c, 128, 3, padding=1, bias=False, device=device),
        output=(128, *full), params=conv3d_params(c, 128, 3, bias=False),
        macs=conv3d_macs(c, 128, 3, full)))
    frame = conv3d_output_shape(size, (1, 3, 3), padding=(0, 1, 1))
    rows.append(dict(
        name=("逐帧 2-D 卷积（1×3×3）", "2-D conv per frame (1×3×3)"),
        code="Conv3d(64, 128, (1, 3, 3), padding=(0, 1, 1))",
        module=nn.Conv3d(c, 128, (1, 3, 3), padding=(0, 1, 1), bias=False, device=device),
        output=(128, *frame), params=conv3d_params(c, 128, (1, 3, 3), bias=False),
        macs=conv3d_macs(c, 128, (1, 3, 3), frame)))
    mid = conv2plus1d_mid_channels(c, 128, 3, 3)
    rows.append(dict(
        name=(f"(2+1)-D，M = {mid}", f"(2+1)-D, M = {mid}"),
        code="Conv2Plus1d(64, 128, 3, padding=1)",
        module=Conv2Plus1d(c, 128, 3, padding=1, bias=False).to(device),
        output=(128, *full), params=conv2plus1d_params(c, 128, 3, 3, bias=False),
        macs=conv2plus1d_macs(c, 128, 3, 3, size, padding=1)))
    return rows


def conv3d_table(lang: str) -> str:
    c, *size = VIDEO
    head = _t(lang, "| 层 | 代码（`bias=False`） | 输出 | 参数量 | 乘加次数 |",
              "| layer | code (`bias=False`) | output | parameters | multiply-adds |")
    rows = [head, "|---|---|---|--:|--:|"]
    i = 0 if lang == "zh" else 1
    for r in conv3d_rows():
        rows.append(f"| {r['name'][i]} | `{r['code']}` | {'×'.join(map(str, r['output']))} "
                    f"| {r['params']:,} | {r['macs']:,} |")
    return "\n".join(rows)


def video_input(lang: str) -> str:
    return "×".join(map(str, VIDEO))


def mid_64(lang: str) -> str:
    return str(conv2plus1d_mid_channels(64, 64, 3, 3))


def params_64(lang: str) -> str:
    return f"{conv3d_params(64, 64, 3, bias=False):,}"


@lru_cache(maxsize=1)
def exercise_values() -> dict:
    c, *size = CLIP
    out = conv3d_output_shape(size, CLIP_CONV["kernel_size"], CLIP_CONV["stride"],
                              CLIP_CONV["padding"])
    v = dict(ex1_out=out,
             ex1_params=conv3d_params(c, CLIP_CONV["out_channels"], CLIP_CONV["kernel_size"]),
             ex1_macs=conv3d_macs(c, CLIP_CONV["out_channels"], CLIP_CONV["kernel_size"], out))
    v["ex4_k"], v["ex4_dilations"] = 3, [1, 2, 4, 8]
    v["ex4_rf"] = receptive_field([(3, 1, d) for d in v["ex4_dilations"]])
    v["ex4_rf_k2"] = receptive_field([(2, 1, d) for d in v["ex4_dilations"]])
    mid = conv2plus1d_mid_channels(64, 128, 3, 3)
    v["ex5_mid"] = mid
    v["ex5_params"] = conv2plus1d_params(64, 128, 3, 3, bias=False)
    v["ex5_full"] = conv3d_params(64, 128, 3, bias=False)
    return v


def ex1_answer(lang: str) -> str:
    v = exercise_values()
    d, h, w = v["ex1_out"]
    return _t(lang,
              f"时间轴：$\\lfloor (16 + 2 - 3)/1 \\rfloor + 1 = {d}$；空间：$\\lfloor (112 + 6 - 7)/2 \\rfloor + 1 = {h}$。"
              f"输出 64×{d}×{h}×{w}；参数 $64 \\cdot 3 \\cdot 3 \\cdot 7 \\cdot 7 + 64 = {v['ex1_params']:,}$；"
              f"乘加 {v['ex1_macs']:,} 次。",
              f"Time: $\\lfloor (16 + 2 - 3)/1 \\rfloor + 1 = {d}$; space: $\\lfloor (112 + 6 - 7)/2 \\rfloor + 1 = {h}$. "
              f"Output 64×{d}×{h}×{w}; parameters $64 \\cdot 3 \\cdot 3 \\cdot 7 \\cdot 7 + 64 = {v['ex1_params']:,}$; "
              f"{v['ex1_macs']:,} multiply-adds.")


def ex2_answer(lang: str) -> str:
    v = exercise_values()
    return _t(lang,
              f"每层加 $d\\,(k-1) = 2d$ 步：$1 + 2\\,(1+2+4+8) = {v['ex4_rf']}$。"
              f"核为 2 时只有 {v['ex4_rf_k2']}。",
              f"Each layer adds $d\\,(k-1) = 2d$ steps: $1 + 2\\,(1+2+4+8) = {v['ex4_rf']}$. "
              f"With kernel 2 it is only {v['ex4_rf_k2']}.")


def ex3_answer(lang: str) -> str:
    v = exercise_values()
    return _t(lang,
              f"$M = \\lfloor 27 \\cdot 64 \\cdot 128 / (9 \\cdot 64 + 3 \\cdot 128) \\rfloor = {v['ex5_mid']}$，"
              f"权重 $9 \\cdot 64 \\cdot {v['ex5_mid']} + 3 \\cdot {v['ex5_mid']} \\cdot 128 = "
              f"{v['ex5_params']:,}$，比 3×3×3 卷积的 {v['ex5_full']:,} 少 "
              f"{v['ex5_full'] - v['ex5_params']:,} 个（向下取整造成的差）。",
              f"$M = \\lfloor 27 \\cdot 64 \\cdot 128 / (9 \\cdot 64 + 3 \\cdot 128) \\rfloor = {v['ex5_mid']}$, "
              f"so $9 \\cdot 64 \\cdot {v['ex5_mid']} + 3 \\cdot {v['ex5_mid']} \\cdot 128 = "
              f"{v['ex5_params']:,}$ weights, {v['ex5_full'] - v['ex5_params']:,} fewer than the "
              f"3×3×3 conv's {v['ex5_full']:,} (the rounding down).")

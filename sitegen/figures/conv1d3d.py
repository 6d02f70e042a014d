"""Figure for the 1-D, causal and 3-D convolution page: a causal dilated stack."""

import matplotlib.pyplot as plt

from sitegen.figures import t
from sitegen.pages.conv1d3d import (CAUSAL_FIGURE_DILATIONS, CAUSAL_FIGURE_LENGTH,
                                    causal_figure_reach)

TAP = "#f5a25d"
EDGE = "#333333"


# --- causal stack ------------------------------------------------------------------------------
def fig_causal(lang: str):
    """Causal convs, kernel 2, dilations 1, 2, 4, 8: the last output sees 16 past steps."""
    dilations, length = CAUSAL_FIGURE_DILATIONS, CAUSAL_FIGURE_LENGTH
    levels = len(dilations) + 1
    # nodes on the path of the last output, level by level from the top
    on_path = [{length - 1}]
    for d in reversed(dilations):
        on_path.append({s for t_ in on_path[-1] for s in (t_, t_ - d) if s >= 0})
    on_path = list(reversed(on_path))          # index 0: the input
    assert on_path[0] == causal_figure_reach()
    fig, ax = plt.subplots(figsize=(10.0, 4.0))
    for level in range(1, levels):
        d = dilations[level - 1]
        for t_ in range(length):
            for src in (t_, t_ - d):
                if src < 0:
                    continue
                hot = t_ in on_path[level] and src in on_path[level - 1]
                ax.plot([src, t_], [level - 1, level], color="#d9534f" if hot else "#cccccc",
                        lw=1.6 if hot else 0.7, zorder=2 if hot else 1)
    for level in range(levels):
        for t_ in range(length):
            hot = t_ in on_path[level]
            ax.scatter([t_], [level], s=46, zorder=3, edgecolors=EDGE, linewidths=0.6,
                       color=("#d9534f" if level == levels - 1 else TAP) if hot else "#ffffff")
        label = t(lang, "输入", "input") if level == 0 else f"d = {dilations[level - 1]}"
        if level == levels - 1:
            label = t(lang, f"输出，{label}", f"output, {label}")
        ax.text(-0.9, level, label, ha="right", va="center", fontsize=10)
    ax.annotate(t(lang, "时间 →", "time →"), (length - 1, -0.75), ha="right", fontsize=10)
    ax.set_xlim(-3.2, length)
    ax.set_ylim(-0.9, levels - 0.4)
    ax.set_axis_off()
    ax.set_title(t(lang, f"因果卷积（核 2，只在左侧填充），空洞率逐层翻倍：最上面的输出依赖 "
                         f"{len(on_path[0])} 个时间步（它自己和之前的 {len(on_path[0]) - 1} 个）",
                   f"Causal convs (kernel 2, padded on the left only), dilation doubling: the top "
                   f"output depends on {len(on_path[0])} steps (its own and "
                   f"{len(on_path[0]) - 1} before)"), fontsize=10.5)
    return fig

"""Figures for the pages, drawn from code.

Each module here defines functions ``fig_<name>(lang: str) -> matplotlib.figure.Figure``;
``lang`` is ``"zh"`` or ``"en"`` and chooses the words on the figure. ``write_all`` (called
by ``hooks/generated.py`` at every build) saves each as
``docs/assets/figures/<module>_<name>_<lang>.svg``; a page shows it with
``![alt text](assets/figures/<module>_<name>_zh.svg)`` (``_en`` on the English twin).
"""

from __future__ import annotations

import importlib
import io
import pkgutil
import re
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import font_manager  # noqa: E402

__all__ = ["LANGS", "STYLE", "figure_functions", "render_svg", "write_all", "t", "text_colour", "ink"]

LANGS = ("zh", "en")
CJK_FONTS = ("WenQuanYi Micro Hei", "Noto Sans CJK SC")

# Text stays text in the SVG (the reader's browser draws it with its own fonts, CJK
# included); the hash salt and the missing date make the bytes reproducible.
STYLE = {
    "svg.fonttype": "none",
    "svg.hashsalt": "conv-atlas",
    "font.family": "sans-serif",
    "font.sans-serif": [*CJK_FONTS, "DejaVu Sans"],
    "font.size": 11,
    "axes.unicode_minus": False,
    "figure.dpi": 100,
}


def register_cjk_fonts() -> None:
    """Make sure matplotlib knows the installed CJK font, even with a font cache written before
    the font was installed (matplotlib does not rescan): otherwise the Chinese words of a label
    that also holds math (``"$M$ 个通道"``) are drawn as dummy symbols (¤), since mathtext takes
    them from the first font it finds. tests/test_accessibility.py checks every figure."""
    known = {entry.name for entry in font_manager.fontManager.ttflist}
    if known.intersection(CJK_FONTS):
        return
    for path in font_manager.findSystemFonts():
        if any(word in Path(path).name.lower() for word in ("wqy", "microhei", "notosanscjk")):
            font_manager.fontManager.addfont(path)


register_cjk_fonts()


def text_colour(background) -> str:
    """Near-black or white, whichever reads better on ``background`` (labels on coloured
    cells: WCAG asks 4.5:1; tests/test_accessibility.py measures every figure's text)."""
    from matplotlib.colors import to_rgb

    def luminance(rgb):
        c = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in rgb]
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]

    lum = luminance(to_rgb(background))
    on_white = 1.05 / (lum + 0.05)
    on_dark = (lum + 0.05) / (luminance(to_rgb("#111111")) + 0.05)
    return "white" if on_white >= on_dark else "#111111"


def ink(colour, on="#ffffff", ratio: float = 4.5) -> str:
    """``colour`` darkened just enough to be read as text on ``on`` (words drawn in a group's
    colour keep its hue)."""
    from matplotlib.colors import to_hex, to_rgb

    def luminance(rgb):
        c = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in rgb]
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]

    rgb, back = to_rgb(colour), luminance(to_rgb(on))
    for step in range(101):
        mixed = [v * (1 - step / 100) for v in rgb]
        if (back + 0.05) / (luminance(mixed) + 0.05) >= ratio:
            return to_hex(mixed)
    return "#000000"


def t(lang: str, zh: str, en: str) -> str:
    """Pick the words for ``lang``."""
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}, got {lang!r}")
    return zh if lang == "zh" else en


def figure_functions():
    """Yield ``(module_name, figure_name, function)`` for every figure in this package."""
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for attr in sorted(dir(module)):
            if attr.startswith("fig_") and callable(getattr(module, attr)):
                yield info.name, attr[len("fig_"):], getattr(module, attr)


def render_svg(function, lang: str) -> bytes:
    with plt.rc_context(STYLE):
        fig = function(lang)
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
        plt.close(fig)
    return minify_svg(buffer.getvalue()).encode()


def minify_svg(svg: str) -> str:
    """Shrink matplotlib's SVG without changing the picture (pages have a weight budget):
    coordinates to 2 decimals (1/100 px), repeated inline styles as CSS classes, no line
    breaks inside paths, no no-op rotations, and no ids that nothing refers to."""
    svg = re.sub(r"(\d+\.\d\d)\d+", r"\1", svg)
    svg = re.sub(r"\s*\n\s*", "\n", svg)
    svg = re.sub(r'd="([^"]*)"', lambda m: 'd="' + " ".join(m[1].split()) + '"', svg)
    svg = re.sub(r' transform="rotate\(-?0 [\d.]+ [\d.]+\)"', "", svg)
    used = set(re.findall(r"#([\w-]+)", svg))
    svg = re.sub(r'\sid="([^"]+)"', lambda m: m[0] if m[1] in used else "", svg)
    classes: dict[str, str] = {}

    def to_class(match: re.Match) -> str:
        name = classes.setdefault(match[1], f"s{len(classes)}")
        return f' class="{name}"'

    body = re.sub(r' style="([^"]*)"', to_class, svg[svg.index("<g"):])
    rules = "".join(f".{name}{{{style}}}" for style, name in classes.items())
    head = svg[:svg.index("<g")]
    if "</style>" in head:
        head = head.replace("</style>", rules + "</style>", 1)
    else:
        head += f'<defs><style type="text/css">{rules}</style></defs>\n'
    return head + body


def write_all(docs_dir: str, cache: bool = True) -> list[Path]:
    """Write every figure in both languages; return the paths (unchanged files untouched).

    A figure whose code and inputs did not change since it was last drawn is taken from the
    content-keyed cache in ``.cache/figures/`` (see ``sitegen/cache.py``) instead of drawn;
    ``cache=False`` draws every figure. Both the cached and the drawn bytes are what
    ``render_svg`` returns for the current code.
    """
    from sitegen.cache import FigureCache, atomic_write

    out_dir = Path(docs_dir) / "assets" / "figures"
    out_dir.mkdir(parents=True, exist_ok=True)
    store = FigureCache() if cache else None
    written = []
    for module, name, function in figure_functions():
        module_path = Path(sys.modules[f"{__name__}.{module}"].__file__)
        for lang in LANGS:
            path = out_dir / f"{module}_{name}_{lang}.svg"
            if store is None:
                svg = render_svg(function, lang)
            else:
                svg = store.get_or_draw(store.key(module_path, name, lang),
                                        lambda: render_svg(function, lang))
            if not path.exists() or path.read_bytes() != svg:
                atomic_write(path, svg)
            written.append(path)
    if store is not None:
        store.prune()
        write_all.last_counts = (store.hits, store.misses)
    return written


write_all.last_counts = (0, 0)   # (figures taken from the cache, figures drawn) by the last call

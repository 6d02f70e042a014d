"""sitegen/cache.py: a figure is drawn again exactly when something it is made from changed."""

from pathlib import Path

from sitegen import cache
from sitegen.cache import ROOT, FigureCache, code_closure, figure_key, imported_names

FIGURES = ROOT / "sitegen" / "figures"


def rel(paths) -> set[str]:
    return {p.relative_to(ROOT).as_posix() for p in paths}


def test_closure_follows_the_imports_of_a_figure_module():
    closure = rel(code_closure(FIGURES / "dilated.py"))
    assert {"sitegen/figures/dilated.py", "sitegen/figures/__init__.py",
            "sitegen/pages/dilated.py", "snippets/dilated.py", "snippets/formulas.py"} <= closure
    # a module it does not import is not part of it (one edit does not redraw everything)
    assert "snippets/grouped.py" not in closure and "sitegen/figures/grouped.py" not in closure


def test_imported_names_resolve_relative_and_from_imports(tmp_path, monkeypatch):
    package = tmp_path / "pkg" / "sub"
    package.mkdir(parents=True)
    module = package / "mod.py"
    module.write_text("from . import sibling\nfrom ..other import thing\nimport a.b as c\n"
                      "def f():\n    from snippets.formulas import (\n        x,\n        y)\n")
    monkeypatch.setattr(cache, "ROOT", tmp_path)
    names = imported_names(module)
    assert {"pkg.sub", "pkg.sub.sibling", "pkg.other", "pkg.other.thing", "a.b",
            "snippets.formulas", "snippets.formulas.x"} <= names


def test_key_changes_with_code_data_and_language_only():
    env = "fixed environment"
    memo: dict[Path, str] = {}
    module = FIGURES / "speed.py"
    key = figure_key(module, "ratio", "zh", memo=memo, environment=env)
    assert figure_key(module, "ratio", "zh", memo=dict(memo), environment=env) == key
    assert figure_key(module, "ratio", "en", memo=dict(memo), environment=env) != key
    assert figure_key(module, "roofline", "zh", memo=dict(memo), environment=env) != key
    assert figure_key(module, "ratio", "zh", memo=dict(memo), environment="other") != key
    for changed in (ROOT / "snippets" / "bench.py",             # imported code
                    ROOT / "sitegen" / "figures" / "__init__.py",  # render_svg and the style
                    ROOT / "results" / "speed" / "cpu.json"):     # data
        edited = {**memo, changed: "edited"}
        assert figure_key(module, "ratio", "zh", memo=edited, environment=env) != key, changed
    unrelated = {**memo, ROOT / "snippets" / "grouped.py": "edited"}
    assert figure_key(module, "ratio", "zh", memo=unrelated, environment=env) == key


def test_cache_hit_skips_drawing_and_a_file_read_while_drawing_is_checked(tmp_path):
    data = ROOT / "jieba_userdict.txt"        # any repository file outside code and results/
    calls = []

    def draw():
        calls.append(1)
        return data.read_bytes()[:10] + b"<svg/>"

    store = FigureCache(tmp_path)
    first = store.get_or_draw("k", draw)
    assert calls == [1] and (store.hits, store.misses) == (0, 1)
    assert FigureCache(tmp_path).get_or_draw("k", draw) == first and calls == [1]
    changed = FigureCache(tmp_path)
    changed.memo[data] = "edited"              # as if the file had changed since
    assert changed.get_or_draw("k", draw) == first and calls == [1, 1]


def test_cached_figure_is_what_render_svg_draws_now(tmp_path):
    from sitegen.figures import figure_functions, render_svg

    module, name, function = next(f for f in figure_functions() if f[0] == "formulas")
    store = FigureCache(tmp_path)
    key = store.key(FIGURES / f"{module}.py", name, "en")
    drawn = store.get_or_draw(key, lambda: render_svg(function, "en"))
    again = FigureCache(tmp_path)
    cached = again.get_or_draw(again.key(FIGURES / f"{module}.py", name, "en"),
                               lambda: b"not drawn again")
    assert again.hits == 1 and cached == drawn == render_svg(function, "en")

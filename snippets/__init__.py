"""Conv Atlas · 卷积图鉴: every code example on the site comes from this package.

One module per convolution variant, plus ``formulas`` (shapes and costs). Pages include
named sections of these modules (``--8<-- "snippets/x.py:section"``) or import them.
"""

from snippets.formulas import *  # noqa: F401,F403
from snippets.formulas import __all__ as _formulas_all
from snippets.dynamic import *  # noqa: F401,F403
from snippets.dynamic import __all__ as _dynamic_all

__all__ = [*_formulas_all, *_dynamic_all]

"""Conv Atlas · 卷积图鉴: every code example on the site comes from this package.

One module per convolution variant, plus ``formulas`` (shapes and costs). Pages include
named sections of these modules (``--8<-- "snippets/x.py:section"``) or import them.
"""

from snippets.formulas import *  # noqa: F401,F403
from snippets.formulas import __all__ as _formulas_all
from snippets.basics import *  # noqa: F401,F403
from snippets.basics import __all__ as _basics_all
from snippets.conv1d3d import *  # noqa: F401,F403
from snippets.conv1d3d import __all__ as _conv1d3d_all
from snippets.separable import *  # noqa: F401,F403
from snippets.separable import __all__ as _separable_all
from snippets.grouped import *  # noqa: F401,F403
from snippets.grouped import __all__ as _grouped_all
from snippets.lowrank import *  # noqa: F401,F403
from snippets.lowrank import __all__ as _lowrank_all
from snippets.transposed import *  # noqa: F401,F403
from snippets.transposed import __all__ as _transposed_all
from snippets.dilated import *  # noqa: F401,F403
from snippets.dilated import __all__ as _dilated_all
from snippets.dynamic import *  # noqa: F401,F403
from snippets.dynamic import __all__ as _dynamic_all
from snippets.algorithms import *  # noqa: F401,F403
from snippets.algorithms import __all__ as _algorithms_all
from snippets.deformable import *  # noqa: F401,F403
from snippets.deformable import __all__ as _deformable_all
from snippets.reparam import *  # noqa: F401,F403
from snippets.reparam import __all__ as _reparam_all
from snippets.calculator import *  # noqa: F401,F403
from snippets.calculator import __all__ as _calculator_all

__all__ = [*_formulas_all, *_basics_all, *_conv1d3d_all, *_separable_all, *_grouped_all, *_lowrank_all,
           *_transposed_all, *_dilated_all, *_dynamic_all, *_deformable_all, *_algorithms_all, *_reparam_all,
           *_calculator_all]

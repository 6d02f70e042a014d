"""The calculator page in Python: what each of its six rows computes, from ``snippets.formulas``.

``docs/assets/javascripts/calculator.js`` is a line-by-line port of these functions and of the
formulas they call (same checks, in the same order, so the same first error), and
``tests/test_calculator.py`` fills the page's form in a real browser with hundreds of
configurations and compares every number and every error it shows with :func:`calculator_rows`.

Each row is one layer built from the form's inputs; every row uses batch, H, W, ``in_channels``,
``out_channels``, ``kernel_size``, ``stride``, ``padding`` and ``bias``, and only its own extra
input:

* ``standard``: ``Conv2d(C_in, C_out, k, stride, padding)`` (dilation 1, groups 1);
* ``separable``: depthwise ``Conv2d(C_in, C_in, k, stride, padding, groups=C_in)`` then
  pointwise ``Conv2d(C_in, C_out, 1)``, both with ``bias`` (MobileNet's block without BN/ReLU);
* ``grouped``: the standard conv with ``groups``;
* ``dilated``: the standard conv with ``dilation``;
* ``transposed``: ``ConvTranspose2d(C_in, C_out, k, stride, padding, output_padding)``;
* ``dynamic``: ``DynamicConv2d(C_in, C_out, k, stride, padding, num_kernels=K, reduction=r)``
  (K kernels mixed per sample by an attention MLP; see ``snippets.formulas.dynamic_*``).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from snippets.formulas import (
    conv2d_macs,
    conv2d_params,
    conv_output_size,
    conv_transpose2d_macs,
    conv_transpose_output_size,
    dynamic_conv2d_macs,
    dynamic_conv2d_params,
    separable_macs,
    separable_params,
)

__all__ = ["CALCULATOR_KINDS", "CalculatorInputs", "LayerCost", "calculator_rows", "cost_ratios"]

CALCULATOR_KINDS = ("standard", "separable", "grouped", "dilated", "transposed", "dynamic")


@dataclass(frozen=True)
class CalculatorInputs:
    """The calculator's form; the defaults are the page's defaults."""

    batch: int = 1
    height: int = 56
    width: int = 56
    in_channels: int = 64
    out_channels: int = 128
    kernel_size: int = 3
    stride: int = 1
    padding: int = 1
    dilation: int = 2
    groups: int = 4
    output_padding: int = 0
    num_kernels: int = 4
    reduction: int = 4
    bias: bool = False


@dataclass(frozen=True)
class LayerCost:
    """One row of results: output shape ``(B, C_out, H_out, W_out)``, parameters, multiply-adds."""

    shape: tuple[int, int, int, int]
    params: int
    macs: int


# --8<-- [start:rows]
def _standard(c: CalculatorInputs, groups: int = 1, dilation: int = 1) -> LayerCost:
    ho = conv_output_size(c.height, c.kernel_size, c.stride, c.padding, dilation)
    wo = conv_output_size(c.width, c.kernel_size, c.stride, c.padding, dilation)
    params = conv2d_params(c.in_channels, c.out_channels, c.kernel_size, groups, c.bias)
    macs = conv2d_macs(c.in_channels, c.out_channels, c.kernel_size, (ho, wo), groups, c.batch)
    return LayerCost((c.batch, c.out_channels, ho, wo), params, macs)


def _separable(c: CalculatorInputs) -> LayerCost:
    ho = conv_output_size(c.height, c.kernel_size, c.stride, c.padding)
    wo = conv_output_size(c.width, c.kernel_size, c.stride, c.padding)
    params = separable_params(c.in_channels, c.out_channels, c.kernel_size)
    params += (c.in_channels + c.out_channels) if c.bias else 0  # depthwise + pointwise biases
    macs = separable_macs(c.in_channels, c.out_channels, c.kernel_size, (ho, wo), c.batch)
    return LayerCost((c.batch, c.out_channels, ho, wo), params, macs)


def _transposed(c: CalculatorInputs) -> LayerCost:
    ho = conv_transpose_output_size(c.height, c.kernel_size, c.stride, c.padding,
                                    c.output_padding)
    wo = conv_transpose_output_size(c.width, c.kernel_size, c.stride, c.padding,
                                    c.output_padding)
    params = conv2d_params(c.in_channels, c.out_channels, c.kernel_size, 1, c.bias)
    macs = conv_transpose2d_macs(c.in_channels, c.out_channels, c.kernel_size,
                                 (c.height, c.width), 1, c.batch)
    return LayerCost((c.batch, c.out_channels, ho, wo), params, macs)


def _dynamic(c: CalculatorInputs) -> LayerCost:
    ho = conv_output_size(c.height, c.kernel_size, c.stride, c.padding)
    wo = conv_output_size(c.width, c.kernel_size, c.stride, c.padding)
    params = dynamic_conv2d_params(c.in_channels, c.out_channels, c.kernel_size, 1, c.bias,
                                   c.num_kernels, c.reduction)
    macs = dynamic_conv2d_macs(c.in_channels, c.out_channels, c.kernel_size, (ho, wo), 1,
                               c.bias, c.num_kernels, c.reduction, c.batch)
    return LayerCost((c.batch, c.out_channels, ho, wo), params, macs)


def calculator_rows(c: CalculatorInputs) -> dict[str, LayerCost | ValueError]:
    """Each row's layer, or the ``ValueError`` (the first one) that makes it impossible.

    >>> rows = calculator_rows(CalculatorInputs(in_channels=32, out_channels=64, groups=3))
    >>> rows["standard"]
    LayerCost(shape=(1, 64, 56, 56), params=18432, macs=57802752)
    >>> rows["grouped"]
    ValueError('in_channels (32) must be divisible by groups (3)')
    """
    build = {
        "standard": lambda: _standard(c),
        "separable": lambda: _separable(c),
        "grouped": lambda: _standard(c, groups=c.groups),
        "dilated": lambda: _standard(c, dilation=c.dilation),
        "transposed": lambda: _transposed(c),
        "dynamic": lambda: _dynamic(c),
    }
    rows: dict[str, LayerCost | ValueError] = {}
    for kind in CALCULATOR_KINDS:
        try:
            rows[kind] = build[kind]()
        except ValueError as err:
            rows[kind] = err
    return rows
# --8<-- [end:rows]


def cost_ratios(layer: LayerCost, standard: LayerCost) -> tuple[Fraction, Fraction]:
    """Parameters and multiply-adds of ``layer`` divided by those of the standard conv (exact).

    >>> rows = calculator_rows(CalculatorInputs(in_channels=32, out_channels=64))
    >>> [str(r) for r in cost_ratios(rows["separable"], rows["standard"])]  # 1/64 + 1/9
    ['73/576', '73/576']
    """
    return Fraction(layer.params, standard.params), Fraction(layer.macs, standard.macs)

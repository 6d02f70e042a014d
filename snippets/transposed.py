"""Transposed convolution, built from the pieces that explain it.

A convolution is a linear map ``y = C x`` with a sparse matrix ``C``; the
transposed convolution computes ``C^T y``: it maps the conv's output shape back
to its input shape (not its values). Three views of the same thing, each
checked against ``nn.ConvTranspose2d`` in ``tests/test_transposed.py``:

* ``conv_matrix`` builds ``C`` for a small single-channel conv;
* ``conv_transpose2d_by_zero_insertion`` is a stride-1 conv over the
  zero-inserted, padded input with the flipped, channel-transposed kernel;
* autograd: it is the gradient of a conv with respect to the conv's input.

``overlap_counts`` counts the kernel taps that land on each output pixel; when
the stride does not divide the kernel size the counts alternate, which is where
checkerboard artifacts come from (Odena, Dumoulin, Olah, "Deconvolution and
Checkerboard Artifacts", Distill 2016, doi:10.23915/distill.00003).
``ResizeConv2d`` is their fix: resize, then convolve.

The arithmetic follows Dumoulin & Visin, "A guide to convolution arithmetic
for deep learning", arXiv:1603.07285.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


__all__ = [
    "conv_matrix",
    "conv_transpose2d_by_zero_insertion",
    "overlap_counts",
    "ResizeConv2d",
]

Size2 = int | Sequence[int]


def _pair(name: str, value: Size2) -> tuple[int, int]:
    if isinstance(value, int) and not isinstance(value, bool):
        return value, value
    if (isinstance(value, Sequence) and len(value) == 2
            and all(isinstance(v, int) and not isinstance(v, bool)
                    for v in value)):
        return value[0], value[1]
    raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")


# Output sizes, repeated from snippets/formulas.py so that this file runs on its own
# (a reader may copy it alone); tests/test_transposed.py checks the two agree.
def _check_int(name: str, value, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < low:
        kind = "a positive integer" if low == 1 else "zero or positive"
        raise ValueError(f"{name} must be {kind}, got {value}")
    return value


def _conv_output_size(size: int, kernel_size: int, stride: int = 1, padding: int = 0,
                     dilation: int = 1) -> int:
    """``floor((size + 2p - d(k-1) - 1) / s) + 1``, as ``snippets.formulas``."""
    for name, value, low in (("size", size, 1), ("kernel_size", kernel_size, 1),
                             ("stride", stride, 1), ("padding", padding, 0),
                             ("dilation", dilation, 1)):
        _check_int(name, value, low)
    span, padded = dilation * (kernel_size - 1) + 1, size + 2 * padding
    if span > padded:
        raise ValueError(f"kernel span {span} (kernel_size {kernel_size}, dilation "
                         f"{dilation}) is larger than the padded input {padded}")
    return (padded - span) // stride + 1


def _conv_transpose_output_size(size: int, kernel_size: int, stride: int = 1,
                               padding: int = 0, output_padding: int = 0,
                               dilation: int = 1) -> int:
    """``(size-1)s - 2p + d(k-1) + output_padding + 1``, as ``snippets.formulas``."""
    for name, value, low in (("size", size, 1), ("kernel_size", kernel_size, 1),
                             ("stride", stride, 1), ("padding", padding, 0),
                             ("output_padding", output_padding, 0), ("dilation", dilation, 1)):
        _check_int(name, value, low)
    if output_padding >= stride and output_padding >= dilation:
        raise ValueError(f"output_padding ({output_padding}) must be smaller than stride "
                         f"({stride}) or dilation ({dilation})")
    out = (size - 1) * stride - 2 * padding + dilation * (kernel_size - 1) + output_padding + 1
    if out < 1:
        raise ValueError(f"padding {padding} is too large: the transposed conv output "
                         f"would have size {out}")
    return out


# --8<-- [start:conv_matrix]
def conv_matrix(
    input_size: Size2,
    kernel: torch.Tensor,
    stride: Size2 = 1,
    padding: Size2 = 0,
    dilation: Size2 = 1,
) -> torch.Tensor:
    """The matrix ``C`` of a single-channel 2-D conv (cross-correlation, as in
    torch): ``F.conv2d(x, kernel[None, None]).flatten() == C @ x.flatten()``.

    One row per output pixel, one column per input pixel (row-major order).
    Row ``r`` holds the kernel weights at the inputs that output ``r`` reads.

    >>> C = conv_matrix(4, torch.ones(3, 3))   # 2x2 outputs, 4x4 inputs
    >>> tuple(C.shape), int((C != 0).sum())    # 9 taps in each row
    ((4, 16), 36)
    """
    if not isinstance(kernel, torch.Tensor):
        raise TypeError(f"kernel must be a torch.Tensor, got {type(kernel).__name__}")
    if kernel.dim() != 2:
        raise ValueError("kernel must be a 2-D (kh, kw) tensor, "
                         f"got shape {tuple(kernel.shape)}")
    (ih, iw), (kh, kw) = _pair("input_size", input_size), tuple(kernel.shape)
    _check_int("input_size", ih, 1), _check_int("input_size", iw, 1)
    (sh, sw), (ph, pw) = _pair("stride", stride), _pair("padding", padding)
    dh, dw = _pair("dilation", dilation)
    # _conv_output_size validates every argument (ValueError)
    oh = _conv_output_size(ih, kh, sh, ph, dh)
    ow = _conv_output_size(iw, kw, sw, pw, dw)
    rows, cols, taps = [], [], []
    for i in range(oh):
        for j in range(ow):
            for a in range(kh):
                for b in range(kw):
                    # output (i, j) reads input (y, x) with weight w[a, b]
                    y, x = i * sh - ph + a * dh, j * sw - pw + b * dw
                    if 0 <= y < ih and 0 <= x < iw:  # else: padding, no column
                        rows.append(i * ow + j)
                        cols.append(y * iw + x)
                        taps.append(a * kw + b)
    C = kernel.new_zeros(oh * ow, ih * iw)  # (out pixels, in pixels)

    def index(v):
        return torch.tensor(v, dtype=torch.long, device=kernel.device)

    C[index(rows), index(cols)] = kernel.flatten()[index(taps)]  # (kh*kw,)
    return C
# --8<-- [end:conv_matrix]


# --8<-- [start:zero_insertion]
def conv_transpose2d_by_zero_insertion(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: Size2 = 1,
    padding: Size2 = 0,
    output_padding: Size2 = 0,
    groups: int = 1,
    dilation: Size2 = 1,
) -> torch.Tensor:
    """``F.conv_transpose2d`` (same arguments, same weight layout
    ``(C_in, C_out/g, kh, kw)``) as a stride-1 conv: insert ``stride - 1``
    zeros between input pixels, pad each side by ``dilation*(k-1) - padding``
    (plus ``output_padding`` at the end), and convolve with the kernel
    flipped in space, in/out channels swapped within each group.
    """
    for name, value in (("x", x), ("weight", weight)):
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
        if value.dim() != 4:
            raise ValueError(f"{name} must be 4-D, got shape {tuple(value.shape)}")
    n, c_in, h, w = x.shape
    _, c_out_g, kh, kw = weight.shape  # c_out_g: output channels per group
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
        raise ValueError(f"groups must be a positive integer, got {groups!r}")
    if weight.shape[0] != c_in or c_in % groups:
        raise ValueError(f"x has {c_in} channels; weight.shape[0] "
                         f"({weight.shape[0]}) must equal it and be divisible "
                         f"by groups ({groups})")
    sh, sw = _pair("stride", stride)
    ph, pw = _pair("padding", padding)
    oph, opw = _pair("output_padding", output_padding)
    dh, dw = _pair("dilation", dilation)
    # raises ValueError for bad stride, padding, dilation, output_padding
    # (it must be < stride or dilation) and for an output smaller than 1
    out_h = _conv_transpose_output_size(h, kh, sh, ph, oph, dh)
    out_w = _conv_transpose_output_size(w, kw, sw, pw, opw, dw)

    # 1. insert zeros: input pixel (i, j) moves to (i*s, j*s)
    z = x.new_zeros(n, c_in, (h - 1) * sh + 1, (w - 1) * sw + 1)
    z[:, :, ::sh, ::sw] = x  # (N, C_in, (H-1)*s+1, (W-1)*s+1)
    # 2. pad d*(k-1) - p per side (negative: crop), output_padding at the end
    eh, ew = dh * (kh - 1) - ph, dw * (kw - 1) - pw
    z = F.pad(z, (ew, ew + opw, eh, eh + oph))  # (left, right, top, bottom)
    # 3. kernel (C_in, C_out/g, kh, kw) -> (C_out, C_in/g, kh, kw), flipped
    k = weight.reshape(groups, c_in // groups, c_out_g, kh, kw)
    k = k.transpose(1, 2)  # (g, C_out/g, C_in/g, kh, kw)
    k = k.reshape(groups * c_out_g, c_in // groups, kh, kw)
    # a pixel that tap (a, b) scatters is gathered by tap (k-1-a, k-1-b)
    k = k.flip(-2, -1)
    # 4. an ordinary stride-1 conv with the transposed conv's dilation
    y = F.conv2d(z, k, bias, stride=1, dilation=(dh, dw), groups=groups)
    assert y.shape[-2:] == (out_h, out_w)  # (N, C_out, H_out, W_out)
    return y
# --8<-- [end:zero_insertion]


# --8<-- [start:overlap_counts]
def overlap_counts(
    size: int,
    kernel_size: int,
    stride: int = 1,
    padding: int = 0,
    output_padding: int = 0,
) -> torch.Tensor:
    """How many (input pixel, kernel tap) pairs land on each output pixel of
    a 1-D transposed conv: input ``i`` with tap ``t`` writes output
    ``i*stride + t - padding``. Equals ``conv_transpose1d`` with an all-ones
    kernel on an all-ones input; in 2-D, the outer product of two of these.

    >>> overlap_counts(6, 3, stride=2, padding=1, output_padding=1).tolist()
    [1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 1]
    >>> overlap_counts(6, 4, stride=2, padding=1).tolist()
    [1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1]
    """
    out = _conv_transpose_output_size(size, kernel_size, stride, padding,
                                     output_padding)
    counts = torch.zeros(out, dtype=torch.long)
    for i in range(size):
        for t in range(kernel_size):
            o = i * stride + t - padding
            if 0 <= o < out:  # otherwise cropped away by the padding
                counts[o] += 1
    return counts
# --8<-- [end:overlap_counts]


# --8<-- [start:resize_conv]
class ResizeConv2d(nn.Module):
    """Upsample, then convolve: the fix for checkerboard artifacts (Odena et
    al., Distill 2016). Every output pixel reads a window of the same size.

    >>> layer = ResizeConv2d(8, 4, 3, scale_factor=2)
    >>> tuple(layer(torch.randn(1, 8, 5, 5)).shape)
    (1, 4, 10, 10)
    """

    def __init__(self, in_channels: int, out_channels: int,
                 kernel_size: Size2 = 3, scale_factor: int = 2,
                 padding: Size2 | str = "same", groups: int = 1,
                 bias: bool = True, mode: str = "nearest"):
        super().__init__()
        if (isinstance(scale_factor, bool) or not isinstance(scale_factor, int)
                or scale_factor < 1):
            raise ValueError("scale_factor must be a positive integer, "
                             f"got {scale_factor!r}")
        if mode not in ("nearest", "bilinear"):
            raise ValueError(
                f"mode must be 'nearest' or 'bilinear', got {mode!r}")
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels),
                            ("groups", groups)):
            _check_int(name, value, 1)
        for k in _pair("kernel_size", kernel_size):
            _check_int("kernel_size", k, 1)
        if padding not in ("same", "valid"):
            for p in _pair("padding", padding):
                _check_int("padding", p, 0)
        if not isinstance(bias, bool):
            raise TypeError(f"bias must be True or False, got {bias!r}")
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"in_channels ({in_channels}) and out_channels "
                f"({out_channels}) must be divisible by groups ({groups})")
        self.scale_factor, self.mode = scale_factor, mode
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size,
                              padding=padding, groups=groups, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (N, C_in, H, W) -> (N, C_in, s*H, s*W)
        x = F.interpolate(x, scale_factor=self.scale_factor, mode=self.mode)
        return self.conv(x)  # (N, C_out, s*H, s*W): "same" padding
# --8<-- [end:resize_conv]

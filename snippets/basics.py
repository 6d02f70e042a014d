"""Convolution basics: what ``nn.Conv2d`` computes, channels, padding and 1x1 convolution.

* ``cross_correlate2d`` / ``convolve2d`` / ``convolve2d_direct``: what a conv layer computes
  (cross-correlation) against the convolution of mathematics (the kernel flipped), on plain
  2-D tensors, with ``"valid"`` and ``"full"`` modes. Overview of the variants: K. Bai,
  *A Comprehensive Introduction to Different Types of Convolutions in Deep Learning*, 2019.
* ``conv2d_by_channels``: a multi-channel conv written as sums of single-channel ones.
* ``same_padding`` / ``pad_like_conv``: the padding ``padding='same'`` and ``padding_mode``
  add, made explicit with ``F.pad``.
* ``pointwise_conv``: a 1x1 conv as the same linear map applied at every pixel (einsum), and
  ``bottleneck``: 1x1 reduce, k x k, 1x1 expand (M. Lin et al., *Network In Network*,
  arXiv:1312.4400; C. Szegedy et al., *Going Deeper with Convolutions*, arXiv:1409.4842;
  K. He et al., *Deep Residual Learning for Image Recognition*, arXiv:1512.03385).

1-D, causal and 3-D convolution are in ``snippets.conv1d3d``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "cross_correlate2d",
    "convolve2d",
    "convolve2d_direct",
    "conv2d_by_channels",
    "same_padding",
    "pad_like_conv",
    "pointwise_conv",
    "bottleneck",
]

MODES = ("valid", "full")
PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _check_positive(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value}")
    return value


def _check_non_negative(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be zero or positive, got {value}")
    return value


def _check_4d(name: str, tensor) -> None:
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"{name} must be a tensor, got {type(tensor).__name__}")
    if tensor.dim() != 4:
        raise ValueError(f"{name} must be 4-D, got shape {tuple(tensor.shape)}")


def _check_2d(name: str, tensor) -> None:
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"{name} must be a tensor, got {type(tensor).__name__}")
    if tensor.dim() != 2 or tensor.numel() == 0:
        raise ValueError(f"{name} must be a non-empty 2-D tensor (H, W), got shape "
                         f"{tuple(tensor.shape)}")


# --8<-- [start:correlate]
def cross_correlate2d(image: torch.Tensor, kernel: torch.Tensor,
                      mode: str = "valid") -> torch.Tensor:
    """What ``nn.Conv2d`` computes, on one 2-D image and one 2-D kernel:
    ``y[i, j] = sum_{u, v} image[i + u, j + v] * kernel[u, v]``.

    ``"valid"``: only windows that lie inside the image; ``"full"``: every
    window that overlaps it (zeros outside).

    A single 1 (an impulse) comes back as the kernel turned by 180 degrees:

    >>> cross_correlate2d(torch.ones(1, 1), torch.tensor([[1., 2.], [3., 4.]]), "full")
    tensor([[4., 3.],
            [2., 1.]])
    """
    _check_2d("image", image)
    _check_2d("kernel", kernel)
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    kh, kw = kernel.shape
    if mode == "valid" and (kh > image.shape[0] or kw > image.shape[1]):
        raise ValueError(f"kernel {tuple(kernel.shape)} is larger than the image "
                         f"{tuple(image.shape)}: use mode='full'")
    padding = (kh - 1, kw - 1) if mode == "full" else 0
    # (H, W) -> (1, 1, H, W): one image, one channel, one filter
    y = F.conv2d(image[None, None], kernel[None, None], padding=padding)
    return y[0, 0]  # (1, 1, H_out, W_out) -> (H_out, W_out)


def convolve2d(image: torch.Tensor, kernel: torch.Tensor,
               mode: str = "valid") -> torch.Tensor:
    """The convolution of mathematics:
    ``y[i, j] = sum_{u, v} image[i - u, j - v] * kernel[u, v]``,
    which is the cross-correlation with the kernel turned by 180 degrees.

    The impulse now comes back as the kernel itself:

    >>> convolve2d(torch.ones(1, 1), torch.tensor([[1., 2.], [3., 4.]]), "full")
    tensor([[1., 2.],
            [3., 4.]])
    """
    _check_2d("kernel", kernel)
    return cross_correlate2d(image, kernel.flip(0, 1), mode)


# --8<-- [end:correlate]


# --8<-- [start:direct]
def convolve2d_direct(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Full convolution straight from the definition
    ``(a * b)[i, j] = sum_{u, v} a[u, v] b[i - u, j - v]``: every entry of
    ``a`` adds a copy of ``b``, scaled by it and shifted to where it sits.

    >>> convolve2d_direct(torch.tensor([[1., 2.]]), torch.tensor([[1., 10.]]))
    tensor([[ 1., 12., 20.]])
    """
    _check_2d("a", a)
    _check_2d("b", b)
    (ha, wa), (hb, wb) = a.shape, b.shape
    out = torch.zeros(ha + hb - 1, wa + wb - 1, dtype=torch.result_type(a, b),
                      device=a.device)
    for u in range(ha):
        for v in range(wa):
            out[u:u + hb, v:v + wb] += a[u, v] * b
    return out


# --8<-- [end:direct]


# --8<-- [start:channels]
def conv2d_by_channels(x: torch.Tensor, weight: torch.Tensor,
                       bias: torch.Tensor | None = None) -> torch.Tensor:
    """``F.conv2d(x, weight, bias)`` (stride 1, no padding) spelled out: output
    channel ``o`` is the sum over every input channel ``c`` of the plane
    ``x[:, c]`` cross-correlated with the plane ``weight[o, c]``, plus ``bias[o]``.

    >>> x, w = torch.randn(2, 3, 6, 6), torch.randn(4, 3, 3, 3)
    >>> torch.allclose(conv2d_by_channels(x, w), F.conv2d(x, w), atol=1e-5)
    True
    """
    _check_4d("x", x), _check_4d("weight", weight)   # (B, C_in, H, W), (C_out, C_in, k, k)
    c_out, c_in = weight.shape[:2]
    if x.shape[1] != c_in:
        raise ValueError(f"x has {x.shape[1]} channels but weight expects {c_in}")
    outputs = []
    for o in range(c_out):
        total = 0
        for c in range(c_in):
            # (B, 1, H, W) with a (1, 1, k, k) kernel -> (B, 1, H', W')
            total = total + F.conv2d(x[:, c:c + 1], weight[o:o + 1, c:c + 1])
        if bias is not None:
            total = total + bias[o]
        outputs.append(total)
    return torch.cat(outputs, dim=1)  # C_out planes of (B, 1, H', W') -> (B, C_out, H', W')


# --8<-- [end:channels]


# --8<-- [start:padding]
def same_padding(kernel_size: int, dilation: int = 1) -> tuple[int, int]:
    """(left, right) padding of ``padding='same'`` along one dimension, stride 1.

    The window spans ``d(k - 1) + 1`` pixels, so ``d(k - 1)`` pixels of padding
    in total keep the size; torch puts the odd one, if any, on the right.

    >>> same_padding(3), same_padding(4), same_padding(4, dilation=3)
    ((1, 1), (1, 2), (4, 5))
    """
    _check_positive("kernel_size", kernel_size)
    _check_positive("dilation", dilation)
    total = dilation * (kernel_size - 1)
    return total // 2, total - total // 2


def pad_like_conv(x: torch.Tensor, padding: Sequence[int],
                  padding_mode: str = "zeros") -> torch.Tensor:
    """Pad ``(B, C, H, W)`` the way ``nn.Conv2d(padding_mode=...)`` does:
    ``padding`` is ``(left, right, top, bottom)`` as in ``F.pad``.

    >>> pad_like_conv(torch.arange(3.).view(1, 1, 1, 3), (2, 2, 0, 0), "reflect")
    tensor([[[[2., 1., 0., 1., 2., 1., 0.]]]])
    """
    if padding_mode not in PADDING_MODES:
        raise ValueError(f"padding_mode must be one of {PADDING_MODES}, got {padding_mode!r}")
    _check_4d("x", x)
    if not isinstance(padding, (tuple, list)) or len(padding) != 4:
        raise ValueError(f"padding must be (left, right, top, bottom), got {padding!r}")
    for p in padding:
        _check_non_negative("padding", p)
    if padding_mode == "reflect":
        left, right, top, bottom = padding
        if max(left, right) >= x.shape[-1] or max(top, bottom) >= x.shape[-2]:
            # a mirror needs a pixel behind the edge to mirror
            raise ValueError(f"reflect padding {tuple(padding)} must be smaller than the "
                             f"input size {tuple(x.shape[-2:])}")
    mode = "constant" if padding_mode == "zeros" else padding_mode
    return F.pad(x, tuple(padding), mode=mode)


# --8<-- [end:padding]


# --8<-- [start:pointwise]
def pointwise_conv(x: torch.Tensor, weight: torch.Tensor,
                   bias: torch.Tensor | None = None, groups: int = 1) -> torch.Tensor:
    """A 1x1 conv as a matrix applied to the channel vector of every pixel.

    ``weight`` is ``nn.Conv2d(C_in, C_out, 1, groups=g).weight``, shape
    ``(C_out, C_in / g, 1, 1)``. With ``g`` groups the matrix is block-diagonal:
    group ``j`` of the outputs sees only group ``j`` of the inputs.

    >>> conv = nn.Conv2d(6, 4, 1, groups=2)
    >>> x = torch.randn(1, 6, 5, 5)
    >>> torch.allclose(pointwise_conv(x, conv.weight, conv.bias, 2), conv(x), atol=1e-6)
    True
    """
    _check_4d("x", x), _check_4d("weight", weight)
    _check_positive("groups", groups)
    b, c_in, h, w = x.shape
    c_out = weight.shape[0]
    if weight.shape[2:] != (1, 1) or c_in % groups or c_out % groups \
            or weight.shape[1] * groups != c_in:
        raise ValueError(f"weight {tuple(weight.shape)} is not a 1x1 kernel for {c_in} "
                         f"input channels in {groups} groups")
    xg = x.reshape(b, groups, c_in // groups, h, w)          # (B, g, C_in/g, H, W)
    wg = weight.reshape(groups, c_out // groups, c_in // groups)  # (g, C_out/g, C_in/g)
    y = torch.einsum("bgchw,goc->bgohw", xg, wg)             # (B, g, C_out/g, H, W)
    y = y.reshape(b, c_out, h, w)                            # (B, C_out, H, W)
    if bias is not None:
        y = y + bias.view(1, c_out, 1, 1)
    return y


def bottleneck(in_channels: int, mid_channels: int, out_channels: int,
               kernel_size: int = 3, stride: int = 1, bias: bool = False) -> nn.Sequential:
    """1x1 conv down to ``mid_channels``, a k x k conv there, 1x1 back up
    (ReLU between): the costly k x k conv only sees the narrow middle.

    >>> block = bottleneck(256, 64, 256)
    >>> block(torch.zeros(1, 256, 14, 14)).shape
    torch.Size([1, 256, 14, 14])
    >>> sum(p.numel() for p in block.parameters())   # 256*64 + 9*64*64 + 64*256
    69632
    """
    for name, v in (("in_channels", in_channels), ("mid_channels", mid_channels),
                    ("out_channels", out_channels), ("stride", stride)):
        _check_positive(name, v)
    _check_positive("kernel_size", kernel_size)
    if not isinstance(bias, bool):
        raise TypeError(f"bias must be True or False, got {bias!r}")
    if kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be odd so that padding k // 2 keeps the size, "
                         f"got {kernel_size}")
    return nn.Sequential(
        nn.Conv2d(in_channels, mid_channels, 1, bias=bias), nn.ReLU(),    # reduce
        nn.Conv2d(mid_channels, mid_channels, kernel_size, stride,
                  kernel_size // 2, bias=bias), nn.ReLU(),                 # k x k
        nn.Conv2d(mid_channels, out_channels, 1, bias=bias),              # expand
    )


# --8<-- [end:pointwise]

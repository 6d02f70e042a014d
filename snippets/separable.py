"""Depthwise separable convolution: a depthwise conv, then a pointwise (1x1) conv.

A standard conv mixes space and channels in one step; a depthwise separable conv splits the
two: the depthwise conv filters each input channel on its own (``groups=in_channels``), the
pointwise 1x1 conv then mixes channels. Introduced by L. Sifre (PhD thesis, 2014), made
popular by F. Chollet, "Xception: Deep Learning with Depthwise Separable Convolutions"
(arXiv:1610.02357) and A. G. Howard et al., "MobileNets: Efficient Convolutional Neural
Networks for Mobile Vision Applications" (arXiv:1704.04861), whose block (depthwise conv,
BN, ReLU, pointwise conv, BN, ReLU) ``DepthwiseSeparableConv2d`` follows.

``fuse_separable_kernel`` builds the ONE standard-conv kernel that the two steps equal when
nothing non-linear sits between them: ``W[n, m] = P[n, m] * D[m]``. ``NoteBlock`` keeps the
source note's original block unchanged, bug included, so the site can show what was wrong.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = [
    "DepthwiseSeparableConv2d",
    "fuse_separable_kernel",
    "fuse_separable_bias",
    "NoteBlock",
    "MOBILENET_V1_BLOCKS",
    "mobilenet_v1_features",
]

Size2 = int | Sequence[int]


def _pair(name: str, value: Size2, minimum: int) -> tuple[int, int]:
    """``value`` as an ``(h, w)`` pair of ints >= ``minimum``, or a ValueError naming it."""
    pair = (value, value) if isinstance(value, int) else value
    if (isinstance(value, bool) or not isinstance(pair, Sequence) or len(pair) != 2
            or any(isinstance(v, bool) or not isinstance(v, int) for v in pair)):
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    if min(pair) < minimum:
        kind = "positive" if minimum == 1 else "zero or positive"
        raise ValueError(f"{name} must be {kind}, got {value!r}")
    return pair[0], pair[1]


def _boolean(name: str, value) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return value


def _channels(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


# --8<-- [start:block]
class DepthwiseSeparableConv2d(nn.Module):
    """Depthwise conv (a ``k x k`` filter per channel), then pointwise 1x1 conv.

    Arguments follow ``nn.Conv2d``. ``stride``, ``padding`` and ``dilation``
    belong to the depthwise conv; the 1x1 conv has stride 1 and no padding.
    ``padding=None`` pads ``(k // 2) * dilation``: with an odd ``k`` and
    stride 1 the output is as large as the input. ``norm`` and ``activation``
    add BatchNorm and ReLU after each step, as in MobileNets.

    >>> block = DepthwiseSeparableConv2d(32, 64, stride=2)
    >>> block(torch.randn(1, 32, 112, 112)).shape
    torch.Size([1, 64, 56, 56])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Size2 = 3,
        stride: Size2 = 1,
        padding: Size2 | None = None,
        dilation: Size2 = 1,
        bias: bool = False,
        norm: bool = True,
        activation: bool = True,
    ):
        super().__init__()
        _channels("in_channels", in_channels)
        _channels("out_channels", out_channels)
        kernel_size = _pair("kernel_size", kernel_size, 1)
        stride = _pair("stride", stride, 1)
        dilation = _pair("dilation", dilation, 1)
        for name, value in (("bias", bias), ("norm", norm), ("activation", activation)):
            _boolean(name, value)
        if padding is None:  # half the dilated span: "same" for odd k, stride 1
            if kernel_size[0] % 2 == 0 or kernel_size[1] % 2 == 0:
                # (k // 2) * d would pad one pixel too many: the output would grow
                raise ValueError(f"padding=None keeps the size only for an odd kernel_size, "
                                 f"got {kernel_size}: pass padding explicitly")
            padding = tuple(k // 2 * d for k, d in zip(kernel_size, dilation))
        padding = _pair("padding", padding, 0)

        # Step 1, depthwise: groups=in_channels gives each channel its own
        # k x k filter; the weight is (M, 1, kh, kw), no channel sees another.
        self.depthwise = nn.Conv2d(in_channels, in_channels, kernel_size,
                                   stride, padding, dilation,
                                   groups=in_channels, bias=bias)
        self.bn1 = nn.BatchNorm2d(in_channels) if norm else nn.Identity()
        self.act1 = nn.ReLU(inplace=True) if activation else nn.Identity()
        # Step 2, pointwise: a 1x1 conv, weight (N, M, 1, 1), mixes channels
        # at every pixel.
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, bias=bias)
        self.bn2 = nn.BatchNorm2d(out_channels) if norm else nn.Identity()
        self.act2 = nn.ReLU(inplace=True) if activation else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (B, M, H, W) -> (B, M, H_out, W_out)
        x = self.act1(self.bn1(self.depthwise(x)))
        # (B, M, H_out, W_out) -> (B, N, H_out, W_out)
        return self.act2(self.bn2(self.pointwise(x)))


# --8<-- [end:block]


# --8<-- [start:fuse]
def fuse_separable_kernel(depthwise_weight: torch.Tensor,
                          pointwise_weight: torch.Tensor) -> torch.Tensor:
    """The standard-conv kernel equal to depthwise then pointwise:
    ``W[n, m] = P[n, m] * D[m]``.

    ``depthwise_weight`` is ``(M, 1, kh, kw)``, ``pointwise_weight`` is
    ``(N, M, 1, 1)``, the result ``(N, M, kh, kw)``. Every slice ``W[n, m]``
    is a multiple of the same ``D[m]``: that is the "separable" in the name,
    and why a separable conv can express far fewer kernels than a standard one.

    >>> d, p = torch.ones(3, 1, 3, 3), torch.ones(8, 3, 1, 1)
    >>> fuse_separable_kernel(d, p).shape
    torch.Size([8, 3, 3, 3])
    """
    for name, value in (("depthwise_weight", depthwise_weight),
                        ("pointwise_weight", pointwise_weight)):
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if depthwise_weight.dim() != 4 or depthwise_weight.shape[1] != 1:
        raise ValueError("depthwise_weight must have shape (M, 1, kh, kw), "
                         f"got {tuple(depthwise_weight.shape)}")
    if pointwise_weight.dim() != 4 or pointwise_weight.shape[2:] != (1, 1):
        raise ValueError("pointwise_weight must have shape (N, M, 1, 1), "
                         f"got {tuple(pointwise_weight.shape)}")
    m_in, m = pointwise_weight.shape[1], depthwise_weight.shape[0]
    if m_in != m:
        raise ValueError(f"pointwise_weight has {m_in} input channels but "
                         f"depthwise_weight has {m} channels")
    p = pointwise_weight[:, :, 0, 0]  # (N, M, 1, 1) -> (N, M)
    d = depthwise_weight[:, 0]  # (M, 1, kh, kw) -> (M, kh, kw)
    # (N, M, 1, 1) * (1, M, kh, kw) -> (N, M, kh, kw)
    return p[:, :, None, None] * d[None]


def fuse_separable_bias(pointwise_weight: torch.Tensor,
                        depthwise_bias: torch.Tensor | None = None,
                        pointwise_bias: torch.Tensor | None = None,
                        ) -> torch.Tensor:
    """The bias of that standard conv: ``P @ b_depthwise + b_pointwise``.

    The depthwise bias is added at every pixel, so the 1x1 conv mixes it
    like any other input.

    >>> p = torch.ones(2, 3, 1, 1)
    >>> fuse_separable_bias(p, torch.ones(3), torch.zeros(2))
    tensor([3., 3.])
    """
    if not isinstance(pointwise_weight, torch.Tensor):
        raise TypeError(f"pointwise_weight must be a torch.Tensor, "
                        f"got {type(pointwise_weight).__name__}")
    if pointwise_weight.dim() != 4 or pointwise_weight.shape[2:] != (1, 1):
        raise ValueError("pointwise_weight must have shape (N, M, 1, 1), "
                         f"got {tuple(pointwise_weight.shape)}")
    m = pointwise_weight.shape[1]
    for name, b, size in (("depthwise_bias", depthwise_bias, m),
                          ("pointwise_bias", pointwise_bias, pointwise_weight.shape[0])):
        if b is not None and (not isinstance(b, torch.Tensor) or tuple(b.shape) != (size,)):
            raise ValueError(f"{name} must be a tensor of shape ({size},), got "
                             f"{tuple(b.shape) if isinstance(b, torch.Tensor) else b!r}")
    p = pointwise_weight[:, :, 0, 0]  # (N, M, 1, 1) -> (N, M)
    bias = torch.zeros(p.shape[0], dtype=p.dtype, device=p.device)
    if depthwise_bias is not None:
        bias = bias + p @ depthwise_bias  # (N, M) @ (M,) -> (N,)
    if pointwise_bias is not None:
        bias = bias + pointwise_bias
    return bias


# --8<-- [end:fuse]


# --8<-- [start:note_block]
class NoteBlock(nn.Module):
    "Depthwise conv + Pointwise conv"
    # THE SOURCE NOTE'S ORIGINAL BLOCK, KEPT AS IT WAS, BUG INCLUDED. Do not
    # use it: the depthwise conv hard-codes stride=2 and `stride` is never
    # used, so every block halves height and width, whatever stride you ask.

    def __init__(self, in_channels, out_channels, stride=1):
        super(NoteBlock, self).__init__()
        self.conv1 = nn.Conv2d(in_channels, in_channels, kernel_size=3, stride=2, padding=1, groups=in_channels, bias=False)
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv2 = nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=1, padding=0, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)

    def forward(self, x):
        x = self.conv1(x)
        x = self.bn1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = self.bn2(x)
        x = F.relu(x)
        return x


# --8<-- [end:note_block]


# --8<-- [start:mobilenet]
# MobileNet v1 (Howard et al. 2017, Table 1): a stride-2 3x3 stem conv to 32 channels, then
# 13 depthwise separable blocks (in_channels, out_channels, stride); 224 -> 112 -> ... -> 7.
MOBILENET_V1_BLOCKS = [
    (32, 64, 1), (64, 128, 2), (128, 128, 1), (128, 256, 2), (256, 256, 1), (256, 512, 2),
    (512, 512, 1), (512, 512, 1), (512, 512, 1), (512, 512, 1), (512, 512, 1),
    (512, 1024, 2), (1024, 1024, 1),
]


def mobilenet_v1_features(block: type[nn.Module] = DepthwiseSeparableConv2d) -> nn.Sequential:
    """MobileNet v1's convolutional body (no pooling or classifier), built from ``block``,
    which is called as ``block(in_channels, out_channels, stride=stride)``.

    >>> len(mobilenet_v1_features())   # the stem and 13 depthwise separable blocks
    14
    """
    stem = nn.Sequential(nn.Conv2d(3, 32, 3, stride=2, padding=1, bias=False),
                         nn.BatchNorm2d(32), nn.ReLU(inplace=True))
    return nn.Sequential(stem, *(block(i, o, stride=s) for i, o, s in MOBILENET_V1_BLOCKS))


# --8<-- [end:mobilenet]

"""Grouped convolution, channel shuffle and global depthwise convolution (GDC).

A grouped convolution splits its ``C`` input channels into ``G`` groups of ``C/G`` and its
``N`` kernels into ``G`` groups of ``N/G``; each group of kernels sees only its own group of
inputs, so the layer has ``1/G`` of the parameters and multiply-adds of a standard conv.
It first appeared as a way to split AlexNet over two GPUs (Krizhevsky et al., NeurIPS 2012)
and became a design choice in ResNeXt ("cardinality", Xie et al., arXiv:1611.05431).

* ``grouped_conv2d`` builds ``nn.Conv2d`` with ``groups`` after checking that the channels
  split evenly, and ``conv2d_group_by_group`` spells out what ``groups`` computes.
* ``block_diagonal_weight`` writes a grouped kernel as the equivalent dense kernel: a block
  diagonal with zeros outside the groups (grouped conv as structured sparsity).
* ``channel_shuffle`` / ``channel_unshuffle`` / ``ChannelShuffle`` let information cross
  groups between stacked grouped convs (ShuffleNet, Zhang et al., arXiv:1707.01083).
* ``GlobalDepthwiseConv2d`` is a depthwise conv whose kernel covers the whole feature map:
  a learned weighted global pooling (MobileFaceNets, Chen et al., arXiv:1804.07573).
* ``channel_connectivity`` says which output channels a module lets each input channel reach.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "grouped_conv2d",
    "conv2d_group_by_group",
    "block_diagonal_weight",
    "channel_shuffle",
    "channel_unshuffle",
    "ChannelShuffle",
    "GlobalDepthwiseConv2d",
    "channel_connectivity",
]


def _check_positive(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value}")


# --8<-- [start:grouped_conv2d]
def grouped_conv2d(
    in_channels: int,
    out_channels: int,
    kernel_size: int | tuple[int, int],
    stride: int = 1,
    padding: int = 0,
    dilation: int = 1,
    groups: int = 1,
    bias: bool = True,
) -> nn.Conv2d:
    """``nn.Conv2d`` with ``groups``, after checking that both channel counts split evenly.

    Each of the ``groups`` groups maps ``in_channels/groups`` inputs to
    ``out_channels/groups`` outputs, so the weight is ``(out, in/groups, kh, kw)``.

    >>> grouped_conv2d(12, 6, 3, groups=3).weight.shape
    torch.Size([6, 4, 3, 3])
    >>> grouped_conv2d(12, 6, 3, groups=4)
    Traceback (most recent call last):
    ...
    ValueError: out_channels (6) must be divisible by groups (4): every group needs the same number of kernels
    """
    for name, value in (("in_channels", in_channels), ("out_channels", out_channels),
                        ("groups", groups)):
        _check_positive(name, value)
    # torch would also refuse, but its message does not say which count is the problem
    if in_channels % groups:
        raise ValueError(f"in_channels ({in_channels}) must be divisible by groups ({groups}): "
                         "every group needs the same number of input channels")
    if out_channels % groups:
        raise ValueError(f"out_channels ({out_channels}) must be divisible by groups ({groups}): "
                         "every group needs the same number of kernels")
    return nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding,
                     dilation=dilation, groups=groups, bias=bias)


# --8<-- [end:grouped_conv2d]


# --8<-- [start:group_by_group]
def conv2d_group_by_group(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: int = 1,
    padding: int = 0,
    dilation: int = 1,
    groups: int = 1,
) -> torch.Tensor:
    """What ``F.conv2d(..., groups=G)`` computes, written as G separate convolutions.

    ``x`` is ``(B, C, H, W)`` and ``weight`` is ``(N, C/G, kh, kw)``, as in ``F.conv2d``.
    """
    channels, kernels = x.shape[1], weight.shape[0]
    if channels % groups or kernels % groups or weight.shape[1] * groups != channels:
        raise ValueError(f"cannot split {channels} input channels and {kernels} kernels of "
                         f"depth {weight.shape[1]} into {groups} groups")
    inputs = x.chunk(groups, dim=1)            # G tensors of (B, C/G, H, W)
    kernel_groups = weight.chunk(groups, dim=0)  # G tensors of (N/G, C/G, kh, kw)
    biases = bias.chunk(groups) if bias is not None else [None] * groups
    # group g's kernels only ever see group g's input channels
    outputs = [F.conv2d(xg, wg, bg, stride, padding, dilation)
               for xg, wg, bg in zip(inputs, kernel_groups, biases)]
    return torch.cat(outputs, dim=1)           # (B, N, H_out, W_out), groups side by side


# --8<-- [end:group_by_group]


# --8<-- [start:block_diagonal_weight]
def block_diagonal_weight(conv: nn.Conv2d) -> torch.Tensor:
    """The dense ``(N, C, kh, kw)`` kernel that computes the same as grouped ``conv``.

    Kernel ``n`` of group ``g`` keeps its weights on input channels
    ``g*C/G ... (g+1)*C/G - 1``; every other input channel gets a fixed zero. Seen as an
    ``N x C`` matrix of kernels this is block-diagonal.

    >>> conv = grouped_conv2d(4, 4, 1, groups=2, bias=False)
    >>> (block_diagonal_weight(conv)[:, :, 0, 0] != 0).int()
    tensor([[1, 1, 0, 0],
            [1, 1, 0, 0],
            [0, 0, 1, 1],
            [0, 0, 1, 1]], dtype=torch.int32)
    """
    groups, weight = conv.groups, conv.weight  # weight: (N, C/G, kh, kw)
    kernels, depth = weight.shape[:2]
    per_group = kernels // groups              # N/G kernels in each group
    dense = weight.new_zeros(kernels, depth * groups, *weight.shape[2:])  # (N, C, kh, kw)
    for g in range(groups):
        rows = slice(g * per_group, (g + 1) * per_group)
        cols = slice(g * depth, (g + 1) * depth)
        dense[rows, cols] = weight[rows]
    return dense


# --8<-- [end:block_diagonal_weight]


# --8<-- [start:channel_shuffle]
def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """Interleave the channels of ``groups`` groups (ShuffleNet's channel shuffle).

    Channel ``i`` of group ``g`` moves to position ``i*groups + g``, so the next grouped
    conv's every group receives one channel from each group of this one.

    >>> channel_shuffle(torch.arange(6.).view(1, 6, 1, 1), groups=2).flatten().tolist()
    [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]
    """
    _check_positive("groups", groups)
    batch, channels, height, width = x.shape
    if channels % groups:
        raise ValueError(f"channels ({channels}) must be divisible by groups ({groups})")
    x = x.view(batch, groups, channels // groups, height, width)  # (B, G, C/G, H, W)
    x = x.transpose(1, 2)                                         # (B, C/G, G, H, W)
    return x.reshape(batch, channels, height, width)               # (B, C, H, W), interleaved


def channel_unshuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """Undo ``channel_shuffle(x, groups)``: a shuffle with ``C/groups`` groups.

    >>> x = torch.randn(2, 12, 3, 3)
    >>> torch.equal(channel_unshuffle(channel_shuffle(x, 3), 3), x)
    True
    """
    _check_positive("groups", groups)
    channels = x.shape[1]
    if channels % groups:
        raise ValueError(f"channels ({channels}) must be divisible by groups ({groups})")
    # the shuffle is a transpose of a (G, C/G) grid of channels; transposing back is a
    # shuffle with the grid's other side as the group count
    return channel_shuffle(x, channels // groups)


class ChannelShuffle(nn.Module):
    """``channel_shuffle`` as a layer, to sit between two grouped convolutions."""

    def __init__(self, groups: int) -> None:
        super().__init__()
        _check_positive("groups", groups)
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return channel_shuffle(x, self.groups)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"


# --8<-- [end:channel_shuffle]


# --8<-- [start:gdc]
class GlobalDepthwiseConv2d(nn.Conv2d):
    """Global depthwise convolution (GDC, MobileFaceNets, arXiv:1804.07573).

    A depthwise conv (``groups = in = out = channels``) whose kernel is as large as the
    feature map, so every channel's ``H x W`` map becomes one number: a global pooling with
    a learned weight per position, where global average pooling uses ``1/(H*W)`` everywhere.
    No bias by default: MobileFaceNets follows GDC with batch normalisation.

    >>> GlobalDepthwiseConv2d(512, 7)(torch.randn(2, 512, 7, 7)).shape
    torch.Size([2, 512, 1, 1])
    """

    def __init__(self, channels: int, kernel_size: int | tuple[int, int],
                 bias: bool = False) -> None:
        _check_positive("channels", channels)
        super().__init__(channels, channels, kernel_size, groups=channels, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # a smaller map would fail inside torch, a larger one would silently give H' x W'
        # outputs: neither is a global pooling, so say what the layer expects
        if tuple(x.shape[-2:]) != self.kernel_size:
            raise ValueError(f"GlobalDepthwiseConv2d was built for {self.kernel_size[0]}x"
                             f"{self.kernel_size[1]} inputs, got {x.shape[-2]}x{x.shape[-1]}")
        return super().forward(x)  # (B, C, H, W) -> (B, C, 1, 1)


# --8<-- [end:gdc]


def channel_connectivity(module: Callable[[torch.Tensor], torch.Tensor], in_channels: int,
                         size: int = 5) -> torch.Tensor:
    """Which output channels each input channel reaches: a ``(out, in)`` bool matrix.

    Nudges one input channel at a time and records which output channels move. With random
    weights a true connection moves its output almost surely, and a missing one never does.
    """
    param = next(iter(getattr(module, "parameters", lambda: iter(()))()), None)
    device = param.device if param is not None else torch.device("cpu")
    dtype = param.dtype if param is not None else torch.float32
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(1, in_channels, size, size, generator=generator).to(device, dtype)
    with torch.no_grad():
        base = module(x)                                     # (1, N, H', W')
        columns = []
        for c in range(in_channels):
            nudged = x.clone()
            nudged[:, c] += 1.0
            moved = (module(nudged) - base).abs().amax(dim=(0, 2, 3))  # (N,)
            columns.append(moved > 1e-6 * (1 + base.abs().amax()))
    return torch.stack(columns, dim=1).cpu()                 # (N, C)

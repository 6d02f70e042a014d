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
* ``ShuffleUnit`` / ``shufflenet_v1``: the ShuffleNet v1 unit (1x1 group conv, channel shuffle,
  3x3 depthwise conv, 1x1 group conv; residual add, or the stride-2 concat with an average
  pool) and the whole network of the paper's Table 1 at scale 1x (Zhang et al., arXiv:1707.01083).
  ``shufflenet_unit_macs`` is the unit's cost ``hw(2cm/g + 9m)`` from that paper, and
  ``group_conv_memory_access`` the memory access cost of a 1x1 group conv that ShuffleNet V2
  holds against it (Ma et al., arXiv:1807.11164).
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
    "ResNeXtPaths",
    "pointwise_macs_share",
    "shufflenet_unit_macs",
    "group_conv_memory_access",
    "ShuffleUnit",
    "SHUFFLENET_V1_CHANNELS",
    "SHUFFLENET_V1_REPEATS",
    "shufflenet_v1",
]


def _check_positive(name: str, value: int, low: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < low:
        kind = "a positive integer" if low == 1 else "zero or positive"
        raise ValueError(f"{name} must be {kind}, got {value}")


def _check_size2(name: str, value, low: int = 1) -> None:
    """An int or a pair of ints, each >= low (as nn.Conv2d takes kernel_size, stride, ...)."""
    for v in value if isinstance(value, (tuple, list)) and len(value) == 2 else [value]:
        _check_positive(name, v, low)


def _check_bool(name: str, value) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")


def _check_tensor(name: str, value, dim: int) -> None:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if value.dim() != dim:
        raise ValueError(f"{name} must be {dim}-D, got shape {tuple(value.shape)}")


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
    """``nn.Conv2d`` with ``groups``, once both channel counts split evenly.

    Each group maps ``in_channels/groups`` inputs to ``out_channels/groups``
    outputs, so the weight is ``(out_channels, in_channels/groups, kh, kw)``.

    >>> grouped_conv2d(12, 6, 3, groups=3).weight.shape
    torch.Size([6, 4, 3, 3])
    >>> grouped_conv2d(12, 6, 3, groups=4)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: out_channels (6) must be divisible by groups (4): ...
    """
    for name, value in (("in_channels", in_channels),
                        ("out_channels", out_channels), ("groups", groups)):
        _check_positive(name, value)
    for name, value, low in (("kernel_size", kernel_size, 1), ("stride", stride, 1),
                             ("padding", padding, 0), ("dilation", dilation, 1)):
        _check_size2(name, value, low)
    _check_bool("bias", bias)
    # torch refuses too, but does not say which count is the problem
    if in_channels % groups:
        raise ValueError(
            f"in_channels ({in_channels}) must be divisible by groups "
            f"({groups}): every group needs the same number of input channels")
    if out_channels % groups:
        raise ValueError(
            f"out_channels ({out_channels}) must be divisible by groups "
            f"({groups}): every group needs the same number of kernels")
    return nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride,
                     padding=padding, dilation=dilation, groups=groups,
                     bias=bias)


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
    """What ``F.conv2d(..., groups=G)`` computes, as G separate convs.

    ``x`` is ``(B, C, H, W)``, ``weight`` is ``(N, C/G, kh, kw)``.
    """
    _check_tensor("x", x, 4)
    _check_tensor("weight", weight, 4)
    _check_positive("groups", groups)
    for name, value, low in (("stride", stride, 1), ("padding", padding, 0),
                             ("dilation", dilation, 1)):
        _check_size2(name, value, low)
    channels, kernels, depth = x.shape[1], weight.shape[0], weight.shape[1]
    if kernels % groups or depth * groups != channels:
        raise ValueError(
            f"cannot split {channels} input channels and {kernels} kernels "
            f"of depth {depth} into {groups} groups")
    xs = x.chunk(groups, dim=1)       # G tensors of (B, C/G, H, W)
    ws = weight.chunk(groups, dim=0)  # G tensors of (N/G, C/G, kh, kw)
    bs = bias.chunk(groups) if bias is not None else [None] * groups
    # group g's kernels see group g's input channels and nothing else
    ys = [F.conv2d(xg, wg, bg, stride, padding, dilation)
          for xg, wg, bg in zip(xs, ws, bs)]
    return torch.cat(ys, dim=1)       # (B, N, H_out, W_out)


# --8<-- [end:group_by_group]


# --8<-- [start:block_diagonal_weight]
def block_diagonal_weight(conv: nn.Conv2d) -> torch.Tensor:
    """The dense ``(N, C, kh, kw)`` kernel equivalent to grouped ``conv``.

    Kernel ``n`` of group ``g`` keeps its weights on the input channels
    ``g*C/G ... (g+1)*C/G - 1``; all other input channels get a fixed zero.
    As an ``N x C`` matrix of kernels this is block-diagonal.

    >>> conv = grouped_conv2d(4, 4, 1, groups=2, bias=False)
    >>> (block_diagonal_weight(conv)[:, :, 0, 0] != 0).int()
    tensor([[1, 1, 0, 0],
            [1, 1, 0, 0],
            [0, 0, 1, 1],
            [0, 0, 1, 1]], dtype=torch.int32)
    """
    groups, weight = conv.groups, conv.weight   # weight: (N, C/G, kh, kw)
    kernels, depth = weight.shape[:2]
    per_group = kernels // groups               # N/G kernels per group
    # (N, C, kh, kw), zero everywhere to start with
    dense = weight.new_zeros(kernels, depth * groups, *weight.shape[2:])
    for g in range(groups):
        rows = slice(g * per_group, (g + 1) * per_group)
        cols = slice(g * depth, (g + 1) * depth)
        dense[rows, cols] = weight[rows]        # the block on the diagonal
    return dense


# --8<-- [end:block_diagonal_weight]


# --8<-- [start:channel_shuffle]
def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """Interleave the channels of ``groups`` groups (ShuffleNet).

    Channel ``i`` of group ``g`` moves to position ``i*groups + g``, so each
    group of the next grouped conv gets channels from every group of this.

    >>> x = torch.arange(6.).view(1, 6, 1, 1)
    >>> channel_shuffle(x, groups=2).flatten().tolist()
    [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]
    """
    _check_tensor("x", x, 4)
    _check_positive("groups", groups)
    batch, channels, height, width = x.shape
    if channels % groups:
        raise ValueError(f"channels ({channels}) must be divisible by "
                         f"groups ({groups})")
    # (B, C, H, W) -> (B, G, C/G, H, W): one row of channels per group
    x = x.view(batch, groups, channels // groups, height, width)
    x = x.transpose(1, 2)                      # (B, C/G, G, H, W)
    return x.reshape(batch, channels, height, width)  # (B, C, H, W)


def channel_unshuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """Undo ``channel_shuffle(x, groups)``.

    >>> x = torch.randn(2, 12, 3, 3)
    >>> torch.equal(channel_unshuffle(channel_shuffle(x, 3), 3), x)
    True
    """
    _check_tensor("x", x, 4)
    _check_positive("groups", groups)
    channels = x.shape[1]
    if channels % groups:
        raise ValueError(f"channels ({channels}) must be divisible by "
                         f"groups ({groups})")
    # the shuffle transposes a (G, C/G) grid of channels; transposing it
    # back is a shuffle with the grid's other side, C/G, as the group count
    return channel_shuffle(x, channels // groups)


class ChannelShuffle(nn.Module):
    """``channel_shuffle`` as a layer, to sit between two grouped convs."""

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
    """Global depthwise convolution (GDC; MobileFaceNets, arXiv:1804.07573).

    A depthwise conv (``groups = in = out = channels``) whose kernel is as
    large as the feature map, so each channel's ``H x W`` map becomes one
    number: global pooling with a learned weight for every position, where
    global average pooling uses ``1/(H*W)`` everywhere. No bias by default:
    MobileFaceNets follows GDC with batch normalisation.

    >>> GlobalDepthwiseConv2d(512, 7)(torch.randn(2, 512, 7, 7)).shape
    torch.Size([2, 512, 1, 1])
    """

    def __init__(self, channels: int, kernel_size: int | tuple[int, int],
                 bias: bool = False) -> None:
        _check_positive("channels", channels)
        _check_size2("kernel_size", kernel_size)
        _check_bool("bias", bias)
        super().__init__(channels, channels, kernel_size, groups=channels,
                         bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # a smaller map fails inside torch, a larger one silently gives an
        # H' x W' output: neither is global pooling, so say what is expected
        if tuple(x.shape[-2:]) != self.kernel_size:
            kh, kw = self.kernel_size
            raise ValueError(
                f"GlobalDepthwiseConv2d was built for {kh}x{kw} inputs, "
                f"got {x.shape[-2]}x{x.shape[-1]}")
        return super().forward(x)  # (B, C, H, W) -> (B, C, 1, 1)


# --8<-- [end:gdc]


def channel_connectivity(module: Callable[[torch.Tensor], torch.Tensor], in_channels: int,
                         size: int = 5) -> torch.Tensor:
    """Which output channels each input channel reaches: a ``(out, in)`` bool matrix.

    Nudges one input channel at a time and records which output channels move. With random
    weights a true connection moves its output almost surely, and a missing one never does.
    """
    if not callable(module):
        raise TypeError(f"module must be callable, got {type(module).__name__}")
    _check_positive("in_channels", in_channels)
    _check_positive("size", size)
    param = next(iter(getattr(module, "parameters", lambda: iter(()))()), None)
    device = param.device if param is not None else torch.device("cpu")
    dtype = param.dtype if param is not None else torch.float32
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(1, in_channels, size, size, generator=generator).to(device, dtype)
    with torch.no_grad():
        try:
            base = module(x)                                 # (1, N, H', W')
        except RuntimeError as error:   # torch's own complaint, said in this call's terms
            raise ValueError(f"module does not take in_channels={in_channels} channels of "
                             f"size {size}x{size}: {error}") from None
        columns = []
        for c in range(in_channels):
            nudged = x.clone()
            nudged[:, c] += 1.0
            moved = (module(nudged) - base).abs().amax(dim=(0, 2, 3))  # (N,)
            columns.append(moved > 1e-6 * (1 + base.abs().amax()))
    return torch.stack(columns, dim=1).cpu()                 # (N, C)


# --8<-- [start:resnext]
class ResNeXtPaths(nn.Module):
    """ResNeXt's block in its form (a) (Xie et al., arXiv:1611.05431, Fig. 3): ``cardinality``
    parallel paths, each a whole bottleneck 1x1 -> 3x3 -> 1x1 (``in -> width -> width -> out``),
    their outputs summed. ``to_grouped()`` returns form (c) computing exactly the same:
    one 1x1, one grouped 3x3 (``groups=cardinality``), one 1x1. (Only the convolutions and
    ReLUs of the paths; the residual add and BatchNorm are the same in both forms.)

    >>> paths = ResNeXtPaths(256, 256, cardinality=32, width=4)
    >>> x = torch.randn(1, 256, 8, 8)
    >>> torch.allclose(paths(x), paths.to_grouped()(x), atol=1e-5)
    True
    """

    def __init__(self, in_channels: int, out_channels: int, cardinality: int = 32,
                 width: int = 4) -> None:
        super().__init__()
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels),
                            ("cardinality", cardinality), ("width", width)):
            _check_positive(name, value)
        self.paths = nn.ModuleList(nn.Sequential(
            nn.Conv2d(in_channels, width, 1, bias=False), nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=1, bias=False), nn.ReLU(),
            nn.Conv2d(width, out_channels, 1, bias=False)) for _ in range(cardinality))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return sum(path(x) for path in self.paths)     # form (a): the paths are summed

    def to_grouped(self) -> nn.Sequential:
        """Form (c). The first 1x1s side by side are one 1x1 to ``C * width`` channels; the
        3x3s, each seeing only its own path's channels, are one grouped conv; and summing
        the last 1x1s equals one 1x1 over the concatenated paths (a sum of matrix products
        is the product of the stacked matrices). A grouped conv concatenates its groups;
        the sum is done by the 1x1 after it."""
        first = [p[0].weight for p in self.paths]     # C tensors of (width, in, 1, 1)
        middle = [p[2].weight for p in self.paths]    # C tensors of (width, width, 3, 3)
        last = [p[4].weight for p in self.paths]      # C tensors of (out, width, 1, 1)
        c, width = len(self.paths), first[0].shape[0]
        reduce = nn.Conv2d(first[0].shape[1], c * width, 1, bias=False)
        grouped = nn.Conv2d(c * width, c * width, 3, padding=1, groups=c, bias=False)
        expand = nn.Conv2d(c * width, last[0].shape[0], 1, bias=False)
        with torch.no_grad():
            reduce.weight.copy_(torch.cat(first))     # (C*width, in, 1, 1)
            grouped.weight.copy_(torch.cat(middle))   # (C*width, width, 3, 3)
            expand.weight.copy_(torch.cat(last, dim=1))  # (out, C*width, 1, 1)
        return nn.Sequential(reduce, nn.ReLU(), grouped, nn.ReLU(), expand)
# --8<-- [end:resnext]
# --8<-- [start:pointwise_cost]
def pointwise_macs_share(channels: int, bottleneck_channels: int,
                         groups: int = 1, kernel_size: int = 3) -> float:
    """Share of a bottleneck's multiply-adds spent in its two 1x1 convs.

    The bottleneck maps ``c -> m`` (1x1, ``groups``), filters the ``m``
    channels with a ``k x k`` depthwise conv, and maps ``m -> c`` (1x1,
    ``groups``). Per pixel: ``2cm/g`` for the 1x1 convs, ``k^2 m`` for the
    depthwise one.

    >>> round(pointwise_macs_share(240, 60), 3)   # ungrouped: 1x1 convs dominate
    0.982
    >>> round(pointwise_macs_share(240, 60, groups=3), 3)
    0.947
    """
    for name, value in (("channels", channels),
                        ("bottleneck_channels", bottleneck_channels),
                        ("groups", groups), ("kernel_size", kernel_size)):
        _check_positive(name, value)
    pointwise = 2 * channels * bottleneck_channels / groups
    return pointwise / (pointwise + kernel_size ** 2 * bottleneck_channels)


def shufflenet_unit_macs(channels: int, bottleneck_channels: int,
                         height: int, width: int, groups: int = 1) -> int:
    """Multiply-adds of a stride-1 ShuffleNet unit: ``hw(2cm/g + 9m)``.

    (ShuffleNet, Sec. 3.2; a ResNet bottleneck costs ``hw(2cm + 9m^2)``,
    ResNeXt's ``hw(2cm + 9m^2/g)``.) Shuffle, additions, BN and ReLU are
    not multiply-adds and are not counted.

    >>> shufflenet_unit_macs(240, 60, 28, 28, groups=3)
    7949760
    """
    for name, value in (("channels", channels),
                        ("bottleneck_channels", bottleneck_channels),
                        ("height", height), ("width", width),
                        ("groups", groups)):
        _check_positive(name, value)
    if channels % groups or bottleneck_channels % groups:
        raise ValueError(
            f"channels ({channels}) and bottleneck_channels "
            f"({bottleneck_channels}) must be divisible by groups ({groups})")
    per_pixel = 2 * channels * bottleneck_channels // groups + 9 * bottleneck_channels
    return height * width * per_pixel


def group_conv_memory_access(height: int, width: int, in_channels: int,
                             out_channels: int, groups: int = 1) -> int:
    """Memory access cost of a 1x1 group conv, in numbers read or written.

    ShuffleNet V2 (guideline G2): read the input ``hw c1``, write the output
    ``hw c2``, read the weights ``c1 c2 / g``. With the multiply-adds
    ``B = hw c1 c2 / g`` held fixed, this is ``hw c1 + B g / c1 + B / hw``:
    it grows with ``g``.

    >>> group_conv_memory_access(56, 56, 128, 128, groups=1)
    819200
    """
    for name, value in (("height", height), ("width", width),
                        ("in_channels", in_channels),
                        ("out_channels", out_channels), ("groups", groups)):
        _check_positive(name, value)
    if in_channels % groups or out_channels % groups:
        raise ValueError(
            f"in_channels ({in_channels}) and out_channels ({out_channels}) "
            f"must be divisible by groups ({groups})")
    return (height * width * (in_channels + out_channels)
            + in_channels * out_channels // groups)


# --8<-- [end:pointwise_cost]


# --8<-- [start:shuffle_unit]
class ShuffleUnit(nn.Module):
    """The ShuffleNet v1 unit (arXiv:1707.01083, Fig. 2 b and c).

    1x1 group conv (c_in -> m) - BN - ReLU - channel shuffle - 3x3 depthwise
    conv (stride 1 or 2) - BN - 1x1 group conv (m -> c_branch) - BN, then

    * stride 1: ``relu(x + branch)``; needs ``in_channels == out_channels``;
    * stride 2: ``relu(cat(avg_pool_3x3(x), branch))``: the branch makes only
      ``out_channels - in_channels`` channels, the pooled input the rest.

    ``bottleneck_channels`` defaults to ``out_channels // 4``; no ReLU after
    the depthwise conv (as in the paper). ``first_groups`` is the first 1x1
    conv's groups (the paper uses 1 in the very first unit, whose 24 input
    channels are too few to split); it defaults to ``groups``.

    >>> unit = ShuffleUnit(240, 240, stride=1, groups=3)
    >>> unit(torch.zeros(1, 240, 28, 28)).shape
    torch.Size([1, 240, 28, 28])
    >>> ShuffleUnit(240, 480, stride=2, groups=3)(torch.zeros(1, 240, 28, 28)).shape
    torch.Size([1, 480, 14, 14])
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1,
                 groups: int = 1, bottleneck_channels: int | None = None,
                 first_groups: int | None = None) -> None:
        super().__init__()
        for name, value in (("in_channels", in_channels),
                            ("out_channels", out_channels), ("groups", groups)):
            _check_positive(name, value)
        if stride not in (1, 2) or isinstance(stride, bool):
            raise ValueError(f"stride must be 1 or 2, got {stride!r}")
        if stride == 1 and in_channels != out_channels:
            raise ValueError(
                f"stride 1 adds the input back, so in_channels ({in_channels}) "
                f"must equal out_channels ({out_channels})")
        if stride == 2 and out_channels <= in_channels:
            raise ValueError(
                f"stride 2 concatenates the pooled input, so out_channels "
                f"({out_channels}) must exceed in_channels ({in_channels})")
        m = out_channels // 4 if bottleneck_channels is None else bottleneck_channels
        _check_positive("bottleneck_channels", m)
        first = groups if first_groups is None else first_groups
        _check_positive("first_groups", first)
        branch_out = out_channels - in_channels if stride == 2 else out_channels
        self.stride, self.groups = stride, groups
        # grouped_conv2d names the count that does not split evenly
        self.reduce = grouped_conv2d(in_channels, m, 1, groups=first, bias=False)
        self.bn1 = nn.BatchNorm2d(m)
        self.shuffle = ChannelShuffle(groups)
        self.depthwise = grouped_conv2d(m, m, 3, stride=stride, padding=1,
                                        groups=m, bias=False)
        self.bn2 = nn.BatchNorm2d(m)
        self.expand = grouped_conv2d(m, branch_out, 1, groups=groups, bias=False)
        self.bn3 = nn.BatchNorm2d(branch_out)

    def branch(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn1(self.reduce(x)))  # (B, m, H, W)
        y = self.shuffle(y)                       # (B, m, H, W), interleaved
        y = self.bn2(self.depthwise(y))           # (B, m, H/s, W/s), no ReLU
        return self.bn3(self.expand(y))           # (B, c_branch, H/s, W/s)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            return torch.relu(x + self.branch(x))     # (B, c, H, W)
        shortcut = F.avg_pool2d(x, 3, stride=2, padding=1)  # (B, c_in, H/2, W/2)
        # (B, c_in + c_branch, H/2, W/2) = (B, out_channels, H/2, W/2)
        return torch.relu(torch.cat([shortcut, self.branch(x)], dim=1))


# --8<-- [end:shuffle_unit]


# --8<-- [start:shufflenet_v1]
# Output channels of stages 2, 3, 4 at scale 1x, per number of groups (Table 1)
SHUFFLENET_V1_CHANNELS = {
    1: (144, 288, 576),
    2: (200, 400, 800),
    3: (240, 480, 960),
    4: (272, 544, 1088),
    8: (384, 768, 1536),
}
SHUFFLENET_V1_REPEATS = (4, 8, 4)   # units per stage; the first has stride 2


def shufflenet_v1(groups: int = 3, num_classes: int = 1000) -> nn.Sequential:
    """ShuffleNet v1 at scale 1x, as in Table 1 of arXiv:1707.01083.

    3x3 conv (24, stride 2) - 3x3 max pool (stride 2) - stages 2, 3, 4 of
    ShuffleNet units - global average pool - fully connected layer. The first
    1x1 conv of stage 2 is not grouped (only 24 input channels).

    >>> net = shufflenet_v1(groups=3)
    >>> net(torch.zeros(1, 3, 224, 224)).shape
    torch.Size([1, 1000])
    """
    if isinstance(groups, bool) or not isinstance(groups, int) or groups not in SHUFFLENET_V1_CHANNELS:
        raise ValueError(f"groups must be one of {sorted(SHUFFLENET_V1_CHANNELS)} "
                         f"(the paper's Table 1), got {groups!r}")
    _check_positive("num_classes", num_classes)
    layers = [nn.Conv2d(3, 24, 3, stride=2, padding=1, bias=False),
              nn.BatchNorm2d(24), nn.ReLU(),
              nn.MaxPool2d(3, stride=2, padding=1)]   # (B, 24, 56, 56)
    channels = 24
    for out, repeat in zip(SHUFFLENET_V1_CHANNELS[groups], SHUFFLENET_V1_REPEATS):
        for i in range(repeat):
            first = 1 if channels == 24 else groups   # stage 2's first unit
            layers.append(ShuffleUnit(channels, out, stride=2 if i == 0 else 1,
                                      groups=groups, first_groups=first))
            channels = out
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(),   # (B, C, 1, 1) -> (B, C)
               nn.Linear(channels, num_classes)]
    return nn.Sequential(*layers)


# --8<-- [end:shufflenet_v1]

"""Structural re-parameterisation: train a block with several branches, deploy one convolution.

Convolution and eval-mode BatchNorm are affine maps, so a block built only from them (parallel
branches that are summed, or a 1x1 conv followed by a k x k conv) equals ONE convolution, whose
kernel and bias can be computed from the block's weights after training.

* ``fuse_conv_bn``: fold an eval-mode BatchNorm into the convolution before it (what
  ``torch.nn.utils.fusion.fuse_conv_bn_eval`` does, with argument checks).
* ``merge_parallel``: sum the kernels of parallel convolutions of different sizes, centred
  (``pad_kernel``), with the identity written as a kernel (``identity_kernel``). This is the
  deploy step of RepVGG (X. Ding et al., "RepVGG: Making VGG-style ConvNets Great Again",
  CVPR 2021, arXiv:2101.03697), of ACNet's asymmetric blocks (X. Ding et al., "ACNet:
  Strengthening the Kernel Skeletons for Powerful CNN via Asymmetric Convolution Blocks",
  ICCV 2019, arXiv:1908.03930), of RepLKNet's large depthwise kernel with a small one beside it
  (X. Ding et al., "Scaling Up Your Kernels to 31x31: Revisiting Large Kernel Design in CNNs",
  CVPR 2022, arXiv:2203.06717) and of MobileOne's branches (P. K. A. Vasu et al., "MobileOne:
  An Improved One millisecond Mobile Backbone", CVPR 2023, arXiv:2206.04040).
* ``merge_sequential`` / ``sequential_kernel``: a 1x1 conv followed by a k x k conv is one
  k x k conv (X. Ding et al., "Diverse Branch Block: Building a Convolution as an Inception-like
  Unit", CVPR 2021, arXiv:2103.13425) -- exactly only when the 1x1's bias is not lost in the
  k x k's zero padding, which ``merge_sequential`` checks.
* ``RepVGGBlock`` and ``ACBlock``: training-time blocks whose ``fuse()`` returns the deploy form;
  ``repvgg_params`` / ``repvgg_macs`` / ``acblock_params`` / ``acblock_macs``: their costs.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import torch
from torch import nn

__all__ = [
    "TOLERANCES",
    "assert_fused_close",
    "fuse_conv_bn",
    "conv_bn",
    "randomize_batchnorm",
    "pad_kernel",
    "identity_kernel",
    "merge_parallel",
    "sequential_kernel",
    "merge_sequential",
    "RepVGGBlock",
    "ACBlock",
    "repvgg_params",
    "repvgg_macs",
    "acblock_params",
    "acblock_macs",
]

# How close a fused module's output is to its training-time form's: the two compute the same
# sums in a different order, so they differ by rounding, which grows with the size of the
# values summed. Bound: max |fused - original| <= TOLERANCES[dtype] * max |original|.
TOLERANCES = {torch.float64: 1e-12, torch.float32: 5e-5}


def assert_fused_close(actual: torch.Tensor, expected: torch.Tensor) -> None:
    """``torch.testing.assert_close`` with the bound above: ``atol`` is
    ``TOLERANCES[dtype]`` times the largest ``|expected|``, ``rtol`` 0.

    >>> assert_fused_close(torch.ones(3) + 1e-6, torch.ones(3))
    """
    if expected.dtype not in TOLERANCES:
        raise ValueError(f"no tolerance for {expected.dtype}; use float32 or float64")
    scale = expected.detach().abs().max().item() if expected.numel() else 0.0
    torch.testing.assert_close(actual, expected, rtol=0,
                               atol=TOLERANCES[expected.dtype] * max(scale, 1e-30))


def _positive(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def _groups_divide(in_channels: int, out_channels: int, groups: int) -> None:
    _positive("groups", groups)
    for name, value in (("in_channels", in_channels), ("out_channels", out_channels)):
        if value % groups:
            raise ValueError(f"{name} ({value}) must be divisible by groups ({groups})")


def _check_conv(name: str, conv) -> None:
    """A Conv2d whose padding is numbers and zeros: what the merges below can reason about."""
    if not isinstance(conv, nn.Conv2d):
        raise TypeError(f"{name} must be an nn.Conv2d, got {type(conv).__name__}")
    if isinstance(conv.padding, str):
        raise ValueError(f"{name} has padding={conv.padding!r}; give the padding as numbers")
    if conv.padding_mode != "zeros":
        raise ValueError(f"{name} has padding_mode={conv.padding_mode!r}; only 'zeros' "
                         "padding is an affine map that the merges can move")


# --8<-- [start:fuse_conv_bn]
def _fold(weight, bias, bn: nn.BatchNorm2d):
    """Kernel and bias of ``bn(conv(x))``: ``W' = W g / sqrt(v + eps)``,
    ``b' = beta + (b - mu) g / sqrt(v + eps)``, one scale per output channel."""
    if not isinstance(bn, nn.BatchNorm2d):
        raise TypeError(f"bn must be an nn.BatchNorm2d, got {type(bn).__name__}")
    if bn.training:
        raise ValueError("bn is in training mode: it normalises with each batch's "
                         "own mean and variance, which no fixed kernel can do; "
                         "call .eval() first")
    if bn.running_mean is None or bn.running_var is None:
        raise ValueError("bn has no running statistics (track_running_stats=False)")
    if bn.num_features != weight.shape[0]:
        raise ValueError(f"bn has {bn.num_features} features but the conv has "
                         f"{weight.shape[0]} output channels")
    ones = torch.ones_like(bn.running_mean)
    gamma = bn.weight if bn.weight is not None else ones
    beta = bn.bias if bn.bias is not None else torch.zeros_like(ones)
    bias = bias if bias is not None else torch.zeros_like(ones)
    rstd = torch.rsqrt(bn.running_var + bn.eps)             # 1 / sqrt(v + eps), (out,)
    scale = gamma * rstd
    return (weight * scale.reshape(-1, 1, 1, 1),             # (out, in/g, kh, kw)
            (bias - bn.running_mean) * rstd * gamma + beta)


def fuse_conv_bn(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> nn.Conv2d:
    """A new ``nn.Conv2d`` (with a bias) equal to ``bn(conv(x))`` in eval mode.

    Stride, padding (and its mode), dilation and groups are kept; ``conv``
    may or may not have a bias; ``bn`` must be in eval mode (else
    ValueError).

    >>> conv, bn = nn.Conv2d(4, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8)
    >>> bn = bn.eval()
    >>> fused = fuse_conv_bn(conv, bn)
    >>> x = torch.randn(2, 4, 5, 5)
    >>> torch.allclose(fused(x), bn(conv(x)), atol=1e-6)
    True
    """
    if not isinstance(conv, nn.Conv2d):
        raise TypeError(f"conv must be an nn.Conv2d, got {type(conv).__name__}")
    weight, bias = _fold(conv.weight, conv.bias, bn)
    fused = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size,
                      conv.stride, conv.padding, conv.dilation, conv.groups,
                      bias=True, padding_mode=conv.padding_mode,
                      device=weight.device, dtype=weight.dtype)
    with torch.no_grad():
        fused.weight.copy_(weight)
        fused.bias.copy_(bias)
    return fused


# --8<-- [end:fuse_conv_bn]


def conv_bn(in_channels: int, out_channels: int, kernel_size=3, stride=1, padding=0,
            groups: int = 1) -> nn.Sequential:
    """``Conv2d`` (no bias: the BatchNorm has one) followed by ``BatchNorm2d``, as
    ``nn.Sequential`` with the names ``conv`` and ``bn``.

    >>> unit = conv_bn(4, 8, 3, padding=1)
    >>> [name for name, _ in unit.named_children()], unit.conv.bias is None
    (['conv', 'bn'], True)
    """
    return nn.Sequential(OrderedDict(
        conv=nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding,
                       groups=groups, bias=False),
        bn=nn.BatchNorm2d(out_channels)))


def randomize_batchnorm(module: nn.Module, seed: int = 0) -> nn.Module:
    """Give every ``BatchNorm2d`` in ``module`` random statistics and affine parameters
    (a fresh BatchNorm is the identity map, which would hide a wrong fold). Returns
    ``module``.

    >>> bn = randomize_batchnorm(nn.BatchNorm2d(3))
    >>> bool((bn.running_var > 0).all()), bool((bn.running_mean != 0).all())
    (True, True)
    """
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for bn in (m for m in module.modules() if isinstance(m, nn.BatchNorm2d)):
            n = bn.num_features

            def draw(low, high):
                values = low + (high - low) * torch.rand(n, generator=generator,
                                                         dtype=torch.float64)
                return values.to(bn.running_mean.dtype)

            bn.running_mean.copy_(draw(-1.0, 1.0))
            bn.running_var.copy_(draw(0.25, 2.0))
            if bn.weight is not None:
                bn.weight.copy_(draw(0.5, 1.5))
                bn.bias.copy_(draw(-0.5, 0.5))
    return module


# --8<-- [start:kernels]
def pad_kernel(weight: torch.Tensor, kernel_size) -> torch.Tensor:
    """Zero-pad ``weight`` (out, in/g, kh, kw) to ``kernel_size``, centred.

    A conv with the padded kernel and ``(K - k) / 2`` more padding (times
    the dilation) computes the same output as the small one.

    >>> pad_kernel(torch.ones(1, 1, 1, 1), 3)[0, 0]
    tensor([[0., 0., 0.],
            [0., 1., 0.],
            [0., 0., 0.]])
    """
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    dh, dw = kh - weight.shape[-2], kw - weight.shape[-1]
    if dh < 0 or dw < 0 or dh % 2 or dw % 2:
        raise ValueError(f"a {tuple(weight.shape[-2:])} kernel cannot be centred in "
                         f"{(kh, kw)}: each side must grow by an even amount")
    # (left, right, top, bottom) zeros around the last two dimensions
    return nn.functional.pad(weight, (dw // 2, dw // 2, dh // 2, dh // 2))


def identity_kernel(channels: int, kernel_size=1, groups: int = 1,
                    dtype=None, device=None) -> torch.Tensor:
    """The kernel (channels, channels/g, k, k) of the convolution that returns
    its input: output channel ``c`` copies input channel ``c``, which is input
    ``c % (channels / g)`` of its group, at the centre tap.

    >>> identity_kernel(4, 3, groups=2)[:, :, 1, 1]
    tensor([[1., 0.],
            [0., 1.],
            [1., 0.],
            [0., 1.]])
    """
    _positive("channels", channels)
    _groups_divide(channels, channels, groups)
    _positive("kernel_size", kernel_size)
    if kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be odd (a centre tap), got {kernel_size}")
    per_group = channels // groups
    kernel = torch.zeros(channels, per_group, kernel_size, kernel_size,
                         dtype=dtype, device=device)
    centre = kernel_size // 2
    kernel[torch.arange(channels), torch.arange(channels) % per_group, centre, centre] = 1
    return kernel
# --8<-- [end:kernels]


# --8<-- [start:merge_parallel]
def merge_parallel(convs: Sequence[nn.Conv2d]) -> nn.Conv2d:
    """One ``nn.Conv2d`` equal to ``sum(conv(x) for conv in convs)``.

    The convs must read the same input with the same stride, dilation and
    groups, and their paddings must put every kernel's centre on the same
    input pixel: ``2 p - d (k - 1)`` equal for all, per dimension. The
    merged kernel is the largest size; smaller kernels are zero-padded,
    centred, and added; the biases add.

    >>> big = nn.Conv2d(2, 2, 5, padding=2)
    >>> small = nn.Conv2d(2, 2, 3, padding=1)
    >>> merged = merge_parallel([big, small])
    >>> x = torch.randn(1, 2, 8, 8)
    >>> merged.kernel_size, torch.allclose(merged(x), big(x) + small(x), atol=1e-6)
    ((5, 5), True)
    """
    convs = list(convs)
    if not convs:
        raise ValueError("convs must hold at least one nn.Conv2d")
    for i, conv in enumerate(convs):
        _check_conv(f"convs[{i}]", conv)
    first = convs[0]
    for i, conv in enumerate(convs[1:], start=1):
        for attr in ("in_channels", "out_channels", "stride", "dilation", "groups"):
            if getattr(conv, attr) != getattr(first, attr):
                raise ValueError(f"convs[{i}] has {attr}={getattr(conv, attr)} but convs[0] "
                                 f"has {getattr(first, attr)}: parallel branches merge only "
                                 "when they share it")
    size, padding = [], []
    for dim in (0, 1):
        d = first.dilation[dim]
        # where the kernel's centre falls, in half pixels
        offsets = {2 * c.padding[dim] - d * (c.kernel_size[dim] - 1) for c in convs}
        if len(offsets) > 1:
            raise ValueError("the paddings do not put the kernels' centres on the same "
                             f"pixel (dimension {dim}: 2p - d(k-1) = {sorted(offsets)})")
        k = max(c.kernel_size[dim] for c in convs)
        size.append(k)
        padding.append((offsets.pop() + d * (k - 1)) // 2)
    weight = sum(pad_kernel(c.weight, size) for c in convs)    # (out, in/g, K, K)
    bias = sum(c.bias for c in convs if c.bias is not None)
    merged = nn.Conv2d(first.in_channels, first.out_channels, tuple(size),
                       first.stride, tuple(padding), first.dilation, first.groups,
                       bias=True, device=weight.device, dtype=weight.dtype)
    with torch.no_grad():
        merged.weight.copy_(weight)
        if torch.is_tensor(bias):
            merged.bias.copy_(bias)
        else:                       # no branch had a bias
            merged.bias.zero_()
    return merged


# --8<-- [end:merge_parallel]


# --8<-- [start:sequential]
def sequential_kernel(w1, b1, w2, b2, groups: int = 1):
    """Kernel and bias of ``conv2(conv1(x))`` for a 1x1 ``conv1`` (w1, b1)
    and a k x k ``conv2`` (w2, b2), both with ``groups``, as if no padding
    were involved: ``W = W2 W1`` per tap, ``b = b2 + sum(W2) b1``.

    >>> w, b = sequential_kernel(torch.ones(3, 2, 1, 1), torch.ones(3),
    ...                          torch.ones(4, 3, 3, 3), None)
    >>> tuple(w.shape), w[0, 0, 0, 0].item(), b[0].item()
    ((4, 2, 3, 3), 3.0, 27.0)
    """
    mid, out = w1.shape[0], w2.shape[0]
    cin = w1.shape[1] * groups
    if w1.shape[-2:] != (1, 1):
        raise ValueError(f"w1 must be a 1x1 kernel, got {tuple(w1.shape[-2:])}")
    if w2.shape[1] * groups != mid:
        raise ValueError(f"w2 reads {w2.shape[1] * groups} channels, w1 gives {mid}")
    a = w1.reshape(groups, mid // groups, cin // groups)        # (g, M/g, C/g)
    b = w2.reshape(groups, out // groups, mid // groups, *w2.shape[-2:])
    # b: (g, O/g, M/g, kh, kw); each tap of conv2 mixes the 1x1's outputs
    weight = torch.einsum("gomij,gmc->gocij", b, a)
    weight = weight.reshape(out, cin // groups, *w2.shape[-2:])  # (O, C/g, kh, kw)
    bias = torch.zeros(out, dtype=w2.dtype, device=w2.device) if b2 is None else b2
    if b1 is not None:
        # a constant b1 in every pixel passes through every tap of conv2
        bias = bias + torch.einsum("gomij,gm->go", b, b1.reshape(groups, -1)).reshape(out)
    return weight, bias


def merge_sequential(first: nn.Conv2d, second: nn.Conv2d) -> nn.Conv2d:
    """One ``nn.Conv2d`` equal to ``second(first(x))``, ``first`` a 1x1 conv.

    Exact only if ``second`` has no padding or ``first`` has no bias: the
    k x k's zero padding pads the 1x1's OUTPUT with zeros, where the merged
    conv would produce ``b1`` there. Pad the 1x1 instead (its output is
    ``b1`` on the border, as in DBB); anything else is a ValueError.

    >>> first = nn.Conv2d(3, 6, 1, padding=1)
    >>> second = nn.Conv2d(6, 4, 3)
    >>> merged = merge_sequential(first, second)
    >>> x = torch.randn(1, 3, 7, 7)
    >>> merged.padding, torch.allclose(merged(x), second(first(x)), atol=1e-5)
    ((1, 1), True)
    """
    _check_conv("first", first)
    _check_conv("second", second)
    if first.kernel_size != (1, 1) or first.stride != (1, 1):
        raise ValueError(f"first must be a 1x1 conv with stride 1, got kernel_size="
                         f"{first.kernel_size}, stride={first.stride}")
    if first.groups != second.groups:
        raise ValueError(f"first has groups={first.groups}, second {second.groups}")
    if first.out_channels != second.in_channels:
        raise ValueError(f"first gives {first.out_channels} channels, second reads "
                         f"{second.in_channels}")
    if second.padding != (0, 0) and first.bias is not None and bool(first.bias.any()):
        raise ValueError(
            "second pads first's output with zeros, but first has a bias: on the "
            "border the merged conv would see b1 instead of 0. Put the padding on "
            "the 1x1 (first) and none on second, as the Diverse Branch Block does")
    weight, bias = sequential_kernel(first.weight, first.bias, second.weight,
                                     second.bias, second.groups)
    padding = tuple(p + q for p, q in zip(first.padding, second.padding))
    merged = nn.Conv2d(first.in_channels, second.out_channels, second.kernel_size,
                       second.stride, padding, second.dilation, second.groups,
                       bias=True, device=weight.device, dtype=weight.dtype)
    with torch.no_grad():
        merged.weight.copy_(weight)
        merged.bias.copy_(bias)
    return merged


# --8<-- [end:sequential]


def _check_eval(block: nn.Module) -> None:
    if block.training:
        raise ValueError(f"{type(block).__name__}.fuse() needs eval mode: in training mode "
                         "BatchNorm uses each batch's statistics; call .eval() first")


# --8<-- [start:repvgg]
class RepVGGBlock(nn.Module):
    """RepVGG's training-time block: 3x3 conv+BN, 1x1 conv+BN and, when the
    shapes allow (same channels, stride 1), an identity BN, summed, ReLU.

    ``fuse()`` returns ``nn.Sequential(Conv2d 3x3, ReLU)`` equal to the block
    in eval mode.

    >>> block = RepVGGBlock(8, 8).eval()
    >>> deploy = block.fuse()
    >>> x = torch.randn(2, 8, 6, 6)
    >>> torch.allclose(deploy(x), block(x), atol=1e-5), block.identity is not None
    (True, True)
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1,
                 groups: int = 1) -> None:
        super().__init__()
        _positive("in_channels", in_channels)
        _positive("out_channels", out_channels)
        _positive("stride", stride)
        _groups_divide(in_channels, out_channels, groups)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.stride, self.groups = stride, groups
        self.dense = conv_bn(in_channels, out_channels, 3, stride, 1, groups)
        self.one = conv_bn(in_channels, out_channels, 1, stride, 0, groups)
        shapes_match = in_channels == out_channels and stride == 1
        self.identity = nn.BatchNorm2d(out_channels) if shapes_match else None
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.dense(x) + self.one(x)          # (B, out, H', W')
        if self.identity is not None:
            out = out + self.identity(x)
        return self.act(out)

    def fuse(self) -> nn.Sequential:
        _check_eval(self)
        branches = [fuse_conv_bn(self.dense.conv, self.dense.bn),
                    fuse_conv_bn(self.one.conv, self.one.bn)]
        if self.identity is not None:
            w = self.dense.conv.weight
            same = nn.Conv2d(self.in_channels, self.out_channels, 1,
                             groups=self.groups, bias=False,
                             device=w.device, dtype=w.dtype)
            with torch.no_grad():   # x itself, as a 1x1 conv
                same.weight.copy_(identity_kernel(self.out_channels, 1, self.groups))
            branches.append(fuse_conv_bn(same, self.identity))
        return nn.Sequential(merge_parallel(branches), nn.ReLU())


# --8<-- [end:repvgg]


# --8<-- [start:acblock]
class ACBlock(nn.Module):
    """ACNet's asymmetric block: k x k, 1 x k and k x 1 conv+BN branches,
    summed (no activation; it replaces one conv+BN layer). Padding is
    ``k // 2`` (the size is kept at stride 1); ``k`` must be odd.

    >>> block = ACBlock(4, 6, 3, stride=2).eval()
    >>> x = torch.randn(1, 4, 9, 9)
    >>> torch.allclose(block.fuse()(x), block(x), atol=1e-5)
    True
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3,
                 stride: int = 1, groups: int = 1) -> None:
        super().__init__()
        _positive("in_channels", in_channels)
        _positive("out_channels", out_channels)
        _positive("kernel_size", kernel_size)
        _positive("stride", stride)
        _groups_divide(in_channels, out_channels, groups)
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        k, p = kernel_size, kernel_size // 2
        self.square = conv_bn(in_channels, out_channels, (k, k), stride, (p, p), groups)
        self.hor = conv_bn(in_channels, out_channels, (1, k), stride, (0, p), groups)
        self.ver = conv_bn(in_channels, out_channels, (k, 1), stride, (p, 0), groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.square(x) + self.hor(x) + self.ver(x)   # (B, out, H', W')

    def fuse(self) -> nn.Conv2d:
        _check_eval(self)
        return merge_parallel([fuse_conv_bn(b.conv, b.bn)
                               for b in (self.square, self.hor, self.ver)])


# --8<-- [end:acblock]


# --8<-- [start:costs]
def _out_size(size: int, stride: int) -> int:
    # odd k with padding k // 2: floor((n - 1) / s) + 1
    return (_positive("size", size) - 1) // _positive("stride", stride) + 1


def repvgg_params(in_channels: int, out_channels: int, stride: int = 1,
                  groups: int = 1, fused: bool = False) -> int:
    """Parameters of ``RepVGGBlock`` (BN: gamma and beta; its running
    statistics are buffers), or of its fused form.

    >>> repvgg_params(64, 64), repvgg_params(64, 64, fused=True)
    (41344, 36928)
    """
    _groups_divide(in_channels, out_channels, groups)
    w = in_channels * out_channels // groups          # one tap of a kernel
    if fused:
        return 9 * w + out_channels                   # 3x3 kernel + bias
    identity = in_channels == out_channels and stride == 1
    return 10 * w + 2 * 2 * out_channels + (2 * out_channels if identity else 0)


def repvgg_macs(in_channels: int, out_channels: int, size: int, stride: int = 1,
                groups: int = 1, fused: bool = False) -> int:
    """Convolution multiply-adds of ``RepVGGBlock`` on a ``size`` x ``size``
    input: 9 + 1 taps per output, 9 fused (BN and sums are elementwise).

    >>> repvgg_macs(64, 64, 56) / repvgg_macs(64, 64, 56, fused=True)
    1.1111111111111112
    """
    _groups_divide(in_channels, out_channels, groups)
    outputs = _out_size(size, stride) ** 2 * out_channels
    return outputs * (in_channels // groups) * (9 if fused else 10)


def acblock_params(in_channels: int, out_channels: int, kernel_size: int = 3,
                   groups: int = 1, fused: bool = False) -> int:
    """Parameters of ``ACBlock`` (three BNs) or of its fused k x k conv.

    >>> acblock_params(64, 64), acblock_params(64, 64, fused=True)
    (61824, 36928)
    """
    _groups_divide(in_channels, out_channels, groups)
    w, k = in_channels * out_channels // groups, kernel_size
    if fused:
        return k * k * w + out_channels
    return (k * k + 2 * k) * w + 3 * 2 * out_channels


def acblock_macs(in_channels: int, out_channels: int, size: int, kernel_size: int = 3,
                 stride: int = 1, groups: int = 1, fused: bool = False) -> int:
    """Convolution multiply-adds of ``ACBlock``: ``k^2 + 2k`` taps, ``k^2``
    fused.

    >>> acblock_macs(64, 64, 56) / acblock_macs(64, 64, 56, fused=True)
    1.6666666666666667
    """
    _groups_divide(in_channels, out_channels, groups)
    k = kernel_size
    outputs = _out_size(size, stride) ** 2 * out_channels
    return outputs * (in_channels // groups) * (k * k if fused else k * k + 2 * k)
# --8<-- [end:costs]

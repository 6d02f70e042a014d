"""Structural re-parameterisation: train a block with branches, deploy one convolution.

Convolution and eval-mode BatchNorm are affine maps, so parallel branches that are summed, or
a 1x1 conv followed by a k x k conv, equal ONE convolution computed from the trained weights.

* ``fuse_conv_bn``: fold an eval-mode BatchNorm into the conv before it.
* ``merge_parallel``: add the centred kernels of parallel convs: RepVGG (X. Ding et al.,
  arXiv:2101.03697), ACNet (X. Ding et al., arXiv:1908.03930), RepLKNet's large + small
  kernels (X. Ding et al., arXiv:2203.06717), MobileOne (P. K. A. Vasu et al., arXiv:2206.04040).
* ``merge_sequential``: a 1x1 then a k x k conv as one k x k conv (Diverse Branch Block,
  X. Ding et al., arXiv:2103.13425), exact only when the 1x1's bias is not lost in the
  k x k's zero padding, which it checks.
* ``RepVGGBlock`` and ``ACBlock``: training-time blocks whose ``fuse()`` gives the deploy form
  (their costs: ``snippets.formulas.repvgg_params`` and friends).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import torch
from torch import nn

__all__ = [
    "TOLERANCES", "assert_fused_close", "randomize_batchnorm", "fuse_conv_bn", "conv_bn",
    "pad_kernel", "identity_kernel", "merge_parallel", "sequential_kernel",
    "merge_sequential", "RepVGGBlock", "ACBlock",
]

# Fused and original forms sum the same products in another order: they differ by rounding.
# Bound: max |fused - original| <= TOLERANCES[dtype] * max |original|.
TOLERANCES = {torch.float64: 1e-12, torch.float32: 5e-5}


def assert_fused_close(actual: torch.Tensor, expected: torch.Tensor) -> None:
    """``torch.testing.assert_close`` with ``rtol=0`` and ``atol`` the bound above.

    >>> assert_fused_close(torch.ones(3) + 1e-6, torch.ones(3))
    """
    for name, value in (("actual", actual), ("expected", expected)):
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if expected.dtype not in TOLERANCES:
        raise ValueError(f"no tolerance for {expected.dtype}; use float32 or float64")
    scale = expected.detach().abs().max().item() if expected.numel() else 0.0
    torch.testing.assert_close(actual, expected, rtol=0,
                               atol=TOLERANCES[expected.dtype] * max(scale, 1e-30))


def randomize_batchnorm(module: nn.Module, seed: int = 0) -> nn.Module:
    """Random statistics and affine parameters for every ``BatchNorm2d`` in ``module`` (a
    fresh BatchNorm is the identity and would hide a wrong fold); returns ``module``."""
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be an nn.Module, got {type(module).__name__}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for bn in (m for m in module.modules() if isinstance(m, nn.BatchNorm2d)):
            def draw(low, high):
                u = torch.rand(bn.num_features, generator=generator, dtype=torch.float64)
                return (low + (high - low) * u).to(bn.running_mean.dtype)

            bn.running_mean.copy_(draw(-1.0, 1.0))
            bn.running_var.copy_(draw(0.25, 2.0))
            if bn.weight is not None:
                bn.weight.copy_(draw(0.5, 1.5))
                bn.bias.copy_(draw(-0.5, 0.5))
    return module


def _positive(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def _groups_divide(in_channels: int, out_channels: int, groups: int) -> None:
    _positive("groups", groups)
    for name, value in (("in_channels", in_channels), ("out_channels", out_channels)):
        if value % groups:
            raise ValueError(f"{name} ({value}) must be divisible by groups ({groups})")


def _check_conv(name: str, conv, zero_padding: bool = True) -> None:
    if not isinstance(conv, nn.Conv2d):
        raise TypeError(f"{name} must be an nn.Conv2d, got {type(conv).__name__}")
    if zero_padding and isinstance(conv.padding, str):
        raise ValueError(f"{name} has padding={conv.padding!r}; give it as numbers")
    if zero_padding and conv.padding_mode != "zeros":
        raise ValueError(f"{name} has padding_mode={conv.padding_mode!r}; "
                         "only 'zeros' padding can be moved between convs")


# --8<-- [start:fold]
def _fold(weight, bias, bn):
    """Kernel and bias of ``bn(conv(x))``, one scale per output channel."""
    if not isinstance(bn, nn.BatchNorm2d):
        raise TypeError(f"bn must be an nn.BatchNorm2d, got {type(bn).__name__}")
    if bn.training:
        raise ValueError("bn is in training mode: it normalises with each batch's "
                         "own statistics, which no fixed kernel can do; call .eval()")
    if bn.running_mean is None:
        raise ValueError("bn has no running statistics (track_running_stats=False)")
    if bn.num_features != weight.shape[0]:
        raise ValueError(f"bn has {bn.num_features} features but the conv has "
                         f"{weight.shape[0]} output channels")
    ones = torch.ones_like(bn.running_mean)
    gamma = ones if bn.weight is None else bn.weight
    beta = 0 * ones if bn.bias is None else bn.bias
    bias = 0 * ones if bias is None else bias
    rstd = torch.rsqrt(bn.running_var + bn.eps)           # 1 / sqrt(var + eps)
    return (weight * (gamma * rstd).reshape(-1, 1, 1, 1),  # (out, in/g, kh, kw)
            (bias - bn.running_mean) * rstd * gamma + beta)
# --8<-- [end:fold]


def fuse_conv_bn(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> nn.Conv2d:
    """A new ``nn.Conv2d`` (with bias) equal to ``bn(conv(x))`` in eval mode;
    stride, padding, dilation and groups kept. A train-mode ``bn`` is a
    ValueError.

    >>> conv, bn = nn.Conv2d(4, 8, 3, bias=False), nn.BatchNorm2d(8).eval()
    >>> x = torch.randn(2, 4, 5, 5)
    >>> torch.allclose(fuse_conv_bn(conv, bn)(x), bn(conv(x)), atol=1e-6)
    True
    """
    _check_conv("conv", conv, zero_padding=False)
    weight, bias = _fold(conv.weight, conv.bias, bn)
    fused = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size,
                      conv.stride, conv.padding, conv.dilation, conv.groups,
                      padding_mode=conv.padding_mode,
                      device=weight.device, dtype=weight.dtype)
    with torch.no_grad():
        fused.weight.copy_(weight)
        fused.bias.copy_(bias)
    return fused


def conv_bn(in_channels: int, out_channels: int, kernel_size=3, stride=1, padding=0,
            groups: int = 1) -> nn.Sequential:
    """``Conv2d`` without bias, then ``BatchNorm2d``, named ``conv`` and ``bn``.

    >>> [name for name, _ in conv_bn(4, 8, 3, padding=1).named_children()]
    ['conv', 'bn']
    """
    for name, value in (("in_channels", in_channels), ("out_channels", out_channels),
                        ("groups", groups)):
        _positive(name, value)
    for name, value, low in (("kernel_size", kernel_size, 1), ("stride", stride, 1),
                             ("padding", padding, 0)):
        for v in value if isinstance(value, (tuple, list)) and len(value) == 2 else [value]:
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                raise ValueError(f"{name} must be an int >= {low} or a pair of them, got {value!r}")
    _groups_divide(in_channels, out_channels, groups)
    return nn.Sequential(OrderedDict(
        conv=nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding,
                       groups=groups, bias=False),
        bn=nn.BatchNorm2d(out_channels)))


def pad_kernel(weight: torch.Tensor, kernel_size) -> torch.Tensor:
    """Zero-pad ``weight`` (out, in/g, kh, kw) to ``kernel_size``, centred.

    >>> pad_kernel(torch.ones(1, 1, 1, 1), 3)[0, 0]
    tensor([[0., 0., 0.],
            [0., 1., 0.],
            [0., 0., 0.]])
    """
    if not isinstance(weight, torch.Tensor) or weight.dim() != 4:
        raise ValueError(f"weight must be a 4-D (out, in/g, kh, kw) tensor, got "
                         f"{tuple(weight.shape) if isinstance(weight, torch.Tensor) else weight!r}")
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size \
        if isinstance(kernel_size, (tuple, list)) and len(kernel_size) == 2 else (None, None)
    for v in (kh, kw):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"kernel_size must be a positive int or a pair, got {kernel_size!r}")
    dh, dw = kh - weight.shape[-2], kw - weight.shape[-1]
    if dh < 0 or dw < 0 or dh % 2 or dw % 2:
        raise ValueError(f"a {tuple(weight.shape[-2:])} kernel cannot be centred in "
                         f"{(kh, kw)}: each side must grow by an even amount")
    return nn.functional.pad(weight, (dw // 2, dw // 2, dh // 2, dh // 2))


def identity_kernel(channels: int, kernel_size=1, groups: int = 1,
                    dtype=None, device=None) -> torch.Tensor:
    """Kernel (channels, channels/g, k, k) of the conv that returns its input:
    output ``c`` copies input ``c % (channels / g)`` of its group.

    >>> identity_kernel(4, 3, groups=2)[:, :, 1, 1]
    tensor([[1., 0.],
            [0., 1.],
            [1., 0.],
            [0., 1.]])
    """
    _groups_divide(_positive("channels", channels), channels, groups)
    if _positive("kernel_size", kernel_size) % 2 == 0:
        raise ValueError(f"kernel_size must be odd (a centre tap), got {kernel_size}")
    c, k = torch.arange(channels), kernel_size // 2
    kernel = torch.zeros(channels, channels // groups, kernel_size, kernel_size,
                         dtype=dtype, device=device)
    kernel[c, c % (channels // groups), k, k] = 1
    return kernel


# --8<-- [start:merge_parallel]
def merge_parallel(convs: Sequence[nn.Conv2d]) -> nn.Conv2d:
    """One ``nn.Conv2d`` equal to ``sum(conv(x) for conv in convs)``.

    The convs need the same stride, dilation and groups, and paddings that
    put every kernel's centre on the same pixel (``2p - d(k - 1)`` equal).

    >>> big, small = nn.Conv2d(2, 2, 5, padding=2), nn.Conv2d(2, 2, 3, padding=1)
    >>> x = torch.randn(1, 2, 8, 8)
    >>> torch.allclose(merge_parallel([big, small])(x), big(x) + small(x), atol=1e-6)
    True
    """
    convs = list(convs)
    if not convs:
        raise ValueError("convs must hold at least one nn.Conv2d")
    for i, conv in enumerate(convs):
        _check_conv(f"convs[{i}]", conv)
    first = convs[0]
    for i, conv in enumerate(convs):
        for attr in ("in_channels", "out_channels", "stride", "dilation", "groups"):
            if getattr(conv, attr) != getattr(first, attr):
                raise ValueError(f"convs[{i}] has {attr}={getattr(conv, attr)}, convs[0] "
                                 f"{getattr(first, attr)}: branches must share it")
    size, padding = [], []
    for dim in (0, 1):
        d = first.dilation[dim]
        # where each kernel's centre falls, in half pixels
        offsets = {2 * c.padding[dim] - d * (c.kernel_size[dim] - 1) for c in convs}
        if len(offsets) > 1:
            raise ValueError("the paddings do not put the kernels' centres on one "
                             f"pixel (dimension {dim}: 2p - d(k-1) = {sorted(offsets)})")
        size.append(max(c.kernel_size[dim] for c in convs))
        padding.append((offsets.pop() + d * (size[-1] - 1)) // 2)
    weight = sum(pad_kernel(c.weight, size) for c in convs)   # (out, in/g, K, K)
    biases = [c.bias for c in convs if c.bias is not None]
    merged = nn.Conv2d(first.in_channels, first.out_channels, tuple(size),
                       first.stride, tuple(padding), first.dilation, first.groups,
                       device=weight.device, dtype=weight.dtype)
    with torch.no_grad():
        merged.weight.copy_(weight)
        if biases:
            merged.bias.copy_(sum(biases))
        else:
            merged.bias.zero_()
    return merged
# --8<-- [end:merge_parallel]


def sequential_kernel(w1, b1, w2, b2, groups: int = 1):
    """Kernel and bias of ``conv2(conv1(x))``, 1x1 ``conv1`` (w1, b1) and k x k
    ``conv2`` (w2, b2), ignoring padding: ``W = W2 W1`` per tap and
    ``b = b2 + sum(W2) b1``.

    >>> w, b = sequential_kernel(torch.ones(3, 2, 1, 1), torch.ones(3),
    ...                          torch.ones(4, 3, 3, 3), None)
    >>> tuple(w.shape), w[0, 0, 0, 0].item(), b[0].item()
    ((4, 2, 3, 3), 3.0, 27.0)
    """
    _positive("groups", groups)
    mid, out, cin = w1.shape[0], w2.shape[0], w1.shape[1] * groups
    if w1.shape[-2:] != (1, 1) or w2.shape[1] * groups != mid:
        raise ValueError(f"w1 must be 1x1 and give the {w2.shape[1] * groups} channels w2 "
                         f"reads, got {tuple(w1.shape)}")
    a = w1.reshape(groups, mid // groups, cin // groups)         # (g, M/g, C/g)
    b = w2.reshape(groups, out // groups, mid // groups, *w2.shape[-2:])  # (g, O/g, M/g, kh, kw)
    weight = torch.einsum("gomij,gmc->gocij", b, a)              # (g, O/g, C/g, kh, kw)
    weight = weight.reshape(out, cin // groups, *w2.shape[-2:])  # (O, C/g, kh, kw)
    bias = torch.zeros(out, dtype=w2.dtype, device=w2.device) if b2 is None else b2
    if b1 is not None:   # the constant b1 passes through every tap of conv2
        b1 = b1.reshape(groups, mid // groups)                   # (g, M/g)
        bias = bias + torch.einsum("gomij,gm->go", b, b1).reshape(out)  # (O,)
    return weight, bias


# --8<-- [start:merge_sequential]
def merge_sequential(first: nn.Conv2d, second: nn.Conv2d) -> nn.Conv2d:
    """One ``nn.Conv2d`` equal to ``second(first(x))``, ``first`` a 1x1 conv.

    If ``second`` pads, it pads ``first``'s OUTPUT with zeros, where the
    merged conv would give ``b1``: exact only without a bias on ``first``.
    Pad ``first`` instead (its output on the border is then ``b1``).

    >>> first, second = nn.Conv2d(3, 6, 1, padding=1), nn.Conv2d(6, 4, 3)
    >>> x = torch.randn(1, 3, 7, 7)
    >>> torch.allclose(merge_sequential(first, second)(x), second(first(x)), atol=1e-5)
    True
    """
    _check_conv("first", first)
    _check_conv("second", second)
    if first.kernel_size != (1, 1) or first.stride != (1, 1):
        raise ValueError(f"first must be a 1x1 conv with stride 1, got kernel_size="
                         f"{first.kernel_size}, stride={first.stride}")
    if first.groups != second.groups or first.out_channels != second.in_channels:
        raise ValueError(f"first gives {first.out_channels} channels in "
                         f"{first.groups} groups, second reads {second.in_channels} in "
                         f"{second.groups} groups")
    if second.padding != (0, 0) and first.bias is not None and bool(first.bias.any()):
        raise ValueError("second pads first's output with zeros, but first has a bias: "
                         "the merged conv would see b1 on the border. Put the padding "
                         "on the 1x1 (first) and none on second, as DBB does")
    weight, bias = sequential_kernel(first.weight, first.bias, second.weight,
                                     second.bias, second.groups)
    padding = tuple(p + q for p, q in zip(first.padding, second.padding))
    merged = nn.Conv2d(first.in_channels, second.out_channels, second.kernel_size,
                       second.stride, padding, second.dilation, second.groups,
                       device=weight.device, dtype=weight.dtype)
    with torch.no_grad():
        merged.weight.copy_(weight)
        merged.bias.copy_(bias)
    return merged
# --8<-- [end:merge_sequential]


def _check_eval(block: nn.Module) -> None:
    if block.training:
        raise ValueError(f"{type(block).__name__}.fuse() needs eval mode (BatchNorm "
                         "uses batch statistics in training mode); call .eval() first")


# --8<-- [start:repvgg]
class RepVGGBlock(nn.Module):
    """RepVGG's training-time block: 3x3 conv+BN, 1x1 conv+BN and, if the
    shapes allow (same channels, stride 1), an identity BN; summed, ReLU.
    ``fuse()`` returns ``nn.Sequential(Conv2d 3x3, ReLU)``, equal in eval mode.

    >>> block = RepVGGBlock(8, 8).eval()
    >>> x = torch.randn(2, 8, 6, 6)
    >>> torch.allclose(block.fuse()(x), block(x), atol=1e-5)
    True
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1,
                 groups: int = 1) -> None:
        super().__init__()
        _groups_divide(_positive("in_channels", in_channels),
                       _positive("out_channels", out_channels), groups)
        self.stride, self.groups = _positive("stride", stride), groups
        self.dense = conv_bn(in_channels, out_channels, 3, stride, 1, groups)
        self.one = conv_bn(in_channels, out_channels, 1, stride, 0, groups)
        same = in_channels == out_channels and stride == 1
        self.identity = nn.BatchNorm2d(out_channels) if same else None
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.dense(x) + self.one(x)          # (B, out, H', W')
        if self.identity is not None:
            out = out + self.identity(x)
        return self.act(out)

    def fuse(self) -> nn.Sequential:
        _check_eval(self)
        branches = [fuse_conv_bn(b.conv, b.bn) for b in (self.dense, self.one)]
        if self.identity is not None:              # x itself, as a 1x1 conv
            w = self.dense.conv.weight
            same = nn.Conv2d(w.shape[0], w.shape[0], 1, groups=self.groups,
                             bias=False, device=w.device, dtype=w.dtype)
            with torch.no_grad():
                same.weight.copy_(identity_kernel(w.shape[0], 1, self.groups))
            branches.append(fuse_conv_bn(same, self.identity))
        return nn.Sequential(merge_parallel(branches), nn.ReLU())
# --8<-- [end:repvgg]


class ACBlock(nn.Module):
    """ACNet's block: k x k, 1 x k and k x 1 conv+BN branches, summed (it
    replaces one conv+BN). Padding ``k // 2``, ``k`` odd. ``fuse()`` returns
    one k x k ``nn.Conv2d``.

    >>> block = ACBlock(4, 6, 3, stride=2).eval()
    >>> x = torch.randn(1, 4, 9, 9)
    >>> torch.allclose(block.fuse()(x), block(x), atol=1e-5)
    True
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3,
                 stride: int = 1, groups: int = 1) -> None:
        super().__init__()
        _groups_divide(_positive("in_channels", in_channels),
                       _positive("out_channels", out_channels), groups)
        if _positive("kernel_size", kernel_size) % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        k, p, s = kernel_size, kernel_size // 2, _positive("stride", stride)
        self.square = conv_bn(in_channels, out_channels, (k, k), s, (p, p), groups)
        self.hor = conv_bn(in_channels, out_channels, (1, k), s, (0, p), groups)
        self.ver = conv_bn(in_channels, out_channels, (k, 1), s, (p, 0), groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.square(x) + self.hor(x) + self.ver(x)   # (B, out, H', W')

    def fuse(self) -> nn.Conv2d:
        _check_eval(self)
        return merge_parallel([fuse_conv_bn(b.conv, b.bn)
                               for b in (self.square, self.hor, self.ver)])

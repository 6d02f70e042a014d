"""1-D, causal and 3-D convolution.

* ``CausalConv1d`` / ``causal_stack``: 1-D convs padded on the left only, so the output at
  time t sees no input after t; dilated stacks as in WaveNet (A. van den Oord et al.,
  *WaveNet: A Generative Model for Raw Audio*, arXiv:1609.03499). ``input_dependence``
  measures which steps an output depends on (back-propagation through a positive copy).
* ``conv2d_as_conv3d``: a 2-D conv is a 3-D conv whose kernel is as deep as the input has
  channels (C3D, the 3-D conv network for video: D. Tran et al., arXiv:1412.0767).
* ``Conv2Plus1d`` / ``conv2plus1d_mid``: the (2+1)-D factorisation of a t x d x d conv into a
  1 x d x d and a t x 1 x 1 conv (D. Tran et al., *A Closer Look at Spatiotemporal
  Convolutions for Action Recognition*, arXiv:1711.11248).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "CausalConv1d",
    "causal_stack",
    "input_dependence",
    "conv2d_as_conv3d",
    "conv2plus1d_mid",
    "Conv2Plus1d",
]


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


# --8<-- [start:causal]
class CausalConv1d(nn.Module):
    """``nn.Conv1d`` that pads ``dilation * (kernel_size - 1)`` steps on the left
    only: output step t is computed from input steps ``t - d(k - 1), ..., t``,
    never from a later one. With stride 1 the length stays the same.

    >>> conv = CausalConv1d(2, 3, kernel_size=2, dilation=4)
    >>> conv(torch.zeros(1, 2, 10)).shape
    torch.Size([1, 3, 10])
    >>> conv.left_padding
    4
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int,
                 stride: int = 1, dilation: int = 1, groups: int = 1,
                 bias: bool = True) -> None:
        super().__init__()
        for name, v in (("in_channels", in_channels), ("out_channels", out_channels),
                        ("kernel_size", kernel_size), ("stride", stride),
                        ("dilation", dilation), ("groups", groups)):
            _check_positive(name, v)
        if not isinstance(bias, bool):
            raise TypeError(f"bias must be True or False, got {bias!r}")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"in_channels ({in_channels}) and out_channels "
                             f"({out_channels}) must be divisible by groups ({groups})")
        self.left_padding = dilation * (kernel_size - 1)
        self.conv = nn.Conv1d(in_channels, out_channels, kernel_size, stride,
                              padding=0, dilation=dilation, groups=groups, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, (self.left_padding, 0))  # (B, C, T) -> (B, C, left + T)
        return self.conv(x)                   # (B, C_out, T) when stride is 1


# --8<-- [end:causal]


def causal_stack(channels: int, dilations: Sequence[int],
                 kernel_size: int = 2) -> nn.Sequential:
    """Causal convs with the given dilations, tanh between, as in WaveNet
    (which uses kernel 2 and dilations 1, 2, 4, ..., 512, repeated).

    >>> stack = causal_stack(4, [1, 2, 4, 8])
    >>> stack(torch.zeros(1, 4, 32)).shape
    torch.Size([1, 4, 32])
    """
    _check_positive("channels", channels)
    if isinstance(dilations, (int, str)) or not isinstance(dilations, Sequence) \
            or not dilations:
        raise ValueError(f"dilations must be a non-empty sequence, got {dilations!r}")
    layers = []
    for d in dilations:
        layers += [CausalConv1d(channels, channels, kernel_size, dilation=d), nn.Tanh()]
    return nn.Sequential(*layers[:-1])


def input_dependence(model: nn.Module, in_channels: int, length: int,
                     t: int) -> torch.Tensor:
    """Which input steps output step ``t`` depends on: a bool tensor of length
    ``length``, from the gradient of a copy of ``model`` whose conv weights are
    all positive (so no two paths can cancel) on an input of ones.

    >>> input_dependence(CausalConv1d(1, 1, 3), 1, 6, t=3).int()
    tensor([0, 1, 1, 1, 0, 0], dtype=torch.int32)
    """
    _check_positive("in_channels", in_channels)
    _check_positive("length", length)
    _check_non_negative("t", t)
    if not 0 <= t < length:
        raise ValueError(f"t must be in 0 .. {length - 1}, got {t}")
    probe = copy.deepcopy(model).double()
    with torch.no_grad():
        for m in probe.modules():
            if isinstance(m, nn.modules.conv._ConvNd):
                m.weight.fill_(1.0 / m.weight[0].numel())
                if m.bias is not None:
                    m.bias.zero_()
    device = next(probe.parameters()).device
    x = torch.ones(1, in_channels, length, dtype=torch.float64, device=device,
                   requires_grad=True)
    probe(x)[0, :, t].sum().backward()      # (1, C_out, T) -> one step, all channels
    return (x.grad[0] != 0).any(dim=0).cpu()  # (C_in, T) -> (T,)


# --8<-- [start:conv3d]
def conv2d_as_conv3d(conv: nn.Conv2d) -> nn.Conv3d:
    """The same layer as a 3-D conv over a one-channel volume ``(B, 1, C_in, H, W)``:
    the kernel is ``C_in`` deep, so it fits the depth exactly once (no depth
    padding), and the output has depth 1.

    >>> conv = nn.Conv2d(3, 8, 3, padding=1)
    >>> x = torch.randn(2, 3, 9, 9)
    >>> y = conv2d_as_conv3d(conv)(x.unsqueeze(1))   # (2, 1, 3, 9, 9) -> (2, 8, 1, 9, 9)
    >>> torch.allclose(y.squeeze(2), conv(x), atol=1e-5)
    True
    """
    if not isinstance(conv, nn.Conv2d):
        raise TypeError(f"conv must be an nn.Conv2d, got {type(conv).__name__}")
    if conv.groups != 1 or conv.padding_mode != "zeros" or isinstance(conv.padding, str):
        raise ValueError("only groups=1, zero padding given as numbers can be converted")
    c_out, c_in, kh, kw = conv.weight.shape
    conv3d = nn.Conv3d(1, c_out, (c_in, kh, kw), stride=(1, *conv.stride),
                       padding=(0, *conv.padding), dilation=(1, *conv.dilation),
                       bias=conv.bias is not None)
    with torch.no_grad():
        # (C_out, C_in, kh, kw) -> (C_out, 1, C_in, kh, kw): the channels become depth
        conv3d.weight.copy_(conv.weight.unsqueeze(1))
        if conv.bias is not None:
            conv3d.bias.copy_(conv.bias)
    return conv3d.to(device=conv.weight.device, dtype=conv.weight.dtype)


# --8<-- [end:conv3d]


# --8<-- [start:conv2plus1d]
def conv2plus1d_mid(in_channels: int, out_channels: int, t: int, d: int) -> int:
    """R(2+1)D's middle width: the largest M for which a 1 x d x d conv
    (in -> M) plus a t x 1 x 1 conv (M -> out) has no more weights than
    the t x d x d conv they replace: ``floor(t d^2 N_in N_out / (d^2 N_in + t N_out))``.

    >>> conv2plus1d_mid(64, 64, 3, 3)
    144
    """
    for name, v in (("in_channels", in_channels), ("out_channels", out_channels),
                    ("t", t), ("d", d)):
        _check_positive(name, v)
    return t * d * d * in_channels * out_channels // (d * d * in_channels + t * out_channels)


class Conv2Plus1d(nn.Module):
    """A t x d x d 3-D conv factorised into a spatial 1 x d x d conv and a
    temporal t x 1 x 1 conv with a ReLU between (R(2+1)D; the paper also puts
    batch norm there). ``kernel_size``, ``stride`` and ``padding`` are ints or
    ``(time, space)`` pairs.

    >>> block = Conv2Plus1d(64, 64, 3, padding=1, bias=False)
    >>> block(torch.zeros(1, 64, 4, 8, 8)).shape
    torch.Size([1, 64, 4, 8, 8])
    >>> sum(p.numel() for p in block.parameters()) == nn.Conv3d(64, 64, 3, bias=False).weight.numel()
    True
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size,
                 stride=1, padding=0, mid_channels: int | None = None,
                 bias: bool = True) -> None:
        super().__init__()
        _check_positive("in_channels", in_channels), _check_positive("out_channels", out_channels)
        if not isinstance(bias, bool):
            raise TypeError(f"bias must be True or False, got {bias!r}")
        (t, d), (st, ss), (pt, ps) = (_time_space(n, v) for n, v in (
            ("kernel_size", kernel_size), ("stride", stride), ("padding", padding)))
        for name, v in (("kernel_size", t), ("kernel_size", d), ("stride", st),
                        ("stride", ss)):
            _check_positive(name, v)
        _check_non_negative("padding", pt), _check_non_negative("padding", ps)
        if mid_channels is None:
            mid_channels = conv2plus1d_mid(in_channels, out_channels, t, d)
        _check_positive("mid_channels", mid_channels)
        self.spatial = nn.Conv3d(in_channels, mid_channels, (1, d, d), (1, ss, ss),
                                 (0, ps, ps), bias=bias)
        self.temporal = nn.Conv3d(mid_channels, out_channels, (t, 1, 1), (st, 1, 1),
                                  (pt, 0, 0), bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.spatial(x))  # (B, C_in, T, H, W) -> (B, M, T, H', W')
        return self.temporal(x)          # -> (B, C_out, T', H', W')


# --8<-- [end:conv2plus1d]


def _time_space(name: str, value) -> tuple[int, int]:
    if isinstance(value, int) and not isinstance(value, bool):
        return value, value
    if isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2:
        return value[0], value[1]
    raise ValueError(f"{name} must be an int or a (time, space) pair, got {value!r}")

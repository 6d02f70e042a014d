"""Dynamic convolution: attention over K convolution kernels, one aggregated kernel per sample.

Y. Chen, X. Dai, M. Liu, D. Chen, L. Yuan, Z. Liu, "Dynamic Convolution: Attention over
Convolution Kernels", CVPR 2020, arXiv:1912.03458.

A ``DynamicConv2d`` holds K kernels ``W_1..W_K`` (and K biases). For every input sample x a
small attention branch (global average pooling -> Linear -> ReLU -> Linear -> softmax with
temperature tau) gives weights ``pi_k(x)`` that sum to 1, and the sample is convolved with
``sum_k pi_k(x) W_k``. Because the kernel differs per sample, a batch cannot go through one
ordinary convolution; the trick (see the Zhihu article in the references) folds the batch into
the channels and runs ONE grouped convolution with ``groups = B * groups``.

``dynamic_conv2d_loop`` is the plain per-sample reference the tests compare against.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "KernelAttention",
    "DynamicConv2d",
    "dynamic_conv2d_loop",
    "temperature_schedule",
    "set_temperature",
    "DYNAMIC_STRATEGIES",
]

# How DynamicConv2d runs the per-sample convolutions (all give the same result, see tests):
#   "grouped": fold the batch into channels, one grouped conv with groups = B * groups;
#   "loop":    one F.conv2d per sample with that sample's aggregated kernel;
#   "auto":    "grouped" on CUDA (one kernel launch instead of B) and for contiguous (NCHW)
#              inputs on the CPU; "loop" for channels_last inputs on the CPU, where folding
#              the batch would need a layout copy and oneDNN's grouped conv is much slower
#              than B ordinary channels_last convs (measured: snippets/dynamic_bench.py).
DYNAMIC_STRATEGIES = ("auto", "grouped", "loop")


def _pair(name: str, value) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int) and not isinstance(value, bool) else value
    if (not isinstance(pair, (tuple, list)) or len(pair) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in pair)):
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    return tuple(pair)


def _check_positive(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def _check_temperature(temperature, name: str = "temperature") -> float:
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not (
            math.isfinite(temperature) and temperature > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {temperature!r}")
    return float(temperature)


# --8<-- [start:attention]
class KernelAttention(nn.Module):
    """pi(x) = softmax(FC(ReLU(FC(GAP(x)))) / tau): K weights per sample, sum 1."""

    def __init__(self, in_channels: int, num_kernels: int = 4, reduction: int = 4,
                 temperature: float = 1.0):
        super().__init__()
        # hidden width max(C // r, 4), as snippets.formulas.dynamic_attention_hidden
        hidden = max(_check_positive("in_channels", in_channels)
                     // _check_positive("reduction", reduction), 4)
        _check_positive("num_kernels", num_kernels)
        self.fc1 = nn.Linear(in_channels, hidden)
        self.fc2 = nn.Linear(hidden, num_kernels)
        self.temperature = temperature

    @property
    def temperature(self) -> float:
        return self._temperature

    @temperature.setter
    def temperature(self, value: float) -> None:
        self._temperature = _check_temperature(value)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x.mean(dim=(2, 3))                  # (B, C): global average pooling
        logits = self.fc2(F.relu(self.fc1(s)))  # (B, K)
        # a large tau flattens the softmax: early on, every kernel gets gradient
        return torch.softmax(logits / self.temperature, dim=1)  # (B, K)
# --8<-- [end:attention]


class DynamicConv2d(nn.Module):
    """A 2-D convolution whose kernel is ``sum_k pi_k(x) W_k``, different for every sample.

    The arguments before ``num_kernels`` are those of ``nn.Conv2d`` (ints or pairs;
    ``padding_mode`` is always zeros). ``num_kernels`` is K, ``reduction`` the attention
    MLP's reduction ratio (hidden width ``max(in_channels // reduction, 4)``), ``temperature``
    the softmax temperature tau (change it during training, e.g. with ``temperature_schedule``).
    ``strategy`` picks how the per-sample convolutions run (see ``DYNAMIC_STRATEGIES``).

    >>> conv = DynamicConv2d(16, 32, 3, padding=1, num_kernels=4)
    >>> conv(torch.randn(2, 16, 8, 8)).shape
    torch.Size([2, 32, 8, 8])
    >>> tuple(conv.weight.shape)   # (K, out, in / groups, kh, kw)
    (4, 32, 16, 3, 3)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1,
                 padding=0, dilation=1, groups: int = 1, bias: bool = True,
                 num_kernels: int = 4, reduction: int = 4, temperature: float = 1.0,
                 strategy: str = "auto"):
        super().__init__()
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels),
                            ("groups", groups), ("num_kernels", num_kernels),
                            ("reduction", reduction)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if in_channels % groups:
            raise ValueError(
                f"in_channels ({in_channels}) must be divisible by groups ({groups})")
        if out_channels % groups:
            raise ValueError(
                f"out_channels ({out_channels}) must be divisible by groups ({groups})")
        self.kernel_size = _pair("kernel_size", kernel_size)
        self.stride = _pair("stride", stride)
        self.padding = _pair("padding", padding)
        self.dilation = _pair("dilation", dilation)
        for name, values, low in (("kernel_size", self.kernel_size, 1),
                                  ("stride", self.stride, 1), ("padding", self.padding, 0),
                                  ("dilation", self.dilation, 1)):
            if min(values) < low:
                raise ValueError(f"{name} must be >= {low}, got {values}")
        if not isinstance(bias, bool):
            raise TypeError(f"bias must be True or False, got {bias!r}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.num_kernels = num_kernels
        self.strategy = strategy
        self.attention = KernelAttention(in_channels, num_kernels, reduction, temperature)
        kh, kw = self.kernel_size
        # K kernels side by side: (K, O, C/g, kh, kw)
        self.weight = nn.Parameter(torch.empty(num_kernels, out_channels, in_channels // groups,
                                               kh, kw))
        self.bias = nn.Parameter(torch.empty(num_kernels, out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # each of the K kernels is initialised like nn.Conv2d's own weight and bias
        for k in range(self.num_kernels):
            nn.init.kaiming_uniform_(self.weight[k], a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight[0].numel() // self.out_channels
            bound = 1 / math.sqrt(fan_in)
            nn.init.uniform_(self.bias, -bound, bound)

    @property
    def temperature(self) -> float:
        return self.attention.temperature

    @temperature.setter
    def temperature(self, value: float) -> None:
        self.attention.temperature = value

    @property
    def strategy(self) -> str:
        return self._strategy

    @strategy.setter
    def strategy(self, value: str) -> None:
        if value not in DYNAMIC_STRATEGIES:
            raise ValueError(f"strategy must be one of {DYNAMIC_STRATEGIES}, got {value!r}")
        self._strategy = value

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, dilation={self.dilation}, "
                f"groups={self.groups}, bias={self.bias is not None}, "
                f"num_kernels={self.num_kernels}, temperature={self.temperature}, "
                f"strategy={self.strategy!r}")

    def resolved_strategy(self, x: torch.Tensor) -> str:
        """The strategy "auto" picks for ``x``: "loop" for a channels_last input on the CPU,
        else "grouped" (see the comment on ``DYNAMIC_STRATEGIES``)."""
        if self.strategy != "auto":
            return self.strategy
        channels_last = (x.is_contiguous(memory_format=torch.channels_last)
                         and not x.is_contiguous())
        return "loop" if x.device.type == "cpu" and channels_last else "grouped"

    # --8<-- [start:forward]
    def aggregate(self, pi: torch.Tensor):
        """Per-sample kernels and biases from ``pi`` (B, K): one matmul each."""
        K = self.num_kernels
        # (B, K) @ (K, O*C/g*kh*kw): all B kernels at once, no (B, K, ...) copy
        weight = pi @ self.weight.reshape(K, -1)    # (B, O*C/g*kh*kw)
        bias = None if self.bias is None else pi @ self.bias  # (B, O)
        return weight, bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"expected input (B, {self.in_channels}, H, W), "
                             f"got {tuple(x.shape)}")
        B, C, H, W = x.shape
        O, g = self.out_channels, self.groups
        kh, kw = self.kernel_size
        pi = self.attention(x)                      # (B, K)
        weight, bias = self.aggregate(pi)           # (B, O*C/g*kh*kw), (B, O)
        args = (self.stride, self.padding, self.dilation)
        if self.resolved_strategy(x) == "grouped":
            # sample b owns channels b*C .. (b+1)*C - 1; reshape, not view:
            # a channels_last x is not contiguous in this order (then it copies)
            x = x.reshape(1, B * C, H, W)                   # (1, B*C, H, W)
            weight = weight.reshape(B * O, C // g, kh, kw)  # (B*O, C/g, kh, kw)
            if bias is not None:
                bias = bias.reshape(B * O)                  # (B*O,)
            # groups = B*g: output channels of sample b see only its channels
            y = F.conv2d(x, weight, bias, *args, groups=B * g)  # (1, B*O, H', W')
            return y.reshape(B, O, *y.shape[2:])    # (B, O, H', W'), no copy
        weight = weight.reshape(B, O, C // g, kh, kw)  # (B, O, C/g, kh, kw)
        # x[b:b+1] keeps x's memory format: channels_last stays channels_last
        outs = [F.conv2d(x[b:b + 1], weight[b],
                         None if bias is None else bias[b], *args, groups=g)
                for b in range(B)]                  # B x (1, O, H', W')
        return outs[0] if B == 1 else torch.cat(outs)  # (B, O, H', W')
    # --8<-- [end:forward]


def dynamic_conv2d_loop(conv: DynamicConv2d, x: torch.Tensor) -> torch.Tensor:
    """Reference: the definition, sample by sample, written as plainly as possible.

    For each sample: its attention weights, its kernel ``sum_k pi_k W_k`` (a Python sum, not
    the module's matmul), and an ordinary convolution. Slow; the tests compare against it.
    """
    if not isinstance(conv, DynamicConv2d):
        raise TypeError(f"conv must be a DynamicConv2d, got {type(conv).__name__}")
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() != 4 or x.shape[1] != conv.in_channels:
        raise ValueError(f"x must be (B, {conv.in_channels}, H, W), got shape {tuple(x.shape)}")
    outs = []
    for b in range(x.shape[0]):
        xb = x[b:b + 1]                                 # (1, C, H, W)
        pi = conv.attention(xb)[0]                      # (K,)
        weight = sum(pi[k] * conv.weight[k] for k in range(conv.num_kernels))  # (O, C/g, kh, kw)
        bias = None if conv.bias is None else sum(
            pi[k] * conv.bias[k] for k in range(conv.num_kernels))  # (O,)
        outs.append(F.conv2d(xb, weight, bias, conv.stride, conv.padding, conv.dilation,
                             conv.groups))
    return torch.cat(outs)                              # (B, O, H', W')


# --8<-- [start:temperature]
def temperature_schedule(epoch: float, anneal_epochs: float = 10,
                         start: float = 30.0, end: float = 1.0) -> float:
    """Softmax temperature at ``epoch``: linear from ``start`` to ``end``
    over the first ``anneal_epochs`` epochs, then ``end``
    (the paper: 30 -> 1 over 10 epochs).

    >>> [temperature_schedule(e) for e in (0, 5, 10, 90)]
    [30.0, 15.5, 1.0, 1.0]
    """
    for name, value in (("epoch", epoch), ("anneal_epochs", anneal_epochs)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"{name} must be a finite number, got {value!r}")
    if anneal_epochs <= 0:
        raise ValueError(f"anneal_epochs must be > 0, got {anneal_epochs}")
    if epoch < 0:
        raise ValueError(f"epoch must be >= 0, got {epoch}")
    _check_temperature(start, "start"), _check_temperature(end, "end")
    progress = min(epoch / anneal_epochs, 1.0)
    return start + (end - start) * progress


def set_temperature(model: nn.Module, temperature: float) -> int:
    """Set tau on every ``DynamicConv2d`` in ``model``; return how many were set."""
    _check_temperature(temperature)
    convs = [m for m in model.modules() if isinstance(m, DynamicConv2d)]
    for conv in convs:
        conv.temperature = temperature
    return len(convs)
# --8<-- [end:temperature]

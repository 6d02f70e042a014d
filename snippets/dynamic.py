"""Dynamic convolution: attention over K convolution kernels, one aggregated kernel per sample.

Y. Chen, X. Dai, M. Liu, D. Chen, L. Yuan, Z. Liu, "Dynamic Convolution: Attention over
Convolution Kernels", CVPR 2020, arXiv:1912.03458.

A ``DynamicConv2d`` holds K kernels ``W_1..W_K`` (and K biases). For every input sample x a
small attention branch (global average pooling -> Linear -> ReLU -> Linear -> softmax with
temperature tau) gives weights ``pi_k(x)`` that sum to 1, and the sample is convolved with
``sum_k pi_k(x) W_k``. Because the kernel differs per sample, a batch cannot go through one
ordinary convolution; the trick (see the Zhihu article in the references) folds the batch into
the channels and runs ONE grouped convolution with ``groups = B * groups``.

The same module holds the two relatives the chapter compares, both batch-folded the same way:

* ``CondConv2d``: B. Yang, G. Bender, Q. V. Le, J. Ngiam, "CondConv: Conditionally
  Parameterized Convolutions for Efficient Inference", NeurIPS 2019, arXiv:1904.04971 --
  K experts mixed by sigmoid routing weights (each in (0, 1), no sum-to-one);
* ``ODConv2d``: C. Li, A. Zhou, A. Yao, "Omni-Dimensional Dynamic Convolution", ICLR 2022,
  arXiv:2209.07947 -- attention over the kernel number, the output channels, the input channels
  and the k x k positions, multiplied together.

``dynamic_conv2d_loop``, ``condconv2d_loop`` and ``odconv2d_loop`` are the plain per-sample
references the tests compare against. Every layer takes ``cuda_graph=True``: forward passes
without autograd on a CUDA input then replay a CUDA graph (one launch for the whole layer
instead of one per operation); elsewhere the option changes nothing.
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
    "CondConv2d",
    "condconv2d_loop",
    "OmniAttention",
    "ODConv2d",
    "odconv2d_loop",
    "temperature_schedule",
    "set_temperature",
    "DYNAMIC_STRATEGIES",
]

# How DynamicConv2d runs the per-sample convolutions (all give the same result, see tests):
#   "grouped": fold the batch into channels, one grouped conv with groups = B * groups;
#   "loop":    one F.conv2d per sample with that sample's aggregated kernel;
#   "auto":    "grouped" on CUDA (one convolution launch instead of B; the attention branch
#              and the kernel mixing still launch their own small kernels, see cuda_graph)
#              and for contiguous (NCHW) inputs on the CPU; "loop" for channels_last inputs
#              on the CPU, where folding the batch would need a layout copy and oneDNN's
#              grouped conv is much slower than B ordinary channels_last convs (measured:
#              snippets/dynamic_bench.py).
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


def _check_bool(name: str, value) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")
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
        # hidden width max(C // r, 4): this site's choice (see snippets.formulas)
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


class _KernelBank(nn.Module):
    """What the three layers share: nn.Conv2d's arguments, K kernels (and K biases), the
    input check, the batch-folded grouped convolution and the ``cuda_graph`` option."""

    _MAX_GRAPHS = 8   # CUDA graphs kept per layer (one per input shape, dtype, layout, ...)

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation,
                 groups, bias, num_kernels, cuda_graph, kernels_name="num_kernels"):
        super().__init__()
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels),
                            ("groups", groups), (kernels_name, num_kernels)):
            _check_positive(name, value)
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
        _check_bool("bias", bias)
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.num_kernels = num_kernels
        self.cuda_graph = cuda_graph
        kh, kw = self.kernel_size
        # K kernels side by side: (K, O, C/g, kh, kw)
        self.weight = nn.Parameter(torch.empty(num_kernels, out_channels, in_channels // groups,
                                               kh, kw))
        self.bias = nn.Parameter(torch.empty(num_kernels, out_channels)) if bias else None
        self._graphs = {}
        self._graph_busy = False
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
    def cuda_graph(self) -> bool:
        return self._cuda_graph

    @cuda_graph.setter
    def cuda_graph(self, value: bool) -> None:
        self._cuda_graph = _check_bool("cuda_graph", value)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, dilation={self.dilation}, "
                f"groups={self.groups}, bias={self.bias is not None}, "
                f"num_kernels={self.num_kernels}, cuda_graph={self.cuda_graph}")

    def _check_input(self, x: torch.Tensor) -> None:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a tensor, got {type(x).__name__}")
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"expected input (B, {self.in_channels}, H, W), "
                             f"got {tuple(x.shape)}")

    def _grouped_conv(self, x: torch.Tensor, weight: torch.Tensor, bias):
        """One conv for the whole batch: ``weight`` (B, O*C/g*kh*kw), ``bias`` (B, O) or None."""
        B, C, H, W = x.shape
        O, g = self.out_channels, self.groups
        kh, kw = self.kernel_size
        # sample b owns channels b*C .. (b+1)*C - 1; reshape, not view:
        # a channels_last x is not contiguous in this order (then it copies)
        x = x.reshape(1, B * C, H, W)                   # (1, B*C, H, W)
        weight = weight.reshape(B * O, C // g, kh, kw)  # (B*O, C/g, kh, kw)
        if bias is not None:
            bias = bias.reshape(B * O)                  # (B*O,)
        # groups = B*g: output channels of sample b see only its channels
        y = F.conv2d(x, weight, bias, self.stride, self.padding, self.dilation,
                     groups=B * g)                      # (1, B*O, H', W')
        return y.reshape(B, O, *y.shape[2:])            # (B, O, H', W'), no copy

    # --8<-- [start:cuda_graph]
    def use_cuda_graph(self, x: torch.Tensor) -> bool:
        """True when this call replays a CUDA graph: ``cuda_graph`` is on, ``x`` is on a GPU,
        autograd is off (``torch.no_grad`` / ``torch.inference_mode``), no autocast, and we
        are not already inside a capture or a warm-up."""
        return (self.cuda_graph and x.is_cuda and not torch.is_grad_enabled()
                and not torch.is_autocast_enabled("cuda") and not self._graph_busy
                and not torch.cuda.is_current_stream_capturing())

    def graph_replay(self, x: torch.Tensor) -> torch.Tensor:
        """``self(x)`` from a CUDA graph: the first call for a new input shape, dtype, layout
        or temperature captures the eager forward (every launch it makes) into a graph; later
        calls copy ``x`` into the graph's input, replay it (one launch) and copy the output."""
        key = (tuple(x.shape), x.stride(), x.dtype, x.device,
               torch.is_inference_mode_enabled(), self._graph_state(),
               tuple(p.data_ptr() for p in self.parameters()))
        entry = self._graphs.get(key)
        if entry is None:
            static_x = x.clone()                       # the graph reads its input from here
            self._graph_busy = True                    # forward below runs eagerly
            try:
                side = torch.cuda.Stream(x.device)
                side.wait_stream(torch.cuda.current_stream(x.device))
                with torch.cuda.stream(side):          # warm-up: cuDNN picks its algorithms
                    for _ in range(2):                 # outside the capture
                        self(static_x)
                torch.cuda.current_stream(x.device).wait_stream(side)
                graph = torch.cuda.CUDAGraph()
                with torch.cuda.graph(graph):
                    static_y = self(static_x)          # recorded, not run
            finally:
                self._graph_busy = False
            if len(self._graphs) >= self._MAX_GRAPHS:
                self._graphs.pop(next(iter(self._graphs)))   # drop the oldest
            entry = self._graphs[key] = (graph, static_x, static_y)
        graph, static_x, static_y = entry
        static_x.copy_(x)
        graph.replay()
        return static_y.clone()   # the next replay overwrites static_y
    # --8<-- [end:cuda_graph]

    def _graph_state(self) -> tuple:
        """What a captured forward bakes in besides the parameters (a Python float, ...)."""
        return ()


class DynamicConv2d(_KernelBank):
    """A 2-D convolution whose kernel is ``sum_k pi_k(x) W_k``, different for every sample.

    The arguments before ``num_kernels`` are those of ``nn.Conv2d`` (ints or pairs;
    ``padding_mode`` is always zeros). ``num_kernels`` is K, ``reduction`` the attention
    MLP's reduction ratio (hidden width ``max(in_channels // reduction, 4)``), ``temperature``
    the softmax temperature tau (change it during training, e.g. with ``temperature_schedule``).
    ``strategy`` picks how the per-sample convolutions run (see ``DYNAMIC_STRATEGIES``);
    ``cuda_graph=True`` replays inference calls on a GPU from a CUDA graph (same result).

    >>> conv = DynamicConv2d(16, 32, 3, padding=1, num_kernels=4)
    >>> conv(torch.randn(2, 16, 8, 8)).shape
    torch.Size([2, 32, 8, 8])
    >>> tuple(conv.weight.shape)   # (K, out, in / groups, kh, kw)
    (4, 32, 16, 3, 3)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1,
                 padding=0, dilation=1, groups: int = 1, bias: bool = True,
                 num_kernels: int = 4, reduction: int = 4, temperature: float = 1.0,
                 strategy: str = "auto", cuda_graph: bool = False):
        _check_positive("reduction", reduction)
        _check_temperature(temperature)
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, num_kernels, cuda_graph)
        self.strategy = strategy
        self.attention = KernelAttention(in_channels, num_kernels, reduction, temperature)

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
        return (super().extra_repr() + f", temperature={self.temperature}, "
                f"strategy={self.strategy!r}")

    def _graph_state(self) -> tuple:
        return (self.temperature, self.strategy)

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
        self._check_input(x)
        if self.use_cuda_graph(x):                  # cuda_graph=True, GPU, no autograd
            return self.graph_replay(x)             # the same forward, replayed
        pi = self.attention(x)                      # (B, K)
        weight, bias = self.aggregate(pi)           # (B, O*C/g*kh*kw), (B, O)
        if self.resolved_strategy(x) == "grouped":
            return self._grouped_conv(x, weight, bias)  # batch folded: one grouped conv
        B, O, g = x.shape[0], self.out_channels, self.groups
        weight = weight.reshape(B, O, self.in_channels // g, *self.kernel_size)
        # (B, O, C/g, kh, kw); x[b:b+1] keeps x's memory format (channels_last stays so)
        outs = [F.conv2d(x[b:b + 1], weight[b], None if bias is None else bias[b],
                         self.stride, self.padding, self.dilation, g)
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


# --8<-- [start:condconv]
class CondConv2d(_KernelBank):
    """CondConv (arXiv:1904.04971): ``sum_k r_k(x) W_k`` with sigmoid routing weights.

    ``r(x) = sigmoid(FC(GAP(x)))``: one linear layer, each ``r_k`` in (0, 1) on its own,
    no sum-to-one and no temperature. The arguments before ``num_experts`` are nn.Conv2d's.

    >>> conv = CondConv2d(16, 32, 3, padding=1, num_experts=4)
    >>> conv(torch.randn(2, 16, 8, 8)).shape
    torch.Size([2, 32, 8, 8])
    >>> conv.routing_weights(torch.randn(2, 16, 8, 8)).shape   # (B, K), not summing to 1
    torch.Size([2, 4])
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1,
                 padding=0, dilation=1, groups: int = 1, bias: bool = True,
                 num_experts: int = 4, cuda_graph: bool = False):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, num_experts, cuda_graph, kernels_name="num_experts")
        self.routing = nn.Linear(in_channels, num_experts)

    @property
    def num_experts(self) -> int:
        return self.num_kernels

    def routing_weights(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.routing(x.mean(dim=(2, 3))))   # (B, K), each in (0, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input(x)
        if self.use_cuda_graph(x):
            return self.graph_replay(x)
        r = self.routing_weights(x)                          # (B, K)
        weight = r @ self.weight.reshape(self.num_kernels, -1)   # (B, O*C/g*kh*kw)
        bias = None if self.bias is None else r @ self.bias  # (B, O)
        return self._grouped_conv(x, weight, bias)           # one grouped conv
# --8<-- [end:condconv]


def condconv2d_loop(conv: CondConv2d, x: torch.Tensor) -> torch.Tensor:
    """Reference: per sample, ``r = sigmoid(FC(GAP(x)))``, kernel ``sum_k r_k W_k``, one conv."""
    if not isinstance(conv, CondConv2d):
        raise TypeError(f"conv must be a CondConv2d, got {type(conv).__name__}")
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() != 4 or x.shape[1] != conv.in_channels:
        raise ValueError(f"x must be (B, {conv.in_channels}, H, W), got shape {tuple(x.shape)}")
    outs = []
    for b in range(x.shape[0]):
        xb = x[b:b + 1]                                 # (1, C, H, W)
        r = torch.sigmoid(conv.routing(xb.mean(dim=(2, 3))))[0]   # (K,)
        weight = sum(r[k] * conv.weight[k] for k in range(conv.num_kernels))
        bias = None if conv.bias is None else sum(
            r[k] * conv.bias[k] for k in range(conv.num_kernels))
        outs.append(F.conv2d(xb, weight, bias, conv.stride, conv.padding, conv.dilation,
                             conv.groups))
    return torch.cat(outs)                              # (B, O, H', W')


# --8<-- [start:odconv]
class OmniAttention(nn.Module):
    """ODConv's four attentions from one squeezed vector (GAP -> FC -> ReLU -> four heads):

    * ``a_c`` (B, C_in): sigmoid, one weight per input channel;
    * ``a_f`` (B, C_out): sigmoid, per output channel (None for a depthwise conv, where
      output channel o only sees input channel o, so ``a_c`` already scales it);
    * ``a_s`` (B, kh*kw): sigmoid, per kernel position (None for a 1x1 kernel);
    * ``a_w`` (B, K): softmax over the K kernels (None when K = 1).

    Every head is divided by the temperature first, as in the authors' code. Hidden width
    ``max(C_in // reduction, 16)`` (the authors: ``reduction=0.0625``, at least 16 channels).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, groups: int = 1,
                 kernel_num: int = 4, reduction: int = 16, temperature: float = 1.0):
        super().__init__()
        kh, kw = _pair("kernel_size", kernel_size)
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels),
                            ("groups", groups), ("kernel_num", kernel_num),
                            ("reduction", reduction), ("kernel_size", kh), ("kernel_size", kw)):
            _check_positive(name, value)
        hidden = max(in_channels // reduction, 16)
        depthwise = in_channels == groups == out_channels
        # the authors: a 1x1 conv without bias, then BatchNorm (it couples the samples of a
        # batch and fails on batch 1 in training); here a Linear with bias, no BatchNorm
        self.fc = nn.Linear(in_channels, hidden)
        self.channel = nn.Linear(hidden, in_channels)
        self.filter = None if depthwise else nn.Linear(hidden, out_channels)
        self.spatial = None if kh * kw == 1 else nn.Linear(hidden, kh * kw)
        self.kernel = None if kernel_num == 1 else nn.Linear(hidden, kernel_num)
        self.temperature = temperature

    @property
    def temperature(self) -> float:
        return self._temperature

    @temperature.setter
    def temperature(self, value: float) -> None:
        self._temperature = _check_temperature(value)

    def forward(self, x: torch.Tensor):
        h = F.relu(self.fc(x.mean(dim=(2, 3))))        # (B, hidden)
        tau = self.temperature
        a_c = torch.sigmoid(self.channel(h) / tau)      # (B, C_in)
        a_f = None if self.filter is None else torch.sigmoid(self.filter(h) / tau)  # (B, O)
        a_s = None if self.spatial is None else torch.sigmoid(self.spatial(h) / tau)  # (B, kh*kw)
        a_w = None if self.kernel is None else torch.softmax(self.kernel(h) / tau, dim=1)  # (B, K)
        return a_c, a_f, a_s, a_w


class ODConv2d(_KernelBank):
    """ODConv (arXiv:2209.07947): per sample, the kernel
    ``a_f * a_c * a_s * sum_k a_wk W_k`` -- one weight per output channel, per input channel,
    per kernel position and per kernel, multiplied together (``OmniAttention``).

    The arguments before ``kernel_num`` are nn.Conv2d's (``bias`` defaults to False, as in the
    authors' code; with ``bias=True`` the K biases are mixed by ``a_w`` and scaled by ``a_f``).
    Folding ``a_c`` and ``a_f`` into the kernel (instead of scaling the input and the output,
    as the authors' code does; the same result, see ``odconv2d_loop``) keeps the whole batch
    one grouped convolution.

    >>> conv = ODConv2d(16, 32, 3, padding=1, kernel_num=4)
    >>> conv(torch.randn(2, 16, 8, 8)).shape
    torch.Size([2, 32, 8, 8])
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1,
                 padding=0, dilation=1, groups: int = 1, bias: bool = False,
                 kernel_num: int = 4, reduction: int = 16, temperature: float = 1.0,
                 cuda_graph: bool = False):
        _check_positive("reduction", reduction)
        _check_temperature(temperature)
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, kernel_num, cuda_graph, kernels_name="kernel_num")
        self.attention = OmniAttention(in_channels, out_channels, self.kernel_size, groups,
                                       kernel_num, reduction, temperature)

    @property
    def kernel_num(self) -> int:
        return self.num_kernels

    @property
    def temperature(self) -> float:
        return self.attention.temperature

    @temperature.setter
    def temperature(self, value: float) -> None:
        self.attention.temperature = value

    def _graph_state(self) -> tuple:
        return (self.temperature,)

    def aggregate(self, x: torch.Tensor):
        """Per-sample kernels (B, O*C/g*kh*kw) and biases (B, O) with all four attentions."""
        B, C, O, g, K = x.shape[0], self.in_channels, self.out_channels, self.groups, \
            self.num_kernels
        kh, kw = self.kernel_size
        a_c, a_f, a_s, a_w = self.attention(x)
        if a_w is None:                                  # K = 1: the one kernel
            weight = self.weight.reshape(1, -1).expand(B, -1)          # (B, O*C/g*kh*kw)
            bias = None if self.bias is None else self.bias.expand(B, -1)  # (B, O)
        else:
            weight = a_w @ self.weight.reshape(K, -1)    # (B, O*C/g*kh*kw)
            bias = None if self.bias is None else a_w @ self.bias      # (B, O)
        # kernel positions, then input and output channels (group j owns channels j*C/g ..)
        weight = weight.reshape(B, g, O // g, C // g, kh * kw)         # (B, g, O/g, C/g, kh*kw)
        if a_s is not None:
            weight = weight * a_s.reshape(B, 1, 1, 1, kh * kw)
        weight = weight * a_c.reshape(B, g, 1, C // g, 1)
        if a_f is not None:
            weight = weight * a_f.reshape(B, g, O // g, 1, 1)
            bias = None if bias is None else bias * a_f                # (B, O)
        return weight.reshape(B, -1), bias               # (B, O*C/g*kh*kw), (B, O)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input(x)
        if self.use_cuda_graph(x):
            return self.graph_replay(x)
        weight, bias = self.aggregate(x)
        return self._grouped_conv(x, weight, bias)       # one grouped conv
# --8<-- [end:odconv]


def odconv2d_loop(conv: ODConv2d, x: torch.Tensor) -> torch.Tensor:
    """Reference, the way the authors' code computes it, one sample at a time: scale the
    input channels by ``a_c``, convolve with ``sum_k a_wk (a_s * W_k)``, scale the output
    channels by ``a_f``."""
    if not isinstance(conv, ODConv2d):
        raise TypeError(f"conv must be a ODConv2d, got {type(conv).__name__}")
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() != 4 or x.shape[1] != conv.in_channels:
        raise ValueError(f"x must be (B, {conv.in_channels}, H, W), got shape {tuple(x.shape)}")
    kh, kw = conv.kernel_size
    outs = []
    for b in range(x.shape[0]):
        xb = x[b:b + 1]                                 # (1, C, H, W)
        a_c, a_f, a_s, a_w = (None if a is None else a[0] for a in conv.attention(xb))
        a_w = torch.ones(1, dtype=x.dtype, device=x.device) if a_w is None else a_w  # (K,)
        a_s = 1 if a_s is None else a_s.reshape(kh, kw)  # (kh, kw)
        weight = sum(a_w[k] * (a_s * conv.weight[k]) for k in range(conv.num_kernels))
        bias = None if conv.bias is None else sum(
            a_w[k] * conv.bias[k] for k in range(conv.num_kernels))    # (O,)
        y = F.conv2d(xb * a_c.reshape(1, -1, 1, 1), weight, bias, conv.stride, conv.padding,
                     conv.dilation, conv.groups)        # (1, O, H', W')
        outs.append(y if a_f is None else y * a_f.reshape(1, -1, 1, 1))
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
    """Set tau on every ``DynamicConv2d`` and ``ODConv2d`` in ``model``; return how many."""
    _check_temperature(temperature)
    convs = [m for m in model.modules() if isinstance(m, (DynamicConv2d, ODConv2d))]
    for conv in convs:
        conv.temperature = temperature
    return len(convs)
# --8<-- [end:temperature]

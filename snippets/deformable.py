"""Deformable convolution (DCN v1 and v2) in pure PyTorch, with torchvision's interface.

J. Dai, H. Qi, Y. Xiong, Y. Li, G. Zhang, H. Hu, Y. Wei, "Deformable Convolutional
Networks", ICCV 2017, arXiv:1703.06211 (v1: a learned 2-D offset for every kernel tap).
X. Zhu, H. Hu, S. Lin, J. Dai, "Deformable ConvNets v2: More Deformable, Better Results",
CVPR 2019, arXiv:1811.11168 (v2: a learned modulation scalar for every tap as well).

For every output position p and kernel tap k (regular grid offset p_k), the layer reads the
input at the fractional position p + p_k + dp_k by bilinear interpolation and weights it by
w_k (and, in v2, by a modulation scalar m_k):

    y(p) = sum_k w_k * m_k * x(p + p_k + dp_k)

* ``deform_conv2d``: the function, with the argument order, tensor layouts and semantics of
  ``torchvision.ops.deform_conv2d`` (offset ``(B, 2*G*kh*kw, H_out, W_out)`` holding (dy, dx)
  per tap in row-major tap order, mask ``(B, G*kh*kw, H_out, W_out)``, G = offset groups,
  samples outside the input read zero). Vectorised: every tap of every position is sampled
  into one column tensor, which one grouped matrix product contracts with the weight.
* ``DeformConv2d``: the module around it (``forward(input, offset, mask=None)``), like
  torchvision's.
* ``DeformableConv2d``: the block a network uses: an ordinary convolution, initialised to
  zero, predicts the offsets (and for v2 the mask), so training starts from a plain conv.
* ``deform_conv2d_loop``: the formula, one output position and tap at a time (slow; the
  tests compare against it).
* ``deformable_conv2d_params`` / ``deformable_conv2d_macs`` / ``deformable_sampling_macs``:
  what the block costs.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "deform_conv2d",
    "DeformConv2d",
    "DeformableConv2d",
    "deform_conv2d_loop",
    "deform_output_size",
    "deformable_conv2d_params",
    "deformable_conv2d_macs",
    "deformable_sampling_macs",
]

# Column tensors larger than this are built a few images at a time. A whole batch at once
# (58 MB for 8 x 64 channels x 9 taps x 56 x 56 in float32) would come as fresh pages from
# the OS on every call (glibc serves blocks over 32 MB with mmap) and would not stay in
# cache between the sampling and the matrix product; see the benchmark.
COLUMN_BLOCK_BYTES = 16 * 2**20


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


def _check_size(name: str, value, low: int = 1) -> tuple[int, int]:
    """An int or a pair of ints, each at least ``low``."""
    pair = _pair(name, value)
    if min(pair) < low:
        raise ValueError(f"{name} must be >= {low}, got {value!r}")
    return pair


def _check_tensor(name: str, value, dims: int) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if value.dim() != dims:
        raise ValueError(f"{name} must be {dims}-D, got shape {tuple(value.shape)}")
    return value


def deform_output_size(size: int, kernel_size: int, stride: int = 1, padding: int = 0,
                       dilation: int = 1) -> int:
    """Output length along one dimension, the same as an ordinary convolution's.

    >>> deform_output_size(56, 3, padding=1), deform_output_size(56, 3, stride=2, padding=1)
    (56, 28)
    """
    for name, value, low in (("size", size, 1), ("kernel_size", kernel_size, 1),
                             ("stride", stride, 1), ("padding", padding, 0),
                             ("dilation", dilation, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    out = (size + 2 * padding - dilation * (kernel_size - 1) - 1) // stride + 1
    if out < 1:
        raise ValueError(f"kernel span {dilation * (kernel_size - 1) + 1} is larger than the "
                         f"padded input {size + 2 * padding} (size {size})")
    return out


def _check_arguments(input, offset, weight, bias, stride, padding, dilation, mask):
    """Validate like torchvision (but with ValueError naming the expected shape); return
    the sizes everything else needs."""
    _check_tensor("input", input, 4)
    _check_tensor("offset", offset, 4)
    _check_tensor("weight", weight, 4)
    if not input.is_floating_point():
        raise TypeError(f"input must be a floating-point tensor, got {input.dtype}")
    stride, padding, dilation = (_pair("stride", stride), _pair("padding", padding),
                                 _pair("dilation", dilation))
    if min(stride) < 1 or min(dilation) < 1 or min(padding) < 0:
        raise ValueError(f"stride and dilation must be >= 1 and padding >= 0, got "
                         f"stride={stride}, padding={padding}, dilation={dilation}")
    B, C, H, W = input.shape
    O, c_per_group, kh, kw = weight.shape
    if c_per_group == 0 or C % c_per_group:
        raise ValueError(f"weight.shape[1] ({c_per_group}) must divide the input's "
                         f"{C} channels (groups = in_channels / weight.shape[1])")
    groups = C // c_per_group
    if O % groups:
        raise ValueError(f"weight.shape[0] ({O}) must be divisible by groups ({groups})")
    taps = kh * kw
    ho = deform_output_size(H, kh, stride[0], padding[0], dilation[0])
    wo = deform_output_size(W, kw, stride[1], padding[1], dilation[1])
    if ho < 1 or wo < 1:
        raise ValueError(f"the output would be {ho}x{wo}: input {H}x{W} is too small for "
                         f"kernel {kh}x{kw}, padding {padding}, dilation {dilation}")
    offset_groups = offset.shape[1] // (2 * taps)
    if offset_groups < 1 or offset.shape[1] % (2 * taps) or C % offset_groups:
        raise ValueError(
            f"offset must have shape (B, 2*offset_groups*{kh}*{kw}, {ho}, {wo}) with "
            f"offset_groups dividing the {C} input channels, got {tuple(offset.shape)}")
    expected = (B, 2 * offset_groups * taps, ho, wo)
    if tuple(offset.shape) != expected:
        raise ValueError(f"offset must have shape {expected} = (B, 2*offset_groups*kh*kw, "
                         f"H_out, W_out), got {tuple(offset.shape)}")
    for name, t in (("offset", offset), ("weight", weight), ("mask", mask), ("bias", bias)):
        if t is not None and not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
        if t is not None and (t.dtype != input.dtype or t.device != input.device):
            raise TypeError(f"{name} must have the input's dtype and device "
                            f"({input.dtype}, {input.device}), got ({t.dtype}, {t.device})")
    if mask is not None:
        expected = (B, offset_groups * taps, ho, wo)
        if tuple(mask.shape) != expected:
            raise ValueError(f"mask must have shape {expected} = (B, offset_groups*kh*kw, "
                             f"H_out, W_out), got {tuple(mask.shape)}")
    if bias is not None and tuple(bias.shape) != (O,):
        raise ValueError(f"bias must have shape ({O},), got {tuple(bias.shape)}")
    return stride, padding, dilation, groups, offset_groups, ho, wo


# --8<-- [start:sampling]
def _sampling_bags(offset, mask, height, width, offset_groups, kernel_size, stride,
                   padding, dilation):
    """For every sample: the input-table rows of its 4 bilinear neighbours and their
    weights (times the mask), in the order (image, y_out, x_out, tap, offset group)."""
    nb, _, ho, wo = offset.shape
    G, (kh, kw) = offset_groups, kernel_size
    K = kh * kw
    dev, dt = offset.device, offset.dtype
    # int32 row numbers when they fit (half the index memory; embedding_bag takes both)
    index = torch.int32 if nb * height * width * G < 2**31 else torch.int64
    # (dy, dx) last, in the order the samples are needed; 2*G*K values per position
    off = offset.reshape(nb, G, K, 2, ho, wo).permute(0, 4, 5, 2, 1, 3).contiguous()
    # off: (B, H', W', K, G, 2)
    tap_y = (torch.arange(kh, device=dev) * dilation[0]).repeat_interleave(kw)  # (K,)
    tap_x = (torch.arange(kw, device=dev) * dilation[1]).repeat(kh)             # (K,)
    out_y = torch.arange(ho, device=dev) * stride[0] - padding[0]               # (H',)
    out_x = torch.arange(wo, device=dev) * stride[1] - padding[1]               # (W',)
    # p + p_k + dp_k: where each tap of each output position reads
    y = off[..., 0] + (out_y.view(ho, 1, 1, 1) + tap_y.view(K, 1)).to(dt)  # (B, H', W', K, G)
    x = off[..., 1] + (out_x.view(wo, 1, 1) + tap_x.view(K, 1)).to(dt)     # (B, H', W', K, G)
    y0, x0 = torch.floor(y), torch.floor(x)
    ly, lx = y - y0, x - x0                        # fractional parts: the gradient path
    # the two rows and two columns around each sample, and their 1-D weights
    # max(0, 1 - |q - p|); a neighbour outside the input gets weight 0 (zero extension)
    # and a clamped index (any row will do: it is multiplied by 0)
    pair = torch.tensor([0, 1], device=dev, dtype=index)
    ys = y0.detach().clamp(-2, height).to(index).unsqueeze(-1) + pair  # (B, H', W', K, G, 2)
    xs = x0.detach().clamp(-2, width).to(index).unsqueeze(-1) + pair   # (B, H', W', K, G, 2)
    wy = torch.stack((1 - ly, ly), dim=-1) * ((ys >= 0) & (ys < height))  # (B, H', W', K, G, 2)
    wx = torch.stack((1 - lx, lx), dim=-1) * ((xs >= 0) & (xs < width))   # (B, H', W', K, G, 2)
    if mask is not None:           # (B, G*K, H', W') -> (B, H', W', K, G, 1)
        wy = wy * mask.reshape(nb, G, K, ho, wo).permute(0, 3, 4, 2, 1).unsqueeze(-1)
    weights = (wy.unsqueeze(-1) * wx.unsqueeze(-2)).reshape(-1, 4)  # (B*H'*W'*K*G, 4)
    image = torch.arange(nb, device=dev, dtype=index).view(nb, 1, 1, 1, 1, 1)
    group = torch.arange(G, device=dev, dtype=index).view(G, 1)
    row_y = (image * height + ys.clamp(0, height - 1)) * width      # (B, H', W', K, G, 2)
    col_x = xs.clamp(0, width - 1) * G + group                      # (B, H', W', K, G, 2)
    rows = (row_y.unsqueeze(-1) * G + col_x.unsqueeze(-2)).reshape(-1, 4)
    return rows, weights  # neighbours (y0,x0), (y0,x0+1), (y0+1,x0), (y0+1,x0+1)
# --8<-- [end:sampling]


# --8<-- [start:deform_conv2d]
def deform_conv2d(input: torch.Tensor, offset: torch.Tensor, weight: torch.Tensor,
                  bias: torch.Tensor | None = None, stride=1, padding=0, dilation=1,
                  mask: torch.Tensor | None = None) -> torch.Tensor:
    """Deformable convolution, v1 (``mask=None``) or v2; ``torchvision.ops.deform_conv2d``'s
    arguments, layouts and results. Groups come from ``weight`` (``C / weight.shape[1]``),
    offset groups from ``offset`` (``offset.shape[1] / (2 * kh * kw)``).

    >>> x = torch.randn(2, 4, 9, 9)
    >>> weight = torch.randn(6, 4, 3, 3)
    >>> offset = torch.zeros(2, 2 * 3 * 3, 7, 7)      # zero offsets: an ordinary conv
    >>> y = deform_conv2d(x, offset, weight)
    >>> y.shape
    torch.Size([2, 6, 7, 7])
    >>> torch.allclose(y, F.conv2d(x, weight), atol=1e-5)
    True
    """
    stride, padding, dilation, groups, G, ho, wo = _check_arguments(
        input, offset, weight, bias, stride, padding, dilation, mask)
    B, C, H, W = input.shape
    O, _, kh, kw = weight.shape
    K = kh * kw
    channels_last = input.is_contiguous(memory_format=torch.channels_last) and not (
        input.is_contiguous())
    layout = torch.channels_last if channels_last else torch.contiguous_format
    if B == 0:
        return input.new_zeros(0, O, ho, wo)
    # the input as a table of rows, one per (image, y, x, offset group), channels
    # contiguous (free for a channels_last input, one copy for NCHW)
    table = input.permute(0, 2, 3, 1).reshape(B * H * W * G, C // G)  # (B*H*W*G, C/G)
    # the weight as a 1 x K kernel: tap k = i * kw + j, the order of the columns below
    weight_1xk = weight.reshape(O, C // groups, 1, K)                 # (O, C/g, 1, K)
    rows, weights = _sampling_bags(offset, mask, H, W, G, (kh, kw), stride, padding,
                                   dilation)                # (B*H'*W'*K*G, 4) each
    bags = ho * wo * K * G                                  # samples per image
    step = max(1, COLUMN_BLOCK_BYTES // (ho * wo * K * C * input.element_size()))
    out = None if step >= B else input.new_empty(B, O, ho, wo).contiguous(memory_format=layout)
    for first in range(0, B, step):       # blocks of images, not positions: see the top
        last = min(B, first + step)
        # every sample: the sum of its 4 neighbours times their weights, one fused gather
        cols = F.embedding_bag(rows[first * bags:last * bags], table, mode="sum",
                               per_sample_weights=weights[first * bags:last * bags])
        # (nb*H'*W'*K*G, C/G) rows are the column image (nb, H', W'*K, C), channels last
        cols = cols.view(last - first, ho, wo * K, C).permute(0, 3, 1, 2)  # (nb, C, H', W'*K)
        # each output is a dot product of K adjacent column pixels (all channels of its
        # group) with the weight: a matrix product per group, run as a 1 x K convolution
        # with stride K (oneDNN / cuDNN, and no copy into a (C*K, H'*W') matrix)
        block = F.conv2d(cols, weight_1xk, bias, stride=(1, K), groups=groups)
        if out is None:                   # one block: the whole batch
            return block.contiguous(memory_format=layout)               # (B, O, H', W')
        out[first:last] = block
    return out                                                          # (B, O, H', W')
# --8<-- [end:deform_conv2d]


class DeformConv2d(nn.Module):
    """The module around ``deform_conv2d``, with ``torchvision.ops.DeformConv2d``'s arguments
    and initialisation; the offsets (and mask) are passed to ``forward``.

    >>> conv = DeformConv2d(4, 8, 3, padding=1)
    >>> x = torch.randn(1, 4, 6, 6)
    >>> conv(x, torch.zeros(1, 18, 6, 6)).shape
    torch.Size([1, 8, 6, 6])
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1,
                 padding=0, dilation=1, groups: int = 1, bias: bool = True):
        super().__init__()
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels),
                            ("groups", groups)):
            _check_positive(name, value)
        _check_bool("bias", bias)
        if in_channels % groups:
            raise ValueError(f"in_channels ({in_channels}) must be divisible by groups ({groups})")
        if out_channels % groups:
            raise ValueError(f"out_channels ({out_channels}) must be divisible by groups ({groups})")
        self.kernel_size = _pair("kernel_size", kernel_size)
        self.stride = _pair("stride", stride)
        self.padding = _pair("padding", padding)
        self.dilation = _pair("dilation", dilation)
        for name, values, low in (("kernel_size", self.kernel_size, 1),
                                  ("stride", self.stride, 1), ("padding", self.padding, 0),
                                  ("dilation", self.dilation, 1)):
            if min(values) < low:
                raise ValueError(f"{name} must be >= {low}, got {values}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels // groups,
                                               *self.kernel_size))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # as nn.Conv2d and torchvision's DeformConv2d
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.weight[0].numel())
            nn.init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, dilation={self.dilation}, "
                f"groups={self.groups}, bias={self.bias is not None}")

    def forward(self, input: torch.Tensor, offset: torch.Tensor,
                mask: torch.Tensor | None = None) -> torch.Tensor:
        if isinstance(input, torch.Tensor) and (input.dim() != 4
                                                or input.shape[1] != self.in_channels):
            raise ValueError(f"expected input (B, {self.in_channels}, H, W), "
                             f"got {tuple(input.shape)}")
        return deform_conv2d(input, offset, self.weight, self.bias, self.stride,
                             self.padding, self.dilation, mask)


# --8<-- [start:block]
class DeformableConv2d(nn.Module):
    """A deformable convolution that predicts its own offsets (and, if ``modulated``, its
    mask) with an ordinary convolution of the same kernel size, stride, padding and
    dilation, initialised to zero: at the start the offsets are 0 and the mask is
    ``mask_scale * sigmoid(0) = mask_scale / 2``.

    ``mask_scale=2`` (the default, as the authors' released DCNv2 operator example does)
    makes the block at initialisation exactly the plain convolution it wraps; with
    ``mask_scale=1`` the mask is a plain sigmoid, 0.5 at the start, as the DCNv2 paper
    states, and the block starts as half the convolution (plus the bias).

    >>> block = DeformableConv2d(8, 16, 3, padding=1, offset_groups=2)
    >>> x = torch.randn(2, 8, 10, 10)
    >>> plain = F.conv2d(x, block.conv.weight, block.conv.bias, padding=1)
    >>> torch.allclose(block(x), plain, atol=1e-5)
    True
    >>> block.offset_conv.out_channels        # 2 offset groups x 9 taps x (dy, dx, m)
    54
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1,
                 padding=0, dilation=1, groups: int = 1, bias: bool = True,
                 modulated: bool = True, offset_groups: int = 1, mask_scale: float = 2.0):
        super().__init__()
        _check_positive("in_channels", in_channels), _check_positive("out_channels", out_channels)
        _check_bool("bias", bias)
        if not isinstance(modulated, bool):
            raise TypeError(f"modulated must be a bool, got {type(modulated).__name__}")
        _check_positive("offset_groups", offset_groups)
        if in_channels % offset_groups:
            raise ValueError(f"in_channels ({in_channels}) must be divisible by "
                             f"offset_groups ({offset_groups})")
        if (isinstance(mask_scale, bool) or not isinstance(mask_scale, (int, float))
                or not (math.isfinite(mask_scale) and mask_scale > 0)):
            raise ValueError(f"mask_scale must be a finite number > 0, got {mask_scale!r}")
        self.conv = DeformConv2d(in_channels, out_channels, kernel_size, stride, padding,
                                 dilation, groups, bias)
        self.modulated, self.offset_groups = modulated, offset_groups
        self.mask_scale = float(mask_scale)
        taps = self.conv.kernel_size[0] * self.conv.kernel_size[1]
        # (dy, dx) per tap and group, then one mask logit per tap and group
        self.offset_conv = nn.Conv2d(in_channels, (3 if modulated else 2) * offset_groups * taps,
                                     kernel_size, stride, padding, dilation, bias=True)
        nn.init.zeros_(self.offset_conv.weight)   # both papers: the offset branch starts at 0
        nn.init.zeros_(self.offset_conv.bias)

    def offsets_and_mask(self, x: torch.Tensor):
        """The offsets ``(B, 2*G*kh*kw, H', W')`` and mask ``(B, G*kh*kw, H', W')`` (or
        ``None``) this block samples ``x`` with."""
        out = self.offset_conv(x)                                  # (B, 3*G*K or 2*G*K, H', W')
        n = 2 * self.offset_groups * self.conv.kernel_size[0] * self.conv.kernel_size[1]
        if not self.modulated:
            return out, None
        return out[:, :n], self.mask_scale * torch.sigmoid(out[:, n:])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        offset, mask = self.offsets_and_mask(x)
        return self.conv(x, offset, mask)
# --8<-- [end:block]

    def extra_repr(self) -> str:
        return (f"modulated={self.modulated}, offset_groups={self.offset_groups}, "
                f"mask_scale={self.mask_scale}")


# --8<-- [start:loop]
def _bilinear(image: torch.Tensor, py: float, px: float) -> torch.Tensor:
    """x(p) = sum_q g(q_y, p_y) g(q_x, p_x) x(q) with g(a, b) = max(0, 1 - |a - b|), over
    the integer positions q of the zero-extended image (C, H, W); only 4 q are non-zero."""
    H, W = image.shape[-2:]
    value = image.new_zeros(image.shape[0])
    for qy in (math.floor(py), math.floor(py) + 1):
        for qx in (math.floor(px), math.floor(px) + 1):
            if 0 <= qy < H and 0 <= qx < W:   # outside the input, x(q) = 0
                g = max(0.0, 1 - abs(qy - py)) * max(0.0, 1 - abs(qx - px))
                value = value + g * image[:, qy, qx]
    return value


def deform_conv2d_loop(input, offset, weight, bias=None, stride=1, padding=0, dilation=1,
                       mask=None) -> torch.Tensor:
    """Reference: y(p) = sum_k w_k m_k x(p + p_k + dp_k), one output position, tap and
    offset group at a time, as the formula reads. Slow; the tests compare against it."""
    (sh, sw), (ph, pw), (dh, dw), groups, G, ho, wo = _check_arguments(
        input, offset, weight, bias, stride, padding, dilation, mask)
    B, C, H, W = input.shape
    O, _, kh, kw = weight.shape
    cg, og, K = C // G, O // groups, kh * kw            # channels per offset / weight group
    out = input.new_zeros(B, O, ho, wo)
    for b in range(B):
        for oy in range(ho):
            for ox in range(wo):
                for i in range(kh):
                    for j in range(kw):
                        k = i * kw + j                  # row-major tap order
                        sample = input.new_zeros(C)     # x(p + p_k + dp_k), every channel
                        for g in range(G):
                            dy = float(offset[b, 2 * (g * K + k), oy, ox])
                            dx = float(offset[b, 2 * (g * K + k) + 1, oy, ox])
                            py = oy * sh - ph + i * dh + dy
                            px = ox * sw - pw + j * dw + dx
                            m = 1.0 if mask is None else mask[b, g * K + k, oy, ox]
                            sample[g * cg:(g + 1) * cg] = m * _bilinear(
                                input[b, g * cg:(g + 1) * cg], py, px)
                        for wg in range(groups):        # weight group wg: its own channels
                            chans = sample[wg * (C // groups):(wg + 1) * (C // groups)]
                            out[b, wg * og:(wg + 1) * og, oy, ox] += (
                                weight[wg * og:(wg + 1) * og, :, i, j] @ chans)
    return out if bias is None else out + bias.view(1, O, 1, 1)
# --8<-- [end:loop]


# --- costs --------------------------------------------------------------------------------
def _check_cost_args(in_channels, out_channels, kernel_size, groups, offset_groups):
    for name, value in (("in_channels", in_channels), ("out_channels", out_channels),
                        ("groups", groups), ("offset_groups", offset_groups)):
        _check_positive(name, value)
    if in_channels % groups or out_channels % groups:
        raise ValueError(f"in_channels ({in_channels}) and out_channels ({out_channels}) "
                         f"must be divisible by groups ({groups})")
    if in_channels % offset_groups:
        raise ValueError(f"in_channels ({in_channels}) must be divisible by "
                         f"offset_groups ({offset_groups})")
    kh, kw = _pair("kernel_size", kernel_size)
    _check_positive("kernel_size", kh), _check_positive("kernel_size", kw)
    return kh * kw


# --8<-- [start:costs]
def deformable_conv2d_params(in_channels: int, out_channels: int, kernel_size,
                             groups: int = 1, bias: bool = True, offset_groups: int = 1,
                             modulated: bool = True) -> int:
    """Parameters of ``DeformableConv2d``: the convolution itself plus the offset branch,
    a full conv (with bias) from C_in to ``(3 if modulated else 2) * G * kh * kw`` channels.

    >>> deformable_conv2d_params(64, 64, 3, bias=False, modulated=False)   # 36864 + 10386
    47250
    """
    K = _check_cost_args(in_channels, out_channels, kernel_size, groups, offset_groups)
    _check_bool("bias", bias), _check_bool("modulated", modulated)
    conv = out_channels * (in_channels // groups) * K + (out_channels if bias else 0)
    branch = (3 if modulated else 2) * offset_groups * K
    return conv + branch * in_channels * K + branch


def deformable_conv2d_macs(in_channels: int, out_channels: int, kernel_size, output_size,
                           groups: int = 1, offset_groups: int = 1, modulated: bool = True,
                           batch: int = 1) -> int:
    """Multiply-adds of the block's two matrix products (what ``FlopCounterMode`` counts):
    the offset branch conv and the contraction of the columns with the weight.

    >>> deformable_conv2d_macs(64, 64, 3, 56, modulated=False)   # 115.6 M + 32.5 M
    148119552
    """
    K = _check_cost_args(in_channels, out_channels, kernel_size, groups, offset_groups)
    _check_bool("modulated", modulated), _check_positive("batch", batch)
    oh, ow = _check_size("output_size", output_size)
    positions = batch * oh * ow
    branch = (3 if modulated else 2) * offset_groups * K
    return positions * K * (in_channels // groups * out_channels + in_channels * branch)


def deformable_sampling_macs(in_channels: int, kernel_size, output_size,
                             batch: int = 1) -> int:
    """Multiply-adds of the bilinear sampling: 4 neighbours per sampled value, one value per
    input channel, tap and output position (not counted by ``FlopCounterMode``).

    >>> deformable_sampling_macs(64, 3, 56)
    7225344
    """
    _check_positive("in_channels", in_channels), _check_positive("batch", batch)
    kh, kw = _check_size("kernel_size", kernel_size)
    oh, ow = _check_size("output_size", output_size)
    return 4 * batch * oh * ow * kh * kw * in_channels
# --8<-- [end:costs]

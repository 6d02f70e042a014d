"""Dilated (atrous) convolution: stacks, a multi-dilation block, and a receptive-field probe.

A dilated convolution spreads the taps of its kernel ``dilation - 1`` pixels apart, so a
3x3 kernel sees a 5x5, 9x9, ... window with the same 9 weights.

* ``dilated_stack``: 3x3 convs with the given dilations, padded so the size never changes
  (F. Yu, V. Koltun, *Multi-Scale Context Aggregation by Dilated Convolutions*,
  arXiv:1511.07122: dilations 1, 2, 4, ... give a receptive field of ``2^(L+1) - 1``).
* ``MultiDilationBlock``: parallel 3x3 convs with different dilations on the same input,
  concatenated and fused by a 1x1 conv, like the atrous spatial pyramid pooling of DeepLab
  (L.-C. Chen et al., arXiv:1606.00915 and arXiv:1706.05587).
* ``input_footprint`` / ``measured_receptive_field`` / ``footprint_holes``: measure which
  input pixels really influence one output pixel, by back-propagating through the real
  stack. This is how the site checks ``snippets.formulas.receptive_field`` and shows the
  gridding problem of equal dilations (P. Wang et al., *Understanding Convolution for
  Semantic Segmentation*, arXiv:1702.08502).
* ``hdc_max_distances`` / ``hdc_covers``: that paper's condition for a group of dilations
  to leave no holes (hybrid dilated convolution, HDC).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from torch import nn

__all__ = [
    "dilated_stack",
    "MultiDilationBlock",
    "conv_layer_specs",
    "input_footprint",
    "measured_receptive_field",
    "footprint_holes",
    "hdc_max_distances",
    "hdc_covers",
]


def _check_positive(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _check_dilations(dilations: Sequence[int]) -> tuple[int, ...]:
    if isinstance(dilations, (int, str)) or not isinstance(dilations, Sequence) or not dilations:
        raise ValueError(f"dilations must be a non-empty sequence of integers, got {dilations!r}")
    for d in dilations:
        _check_positive("each dilation", d)
    return tuple(dilations)


def _check_odd_kernel(kernel_size: int) -> None:
    _check_positive("kernel_size", kernel_size)
    if kernel_size % 2 == 0:
        # padding = dilation * (k - 1) / 2 keeps the size only when k - 1 is even
        raise ValueError(f"kernel_size must be odd so that padding keeps the size, got {kernel_size}")


# --8<-- [start:dilated_stack]
def dilated_stack(
    channels: int, dilations: Sequence[int], kernel_size: int = 3
) -> nn.Sequential:
    """Conv-ReLU layers with the given dilations; each keeps the spatial size.

    With stride 1 the output size is ``n + 2p - d(k - 1)``, so padding
    ``p = d(k - 1) / 2`` keeps ``n``: the resolution stays, the receptive
    field grows.

    >>> stack = dilated_stack(16, [1, 2, 4])
    >>> stack(torch.zeros(1, 16, 32, 32)).shape
    torch.Size([1, 16, 32, 32])
    >>> [m.padding for m in stack if isinstance(m, nn.Conv2d)]
    [(1, 1), (2, 2), (4, 4)]
    """
    _check_positive("channels", channels)
    dilations = _check_dilations(dilations)
    _check_odd_kernel(kernel_size)
    layers = []
    for d in dilations:
        padding = d * (kernel_size - 1) // 2   # half the dilated span per side
        layers += [nn.Conv2d(channels, channels, kernel_size,
                             padding=padding, dilation=d),
                   nn.ReLU()]
    return nn.Sequential(*layers)


# --8<-- [end:dilated_stack]


# --8<-- [start:multi_dilation_block]
class MultiDilationBlock(nn.Module):
    """Parallel dilated convs over one input, concatenated, fused by a 1x1.

    A small version of DeepLab's atrous spatial pyramid pooling (ASPP): each
    branch sees the same pixel through a window ``k + (k-1)(d-1)`` wide, so
    the output mixes context at several scales. Padding ``d(k-1)/2`` gives
    every branch the input's size, which is what lets them be concatenated.

    >>> block = MultiDilationBlock(8, 16, dilations=(1, 2, 4))
    >>> block(torch.zeros(2, 8, 20, 20)).shape
    torch.Size([2, 16, 20, 20])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        dilations: Sequence[int] = (1, 2, 4),
        kernel_size: int = 3,
        branch_channels: int | None = None,
        bias: bool = True,
    ) -> None:
        super().__init__()
        _check_positive("in_channels", in_channels)
        _check_positive("out_channels", out_channels)
        self.dilations = _check_dilations(dilations)
        _check_odd_kernel(kernel_size)
        if not isinstance(bias, bool):
            raise TypeError(f"bias must be True or False, got {bias!r}")
        if branch_channels is None:
            branch_channels = out_channels
        _check_positive("branch_channels", branch_channels)
        self.branches = nn.ModuleList(
            nn.Conv2d(in_channels, branch_channels, kernel_size,
                      padding=d * (kernel_size - 1) // 2, dilation=d,
                      bias=bias)
            for d in self.dilations
        )
        # the 1x1 conv decides, per output channel, how much of each scale
        # to use
        concatenated = len(self.dilations) * branch_channels
        self.fuse = nn.Conv2d(concatenated, out_channels, 1, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # each branch: (B, C_in, H, W) -> (B, branch_channels, H, W)
        features = [torch.relu(branch(x)) for branch in self.branches]
        # concatenated: (B, len(dilations) * branch_channels, H, W)
        features = torch.cat(features, dim=1)
        return self.fuse(features)  # (B, out_channels, H, W)


# --8<-- [end:multi_dilation_block]


def conv_layer_specs(model: nn.Module) -> list[tuple[int, int, int]]:
    """``(kernel_size, stride, dilation)`` of every ``Conv2d`` in ``model``, in order, for
    ``snippets.formulas.receptive_field`` (a chain of layers, square kernels).

    >>> conv_layer_specs(dilated_stack(4, [1, 2, 4]))
    [(3, 1, 1), (3, 1, 2), (3, 1, 4)]
    """
    specs = []
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            (kh, kw), (sh, sw), (dh, dw) = module.kernel_size, module.stride, module.dilation
            if (kh, sh, dh) != (kw, sw, dw):
                raise ValueError(f"{module} is not square: kernel {module.kernel_size}, "
                                 f"stride {module.stride}, dilation {module.dilation}")
            specs.append((kh, sh, dh))
    return specs


# --8<-- [start:measure]
@torch.no_grad()
def _make_weights_positive(model: nn.Module) -> None:
    for module in model.modules():
        if isinstance(module, nn.modules.conv._ConvNd):
            # every output becomes the average of its inputs: activations
            # stay near 1 at any depth, so no gradient over- or underflows
            module.weight.fill_(1.0 / module.weight[0].numel())
            if module.bias is not None:
                module.bias.zero_()
        else:
            for p in module.parameters(recurse=False):
                p.abs_()


def input_footprint(
    model: nn.Module, in_channels: int, size: int
) -> torch.Tensor:
    """How strongly each input pixel influences the centre output pixel:
    the input gradient (summed over channels) of a copy of ``model`` whose
    weights are all positive. A ``(size, size)`` float64 tensor on the CPU;
    its non-zero entries are exactly the pixels connected to that output.

    >>> fp = input_footprint(dilated_stack(1, [2]), 1, 7)
    >>> (fp > 0).int()[1:6, 1:6]
    tensor([[1, 0, 1, 0, 1],
            [0, 0, 0, 0, 0],
            [1, 0, 1, 0, 1],
            [0, 0, 0, 0, 0],
            [1, 0, 1, 0, 1]], dtype=torch.int32)
    """
    _check_positive("in_channels", in_channels)
    _check_positive("size", size)
    device = next(model.parameters()).device
    # Work on a copy, so the caller's weights are untouched. With random
    # weights of both signs, paths can cancel (and a ReLU that is off cuts
    # them), so a connected pixel could show a zero gradient. With positive
    # weights and a positive input, every pre-activation is positive, every
    # ReLU passes, and each gradient entry is a sum of positive products,
    # one per path: zero if and only if no path connects the two pixels.
    probe = copy.deepcopy(model).to(device=device, dtype=torch.float64)
    probe.eval()
    _make_weights_positive(probe)
    x = torch.ones(1, in_channels, size, size, dtype=torch.float64,
                   device=device, requires_grad=True)
    y = probe(x)                              # (1, C_out, H_out, W_out)
    h, w = y.shape[-2] // 2, y.shape[-1] // 2
    y[0, :, h, w].sum().backward()            # one pixel, all its channels
    return x.grad[0].sum(dim=0).cpu()         # (C_in, n, n) -> (n, n)


def measured_receptive_field(
    model: nn.Module, in_channels: int, size: int
) -> int:
    """Receptive field of the centre output pixel (per side, in input
    pixels): the extent of the non-zero input gradient. ``size`` must leave
    room around it.

    >>> measured_receptive_field(dilated_stack(4, [1, 2, 4]), 4, 33)
    15
    """
    touched = input_footprint(model, in_channels, size) > 0
    rows = touched.any(dim=1).nonzero().flatten()
    cols = touched.any(dim=0).nonzero().flatten()
    if rows.numel() == 0:
        raise ValueError("no input pixel influences the centre output pixel")
    if min(rows[0], cols[0]) == 0 or max(rows[-1], cols[-1]) == size - 1:
        # the border may cut the footprint off (zero padding is not input)
        raise ValueError(f"the footprint touches the border of the "
                         f"{size}x{size} input: use a larger size")
    height = int(rows[-1] - rows[0]) + 1
    width = int(cols[-1] - cols[0]) + 1
    if height != width:
        raise ValueError(f"receptive field is not square: {height}x{width}")
    return height


# --8<-- [end:measure]


def footprint_holes(footprint: torch.Tensor) -> int:
    """Pixels inside the footprint's bounding box that do not influence the output
    (the "gridding" holes of equal dilations).

    >>> footprint_holes(input_footprint(dilated_stack(1, [2, 2]), 1, 15))
    56
    >>> footprint_holes(input_footprint(dilated_stack(1, [1, 2]), 1, 15))
    0
    """
    if not isinstance(footprint, torch.Tensor):
        raise TypeError(f"footprint must be a torch.Tensor, got {type(footprint).__name__}")
    if footprint.dim() != 2:
        raise ValueError(f"footprint must be a 2-D (n, n) map, got shape {tuple(footprint.shape)}")
    touched = footprint > 0
    if not touched.any():
        raise ValueError("footprint has no pixel that influences the output")
    rows = touched.any(dim=1).nonzero().flatten()
    cols = touched.any(dim=0).nonzero().flatten()
    box = touched[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    return int((~box).sum())


# --8<-- [start:hdc]
def hdc_max_distances(dilations: Sequence[int]) -> list[int]:
    """Wang et al.'s M_i for dilations r_1..r_n (arXiv:1702.08502, section 3.2):
    ``M_n = r_n``, ``M_i = max(M_{i+1} - 2 r_i, M_{i+1} - 2 (M_{i+1} - r_i), r_i)``,
    the largest distance between two taps of layer i that the layers above still need.

    >>> hdc_max_distances([1, 2, 5])
    [1, 2, 5]
    >>> hdc_max_distances([1, 2, 9])   # M_2 = 5 > 3: a 3x3 first layer cannot fill it
    [3, 5, 9]
    """
    r = _check_dilations(dilations)
    m = [0] * len(r)
    m[-1] = r[-1]
    for i in range(len(r) - 2, -1, -1):
        m[i] = max(m[i + 1] - 2 * r[i], m[i + 1] - 2 * (m[i + 1] - r[i]), r[i])
    return m


def hdc_covers(dilations: Sequence[int], kernel_size: int = 3) -> bool:
    """HDC's condition: the first layer is not dilated (r_1 = 1) and ``M_2 <= kernel_size``,
    so its k contiguous taps fill every gap the layers above leave. Stated for rates that
    rise (the sawtooth's order); a common factor > 1 always fails it, but no common factor
    is not enough: (2, 3) and (1, 2, 9) have gcd 1 and still leave holes.

    >>> hdc_covers([1, 2, 5]), hdc_covers([2, 3]), hdc_covers([1, 2, 9]), hdc_covers([2, 4, 8])
    (True, False, False, False)
    """
    r = _check_dilations(dilations)
    _check_positive("kernel_size", kernel_size)
    if list(r) != sorted(r):
        raise ValueError(f"dilations must not decrease (HDC's condition is stated for a "
                         f"rising group; holes do not depend on the order), got {r}")
    return r[0] == 1 and (len(r) == 1 or hdc_max_distances(r)[1] <= kernel_size)
# --8<-- [end:hdc]

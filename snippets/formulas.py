"""Shape and cost formulas for every convolution on the site.

Every number a page shows about a layer (output size, parameters, multiply-adds) is computed
here, and ``tests/test_formulas.py`` checks each function against what torch really does:
shapes from running the module, parameters from ``numel``, multiply-adds from
``torch.utils.flop_counter.FlopCounterMode`` (which counts 2 FLOPs per multiply-add).

Sizes are per spatial dimension; the 2-D functions accept an ``int`` (square) or an
``(h, w)`` pair, like ``nn.Conv2d``. Bad arguments raise ``ValueError`` saying what is wrong.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "conv_output_size",
    "conv_transpose_output_size",
    "conv_transpose_output_padding_range",
    "effective_kernel_size",
    "conv2d_params",
    "conv2d_macs",
    "conv_transpose2d_macs",
    "separable_params",
    "separable_macs",
    "separable_cost_ratio",
    "multiplied_channels",
    "separable_multiplier_macs",
    "dynamic_attention_hidden",
    "dynamic_conv2d_params",
    "dynamic_conv2d_macs",
    "condconv2d_params",
    "condconv2d_macs",
    "odconv_attention_hidden",
    "odconv2d_params",
    "odconv2d_macs",
    "receptive_field",
    "pool_output_size",
    "conv3d_output_shape",
    "conv3d_params",
    "conv3d_macs",
    "conv2plus1d_mid_channels",
    "conv2plus1d_params",
    "conv2plus1d_macs",
    "repvgg_params",
    "repvgg_macs",
    "acblock_params",
    "acblock_macs",
]

Size2 = int | Sequence[int]
Size3 = int | Sequence[int]


# --- validation ---------------------------------------------------------------------------
def _positive(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value}")
    return value


def _non_negative(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be zero or positive, got {value}")
    return value


def _boolean(name: str, value) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return value


def _pair(name: str, value: Size2) -> tuple[int, int]:
    if isinstance(value, int) and not isinstance(value, bool):
        return value, value
    if isinstance(value, Sequence) and len(value) == 2:
        return value[0], value[1]
    raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")


def _check_groups(in_channels: int, out_channels: int, groups: int) -> None:
    _positive("in_channels", in_channels)
    _positive("out_channels", out_channels)
    _positive("groups", groups)
    if in_channels % groups:
        raise ValueError(
            f"in_channels ({in_channels}) must be divisible by groups ({groups})"
        )
    if out_channels % groups:
        raise ValueError(
            f"out_channels ({out_channels}) must be divisible by groups ({groups})"
        )


# --- sizes --------------------------------------------------------------------------------
def effective_kernel_size(kernel_size: int, dilation: int = 1) -> int:
    """Span of a dilated kernel: ``k + (k - 1)(d - 1)``.

    >>> effective_kernel_size(3, dilation=2)
    5
    >>> effective_kernel_size(3, dilation=4)
    9
    """
    _positive("kernel_size", kernel_size)
    _positive("dilation", dilation)
    return kernel_size + (kernel_size - 1) * (dilation - 1)


# --8<-- [start:conv_output_size]
def conv_output_size(
    size: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> int:
    """Output length of a convolution along one dimension.

    ``floor((size + 2*padding - dilation*(kernel_size - 1) - 1) / stride) + 1``

    >>> conv_output_size(224, 3, stride=2, padding=1)
    112
    >>> conv_output_size(7, 3, dilation=2)
    3
    """
    _positive("size", size)
    _positive("stride", stride)
    _non_negative("padding", padding)
    span = effective_kernel_size(kernel_size, dilation)
    padded = size + 2 * padding
    if span > padded:
        raise ValueError(
            f"kernel span {span} (kernel_size {kernel_size}, dilation {dilation}) is larger "
            f"than the padded input {padded} (size {size} + 2*padding {padding})"
        )
    return (padded - span) // stride + 1


# --8<-- [end:conv_output_size]


def conv_transpose_output_size(
    size: int,
    kernel_size: int,
    stride: int = 1,
    padding: int = 0,
    output_padding: int = 0,
    dilation: int = 1,
) -> int:
    """Output length of a transposed convolution along one dimension.

    ``(size - 1)*stride - 2*padding + dilation*(kernel_size - 1) + output_padding + 1``

    ``output_padding`` must be smaller than ``stride`` or ``dilation`` (as torch requires):
    it only picks one of the several output sizes that the forward conv maps to ``size``.

    >>> conv_transpose_output_size(56, 3, stride=2, padding=1, output_padding=1)
    112
    >>> conv_transpose_output_size(4, 4, stride=2, padding=1)
    8
    """
    _positive("size", size)
    _positive("stride", stride)
    _non_negative("padding", padding)
    _non_negative("output_padding", output_padding)
    span = effective_kernel_size(kernel_size, dilation)
    if output_padding >= stride and output_padding >= dilation:
        raise ValueError(
            f"output_padding ({output_padding}) must be smaller than stride ({stride}) "
            f"or dilation ({dilation})"
        )
    out = (size - 1) * stride - 2 * padding + span + output_padding
    if out < 1:
        raise ValueError(
            f"padding {padding} is too large: the transposed conv output would have size {out}"
        )
    return out


def conv_transpose_output_padding_range(
    size: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> list[int]:
    """All input sizes a conv maps to ``size`` (why ``output_padding`` exists).

    A stride-2 conv maps both 7 and 8 to 4, so the transposed conv needs to be told which.

    >>> conv_transpose_output_padding_range(4, 3, stride=2, padding=1)
    [7, 8]
    >>> conv_transpose_output_padding_range(1, 1, stride=3, padding=1)   # 0 and -1 are no sizes
    [1]
    """
    _positive("size", size)
    _positive("stride", stride)
    _non_negative("padding", padding)
    lo = (size - 1) * stride - 2 * padding + effective_kernel_size(kernel_size, dilation)
    sizes = [lo + p for p in range(stride) if lo + p >= 1]
    if not sizes:
        raise ValueError(f"padding {padding} is too large: no input size gives a conv output "
                         f"of size {size}")
    return sizes


def pool_output_size(
    size: int,
    kernel_size: int,
    stride: int | None = None,
    padding: int = 0,
    dilation: int = 1,
    ceil_mode: bool = False,
) -> int:
    """Output length of ``nn.MaxPool1d/2d`` along one dimension (``stride`` defaults to the
    kernel size, as in torch).

    ``ceil_mode=False`` is the conv formula. ``ceil_mode=True`` rounds up, so a last, partial
    window is kept, but only if it starts inside the input or the left padding.

    >>> pool_output_size(8, 3, 2), pool_output_size(8, 3, 2, ceil_mode=True)
    (3, 4)
    >>> pool_output_size(5, 2, 2, padding=1, ceil_mode=True)   # a 4th window would start in the right padding
    3
    """
    _positive("size", size)
    _positive("kernel_size", kernel_size)
    stride = kernel_size if stride is None else _positive("stride", stride)
    _non_negative("padding", padding)
    if 2 * padding > kernel_size:
        raise ValueError(f"padding ({padding}) must be at most half the kernel_size "
                         f"({kernel_size}), as torch requires for pooling")
    if not isinstance(ceil_mode, bool):
        raise ValueError(f"ceil_mode must be True or False, got {ceil_mode!r}")
    span = effective_kernel_size(kernel_size, dilation)
    padded = size + 2 * padding
    if not ceil_mode:
        if span > padded:
            raise ValueError(f"kernel span {span} is larger than the padded input {padded}")
        return (padded - span) // stride + 1
    # rounding up keeps a last window that sticks out past the end (even one wider than
    # the whole input), as long as it starts inside the input or the left padding
    out = -(-(padded - span) // stride) + 1
    if (out - 1) * stride >= size + padding:
        out -= 1
    if out < 1:
        raise ValueError(f"kernel span {span} leaves no window on the padded input {padded}")
    return out


def _triple(name: str, value: Size3) -> tuple[int, int, int]:
    if isinstance(value, int) and not isinstance(value, bool):
        return value, value, value
    if isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 3:
        return value[0], value[1], value[2]
    raise ValueError(f"{name} must be an int or a triple of ints (depth, height, width), "
                     f"got {value!r}")


# --8<-- [start:conv3d]
def conv3d_output_shape(
    size: Size3, kernel_size: Size3, stride: Size3 = 1, padding: Size3 = 0,
    dilation: Size3 = 1,
) -> tuple[int, int, int]:
    """Output ``(D, H, W)`` of ``nn.Conv3d``: the 1-D formula along each of the three axes.

    >>> conv3d_output_shape((16, 112, 112), 3, padding=1)
    (16, 112, 112)
    >>> conv3d_output_shape((16, 112, 112), (3, 7, 7), stride=(1, 2, 2), padding=(1, 3, 3))
    (16, 56, 56)
    """
    args = [_triple(name, v) for name, v in (("size", size), ("kernel_size", kernel_size),
                                             ("stride", stride), ("padding", padding),
                                             ("dilation", dilation))]
    return tuple(conv_output_size(*per_axis) for per_axis in zip(*args))


def conv3d_params(
    in_channels: int, out_channels: int, kernel_size: Size3, groups: int = 1,
    bias: bool = True,
) -> int:
    """Parameters of ``nn.Conv3d``: ``out_channels * (in_channels / groups) * kd * kh * kw``
    plus ``out_channels`` for the bias.

    >>> conv3d_params(64, 64, 3, bias=False)
    110592
    """
    _check_groups(in_channels, out_channels, groups)
    kd, kh, kw = _triple("kernel_size", kernel_size)
    for v in (kd, kh, kw):
        _positive("kernel_size", v)
    _boolean("bias", bias)
    return out_channels * (in_channels // groups) * kd * kh * kw + (out_channels if bias else 0)


def conv3d_macs(
    in_channels: int, out_channels: int, kernel_size: Size3, output_size: Size3,
    groups: int = 1, batch: int = 1,
) -> int:
    """Multiply-adds of ``nn.Conv3d``: every output value is a dot product of length
    ``(in_channels / groups) * kd * kh * kw``.

    ``batch * D_out * H_out * W_out * kd * kh * kw * (in_channels / groups) * out_channels``

    >>> conv3d_macs(64, 64, 3, output_size=(16, 56, 56))
    5549064192
    """
    _check_groups(in_channels, out_channels, groups)
    kd, kh, kw = _triple("kernel_size", kernel_size)
    od, oh, ow = _triple("output_size", output_size)
    for name, v in (("kernel_size", kd), ("kernel_size", kh), ("kernel_size", kw),
                    ("output_size", od), ("output_size", oh), ("output_size", ow),
                    ("batch", batch)):
        _positive(name, v)
    return batch * od * oh * ow * kd * kh * kw * (in_channels // groups) * out_channels


# --8<-- [end:conv3d]


# --8<-- [start:conv2plus1d]
def conv2plus1d_mid_channels(in_channels: int, out_channels: int, t: int, d: int) -> int:
    """R(2+1)D (arXiv:1711.11248): the width M between the 1 x d x d and the t x 1 x 1 conv
    that keeps the weights at most those of one t x d x d conv,
    ``floor(t d^2 N_in N_out / (d^2 N_in + t N_out))``.

    >>> conv2plus1d_mid_channels(64, 64, 3, 3), conv2plus1d_mid_channels(64, 128, 3, 3)
    (144, 230)
    """
    for name, v in (("in_channels", in_channels), ("out_channels", out_channels),
                    ("t", t), ("d", d)):
        _positive(name, v)
    return t * d * d * in_channels * out_channels // (d * d * in_channels + t * out_channels)


def conv2plus1d_params(
    in_channels: int, out_channels: int, t: int, d: int, mid_channels: int | None = None,
    bias: bool = True,
) -> int:
    """Parameters of a (2+1)-D block: ``d^2 N_in M + t M N_out`` weights (+ ``M + N_out``
    biases); ``mid_channels`` defaults to ``conv2plus1d_mid_channels``.

    >>> conv2plus1d_params(64, 64, 3, 3, bias=False) == conv3d_params(64, 64, 3, bias=False)
    True
    """
    _positive("in_channels", in_channels), _positive("out_channels", out_channels)
    _positive("t", t), _positive("d", d), _boolean("bias", bias)
    if mid_channels is None:
        mid_channels = conv2plus1d_mid_channels(in_channels, out_channels, t, d)
    _positive("mid_channels", mid_channels)
    return (conv3d_params(in_channels, mid_channels, (1, d, d), bias=bias)
            + conv3d_params(mid_channels, out_channels, (t, 1, 1), bias=bias))


def conv2plus1d_macs(
    in_channels: int, out_channels: int, t: int, d: int, input_size: Size3,
    stride: Size2 = 1, padding: Size2 = 0, mid_channels: int | None = None, batch: int = 1,
) -> int:
    """Multiply-adds of a (2+1)-D block on an input of ``(T, H, W)``: the spatial conv on
    every frame, then the temporal conv on its output. ``stride`` and ``padding`` are ints
    or ``(time, space)`` pairs, as for ``snippets.basics.Conv2Plus1d``.

    >>> conv2plus1d_macs(64, 64, 3, 3, (16, 56, 56), padding=1)
    5549064192
    """
    st, ss = _pair("stride", stride)
    pt, ps = _pair("padding", padding)
    _positive("in_channels", in_channels), _positive("out_channels", out_channels)
    _positive("t", t), _positive("d", d)
    if not isinstance(input_size, (int, Sequence)) or isinstance(input_size, (bool, str)) or (
            isinstance(input_size, Sequence) and len(input_size) != 3):
        raise ValueError(f"input_size must be an int or a (depth, height, width) triple, "
                         f"got {input_size!r}")
    for v in (input_size if isinstance(input_size, Sequence) else [input_size]):
        _positive("input_size", v)
    if mid_channels is None:
        mid_channels = conv2plus1d_mid_channels(in_channels, out_channels, t, d)
    _positive("mid_channels", mid_channels)
    mid = conv3d_output_shape(input_size, (1, d, d), (1, ss, ss), (0, ps, ps))
    out = conv3d_output_shape(mid, (t, 1, 1), (st, 1, 1), (pt, 0, 0))
    return (conv3d_macs(in_channels, mid_channels, (1, d, d), mid, batch=batch)
            + conv3d_macs(mid_channels, out_channels, (t, 1, 1), out, batch=batch))


# --8<-- [end:conv2plus1d]


# --- parameters and multiply-adds ---------------------------------------------------------
# --8<-- [start:conv2d_params]
def conv2d_params(
    in_channels: int,
    out_channels: int,
    kernel_size: Size2,
    groups: int = 1,
    bias: bool = True,
) -> int:
    """Parameters of ``nn.Conv2d`` (also ``nn.ConvTranspose2d`` with the same arguments).

    ``out_channels * (in_channels / groups) * kh * kw`` plus ``out_channels`` for the bias.

    >>> conv2d_params(32, 64, 3, bias=False)
    18432
    >>> conv2d_params(32, 64, 3, groups=4, bias=False)
    4608
    """
    _check_groups(in_channels, out_channels, groups)
    kh, kw = _pair("kernel_size", kernel_size)
    _positive("kernel_size", kh), _positive("kernel_size", kw)
    _boolean("bias", bias)
    return out_channels * (in_channels // groups) * kh * kw + (out_channels if bias else 0)


# --8<-- [end:conv2d_params]


# --8<-- [start:conv2d_macs]
def conv2d_macs(
    in_channels: int,
    out_channels: int,
    kernel_size: Size2,
    output_size: Size2,
    groups: int = 1,
    batch: int = 1,
) -> int:
    """Multiply-adds of a 2-D conv: every output value is a dot product of length
    ``(in_channels / groups) * kh * kw``. The bias add is not counted (torch doesn't either).

    ``batch * H_out * W_out * kh * kw * (in_channels / groups) * out_channels``

    >>> conv2d_macs(32, 64, 3, output_size=112)   # D_fo^2 * D_k^2 * M * N
    231211008
    """
    _check_groups(in_channels, out_channels, groups)
    kh, kw = _pair("kernel_size", kernel_size)
    oh, ow = _pair("output_size", output_size)
    for name, v in (("kernel_size", kh), ("kernel_size", kw), ("output_size", oh),
                    ("output_size", ow), ("batch", batch)):
        _positive(name, v)
    return batch * oh * ow * kh * kw * (in_channels // groups) * out_channels


# --8<-- [end:conv2d_macs]


def conv_transpose2d_macs(
    in_channels: int,
    out_channels: int,
    kernel_size: Size2,
    input_size: Size2,
    groups: int = 1,
    batch: int = 1,
) -> int:
    """Multiply-adds of a transposed conv: every *input* value is multiplied by a
    ``(out_channels / groups) * kh * kw`` slice of the kernel and scattered into the output.

    >>> conv_transpose2d_macs(64, 32, 4, input_size=56)
    102760448
    """
    _check_groups(in_channels, out_channels, groups)
    kh, kw = _pair("kernel_size", kernel_size)
    ih, iw = _pair("input_size", input_size)
    for name, v in (("kernel_size", kh), ("kernel_size", kw), ("input_size", ih),
                    ("input_size", iw), ("batch", batch)):
        _positive(name, v)
    return batch * ih * iw * kh * kw * in_channels * (out_channels // groups)


def separable_params(in_channels: int, out_channels: int, kernel_size: Size2) -> int:
    """Weights of depthwise (``M * k^2``) plus pointwise (``N * M``) convs, no bias.

    >>> separable_params(32, 64, 3)
    2336
    """
    return conv2d_params(in_channels, in_channels, kernel_size, groups=in_channels,
                         bias=False) + conv2d_params(in_channels, out_channels, 1, bias=False)


def separable_macs(
    in_channels: int, out_channels: int, kernel_size: Size2, output_size: Size2, batch: int = 1
) -> int:
    """Multiply-adds of depthwise then pointwise: ``D_k^2 M D_fo^2 + N M D_fo^2``.

    >>> separable_macs(32, 64, 3, output_size=112)
    29302784
    """
    depthwise = conv2d_macs(in_channels, in_channels, kernel_size, output_size,
                            groups=in_channels, batch=batch)
    pointwise = conv2d_macs(in_channels, out_channels, 1, output_size, batch=batch)
    return depthwise + pointwise


def _multiplier(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        raise ValueError(f"{name} must be a number in (0, 1], got {value!r}")
    return float(value)


def multiplied_channels(channels: int, alpha: float = 1.0) -> int:
    """MobileNet's width multiplier: ``round(alpha * channels)`` channels (at least 1).

    >>> multiplied_channels(512, 0.75), multiplied_channels(32, 0.25)
    (384, 8)
    """
    _positive("channels", channels)
    return max(1, round(_multiplier("alpha", alpha) * channels))


def separable_multiplier_macs(in_channels: int, out_channels: int, kernel_size: int,
                              feature_size: int, alpha: float = 1.0, rho: float = 1.0) -> int:
    """MobileNet's layer cost with width multiplier ``alpha`` and resolution multiplier
    ``rho`` (Howard et al., arXiv:1704.04861, section 3.3):
    ``D_k^2 (alpha M) (rho D_f)^2 + (alpha M)(alpha N)(rho D_f)^2``, with ``alpha M`` and
    ``rho D_f`` rounded to whole channels and pixels (stride 1, "same" padding).

    >>> separable_multiplier_macs(512, 512, 3, 14)
    52283392
    >>> separable_multiplier_macs(512, 512, 3, 14, alpha=0.5, rho=160 / 224)   # 256 ch, 10x10
    6784000
    """
    _positive("in_channels", in_channels), _positive("out_channels", out_channels)
    _positive("feature_size", feature_size)
    m = multiplied_channels(in_channels, alpha)
    n = multiplied_channels(out_channels, alpha)
    size = max(1, round(_multiplier("rho", rho) * feature_size))
    return separable_macs(m, n, kernel_size, size)


def separable_cost_ratio(out_channels: int, kernel_size: int) -> float:
    """Separable / standard multiply-adds: ``1/N + 1/D_k^2`` (independent of M and D_fo).

    >>> round(1 / separable_cost_ratio(1024, 3), 2)
    8.92
    """
    _positive("out_channels", out_channels)
    _positive("kernel_size", kernel_size)
    return 1 / out_channels + 1 / kernel_size**2


# --- dynamic convolution ------------------------------------------------------------------
def dynamic_attention_hidden(in_channels: int, reduction: int = 4) -> int:
    """Width of the attention MLP's hidden layer: ``max(in_channels // reduction, 4)``.

    >>> dynamic_attention_hidden(64, 4)
    16
    >>> dynamic_attention_hidden(8, 4)
    4
    """
    _positive("in_channels", in_channels)
    _positive("reduction", reduction)
    return max(in_channels // reduction, 4)


def dynamic_conv2d_params(
    in_channels: int,
    out_channels: int,
    kernel_size: Size2,
    groups: int = 1,
    bias: bool = True,
    num_kernels: int = 4,
    reduction: int = 4,
) -> int:
    """Parameters of ``DynamicConv2d``: K kernels (and K biases) plus the attention MLP
    ``Linear(C, h) -> ReLU -> Linear(h, K)`` (both with bias).

    >>> dynamic_conv2d_params(64, 64, 3, num_kernels=4, bias=False)
    148564
    """
    _positive("num_kernels", num_kernels)
    hidden = dynamic_attention_hidden(in_channels, reduction)
    kernels = num_kernels * conv2d_params(in_channels, out_channels, kernel_size, groups, bias)
    attention = (in_channels * hidden + hidden) + (hidden * num_kernels + num_kernels)
    return kernels + attention


def dynamic_conv2d_macs(
    in_channels: int,
    out_channels: int,
    kernel_size: Size2,
    output_size: Size2,
    groups: int = 1,
    bias: bool = True,
    num_kernels: int = 4,
    reduction: int = 4,
    batch: int = 1,
) -> int:
    """Multiply-adds of ``DynamicConv2d`` per batch: the conv with the aggregated kernel,
    the attention MLP, and the aggregation ``sum_k pi_k W_k`` (one multiply-add per kernel
    weight per k per sample; the same for biases). Global average pooling is not counted
    (FlopCounterMode counts only matrix products and convolutions).

    >>> dynamic_conv2d_macs(64, 64, 3, 56, bias=False)
    115754048
    """
    _positive("num_kernels", num_kernels)
    hidden = dynamic_attention_hidden(in_channels, reduction)
    conv = conv2d_macs(in_channels, out_channels, kernel_size, output_size, groups, batch)
    attention = batch * (in_channels * hidden + hidden * num_kernels)
    weights = conv2d_params(in_channels, out_channels, kernel_size, groups, bias)
    return conv + attention + batch * num_kernels * weights


def _bool(name: str, value) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return value


def condconv2d_params(
    in_channels: int,
    out_channels: int,
    kernel_size: Size2,
    groups: int = 1,
    bias: bool = True,
    num_experts: int = 4,
) -> int:
    """Parameters of ``CondConv2d``: K expert kernels (and biases) plus the routing layer
    ``Linear(C, K)`` (with bias; sigmoid routing).

    >>> condconv2d_params(64, 64, 3, bias=False, num_experts=4)
    147716
    """
    _positive("num_experts", num_experts)
    _bool("bias", bias)
    kernels = num_experts * conv2d_params(in_channels, out_channels, kernel_size, groups, bias)
    return kernels + in_channels * num_experts + num_experts


def condconv2d_macs(
    in_channels: int,
    out_channels: int,
    kernel_size: Size2,
    output_size: Size2,
    groups: int = 1,
    bias: bool = True,
    num_experts: int = 4,
    batch: int = 1,
) -> int:
    """Multiply-adds of ``CondConv2d`` per batch: the conv, the routing layer (``C * K`` per
    sample) and mixing the K experts (K per kernel weight and bias, per sample). Pooling and
    the sigmoid are not counted (FlopCounterMode counts matrix products and convolutions).

    >>> condconv2d_macs(64, 64, 3, 56, bias=False)
    115753216
    """
    _positive("num_experts", num_experts)
    _bool("bias", bias)
    _positive("batch", batch)
    conv = conv2d_macs(in_channels, out_channels, kernel_size, output_size, groups, batch)
    weights = conv2d_params(in_channels, out_channels, kernel_size, groups, bias)
    return conv + batch * in_channels * num_experts + batch * num_experts * weights


def odconv_attention_hidden(in_channels: int, reduction: int = 16) -> int:
    """Hidden width of ODConv's attention: ``max(in_channels // reduction, 16)`` (the
    authors' code: ``max(int(in_channels * 0.0625), 16)``).

    >>> odconv_attention_hidden(64), odconv_attention_hidden(512)
    (16, 32)
    """
    _positive("in_channels", in_channels)
    _positive("reduction", reduction)
    return max(in_channels // reduction, 16)


def _odconv_heads(in_channels, out_channels, kernel_size, groups, kernel_num):
    """Widths of ODConv's heads: input channels, output channels (none for a depthwise
    conv), kernel positions (none for 1x1), kernels (none for K = 1)."""
    _check_groups(in_channels, out_channels, groups)
    kh, kw = _pair("kernel_size", kernel_size)
    _positive("kernel_size", kh), _positive("kernel_size", kw)
    _positive("kernel_num", kernel_num)
    depthwise = in_channels == groups == out_channels
    return [in_channels, 0 if depthwise else out_channels, 0 if kh * kw == 1 else kh * kw,
            0 if kernel_num == 1 else kernel_num]


def odconv2d_params(
    in_channels: int,
    out_channels: int,
    kernel_size: Size2,
    groups: int = 1,
    bias: bool = False,
    kernel_num: int = 4,
    reduction: int = 16,
) -> int:
    """Parameters of ``ODConv2d``: K kernels (and biases), the squeeze ``Linear(C, h)`` and
    the four heads ``Linear(h, n)`` for n in (C_in, C_out, kh*kw, K) (all with bias; heads
    that have nothing to do are left out, see ``OmniAttention``).

    >>> odconv2d_params(64, 64, 3, kernel_num=4)
    150893
    >>> odconv2d_params(64, 64, 3, kernel_num=1)     # one kernel, still three attentions
    40233
    """
    _bool("bias", bias)
    hidden = odconv_attention_hidden(in_channels, reduction)
    heads = _odconv_heads(in_channels, out_channels, kernel_size, groups, kernel_num)
    kernels = kernel_num * conv2d_params(in_channels, out_channels, kernel_size, groups, bias)
    return (kernels + in_channels * hidden + hidden
            + sum(hidden * n + n for n in heads if n))


def odconv2d_macs(
    in_channels: int,
    out_channels: int,
    kernel_size: Size2,
    output_size: Size2,
    groups: int = 1,
    bias: bool = False,
    kernel_num: int = 4,
    reduction: int = 16,
    batch: int = 1,
) -> int:
    """Multiply-adds of ``ODConv2d`` that FlopCounterMode counts: the conv, the attention's
    linear layers and mixing the K kernels (none when K = 1). Scaling the mixed kernel by
    the three other attentions adds elementwise multiplies (up to three per kernel weight per
    sample) that are left out, like pooling and the sigmoids.

    >>> odconv2d_macs(64, 64, 3, 56)
    115756240
    """
    _bool("bias", bias)
    _positive("batch", batch)
    hidden = odconv_attention_hidden(in_channels, reduction)
    heads = _odconv_heads(in_channels, out_channels, kernel_size, groups, kernel_num)
    conv = conv2d_macs(in_channels, out_channels, kernel_size, output_size, groups, batch)
    attention = batch * (in_channels * hidden + hidden * sum(heads))
    weights = conv2d_params(in_channels, out_channels, kernel_size, groups, bias)
    mixing = 0 if kernel_num == 1 else batch * kernel_num * weights
    return conv + attention + mixing


# --- receptive field ----------------------------------------------------------------------
def receptive_field(layers: Sequence[tuple[int, int, int]]) -> int:
    """Receptive field (in input pixels, per dimension) of a stack of conv layers, each
    given as ``(kernel_size, stride, dilation)``.

    Each layer adds ``(span - 1) * jump``, where ``jump`` is the product of the strides
    before it and ``span`` the dilated kernel size.

    >>> receptive_field([(3, 1, 1), (3, 1, 2), (3, 1, 4)])   # Yu & Koltun: 3, 7, 15
    15
    >>> receptive_field([(3, 2, 1), (3, 2, 1)])
    7
    """
    rf, jump = 1, 1
    for i, layer in enumerate(layers):
        if len(layer) != 3:
            raise ValueError(f"layer {i} must be (kernel_size, stride, dilation), got {layer!r}")
        k, s, d = layer
        _positive("stride", s)
        rf += (effective_kernel_size(k, d) - 1) * jump
        jump *= s
    return rf


# --- structural re-parameterisation (snippets/reparam.py) --------------------------------
def _same_size_out(size: int, stride: int) -> int:
    # an odd k with padding k // 2: floor((n - 1) / s) + 1
    return (_positive("size", size) - 1) // _positive("stride", stride) + 1


def repvgg_params(in_channels: int, out_channels: int, stride: int = 1, groups: int = 1,
                  fused: bool = False) -> int:
    """Parameters of ``RepVGGBlock`` (3x3 and 1x1 kernels, gamma and beta of each BN; the BN
    statistics are buffers), or of its fused 3x3 conv with bias.

    >>> repvgg_params(64, 64), repvgg_params(64, 64, fused=True)
    (41344, 36928)
    """
    _boolean("fused", fused)
    _positive("stride", stride)
    _check_groups(in_channels, out_channels, groups)
    w = in_channels * out_channels // groups          # one tap of a kernel
    if fused:
        return 9 * w + out_channels
    identity = in_channels == out_channels and _positive("stride", stride) == 1
    return 10 * w + 4 * out_channels + (2 * out_channels if identity else 0)


def repvgg_macs(in_channels: int, out_channels: int, size: int, stride: int = 1,
                groups: int = 1, fused: bool = False) -> int:
    """Convolution multiply-adds of ``RepVGGBlock`` on a ``size`` x ``size`` input: 9 + 1
    taps per output, 9 when fused (BN and sums are elementwise, not counted).

    >>> repvgg_macs(64, 64, 56) / repvgg_macs(64, 64, 56, fused=True)
    1.1111111111111112
    """
    _boolean("fused", fused)
    _check_groups(in_channels, out_channels, groups)
    outputs = _same_size_out(size, stride) ** 2 * out_channels
    return outputs * (in_channels // groups) * (9 if fused else 10)


def acblock_params(in_channels: int, out_channels: int, kernel_size: int = 3,
                   groups: int = 1, fused: bool = False) -> int:
    """Parameters of ``ACBlock`` (k x k, 1 x k, k x 1 kernels, three BNs) or of its fused
    k x k conv with bias.

    >>> acblock_params(64, 64), acblock_params(64, 64, fused=True)
    (61824, 36928)
    """
    _boolean("fused", fused)
    _check_groups(in_channels, out_channels, groups)
    w, k = in_channels * out_channels // groups, _positive("kernel_size", kernel_size)
    return k * k * w + out_channels if fused else (k * k + 2 * k) * w + 6 * out_channels


def acblock_macs(in_channels: int, out_channels: int, size: int, kernel_size: int = 3,
                 stride: int = 1, groups: int = 1, fused: bool = False) -> int:
    """Convolution multiply-adds of ``ACBlock``: ``k^2 + 2k`` taps, ``k^2`` fused.

    >>> acblock_macs(64, 64, 56) / acblock_macs(64, 64, 56, fused=True)
    1.6666666666666667
    """
    _boolean("fused", fused)
    _check_groups(in_channels, out_channels, groups)
    k = _positive("kernel_size", kernel_size)
    outputs = _same_size_out(size, stride) ** 2 * out_channels
    return outputs * (in_channels // groups) * (k * k if fused else k * k + 2 * k)

"""Spatially separable, low-rank and flattened convolution.

A ``k x k`` kernel that is an outer product ``u v^T`` (rank 1) is a ``k x 1`` convolution
followed by a ``1 x k`` one: the same output for ``2k`` instead of ``k^2`` multiply-adds per
pixel. Every kernel is a sum of such terms (its singular value decomposition), and keeping
the ``r`` largest gives the best rank-``r`` approximation (Eckart-Young).

* ``separate_rank1`` / ``conv2d_rank1``: split a rank-1 kernel (Sobel, say) and apply it as
  two 1-D convolutions, with any stride, padding and dilation.
* ``low_rank_kernel`` / ``low_rank_error``: the truncated SVD of a 2-D kernel and its error.
* ``SpatiallySeparableConv2d``: a ``k x 1`` conv to ``mid_channels``, then a ``1 x k`` conv;
  with a ReLU between it is Inception-v3's factorisation (C. Szegedy et al., *Rethinking the
  Inception Architecture for Computer Vision*, arXiv:1512.00567); without, it is scheme 2
  of M. Jaderberg, A. Vedaldi, A. Zisserman, *Speeding up Convolutional Neural Networks
  with Low Rank Expansions* (arXiv:1405.3866), which ``low_rank_separable`` fills from a
  full ``C_out x C_in x k x k`` weight by one SVD.
* ``FlattenedConv2d``: a 1x1 conv across channels, then a depthwise ``k x 1`` and a
  depthwise ``1 x k`` conv (J. Jin, A. Dundar, E. Culurciello, *Flattened Convolutional
  Neural Networks for Feedforward Acceleration*, arXiv:1412.5474); exact for filters that
  are rank-1 3-D tensors, which ``flatten_rank1`` splits.
* ``*_macs``: the multiply-adds of each form, as ``FlopCounterMode`` counts them (halved).
"""

from __future__ import annotations

from collections.abc import Sequence

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "separate_rank1",
    "conv2d_rank1",
    "low_rank_kernel",
    "low_rank_error",
    "SpatiallySeparableConv2d",
    "low_rank_separable",
    "FlattenedConv2d",
    "flatten_rank1",
    "spatially_separable_macs",
    "flattened_macs",
    "SOBEL_X",
    "example_kernels",
]

Size2 = int | Sequence[int]

# The Sobel kernel for horizontal gradients: smoothing [1, 2, 1] down, difference across
SOBEL_X = torch.tensor([[-1.0, 0.0, 1.0],
                        [-2.0, 0.0, 2.0],
                        [-1.0, 0.0, 1.0]])


def example_kernels(size: int = 7) -> dict[str, torch.Tensor]:
    """Classic ``size x size`` kernels of different ranks (float64, unit
    Frobenius norm), for trying the SVD on:

    * ``gaussian`` (sigma = size/5): ``g(y) g(x)``, rank 1;
    * ``log``, the Laplacian of that Gaussian: ``g''(y) g(x) + g(y) g''(x)``, rank 2;
    * ``gabor``, a Gaussian times a cosine wave at 45 degrees:
      ``cos(y + x) = cos y cos x - sin y sin x``, so rank 2 as well;
    * ``disk``, the average over a disk of radius size/2: its rank is the
      number of different rows (3 for size 7);
    * ``random``, normal entries (seed 0): full rank, flat spectrum.

    >>> {name: int(torch.linalg.matrix_rank(k, rtol=1e-8))
    ...  for name, k in example_kernels(7).items()}
    {'gaussian': 1, 'log': 2, 'gabor': 2, 'disk': 3, 'random': 7}
    """
    _positive("size", size)
    r = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    sigma = size / 5
    g = torch.exp(-r ** 2 / (2 * sigma ** 2))
    g2 = (r ** 2 / sigma ** 4 - 1 / sigma ** 2) * g       # g'' up to a factor
    y, x = r[:, None], r[None, :]
    kernels = {
        "gaussian": torch.outer(g, g),
        "log": torch.outer(g2, g) + torch.outer(g, g2),
        "gabor": torch.outer(g, g) * torch.cos(2 * torch.pi * (y + x) / size),
        "disk": ((y ** 2 + x ** 2) <= (size / 2) ** 2).double(),
        "random": torch.randn(size, size, dtype=torch.float64,
                              generator=torch.Generator().manual_seed(0)),
    }
    return {name: k / k.norm() for name, k in kernels.items()}


def _positive(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value}")
    return value


def _non_negative(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must be zero or positive, got {value}")
    return value


def _pair(name: str, value: Size2, check=_positive) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(pair, Sequence):
        raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")
    if len(pair) != 2:
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    return check(name, pair[0]), check(name, pair[1])


def _boolean(name: str, value) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return value


def _tolerance(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
            math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def _tensor(name: str, value, dim: int) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if value.dim() != dim:
        raise ValueError(f"{name} must be {dim}-D, got shape {tuple(value.shape)}")
    return value


def _matrix(name: str, kernel: torch.Tensor) -> torch.Tensor:
    if not isinstance(kernel, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(kernel).__name__}")
    if kernel.dim() != 2 or kernel.numel() == 0:
        raise ValueError(f"{name} must be a non-empty 2-D (kh, kw) tensor, "
                         f"got shape {tuple(kernel.shape)}")
    return kernel


def _out(n: int, k: int, s: int, p: int, d: int) -> int:
    span = d * (k - 1) + 1
    if span > n + 2 * p:
        raise ValueError(f"kernel span {span} is larger than the padded input {n + 2 * p}")
    return (n + 2 * p - span) // s + 1


# --8<-- [start:rank1]
def separate_rank1(kernel: torch.Tensor, rtol: float = 1e-5
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """``(u, v)`` with ``kernel == outer(u, v)``, for a rank-1 ``(kh, kw)`` kernel.

    The largest singular triple gives ``u = sqrt(s1) u1``, ``v = sqrt(s1) v1``;
    a kernel whose second singular value exceeds ``rtol * s1`` is not rank 1
    and raises ``ValueError`` (use ``low_rank_kernel`` to approximate it).

    >>> u, v = separate_rank1(SOBEL_X)
    >>> torch.allclose(torch.outer(u, v), SOBEL_X, atol=1e-6)
    True
    >>> [round(float(t), 4) + 0.0 for t in u / u[0]]   # smoothing down
    [1.0, 2.0, 1.0]
    >>> [round(float(t), 4) + 0.0 for t in v / v[2]]   # difference across
    [-1.0, 0.0, 1.0]
    """
    _tolerance("rtol", rtol)
    kernel = _matrix("kernel", kernel)
    U, S, Vh = torch.linalg.svd(kernel.double(), full_matrices=False)
    if S[0] == 0:
        raise ValueError("kernel is all zeros: it has no rank-1 factors")
    if len(S) > 1 and S[1] > rtol * S[0]:
        raise ValueError(f"kernel is not rank 1: singular values "
                         f"{[round(float(s), 6) for s in S]}")
    scale = S[0].sqrt()
    u = (U[:, 0] * scale).to(kernel.dtype)     # (kh,)
    v = (Vh[0] * scale).to(kernel.dtype)       # (kw,)
    return u, v


def conv2d_rank1(x: torch.Tensor, u: torch.Tensor, v: torch.Tensor,
                 stride: Size2 = 1, padding: Size2 = 0,
                 dilation: Size2 = 1) -> torch.Tensor:
    """``F.conv2d(x, outer(u, v))`` on every channel, as a ``kh x 1`` conv
    then a ``1 x kw`` conv. Each 1-D step takes its own direction's stride,
    padding and dilation, so the two agree for any of them.

    ``x`` is ``(B, C, H, W)``; the same kernel filters each channel.
    """
    _tensor("x", x, 4), _tensor("u", u, 1), _tensor("v", v, 1)
    (sh, sw), (dh, dw) = _pair("stride", stride), _pair("dilation", dilation)
    ph, pw = _pair("padding", padding, _non_negative)
    channels = x.shape[1]
    # one (kh, 1) and one (1, kw) filter per channel: depthwise convs
    column = u.view(1, 1, -1, 1).expand(channels, 1, -1, 1)   # (C, 1, kh, 1)
    row = v.view(1, 1, 1, -1).expand(channels, 1, 1, -1)      # (C, 1, 1, kw)
    y = F.conv2d(x, column, stride=(sh, 1), padding=(ph, 0),
                 dilation=(dh, 1), groups=channels)          # (B, C, H', W)
    return F.conv2d(y, row, stride=(1, sw), padding=(0, pw),
                    dilation=(1, dw), groups=channels)       # (B, C, H', W')


# --8<-- [end:rank1]


# --8<-- [start:svd]
def low_rank_kernel(kernel: torch.Tensor, rank: int) -> torch.Tensor:
    """Best rank-``rank`` approximation of a ``(kh, kw)`` kernel: the sum of
    its ``rank`` largest singular terms ``s_i u_i v_i^T``, each a ``kh x 1``
    times a ``1 x kw`` kernel (Eckart-Young: no rank-``r`` kernel is closer
    in the Frobenius or the spectral norm).

    >>> k = torch.tensor([[0., 1, 0], [1, -4, 1], [0, 1, 0]])   # Laplacian
    >>> torch.allclose(low_rank_kernel(k, 2), k, atol=1e-6)      # rank 2
    True
    """
    kernel = _matrix("kernel", kernel)
    _positive("rank", rank)
    if rank > min(kernel.shape):
        raise ValueError(f"rank must be at most min(kh, kw) = {min(kernel.shape)}, "
                         f"got {rank}")
    U, S, Vh = torch.linalg.svd(kernel.double(), full_matrices=False)
    approx = (U[:, :rank] * S[:rank]) @ Vh[:rank]   # (kh, r) @ (r, kw)
    return approx.to(kernel.dtype)


def low_rank_error(kernel: torch.Tensor, rank: int) -> float:
    """Frobenius error of the best rank-``rank`` approximation, from the
    singular values alone: ``sqrt(s_{r+1}^2 + s_{r+2}^2 + ...)``.

    >>> round(low_rank_error(torch.eye(3), 1), 6)   # sqrt(1 + 1)
    1.414214
    """
    kernel = _matrix("kernel", kernel)
    _positive("rank", rank)
    if rank > min(kernel.shape):
        raise ValueError(f"rank must be at most min(kh, kw) = {min(kernel.shape)}, "
                         f"got {rank}")
    S = torch.linalg.svdvals(kernel.double())
    return float(S[rank:].square().sum().sqrt())


# --8<-- [end:svd]


# --8<-- [start:spatially_separable]
class SpatiallySeparableConv2d(nn.Module):
    """A ``k x 1`` conv (``in_channels -> mid_channels``), then a ``1 x k``
    conv (``mid_channels -> out_channels``).

    Arguments follow ``nn.Conv2d``; ``stride``, ``padding`` and ``dilation``
    are split by direction (rows for the first conv, columns for the
    second). ``activation=True`` puts BN + ReLU between the two, as in
    Inception-v3 (no longer one linear conv); without it the pair is exactly
    the ``k x k`` conv with kernel ``fused_weight()``.

    >>> conv = SpatiallySeparableConv2d(16, 32, 7, padding=3)
    >>> conv(torch.zeros(1, 16, 17, 17)).shape
    torch.Size([1, 32, 17, 17])
    >>> conv.vertical.weight.shape, conv.horizontal.weight.shape
    (torch.Size([32, 16, 7, 1]), torch.Size([32, 32, 1, 7]))
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Size2,
                 stride: Size2 = 1, padding: Size2 = 0, dilation: Size2 = 1,
                 bias: bool = True, mid_channels: int | None = None,
                 activation: bool = False) -> None:
        _boolean("activation", activation)
        super().__init__()
        _positive("in_channels", in_channels)
        _positive("out_channels", out_channels)
        _boolean("bias", bias)
        mid = out_channels if mid_channels is None else mid_channels
        _positive("mid_channels", mid)
        (kh, kw), (sh, sw) = _pair("kernel_size", kernel_size), _pair("stride", stride)
        (ph, pw), (dh, dw) = (_pair("padding", padding, _non_negative),
                              _pair("dilation", dilation))
        self.vertical = nn.Conv2d(in_channels, mid, (kh, 1), stride=(sh, 1),
                                  padding=(ph, 0), dilation=(dh, 1),
                                  bias=activation)
        self.between = (nn.Sequential(nn.BatchNorm2d(mid), nn.ReLU())
                        if activation else nn.Identity())
        self.horizontal = nn.Conv2d(mid, out_channels, (1, kw), stride=(1, sw),
                                    padding=(0, pw), dilation=(1, dw), bias=bias)
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.between(self.vertical(x))   # (B, mid, H', W)
        return self.horizontal(y)            # (B, out, H', W')

    def fused_weight(self) -> torch.Tensor:
        """The ``(out, in, kh, kw)`` kernel of the equivalent ``k x k`` conv:
        ``W[o, i, y, x] = sum_m H[o, m, x] V[m, i, y]``, a sum of
        ``mid_channels`` separable terms."""
        if self.activation:
            raise ValueError("with activation=True the pair is not one linear conv")
        V = self.vertical.weight[..., 0]      # (mid, in, kh)
        H = self.horizontal.weight[:, :, 0]   # (out, mid, kw)
        return torch.einsum("miy,omx->oiyx", V, H)


def low_rank_separable(weight: torch.Tensor, rank: int,
                       bias: torch.Tensor | None = None, **conv_args
                       ) -> SpatiallySeparableConv2d:
    """Jaderberg et al.'s scheme 2 for a full ``(C_out, C_in, kh, kw)`` weight.

    Reshape the weight to the ``(C_in kh) x (C_out kw)`` matrix
    ``M[(i, y), (o, x)] = W[o, i, y, x]``; a ``k x 1`` conv to ``rank``
    channels followed by a ``1 x k`` conv has exactly the kernels whose
    matrix has rank <= ``rank``. The truncated SVD ``M ~ A B`` is the closest
    of them (Frobenius norm): ``A`` fills the vertical filters, ``B`` the
    horizontal ones. ``conv_args`` (stride, padding, dilation) go to the module.

    >>> w = torch.randn(8, 4, 3, 3)
    >>> conv = low_rank_separable(w, rank=12)    # full rank: min(4*3, 8*3)
    >>> torch.allclose(conv.fused_weight(), w, atol=1e-5)
    True
    """
    if not isinstance(weight, torch.Tensor) or weight.dim() != 4:
        raise ValueError("weight must be a (C_out, C_in, kh, kw) tensor")
    c_out, c_in, kh, kw = weight.shape
    _positive("rank", rank)
    if rank > min(c_in * kh, c_out * kw):
        raise ValueError(f"rank must be at most min(C_in*kh, C_out*kw) = "
                         f"{min(c_in * kh, c_out * kw)}, got {rank}")
    M = weight.double().permute(1, 2, 0, 3).reshape(c_in * kh, c_out * kw)
    U, S, Vh = torch.linalg.svd(M, full_matrices=False)
    root = S[:rank].sqrt()
    A = U[:, :rank] * root                     # (C_in kh, r)
    B = root[:, None] * Vh[:rank]              # (r, C_out kw)
    conv = SpatiallySeparableConv2d(c_in, c_out, (kh, kw), mid_channels=rank,
                                    bias=bias is not None, **conv_args)
    conv = conv.to(dtype=weight.dtype, device=weight.device)
    with torch.no_grad():
        # (C_in kh, r) -> (r, C_in, kh, 1)
        conv.vertical.weight.copy_(A.T.reshape(rank, c_in, kh, 1))
        # (r, C_out kw) -> (r, C_out, kw) -> (C_out, r, 1, kw)
        conv.horizontal.weight.copy_(
            B.reshape(rank, c_out, kw).permute(1, 0, 2).unsqueeze(2))
        if bias is not None:
            conv.horizontal.bias.copy_(bias)
    return conv


# --8<-- [end:spatially_separable]


# --8<-- [start:flattened]
class FlattenedConv2d(nn.Module):
    """Flattened convolution (Jin et al., arXiv:1412.5474): each of the
    ``out_channels`` 3-D filters ``C_in x kh x kw`` becomes three 1-D filters:
    across channels (a 1x1 conv), down (a depthwise ``kh x 1`` conv) and
    across (a depthwise ``1 x kw`` conv). Output ``n`` is the conv with the
    rank-1 kernel ``a_n (x) b_n (x) c_n``: ``fused_weight()``.

    >>> conv = FlattenedConv2d(16, 32, 3, padding=1)
    >>> conv(torch.zeros(1, 16, 8, 8)).shape
    torch.Size([1, 32, 8, 8])
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Size2,
                 stride: Size2 = 1, padding: Size2 = 0, dilation: Size2 = 1,
                 bias: bool = True) -> None:
        super().__init__()
        _positive("in_channels", in_channels)
        _positive("out_channels", out_channels)
        _boolean("bias", bias)
        (kh, kw), (sh, sw) = _pair("kernel_size", kernel_size), _pair("stride", stride)
        (ph, pw), (dh, dw) = (_pair("padding", padding, _non_negative),
                              _pair("dilation", dilation))
        n = out_channels
        # no bias before the spatial steps: zero padding must stay zero
        self.lateral = nn.Conv2d(in_channels, n, 1, bias=False)
        self.vertical = nn.Conv2d(n, n, (kh, 1), stride=(sh, 1), padding=(ph, 0),
                                  dilation=(dh, 1), groups=n, bias=False)
        self.horizontal = nn.Conv2d(n, n, (1, kw), stride=(1, sw), padding=(0, pw),
                                    dilation=(1, dw), groups=n, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.lateral(x)          # (B, N, H, W): a_n across channels
        y = self.vertical(y)         # (B, N, H', W): b_n down each column
        return self.horizontal(y)    # (B, N, H', W'): c_n along each row

    def fused_weight(self) -> torch.Tensor:
        """``(N, C_in, kh, kw)``: ``W[n, i, y, x] = a[n, i] b[n, y] c[n, x]``."""
        a = self.lateral.weight[:, :, 0, 0]       # (N, C_in)
        b = self.vertical.weight[:, 0, :, 0]      # (N, kh)
        c = self.horizontal.weight[:, 0, 0, :]    # (N, kw)
        return torch.einsum("ni,ny,nx->niyx", a, b, c)


def flatten_rank1(weight: torch.Tensor, rtol: float = 1e-5
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(a, b, c)`` of shapes ``(N, C_in)``, ``(N, kh)``, ``(N, kw)`` with
    ``weight[n] == a[n] (x) b[n] (x) c[n]``, for filters that are rank-1
    3-D tensors; any other filter raises ``ValueError``.

    Filter ``n`` unfolded to ``C_in x (kh kw)`` is ``a_n vec(b_n c_n^T)^T``:
    one SVD gives ``a_n``, a second (of the ``kh x kw`` part) ``b_n, c_n``.
    """
    _tolerance("rtol", rtol)
    if not isinstance(weight, torch.Tensor) or weight.dim() != 4:
        raise ValueError("weight must be a (C_out, C_in, kh, kw) tensor")
    n, c_in, kh, kw = weight.shape
    unfolded = weight.double().reshape(n, c_in, kh * kw)   # (N, C_in, kh kw)
    U, S, Vh = torch.linalg.svd(unfolded, full_matrices=False)
    if S.shape[1] > 1 and bool((S[:, 1] > rtol * S[:, 0]).any()):
        bad = int((S[:, 1] > rtol * S[:, 0]).nonzero()[0])
        raise ValueError(f"filter {bad} is not rank 1 across channels")
    a = U[:, :, 0] * S[:, :1]                              # (N, C_in)
    spatial = Vh[:, 0].reshape(n, kh, kw)                  # (N, kh, kw), unit norm
    U2, S2, Vh2 = torch.linalg.svd(spatial, full_matrices=False)
    if S2.shape[1] > 1 and bool((S2[:, 1] > rtol * S2[:, 0]).any()):
        bad = int((S2[:, 1] > rtol * S2[:, 0]).nonzero()[0])
        raise ValueError(f"filter {bad} is not rank 1 in space")
    root = S2[:, :1].sqrt()
    b, c = U2[:, :, 0] * root, Vh2[:, 0] * root            # (N, kh), (N, kw)
    return tuple(t.to(weight.dtype) for t in (a, b, c))


# --8<-- [end:flattened]


# --8<-- [start:macs]
def spatially_separable_macs(in_channels: int, out_channels: int, kernel_size: int,
                             height: int, width: int | None = None,
                             mid_channels: int | None = None, stride: int = 1,
                             padding: int = 0, dilation: int = 1) -> int:
    """Multiply-adds of ``SpatiallySeparableConv2d`` (no bias): the ``k x 1``
    conv runs on ``H' x W`` (rows strided, columns not yet), the ``1 x k``
    conv on ``H' x W'``:
    ``H' W k C_in C_mid + H' W' k C_mid C_out``.

    >>> spatially_separable_macs(64, 64, 7, 17, padding=3)   # 2 * 17^2 * 7 * 64^2
    16572416
    """
    width = height if width is None else width
    for name, value in (("in_channels", in_channels), ("out_channels", out_channels),
                        ("kernel_size", kernel_size), ("height", height),
                        ("width", width), ("stride", stride), ("dilation", dilation)):
        _positive(name, value)
    _non_negative("padding", padding)
    mid = out_channels if mid_channels is None else _positive("mid_channels", mid_channels)
    h_out = _out(height, kernel_size, stride, padding, dilation)
    w_out = _out(width, kernel_size, stride, padding, dilation)
    return (h_out * width * kernel_size * in_channels * mid
            + h_out * w_out * kernel_size * mid * out_channels)


def flattened_macs(in_channels: int, out_channels: int, kernel_size: int,
                   height: int, width: int | None = None, stride: int = 1,
                   padding: int = 0, dilation: int = 1) -> int:
    """Multiply-adds of ``FlattenedConv2d`` (no bias):
    ``H W C_in N + H' W k N + H' W' k N``.

    >>> flattened_macs(64, 64, 3, 16, padding=1)     # 16^2 * 64 * (64 + 3 + 3)
    1146880
    """
    width = height if width is None else width
    for name, value in (("in_channels", in_channels), ("out_channels", out_channels),
                        ("kernel_size", kernel_size), ("height", height),
                        ("width", width), ("stride", stride), ("dilation", dilation)):
        _positive(name, value)
    _non_negative("padding", padding)
    h_out = _out(height, kernel_size, stride, padding, dilation)
    w_out = _out(width, kernel_size, stride, padding, dilation)
    n = out_channels
    return (height * width * in_channels * n + h_out * width * kernel_size * n
            + h_out * w_out * kernel_size * n)


# --8<-- [end:macs]

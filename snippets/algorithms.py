"""How a convolution is computed: four algorithms that give the same numbers as ``F.conv2d``.

* ``conv2d_direct``: the definition, a sum over the kernel's taps (vectorised over the batch,
  the channels and the output pixels, so that the loops left are the ones of the formula).
* ``conv2d_im2col``: copy every receptive field into a column (``F.unfold``), then one matrix
  product per group (K. Chellapilla, S. Puri, P. Simard, *High Performance Convolutional
  Neural Networks for Document Processing*, IWFHR 2006; S. Chetlur et al., *cuDNN: Efficient
  Primitives for Deep Learning*, arXiv:1410.0759, which forms the same matrix implicitly).
* ``conv2d_winograd``: Winograd's minimal filtering F(2x2, 3x3) and F(4x4, 3x3): 16 (or 36)
  multiplications per tile instead of 36 (or 144) (A. Lavin, S. Gray, *Fast Algorithms for
  Convolutional Neural Networks*, arXiv:1509.09308).
* ``conv2d_fft``: a pointwise product of spectra (M. Mathieu, M. Henaff, Y. LeCun, *Fast
  Training of Convolutional Networks through FFTs*, arXiv:1312.5851).

``*_multiplications`` count the multiplications each algorithm does (the tests count them in
the running code with ``FlopCounterMode``); ``winograd_transform_ops`` counts the additions and
scalings of the Winograd transforms. Every function takes ``F.conv2d``'s arguments in its order.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = [
    "conv2d_direct",
    "conv2d_im2col",
    "im2col_matrix",
    "conv2d_winograd",
    "winograd_matrices",
    "winograd_transform_ops",
    "conv2d_fft",
    "fft_size",
    "kernel_spectrum",
    "direct_multiplications",
    "winograd_multiplications",
    "fft_multiplications",
]


# --- argument checking (repeated here so that this file stands alone) ----------------------
def _pair(name: str, value, minimum: int) -> tuple[int, int]:
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value, value)
    if (not isinstance(value, (tuple, list)) or len(value) != 2
            or any(isinstance(v, bool) or not isinstance(v, int) for v in value)):
        raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")
    if min(value) < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return int(value[0]), int(value[1])


def _check(x, weight, bias, stride, padding, dilation, groups):
    """Validate ``F.conv2d``'s arguments; return the normalised numbers and the output size."""
    for name, t in (("x", x), ("weight", weight)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
        if t.dim() != 4:
            raise ValueError(f"{name} must be 4-D, got shape {tuple(t.shape)}")
    if isinstance(groups, bool) or not isinstance(groups, int):
        raise TypeError(f"groups must be an int, got {groups!r}")
    if groups < 1:
        raise ValueError(f"groups must be >= 1, got {groups}")
    (b, c, h, w), (o, cg, kh, kw) = x.shape, weight.shape
    if o % groups or cg * groups != c:
        raise ValueError(f"weight of shape {tuple(weight.shape)} and groups={groups} need "
                         f"{cg * groups} input channels and out_channels divisible by groups; "
                         f"x has {c} channels")
    if bias is not None:
        if not isinstance(bias, torch.Tensor):
            raise TypeError(f"bias must be a torch.Tensor or None, got {type(bias).__name__}")
        if bias.shape != (o,):
            raise ValueError(f"bias must have shape ({o},), got {tuple(bias.shape)}")
    sh, sw = _pair("stride", stride, 1)
    ph, pw = _pair("padding", padding, 0)
    dh, dw = _pair("dilation", dilation, 1)
    span_h, span_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    if span_h > h + 2 * ph or span_w > w + 2 * pw:
        raise ValueError(f"the kernel spans {span_h}x{span_w} pixels, more than the padded "
                         f"input {h + 2 * ph}x{w + 2 * pw}")
    oh, ow = (h + 2 * ph - span_h) // sh + 1, (w + 2 * pw - span_w) // sw + 1
    return (sh, sw), (ph, pw), (dh, dw), (oh, ow)


def _add_bias(y: torch.Tensor, bias) -> torch.Tensor:
    return y if bias is None else y + bias.view(1, -1, 1, 1)


# --- direct --------------------------------------------------------------------------------
# --8<-- [start:direct]
def conv2d_direct(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """The definition: y[b, o, i, j] = sum over c, u, v of
    x[b, c, i*s + u*d, j*s + v*d] * w[o, c, u, v], one kernel tap (u, v) at a time.

    >>> x, w = torch.randn(2, 4, 7, 6), torch.randn(6, 2, 3, 2)
    >>> y = conv2d_direct(x, w, stride=(2, 1), padding=1, groups=2)
    >>> torch.allclose(y, F.conv2d(x, w, stride=(2, 1), padding=1, groups=2), atol=1e-5)
    True
    """
    (sh, sw), (ph, pw), (dh, dw), (oh, ow) = _check(
        x, weight, bias, stride, padding, dilation, groups)
    o, cg, kh, kw = weight.shape
    og = o // groups
    xp = F.pad(x, (pw, pw, ph, ph))               # (B, C, H + 2ph, W + 2pw)
    y = x.new_zeros(x.shape[0], o, oh, ow)        # (B, O, H', W')
    for g in range(groups):
        xg = xp[:, g * cg:(g + 1) * cg]           # (B, Cg, Hp, Wp): this group's inputs
        wg = weight[g * og:(g + 1) * og]          # (Og, Cg, kh, kw)
        for u in range(kh):
            for v in range(kw):
                # the input pixel under tap (u, v) for every output pixel (i, j)
                rows = slice(u * dh, u * dh + sh * (oh - 1) + 1, sh)
                cols = slice(v * dw, v * dw + sw * (ow - 1) + 1, sw)
                window = xg[:, :, rows, cols]     # (B, Cg, H', W')
                # sum over the input channels c: Og * Cg multiplications per pixel
                y[:, g * og:(g + 1) * og] += torch.einsum(
                    "bchw,oc->bohw", window, wg[:, :, u, v])
    return _add_bias(y, bias)
# --8<-- [end:direct]


def direct_multiplications(x_shape, weight_shape, stride=1, padding=0, dilation=1, groups=1):
    """Multiplications of the direct and the im2col algorithm (and ``F.conv2d``'s FLOPs / 2):
    ``(C / groups) * kh * kw`` per output value.

    >>> direct_multiplications((1, 64, 56, 56), (64, 64, 3, 3), padding=1)  # 64*9 per output
    115605504
    """
    x, w = torch.empty(x_shape, device="meta"), torch.empty(weight_shape, device="meta")
    *_, (oh, ow) = _check(x, w, None, stride, padding, dilation, groups)
    b, (o, cg, kh, kw) = x_shape[0], weight_shape
    return b * o * oh * ow * cg * kh * kw


# --- im2col + GEMM --------------------------------------------------------------------------
def im2col_matrix(x, kernel_size, stride=1, padding=0, dilation=1):
    """The lowered input: one column per output pixel, holding its receptive field.

    ``(B, C*kh*kw, H'*W')``; row ``c*kh*kw + u*kw + v`` is channel ``c`` under tap ``(u, v)``.

    >>> im2col_matrix(torch.arange(16.).view(1, 1, 4, 4), 3).shape   # 9 taps x 4 positions
    torch.Size([1, 9, 4])
    """
    kh, kw = _pair("kernel_size", kernel_size, 1)
    weight = torch.empty(1, x.shape[1] if isinstance(x, torch.Tensor) and x.dim() == 4 else 1,
                         kh, kw, device="meta")
    (sh, sw), (ph, pw), (dh, dw), _ = _check(x, weight, None, stride, padding, dilation, 1)
    return F.unfold(x, (kh, kw), dilation=(dh, dw), padding=(ph, pw), stride=(sh, sw))


# --8<-- [start:im2col]
def conv2d_im2col(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Lower the input to a matrix (``F.unfold``), multiply by the flattened kernel.

    >>> x, w = torch.randn(2, 4, 9, 8), torch.randn(6, 4, 3, 3)
    >>> y = conv2d_im2col(x, w, padding=1, dilation=2)
    >>> torch.allclose(y, F.conv2d(x, w, padding=1, dilation=2), atol=1e-5)
    True
    """
    (sh, sw), (ph, pw), (dh, dw), (oh, ow) = _check(
        x, weight, bias, stride, padding, dilation, groups)
    b, (o, cg, kh, kw) = x.shape[0], weight.shape
    cols = F.unfold(x, (kh, kw), dilation=(dh, dw), padding=(ph, pw),
                    stride=(sh, sw))                   # (B, C*kh*kw, H'*W'): k² copies
    cols = cols.view(b, groups, cg * kh * kw, oh * ow)  # (B, G, Cg*kh*kw, H'*W')
    w = weight.view(groups, o // groups, cg * kh * kw)  # (G, Og, Cg*kh*kw)
    y = torch.matmul(w, cols)                          # (B, G, Og, H'*W'): a GEMM per group
    y = y.view(b, o, oh, ow)                           # (B, O, H', W')
    return _add_bias(y, bias)
# --8<-- [end:im2col]


# --- Winograd -------------------------------------------------------------------------------
# --8<-- [start:winograd_matrices]
# F(m x m, 3 x 3) with Lavin & Gray's matrices: Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A for one input
# tile d of (m + 2) x (m + 2) pixels and one 3 x 3 kernel g; Y is an m x m output tile.
_WINOGRAD = {
    2: dict(  # interpolation points 0, 1, -1 and infinity
        BT=((1, 0, -1, 0),
            (0, 1, 1, 0),
            (0, -1, 1, 0),
            (0, 1, 0, -1)),
        G=((1, 0, 0),
           (1 / 2, 1 / 2, 1 / 2),
           (1 / 2, -1 / 2, 1 / 2),
           (0, 0, 1)),
        AT=((1, 1, 1, 0),
            (0, 1, -1, -1)),
    ),
    4: dict(  # points 0, 1, -1, 2, -2 and infinity: larger constants
        BT=((4, 0, -5, 0, 1, 0),
            (0, -4, -4, 1, 1, 0),
            (0, 4, -4, -1, 1, 0),
            (0, -2, -1, 2, 1, 0),
            (0, 2, -1, -2, 1, 0),
            (0, 4, 0, -5, 0, 1)),
        G=((1 / 4, 0, 0),
           (-1 / 6, -1 / 6, -1 / 6),
           (-1 / 6, 1 / 6, -1 / 6),
           (1 / 24, 1 / 12, 1 / 6),
           (1 / 24, -1 / 12, 1 / 6),
           (0, 0, 1)),
        AT=((1, 1, 1, 1, 1, 0),
            (0, 1, -1, 2, -2, 0),
            (0, 1, 1, 4, 4, 0),
            (0, 1, -1, 8, -8, 1)),
    ),
}


def _rows(matrix, t: torch.Tensor, dim: int) -> torch.Tensor:
    """``matrix @ t`` along ``dim``, written out as additions (and scalings by constants)."""
    parts = t.unbind(dim)
    out = []
    for row in matrix:
        terms = [(coef, part) for coef, part in zip(row, parts) if coef != 0]
        # start from a +1 term, else from a scaled one: a negation only if all are -1
        terms.sort(key=lambda term: (term[0] != 1, term[0] == -1))
        coef, part = terms[0]
        acc = part if coef == 1 else -part if coef == -1 else coef * part
        for coef, part in terms[1:]:
            if coef == 1:
                acc = acc + part
            elif coef == -1:
                acc = acc - part
            else:
                acc = acc + coef * part
        out.append(acc)
    return torch.stack(out, dim)


def _sandwich(matrix, t: torch.Tensor) -> torch.Tensor:
    """``M t Mᵀ`` on the last two dimensions of ``t``."""
    return _rows(matrix, _rows(matrix, t, -2), -1)
# --8<-- [end:winograd_matrices]


def winograd_matrices(tile: int = 2, dtype=torch.float64) -> dict[str, torch.Tensor]:
    """``BT``, ``G`` and ``AT`` of F(tile x tile, 3 x 3) as tensors.

    >>> m = winograd_matrices(2)
    >>> g, d = torch.randn(3, dtype=torch.float64), torch.randn(4, dtype=torch.float64)
    >>> y = m["AT"] @ ((m["G"] @ g) * (m["BT"] @ d))       # F(2, 3): 4 multiplications
    >>> torch.allclose(y, torch.stack([d[0:3] @ g, d[1:4] @ g]))
    True
    """
    _check_tile(tile)
    return {k: torch.tensor(v, dtype=dtype) for k, v in _WINOGRAD[tile].items()}


def _check_tile(tile) -> None:
    if isinstance(tile, bool) or not isinstance(tile, int):
        raise TypeError(f"tile must be an int, got {tile!r}")
    if tile not in _WINOGRAD:
        raise ValueError(f"tile must be one of {sorted(_WINOGRAD)} (F(2x2, 3x3) or "
                         f"F(4x4, 3x3)), got {tile}")


def _check_winograd(x, weight, bias, stride, padding, dilation, groups, tile):
    _check_tile(tile)
    (sh, sw), pad, (dh, dw), out = _check(x, weight, bias, stride, padding, dilation, groups)
    if weight.shape[-2:] != (3, 3):
        raise ValueError(f"weight must be 3x3 for F(m x m, 3 x 3), got "
                         f"{weight.shape[-2]}x{weight.shape[-1]}")
    if (sh, sw) != (1, 1):
        raise ValueError(f"stride must be 1: the tiles of Winograd's algorithm produce "
                         f"every output pixel, got stride={stride!r}")
    if (dh, dw) != (1, 1):
        raise ValueError(f"dilation must be 1, got dilation={dilation!r}")
    return pad, out


# --8<-- [start:winograd]
def conv2d_winograd(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *,
                    tile=2):
    """Winograd F(tile x tile, 3 x 3): stride 1, dilation 1, any H and W.

    >>> x, w = torch.randn(1, 3, 9, 8), torch.randn(4, 3, 3, 3)
    >>> torch.allclose(conv2d_winograd(x, w, padding=1), F.conv2d(x, w, padding=1),
    ...                atol=1e-4)
    True
    """
    (ph, pw), (oh, ow) = _check_winograd(
        x, weight, bias, stride, padding, dilation, groups, tile)
    mats = _WINOGRAD[tile]
    m, a = tile, tile + 2                 # output tile m x m, input tile a x a
    b, c = x.shape[:2]
    o, cg = weight.shape[:2]
    th, tw = -(-oh // m), -(-ow // m)     # whole tiles covering the output
    # pad to whole tiles: the extra zeros produce outputs that are cropped at the end
    xp = F.pad(x, (pw, pw + tw * m - ow, ph, ph + th * m - oh))  # (B, C, th*m+2, tw*m+2)
    d = xp.unfold(2, a, m).unfold(3, a, m)  # (B, C, th, tw, a, a): tiles overlap by 2
    V = _sandwich(mats["BT"], d)            # Bᵀ d B: (B, C, th, tw, a, a)
    U = _sandwich(mats["G"], weight)        # G g Gᵀ: (O, Cg, a, a), once per kernel
    V = V.reshape(b, groups, cg, th, tw, a, a)   # (B, G, Cg, th, tw, a, a)
    U = U.reshape(groups, o // groups, cg, a, a)  # (G, Og, Cg, a, a)
    # the only multiplications that grow with the data: a² per tile and channel pair,
    # summed over the input channels (a matrix product for each of the a² positions)
    M = torch.einsum("bgcijxy,gocxy->bgoijxy", V, U)  # (B, G, Og, th, tw, a, a)
    M = M.reshape(b, o, th, tw, a, a)       # (B, O, th, tw, a, a)
    Y = _sandwich(mats["AT"], M)            # Aᵀ M A: (B, O, th, tw, m, m)
    y = Y.permute(0, 1, 2, 4, 3, 5)         # (B, O, th, m, tw, m)
    y = y.reshape(b, o, th * m, tw * m)     # (B, O, th*m, tw*m)
    return _add_bias(y[:, :, :oh, :ow], bias)  # crop to (B, O, H', W')
# --8<-- [end:winograd]


def winograd_multiplications(x_shape, weight_shape, padding=0, groups=1, tile=2):
    """Multiplications of ``conv2d_winograd`` in the transformed product:
    ``(tile + 2)²`` per tile, per input channel and output channel (the kernel transform,
    done once per kernel, and the additions of the transforms are not counted).

    >>> winograd_multiplications((1, 64, 56, 56), (64, 64, 3, 3), padding=1)   # 16 per 2x2
    51380224
    >>> winograd_multiplications((1, 64, 56, 56), (64, 64, 3, 3), padding=1, tile=4)
    28901376
    """
    x, w = torch.empty(x_shape, device="meta"), torch.empty(weight_shape, device="meta")
    _, (oh, ow) = _check_winograd(x, w, None, 1, padding, 1, groups, tile)
    b, (o, cg) = x_shape[0], weight_shape[:2]
    tiles = -(-oh // tile) * -(-ow // tile)
    return b * tiles * (tile + 2) ** 2 * o * cg


def winograd_transform_ops(tile: int = 2) -> dict[str, int]:
    """Additions, subtractions and scalings by constants in the transforms of one tile:
    ``input`` (Bᵀ d B, once per input tile and input channel), ``output`` (Aᵀ M A, once per
    output tile and output channel) and ``kernel`` (G g Gᵀ, once per kernel).

    >>> winograd_transform_ops(2)
    {'input': 32, 'output': 24, 'kernel': 70}
    """
    _check_tile(tile)

    def ops(matrix, cols):
        # each row of M t: one operation per non-zero term after the first, plus one per
        # coefficient that is not ±1 (a scaling), as ``_rows`` does them; once per column
        per_row = [sum(c != 0 for c in row) - 1 + sum(c not in (0, 1, -1) for c in row)
                   + all(c == -1 for c in row if c)    # nothing else to start from: a negation
                   for row in matrix]
        return sum(per_row) * cols

    mats, a = _WINOGRAD[tile], tile + 2
    return {"input": ops(mats["BT"], a) * 2,
            "output": ops(mats["AT"], a) + ops(mats["AT"], tile),
            "kernel": ops(mats["G"], 3) + ops(mats["G"], a)}


# --- FFT ------------------------------------------------------------------------------------
def fft_size(n: int) -> int:
    """The smallest n' >= n with no prime factor above 7: FFT libraries are fast on those
    sizes and slow on sizes with a large prime factor (74 = 2 * 37, for one).

    >>> [fft_size(n) for n in (64, 66, 74, 94)]
    [64, 70, 75, 96]
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    while True:
        m = n
        for p in (2, 3, 5, 7):
            while m % p == 0:
                m //= p
        if m == 1:
            return n
        n += 1


def _fft_prepare(x, weight, bias, stride, padding, dilation, groups):
    (sh, sw), (ph, pw), (dh, dw), (oh, ow) = _check(
        x, weight, bias, stride, padding, dilation, groups)
    if (sh, sw) != (1, 1):
        raise ValueError(f"stride must be 1 (compute at stride 1 and subsample), "
                         f"got stride={stride!r}")
    size = (fft_size(x.shape[2] + 2 * ph), fft_size(x.shape[3] + 2 * pw))
    return (ph, pw), (dh, dw), (oh, ow), size


def _kernel_spectrum(weight, dilation, size):
    o, cg, kh, kw = weight.shape
    dh, dw = dilation
    if (dh, dw) != (1, 1):                     # a dilated kernel is a sparse larger kernel
        sparse = weight.new_zeros(o, cg, dh * (kh - 1) + 1, dw * (kw - 1) + 1)
        sparse[:, :, ::dh, ::dw] = weight
        weight = sparse
    return torch.fft.rfft2(weight, s=size)     # (O, Cg, n_h, n_w//2+1): zero-padded kernel


def kernel_spectrum(x_shape, weight, padding=0, dilation=1, groups=1):
    """The kernel's spectrum that ``conv2d_fft`` computes for inputs of ``x_shape``: pass it
    as ``weight_spectrum`` to reuse it (the kernel does not change between calls).

    >>> kernel_spectrum((1, 3, 30, 30), torch.randn(4, 3, 5, 5), padding=2).shape  # 34 -> 35
    torch.Size([4, 3, 35, 18])
    """
    if not isinstance(weight, torch.Tensor):
        raise TypeError(f"weight must be a torch.Tensor, got {type(weight).__name__}")
    x = torch.empty(x_shape, dtype=weight.dtype, device="meta")
    _, dil, _, size = _fft_prepare(x, weight, None, 1, padding, dilation, groups)
    return _kernel_spectrum(weight, dil, size)


# --8<-- [start:fft]
def conv2d_fft(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *,
               weight_spectrum=None):
    """Cross-correlation as a product of spectra: X · conj(W), summed over channels.

    >>> x, w = torch.randn(2, 3, 10, 9), torch.randn(4, 3, 5, 5)
    >>> torch.allclose(conv2d_fft(x, w, padding=2), F.conv2d(x, w, padding=2), atol=1e-4)
    True
    """
    (ph, pw), dil, (oh, ow), n = _fft_prepare(
        x, weight, bias, stride, padding, dilation, groups)
    b, o, cg = x.shape[0], weight.shape[0], weight.shape[1]
    # zeros after the padded input: the transform size n >= Hp has only small prime factors
    xp = F.pad(x, (pw, pw + n[1] - x.shape[3] - 2 * pw,
                   ph, ph + n[0] - x.shape[2] - 2 * ph))   # (B, C, n_h, n_w)
    X = torch.fft.rfft2(xp)                    # (B, C, n_h, n_w//2+1), complex
    W = _kernel_spectrum(weight, dil, n) if weight_spectrum is None else weight_spectrum
    if W.shape != (o, cg, n[0], n[1] // 2 + 1):
        raise ValueError(f"weight_spectrum must have shape {(o, cg, n[0], n[1] // 2 + 1)}, "
                         f"got {tuple(W.shape)}")
    X = X.reshape(b, groups, cg, *X.shape[-2:])            # (B, G, Cg, n_h, n_w//2+1)
    W = W.reshape(groups, o // groups, cg, *W.shape[-2:])  # (G, Og, Cg, n_h, n_w//2+1)
    # F.conv2d is a cross-correlation, y[i] = sum_u x[i+u] w[u]: its spectrum is
    # X · conj(W) (a convolution, with the kernel flipped, would be X · W)
    Y = torch.einsum("bgcxy,gocxy->bgoxy", X, W.conj())  # (B, G, Og, n_h, n_w//2+1)
    Y = Y.reshape(b, o, *Y.shape[-2:])         # (B, O, n_h, n_w//2+1)
    y = torch.fft.irfft2(Y, s=n)               # circular correlation: (B, O, n_h, n_w)
    # outputs 0 .. n - k do not wrap around the end of the input: the linear ones
    return _add_bias(y[:, :, :oh, :ow], bias)  # (B, O, H', W')
# --8<-- [end:fft]


def fft_multiplications(x_shape, weight_shape, padding=0, groups=1):
    """Complex multiplications of ``conv2d_fft``'s pointwise product (the FFTs, of order
    ``n log n`` each, are not counted): ``n_h * (n_w // 2 + 1)`` per channel pair, whatever
    the kernel size (``n = fft_size(H + 2p)``).

    >>> fft_multiplications((1, 16, 64, 64), (16, 16, 3, 3), padding=1)  # 70 * 36 * 256
    645120
    """
    x, w = torch.empty(x_shape, device="meta"), torch.empty(weight_shape, device="meta")
    _, _, _, (nh, nw) = _fft_prepare(x, w, None, 1, padding, 1, groups)
    b, (o, cg) = x_shape[0], weight_shape[:2]
    return b * o * cg * nh * (nw // 2 + 1)

"""The transposed-convolution chapter against torch: the matrix view, the zero-insertion
construction, the autograd view, the output-size relation and the checkerboard counts."""

import itertools

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from snippets import formulas
from sitegen.figures.transposed import CHECKERBOARD, TINY, checkerboard_maps
from sitegen.pages import transposed as page
from snippets.transposed import (
    ResizeConv2d,
    conv_matrix,
    conv_transpose2d_by_zero_insertion,
    overlap_counts,
)

# (stride, padding, output_padding, dilation, groups): every combination torch accepts
CONFIGS = [
    c for c in itertools.product([1, 2, 3], [0, 1, 2], [0, 1, 2], [1, 2], [1, 2])
    if c[2] < max(c[0], c[3])
]


def transpose_config_id(c):
    return "s{}-p{}-op{}-d{}-g{}".format(*c)


@pytest.mark.parametrize("config", CONFIGS, ids=transpose_config_id)
def test_conv_transpose2d_equals_zero_insertion_and_input_gradient(config, device):
    stride, padding, output_padding, dilation, groups = config
    torch.manual_seed(0)
    layer = nn.ConvTranspose2d(4, 6, 3, stride, padding, output_padding, groups, True,
                               dilation).to(device, torch.float64)
    x = torch.randn(2, 4, 5, 4, device=device, dtype=torch.float64)
    y = layer(x)

    # 1. a stride-1 conv over the zero-inserted, padded input with the flipped kernel
    built = conv_transpose2d_by_zero_insertion(x, layer.weight, layer.bias, stride, padding,
                                               output_padding, groups, dilation)
    torch.testing.assert_close(built, y)

    # 2. the gradient of a conv (same weight tensor, read as Conv2d(6 -> 4)) w.r.t. its input,
    # evaluated with the transposed conv's input as the incoming gradient. Only when
    # output_padding < stride is y's size one the conv maps back to x's (torch also allows
    # stride <= output_padding < dilation; then the conv's output is larger than x).
    if output_padding >= stride:
        return
    probe = torch.zeros(2, 6, *y.shape[-2:], device=device, dtype=torch.float64,
                        requires_grad=True)
    z = F.conv2d(probe, layer.weight, None, stride, padding, dilation, groups)
    assert z.shape == x.shape   # output_padding picked the size that convs back to x's
    (grad,) = torch.autograd.grad(z, probe, grad_outputs=x)
    torch.testing.assert_close(grad + layer.bias.view(1, -1, 1, 1), y)


def test_zero_insertion_with_per_dimension_arguments(device):
    torch.manual_seed(0)
    kwargs = dict(stride=(2, 3), padding=(1, 0), output_padding=(1, 2), groups=3,
                  dilation=(1, 2))
    layer = nn.ConvTranspose2d(6, 9, (3, 4), bias=False, **kwargs).to(device)
    x = torch.randn(1, 6, 4, 7, device=device)
    torch.testing.assert_close(conv_transpose2d_by_zero_insertion(x, layer.weight, **kwargs),
                               layer(x))


# (input size, kernel size, stride, padding, dilation), incl. non-square
MATRIX_CASES = [(4, 3, 1, 0, 1), (5, 3, 2, 1, 1), ((6, 5), (3, 2), (2, 1), (1, 0), 1),
                (7, 3, 1, 2, 2), (6, 4, 2, 1, 1), (5, 1, 3, 0, 1)]


@pytest.mark.parametrize("case", MATRIX_CASES, ids=str)
def test_conv_matrix_is_the_conv_and_its_transpose_is_the_transposed_conv(case, device):
    size, k, stride, padding, dilation = case
    torch.manual_seed(0)
    kh, kw = (k, k) if isinstance(k, int) else k
    ih, iw = (size, size) if isinstance(size, int) else size
    kernel = torch.randn(kh, kw, device=device, dtype=torch.float64)
    C = conv_matrix(size, kernel, stride, padding, dilation)
    x = torch.randn(1, 1, ih, iw, device=device, dtype=torch.float64)
    y = F.conv2d(x, kernel[None, None], None, stride, padding, dilation)
    assert C.shape == (y[0, 0].numel(), x[0, 0].numel())
    torch.testing.assert_close(C @ x.flatten(), y.flatten())
    # C is the conv's Jacobian
    jac = torch.autograd.functional.jacobian(
        lambda v: F.conv2d(v.view(1, 1, ih, iw), kernel[None, None], None, stride, padding,
                           dilation).flatten(), x.flatten())
    torch.testing.assert_close(C, jac)
    # C^T is the transposed conv, given the output_padding that restores x's size
    g = torch.randn_like(y)
    sizes = [(ih, y.shape[-2], kh), (iw, y.shape[-1], kw)]
    s2 = (stride, stride) if isinstance(stride, int) else stride
    p2 = (padding, padding) if isinstance(padding, int) else padding
    op = tuple(n - formulas.conv_transpose_output_size(m, kk, s, p, 0, dilation)
               for (n, m, kk), s, p in zip(sizes, s2, p2))
    back = F.conv_transpose2d(g, kernel[None, None], None, stride, padding, op, 1, dilation)
    torch.testing.assert_close(C.T @ g.flatten(), back.flatten())


def test_tiny_case_on_the_page():
    size, k = TINY
    C = conv_matrix(size, torch.arange(1.0, k * k + 1).view(k, k))
    assert C.shape == (4, 16)
    assert int((C != 0).sum()) == 36   # each of the 4 rows holds all 9 weights
    assert C[0].tolist() == [1, 2, 3, 0, 4, 5, 6, 0, 7, 8, 9, 0, 0, 0, 0, 0]


def test_output_size_relation_over_a_grid_with_invalid_combinations():
    """Every (size, k, s, p, op, d) in a small grid: the formula gives torch's size, or raises
    ValueError exactly where torch refuses (or would return an empty tensor). Complements the
    random 2-D configurations of tests/test_formulas.py with an exhaustive 1-D sweep."""
    x = torch.ones(1, 1, 1)
    checked = refused = 0
    for n, k, s, p, op, d in itertools.product(range(1, 7), range(1, 5), range(1, 4),
                                               range(0, 4), range(0, 3), range(1, 4)):
        w = torch.ones(1, 1, k)
        try:
            out = F.conv_transpose1d(x.expand(1, 1, n), w, None, s, p, op, 1, d).shape[-1]
            if out < 1:
                raise RuntimeError(f"empty output {out}")
        except RuntimeError:
            with pytest.raises(ValueError):
                formulas.conv_transpose_output_size(n, k, s, p, op, d)
            refused += 1
            continue
        assert formulas.conv_transpose_output_size(n, k, s, p, op, d) == out
        if op < s:  # output_padding only picks among sizes the conv maps back to n
            assert formulas.conv_output_size(out, k, s, p, d) == n
            assert out in formulas.conv_transpose_output_padding_range(n, k, s, p, d)
        checked += 1
    assert checked > 1000 and refused > 500


def test_output_padding_range_is_the_conv_preimage_over_a_grid():
    """conv_transpose_output_padding_range lists exactly the input sizes a conv maps to n."""
    for n, k, s, p, d in itertools.product(range(1, 7), range(1, 5), range(1, 4), range(0, 4),
                                           range(1, 4)):
        span = formulas.effective_kernel_size(k, d)
        preimage = [m for m in range(1, 60) if m + 2 * p >= span
                    and formulas.conv_output_size(m, k, s, p, d) == n]
        if preimage:
            assert formulas.conv_transpose_output_padding_range(n, k, s, p, d) == preimage
        else:
            with pytest.raises(ValueError, match="too large"):
                formulas.conv_transpose_output_padding_range(n, k, s, p, d)


def test_output_padding_sizes_all_conv_back_to_the_same_size():
    # the page's example: a stride-2 conv maps 7 and 8 to 4; output_padding says which
    conv = nn.Conv2d(1, 1, 3, stride=2, padding=1)
    up = [nn.ConvTranspose2d(1, 1, 3, stride=2, padding=1, output_padding=op) for op in (0, 1)]
    for n in formulas.conv_transpose_output_padding_range(4, 3, stride=2, padding=1):
        assert conv(torch.randn(1, 1, n, n)).shape[-1] == 4
    assert [u(torch.randn(1, 1, 4, 4)).shape[-1] for u in up] == [7, 8]


@pytest.mark.parametrize("size, k, s, p, op",
                         [(6, 3, 2, 1, 1), (6, 4, 2, 1, 0), (5, 5, 3, 0, 2), (7, 2, 2, 0, 0),
                          (4, 1, 2, 0, 1), (6, 7, 3, 3, 0)])
def test_overlap_counts_are_a_ones_transposed_conv_and_a_gradient(size, k, s, p, op, device):
    counts = overlap_counts(size, k, s, p, op).to(device)
    ones = torch.ones(1, 1, size, size, device=device, dtype=torch.float64)
    # a transposed conv with an all-ones kernel on an all-ones input counts the overlaps ...
    up = F.conv_transpose2d(ones, torch.ones(1, 1, k, k, device=device, dtype=torch.float64),
                            stride=s, padding=p, output_padding=op)[0, 0]
    torch.testing.assert_close(up, torch.outer(counts, counts).double())
    # ... and so does back-propagating the sum of a strided conv's output to its input
    x = torch.zeros(1, 1, *up.shape, device=device, dtype=torch.float64, requires_grad=True)
    F.conv2d(x, torch.ones(1, 1, k, k, device=device, dtype=torch.float64), stride=s,
             padding=p).sum().backward()
    torch.testing.assert_close(x.grad[0, 0], torch.outer(counts, counts).double())


@pytest.mark.parametrize("k, s", [(k, s) for k in range(1, 8) for s in range(1, 5)])
def test_interior_overlap_is_floor_or_ceil_and_even_iff_stride_divides_kernel(k, s):
    counts = overlap_counts(12, k, s).tolist()
    interior = counts[k:-k]   # away from the borders, where the first/last inputs stop
    assert set(interior) <= {k // s, -(-k // s)}
    assert (len(set(interior)) == 1) == (k % s == 0)


def test_checkerboard_figure_shows_what_torch_measures(device):
    """The figure's numbers, measured with the real layers (ones weights on a ones input) and,
    for the transposed convs, by back-propagating through the strided conv they transpose."""
    for (label, kind, size, k, s, p, op), (c1, c2) in zip(CHECKERBOARD, checkerboard_maps()):
        assert torch.equal(c2, torch.outer(c1, c1)), label   # 2-D = product of the 1-D rows
        ones = torch.ones(1, 1, size, size, device=device, dtype=torch.float64)
        if kind == "transposed":
            layer = nn.ConvTranspose2d(1, 1, k, s, p, op, bias=False)
        else:
            layer = ResizeConv2d(1, 1, k, scale_factor=s, bias=False)
        layer = layer.to(device, torch.float64)
        nn.init.ones_(next(layer.parameters()))
        assert torch.equal(layer(ones)[0, 0].round().long().cpu(), c2), label
        if kind == "transposed":
            x = torch.zeros(1, 1, *c2.shape, device=device, dtype=torch.float64,
                            requires_grad=True)
            F.conv2d(x, torch.ones(1, 1, k, k, device=device, dtype=torch.float64), stride=s,
                     padding=p).sum().backward()
            assert torch.equal(x.grad[0, 0].round().long().cpu(), c2), label
    interior = [c2[4:-4, 4:-4].unique().tolist() for _, c2 in checkerboard_maps()]
    assert interior == [[1, 2, 4], [4], [9]]   # k=3, s=2 | k=4, s=2 | resize + conv


def test_input_gradient_of_strided_conv_has_the_checkerboard(device):
    # the same pattern appears in gradients: a k=3, s=2 conv's input gradient is uneven
    x = torch.zeros(1, 1, 12, 12, device=device, requires_grad=True)
    F.conv2d(x, torch.ones(1, 1, 3, 3, device=device), stride=2, padding=1).sum().backward()
    assert x.grad[0, 0, 4:-4, 4:-4].unique().tolist() == [1.0, 2.0, 4.0]


def test_zero_insertion_costs_what_the_page_says():
    """FlopCounterMode agrees with both multiply-add counts on the page (2 FLOPs per MAC)."""
    from torch.utils.flop_counter import FlopCounterMode

    from sitegen.pages.transposed import DECODER, zero_insertion_macs
    c = DECODER
    layer = nn.ConvTranspose2d(c["in_channels"], c["out_channels"], c["kernel_size"],
                               c["stride"], c["padding"], bias=False)
    x = torch.randn(1, c["in_channels"], c["size"], c["size"])
    direct, zero_inserted = zero_insertion_macs()
    for compute, macs in ((lambda: layer(x), direct),
                          (lambda: conv_transpose2d_by_zero_insertion(
                              x, layer.weight, stride=c["stride"], padding=c["padding"]),
                           zero_inserted)):
        with FlopCounterMode(display=False) as counter:
            compute()
        assert counter.get_total_flops() == 2 * macs
    assert zero_inserted == c["stride"] ** 2 * direct


def test_resize_conv_shape_and_grad(device):
    layer = ResizeConv2d(8, 4, 3, scale_factor=2, groups=2, mode="bilinear").to(device)
    x = torch.randn(2, 8, 5, 7, device=device, requires_grad=True)
    y = layer(x)
    assert y.shape == (2, 4, 10, 14)
    y.sum().backward()
    assert x.grad.shape == x.shape


@pytest.mark.parametrize("call, message", [
    (lambda: conv_matrix(4, torch.ones(1, 3, 3)), r"kernel must be a 2-D \(kh, kw\) tensor"),
    (lambda: conv_matrix(2, torch.ones(3, 3)), r"kernel span 3 .* larger than the padded input 2"),
    (lambda: conv_matrix(4, torch.ones(3, 3), stride=0), "stride must be a positive integer"),
    (lambda: conv_matrix((4, 4, 4), torch.ones(3, 3)), "input_size must be an int or a pair"),
    (lambda: conv_transpose2d_by_zero_insertion(torch.ones(1, 4, 3), torch.ones(4, 2, 3, 3)),
     "x must be 4-D"),
    (lambda: conv_transpose2d_by_zero_insertion(torch.ones(1, 4, 3, 3), torch.ones(3, 2, 3, 3)),
     r"x has 4 channels; weight.shape\[0\] \(3\) must equal it"),
    (lambda: conv_transpose2d_by_zero_insertion(torch.ones(1, 3, 3, 3), torch.ones(3, 2, 3, 3),
                                                groups=2), r"divisible by groups \(2\)"),
    (lambda: conv_transpose2d_by_zero_insertion(torch.ones(1, 4, 3, 3), torch.ones(4, 2, 3, 3),
                                                groups=0), "groups must be a positive integer"),
    (lambda: conv_transpose2d_by_zero_insertion(torch.ones(1, 4, 3, 3), torch.ones(4, 2, 3, 3),
                                                stride=2, output_padding=2),
     r"output_padding \(2\) must be smaller than stride \(2\) or dilation \(1\)"),
    (lambda: conv_transpose2d_by_zero_insertion(torch.ones(1, 4, 1, 1), torch.ones(4, 2, 1, 1),
                                                padding=1), "padding 1 is too large"),
    (lambda: overlap_counts(6, 3, stride=2, output_padding=2), r"output_padding \(2\)"),
    (lambda: overlap_counts(0, 3), "size must be a positive integer, got 0"),
    (lambda: ResizeConv2d(4, 4, 3, scale_factor=0), "scale_factor must be a positive integer"),
    (lambda: ResizeConv2d(4, 4, 3, mode="bicubic"), "mode must be 'nearest' or 'bilinear'"),
    (lambda: ResizeConv2d(4, 6, 3, groups=4), r"out_channels \(6\) must be divisible"),
])
def test_bad_arguments_raise_clear_value_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_bad_arguments_that_torch_refuses_too():
    x, w = torch.ones(1, 4, 3, 3), torch.ones(4, 2, 3, 3)
    for kwargs in (dict(stride=2, output_padding=2), dict(stride=1, dilation=1, output_padding=1),
                   dict(padding=3)):
        with pytest.raises(RuntimeError):
            out = F.conv_transpose2d(x, w, **kwargs)
            if min(out.shape[-2:]) < 1:
                raise RuntimeError("empty output")
        with pytest.raises(ValueError):
            conv_transpose2d_by_zero_insertion(x, w, **kwargs)


def test_output_padding_rows_receive_contributions_only_up_to_the_padding():
    """The last output_padding - padding positions get nothing from the kernel (only the bias);
    with output_padding <= padding every position gets something. Measured with torch."""
    seen = set()
    for n, k, s, p, d in itertools.product(range(1, 5), range(1, 5), range(2, 4), range(0, 3),
                                           (1, 2)):
        for op in range(max(s, d)):
            try:
                out = torch.nn.functional.conv_transpose1d(
                    torch.ones(1, 1, n, dtype=torch.float64),
                    torch.ones(1, 1, k, dtype=torch.float64), stride=s, padding=p,
                    output_padding=op, dilation=d)[0, 0]
            except RuntimeError:      # an output smaller than 1: torch refuses
                continue
            last = out.numel() - 1
            reach = (n - 1) * s + d * (k - 1) - p     # the farthest output a tap lands on
            if reach < 0:  # the padding crops every tap away: nothing but the bias
                assert not out.any()
                continue
            if op > p:     # the last op - p positions: only the bias
                assert reach == last - (op - p) and out[reach] > 0, (n, k, s, p, op, d)
                assert not out[reach + 1:].any(), (n, k, s, p, op, d, out.tolist())
                seen.add(True)
            else:          # within the kernel's reach
                assert reach >= last, (n, k, s, p, op, d)
                if d == 1 and k >= s:   # contiguous taps covering the stride: no gaps at all
                    assert out[:].all(), (n, k, s, p, op, d, out.tolist())
                seen.add(False)
    assert seen == {True, False}
    assert page.output_padding_cases("en").count("receives none") == 1

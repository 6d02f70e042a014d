"""Dilated convolution: the formulas and the page's numbers against real torch stacks.

``tests/test_formulas.py`` already samples Conv2d configurations with dilation 1-3; here the
output-size relation is checked exhaustively along one dimension with larger dilations, and
the receptive-field formula against a measurement (back-propagation through the real stack).
"""

import itertools
import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from snippets import formulas as F
from snippets.dilated import (MultiDilationBlock, conv_layer_specs, dilated_stack,
                              hdc_covers, hdc_max_distances,
                              footprint_holes, input_footprint, measured_receptive_field)
from sitegen.pages import dilated as page
from tests.conftest import flops

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


# --- output size --------------------------------------------------------------------------
def test_output_size_matches_torch_on_a_grid_with_dilation():
    """Every (size, kernel, stride, padding, dilation) in a grid, valid or not."""
    weights = {k: torch.ones(1, 1, k, dtype=torch.float64) for k in range(1, 6)}
    checked = refused = 0
    for size, k, s, p, d in itertools.product(range(1, 13), range(1, 6), range(1, 4),
                                              range(0, 4), range(1, 6)):
        x = torch.zeros(1, 1, size, dtype=torch.float64)
        if F.effective_kernel_size(k, d) > size + 2 * p:
            with pytest.raises(RuntimeError):
                torch.nn.functional.conv1d(x, weights[k], stride=s, padding=p, dilation=d)
            with pytest.raises(ValueError, match="larger than the padded input"):
                F.conv_output_size(size, k, s, p, d)
            refused += 1
            continue
        y = torch.nn.functional.conv1d(x, weights[k], stride=s, padding=p, dilation=d)
        assert y.shape[-1] == F.conv_output_size(size, k, s, p, d), (size, k, s, p, d)
        checked += 1
    assert checked > 2000 and refused > 500


@pytest.mark.parametrize("k", [1, 3, 5, 7])
@pytest.mark.parametrize("d", [1, 2, 3, 6, 12])
def test_padding_half_the_span_keeps_the_size(k, d):
    p = d * (k - 1) // 2
    for size in range(1, 40):
        conv = nn.Conv2d(1, 1, k, padding=p, dilation=d)
        assert conv(torch.zeros(1, 1, size, size)).shape[-1] == size
        assert F.conv_output_size(size, k, padding=p, dilation=d) == size


# --- receptive field: formula versus measurement ------------------------------------------
layer_specs = st.lists(st.tuples(st.integers(1, 5), st.integers(1, 3), st.integers(1, 3)),
                       min_size=1, max_size=4)


@SETTINGS
@given(layers=layer_specs, data=st.data())
def test_receptive_field_formula_equals_measurement(device, layers, data):
    """Conv stacks with any kernel, stride, dilation and padding per layer, ReLU between."""
    modules, channels = [], data.draw(st.integers(1, 3))
    in_channels = channels
    for k, s, d in layers:
        out = data.draw(st.integers(1, 3))
        padding = data.draw(st.integers(0, (F.effective_kernel_size(k, d) - 1) // 2))
        modules += [nn.Conv2d(channels, out, k, s, padding, d), nn.ReLU()]
        channels = out
    model = nn.Sequential(*modules).to(device)
    rf = F.receptive_field(layers)
    jump = math.prod(s for _, s, _ in layers)
    size = 3 * rf + 4 * jump     # the centre output pixel's footprint lies well inside
    assert conv_layer_specs(model) == layers
    assert measured_receptive_field(model, in_channels, size) == rf


def test_exponential_dilations_grow_the_receptive_field_exponentially(device):
    """Yu & Koltun: dilations 1, 2, ..., 2^(L-1) give 2^(L+1) - 1; plain 3x3 gives 2L + 1."""
    channels = 4
    for depth in range(1, 7):
        dilated = dilated_stack(channels, page.exponential_dilations(depth)).to(device)
        plain = dilated_stack(channels, [1] * depth).to(device)
        size = 2 ** (depth + 1) + 3
        assert measured_receptive_field(dilated, channels, size) == 2 ** (depth + 1) - 1
        assert measured_receptive_field(plain, channels, size) == 2 * depth + 1
        # parameters grow linearly, and are the same for both stacks
        numel = sum(p.numel() for p in dilated.parameters())
        assert numel == sum(p.numel() for p in plain.parameters())
        assert numel == depth * F.conv2d_params(channels, channels, 3)


def test_growth_table_rows_match_real_stacks():
    for row in page.growth_rows():
        stack = dilated_stack(page.CHANNELS, page.exponential_dilations(row["depth"]))
        assert row["rf_dilated"] == 2 ** (row["depth"] + 1) - 1
        assert row["rf_dilated"] == F.receptive_field(conv_layer_specs(stack))
        weights = sum(m.weight.numel() for m in stack if isinstance(m, nn.Conv2d))
        assert row["params"] == weights   # the table counts weights, no biases
        # one big kernel, counted on a 1-channel conv (a 64-channel 511x511 one is 4 GB)
        big = nn.Conv2d(1, 1, row["rf_dilated"], bias=False).weight.numel()
        assert row["params_one_layer"] == big * page.CHANNELS**2
    for row in page.growth_rows()[:4]:   # small enough to measure quickly
        stack = dilated_stack(2, page.exponential_dilations(row["depth"]))
        assert measured_receptive_field(stack, 2, row["rf_dilated"] + 4) == row["rf_dilated"]


def test_trading_stride_for_dilation_keeps_the_receptive_field(device):
    """DeepLab's atrous trick: same receptive field, four times as many output pixels."""
    strided, dilated = page.stride_rows()
    assert strided["rf"] == dilated["rf"]
    assert dilated["output"] == 2 * strided["output"]
    for row in (strided, dilated):
        model = nn.Sequential(*[nn.Conv2d(2, 2, k, s, d * (k - 1) // 2, d)
                                for k, s, d in row["layers"]]).to(device)
        y = model(torch.zeros(1, 2, page.STRIDE_INPUT, page.STRIDE_INPUT, device=device))
        assert y.shape[-1] == row["output"]
        assert measured_receptive_field(model, 2, page.STRIDE_INPUT) == row["rf"]


# --- gridding -----------------------------------------------------------------------------
def tap_offsets(dilations, kernel_size=3) -> set[int]:
    """Offsets (one dimension) reachable by picking one tap per layer: a sum set."""
    reach = {0}
    for d in dilations:
        reach = {r + (i - kernel_size // 2) * d for r in reach for i in range(kernel_size)}
    return reach


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(dilations=st.lists(st.integers(1, 6), min_size=1, max_size=4),
       kernel_size=st.sampled_from([1, 3, 5]))
def test_footprint_is_the_sum_set_of_the_taps(device, dilations, kernel_size):
    stack = dilated_stack(1, dilations, kernel_size).to(device)
    rf = F.receptive_field(conv_layer_specs(stack))
    size = rf + 4
    footprint = input_footprint(stack, 1, size) > 0
    centre = size // 2
    offsets = tap_offsets(dilations, kernel_size)
    expected = torch.zeros(size, size, dtype=torch.bool)
    for dy in offsets:
        for dx in offsets:
            expected[centre + dy, centre + dx] = True
    assert torch.equal(footprint, expected)
    span = max(offsets) - min(offsets) + 1
    assert footprint_holes(footprint.double()) == span**2 - len(offsets) ** 2
    # a common factor g > 1 of all dilations leaves holes: every offset is a multiple of g
    if kernel_size > 1 and math.gcd(*dilations) > 1:
        assert footprint_holes(footprint.double()) > 0


@pytest.mark.parametrize("d", [2, 3, 4])
def test_equal_dilations_leave_holes(device, d):
    stack = dilated_stack(1, [d, d, d]).to(device)
    rf = F.receptive_field(conv_layer_specs(stack))
    footprint = input_footprint(stack, 1, rf + 4)
    assert rf == 6 * d + 1
    assert int((footprint > 0).sum()) == 7 * 7      # as many pixels as three plain 3x3 layers
    assert footprint_holes(footprint) == rf**2 - 49


@pytest.mark.parametrize("dilations", [(1, 2, 3), (1, 2, 5), (1, 2, 4), (1, 2, 5, 1, 2, 5)])
def test_hybrid_dilations_leave_no_holes(device, dilations):
    stack = dilated_stack(1, dilations).to(device)
    rf = F.receptive_field(conv_layer_specs(stack))
    footprint = input_footprint(stack, 1, rf + 4)
    assert footprint_holes(footprint) == 0
    assert int((footprint > 0).sum()) == rf**2


def test_gridding_table_matches_the_sum_sets():
    for dilations in page.GRIDDING_CASES:
        case = page.gridding_case(dilations)
        offsets = tap_offsets(dilations)
        assert case["rf"] == case["rf_measured"] == max(offsets) - min(offsets) + 1
        assert case["used"] == len(offsets) ** 2
        assert case["holes"] == case["rf"] ** 2 - case["used"]


def rising_groups(max_layers=3, max_rate=8):
    for n in range(1, max_layers + 1):
        yield from itertools.combinations_with_replacement(range(1, max_rate + 1), n)


def has_holes(dilations, kernel_size=3) -> bool:
    offsets = tap_offsets(dilations, kernel_size)   # one dimension; the 2-D set is its square
    return len(offsets) < max(offsets) - min(offsets) + 1


def test_hdc_condition_is_exact_for_3x3_kernels():
    """For 3x3 kernels, HDC's condition holds exactly when a rising group leaves no hole."""
    groups = list(rising_groups())
    assert len(groups) == 164
    wrong = [d for d in groups if hdc_covers(d) == has_holes(d)]
    assert not wrong, wrong


def test_hdc_condition_is_sufficient_for_5x5_kernels():
    groups = list(rising_groups())
    assert not [d for d in groups if hdc_covers(d, 5) and has_holes(d, 5)]
    # and not necessary: the page names this group
    assert not hdc_covers((1, 1, 8), 5) and not has_holes((1, 1, 8), 5)


def test_no_common_factor_is_necessary_but_not_sufficient():
    for d in rising_groups():
        if math.gcd(*d) > 1:
            assert has_holes(d) and not hdc_covers(d)
    # the page's counter-examples: measured holes through the real stacks
    for d, holes in (((2, 3), 40), ((2, 3, 5), 80), ((1, 2, 9), 184)):
        assert math.gcd(*d) == 1 and page.gridding_case(d)["holes"] == holes
        assert not hdc_covers(d)


def test_hdc_refuses_falling_groups_and_bad_numbers():
    with pytest.raises(ValueError, match="must not decrease"):
        hdc_covers((5, 2, 1))
    with pytest.raises(ValueError, match="kernel_size"):
        hdc_covers((1, 2), 0)
    with pytest.raises(ValueError, match="dilation"):
        hdc_max_distances(())


def test_context_module_of_yu_and_koltun():
    assert page.context_module_dilations("en") == "1, 1, 2, 4, 8, 16, 1"
    assert page.context_module_rf("en") == "67×67"    # the paper's Table 1, last row


# --- the multi-dilation block -------------------------------------------------------------
@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(in_channels=st.integers(1, 6), out_channels=st.integers(1, 6),
       dilations=st.lists(st.integers(1, 4), min_size=1, max_size=4),
       kernel_size=st.sampled_from([1, 3, 5]), branch=st.one_of(st.none(), st.integers(1, 5)),
       bias=st.booleans(), size=st.integers(1, 12), batch=st.integers(1, 2))
def test_multi_dilation_block_shape_params_flops(device, in_channels, out_channels, dilations,
                                                 kernel_size, branch, bias, size, batch):
    block = MultiDilationBlock(in_channels, out_channels, dilations, kernel_size, branch,
                               bias).to(device)
    x = torch.randn(batch, in_channels, size, size, device=device)
    b = out_channels if branch is None else branch
    n = len(dilations)
    for d in dilations:   # every branch keeps the size, so they can be concatenated
        assert F.conv_output_size(size, kernel_size, padding=d * (kernel_size - 1) // 2,
                                  dilation=d) == size
    y = block(x)
    assert y.shape == (batch, out_channels, size, size)
    params = n * F.conv2d_params(in_channels, b, kernel_size, bias=bias) + F.conv2d_params(
        n * b, out_channels, 1, bias=bias)
    assert sum(p.numel() for p in block.parameters()) == params
    macs = n * F.conv2d_macs(in_channels, b, kernel_size, size, batch=batch) + F.conv2d_macs(
        n * b, out_channels, 1, size, batch=batch)
    assert flops(block, x) == 2 * macs


def test_multi_dilation_block_is_its_branches_concatenated_and_fused(device):
    torch.manual_seed(0)
    block = MultiDilationBlock(3, 5, dilations=(1, 2, 4), branch_channels=2).to(device)
    x = torch.randn(2, 3, 16, 16, device=device)
    by_hand = []
    for d, branch in zip((1, 2, 4), block.branches):
        z = torch.nn.functional.conv2d(x, branch.weight, branch.bias, padding=d, dilation=d)
        by_hand.append(torch.relu(z))
    expected = torch.nn.functional.conv2d(torch.cat(by_hand, 1), block.fuse.weight,
                                          block.fuse.bias)
    torch.testing.assert_close(block(x), expected)


def test_multi_dilation_block_sees_its_widest_branch(device):
    for dilations in [(1,), (1, 2, 4), (1, 6, 12)]:
        block = MultiDilationBlock(2, 3, dilations).to(device)
        span = F.effective_kernel_size(3, max(dilations))
        assert measured_receptive_field(block, 2, span + 4) == span


def test_block_numbers_on_the_page_match_torch():
    c = page.block_costs()
    block = MultiDilationBlock(**page.BLOCK)
    x = torch.zeros(1, page.BLOCK["in_channels"], page.BLOCK_SIZE, page.BLOCK_SIZE)
    assert tuple(block(x).shape) == c["shape"]
    assert sum(p.numel() for p in block.parameters()) == c["params"]
    assert flops(block, x) == 2 * c["macs"]
    single = nn.Conv2d(page.BLOCK["in_channels"], page.BLOCK["out_channels"], 3, padding=1)
    assert sum(p.numel() for p in single.parameters()) == c["single_params"]
    assert flops(single, x) == 2 * c["single_macs"]


# --- the probe itself ---------------------------------------------------------------------
def test_probe_leaves_the_model_untouched(device):
    torch.manual_seed(0)
    model = dilated_stack(3, [1, 2]).to(device)
    before = [p.detach().clone() for p in model.parameters()]
    measured_receptive_field(model, 3, 15)
    for b, p in zip(before, model.parameters()):
        assert torch.equal(b, p) and p.dtype == torch.float32 and p.device.type == device.type


def test_signed_weights_can_hide_connected_pixels():
    """Why the probe makes weights positive: with signed weights, paths can cancel exactly.

    Two layers with the kernel u u^T, u = (1, 2, -2): the centre pixel reaches the output
    through paths whose products sum to 2*1*(-2) + 2*2 = 0 along each axis.
    """
    u = torch.tensor([1.0, 2.0, -2.0])
    model = nn.Sequential(nn.Conv2d(1, 1, 3, padding=1, bias=False),
                          nn.Conv2d(1, 1, 3, padding=1, bias=False))
    with torch.no_grad():
        for conv in model:
            conv.weight.copy_(torch.outer(u, u).view(1, 1, 3, 3))   # (3, 3) -> (1, 1, 3, 3)
    x = torch.ones(1, 1, 9, 9, requires_grad=True)
    model(x)[0, 0, 4, 4].backward()
    naive = x.grad[0, 0] != 0
    assert not naive[4, 4] and int(naive.sum()) == 25 - 9   # centre row and column vanish
    assert int((input_footprint(model, 1, 9) > 0).sum()) == 25   # the probe sees all 25


@pytest.mark.parametrize("call, message", [
    (lambda: dilated_stack(0, [1]), "channels must be a positive integer, got 0"),
    (lambda: dilated_stack(4, []), "dilations must be a non-empty sequence"),
    (lambda: dilated_stack(4, 2), "dilations must be a non-empty sequence"),
    (lambda: dilated_stack(4, [1, 0]), "each dilation must be a positive integer, got 0"),
    (lambda: dilated_stack(4, [1], kernel_size=4), "kernel_size must be odd .* got 4"),
    (lambda: MultiDilationBlock(4, 4, dilations=()), "dilations must be a non-empty sequence"),
    (lambda: MultiDilationBlock(0, 4), "in_channels must be a positive integer, got 0"),
    (lambda: MultiDilationBlock(4, 4, branch_channels=0),
     "branch_channels must be a positive integer, got 0"),
    (lambda: MultiDilationBlock(4, 4, kernel_size=2), "kernel_size must be odd"),
    (lambda: measured_receptive_field(dilated_stack(1, [1, 2, 4]), 1, 15),
     "touches the border of the 15x15 input"),
    (lambda: conv_layer_specs(nn.Conv2d(1, 1, (3, 1))), "is not square"),
])
def test_bad_arguments_raise_clear_value_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_valid_tap_share_matches_a_convolution_of_ones(device):
    """Convolving ones with a ones kernel counts, per output pixel, the taps inside the map."""
    for size in (5, 33):
        for d in (1, 2, 6, 12, 18, 24, 32, 40):
            x = torch.ones(1, 1, size, size, dtype=torch.float64, device=device)
            w = torch.ones(1, 1, 3, 3, dtype=torch.float64, device=device)
            counts = torch.nn.functional.conv2d(x, w, padding=d, dilation=d)   # (1, 1, n, n)
            assert counts.shape[-1] == size
            assert page.valid_tap_share(size, d) == pytest.approx(counts.mean().item() / 9)

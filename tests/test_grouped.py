"""What the grouped-convolution page claims, checked against torch."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from snippets import formulas
from snippets.grouped import (
    ChannelShuffle,
    ResNeXtPaths,
    GlobalDepthwiseConv2d,
    block_diagonal_weight,
    channel_connectivity,
    channel_shuffle,
    channel_unshuffle,
    conv2d_group_by_group,
    grouped_conv2d,
)
from sitegen.pages import grouped as page
from tests.conftest import flops

# (in, out, kernel, stride, padding, dilation, groups, size)
CONFIGS = [
    (12, 6, 3, 1, 1, 1, 3, 9),      # the note's example: 2 kernels of 4 channels per group
    (8, 8, 3, 2, 1, 1, 2, 11),
    (16, 32, 1, 1, 0, 1, 4, 7),     # pointwise group conv, as in ShuffleNet
    (6, 12, (3, 5), 1, (1, 2), 2, 6, 10),
    (10, 5, 5, 3, 2, 1, 5, 13),
    (4, 4, 3, 1, 1, 1, 1, 6),       # G = 1 is the standard conv
]


@pytest.fixture(autouse=True)
def full_float32_convs():
    """cuDNN runs float32 convs in TF32 by default on Ampere and later GPUs (about three
    significant digits). The equivalences here are exact algebra, so compare in float32."""
    before = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32 = before


def weights(module) -> int:
    return sum(p.numel() for name, p in module.named_parameters() if name != "bias")


# --- grouped conv = G separate convs = a dense conv with a block-diagonal kernel --------------
@pytest.mark.parametrize("cin, cout, k, s, p, d, g, size", CONFIGS)
def test_grouped_conv_equals_dense_conv_with_block_diagonal_kernel(device, cin, cout, k, s, p, d,
                                                                   g, size):
    torch.manual_seed(0)
    conv = grouped_conv2d(cin, cout, k, stride=s, padding=p, dilation=d, groups=g).to(device)
    x = torch.randn(3, cin, size, size, device=device)
    dense = block_diagonal_weight(conv)
    assert dense.shape == (cout, cin, *conv.kernel_size)
    expected = F.conv2d(x, dense, conv.bias, s, p, d)        # a standard conv, groups=1
    torch.testing.assert_close(conv(x), expected, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(conv2d_group_by_group(x, conv.weight, conv.bias, s, p, d, g),
                               conv(x), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("cin, cout, k, s, p, d, g, size", CONFIGS)
def test_block_diagonal_kernel_is_zero_exactly_outside_the_groups(cin, cout, k, s, p, d, g, size):
    conv = grouped_conv2d(cin, cout, k, groups=g)
    dense = block_diagonal_weight(conv).detach()
    depth, per_group = cin // g, cout // g
    for n in range(cout):
        for c in range(cin):
            same_group = n // per_group == c // depth
            if same_group:
                assert torch.equal(dense[n, c], conv.weight[n, c % depth].detach())
            else:
                assert not dense[n, c].any()
    # the zeros are (C - C/G) * K * K per kernel, as the page says
    zeros = (dense == 0).sum().item()
    assert zeros == cout * (cin - depth) * dense.shape[2] * dense.shape[3]


def test_block_diagonal_weight_keeps_the_gradient_path():
    conv = grouped_conv2d(4, 4, 3, groups=2, bias=False)
    block_diagonal_weight(conv).sum().backward()
    assert torch.equal(conv.weight.grad, torch.ones_like(conv.weight))


@settings(max_examples=25, deadline=None)
@given(st.sampled_from([1, 2, 3, 4]), st.integers(1, 3), st.integers(1, 3),
       st.sampled_from([1, 3]), st.integers(3, 8))
def test_grouped_conv_equals_its_groups_run_separately(g, depth, per_group, k, size):
    torch.manual_seed(1)
    conv = grouped_conv2d(g * depth, g * per_group, k, padding=k // 2, groups=g)
    x = torch.randn(2, g * depth, size, size)
    torch.testing.assert_close(
        conv2d_group_by_group(x, conv.weight, conv.bias, 1, k // 2, 1, g), conv(x))
    torch.testing.assert_close(F.conv2d(x, block_diagonal_weight(conv), conv.bias, 1, k // 2),
                               conv(x), rtol=1e-4, atol=1e-5)


# --- costs: 1/G ------------------------------------------------------------------------------
@pytest.mark.parametrize("g", [1, 2, 4, 8, 16, 32])
def test_params_and_flops_are_one_over_g_of_the_standard_conv(device, g):
    standard = grouped_conv2d(32, 64, 3, padding=1).to(device)
    grouped = grouped_conv2d(32, 64, 3, padding=1, groups=g).to(device)
    x = torch.randn(2, 32, 10, 10, device=device)
    assert weights(grouped) * g == weights(standard)                 # exactly, bias aside
    assert grouped.bias.numel() == standard.bias.numel() == 64        # the bias does not shrink
    assert flops(grouped, x) * g == flops(standard, x)
    assert weights(grouped) == formulas.conv2d_params(32, 64, 3, groups=g, bias=False)
    assert flops(grouped, x) == 2 * formulas.conv2d_macs(32, 64, 3, 10, groups=g, batch=2)


def test_cost_table_matches_torch():
    rows = page.cost_table("en").splitlines()[2:]
    assert len(rows) == len(page.GROUPS)
    x = torch.randn(1, page.CHANNELS, page.SIZE, page.SIZE)
    for g, row in zip(page.GROUPS, rows):
        conv = nn.Conv2d(page.CHANNELS, page.CHANNELS, page.KERNEL, padding=page.KERNEL // 2,
                         groups=g, bias=False)
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert int(cells[3].replace(",", "")) == weights(conv)
        assert int(cells[4].replace(",", "")) * 2 == flops(conv, x)
        assert cells[5] == ("1" if g == 1 else f"1/{g}")


def test_famous_layers_table_matches_torch():
    rows = page.famous_table("en").splitlines()[2:]
    for (_, _, cin, cout, k, g, out), row in zip(page.FAMOUS, rows, strict=True):
        cells = [c.strip() for c in row.strip("|").split("|")]
        grouped = nn.Conv2d(cin, cout, k, groups=g, bias=False)
        dense = nn.Conv2d(cin, cout, k, bias=False)
        assert int(cells[2].replace(",", "")) == weights(grouped)
        assert int(cells[3].replace(",", "")) == weights(dense)
        assert cells[4] == f"1/{g}"


# --- G = C = N is a depthwise conv -----------------------------------------------------------
@pytest.mark.parametrize("channels, k, stride", [(1, 3, 1), (5, 3, 1), (8, 5, 2), (16, 1, 1)])
def test_groups_equal_to_channels_is_a_depthwise_conv(device, channels, k, stride):
    torch.manual_seed(2)
    conv = grouped_conv2d(channels, channels, k, stride=stride, padding=k // 2,
                          groups=channels).to(device)
    x = torch.randn(2, channels, 9, 9, device=device)
    assert conv.weight.shape == (channels, 1, k, k)                    # one K x K per channel
    # depthwise by definition: channel c is filtered by its own kernel, nothing else
    per_channel = torch.cat([
        F.conv2d(x[:, c:c + 1], conv.weight[c:c + 1], conv.bias[c:c + 1], stride, k // 2)
        for c in range(channels)], dim=1)
    torch.testing.assert_close(conv(x), per_channel, rtol=1e-4, atol=1e-5)
    dense = block_diagonal_weight(conv)[:, :, k // 2, k // 2]          # (C, C): a diagonal
    assert torch.equal(dense, torch.diag(torch.diagonal(dense)))


# --- GDC -------------------------------------------------------------------------------------
@pytest.mark.parametrize("channels, size", [(4, 7), (16, (3, 5)), (512, 7)])
def test_gdc_with_uniform_weights_is_global_average_pooling(device, channels, size):
    gdc = GlobalDepthwiseConv2d(channels, size).to(device)
    h, w = gdc.kernel_size
    x = torch.randn(3, channels, h, w, device=device)
    with torch.no_grad():
        gdc.weight.fill_(1 / (h * w))
    gap = F.adaptive_avg_pool2d(x, 1)
    assert gdc(x).shape == gap.shape == (3, channels, 1, 1)
    torch.testing.assert_close(gdc(x), gap)


def test_random_gdc_is_a_weighted_pooling_not_an_average(device):
    torch.manual_seed(3)
    gdc = GlobalDepthwiseConv2d(8, 7).to(device)
    x = torch.randn(4, 8, 7, 7, device=device)
    y = gdc(x)
    assert not torch.allclose(y, F.adaptive_avg_pool2d(x, 1), atol=1e-3)
    # ... and exactly the per-channel weighted sum sum_ij w[c,i,j] * x[c,i,j]
    weighted = (x * gdc.weight.squeeze(1)).sum(dim=(2, 3), keepdim=True)
    torch.testing.assert_close(y, weighted, rtol=1e-4, atol=1e-5)


def test_gdc_is_a_depthwise_conv_with_the_costs_the_page_gives():
    gdc = GlobalDepthwiseConv2d(page.GDC_CHANNELS, page.GDC_SIZE)
    assert gdc.groups == gdc.in_channels == gdc.out_channels == page.GDC_CHANNELS
    assert gdc.bias is None
    x = torch.randn(1, page.GDC_CHANNELS, page.GDC_SIZE, page.GDC_SIZE)
    expected = formulas.conv2d_params(page.GDC_CHANNELS, page.GDC_CHANNELS, page.GDC_SIZE,
                                      groups=page.GDC_CHANNELS, bias=False)
    assert weights(gdc) == expected
    assert flops(gdc, x) == 2 * expected          # one multiply-add per weight
    text = page.gdc_numbers("en")
    assert f"{expected:,} parameters" in text
    fc = nn.Linear(page.GDC_CHANNELS * page.GDC_SIZE**2, page.GDC_CHANNELS, bias=False)
    assert f"{fc.weight.numel():,} parameters" in text


@pytest.mark.parametrize("size", [6, 8, (7, 6)])
def test_gdc_refuses_a_map_of_another_size(size):
    gdc = GlobalDepthwiseConv2d(4, 7)
    h, w = (size, size) if isinstance(size, int) else size
    with pytest.raises(ValueError, match=f"built for 7x7 inputs, got {h}x{w}"):
        gdc(torch.randn(1, 4, h, w))


# --- channel shuffle -------------------------------------------------------------------------
@pytest.mark.parametrize("channels, groups", [(6, 2), (9, 3), (12, 3), (12, 4), (8, 1), (8, 8)])
def test_channel_shuffle_is_torchs_permutation_and_unshuffle_restores(device, channels, groups):
    x = torch.randn(2, channels, 4, 5, device=device)
    y = channel_shuffle(x, groups)
    torch.testing.assert_close(y, nn.ChannelShuffle(groups)(x), rtol=0, atol=0)
    torch.testing.assert_close(ChannelShuffle(groups)(x), y, rtol=0, atol=0)
    # a permutation of channels: each output channel is exactly one input channel, once
    order = channel_shuffle(torch.arange(channels).view(1, channels, 1, 1), groups).flatten()
    assert sorted(order.tolist()) == list(range(channels))
    assert torch.equal(y, x[:, order.to(device)])
    assert torch.equal(channel_unshuffle(y, groups), x)


@pytest.mark.parametrize("channels, groups", [(9, 3), (12, 3), (16, 4), (24, 2)])
def test_after_shuffle_every_group_holds_channels_from_every_group(channels, groups):
    per_group = channels // groups
    order = channel_shuffle(torch.arange(channels).view(1, channels, 1, 1), groups).flatten()
    source_group = order // per_group              # which group each channel came from
    for g in range(groups):
        received = source_group[g * per_group:(g + 1) * per_group]
        assert set(received.tolist()) == set(range(groups))
        # evenly: C/G channels from G groups, C/G^2 from each when it divides
        if per_group % groups == 0:
            assert torch.bincount(received, minlength=groups).tolist() == \
                [per_group // groups] * groups


def test_stacked_group_convs_isolate_channels_and_a_shuffle_connects_them(device):
    torch.manual_seed(4)
    first = grouped_conv2d(12, 12, 1, groups=3).to(device)
    second = grouped_conv2d(12, 12, 3, padding=1, groups=3).to(device)
    isolated = channel_connectivity(nn.Sequential(first, second), 12)
    block = torch.block_diag(*[torch.ones(4, 4, dtype=torch.bool)] * 3)
    assert torch.equal(isolated, block)               # group g only ever sees group g
    shuffled = channel_connectivity(nn.Sequential(first, ChannelShuffle(3), second), 12)
    assert shuffled.all()                             # every output sees every input
    assert torch.equal(channel_connectivity(first, 12), block)


def test_shuffle_costs_nothing(device):
    x = torch.randn(1, 12, 8, 8, device=device)
    layer = ChannelShuffle(3)
    assert sum(p.numel() for p in layer.parameters()) == 0
    assert flops(layer, x) == 0
    assert repr(layer) == "ChannelShuffle(groups=3)"


def test_channel_shuffle_passes_gradients_back_through_the_permutation():
    x = torch.randn(1, 6, 2, 2, requires_grad=True)
    upstream = torch.randn(1, 6, 2, 2)
    channel_shuffle(x, 3).backward(upstream)
    assert torch.equal(x.grad, channel_unshuffle(upstream, 3))


# --- bad arguments ---------------------------------------------------------------------------
@pytest.mark.parametrize("call, message", [
    (lambda: grouped_conv2d(10, 6, 3, groups=4),
     r"in_channels \(10\) must be divisible by groups \(4\)"),
    (lambda: grouped_conv2d(12, 6, 3, groups=4),
     r"out_channels \(6\) must be divisible by groups \(4\): every group needs the same"),
    (lambda: grouped_conv2d(12, 6, 3, groups=0), "groups must be a positive integer, got 0"),
    (lambda: grouped_conv2d(12, 6, 3, groups=1.5), "groups must be an integer, got 1.5"),
    (lambda: grouped_conv2d(0, 6, 3), "in_channels must be a positive integer, got 0"),
    (lambda: channel_shuffle(torch.randn(1, 8, 2, 2), 3),
     r"channels \(8\) must be divisible by groups \(3\)"),
    (lambda: channel_unshuffle(torch.randn(1, 8, 2, 2), 3),
     r"channels \(8\) must be divisible by groups \(3\)"),
    (lambda: channel_shuffle(torch.randn(1, 8, 2, 2), 0), "groups must be a positive integer"),
    (lambda: ChannelShuffle(-2), "groups must be a positive integer, got -2"),
    (lambda: GlobalDepthwiseConv2d(0, 7), "channels must be a positive integer, got 0"),
    (lambda: conv2d_group_by_group(torch.randn(1, 6, 4, 4), torch.randn(4, 3, 3, 3), groups=3),
     "cannot split 6 input channels and 4 kernels of depth 3 into 3 groups"),
    (lambda: conv2d_group_by_group(torch.randn(1, 6, 4, 4), torch.randn(6, 3, 3, 3), groups=0),
     "groups must be a positive integer, got 0"),
])
def test_bad_arguments_raise_clear_value_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_torch_agrees_those_group_counts_are_invalid():
    with pytest.raises(ValueError):
        nn.Conv2d(10, 6, 3, groups=4)
    with pytest.raises(RuntimeError):
        nn.ChannelShuffle(3)(torch.randn(1, 8, 2, 2))


@pytest.mark.parametrize("cardinality, width", [(1, 3), (4, 2), (32, 4)])
def test_resnext_paths_equal_one_grouped_conv(device, cardinality, width):
    """ResNeXt's form (a), summed bottleneck paths, equals form (c) with a grouped 3x3."""
    torch.manual_seed(cardinality)
    paths = ResNeXtPaths(16, 24, cardinality, width).to(device, torch.float64)
    grouped = paths.to_grouped().to(device, torch.float64)
    x = torch.randn(2, 16, 7, 7, device=device, dtype=torch.float64)
    torch.testing.assert_close(paths(x), grouped(x))
    assert grouped[2].groups == cardinality
    # same weights, rearranged: the parameter counts agree
    assert sum(p.numel() for p in paths.parameters()) == sum(p.numel() for p in grouped.parameters())
# --- pointwise group convolution and the ShuffleNet v1 unit (arXiv:1707.01083) --------------
from snippets.grouped import (SHUFFLENET_V1_CHANNELS, ShuffleUnit,  # noqa: E402
                              conv2d_group_by_group, group_conv_memory_access,
                              pointwise_macs_share, shufflenet_unit_macs, shufflenet_v1)


def unit_by_hand(unit: ShuffleUnit, x: torch.Tensor) -> torch.Tensor:
    """The unit spelled out: each grouped conv as G separate convs, eval-mode BN by formula."""
    def bn(y, m):
        scale = m.weight / torch.sqrt(m.running_var + m.eps)
        return (y - m.running_mean[:, None, None]) * scale[:, None, None] + m.bias[:, None, None]

    y = conv2d_group_by_group(x, unit.reduce.weight, groups=unit.reduce.groups)
    y = torch.relu(bn(y, unit.bn1))
    b, c, h, w = y.shape
    g = unit.groups
    y = torch.stack([y[:, i * (c // g):(i + 1) * (c // g)] for i in range(g)], dim=2)
    y = y.reshape(b, c, h, w)                      # channel i of group j -> i * g + j
    y = conv2d_group_by_group(y, unit.depthwise.weight, stride=unit.stride, padding=1,
                              groups=c)
    y = bn(y, unit.bn2)
    y = bn(conv2d_group_by_group(y, unit.expand.weight, groups=g), unit.bn3)
    if unit.stride == 1:
        return torch.relu(x + y)
    pooled = F.avg_pool2d(x, 3, 2, 1)
    return torch.relu(torch.cat([pooled, y], dim=1))


@pytest.mark.parametrize("c_in, c_out, stride, groups, first", [
    (240, 240, 1, 3, 3), (240, 480, 2, 3, 3), (24, 240, 2, 3, 1), (200, 200, 1, 2, 2),
    (384, 768, 2, 8, 8), (16, 16, 1, 1, 1)])
def test_shuffle_unit_shapes_and_per_group_equality(device, c_in, c_out, stride, groups, first):
    torch.manual_seed(0)
    unit = ShuffleUnit(c_in, c_out, stride=stride, groups=groups, first_groups=first)
    for m in unit.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5), m.running_var.uniform_(0.5, 2)
            nn.init.uniform_(m.weight, 0.5, 1.5), nn.init.uniform_(m.bias, -0.5, 0.5)
    unit = unit.to(device).eval().double()
    x = torch.randn(2, c_in, 9, 9, dtype=torch.float64, device=device)
    with torch.no_grad():
        y = unit(x)
        assert y.shape == (2, c_out, 9 if stride == 1 else 5, 9 if stride == 1 else 5)
        torch.testing.assert_close(y, unit_by_hand(unit, x))


def test_shuffle_unit_cost_formula_matches_flop_counter():
    for g in page.UNIT_GROUPS:
        unit = ShuffleUnit(page.UNIT_C, page.UNIT_C, groups=g, bottleneck_channels=page.UNIT_M)
        x = torch.zeros(1, page.UNIT_C, page.UNIT_SIZE, page.UNIT_SIZE)
        measured = flops(unit.eval(), x) // 2
        assert measured == shufflenet_unit_macs(page.UNIT_C, page.UNIT_M, page.UNIT_SIZE,
                                                page.UNIT_SIZE, groups=g)
        pointwise = flops(unit.reduce, x) // 2 + flops(
            unit.expand, torch.zeros(1, page.UNIT_M, page.UNIT_SIZE, page.UNIT_SIZE)) // 2
        assert pointwise / measured == pytest.approx(
            pointwise_macs_share(page.UNIT_C, page.UNIT_M, groups=g))
    rows = page.unit_rows()
    assert [r["share"] for r in rows] == sorted((r["share"] for r in rows), reverse=True)
    assert rows[0]["share"] > 0.99


def test_shufflenet_v1_reproduces_table1():
    """Multiply-adds without the FC layer round to the paper's Table 1 for every g."""
    for row in page.shufflenet_rows():
        assert int(row["without_fc"] / 1e6 + 0.5) == row["paper"], row
        net = shufflenet_v1(row["groups"])
        assert sum(p.numel() for p in net.parameters()) == row["params"]
        stages = [m for m in net if isinstance(m, ShuffleUnit)]
        assert len(stages) == 16
        assert stages[0].reduce.groups == 1 and stages[1].reduce.groups == row["groups"]
        assert [stages[i].expand.out_channels + (stages[i].stride == 2) * stages[i].reduce.in_channels
                for i in (0, 4, 12)] == list(SHUFFLENET_V1_CHANNELS[row["groups"]])
    assert "all five" in page.shufflenet_summary("en")


def test_shufflenet_v1_forward_shapes():
    net = shufflenet_v1(8).eval()
    x = torch.zeros(2, 3, 224, 224)
    with torch.no_grad():
        feats = net[:-3](x)
        assert feats.shape == (2, 1536, 7, 7)
        assert net(x).shape == (2, 1000)


def test_memory_access_cost_counts_the_tensors_read_and_written():
    for r in page.mac_rows():
        c, g, n = r["channels"], r["groups"], page.MAC_SIZE
        conv = nn.Conv2d(c, c, 1, groups=g, bias=False)
        x = torch.zeros(1, c, n, n)
        assert r["memory"] == x.numel() + conv(x).numel() + conv.weight.numel()
        assert r["macs"] == flops(conv, x) // 2
    rows = page.mac_rows()
    assert [r["memory"] for r in rows] == sorted(r["memory"] for r in rows)
    assert max(r["macs"] for r in rows) / min(r["macs"] for r in rows) < 1.03


def test_shufflenet_arguments():
    with pytest.raises(ValueError, match="groups must be one of"):
        shufflenet_v1(5)
    with pytest.raises(ValueError, match="must equal out_channels"):
        ShuffleUnit(24, 48, stride=1)
    with pytest.raises(ValueError, match="must exceed in_channels"):
        ShuffleUnit(48, 48, stride=2)
    with pytest.raises(ValueError, match="stride must be 1 or 2"):
        ShuffleUnit(48, 48, stride=3)
    with pytest.raises(ValueError, match="divisible by groups"):
        ShuffleUnit(240, 240, groups=7)
    with pytest.raises(ValueError, match="divisible by groups"):
        shufflenet_unit_macs(240, 60, 7, 7, groups=7)
    with pytest.raises(ValueError, match="divisible by groups"):
        group_conv_memory_access(7, 7, 10, 10, groups=3)
    with pytest.raises(ValueError, match="bottleneck_channels"):
        pointwise_macs_share(10, 0)

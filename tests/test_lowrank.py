"""Spatially separable, low-rank and flattened convolution: every equality the page claims,
against torch's own conv2d, and the cost formulas against FlopCounterMode."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from sitegen.pages import lowrank as page
from snippets.dilated import measured_receptive_field
from snippets.lowrank import (SOBEL_X, FlattenedConv2d, SpatiallySeparableConv2d,
                              conv2d_rank1, example_kernels, flatten_rank1,
                              flattened_macs, low_rank_error, low_rank_kernel,
                              low_rank_separable, separate_rank1, spatially_separable_macs)
from snippets.separable import fuse_separable_kernel
from tests.conftest import flops

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
D = torch.float64


def conv_case(draw, channels=st.integers(1, 4)):
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    ph, pw = draw(st.integers(0, 3)), draw(st.integers(0, 3))
    h = draw(st.integers(dh * (kh - 1) + 1, 14))
    w = draw(st.integers(dw * (kw - 1) + 1, 14))
    return dict(k=(kh, kw), s=(sh, sw), d=(dh, dw), p=(ph, pw), hw=(h, w),
                c=draw(channels))


# --- rank 1 ---------------------------------------------------------------------------------
@SETTINGS
@given(data=st.data())
def test_kx1_then_1xk_equals_one_kxk_conv(device, data):
    case = conv_case(data.draw)
    c, (h, w) = case["c"], case["hw"]
    g = torch.Generator().manual_seed(data.draw(st.integers(0, 2**16)))
    u = torch.randn(case["k"][0], generator=g, dtype=D).to(device)
    v = torch.randn(case["k"][1], generator=g, dtype=D).to(device)
    x = torch.randn(2, c, h, w, generator=g, dtype=D).to(device)
    kernel = torch.outer(u, v).expand(c, 1, -1, -1)
    expected = F.conv2d(x, kernel, stride=case["s"], padding=case["p"],
                        dilation=case["d"], groups=c)
    got = conv2d_rank1(x, u, v, stride=case["s"], padding=case["p"], dilation=case["d"])
    torch.testing.assert_close(got, expected)


def test_sobel_is_a_column_times_a_row():
    u, v = separate_rank1(SOBEL_X)
    torch.testing.assert_close(torch.outer(u, v), SOBEL_X)
    torch.testing.assert_close(u / u[0], torch.tensor([1.0, 2.0, 1.0]))
    torch.testing.assert_close(v / v[2], torch.tensor([-1.0, 0.0, 1.0]))
    x = torch.randn(1, 3, 20, 20)
    torch.testing.assert_close(conv2d_rank1(x, u, v, padding=1),
                               F.conv2d(x, SOBEL_X.expand(3, 1, 3, 3), padding=1, groups=3),
                               rtol=1e-5, atol=1e-5)
    assert page.sobel_factors("en") == "$u = (1, 2, 1)^\\top$ and $v = (-1, 0, 1)$"


def test_rank1_cost_table_matches_flop_counter():
    for k in page.KERNELS:
        u, v = torch.ones(k), torch.ones(k)
        x = torch.zeros(1, 1, 9, 9)
        with torch.utils.flop_counter.FlopCounterMode(display=False) as counter:
            conv2d_rank1(x, u, v, padding=k // 2)
        assert counter.get_total_flops() // 2 == spatially_separable_macs(1, 1, k, 9,
                                                                           padding=k // 2)
        assert spatially_separable_macs(1, 1, k, 1, padding=k // 2) == 2 * k
    assert "| 7×7 | 49 | 14 |" in page.rank1_cost_table("zh")


def test_separate_rank1_refuses_other_kernels():
    with pytest.raises(ValueError, match="not rank 1"):
        separate_rank1(page.LAPLACIAN)
    with pytest.raises(ValueError, match="all zeros"):
        separate_rank1(torch.zeros(3, 3))
    with pytest.raises(ValueError, match="2-D"):
        separate_rank1(torch.ones(3))
    with pytest.raises(TypeError):
        separate_rank1([[1.0]])


# --- SVD, Eckart-Young ----------------------------------------------------------------------
@SETTINGS
@given(kh=st.integers(1, 7), kw=st.integers(1, 7), seed=st.integers(0, 2**16))
def test_svd_error_equals_the_discarded_singular_values(kh, kw, seed):
    g = torch.Generator().manual_seed(seed)
    kernel = torch.randn(kh, kw, generator=g, dtype=D)
    s = torch.linalg.svdvals(kernel)
    for r in range(1, min(kh, kw) + 1):
        approx = low_rank_kernel(kernel, r)
        assert int(torch.linalg.matrix_rank(approx, rtol=1e-10)) <= r
        err = float((kernel - approx).norm())
        assert err == pytest.approx(low_rank_error(kernel, r), abs=1e-10)
        assert err == pytest.approx(float(s[r:].square().sum().sqrt()), abs=1e-10)
        if r < min(kh, kw):   # spectral norm: the first discarded value
            assert float(torch.linalg.matrix_norm(kernel - approx, 2)) == pytest.approx(
                float(s[r]), abs=1e-10)
        # Eckart-Young: random rank-r kernels near the optimum are never closer
        for _ in range(5):
            a = torch.randn(kh, r, generator=g, dtype=D) * 0.05
            b = torch.randn(r, kw, generator=g, dtype=D) * 0.05
            U, S, Vh = torch.linalg.svd(kernel)
            other = (U[:, :r] * S[:r] + a) @ (Vh[:r] + b)
            assert float((kernel - other).norm()) >= err - 1e-12


def test_the_approximation_is_a_sum_of_separable_convs():
    kernel = example_kernels(7)["disk"]
    x = torch.randn(1, 1, 30, 30, dtype=D)
    U, S, Vh = torch.linalg.svd(kernel)
    for r in (1, 2, 3):
        total = sum(conv2d_rank1(x, U[:, i] * S[i], Vh[i], padding=3) for i in range(r))
        torch.testing.assert_close(total, F.conv2d(x, low_rank_kernel(kernel, r)[None, None],
                                                   padding=3))
    torch.testing.assert_close(low_rank_kernel(kernel, 3), kernel)


def test_example_kernels_have_the_ranks_the_page_says():
    ranks = {n: int(torch.linalg.matrix_rank(k, rtol=1e-8)) for n, k in example_kernels().items()}
    assert ranks == {"gaussian": 1, "log": 2, "gabor": 2, "disk": 3, "random": 7}
    assert page.first_rank_below("disk", 0.05) == 3
    table = page.kernel_table("en")
    assert table.count("\n") == 6 and "| Gaussian | 1.000 | 1 | 0.0% |" in table


def test_low_rank_arguments():
    with pytest.raises(ValueError, match="rank must be at most"):
        low_rank_kernel(torch.ones(3, 3), 4)
    with pytest.raises(ValueError, match="positive"):
        low_rank_error(torch.ones(3, 3), 0)
    with pytest.raises(TypeError):
        low_rank_kernel(torch.ones(3, 3), 1.5)


# --- spatially separable module and Jaderberg's scheme 2 -----------------------------------
@SETTINGS
@given(data=st.data())
def test_linear_pair_equals_the_conv_with_its_fused_kernel(device, data):
    case = conv_case(data.draw)
    mid, out = data.draw(st.integers(1, 5)), data.draw(st.integers(1, 4))
    conv = SpatiallySeparableConv2d(case["c"], out, case["k"], stride=case["s"],
                                    padding=case["p"], dilation=case["d"],
                                    mid_channels=mid).to(device, D)
    x = torch.randn(2, case["c"], *case["hw"], dtype=D, device=device)
    expected = F.conv2d(x, conv.fused_weight(), conv.horizontal.bias, stride=case["s"],
                        padding=case["p"], dilation=case["d"])
    torch.testing.assert_close(conv(x), expected)


@pytest.mark.parametrize("stride, padding, size", [(1, 3, 17), (2, 3, 17), (1, 0, 12), (3, 1, 20)])
def test_spatially_separable_macs_match_flop_counter(stride, padding, size):
    conv = SpatiallySeparableConv2d(8, 12, 7, stride=stride, padding=padding, mid_channels=5,
                                    bias=False)
    assert flops(conv, torch.zeros(1, 8, size, size)) == 2 * spatially_separable_macs(
        8, 12, 7, size, mid_channels=5, stride=stride, padding=padding)


def test_inception_factorisation_keeps_the_7x7_receptive_field_but_is_not_linear():
    block = SpatiallySeparableConv2d(4, 4, 7, padding=3, activation=True).eval()
    assert measured_receptive_field(block, 4, 21) == 7
    assert measured_receptive_field(nn.Conv2d(4, 4, 7, padding=3), 4, 21) == 7
    with torch.no_grad():
        block.between[0].running_mean.uniform_(-1, 1)
        x, y = torch.randn(2, 1, 4, 15, 15).unbind(0)
        assert not torch.allclose(block(x + y), block(x) + block(y) - block(0 * x), atol=1e-4)
    with pytest.raises(ValueError, match="not one linear conv"):
        block.fused_weight()
    r = page.inception_costs()
    c, n = page.INCEPTION["channels"], page.INCEPTION["size"]
    full = nn.Conv2d(c, c, 7, padding=3, bias=False)
    fact = SpatiallySeparableConv2d(c, c, 7, padding=3, bias=False)
    x = torch.zeros(1, c, n, n)
    assert flops(full, x) == 2 * r["full"] and flops(fact, x) == 2 * r["fact"]
    assert sum(p.numel() for p in fact.parameters()) == r["fact_params"]
    assert sum(p.numel() for p in full.parameters()) == r["full_params"]


@pytest.mark.parametrize("c_in, c_out, k", [(4, 6, 3), (3, 2, 5), (8, 8, 3)])
def test_scheme2_error_is_the_svd_tail_of_the_reshaped_weight(c_in, c_out, k):
    w = torch.randn(c_out, c_in, k, k, dtype=D, generator=torch.Generator().manual_seed(1))
    M = w.permute(1, 2, 0, 3).reshape(c_in * k, c_out * k)
    s = torch.linalg.svdvals(M)
    x = torch.randn(2, c_in, 11, 11, dtype=D)
    for r in range(1, min(c_in * k, c_out * k) + 1):
        conv = low_rank_separable(w, r, padding=k // 2)
        fused = conv.fused_weight().detach()
        assert float((w - fused).norm()) == pytest.approx(float(s[r:].square().sum().sqrt()),
                                                          abs=1e-9)
        torch.testing.assert_close(conv(x), F.conv2d(x, fused, padding=k // 2))
    torch.testing.assert_close(low_rank_separable(w, min(c_in, c_out) * k).fused_weight(), w)
    with pytest.raises(ValueError, match="rank must be at most"):
        low_rank_separable(w, min(c_in * k, c_out * k) + 1)


def test_jaderberg_table_rows():
    rows = page.jaderberg_rows()
    assert rows[-1]["error"] == pytest.approx(0, abs=1e-9)
    assert [r["rank"] for r in rows] == list(page.JADERBERG["ranks"])
    errors = [r["error"] for r in rows]
    assert errors == sorted(errors, reverse=True)
    k, n = page.JADERBERG["kernel"], page.JADERBERG["size"]
    conv = SpatiallySeparableConv2d(64, 64, k, padding=1, mid_channels=32, bias=False)
    assert flops(conv, torch.zeros(1, 64, n, n)) == 2 * rows[3]["macs"]
    assert page.jaderberg_break_even("en") == "$r < 96$"
    # at the break-even rank the pair costs exactly the full conv
    assert rows[5]["rank"] == 96 and rows[5]["ratio"] == pytest.approx(1.0)


# --- flattened ------------------------------------------------------------------------------
@SETTINGS
@given(data=st.data())
def test_flattened_equals_the_3d_conv_for_rank1_filters(device, data):
    case = conv_case(data.draw)
    n = data.draw(st.integers(1, 4))
    g = torch.Generator().manual_seed(data.draw(st.integers(0, 2**16)))
    a = torch.randn(n, case["c"], generator=g, dtype=D)
    b = torch.randn(n, case["k"][0], generator=g, dtype=D)
    c = torch.randn(n, case["k"][1], generator=g, dtype=D)
    weight = torch.einsum("ni,ny,nx->niyx", a, b, c)
    conv = FlattenedConv2d(case["c"], n, case["k"], stride=case["s"], padding=case["p"],
                           dilation=case["d"]).to(dtype=D)
    a2, b2, c2 = flatten_rank1(weight)
    with torch.no_grad():
        conv.lateral.weight.copy_(a2[:, :, None, None])
        conv.vertical.weight.copy_(b2[:, None, :, None])
        conv.horizontal.weight.copy_(c2[:, None, None, :])
    conv = conv.to(device)
    torch.testing.assert_close(conv.fused_weight().cpu(), weight)
    x = torch.randn(2, case["c"], *case["hw"], dtype=D, generator=g).to(device)
    expected = F.conv2d(x, weight.to(device), conv.horizontal.bias, stride=case["s"],
                        padding=case["p"], dilation=case["d"])
    torch.testing.assert_close(conv(x), expected)


def test_flatten_rank1_refuses_other_filters():
    w = torch.randn(3, 4, 3, 3, dtype=D)
    with pytest.raises(ValueError, match="not rank 1 across channels"):
        flatten_rank1(w)
    spatial_rank2 = torch.einsum("ni,nyx->niyx", torch.randn(2, 4, dtype=D),
                                 page.LAPLACIAN.double().expand(2, 3, 3))
    with pytest.raises(ValueError, match="not rank 1 in space"):
        flatten_rank1(spatial_rank2)


@pytest.mark.parametrize("stride, padding, size", [(1, 1, 32), (2, 1, 15), (1, 0, 9)])
def test_flattened_macs_match_flop_counter(stride, padding, size):
    conv = FlattenedConv2d(16, 24, 3, stride=stride, padding=padding, bias=False)
    assert flops(conv, torch.zeros(1, 16, size, size)) == 2 * flattened_macs(
        16, 24, 3, size, stride=stride, padding=padding)
    full = nn.Conv2d(64, 64, 3, padding=1, bias=False)
    assert "37,748,736" in page.flattened_sentence("en")
    assert flops(full, torch.zeros(1, 64, 32, 32)) == 2 * 37_748_736


# --- spatially separable is not depthwise separable -----------------------------------------
def test_the_two_separabilities_are_different_factorisations():
    g = torch.Generator().manual_seed(0)
    # depthwise separable: W[n, m] = P[n, m] D[m]; the D[m] are generic, not rank 1
    D_ = torch.randn(4, 1, 3, 3, generator=g, dtype=D)
    P = torch.randn(6, 4, 1, 1, generator=g, dtype=D)
    W = fuse_separable_kernel(D_, P)
    ranks = {int(torch.linalg.matrix_rank(W[n, m])) for n in range(6) for m in range(4)}
    assert ranks == {3}                       # not spatially separable
    # spatially separable (every slice rank 1) but mixing channels freely
    u = torch.randn(6, 4, 3, generator=g, dtype=D)
    v = torch.randn(6, 4, 3, generator=g, dtype=D)
    S = torch.einsum("nmy,nmx->nmyx", u, v)
    assert {int(torch.linalg.matrix_rank(S[n, m])) for n in range(6) for m in range(4)} == {1}
    # depthwise separable needs every slice S[:, m] to be a multiple of one kernel
    assert int(torch.linalg.matrix_rank(S[:, 0].reshape(6, 9))) > 1


def test_constructor_arguments():
    with pytest.raises(ValueError, match="in_channels"):
        SpatiallySeparableConv2d(0, 4, 3)
    with pytest.raises(TypeError, match="kernel_size"):
        SpatiallySeparableConv2d(4, 4, 3.0)
    with pytest.raises(ValueError, match="padding"):
        FlattenedConv2d(4, 4, 3, padding=-1)
    with pytest.raises(ValueError, match="kernel_size"):
        FlattenedConv2d(4, 4, (3, 3, 3))
    with pytest.raises(ValueError, match="larger than the padded input"):
        spatially_separable_macs(4, 4, 7, 5)
    with pytest.raises(ValueError, match="mid_channels"):
        SpatiallySeparableConv2d(4, 4, 3, mid_channels=0)

"""Bad input, everywhere: every public function and class of ``snippets``, called with a bad
value for one argument at a time, raises ``ValueError`` (or ``TypeError`` for a wrong type)
whose message names that argument — at call time, never another exception, never a result.

Each public name has one valid call in ``VALID``; the test asserts that the valid call works,
then replaces each argument in turn with values drawn by hypothesis from outside the argument's
domain. The domain comes from the argument's name (``in_channels`` is a positive integer,
``padding`` zero or more, ``bias`` a bool, …); an argument whose name says nothing is listed in
``DOMAINS`` by hand. A new public name without a valid call fails
``test_every_public_name_has_a_valid_call``: new modules join this test when they land.
"""

from __future__ import annotations

import inspect
import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

import snippets

# --- the domain of each argument, by name -----------------------------------------------------
POSITIVE = {"in_channels", "out_channels", "kernel_size", "stride", "dilation", "groups",
            "num_kernels", "reduction", "size", "batch", "channels", "scale_factor",
            "input_size", "output_size", "height", "width", "branch_channels", "cardinality",
            "num_experts", "kernel_num", "mid_channels", "bottleneck_channels", "first_groups",
            "num_classes", "rank", "n", "tile", "feature_size",
            "offset_groups", "t", "d", "length"}
NON_NEGATIVE = {"padding", "output_padding"}
BOOLEAN = {"bias", "norm", "activation", "cuda_graph", "modulated", "ceil_mode", "fused"}
POSITIVE_FLOAT = {"temperature", "start", "end", "anneal_epochs", "rtol", "alpha", "rho",
                  "mask_scale"}
NON_NEGATIVE_FLOAT = {"epoch"}
TENSOR = {"x", "weight", "kernel", "footprint", "depthwise_weight", "pointwise_weight", "u", "v",
          "input", "offset", "mask"}

not_int = st.one_of(st.booleans(), st.floats(allow_nan=True, allow_infinity=True),
                    st.text(max_size=2), st.just([]))
not_number = st.one_of(st.booleans(), st.text(max_size=2), st.just([]), st.just(None))
BAD = {
    "positive": st.one_of(st.integers(max_value=0), not_int, st.just(None)),
    "non_negative": st.one_of(st.integers(max_value=-1), not_int, st.just(None)),
    "boolean": st.one_of(st.integers(), st.text(max_size=3), st.floats(), st.just(None)),
    "positive_float": st.one_of(st.floats(max_value=0), st.just(math.nan), st.just(math.inf),
                                not_number),
    "non_negative_float": st.one_of(st.floats(max_value=-1e-9), st.just(math.nan),
                                    st.just(math.inf), not_number),
}


# Arguments whose name means something else in one function.
OVERRIDES = {("input_dependence", "t"): "non_negative",    # a time step, 0 included
             ("randomize_batchnorm", "seed"): "non_negative"}


def domain(name: str, annotation=None, default=None) -> str | None:
    if str(annotation).startswith("torch.Tensor") or (name == "bias" and default is None):
        return "tensor"          # bias is a tensor in the functional forms, a bool in layers
    for kind, names in (("positive", POSITIVE), ("non_negative", NON_NEGATIVE),
                        ("boolean", BOOLEAN), ("positive_float", POSITIVE_FLOAT),
                        ("non_negative_float", NON_NEGATIVE_FLOAT), ("tensor", TENSOR)):
        if name in names:
            return kind
    return None


# --- one valid call per public name ------------------------------------------------------------
def t(*shape):
    return torch.randn(*shape)


VALID = {
    "conv_output_size": ((8, 3), {}),
    "conv_transpose_output_size": ((4, 3), {"stride": 2, "padding": 1, "output_padding": 1}),
    "conv_transpose_output_padding_range": ((4, 3), {"stride": 2, "padding": 1}),
    "effective_kernel_size": ((3,), {"dilation": 2}),
    "conv2d_params": ((4, 8, 3), {"groups": 2, "bias": True}),
    "conv2d_macs": ((4, 8, 3, 5), {"groups": 2, "batch": 2}),
    "conv_transpose2d_macs": ((4, 8, 3, 5), {"groups": 2, "batch": 2}),
    "separable_params": ((4, 8, 3), {}),
    "separable_macs": ((4, 8, 3, 5), {"batch": 2}),
    "separable_cost_ratio": ((8, 3), {}),
    "multiplied_channels": ((32,), {"alpha": 0.5}),
    "separable_multiplier_macs": ((32, 64, 3, 14), {"alpha": 0.5, "rho": 0.5}),
    "dynamic_attention_hidden": ((16,), {"reduction": 4}),
    "dynamic_conv2d_params": ((4, 8, 3), {"groups": 2, "bias": True, "num_kernels": 2,
                                          "reduction": 2}),
    "dynamic_conv2d_macs": ((4, 8, 3, 5), {"groups": 2, "bias": True, "num_kernels": 2,
                                           "reduction": 2, "batch": 2}),
    "receptive_field": (([(3, 1, 1), (3, 2, 1)],), {}),
    "DepthwiseSeparableConv2d": ((4, 8), {"kernel_size": 3, "stride": 1, "dilation": 1,
                                          "bias": False, "norm": True, "activation": True}),
    "fuse_separable_kernel": ((t(4, 1, 3, 3), t(8, 4, 1, 1)), {}),
    "fuse_separable_bias": ((t(8, 4, 1, 1),), {}),
    "NoteBlock": ((4, 8), {"stride": 1}),
    "mobilenet_v1_features": ((), {}),
    "grouped_conv2d": ((4, 8, 3), {"stride": 1, "padding": 1, "dilation": 1, "groups": 2,
                                   "bias": True}),
    "conv2d_group_by_group": ((t(1, 4, 6, 6), t(8, 2, 3, 3)), {"stride": 1, "padding": 1,
                                                              "dilation": 1, "groups": 2}),
    "block_diagonal_weight": ((nn.Conv2d(4, 8, 3, groups=2),), {}),
    "channel_shuffle": ((t(1, 4, 2, 2), 2), {}),
    "channel_unshuffle": ((t(1, 4, 2, 2), 2), {}),
    "ChannelShuffle": ((2,), {}),
    "ResNeXtPaths": ((8, 8), {"cardinality": 2, "width": 2}),
    "GlobalDepthwiseConv2d": ((4, 3), {"bias": False}),
    "channel_connectivity": ((nn.Conv2d(4, 4, 1, groups=2), 4), {"size": 3}),
    "conv_matrix": ((4, t(3, 3)), {"stride": 1, "padding": 0, "dilation": 1}),
    "conv_transpose2d_by_zero_insertion": ((t(1, 4, 3, 3), t(4, 2, 3, 3)),
                                           {"stride": 2, "padding": 1, "output_padding": 1,
                                            "groups": 2, "dilation": 1}),
    "overlap_counts": ((6, 3), {"stride": 2, "padding": 1, "output_padding": 1}),
    "ResizeConv2d": ((4, 8), {"kernel_size": 3, "scale_factor": 2, "groups": 2, "bias": True}),
    "dilated_stack": ((2, [1, 2]), {"kernel_size": 3}),
    "MultiDilationBlock": ((4, 8), {"dilations": (1, 2), "kernel_size": 3, "branch_channels": 2,
                                    "bias": True}),
    "conv_layer_specs": ((nn.Sequential(nn.Conv2d(1, 1, 3)),), {}),
    "input_footprint": ((nn.Sequential(nn.Conv2d(1, 1, 3)), 1, 7), {}),
    "measured_receptive_field": ((nn.Sequential(nn.Conv2d(1, 1, 3)), 1, 7), {}),
    "footprint_holes": ((torch.ones(3, 3),), {}),
    "hdc_max_distances": (([1, 2, 5],), {}),
    "hdc_covers": (([1, 2, 5],), {"kernel_size": 3}),
    "KernelAttention": ((8,), {"num_kernels": 2, "reduction": 2, "temperature": 2.0}),
    "DynamicConv2d": ((4, 8, 3), {"stride": 1, "padding": 1, "dilation": 1, "groups": 2,
                                  "bias": True, "num_kernels": 2, "reduction": 2,
                                  "temperature": 2.0}),
    "dynamic_conv2d_loop": ((snippets.DynamicConv2d(4, 8, 3), t(1, 4, 5, 5)), {}),
    "temperature_schedule": ((3.0,), {"anneal_epochs": 10, "start": 30.0, "end": 1.0}),
    "set_temperature": ((nn.Sequential(snippets.DynamicConv2d(4, 4, 3)), 2.0), {}),
    "CalculatorInputs": ((), {"batch": 1, "height": 8, "width": 8, "in_channels": 4,
                              "out_channels": 8, "kernel_size": 3, "stride": 1, "padding": 1,
                              "dilation": 1, "groups": 2, "output_padding": 0,
                              "num_kernels": 2, "reduction": 2, "bias": False}),
    "LayerCost": (((1, 8, 8, 8), 10, 100), {}),
    "calculator_rows": ((snippets.CalculatorInputs(),), {}),
    "cost_ratios": ((snippets.LayerCost((1, 8, 8, 8), 10, 100),
                     snippets.LayerCost((1, 8, 8, 8), 20, 200)), {}),
}
VALID.update({
    # dynamic family
    "condconv2d_params": ((4, 8, 3), {"groups": 2, "bias": True, "num_experts": 2}),
    "condconv2d_macs": ((4, 8, 3, 5), {"groups": 2, "bias": True, "num_experts": 2, "batch": 2}),
    "odconv_attention_hidden": ((16,), {"reduction": 4}),
    "odconv2d_params": ((4, 8, 3), {"groups": 2, "bias": True, "kernel_num": 2, "reduction": 2}),
    "odconv2d_macs": ((4, 8, 3, 5), {"groups": 2, "bias": True, "kernel_num": 2, "reduction": 2,
                                     "batch": 2}),
    "CondConv2d": ((4, 8, 3), {"stride": 1, "padding": 1, "dilation": 1, "groups": 2,
                               "bias": True, "num_experts": 2, "cuda_graph": False}),
    "condconv2d_loop": ((snippets.CondConv2d(4, 8, 3), t(1, 4, 5, 5)), {}),
    "OmniAttention": ((4, 8, 3), {"groups": 1, "kernel_num": 2, "reduction": 2,
                                  "temperature": 2.0}),
    "ODConv2d": ((4, 8, 3), {"stride": 1, "padding": 1, "dilation": 1, "groups": 1,
                             "bias": True, "kernel_num": 2, "reduction": 2, "temperature": 2.0,
                             "cuda_graph": False}),
    "odconv2d_loop": ((snippets.ODConv2d(4, 8, 3), t(1, 4, 5, 5)), {}),
    # grouped: ShuffleNet
    "pointwise_macs_share": ((240, 60), {"groups": 3, "kernel_size": 3}),
    "shufflenet_unit_macs": ((240, 60, 14, 14), {"groups": 3}),
    "group_conv_memory_access": ((14, 14, 240, 240), {"groups": 3}),
    "ShuffleUnit": ((24, 24), {"stride": 1, "groups": 2, "bottleneck_channels": 8}),
    "shufflenet_v1": ((), {"groups": 1, "num_classes": 10}),
    # low rank
    "separate_rank1": ((snippets.SOBEL_X,), {"rtol": 1e-5}),
    "conv2d_rank1": ((t(1, 1, 6, 6), t(3), t(3)), {"stride": 1, "padding": 1, "dilation": 1}),
    "low_rank_kernel": ((t(5, 5), 2), {}),
    "low_rank_error": ((t(5, 5), 2), {}),
    "SpatiallySeparableConv2d": ((4, 8, 3), {"stride": 1, "padding": 1, "dilation": 1,
                                             "bias": True, "mid_channels": 4,
                                             "activation": False}),
    "low_rank_separable": ((t(8, 4, 3, 3), 2), {}),
    "FlattenedConv2d": ((4, 8, 3), {"stride": 1, "padding": 1, "dilation": 1, "bias": True}),
    "flatten_rank1": ((torch.einsum("i,j,k->ijk", t(4), t(3), t(3))[None],), {"rtol": 1e-5}),
    "spatially_separable_macs": ((4, 8, 3, 10), {"width": 10, "mid_channels": 4, "stride": 1,
                                                 "padding": 1, "dilation": 1}),
    "flattened_macs": ((4, 8, 3, 10), {"width": 10, "stride": 1, "padding": 1, "dilation": 1}),
    "example_kernels": ((), {"size": 7}),
    # algorithms
    "conv2d_direct": ((t(1, 2, 5, 5), t(4, 2, 3, 3)), {"stride": 1, "padding": 1,
                                                      "dilation": 1, "groups": 1}),
    "conv2d_im2col": ((t(1, 2, 5, 5), t(4, 2, 3, 3)), {"stride": 1, "padding": 1,
                                                      "dilation": 1, "groups": 1}),
    "im2col_matrix": ((t(1, 2, 5, 5), 3), {"stride": 1, "padding": 1, "dilation": 1}),
    "conv2d_winograd": ((t(1, 2, 6, 6), t(4, 2, 3, 3)), {"padding": 1, "groups": 1, "tile": 2}),
    "winograd_matrices": ((), {"tile": 2}),
    "winograd_transform_ops": ((), {"tile": 2}),
    "conv2d_fft": ((t(1, 2, 6, 6), t(4, 2, 3, 3)), {"padding": 1, "dilation": 1, "groups": 1}),
    "fft_size": ((10,), {}),
    "kernel_spectrum": (((1, 2, 6, 6), t(4, 2, 3, 3)), {"padding": 1, "dilation": 1,
                                                       "groups": 1}),
    "direct_multiplications": (((1, 2, 6, 6), (4, 2, 3, 3)), {"stride": 1, "padding": 1,
                                                             "dilation": 1, "groups": 1}),
    "winograd_multiplications": (((1, 2, 6, 6), (4, 2, 3, 3)), {"padding": 1, "groups": 1,
                                                               "tile": 2}),
    # deformable
    "deform_conv2d": ((t(1, 2, 5, 5), torch.zeros(1, 18, 5, 5), t(4, 2, 3, 3)),
                      {"padding": 1, "mask": torch.ones(1, 9, 5, 5)}),
    "DeformConv2d": ((2, 4, 3), {"stride": 1, "padding": 1, "dilation": 1, "groups": 1,
                                 "bias": True}),
    "DeformableConv2d": ((2, 4, 3), {"stride": 1, "padding": 1, "dilation": 1, "groups": 1,
                                     "bias": True, "modulated": True, "offset_groups": 1,
                                     "mask_scale": 2.0}),
    "deform_conv2d_loop": ((t(1, 2, 4, 4), torch.zeros(1, 18, 4, 4), t(4, 2, 3, 3)),
                           {"padding": 1}),
    "deform_output_size": ((8, 3), {"stride": 1, "padding": 1, "dilation": 1}),
    "deformable_conv2d_params": ((4, 8, 3), {"groups": 2, "bias": True, "offset_groups": 2,
                                             "modulated": True}),
    "deformable_conv2d_macs": ((4, 8, 3, 5), {"groups": 2, "offset_groups": 2,
                                              "modulated": True, "batch": 2}),
    "deformable_sampling_macs": ((4, 3, 5), {"batch": 2}),
    # basics, 1-D / causal / 3-D
    "CausalConv1d": ((2, 4, 3), {"stride": 1, "dilation": 2, "groups": 2, "bias": True}),
    "Conv2Plus1d": ((2, 4, 3), {"stride": 1, "padding": 1, "mid_channels": 3, "bias": True}),
    "bottleneck": ((8, 4, 8), {"kernel_size": 3, "stride": 1, "bias": False}),
    "causal_stack": ((2, [1, 2]), {"kernel_size": 2}),
    "conv2d_as_conv3d": ((nn.Conv2d(2, 4, 3),), {}),
    "conv2d_by_channels": ((t(1, 2, 5, 5), t(4, 2, 3, 3)), {}),
    "conv2plus1d_macs": ((2, 4, 3, 3, (4, 6, 6)), {"stride": 1, "padding": 1, "mid_channels": 3,
                                                  "batch": 2}),
    "conv2plus1d_mid": ((2, 4, 3, 3), {}),
    "conv2plus1d_mid_channels": ((2, 4, 3, 3), {}),
    "conv2plus1d_params": ((2, 4, 3, 3), {"mid_channels": 3, "bias": True}),
    "conv3d_macs": ((2, 4, 3, 5), {"groups": 2, "batch": 2}),
    "conv3d_output_shape": ((8, 3), {"stride": 1, "padding": 1, "dilation": 1}),
    "conv3d_params": ((2, 4, 3), {"groups": 2, "bias": True}),
    "convolve2d": ((t(5, 5), t(3, 3)), {}),
    "convolve2d_direct": ((t(5, 5), t(3, 3)), {}),
    "cross_correlate2d": ((t(5, 5), t(3, 3)), {}),
    "input_dependence": ((nn.Conv1d(1, 1, 2), 1, 8, 3), {}),
    "pad_like_conv": ((t(1, 1, 4, 4), (1, 1, 1, 1)), {}),
    "pointwise_conv": ((t(1, 4, 3, 3), t(6, 2, 1, 1)), {"groups": 2}),
    "pool_output_size": ((8, 3), {"stride": 2, "padding": 1, "dilation": 1, "ceil_mode": True}),
    "same_padding": ((3,), {"dilation": 2}),
    "fft_multiplications": (((1, 2, 6, 6), (4, 2, 3, 3)), {"padding": 1, "groups": 1}),
})
def _bn_conv():
    return snippets.conv_bn(4, 4, 3, padding=1).eval()


VALID.update({
    # re-parameterisation
    "ACBlock": ((4, 8), {"kernel_size": 3, "stride": 1, "groups": 2}),
    "RepVGGBlock": ((4, 8), {"stride": 1, "groups": 2}),
    "acblock_macs": ((4, 8, 6), {"kernel_size": 3, "stride": 1, "groups": 2, "fused": False}),
    "acblock_params": ((4, 8), {"kernel_size": 3, "groups": 2, "fused": False}),
    "assert_fused_close": ((torch.ones(2, 2), torch.ones(2, 2)), {}),
    "conv_bn": ((4, 8), {"kernel_size": 3, "stride": 1, "padding": 1, "groups": 2}),
    "fuse_conv_bn": ((_bn_conv()[0], _bn_conv()[1]), {}),
    "identity_kernel": ((4,), {"kernel_size": 3, "groups": 2}),
    "merge_parallel": (([nn.Conv2d(4, 4, 3, padding=1), nn.Conv2d(4, 4, 1)],), {}),
    "merge_sequential": ((nn.Conv2d(4, 4, 1, bias=False), nn.Conv2d(4, 4, 3, padding=1)), {}),
    "pad_kernel": ((t(4, 4, 1, 1), 3), {}),
    "randomize_batchnorm": ((nn.Sequential(nn.BatchNorm2d(4)),), {"seed": 0}),
    "repvgg_macs": ((4, 8, 6), {"stride": 1, "groups": 2, "fused": False}),
    "repvgg_params": ((4, 8), {"stride": 1, "groups": 2, "fused": False}),
    "sequential_kernel": ((t(4, 4, 1, 1), t(4), t(4, 4, 3, 3), t(4)), {}),
})
CONSTANTS = {"TOLERANCES", "MOBILENET_V1_BLOCKS", "DYNAMIC_STRATEGIES", "CALCULATOR_KINDS",
             "SHUFFLENET_V1_CHANNELS", "SHUFFLENET_V1_REPEATS", "SOBEL_X"}
# Named exceptions, each with its reason.
EXEMPT = {
    # The source note's block, kept verbatim (bug included: it ignores ``stride``) so the
    # separable page can show what goes wrong; the page tells readers not to use it.
    "NoteBlock": "the note's original code, kept as it was",
}
# The calculator's form holds what the reader typed, valid or not (calculator.js mirrors it):
# the error belongs to the rows computed from it, so a bad field is checked through them.
# Tensors of any rank are valid here: an assertion helper, for which different shapes are a
# failed comparison (AssertionError), not a bad argument; a wrong type is still refused.
ANY_RANK = {"assert_fused_close"}
# The calculator shows the formulas' own errors (calculator.js mirrors them word for word), and
# the formulas call the input's height and width ``size``.
ALIASES = {("CalculatorInputs", "height"): "size", ("CalculatorInputs", "width"): "size"}
THROUGH = {"CalculatorInputs": lambda inputs: [row for row in snippets.calculator_rows(inputs)
                                               .values() if isinstance(row, ValueError)]}


def public_callables() -> list[str]:
    return [n for n in snippets.__all__ if callable(getattr(snippets, n))]


def test_every_public_name_has_a_valid_call():
    names = set(snippets.__all__)
    assert names - CONSTANTS - set(VALID) == set(), "public names without a valid call in VALID"
    assert set(VALID) - names == set(), "VALID names that are not public"
    for name in CONSTANTS:
        assert not callable(getattr(snippets, name))


@pytest.mark.parametrize("name", sorted(VALID))
def test_the_valid_call_works(name):
    args, kwargs = VALID[name]
    getattr(snippets, name)(*args, **kwargs)


def param_domain(name: str, argument: str) -> str | None:
    if (name, argument) in OVERRIDES:
        return OVERRIDES[name, argument]
    param = inspect.signature(getattr(snippets, name)).parameters[argument]
    return domain(param.name, param.annotation, param.default)


def cases() -> list[tuple[str, str]]:
    """(public name, argument) for every argument whose domain is known."""
    result = []
    for name in sorted(set(VALID) - set(EXEMPT)):
        sig = inspect.signature(getattr(snippets, name))
        for param in sig.parameters.values():
            if param_domain(name, param.name) in BAD:
                result.append((name, param.name))
    return result


def call_with(name: str, argument: str, value):
    fn = getattr(snippets, name)
    args, kwargs = VALID[name]
    bound = inspect.signature(fn).bind_partial(*args, **kwargs)
    bound.arguments[argument] = value
    result = fn(*bound.args, **bound.kwargs)
    if name in THROUGH:
        errors = THROUGH[name](result)
        if errors:          # the first row error that names the argument, if any
            said = ALIASES.get((name, argument), argument)
            raise next((e for e in errors if said in str(e)), errors[0])
    return result


def allowed(name: str, argument: str, value) -> bool:
    """Values outside the generic domain that an argument accepts by design (documented)."""
    default = inspect.signature(getattr(snippets, name)).parameters[argument].default
    if value is None and default is None:
        return True        # None means "choose for me" (padding of the separable block, …)
    if isinstance(value, str) and isinstance(default, str) and value == default:
        return True
    return False


@pytest.mark.parametrize("name, argument", cases(), ids=[f"{n}-{a}" for n, a in cases()])
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_bad_value_raises_a_clear_error(name, argument, data):
    value = data.draw(BAD[param_domain(name, argument)], label=argument)
    if allowed(name, argument, value):
        return
    with pytest.raises((ValueError, TypeError)) as error:
        result = call_with(name, argument, value)
        pytest.fail(f"{name}({argument}={value!r}) returned {result!r} instead of raising")
    said = ALIASES.get((name, argument), argument)
    assert said in str(error.value), (
        f"{name}({argument}={value!r}) raised {error.value!r}, which does not name {argument!r}")


def tensor_cases() -> list[tuple[str, str]]:
    result = []
    for name in sorted(set(VALID) - set(EXEMPT)):
        args, kwargs = VALID[name]
        bound = inspect.signature(getattr(snippets, name)).bind_partial(*args, **kwargs)
        for param in inspect.signature(getattr(snippets, name)).parameters.values():
            if (domain(param.name, param.annotation, param.default) == "tensor"
                    and param.name in bound.arguments):
                result.append((name, param.name))
    return result


@pytest.mark.parametrize("name, argument", tensor_cases(),
                         ids=[f"{n}-{a}" for n, a in tensor_cases()])
def test_a_tensor_of_the_wrong_rank_or_type_raises_a_clear_error(name, argument):
    args, kwargs = VALID[name]
    good = inspect.signature(getattr(snippets, name)).bind_partial(*args, **kwargs) \
        .arguments[argument]
    wrong_rank = [good.flatten()] if good.dim() > 1 else []   # 1-D flattened is itself
    if name in ANY_RANK:
        wrong_rank = []
    wrong_rank += [good[None]] if name not in ANY_RANK else []
    for value in (*wrong_rank, good.tolist(), None):
        if value is None and inspect.signature(getattr(snippets, name)).parameters[
                argument].default is None:
            continue
        with pytest.raises((ValueError, TypeError)) as error:
            result = call_with(name, argument, value)
            pytest.fail(f"{name}({argument}=<{type(value).__name__}>) returned {result!r}")
        assert argument in str(error.value), (name, argument, str(error.value))

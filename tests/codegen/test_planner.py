"""Static memory plan: liveness packing, aliasing, in-place ADD, and against TFLM's arena."""

from __future__ import annotations

import re

import pytest

from edgekit.codegen import generate
from edgekit.codegen.planner import Buffer, check_plan, plan

from . import tiny_models
from .cases import FIXED_CASES

CNN = FIXED_CASES[7]
RESHAPE_CASE = {"op": "reshape_fc", "seed": 21, "in_shape": [4, 3, 2], "units": 5}


def test_disjoint_lifetimes_share_memory():
    bufs = [Buffer("a", 100, 0, 1), Buffer("b", 100, 2, 3), Buffer("c", 50, 1, 2)]
    arena = plan(bufs)
    check_plan(bufs)
    assert bufs[0].offset == bufs[1].offset == 0     # a and b never live together
    assert bufs[2].offset >= 100                     # c overlaps both in time
    assert arena == 176                              # 112 (100 aligned to 16) + 50 -> 176


def test_chain_peak_is_two_largest_neighbours():
    # A chain of ops: only producer and consumer are live together.
    sizes = [400, 1000, 300, 800, 200]
    bufs = [Buffer(f"t{i}", s, i - 1, i) for i, s in enumerate(sizes)]
    arena = plan(bufs)
    check_plan(bufs)
    # The largest live pair (400 + 1000) bounds it; 1000 is padded to 1008 for alignment.
    assert arena == 1408


def test_check_plan_catches_overlap():
    a, b = Buffer("a", 64, 0, 2, offset=0), Buffer("b", 64, 1, 3, offset=32)
    with pytest.raises(AssertionError):
        check_plan([a, b])


@pytest.fixture(scope="module")
def models():
    return dict(zip(["cnn", "reshape"], tiny_models.ensure_models([CNN, RESHAPE_CASE])))


def _calls(model_c: str, fn: str) -> list[str]:
    return re.findall(rf"{fn}\((.*)\);", model_c)


def test_in_place_add_and_arena_below_sum_of_tensors(models, tmp_path):
    r = generate(models["cnn"], tmp_path / "gen", "cnn")
    text = (tmp_path / "gen" / "model.c").read_text()
    (add,) = _calls(text, "ek_add_s8")
    ptrs = re.findall(r"\(ek_arena \+ (\d+)\)", add)
    assert len(ptrs) == 3 and ptrs[2] in ptrs[:2], add   # output written over a dying input
    acts = sum(o.activation_bytes for o in r.ops)
    assert r.arena_bytes < acts


def test_reshape_aliases_its_input(models, tmp_path):
    r = generate(models["reshape"], tmp_path / "gen", "reshape")
    assert "RESHAPE" in [o.op for o in r.ops]
    text = (tmp_path / "gen" / "model.c").read_text()
    for call in _calls(text, "ek_copy"):
        src, dst = re.findall(r"ek_arena \+ (\d+)", call)
        assert src == dst, call


@pytest.mark.slow
def test_planned_arena_at_most_tflm_arena(models):
    from edgekit.codegen.selftest import tflm_arena_search

    for name, path in models.items():
        r = generate(path, path.parent / f".gen-{name}", name)
        tflm = tflm_arena_search(path)
        assert r.arena_bytes <= tflm, (name, r.arena_bytes, tflm)


BLOCKS = [c for c in FIXED_CASES if c["op"] == "block"]


@pytest.fixture(scope="module")
def block_models():
    return tiny_models.ensure_models(BLOCKS)


@pytest.mark.parametrize("k", range(len(BLOCKS)), ids=[f"block-{c['seed']}" for c in BLOCKS])
def test_memory_schedules_shrink_the_arena(block_models, k, tmp_path):
    """The 1x1 expansion is never whole in memory (fused into the depthwise conv) and the
    convolutions whose input dies there run in place (bit-exactness: test_kernels_bitexact)."""
    case = BLOCKS[k]
    r = generate(block_models[k], tmp_path / "gen", "block")
    text = (tmp_path / "gen" / "model.c").read_text()
    h, w, c = case["in_shape"]
    if case.get("ds"):
        # the first depthwise reads the model input, which is never overwritten
        assert len(_calls(text, "ek_depthwise_conv2d_s8")) == 1
        assert len(_calls(text, "ek_depthwise_conv2d_s8_inplace")) == 1
        assert len(_calls(text, "ek_conv2d_s8_inplace")) == 1
        assert r.arena_bytes < 2 * h * w * c + 16      # model input + one buffer, not three
    else:
        assert len(_calls(text, "ek_conv1x1_depthwise_s8")) == 1
        assert len(_calls(text, "ek_conv2d_s8_inplace")) == 1
        expanded = h * w * c * case["expand"]
        dw_out = r.ops[1].output_shape[1] * r.ops[1].output_shape[2] * r.ops[1].output_shape[3]
        # the expanded tensor and the depthwise output are never both whole in memory
        assert r.arena_bytes < expanded + dw_out


@pytest.mark.parametrize("k", range(len(BLOCKS)), ids=[f"block-{c['seed']}" for c in BLOCKS])
def test_a_fusion_stays_only_where_it_lowers_the_peak(block_models, k):
    """lower() plans no more than the all-fused schedule, keeps each fusion whose undoing would
    raise the peak and undoes the others (the ops apart are faster)."""
    from edgekit.codegen import lower as L
    from edgekit.codegen import planner as P
    from edgekit.codegen.tflite_reader import read_tflite

    g = read_tflite(block_models[k])
    all_fused = plan(L.Lowerer(g, "m").run().buffers)
    chosen = L.lower(g, "m")
    assert plan(chosen.buffers) <= all_fused
    for op in [op for op, s in P.choose_schedules(g).items() if s == P.FUSED_INTO_NEXT]:
        raises = plan(L.Lowerer(g, "m", frozenset({op})).run().buffers) > all_fused
        still_fused = any(s.index == op and "computed row by row" in s.call for s in chosen.steps)
        assert still_fused == raises

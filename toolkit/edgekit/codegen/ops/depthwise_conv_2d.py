"""DEPTHWISE_CONV_2D (per-channel int8), kernel firmware/runtime/src/kernels/depthwise.c; the
lowering is CONV_2D's (ops/conv_2d.py), plus the DSP kernels' pre-packed 3x3 layer data:
dsp_pack_planar for an in-place stride-1 layer (the kernel on int16 channel planes), else
dsp_pack_3x3 (docs/ARCHITECTURE.md, "Adding a kernel variant")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from edgekit.codegen import planner as P
from edgekit.codegen.ops import register
from edgekit.codegen.ops.conv_2d import lower_conv

# Words per group of four channels in the packed layer data; the order is dwp_group_t's in
# depthwise.c: bias_in[4], bias_raw[4], w[9][2], then per channel {mult, addend, exp}.
GROUP_WORDS = 38
HEADER_WORDS = 4   # act_min per byte, act_max per byte, input_offset per int16 lane, 0
TAP_BOUND = 128 * 255  # |w * (x + input_offset)| for int8 w and x
# Only the dsp (not Helium) build links the packed data; the others see NULL
# (EK_DSP_DW_PACKED, kernels/depthwise.h; --gc-sections drops the array).


def _lanes(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """int16 lane pairs (lo in bits 0-15, hi in 16-31) as int32 words."""
    return ((lo.astype(np.int64) & 0xFFFF) | ((hi.astype(np.int64) & 0xFFFF) << 16)).astype(np.uint32).view(np.int32)


def _byte4(v: int) -> int:
    return int(np.array([(v & 0xFF) * 0x01010101], dtype=np.uint32).view(np.int32)[0])


def _fast_requant_ok(bias: np.ndarray, mult: np.ndarray, shift: np.ndarray) -> bool:
    """dw_rq_fast is exact (depthwise.c): every right shift in 1..21, every multiplier >= 0, and
    |bias| small enough that twice the accumulator cannot overflow."""
    return not ((shift > -1).any() or (shift < -21).any() or (mult < 0).any()
                or (np.abs(bias) >= (1 << 29) - 9 * TAP_BOUND).any())


def dsp_pack_3x3(w: np.ndarray, b: Optional[np.ndarray], mult, shift, input_offset: int,
                 output_zp: int, act_min: int, act_max: int) -> Optional[np.ndarray]:
    """The DSP kernels' data for a 3x3, depth-multiplier-1 layer, or None where its fast
    requantization would not be exact (a right shift outside 1..21, a negative multiplier,
    |bias| so large that twice the accumulator could overflow) or there is no group of four
    channels. Per group: the weights widened to the SXTB16 lane order (c0, c2) and (c1, c3),
    doubled; 2 * (bias + input_offset * the sum of the nine weights), the bias of the pixels
    whose window is inside the input, and 2 * bias for the others; per channel the multiplier,
    the rounding addend 2^(e-1) + output_zp * 2^e and the right shift e (three words the
    requantization loads back to back)."""
    C = w.shape[-1]
    groups = C // 4
    mult = np.asarray(mult, dtype=np.int64)
    shift = np.asarray(shift, dtype=np.int64)
    bias = np.zeros(C, dtype=np.int64) if b is None else np.asarray(b, dtype=np.int64).reshape(C)
    if groups == 0 or not _fast_requant_ok(bias, mult, shift):
        return None
    wt = np.asarray(w, dtype=np.int64).reshape(9, C)
    e = -shift
    out = np.zeros(HEADER_WORDS + groups * GROUP_WORDS, dtype=np.int64)
    out[:3] = [_byte4(act_min), _byte4(act_max),
               int(_lanes(np.array([input_offset]), np.array([input_offset]))[0])]
    for g in range(groups):
        c = slice(4 * g, 4 * g + 4)
        base = HEADER_WORDS + g * GROUP_WORDS
        out[base:base + 4] = 2 * (bias[c] + input_offset * wt[:, c].sum(axis=0))
        out[base + 4:base + 8] = 2 * bias[c]
        w2 = 2 * wt[:, c]
        taps = np.stack([_lanes(w2[:, 0], w2[:, 2]), _lanes(w2[:, 1], w2[:, 3])], axis=1)
        out[base + 8:base + 26] = taps.reshape(-1)
        addend = (1 << (e[c] - 1)) + output_zp * (1 << e[c])
        out[base + 26:base + 38] = np.stack([mult[c], addend, e[c]], axis=1).reshape(-1)
    return out.astype(np.int32)


# The planar kernel's estimated cycles per block of four outputs (depthwise.c, dwl_rows; a
# run's last, partial block is a whole one) and per run: they choose the planes' orientation.
BLOCK_CYCLES, RUN_CYCLES = 76, 25
PLANAR_HEADER_WORDS = 4   # transposed, band, row bytes, 0
CHANNEL_WORDS = 10        # dwl_chan_t: bias, w[3][2], mult, addend, exp
PLANE_BUDGET = 8192       # scratch bytes the four planes may take (more than one band's worth)


@dataclass(frozen=True)
class PlanarGeometry:
    """The planes of the in-place stride-1 kernel (depthwise.c, dwconv_planar)."""
    transposed: bool   # the planes' rows are the input's columns (runs along H)
    band: int          # output rows per band; a plane holds band + 2 rows
    row_bytes: int     # 2 * columns: the run rounded up to whole blocks of four (RUN6: six), + 2

    @property
    def scratch_bytes(self) -> int:
        return 4 * (self.band + 2) * self.row_bytes


# A run of exactly six outputs is one block of six (depthwise.c, dwl_rows6) on planes whose
# rows are 16 bytes: the three rows at fixed offsets leave the six accumulators in registers
# (RUN6_CYCLES: a run's estimated cycles, from the traced kernel).
RUN6, RUN6_CYCLES = 6, 110


def _run_cycles(runs: int, run: int) -> int:
    if run == RUN6:
        return runs * RUN6_CYCLES
    return runs * (BLOCK_CYCLES * -(-run // 4) + RUN_CYCLES)


# Planes pay per run (the call, the overlapped last block) and per channel group (the gather):
# on a small map (VWW's 3x3, estimated 10.9 cycles a MAC planar; 6x6 in blocks of four, 5.6)
# the HWC kernels are cheaper. Runs shorter than this, other than RUN6, keep them.
PLANAR_MIN_RUN = 8


def planar_geometry(oh: int, ow: int, budget: int = PLANE_BUDGET) -> Optional[PlanarGeometry]:
    """The cheaper orientation for an oh x ow output, the whole map in one band where it fits
    `budget`, or None (also for runs shorter than PLANAR_MIN_RUN, but RUN6). Transposed planes take one
    band only: in place, a column band's outputs (row-major in memory) could overwrite input
    columns a later band still reads."""
    def geometry(transposed: bool) -> Optional[PlanarGeometry]:
        runs, run = (ow, oh) if transposed else (oh, ow)
        if run < PLANAR_MIN_RUN and run != RUN6:
            return None
        row_bytes = 2 * (run + 2) if run == RUN6 else 2 * (4 * -(-run // 4) + 2)
        band = runs if 4 * (runs + 2) * row_bytes <= budget else (0 if transposed else budget // (4 * row_bytes) - 2)
        return PlanarGeometry(transposed, min(band, runs), row_bytes) if band >= 1 else None
    options = [g for g in (geometry(False), geometry(True)) if g is not None]
    if not options:
        return None
    return min(options, key=lambda g: (_run_cycles(ow, oh) if g.transposed else _run_cycles(oh, ow), g.transposed))


def dsp_pack_planar(w: np.ndarray, b: Optional[np.ndarray], mult, shift, input_offset: int, output_zp: int,
                    geo: PlanarGeometry) -> Optional[np.ndarray]:
    """The planar kernel's layer data, or None where its requantization would not be exact or
    the channels are not whole groups of four. Per channel: 2 * (bias + input_offset * the sum
    of the nine weights) (a padding tap reads the input zero point, so it adds nothing);
    per plane row r its taps (t0, t1) and (t1, t2) as doubled int16 lanes, the taps along the
    run (along W, or along H where transposed); the multiplier, the rounding addend
    2^(e-1) + output_zp * 2^e and the right shift e."""
    C = w.shape[-1]
    mult = np.asarray(mult, dtype=np.int64)
    shift = np.asarray(shift, dtype=np.int64)
    bias = np.zeros(C, dtype=np.int64) if b is None else np.asarray(b, dtype=np.int64).reshape(C)
    if C % 4 or not _fast_requant_ok(bias, mult, shift):
        return None
    wt = np.asarray(w, dtype=np.int64).reshape(3, 3, C)   # [fy][fx][c]
    taps = 2 * (wt.transpose(1, 0, 2) if geo.transposed else wt)   # [plane row][along the run][c]
    e = -shift
    ch = np.zeros((C, CHANNEL_WORDS), dtype=np.int64)
    ch[:, 0] = 2 * (bias + input_offset * wt.sum(axis=(0, 1)))
    for r in range(3):
        ch[:, 1 + 2 * r] = _lanes(taps[r, 0], taps[r, 1])
        ch[:, 2 + 2 * r] = _lanes(taps[r, 1], taps[r, 2])
    ch[:, 7], ch[:, 8], ch[:, 9] = mult, (1 << (e - 1)) + output_zp * (1 << e), e
    header = np.array([int(geo.transposed), geo.band, geo.row_bytes, 0], dtype=np.int64)
    return np.concatenate([header, ch.reshape(-1)]).astype(np.int32)


def _packed_params(lw, k, x, w, b, y, mult, shift, xz, yz, lo, hi, dm, kh, kw, dh, dw, stride) -> dict:
    """The kernel-parameter fields of the pre-packed data, or none (the kernels pack nothing);
    "_work": the planar kernel's planes, which the in-place schedule's row buffer holds."""
    if (kh, kw, dm, dh, dw) != (3, 3, 1, 1, 1):
        return {}
    if stride == (1, 1) and lw.schedule.get(k) == P.INPLACE:
        geo = planar_geometry(y.shape[1], y.shape[2])
        packed = None if geo is None else dsp_pack_planar(w.data, None if b is None else b.data, mult, shift,
                                                          -xz, yz, geo)
        if packed is not None:
            name = lw.const_array(packed, "int32", name=f"ek_dwplanar{k}", variant="dsp")
            return {"dw_planar": f"EK_DSP_DW_PACKED({name})", "_work": geo.scratch_bytes}
    packed = dsp_pack_3x3(w.data, None if b is None else b.data, mult, shift, -xz, yz, lo, hi)
    if packed is None:
        return {}
    name = lw.const_array(packed, "int32", name=f"ek_dwpack{k}", variant="dsp")
    return {"dw_packed": f"EK_DSP_DW_PACKED({name})"}


@register("DEPTHWISE_CONV_2D", 4, types=("int8",), weights=("int8", "int32"),
          kernels=("depthwise.c", "schedule.c"),
          options=((0, "padding", "<b", 0), (1, "stride_w", "<i", 0), (2, "stride_h", "<i", 0),
                   (3, "depth_multiplier", "<i", 0), (4, "activation", "<b", 0),
                   (5, "dilation_w", "<i", 1), (6, "dilation_h", "<i", 1)),
          options_type="DepthwiseConv2DOptions")
def lower_depthwise_conv_2d(lw, op) -> None:
    lower_conv(lw, op, depthwise=True, extra_params=_packed_params)

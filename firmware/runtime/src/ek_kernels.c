/* edgekit-micro int8 kernels. See include/ek_kernels.h.
 *
 * The arithmetic follows TFLite Micro's reference integer kernels operation by operation
 * (not merely "close"): every rounding step is the same, so outputs are bit-exact. Tests in
 * tests/runtime and tests/codegen hold this against the tflite-micro interpreter.
 */
#include "ek_kernels.h"

#include <limits.h>
#include <math.h>
#include <string.h>

#ifndef EK_KERNELS_DSP
#define EK_KERNELS_DSP 0
#endif
#ifndef EK_KERNELS_MVE
#define EK_KERNELS_MVE 0
#endif
#if EK_KERNELS_MVE
#include <arm_mve.h>
#endif

/* ---------------------------------------------------------------------------------------
 * Fixed-point primitives
 * ------------------------------------------------------------------------------------- */

/* static inline bodies so the kernels' per-output requantization is inlined; the exported
 * ek_* wrappers are for tests and other callers. */
static inline int32_t srdhm(int32_t a, int32_t b)
{
    /* The only overflow case: (-2^31)^2 doubled does not fit. */
    if (a == b && a == INT32_MIN) return INT32_MAX;
    int64_t ab = (int64_t)a * (int64_t)b;
    /* gemmlowp nudges by 2^30 (or 1 - 2^30 when ab < 0) and divides by 2^31, truncating
     * toward zero. For ab < 0 that is -floor((-ab + 2^30 - 1) / 2^31), which equals
     * floor((ab + 2^30) / 2^31): one nudge and an arithmetic shift give the same result for
     * every ab, in SMULL, ADDS/ADC and two shifts instead of a branchy 64-bit division. */
    return (int32_t)((ab + (1LL << 30)) >> 31);
}

static inline int32_t rdbypot(int32_t x, int exponent)
{
    /* exponent is 0..31 (a right shift of a requantization): a 32-bit mask suffices. */
    const int32_t mask = (int32_t)((1u << exponent) - 1u);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* TFLM's default (double rounding) MultiplyByQuantizedMultiplier: a positive shift is a
 * left shift before the high multiply, a negative one a rounding right shift after it. */
static inline int32_t mbqm(int32_t x, int32_t multiplier, int shift)
{
    const int left_shift = shift > 0 ? shift : 0;
    const int right_shift = shift > 0 ? 0 : -shift;
    return rdbypot(srdhm((int32_t)((uint32_t)x << left_shift), multiplier), right_shift);
}

int32_t ek_srdhm(int32_t a, int32_t b) { return srdhm(a, b); }
int32_t ek_rdbypot(int32_t x, int exponent) { return rdbypot(x, exponent); }
int32_t ek_mbqm(int32_t x, int32_t multiplier, int shift) { return mbqm(x, multiplier, shift); }

static inline int32_t clamp_i32(int32_t v, int32_t lo, int32_t hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

/* ---------------------------------------------------------------------------------------
 * Dual 16-bit MAC primitives: ACLE on cores with the DSP extension, portable otherwise.
 * ------------------------------------------------------------------------------------- */
#if EK_KERNELS_DSP
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#include <arm_acle.h>
#define ek_sxtb16(x) ((uint32_t)__sxtb16((int32_t)(x)))
#define ek_sadd16(a, b) ((uint32_t)__sadd16((int32_t)(a), (int32_t)(b)))
#define ek_smlad(a, b, acc) (__smlad((int32_t)(a), (int32_t)(b), (acc)))
#define ek_smlabb(a, b, acc) (__smlabb((int32_t)(a), (int32_t)(b), (acc)))
#define ek_smlatt(a, b, acc) (__smlatt((int32_t)(a), (int32_t)(b), (acc)))
/* SXTB16 with its built-in ROR #8 (bytes 1 and 3): ACLE has no form for it, and a separate
 * ROR costs an instruction per weight word in the inner loops. */
static inline uint32_t ek_sxtb16_ror8(uint32_t x)
{
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
}
#else
/* Host emulations with the instructions' exact semantics (wrapping 32-bit adds). */
static inline int32_t lo16(uint32_t x) { return (int32_t)(int16_t)(uint16_t)(x & 0xFFFFu); }
static inline int32_t hi16(uint32_t x) { return (int32_t)(int16_t)(uint16_t)(x >> 16); }
static inline uint32_t ek_sxtb16(uint32_t x)
{
    uint32_t lo = (uint32_t)(int32_t)(int8_t)(uint8_t)(x & 0xFFu) & 0xFFFFu;
    uint32_t hi = (uint32_t)(int32_t)(int8_t)(uint8_t)((x >> 16) & 0xFFu) & 0xFFFFu;
    return lo | (hi << 16);
}
static inline uint32_t ek_sadd16(uint32_t a, uint32_t b)
{
    uint32_t lo = ((uint32_t)(lo16(a) + lo16(b))) & 0xFFFFu;
    uint32_t hi = ((uint32_t)(hi16(a) + hi16(b))) & 0xFFFFu;
    return lo | (hi << 16);
}
static inline int32_t ek_smlad(uint32_t a, uint32_t b, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(lo16(a) * lo16(b)) + (uint32_t)(hi16(a) * hi16(b)));
}
static inline int32_t ek_smlabb(uint32_t a, uint32_t b, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(lo16(a) * lo16(b)));
}
static inline int32_t ek_smlatt(uint32_t a, uint32_t b, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(hi16(a) * hi16(b)));
}
static inline uint32_t ek_sxtb16_ror8(uint32_t x) { return ek_sxtb16((x >> 8) | (x << 24)); }
#endif
/* Unaligned 32-bit access through memcpy: one LDR/STR on v7-M, defined behaviour in C. */
static inline uint32_t rd32(const void *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
static inline void wr32(void *p, uint32_t v) { memcpy(p, &v, 4); }
#endif

/* ---------------------------------------------------------------------------------------
 * CONV_2D (per-channel), reference
 * ------------------------------------------------------------------------------------- */

/* DSP: two int16 im2col rows (two output pixels at a time), each padded to a multiple of
 * four. MVE: one int8 im2col row and the per-channel weight sums (int32). */
size_t ek_conv2d_s8_scratch(const ek_shape_t *filter)
{
    const size_t k4 = ((size_t)filter->h * (size_t)filter->w * (size_t)filter->c + 3) & ~(size_t)3;
    const size_t dsp = 2 * k4, mve = (k4 + 4 * (size_t)filter->n) / 2;
    return dsp > mve ? dsp : mve;
}

size_t ek_fc_s8_scratch(int32_t accum_depth) { return (size_t)accum_depth; }

static void conv2d_ref(const ek_conv_params_t *p, const int32_t *mult, const int32_t *shift,
                       const ek_shape_t *is, const int8_t *input, const ek_shape_t *fs,
                       const int8_t *filter, const int32_t *bias, const ek_shape_t *os,
                       int8_t *output)
{
    const int32_t in_depth = is->c, out_depth = os->c;
    for (int32_t b = 0; b < os->n; ++b) {
        for (int32_t oy = 0; oy < os->h; ++oy) {
            const int32_t iy0 = oy * p->stride_h - p->pad_h;
            for (int32_t ox = 0; ox < os->w; ++ox) {
                const int32_t ix0 = ox * p->stride_w - p->pad_w;
                for (int32_t oc = 0; oc < out_depth; ++oc) {
                    int32_t acc = 0;
                    for (int32_t fy = 0; fy < fs->h; ++fy) {
                        const int32_t iy = iy0 + p->dilation_h * fy;
                        for (int32_t fx = 0; fx < fs->w; ++fx) {
                            const int32_t ix = ix0 + p->dilation_w * fx;
                            /* Padding contributes nothing (TFLM skips it). */
                            if (ix < 0 || ix >= is->w || iy < 0 || iy >= is->h) continue;
                            const int8_t *in = input + (((b * is->h + iy) * is->w + ix) * in_depth);
                            const int8_t *w = filter + (((oc * fs->h + fy) * fs->w + fx) * fs->c);
                            for (int32_t ic = 0; ic < fs->c; ++ic)
                                acc += (int32_t)w[ic] * ((int32_t)in[ic] + p->input_offset);
                        }
                    }
                    if (bias) acc += bias[oc];
                    acc = mbqm(acc, mult[oc], shift[oc]) + p->output_offset;
                    output[((b * os->h + oy) * os->w + ox) * out_depth + oc] =
                        (int8_t)clamp_i32(acc, p->act_min, p->act_max);
                }
            }
        }
    }
}

#if EK_KERNELS_DSP
/* Position of element k of a K-long im2col row: groups of four are stored as x0 x2 x1 x3,
 * matching the lane order SXTB16 produces from four packed int8 weights. */
static inline int32_t col_pos(int32_t k, int32_t k4) { return k < k4 ? (k & ~3) + ((k & 1) << 1) + ((k >> 1) & 1) : k; }

/* Widen n int8 values (+offset) into the reordered int16 row starting at col[k..]. k and n
 * are multiples of 4 on the fast path. */
static void widen_s8(const int8_t *src, int32_t n, int32_t k, int32_t k4, int32_t offset,
                     int16_t *col)
{
    int32_t i = 0;
    if ((k & 3) == 0) {
        const uint32_t off2 = ((uint32_t)offset & 0xFFFFu) | ((uint32_t)offset << 16);
        for (; i + 4 <= n && k + i + 4 <= k4; i += 4) {
            const uint32_t v = rd32(src + i);
            wr32(col + k + i, ek_sadd16(ek_sxtb16(v), off2));
            wr32(col + k + i + 2, ek_sadd16(ek_sxtb16_ror8(v), off2));
        }
    }
    for (; i < n; ++i) col[col_pos(k + i, k4)] = (int16_t)((int32_t)src[i] + offset);
}

static void zero_col(int32_t n, int32_t k, int32_t k4, int16_t *col)
{
    for (int32_t i = 0; i < n; ++i) col[col_pos(k + i, k4)] = 0;
}

/* Dot product of one reordered int16 row with two int8 filter rows: two SMLAD per four
 * MACs per row, the column words loaded once for both rows. */
static inline void dot2(const int16_t *col, const int8_t *w0, const int8_t *w1, int32_t k4,
                        int32_t K, int32_t *acc0, int32_t *acc1)
{
    int32_t a0 = *acc0, a1 = *acc1;
    int32_t k = 0;
    for (; k < k4; k += 4) {
        const uint32_t c02 = rd32(col + k), c13 = rd32(col + k + 2);
        const uint32_t v0 = rd32(w0 + k), v1 = rd32(w1 + k);
        a0 = ek_smlad(ek_sxtb16(v0), c02, a0);
        a0 = ek_smlad(ek_sxtb16_ror8(v0), c13, a0);
        a1 = ek_smlad(ek_sxtb16(v1), c02, a1);
        a1 = ek_smlad(ek_sxtb16_ror8(v1), c13, a1);
    }
    for (; k < K; ++k) {
        a0 += (int32_t)col[k] * w0[k];
        a1 += (int32_t)col[k] * w1[k];
    }
    *acc0 = a0;
    *acc1 = a1;
}

static inline int32_t dot1(const int16_t *col, const int8_t *w0, int32_t k4, int32_t K, int32_t a0)
{
    int32_t k = 0;
    for (; k < k4; k += 4) {
        const uint32_t v0 = rd32(w0 + k);
        a0 = ek_smlad(ek_sxtb16(v0), rd32(col + k), a0);
        a0 = ek_smlad(ek_sxtb16_ror8(v0), rd32(col + k + 2), a0);
    }
    for (; k < K; ++k) a0 += (int32_t)col[k] * w0[k];
    return a0;
}

/* Two filter rows against two im2col rows (two output pixels): each weight word and each
 * column word is loaded once for two accumulators, 8 SMLAD per 16 MACs. */
static inline void dot2x2(const int16_t *c0, const int16_t *c1, const int8_t *w0, const int8_t *w1,
                          int32_t k4, int32_t K, int32_t acc[4])
{
    int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
    int32_t k = 0;
    for (; k < k4; k += 4) {
        const uint32_t x0e = rd32(c0 + k), x0o = rd32(c0 + k + 2);
        const uint32_t x1e = rd32(c1 + k), x1o = rd32(c1 + k + 2);
        uint32_t v = rd32(w0 + k);
        uint32_t we = ek_sxtb16(v), wo = ek_sxtb16_ror8(v);
        a00 = ek_smlad(we, x0e, a00);
        a00 = ek_smlad(wo, x0o, a00);
        a01 = ek_smlad(we, x1e, a01);
        a01 = ek_smlad(wo, x1o, a01);
        v = rd32(w1 + k);
        we = ek_sxtb16(v);
        wo = ek_sxtb16_ror8(v);
        a10 = ek_smlad(we, x0e, a10);
        a10 = ek_smlad(wo, x0o, a10);
        a11 = ek_smlad(we, x1e, a11);
        a11 = ek_smlad(wo, x1o, a11);
    }
    for (; k < K; ++k) {
        a00 += (int32_t)c0[k] * w0[k];
        a01 += (int32_t)c1[k] * w0[k];
        a10 += (int32_t)c0[k] * w1[k];
        a11 += (int32_t)c1[k] * w1[k];
    }
    acc[0] = a00; acc[1] = a01; acc[2] = a10; acc[3] = a11;
}

/* im2col of output pixel (oy, ox): its K inputs (+offset), reordered for SXTB16 lanes. */
static void im2col_pixel(const ek_conv_params_t *p, const ek_shape_t *is, const int8_t *input,
                         const ek_shape_t *fs, int32_t b, int32_t oy, int32_t ox, int32_t k4,
                         int16_t *col)
{
    const int32_t cin = fs->c;
    const int32_t iy0 = oy * p->stride_h - p->pad_h, ix0 = ox * p->stride_w - p->pad_w;
    int32_t k = 0;
    for (int32_t fy = 0; fy < fs->h; ++fy) {
        const int32_t iy = iy0 + p->dilation_h * fy;
        for (int32_t fx = 0; fx < fs->w; ++fx, k += cin) {
            const int32_t ix = ix0 + p->dilation_w * fx;
            if (ix < 0 || ix >= is->w || iy < 0 || iy >= is->h)
                zero_col(cin, k, k4, col);
            else
                widen_s8(input + ((b * is->h + iy) * is->w + ix) * cin, cin, k, k4, p->input_offset, col);
        }
    }
}

static inline int8_t requant_one(const ek_conv_params_t *p, int32_t acc, int32_t mult, int32_t shift)
{
    return (int8_t)clamp_i32(mbqm(acc, mult, shift) + p->output_offset, p->act_min, p->act_max);
}

static void conv2d_dsp(const ek_conv_params_t *p, const int32_t *mult, const int32_t *shift,
                       const ek_shape_t *is, const int8_t *input, const ek_shape_t *fs,
                       const int8_t *filter, const int32_t *bias, const ek_shape_t *os,
                       int8_t *output, int16_t *col)
{
    const int32_t cin = fs->c, K = fs->h * fs->w * cin, k4 = K & ~3;
    const int32_t out_depth = os->c;
    int16_t *col1 = col + ((K + 3) & ~3);  /* the second pixel's row (ek_conv2d_s8_scratch) */
    for (int32_t b = 0; b < os->n; ++b) {
        for (int32_t oy = 0; oy < os->h; ++oy) {
            int32_t ox = 0;
            /* Pairs of output pixels along the row: the im2col rows are built once and
             * shared by every output channel. */
            for (; ox + 2 <= os->w; ox += 2) {
                im2col_pixel(p, is, input, fs, b, oy, ox, k4, col);
                im2col_pixel(p, is, input, fs, b, oy, ox + 1, k4, col1);
                int8_t *out0 = output + ((b * os->h + oy) * os->w + ox) * out_depth;
                int8_t *out1 = out0 + out_depth;
                int32_t oc = 0;
                for (; oc + 2 <= out_depth; oc += 2) {
                    const int32_t b0 = bias ? bias[oc] : 0, b1 = bias ? bias[oc + 1] : 0;
                    int32_t acc[4] = {b0, b0, b1, b1};
                    dot2x2(col, col1, filter + oc * K, filter + (oc + 1) * K, k4, K, acc);
                    out0[oc] = requant_one(p, acc[0], mult[oc], shift[oc]);
                    out1[oc] = requant_one(p, acc[1], mult[oc], shift[oc]);
                    out0[oc + 1] = requant_one(p, acc[2], mult[oc + 1], shift[oc + 1]);
                    out1[oc + 1] = requant_one(p, acc[3], mult[oc + 1], shift[oc + 1]);
                }
                for (; oc < out_depth; ++oc) {
                    const int32_t b0 = bias ? bias[oc] : 0;
                    out0[oc] = requant_one(p, dot1(col, filter + oc * K, k4, K, b0), mult[oc], shift[oc]);
                    out1[oc] = requant_one(p, dot1(col1, filter + oc * K, k4, K, b0), mult[oc], shift[oc]);
                }
            }
            for (; ox < os->w; ++ox) {  /* an odd last pixel */
                im2col_pixel(p, is, input, fs, b, oy, ox, k4, col);
                int8_t *out = output + ((b * os->h + oy) * os->w + ox) * out_depth;
                int32_t oc = 0;
                for (; oc + 2 <= out_depth; oc += 2) {
                    int32_t a0 = bias ? bias[oc] : 0, a1 = bias ? bias[oc + 1] : 0;
                    dot2(col, filter + oc * K, filter + (oc + 1) * K, k4, K, &a0, &a1);
                    out[oc] = requant_one(p, a0, mult[oc], shift[oc]);
                    out[oc + 1] = requant_one(p, a1, mult[oc + 1], shift[oc + 1]);
                }
                for (; oc < out_depth; ++oc)
                    out[oc] = requant_one(p, dot1(col, filter + oc * K, k4, K, bias ? bias[oc] : 0),
                                          mult[oc], shift[oc]);
            }
        }
    }
}
#endif

#if EK_KERNELS_MVE
/* Helium (MVE). The requantization in four lanes: VQRDMULH is SaturatingRoundingDoublingHighMul
 * exactly (floor((ab + 2^30) / 2^31), saturating only for INT32_MIN squared), and a rounding
 * shift after a sign fix-up is RoundingDivideByPOT (half away from zero). */
static inline int32x4_t mve_requant(int32x4_t acc, const int32_t *mult, const int32_t *shift,
                                    const ek_conv_params_t *p)
{
    const int32x4_t sh = vldrwq_s32(shift);
    const int32x4_t zero = vdupq_n_s32(0);
    const int32x4_t left = vmaxq_s32(sh, zero), right = vnegq_s32(vminq_s32(sh, zero));
    int32x4_t x = vqrdmulhq_s32(vshlq_s32(acc, left), vldrwq_s32(mult));
    const int32x4_t neg_right = vnegq_s32(right);
    const int32x4_t fixup = vshrq_n_s32(vandq_s32(x, neg_right), 31);
    x = vrshlq_s32(vqaddq_s32(x, fixup), neg_right);
    x = vaddq_n_s32(x, p->output_offset);
    return vminq_s32(vmaxq_s32(x, vdupq_n_s32(p->act_min)), vdupq_n_s32(p->act_max));
}

/* The sum of n int8 weights. */
static inline int32_t mve_sum_s8(const int8_t *w, int32_t n)
{
    int32_t acc = 0;
    for (int32_t k = 0; k < n; k += 16) {
        const mve_pred16_t pr = vctp8q((uint32_t)(n - k));
        acc = vaddvaq_p_s8(acc, vldrbq_z_s8(w + k, pr), pr);
    }
    return acc;
}

/* CONV_2D: sum w * (x + offset) = sum w * x + offset * sum w, the first with VMLADAVA on 16
 * int8 pairs at a time (four output channels share each input vector), the second from the
 * per-channel weight sums computed once per call. Padding enters the im2col row as the input
 * zero point, whose offset-corrected value is 0, as the reference's skipped taps. */
static void conv2d_mve(const ek_conv_params_t *p, const int32_t *mult, const int32_t *shift,
                       const ek_shape_t *is, const int8_t *input, const ek_shape_t *fs,
                       const int8_t *filter, const int32_t *bias, const ek_shape_t *os,
                       int8_t *output, int8_t *col, int32_t *wsum)
{
    const int32_t cin = fs->c, K = fs->h * fs->w * cin, C = os->c;
    const int8_t zero_point = (int8_t)(-p->input_offset);
    for (int32_t oc = 0; oc < C; ++oc)
        wsum[oc] = (bias ? bias[oc] : 0) + p->input_offset * mve_sum_s8(filter + oc * K, K);
    const int pointwise = fs->h == 1 && fs->w == 1;
    for (int32_t b = 0; b < os->n; ++b) {
        for (int32_t oy = 0; oy < os->h; ++oy) {
            const int32_t iy0 = oy * p->stride_h - p->pad_h;
            for (int32_t ox = 0; ox < os->w; ++ox) {
                const int32_t ix0 = ox * p->stride_w - p->pad_w;
                const int8_t *row;
                if (pointwise && iy0 >= 0 && iy0 < is->h && ix0 >= 0 && ix0 < is->w) {
                    row = input + ((b * is->h + iy0) * is->w + ix0) * cin;  /* the pixel is the row */
                } else {
                    int32_t k = 0;
                    for (int32_t fy = 0; fy < fs->h; ++fy) {
                        const int32_t iy = iy0 + p->dilation_h * fy;
                        for (int32_t fx = 0; fx < fs->w; ++fx, k += cin) {
                            const int32_t ix = ix0 + p->dilation_w * fx;
                            if (ix < 0 || ix >= is->w || iy < 0 || iy >= is->h)
                                memset(col + k, zero_point, (size_t)cin);
                            else
                                memcpy(col + k, input + ((b * is->h + iy) * is->w + ix) * cin, (size_t)cin);
                        }
                    }
                    row = col;
                }
                int8_t *out = output + ((b * os->h + oy) * os->w + ox) * C;
                int32_t oc = 0;
                for (; oc + 4 <= C; oc += 4) {
                    const int8_t *w0 = filter + oc * K, *w1 = w0 + K, *w2 = w1 + K, *w3 = w2 + K;
                    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
                    for (int32_t k = 0; k < K; k += 16) {
                        const mve_pred16_t pr = vctp8q((uint32_t)(K - k));
                        const int8x16_t x = vldrbq_z_s8(row + k, pr);
                        a0 = vmladavaq_p_s8(a0, x, vldrbq_z_s8(w0 + k, pr), pr);
                        a1 = vmladavaq_p_s8(a1, x, vldrbq_z_s8(w1 + k, pr), pr);
                        a2 = vmladavaq_p_s8(a2, x, vldrbq_z_s8(w2 + k, pr), pr);
                        a3 = vmladavaq_p_s8(a3, x, vldrbq_z_s8(w3 + k, pr), pr);
                    }
                    const int32_t dots[4] = {a0, a1, a2, a3};
                    const int32x4_t acc = vaddq_s32(vldrwq_s32(wsum + oc), vldrwq_s32(dots));
                    vstrbq_s32(out + oc, mve_requant(acc, mult + oc, shift + oc, p));
                }
                for (; oc < C; ++oc) {
                    int32_t a = 0;
                    const int8_t *w = filter + oc * K;
                    for (int32_t k = 0; k < K; k += 16) {
                        const mve_pred16_t pr = vctp8q((uint32_t)(K - k));
                        a = vmladavaq_p_s8(a, vldrbq_z_s8(row + k, pr), vldrbq_z_s8(w + k, pr), pr);
                    }
                    out[oc] = (int8_t)clamp_i32(mbqm(a + wsum[oc], mult[oc], shift[oc]) + p->output_offset,
                                                p->act_min, p->act_max);
                }
            }
        }
    }
}

/* DEPTHWISE_CONV_2D, depth_multiplier 1: four channels per vector (int8 widened to int32
 * lanes), a multiply and an add per tap, the valid window computed once per output pixel. */
static void dwconv_mve(const ek_conv_params_t *p, const int32_t *mult, const int32_t *shift,
                       const ek_shape_t *is, const int8_t *input, const ek_shape_t *fs,
                       const int8_t *filter, const int32_t *bias, const ek_shape_t *os,
                       int8_t *output)
{
    const int32_t C = os->c;
    for (int32_t b = 0; b < os->n; ++b) {
        for (int32_t oy = 0; oy < os->h; ++oy) {
            const int32_t iy0 = oy * p->stride_h - p->pad_h;
            int32_t fy0 = 0, fy1 = fs->h;
            while (fy0 < fy1 && iy0 + p->dilation_h * fy0 < 0) ++fy0;
            while (fy1 > fy0 && iy0 + p->dilation_h * (fy1 - 1) >= is->h) --fy1;
            for (int32_t ox = 0; ox < os->w; ++ox) {
                const int32_t ix0 = ox * p->stride_w - p->pad_w;
                int32_t fx0 = 0, fx1 = fs->w;
                while (fx0 < fx1 && ix0 + p->dilation_w * fx0 < 0) ++fx0;
                while (fx1 > fx0 && ix0 + p->dilation_w * (fx1 - 1) >= is->w) --fx1;
                int8_t *out = output + ((b * os->h + oy) * os->w + ox) * C;
                const int32_t px_off = ((b * is->h + iy0) * is->w + ix0) * C;
                const int32_t in_row = p->dilation_h * is->w * C, in_col = p->dilation_w * C;
                for (int32_t c = 0; c < C; c += 4) {
                    const mve_pred16_t pr = vctp32q((uint32_t)(C - c));
                    int32x4_t acc = bias ? vldrwq_z_s32(bias + c, pr) : vdupq_n_s32(0);
                    for (int32_t fy = fy0; fy < fy1; ++fy) {
                        const int8_t *ip = input + (px_off + fy * in_row + fx0 * in_col + c);
                        const int8_t *wp = filter + (fy * fs->w + fx0) * C + c;
                        for (int32_t fx = fx0; fx < fx1; ++fx, ip += in_col, wp += C) {
                            const int32x4_t x = vaddq_n_s32(vldrbq_z_s32(ip, pr), p->input_offset);
                            acc = vaddq_s32(acc, vmulq_s32(x, vldrbq_z_s32(wp, pr)));
                        }
                    }
                    if (c + 4 <= C) {
                        vstrbq_s32(out + c, mve_requant(acc, mult + c, shift + c, p));
                    } else {  /* the last channels: requantize lane by lane (mult/shift end here) */
                        int32_t lanes[4];
                        vstrwq_s32(lanes, acc);
                        for (int32_t j = 0; c + j < C; ++j)
                            out[c + j] = (int8_t)clamp_i32(mbqm(lanes[j], mult[c + j], shift[c + j]) + p->output_offset,
                                                           p->act_min, p->act_max);
                    }
                }
            }
        }
    }
}
#endif

void ek_conv2d_s8(const ek_conv_params_t *p, const int32_t *mult, const int32_t *shift,
                  const ek_shape_t *in_shape, const int8_t *input,
                  const ek_shape_t *filter_shape, const int8_t *filter, const int32_t *bias,
                  const ek_shape_t *out_shape, int8_t *output, int16_t *scratch)
{
#if EK_KERNELS_MVE
    if (scratch) {
        const size_t k4 = ((size_t)filter_shape->h * filter_shape->w * filter_shape->c + 3) & ~(size_t)3;
        conv2d_mve(p, mult, shift, in_shape, input, filter_shape, filter, bias, out_shape, output,
                   (int8_t *)scratch, (int32_t *)((int8_t *)scratch + k4));
        return;
    }
#endif
#if EK_KERNELS_DSP
    if (scratch) {
        conv2d_dsp(p, mult, shift, in_shape, input, filter_shape, filter, bias, out_shape,
                   output, scratch);
        return;
    }
#else
    (void)scratch;
#endif
    conv2d_ref(p, mult, shift, in_shape, input, filter_shape, filter, bias, out_shape, output);
}

/* ---------------------------------------------------------------------------------------
 * DEPTHWISE_CONV_2D (per-channel)
 * ------------------------------------------------------------------------------------- */

static void dwconv_ref(const ek_conv_params_t *p, const int32_t *mult, const int32_t *shift,
                       const ek_shape_t *is, const int8_t *input, const ek_shape_t *fs,
                       const int8_t *filter, const int32_t *bias, const ek_shape_t *os,
                       int8_t *output)
{
    const int32_t in_depth = is->c, dm = p->depth_multiplier, out_depth = os->c;
    for (int32_t b = 0; b < os->n; ++b) {
        for (int32_t oy = 0; oy < os->h; ++oy) {
            for (int32_t ox = 0; ox < os->w; ++ox) {
                for (int32_t ic = 0; ic < in_depth; ++ic) {
                    for (int32_t m = 0; m < dm; ++m) {
                        const int32_t oc = m + ic * dm;
                        const int32_t iy0 = oy * p->stride_h - p->pad_h;
                        const int32_t ix0 = ox * p->stride_w - p->pad_w;
                        int32_t acc = 0;
                        for (int32_t fy = 0; fy < fs->h; ++fy) {
                            const int32_t iy = iy0 + p->dilation_h * fy;
                            for (int32_t fx = 0; fx < fs->w; ++fx) {
                                const int32_t ix = ix0 + p->dilation_w * fx;
                                if (ix < 0 || ix >= is->w || iy < 0 || iy >= is->h) continue;
                                const int32_t iv = input[((b * is->h + iy) * is->w + ix) * in_depth + ic];
                                const int32_t fv = filter[(fy * fs->w + fx) * out_depth + oc];
                                acc += fv * (iv + p->input_offset);
                            }
                        }
                        if (bias) acc += bias[oc];
                        acc = mbqm(acc, mult[oc], shift[oc]) + p->output_offset;
                        output[((b * os->h + oy) * os->w + ox) * out_depth + oc] =
                            (int8_t)clamp_i32(acc, p->act_min, p->act_max);
                    }
                }
            }
        }
    }
}

#if EK_KERNELS_DSP
/* One tap of four channels: SXTB16 splits bytes 0/2 and 1/3 into 16-bit lanes, the input
 * offset is added per lane, and SMLABB/SMLATT accumulate each channel on its own. */
#define EK_DW_TAP4(ip, wp, a0, a1, a2, a3)                                  \
    do {                                                                     \
        const uint32_t x_ = rd32(ip), w_ = rd32(wp);                         \
        const uint32_t x02_ = ek_sadd16(ek_sxtb16(x_), off2);                \
        const uint32_t x13_ = ek_sadd16(ek_sxtb16_ror8(x_), off2);           \
        const uint32_t w02_ = ek_sxtb16(w_), w13_ = ek_sxtb16_ror8(w_);      \
        a0 = ek_smlabb(x02_, w02_, a0);                                      \
        a2 = ek_smlatt(x02_, w02_, a2);                                      \
        a1 = ek_smlabb(x13_, w13_, a1);                                      \
        a3 = ek_smlatt(x13_, w13_, a3);                                      \
    } while (0)

static inline void dw_store4(const ek_conv_params_t *p, const int32_t *mult, const int32_t *shift,
                             const int32_t *bias, int32_t c, int8_t *out,
                             int32_t a0, int32_t a1, int32_t a2, int32_t a3)
{
    if (bias) { a0 += bias[c]; a1 += bias[c + 1]; a2 += bias[c + 2]; a3 += bias[c + 3]; }
    out[c] = (int8_t)clamp_i32(mbqm(a0, mult[c], shift[c]) + p->output_offset, p->act_min, p->act_max);
    out[c + 1] = (int8_t)clamp_i32(mbqm(a1, mult[c + 1], shift[c + 1]) + p->output_offset, p->act_min, p->act_max);
    out[c + 2] = (int8_t)clamp_i32(mbqm(a2, mult[c + 2], shift[c + 2]) + p->output_offset, p->act_min, p->act_max);
    out[c + 3] = (int8_t)clamp_i32(mbqm(a3, mult[c + 3], shift[c + 3]) + p->output_offset, p->act_min, p->act_max);
}

/* 3x3, dilation 1, the whole window inside the input (every output pixel but the border):
 * the nine taps unrolled, no window bookkeeping. Same products, same order of addition. */
static void dw3x3_interior4(const ek_conv_params_t *p, const int32_t *mult, const int32_t *shift,
                            const int32_t *bias, const int8_t *in, int32_t in_row, int32_t C,
                            const int8_t *filter, int8_t *out, int32_t c_end, uint32_t off2)
{
    const int8_t *r0 = in, *r1 = in + in_row, *r2 = in + 2 * in_row;
    const int8_t *f0 = filter, *f1 = filter + 3 * C, *f2 = filter + 6 * C;
    for (int32_t c = 0; c < c_end; c += 4) {
        int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        EK_DW_TAP4(r0 + c, f0 + c, a0, a1, a2, a3);
        EK_DW_TAP4(r0 + C + c, f0 + C + c, a0, a1, a2, a3);
        EK_DW_TAP4(r0 + 2 * C + c, f0 + 2 * C + c, a0, a1, a2, a3);
        EK_DW_TAP4(r1 + c, f1 + c, a0, a1, a2, a3);
        EK_DW_TAP4(r1 + C + c, f1 + C + c, a0, a1, a2, a3);
        EK_DW_TAP4(r1 + 2 * C + c, f1 + 2 * C + c, a0, a1, a2, a3);
        EK_DW_TAP4(r2 + c, f2 + c, a0, a1, a2, a3);
        EK_DW_TAP4(r2 + C + c, f2 + C + c, a0, a1, a2, a3);
        EK_DW_TAP4(r2 + 2 * C + c, f2 + 2 * C + c, a0, a1, a2, a3);
        dw_store4(p, mult, shift, bias, c, out, a0, a1, a2, a3);
    }
}

/* 3x3, dilation 1, a window cut by the padding (the border pixels): `valid` has bit
 * fy * 3 + fx set for each tap inside the input. Offsets, not pointers, until a tap is
 * known to be inside. */
static void dw3x3_border4(const ek_conv_params_t *p, const int32_t *mult, const int32_t *shift,
                          const int32_t *bias, const int8_t *input, int32_t px_off, int32_t in_row,
                          int32_t C, const int8_t *filter, int8_t *out, int32_t c_end, uint32_t off2,
                          uint32_t valid)
{
    for (int32_t c = 0; c < c_end; c += 4) {
        int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
#define EK_DW_TAP_IF(fy, fx)                                                             \
        if (valid & (1u << ((fy) * 3 + (fx))))                                           \
            EK_DW_TAP4(input + (px_off + (fy) * in_row + (fx) * C + c),                  \
                       filter + ((fy) * 3 + (fx)) * C + c, a0, a1, a2, a3)
        EK_DW_TAP_IF(0, 0); EK_DW_TAP_IF(0, 1); EK_DW_TAP_IF(0, 2);
        EK_DW_TAP_IF(1, 0); EK_DW_TAP_IF(1, 1); EK_DW_TAP_IF(1, 2);
        EK_DW_TAP_IF(2, 0); EK_DW_TAP_IF(2, 1); EK_DW_TAP_IF(2, 2);
#undef EK_DW_TAP_IF
        dw_store4(p, mult, shift, bias, c, out, a0, a1, a2, a3);
    }
}

/* depth_multiplier 1: four channels at a time, one accumulator each (SMLABB/SMLATT on the
 * SXTB16 lanes), the valid filter window computed once per output pixel. */
static void dwconv_dsp(const ek_conv_params_t *p, const int32_t *mult, const int32_t *shift,
                       const ek_shape_t *is, const int8_t *input, const ek_shape_t *fs,
                       const int8_t *filter, const int32_t *bias, const ek_shape_t *os,
                       int8_t *output)
{
    const int32_t C = os->c;
    const uint32_t off2 = ((uint32_t)p->input_offset & 0xFFFFu) | ((uint32_t)p->input_offset << 16);
    const int full3x3 = fs->h == 3 && fs->w == 3 && p->dilation_h == 1 && p->dilation_w == 1;
    for (int32_t b = 0; b < os->n; ++b) {
        for (int32_t oy = 0; oy < os->h; ++oy) {
            const int32_t iy0 = oy * p->stride_h - p->pad_h;
            int32_t fy0 = 0, fy1 = fs->h;
            while (fy0 < fy1 && iy0 + p->dilation_h * fy0 < 0) ++fy0;
            while (fy1 > fy0 && iy0 + p->dilation_h * (fy1 - 1) >= is->h) --fy1;
            for (int32_t ox = 0; ox < os->w; ++ox) {
                const int32_t ix0 = ox * p->stride_w - p->pad_w;
                int32_t fx0 = 0, fx1 = fs->w;
                while (fx0 < fx1 && ix0 + p->dilation_w * fx0 < 0) ++fx0;
                while (fx1 > fx0 && ix0 + p->dilation_w * (fx1 - 1) >= is->w) --fx1;
                int8_t *out = output + ((b * os->h + oy) * os->w + ox) * C;
                /* An offset, not a pointer: the window origin may lie in the padding. */
                const int32_t px_off = ((b * is->h + iy0) * is->w + ix0) * C;
                const int32_t in_row = p->dilation_h * is->w * C, in_col = p->dilation_w * C;
                int32_t c = 0;
                if (full3x3) {
                    c = C & ~3;
                    if (fy0 == 0 && fy1 == 3 && fx0 == 0 && fx1 == 3) {
                        dw3x3_interior4(p, mult, shift, bias, input + px_off, in_row, C, filter, out, c, off2);
                    } else {
                        const uint32_t cols = ((1u << fx1) - 1u) & ~((1u << fx0) - 1u);
                        uint32_t valid = 0;
                        for (int32_t fy = fy0; fy < fy1; ++fy) valid |= cols << (3 * fy);
                        dw3x3_border4(p, mult, shift, bias, input, px_off, in_row, C, filter, out, c, off2, valid);
                    }
                }
                for (; c + 4 <= C; c += 4) {
                    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
                    for (int32_t fy = fy0; fy < fy1; ++fy) {
                        const int8_t *ip = input + (px_off + fy * in_row + fx0 * in_col + c);
                        const int8_t *wp = filter + (fy * fs->w + fx0) * C + c;
                        for (int32_t fx = fx0; fx < fx1; ++fx, ip += in_col, wp += C)
                            EK_DW_TAP4(ip, wp, a0, a1, a2, a3);
                    }
                    dw_store4(p, mult, shift, bias, c, out, a0, a1, a2, a3);
                }
                for (; c < C; ++c) {
                    int32_t acc = 0;
                    for (int32_t fy = fy0; fy < fy1; ++fy) {
                        const int8_t *ip = input + (px_off + fy * in_row + fx0 * in_col + c);
                        const int8_t *wp = filter + (fy * fs->w + fx0) * C + c;
                        for (int32_t fx = fx0; fx < fx1; ++fx, ip += in_col, wp += C)
                            acc += (int32_t)*wp * ((int32_t)*ip + p->input_offset);
                    }
                    if (bias) acc += bias[c];
                    acc = mbqm(acc, mult[c], shift[c]) + p->output_offset;
                    out[c] = (int8_t)clamp_i32(acc, p->act_min, p->act_max);
                }
            }
        }
    }
}
#endif

void ek_depthwise_conv2d_s8(const ek_conv_params_t *p, const int32_t *mult,
                            const int32_t *shift, const ek_shape_t *in_shape,
                            const int8_t *input, const ek_shape_t *filter_shape,
                            const int8_t *filter, const int32_t *bias,
                            const ek_shape_t *out_shape, int8_t *output)
{
#if EK_KERNELS_MVE
    if (p->depth_multiplier == 1) {
        dwconv_mve(p, mult, shift, in_shape, input, filter_shape, filter, bias, out_shape, output);
        return;
    }
#endif
#if EK_KERNELS_DSP
    if (p->depth_multiplier == 1) {
        dwconv_dsp(p, mult, shift, in_shape, input, filter_shape, filter, bias, out_shape, output);
        return;
    }
#endif
    dwconv_ref(p, mult, shift, in_shape, input, filter_shape, filter, bias, out_shape, output);
}

/* ---------------------------------------------------------------------------------------
 * FULLY_CONNECTED
 * ------------------------------------------------------------------------------------- */

void ek_fully_connected_s8(const ek_fc_params_t *p, const int32_t *mult, const int32_t *shift,
                           int per_channel, int32_t rows, int32_t accum_depth,
                           int32_t out_depth, const int8_t *input, const int8_t *filter,
                           const int32_t *bias, int8_t *output, int16_t *scratch)
{
#if EK_KERNELS_DSP
    if (p->filter_offset == 0 && scratch) {
        const int32_t K = accum_depth, k4 = K & ~3;
        for (int32_t b = 0; b < rows; ++b) {
            widen_s8(input + b * K, K, 0, k4, p->input_offset, scratch);
            int32_t o = 0;
            for (; o < out_depth; ++o) {
                int32_t acc = dot1(scratch, filter + o * K, k4, K, bias ? bias[o] : 0);
                const int32_t m = per_channel ? mult[o] : mult[0];
                const int32_t s = per_channel ? shift[o] : shift[0];
                acc = mbqm(acc, m, s) + p->output_offset;
                output[b * out_depth + o] = (int8_t)clamp_i32(acc, p->act_min, p->act_max);
            }
        }
        return;
    }
#else
    (void)scratch;
#endif
    for (int32_t b = 0; b < rows; ++b) {
        for (int32_t o = 0; o < out_depth; ++o) {
            int32_t acc = 0;
            for (int32_t d = 0; d < accum_depth; ++d) {
                const int32_t iv = input[b * accum_depth + d];
                const int32_t fv = filter[o * accum_depth + d];
                acc += (fv + p->filter_offset) * (iv + p->input_offset);
            }
            if (bias) acc += bias[o];
            const int32_t m = per_channel ? mult[o] : mult[0];
            const int32_t s = per_channel ? shift[o] : shift[0];
            acc = mbqm(acc, m, s) + p->output_offset;
            output[b * out_depth + o] = (int8_t)clamp_i32(acc, p->act_min, p->act_max);
        }
    }
}

/* ---------------------------------------------------------------------------------------
 * ADD (same shapes; TFLM's int8 reference with left_shift 20)
 * ------------------------------------------------------------------------------------- */

void ek_add_s8(const ek_add_params_t *p, int32_t size, const int8_t *in1, const int8_t *in2,
               int8_t *output)
{
    for (int32_t i = 0; i < size; ++i) {
        const int32_t v1 = (p->input1_offset + in1[i]) * (1 << p->left_shift);
        const int32_t v2 = (p->input2_offset + in2[i]) * (1 << p->left_shift);
        /* MultiplyByQuantizedMultiplierSmallerThanOneExp == ek_mbqm with shift <= 0. */
        const int32_t s1 = mbqm(v1, p->input1_multiplier, p->input1_shift);
        const int32_t s2 = mbqm(v2, p->input2_multiplier, p->input2_shift);
        const int32_t out = mbqm(s1 + s2, p->output_multiplier, p->output_shift) + p->output_offset;
        output[i] = (int8_t)clamp_i32(out, p->act_min, p->act_max);
    }
}

/* ---------------------------------------------------------------------------------------
 * Pooling
 * ------------------------------------------------------------------------------------- */

void ek_avg_pool_s8(const ek_pool_params_t *p, const ek_shape_t *is, const int8_t *input,
                    const ek_shape_t *os, int8_t *output)
{
    const int32_t C = os->c;
    for (int32_t b = 0; b < os->n; ++b)
        for (int32_t oy = 0; oy < os->h; ++oy)
            for (int32_t ox = 0; ox < os->w; ++ox)
                for (int32_t c = 0; c < C; ++c) {
                    const int32_t iy0 = oy * p->stride_h - p->pad_h;
                    const int32_t ix0 = ox * p->stride_w - p->pad_w;
                    int32_t fy0 = iy0 < 0 ? -iy0 : 0, fx0 = ix0 < 0 ? -ix0 : 0;
                    int32_t fy1 = is->h - iy0 < p->filter_h ? is->h - iy0 : p->filter_h;
                    int32_t fx1 = is->w - ix0 < p->filter_w ? is->w - ix0 : p->filter_w;
                    int32_t acc = 0, count = 0;
                    for (int32_t fy = fy0; fy < fy1; ++fy)
                        for (int32_t fx = fx0; fx < fx1; ++fx) {
                            acc += input[((b * is->h + iy0 + fy) * is->w + ix0 + fx) * C + c];
                            ++count;
                        }
                    if (count == 0) count = 1; /* TFLM fails the op; the generator rejects it */
                    /* Round half away from zero, as the reference does. */
                    acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
                    output[((b * os->h + oy) * os->w + ox) * C + c] =
                        (int8_t)clamp_i32(acc, p->act_min, p->act_max);
                }
}

void ek_max_pool_s8(const ek_pool_params_t *p, const ek_shape_t *is, const int8_t *input,
                    const ek_shape_t *os, int8_t *output)
{
    const int32_t C = os->c;
    for (int32_t b = 0; b < os->n; ++b)
        for (int32_t oy = 0; oy < os->h; ++oy)
            for (int32_t ox = 0; ox < os->w; ++ox)
                for (int32_t c = 0; c < C; ++c) {
                    const int32_t iy0 = oy * p->stride_h - p->pad_h;
                    const int32_t ix0 = ox * p->stride_w - p->pad_w;
                    int32_t fy0 = iy0 < 0 ? -iy0 : 0, fx0 = ix0 < 0 ? -ix0 : 0;
                    int32_t fy1 = is->h - iy0 < p->filter_h ? is->h - iy0 : p->filter_h;
                    int32_t fx1 = is->w - ix0 < p->filter_w ? is->w - ix0 : p->filter_w;
                    int32_t mx = -128;
                    for (int32_t fy = fy0; fy < fy1; ++fy)
                        for (int32_t fx = fx0; fx < fx1; ++fx) {
                            const int32_t v = input[((b * is->h + iy0 + fy) * is->w + ix0 + fx) * C + c];
                            if (v > mx) mx = v;
                        }
                    output[((b * os->h + oy) * os->w + ox) * C + c] =
                        (int8_t)clamp_i32(mx, p->act_min, p->act_max);
                }
}

/* ---------------------------------------------------------------------------------------
 * MEAN over H, W
 * ------------------------------------------------------------------------------------- */

void ek_mean_hw_s8(const ek_shape_t *is, const int8_t *input, int32_t input_zp,
                   int32_t output_zp, int32_t multiplier, int32_t shift, int same_quant,
                   int8_t *output)
{
    const int32_t n = is->h * is->w, C = is->c;
    int32_t m = multiplier, s = shift;
    if (!same_quant) {
        /* Fold 1/n into the multiplier as QuantizedMeanOrSum does. */
        int log2n = 0;
        while ((1LL << (log2n + 1)) <= (int64_t)n) ++log2n;
        int sh = log2n;
        if (sh > 32) sh = 32;
        if (sh > 31 + shift) sh = 31 + shift;
        m = (int32_t)((((int64_t)multiplier) << sh) / n);
        s = shift - sh;
    }
    for (int32_t b = 0; b < is->n; ++b)
        for (int32_t c = 0; c < C; ++c) {
            int32_t sum = 0;
            for (int32_t i = 0; i < n; ++i) sum += input[(b * n + i) * C + c];
            int32_t out;
            if (same_quant) {
                out = sum / n; /* plain integer division, truncating */
            } else {
                out = mbqm(sum - input_zp * n, m, s) + output_zp;
                out = clamp_i32(out, -128, 127);
            }
            output[b * C + c] = (int8_t)out;
        }
}

/* ---------------------------------------------------------------------------------------
 * SOFTMAX (int8 -> int8), gemmlowp fixed point as the reference computes it
 * ------------------------------------------------------------------------------------- */

static inline int32_t sat_mul_pot(int32_t x, int exponent)
{
    /* SaturatingRoundingMultiplyByPOT */
    if (exponent > 0) {
        const int32_t threshold = (int32_t)((1LL << (31 - exponent)) - 1);
        if (x > threshold) return INT32_MAX;
        if (x < -threshold) return INT32_MIN;
        return (int32_t)((uint32_t)x << exponent);
    }
    if (exponent < 0) return rdbypot(x, -exponent);
    return x;
}

/* exp(x) for x in [-1/4, 0), Q0.31 in and out. */
static int32_t exp_quarter(int32_t a)
{
    const int32_t constant_term = 1895147668;  /* exp(-1/8) */
    const int32_t one_third = 715827883;
    const int32_t x = a + (1 << 28);
    const int32_t x2 = srdhm(x, x);
    const int32_t x3 = srdhm(x2, x);
    const int32_t x4 = srdhm(x2, x2);
    const int32_t x4_over_4 = sat_mul_pot(x4, -2);
    const int32_t poly = sat_mul_pot(srdhm(x4_over_4 + x3, one_third) + x2, -1);
    return constant_term + srdhm(constant_term, x + poly);
}

/* exp(a) for a <= 0, a in Q5.26; result Q0.31. */
static int32_t exp_neg_q5(int32_t a)
{
    const int frac = 26;
    const int32_t one_quarter = 1 << (frac - 2);
    const int32_t mask = one_quarter - 1;
    const int32_t a_mod = (a & mask) - one_quarter;
    int32_t result = exp_quarter(sat_mul_pot(a_mod, 5));
    const int32_t remainder = a_mod - a;
    static const int32_t mults[7] = {1672461947, 1302514674, 790015084, 290630308,
                                     39332535, 720401, 242};
    for (int e = -2; e <= 4; ++e)
        if (remainder & (1 << (frac + e))) result = srdhm(result, mults[e + 2]);
    if (a == 0) result = INT32_MAX;
    return result;
}

/* 1/(1+x) for x in [0,1), Q0.31; result Q0.31 (gemmlowp's Newton-Raphson). */
static int32_t one_over_one_plus_x(int32_t a)
{
    const int64_t sum = (int64_t)a + INT32_MAX;
    const int32_t half_den = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
    const int32_t c48_17 = 1515870810, cneg32_17 = -1010580540;  /* Q2.29 */
    int32_t x = c48_17 + srdhm(half_den, cneg32_17);
    for (int i = 0; i < 3; ++i) {
        const int32_t hdx = srdhm(half_den, x);           /* Q2.29 */
        const int32_t one_minus = (1 << 29) - hdx;
        x = x + sat_mul_pot(srdhm(x, one_minus), 2);
    }
    /* ExactMulByPot<-1> only relabels Q2.29 as Q1.30; Rescale<0> then doubles. */
    return sat_mul_pot(x, 1);
}

void ek_softmax_s8(const ek_softmax_params_t *p, int32_t outer, int32_t depth,
                   const int8_t *input, int8_t *output)
{
    for (int32_t i = 0; i < outer; ++i) {
        const int8_t *in = input + i * depth;
        int8_t *out = output + i * depth;
        int32_t mx = -128;
        for (int32_t c = 0; c < depth; ++c)
            if (in[c] > mx) mx = in[c];
        int32_t sum = 0; /* Q12.19 */
        for (int32_t c = 0; c < depth; ++c) {
            const int32_t diff = in[c] - mx;
            if (diff >= p->diff_min) {
                const int32_t r = srdhm((int32_t)((uint32_t)diff << p->input_left_shift),
                                           p->input_multiplier);
                sum += sat_mul_pot(exp_neg_q5(r), -12);
            }
        }
        /* GetReciprocal */
        int headroom_plus_one = 0;
        while (headroom_plus_one < 32 && !(((uint32_t)sum << headroom_plus_one) & 0x80000000u))
            ++headroom_plus_one;
        const int num_bits_over_unit = 12 - headroom_plus_one;
        const int32_t shifted_minus_one =
            (int32_t)(((uint32_t)sum << headroom_plus_one) - (1u << 31));
        const int32_t shifted_scale = one_over_one_plus_x(shifted_minus_one);
        const int exponent = num_bits_over_unit + 31 - 8;
        for (int32_t c = 0; c < depth; ++c) {
            const int32_t diff = in[c] - mx;
            if (diff >= p->diff_min) {
                const int32_t r = srdhm((int32_t)((uint32_t)diff << p->input_left_shift),
                                           p->input_multiplier);
                const int32_t e = exp_neg_q5(r);
                const int32_t unsat = rdbypot(srdhm(shifted_scale, e), exponent);
                out[c] = (int8_t)clamp_i32(unsat - 128, -128, 127);
            } else {
                out[c] = -128;
            }
        }
    }
}

/* ---------------------------------------------------------------------------------------
 * PAD, QUANTIZE, DEQUANTIZE, copy
 * ------------------------------------------------------------------------------------- */

void ek_pad_s8(const ek_shape_t *is, const int8_t *input, const int32_t pads[8],
               int8_t pad_value, const ek_shape_t *os, int8_t *output)
{
    for (int32_t b = 0; b < os->n; ++b)
        for (int32_t y = 0; y < os->h; ++y)
            for (int32_t x = 0; x < os->w; ++x)
                for (int32_t c = 0; c < os->c; ++c) {
                    const int32_t ib = b - pads[0], iy = y - pads[2], ix = x - pads[4], ic = c - pads[6];
                    int8_t v = pad_value;
                    if (ib >= 0 && ib < is->n && iy >= 0 && iy < is->h && ix >= 0 && ix < is->w &&
                        ic >= 0 && ic < is->c)
                        v = input[((ib * is->h + iy) * is->w + ix) * is->c + ic];
                    output[((b * os->h + y) * os->w + x) * os->c + c] = v;
                }
}

void ek_quantize_f32_s8(int32_t size, const float *input, float scale, int32_t zero_point,
                        int8_t *output)
{
    for (int32_t i = 0; i < size; ++i) {
        /* float division and round half away from zero (TfLiteRound), as AffineQuantize */
        const float q = roundf(input[i] / scale);
        int32_t v;
        if (q >= 2147483520.0f) v = INT32_MAX - 255;
        else if (q <= -2147483520.0f) v = INT32_MIN + 255;
        else v = (int32_t)q;
        output[i] = (int8_t)clamp_i32(v + zero_point, -128, 127);
    }
}

void ek_requantize_s8(int32_t size, const int8_t *input, int32_t input_zp, int32_t multiplier,
                      int32_t shift, int32_t output_zp, int8_t *output)
{
    for (int32_t i = 0; i < size; ++i) {
        const int32_t v = mbqm(input[i] - input_zp, multiplier, shift) + output_zp;
        output[i] = (int8_t)clamp_i32(v, -128, 127);
    }
}

void ek_dequantize_s8_f32(int32_t size, const int8_t *input, double scale, int32_t zero_point,
                          float *output)
{
    for (int32_t i = 0; i < size; ++i)
        output[i] = (float)(scale * (double)(input[i] - zero_point));
}

void ek_copy(size_t bytes, const void *input, void *output)
{
    if (input != output) memmove(output, input, bytes);
}

/* edgekit-micro kernels: CONV_2D (per-channel) in its reference, DSP and Helium
 * variants. Declarations: conv.h.
 *
 * The arithmetic follows TFLite Micro's reference integer kernels operation by operation
 * (not merely "close"): every rounding step is the same, so outputs are bit-exact. Tests in
 * tests/runtime and tests/codegen hold this against the tflite-micro interpreter.
 */
#include "conv.h"
#include "ek_simd.h"

/* The arena scratch (the `scratch` argument) is sized by the generator: the one formula is
 * scratch_bytes() in toolkit/edgekit/codegen/ops/conv_2d.py. */

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

#if EK_KERNELS_DSP || EK_KERNELS_MVE
/* Short runs (a filter row, a tap's cin bytes): whole words, then at most three bytes, spelled
 * out (as loops, GCC turns the tails into calls of memset/memcpy that cost more than they move). */
static inline void copy_s8(int8_t *dst, const int8_t *src, int32_t n)
{
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) wr32(dst + i, rd32(src + i));
    if (n & 2) {
        dst[i] = src[i];
        dst[i + 1] = src[i + 1];
        i += 2;
    }
    if (n & 1) dst[i] = src[i];
}
static inline void fill_s8(int8_t *dst, int8_t v, int32_t n)
{
    const uint32_t v4 = (uint8_t)v * 0x01010101u;
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) wr32(dst + i, v4);
    if (n & 2) {
        dst[i] = v;
        dst[i + 1] = v;
        i += 2;
    }
    if (n & 1) dst[i] = v;
}

/* Output pixel px's K = kh*kw*cin inputs as int8 in `stage`, the padding as the input zero
 * point (the dsp kernel's staged pixel, the Helium kernel's im2col row). A window wider than
 * one tap is staged so that the dsp kernel widens it a word at a time: read in place, a row of
 * kw*cin bytes not a multiple of four (KWS's first conv: cin 1, VWW's and MobileNetV2's: cin 3)
 * or a tap cut by the padding would widen one byte at a time. With dilation_w 1 a filter row
 * is the padding left, one run of input, the padding right. */
static void gather_s8(const ek_conv_params_t *p, const ek_shape_t *is, const int8_t *input, const ek_shape_t *fs,
                      int32_t b, int32_t iy0, int32_t ix0, int8_t *stage)
{
    /* Every field in a local: the int8 stores may alias the structs, which would reload them. */
    const int32_t cin = fs->c, kw = fs->w, kh = fs->h, run = kw * cin, ih = is->h, iw = is->w;
    const int32_t dil_h = p->dilation_h, dil_w = p->dilation_w;
    const int8_t zp = (int8_t)(-p->input_offset);
    if (dil_w == 1 && ix0 >= 0 && ix0 + kw <= iw && iy0 >= 0 && iy0 + dil_h * (kh - 1) < ih) {
        /* The whole window inside (most pixels): one run per filter row. */
        const int8_t *row = input + ((size_t)(b * ih + iy0) * iw + ix0) * cin;
        const size_t row_step = (size_t)dil_h * iw * cin;
        for (int32_t fy = 0; fy < kh; ++fy, stage += run, row += row_step) copy_s8(stage, row, run);
        return;
    }
    int32_t fx0 = ix0 < 0 ? -ix0 : 0, fx1 = iw - ix0 < kw ? iw - ix0 : kw;
    if (fx1 < fx0) fx1 = fx0;
    const int32_t left = fx0 * cin, inside = (fx1 - fx0) * cin, right = (kw - fx1) * cin;
    for (int32_t fy = 0; fy < kh; ++fy, stage += run) {
        const int32_t iy = iy0 + dil_h * fy;
        if (iy < 0 || iy >= ih) {
            fill_s8(stage, zp, run);
            continue;
        }
        const int8_t *row = input + (size_t)(b * ih + iy) * iw * cin;
        if (dil_w == 1) {
            fill_s8(stage, zp, left);
            copy_s8(stage + left, row + (ix0 + fx0) * cin, inside);
            fill_s8(stage + left + inside, zp, right);
            continue;
        }
        for (int32_t fx = 0; fx < kw; ++fx) {
            const int32_t ix = ix0 + dil_w * fx;
            if (ix < 0 || ix >= iw)
                fill_s8(stage + fx * cin, zp, cin);
            else
                copy_s8(stage + fx * cin, row + ix * cin, cin);
        }
    }
}

#endif

#if EK_KERNELS_DSP && !EK_KERNELS_MVE
/* The dsp kernel reads what the generator packed at build time (codegen/ops/conv_2d.py,
 * pack_filter_dsp and fold_bias_dsp): the filter as int16, K padded to a multiple of four,
 * output channels padded to a multiple of three; per triple of output channels and tap pair
 * (taps x0 x2, then x1 x3 of each group of four: SXTB16's lanes) the three channels' words;
 * the bias with input_offset * sum(w) folded in, so the raw int8 inputs are multiplied (the
 * same sums modulo 2^32 as the reference's w * (x + offset)).
 *
 * Two output pixels by three output channels are computed together: the two pixels' im2col
 * rows are interleaved per tap pair (pixel 0's word, pixel 1's), so per tap pair two words
 * are both pixels' inputs, three the three channels' weights (five single LDRs, which
 * pipeline), and the 2x3 block is six SMLADs: 12 cycles for 12 MACs on an M4. */

/* Where element k of a pixel's im2col row sits in its slot (slot 1 starts two int16 on) of
 * the pair row: its group of four taps (eight int16 for the pair), its tap pair's word
 * (x0 x2 at 0, x1 x3 at 4), its SXTB16 lane. */
static inline int32_t pair_pos(int32_t k) { return (k >> 2) * 8 + (k & 1) * 4 + ((k >> 1) & 1); }

/* Widen n int8 values into a pixel's slot of the interleaved pair row, src NULL for the
 * padding: the input zero point (its offset-corrected value is 0, as the reference's skipped
 * tap). */
static void widen_slot(const int8_t *src, int32_t n, int16_t zp, int16_t *col)
{
    int32_t i = 0;
    const uint32_t zp2 = ((uint32_t)(uint16_t)zp) | ((uint32_t)(uint16_t)zp << 16);
    int16_t *dst = col;
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    if (src && n >= 16 && ((uintptr_t)src & 3u) == 0) {
        /* Sixteen inputs a step from a word-aligned source (a pointwise layer's pixel): one LDM,
         * eight SXTB16s and eight STRs with immediate offsets into the four groups. */
        int32_t blocks = n >> 4;
        const int8_t *s = src;
        __asm__ volatile(
            "1:\n\t"
            "ldmia %[s]!, {r4, r5, r6, r8}\n\t"
            "sxtb16 r9, r4\n\tsxtb16 r4, r4, ror #8\n\tstr r9, [%[d]]\n\tstr r4, [%[d], #8]\n\t"
            "sxtb16 r9, r5\n\tsxtb16 r5, r5, ror #8\n\tstr r9, [%[d], #16]\n\tstr r5, [%[d], #24]\n\t"
            "sxtb16 r9, r6\n\tsxtb16 r6, r6, ror #8\n\tstr r9, [%[d], #32]\n\tstr r6, [%[d], #40]\n\t"
            "sxtb16 r9, r8\n\tsxtb16 r8, r8, ror #8\n\tstr r9, [%[d], #48]\n\tstr r8, [%[d], #56]\n\t"
            "adds %[d], %[d], #64\n\t"
            "subs %[n], %[n], #1\n\t"
            "bne 1b\n\t"
            : [s] "+r"(s), [d] "+r"(dst), [n] "+r"(blocks)
            :
            : "r4", "r5", "r6", "r8", "r9", "cc", "memory");
        i = n & ~15;
    }
#endif
    for (; i + 4 <= n; i += 4, dst += 8) {  /* whole groups: a word of four int8 -> two words */
        if (src) {
            const uint32_t v = rd32(src + i);
            wr32(dst, ek_sxtb16(v));
            wr32(dst + 4, ek_sxtb16_ror8(v));
        } else {
            wr32(dst, zp2);
            wr32(dst + 4, zp2);
        }
    }
    for (; i < n; ++i) col[pair_pos(i)] = src ? (int16_t)src[i] : zp;
}

/* A window whose filter row is one word (kw * cin = 4, dilation_w 1: KWS's first conv, 10x4 on
 * one channel): per filter row the word read (or, cut by the padding, put together with the
 * zero point in the padding's bytes) and widened into its group of the slot, no staging. */
static void im2col_rows4(const ek_conv_params_t *p, const ek_shape_t *is, const int8_t *input,
                         const ek_shape_t *fs, int32_t b, int32_t iy0, int32_t ix0, int16_t *col)
{
    const int32_t cin = fs->c, kw = fs->w, kh = fs->h, ih = is->h, iw = is->w, dil_h = p->dilation_h;
    const uint32_t zp4 = (uint32_t)(uint8_t)(int8_t)(-p->input_offset) * 0x01010101u;
    int32_t fx0 = ix0 < 0 ? -ix0 : 0, fx1 = iw - ix0 < kw ? iw - ix0 : kw;
    if (fx1 < fx0) fx1 = fx0;
    const int32_t t0 = fx0 * cin, t1 = fx1 * cin;  /* the bytes of a row inside the input */
    for (int32_t fy = 0; fy < kh; ++fy, col += 8) {
        const int32_t iy = iy0 + dil_h * fy;
        uint32_t v = zp4;
        if (iy >= 0 && iy < ih) {
            const int8_t *row = input + ((size_t)(b * ih + iy) * iw) * cin;
            const int32_t at = ix0 * cin;  /* the window row's first byte, in the padding if < 0 */
            if (t0 == 0 && t1 == 4) {
                v = rd32(row + at);
            } else {
                for (int32_t t = t0; t < t1; ++t)
                    v = (v & ~(0xFFu << (8 * t))) | ((uint32_t)(uint8_t)row[at + t] << (8 * t));
            }
        }
        wr32(col, ek_sxtb16(v));
        wr32(col + 4, ek_sxtb16_ror8(v));
    }
}

/* A 1x1 window at stride 1 with no padding: output pixel px is input pixel px. */
static inline int pointwise_direct(const ek_conv_params_t *p, const ek_shape_t *fs)
{
    return fs->h == 1 && fs->w == 1 && p->stride_h == 1 && p->stride_w == 1 && p->pad_h == 0 && p->pad_w == 0;
}

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
/* widen_pair's loop: pixels at registers a and b (post-incremented), the row at d, n groups;
 * r4-r6 and r8-r12 taken. */
#define EK_WIDEN_PAIR_ASM(a, b, d, n)                                                       \
    "tst " n ", #1\n\t"                                                                     \
    "beq 7f\n\t"                                                                            \
    "ldr r4, [" a "], #4\n\t"                                                               \
    "ldr r5, [" b "], #4\n\t"                                                               \
    "sxtb16 r6, r4, ror #8\n\t"                                                             \
    "sxtb16 r8, r5, ror #8\n\t"                                                             \
    "sxtb16 r4, r4\n\t"                                                                     \
    "sxtb16 r5, r5\n\t"                                                                     \
    "stmia " d "!, {r4, r5, r6, r8}\n\t"                                                    \
    "7:\n\t"                                                                                \
    "lsrs " n ", " n ", #1\n\t"                                                             \
    "beq 9f\n\t"                                                                            \
    "8:\n\t"                                                                                \
    "ldr r4, [" a "], #4\n\t"                                                               \
    "ldr r9, [" a "], #4\n\t"                                                               \
    "ldr r5, [" b "], #4\n\t"                                                               \
    "ldr r10, [" b "], #4\n\t"                                                              \
    "sxtb16 r6, r4, ror #8\n\t"                                                             \
    "sxtb16 r8, r5, ror #8\n\t"                                                             \
    "sxtb16 r4, r4\n\t"                                                                     \
    "sxtb16 r5, r5\n\t"                                                                     \
    "stmia " d "!, {r4, r5, r6, r8}\n\t"                                                    \
    "sxtb16 r11, r9, ror #8\n\t"                                                            \
    "sxtb16 r12, r10, ror #8\n\t"                                                           \
    "sxtb16 r9, r9\n\t"                                                                     \
    "sxtb16 r10, r10\n\t"                                                                   \
    "stmia " d "!, {r9, r10, r11, r12}\n\t"                                                 \
    "subs " n ", " n ", #1\n\t"                                                             \
    "bne 8b\n\t"                                                                            \
    "9:\n\t"
#endif

/* A pointwise layer's pixel pair (in0, in1: cin = 4 groups int8 each) widened into the pair
 * row: per group of four inputs the two pixels' (x0 x2) words, then their (x1 x3) words, one
 * STM; two groups a step. On the core the loop is asm: in C it widens one pixel at a time. */
static inline __attribute__((always_inline)) void widen_pair(const int8_t *in0, const int8_t *in1,
                                                            int32_t groups, int16_t *col)
{
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    __asm__ volatile(EK_WIDEN_PAIR_ASM("%[a]", "%[b]", "%[d]", "%[n]")
                     : [a] "+r"(in0), [b] "+r"(in1), [d] "+r"(col), [n] "+r"(groups)
                     :
                     : "r4", "r5", "r6", "r8", "r9", "r10", "r11", "r12", "cc", "memory");
#else
    widen_slot(in0, 4 * groups, 0, col);
    widen_slot(in1, 4 * groups, 0, col + 2);
#endif
}

/* A pixel's slot of the interleaved pair row: the K = kh*kw*cin inputs of output
 * pixel px, the tail up to k4 zero. A 1x1 conv's pixel is read in place (stride 1 and no
 * padding, the pointwise layers: the output pixel is the input pixel, no division). */
static void im2col_slot(const ek_conv_params_t *p, const ek_shape_t *is, const int8_t *input,
                        const ek_shape_t *fs, int32_t px, int32_t ow, int32_t oh, int32_t k4,
                        int16_t *col, int8_t *stage)
{
    const int32_t cin = fs->c, K = fs->h * fs->w * cin;
    const int16_t zp = (int16_t)(-p->input_offset);
    if (pointwise_direct(p, fs)) {
        widen_slot(input + (size_t)px * cin, cin, zp, col);
    } else {
        const int32_t ox = px % ow, t = px / ow, oy = t % oh, b = t / oh;
        const int32_t iy0 = oy * p->stride_h - p->pad_h, ix0 = ox * p->stride_w - p->pad_w;
        if (fs->h == 1 && fs->w == 1) {
            const int inside = iy0 >= 0 && iy0 < is->h && ix0 >= 0 && ix0 < is->w;
            widen_slot(inside ? input + ((size_t)(b * is->h + iy0) * is->w + ix0) * cin : NULL, cin, zp, col);
        } else if (fs->w * cin == 4 && p->dilation_w == 1) {
            im2col_rows4(p, is, input, fs, b, iy0, ix0, col);
        } else {
            gather_s8(p, is, input, fs, b, iy0, ix0, stage);
            widen_slot(stage, K, zp, col);
        }
    }
    for (int32_t k = K; k < k4; ++k) col[pair_pos(k)] = 0;
}

/* RoundingDivideByPOT (rdbypot) with the mask and half-mask precomputed per channel and no
 * branch: x / 2^e rounded half away from zero is (x >> e) + (remainder > threshold), and
 * threshold - remainder < 0 exactly then (both lie in [0, 2^e]). */
static inline int32_t rdbypot_masked(int32_t x, int32_t e, int32_t mask, int32_t half)
{
    const int32_t threshold = half + (int32_t)((uint32_t)x >> 31);
    return (x >> e) - ((threshold - (x & mask)) >> 31);
}

/* Requantize the accumulators of one pixel pair (acc[2 * oc] pixel 0's, acc[2 * oc + 1]
 * pixel 1's; out1 == out0 for a pixel paired with itself). The shift split and rounding
 * mask are per channel, shared by the two pixels; the value is mbqm_qadd's (= TFLM's
 * MultiplyByQuantizedMultiplier) with rdbypot_masked's rounding. `full` (the activation
 * range is all of int8, as after no activation or a ReLU whose zero is -128) clamps with
 * one saturation instead of two compares; each caller passes a constant. */
static inline void requant_pair_body(const ek_conv_params_t *p, const int32_t *mult, const int32_t *shift,
                                     const int32_t *acc, int32_t C, int8_t *out0, int8_t *out1, int full)
{
    const int32_t zp = p->output_offset, lo = p->act_min, hi = p->act_max;
    for (int32_t oc = 0; oc < C; ++oc, acc += 2) {
        const int32_t s = shift[oc], m = mult[oc];
        const int32_t left = s > 0 ? s : 0, right = s > 0 ? 0 : -s;
        const int32_t mask = (int32_t)((1u << right) - 1u), half = mask >> 1;
        const int32_t x0 = rdbypot_masked(srdhm_qadd((int32_t)((uint32_t)acc[0] << left), m), right, mask, half) + zp;
        const int32_t x1 = rdbypot_masked(srdhm_qadd((int32_t)((uint32_t)acc[1] << left), m), right, mask, half) + zp;
        out0[oc] = (int8_t)(full ? ek_ssat8(x0) : clamp_i32(x0, lo, hi));
        out1[oc] = (int8_t)(full ? ek_ssat8(x1) : clamp_i32(x1, lo, hi));
    }
}

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
/* requant_pair_body(..., full = 1) on the core, the same operations in fixed registers (in
 * C the compiler spills the pointers on every channel). Per channel: left = max(s, 0),
 * right = left - s; per output: x = acc << left; SMULL; hi:lo doubled plus 2^31, whose high
 * word is srdhm(x, m) (= floor((x m + 2^30) / 2^31); the doubling cannot overflow as the
 * generator's multipliers are never INT32_MIN, the one case srdhm saturates); then
 * rdbypot_masked, the zero point, SSAT #8. */
static void requant_pair_full(const ek_conv_params_t *p, const int32_t *mult, const int32_t *shift,
                              const int32_t *acc, int32_t C, int8_t *out0, int8_t *out1)
{
    register const int32_t *rm __asm__("r0") = mult;
    register const int32_t *rs __asm__("r1") = shift;
    register const int32_t *ra __asm__("r2") = acc;
    register int8_t *o0 __asm__("r3") = out0;
    register int8_t *o1 __asm__("r12") = out1;
    register int32_t n __asm__("lr") = C;
    const int32_t zp = p->output_offset;
    __asm__ volatile(
        "1:\n\t"
        "ldr r4, [%[rm]], #4\n\t"
        "ldr r5, [%[rs]], #4\n\t"
        "ldrd r6, r8, [%[ra]], #8\n\t"
        "bic r10, r5, r5, asr #31\n\t"
        "lsl r6, r6, r10\n\t"
        "lsl r8, r8, r10\n\t"
        "sub r5, r10, r5\n\t"
        "smull r6, r10, r6, r4\n\t"
        "smull r8, r11, r8, r4\n\t"
        "adds r6, r6, r6\n\t"
        "adc r10, r10, r10\n\t"
        "adds r6, r6, #0x80000000\n\t"
        "adc r10, r10, #0\n\t"
        "adds r8, r8, r8\n\t"
        "adc r11, r11, r11\n\t"
        "adds r8, r8, #0x80000000\n\t"
        "adc r11, r11, #0\n\t"
        "movs r4, #1\n\t"
        "lsl r4, r4, r5\n\t"
        "subs r4, r4, #1\n\t"
        "asr r6, r4, #1\n\t"
        "and r8, r10, r4\n\t"
        "add r9, r6, r10, lsr #31\n\t"
        "sub r9, r9, r8\n\t"
        "asr r10, r10, r5\n\t"
        "add r10, r10, r9, lsr #31\n\t"
        "and r8, r11, r4\n\t"
        "add r9, r6, r11, lsr #31\n\t"
        "sub r9, r9, r8\n\t"
        "asr r11, r11, r5\n\t"
        "add r11, r11, r9, lsr #31\n\t"
        "ldr r4, %[zp]\n\t"
        "add r10, r10, r4\n\t"
        "add r11, r11, r4\n\t"
        "ssat r10, #8, r10\n\t"
        "ssat r11, #8, r11\n\t"
        "strb r10, [%[o0]], #1\n\t"
        "strb r11, [%[o1]], #1\n\t"
        "subs %[n], %[n], #1\n\t"
        "bne 1b\n\t"
        : [rm] "+r"(rm), [rs] "+r"(rs), [ra] "+r"(ra), [o0] "+r"(o0), [o1] "+r"(o1), [n] "+r"(n)
        : [zp] "m"(zp)
        : "r4", "r5", "r6", "r8", "r9", "r10", "r11", "cc", "memory");
}
#else
static void requant_pair_full(const ek_conv_params_t *p, const int32_t *mult, const int32_t *shift,
                              const int32_t *acc, int32_t C, int8_t *out0, int8_t *out1)
{
    requant_pair_body(p, mult, shift, acc, C, out0, out1, 1);
}
#endif

/* The layers whose parameters the generator proved fit (p->rq_stream, {M, h, r} per channel;
 * codegen/ops/conv_2d.py, requant_short_params): srdhm(acc, M) is floor((acc M + 2^30) / 2^31)
 * (TFLM's nudge rounds negative halves up too), which is SMMLAR of 2 acc and M; adding
 * h = 2^(r-1) + zp 2^r there and subtracting 1 for a negative accumulator makes one
 * arithmetic right shift by r give rdbypot's half-away-from-zero rounding plus the zero point
 * (a negative acc whose srdhm is 0 lands at zp either way, as r >= 1). These layers' packed
 * weights and folded bias are doubled, so the accumulators arrive as 2 acc. */
static inline int32_t requant_short(const int32_t *mhr, int32_t acc2)
{
    return ek_ssat8((ek_smmlar(acc2, mhr[0], mhr[1] - (int32_t)((uint32_t)acc2 >> 31))) >> mhr[2]);
}

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
/* One channel of a pixel pair on the core: {M, h, r} from `q` (LDM, written back), the two
 * doubled accumulators a and b, the outputs at [o] (post-incremented) and [o + d]. */
#define EK_RQ_SHORT_CH(q, a, b, o, d)                   \
    "ldmia " q "!, {r6, r8, r10}\n\t"                   \
    "sub r11, r8, " a ", lsr #31\n\t"                   \
    "sub r8, r8, " b ", lsr #31\n\t"                    \
    "smmlar " a ", " a ", r6, r11\n\t"                  \
    "smmlar " b ", " b ", r6, r8\n\t"                   \
    "asr " a ", " a ", r10\n\t"                         \
    "asr " b ", " b ", r10\n\t"                         \
    "ssat " a ", #8, " a "\n\t"                         \
    "ssat " b ", #8, " b "\n\t"                         \
    "strb " b ", [" o ", " d "]\n\t"                    \
    "strb " a ", [" o "], #1\n\t"

static void requant_pair_short(const int32_t *mhr, const int32_t *acc, int32_t C, int8_t *out0, int8_t *out1)
{
    const int32_t d = (int32_t)(out1 - out0);
    __asm__ volatile(
        "1:\n\t"
        "ldmia %[a]!, {r4, r5}\n\t"
        EK_RQ_SHORT_CH("%[q]", "r4", "r5", "%[o]", "%[d]")
        "subs %[n], %[n], #1\n\t"
        "bne 1b\n\t"
        : [q] "+r"(mhr), [a] "+r"(acc), [o] "+r"(out0), [n] "+r"(C)
        : [d] "r"(d)
        : "r4", "r5", "r6", "r8", "r10", "r11", "cc", "memory");
}
#else
static void requant_pair_short(const int32_t *mhr, const int32_t *acc, int32_t C, int8_t *out0, int8_t *out1)
{
    for (int32_t oc = 0; oc < C; ++oc, acc += 2, mhr += 3) {
        out0[oc] = (int8_t)requant_short(mhr, acc[0]);
        out1[oc] = (int8_t)requant_short(mhr, acc[1]);
    }
}
#endif

/* Apart from the MAC loop (inside it the outputs' pointers and bounds spill: noinline). */
__attribute__((noinline)) static void requant_pair(const ek_conv_params_t *p, const int32_t *mult,
                                                   const int32_t *shift, const int32_t *acc, int32_t C,
                                                   int8_t *out0, int8_t *out1)
{
    if (p->act_min == -128 && p->act_max == 127)
        requant_pair_full(p, mult, shift, acc, C, out0, out1);
    else
        requant_pair_body(p, mult, shift, acc, C, out0, out1, 0);
}

/* Tap pairs per pass of the unrolled MAC loop; the first pass of a channel triple enters it
 * part way, so a pass's worth of padding is never multiplied. */
#define EK_CONV_PASS 32

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
/* One tap pair of the 2x3 block, 44 bytes (every instruction 32-bit, so that the entry into
 * a pass can be computed): r6 r8 the two pixels' words, r10 r11 lr the three channels'. Five
 * single LDRs, which pipeline into six cycles where the two LDMs took seven: 12 cycles for
 * the 12 MACs on an M4. */
#define EK_CONV_TAP_PAIR_ASM                          \
    "ldr.w r6, [r12], #4\n\t"                       \
    "ldr.w r8, [r12], #4\n\t"                       \
    "ldr.w r10, [r9], #4\n\t"                       \
    "ldr.w r11, [r9], #4\n\t"                       \
    "ldr.w lr, [r9], #4\n\t"                        \
    "smlad r0, r10, r6, r0\n\t"                     \
    "smlad r1, r10, r8, r1\n\t"                     \
    "smlad r2, r11, r6, r2\n\t"                     \
    "smlad r3, r11, r8, r3\n\t"                     \
    "smlad r4, lr, r6, r4\n\t"                      \
    "smlad r5, lr, r8, r5\n\t"
#define EK_CONV_TAP_PAIR_BYTES 44

/* The MAC loop of an output channel triple of a pixel pair: the accumulators (r0-r5:
 * channel-major, pixel 0 then 1) start at the bias, run the tap pairs (a BX into the first
 * pass skips what the tap count leaves of it, then whole passes until the pair row's end);
 * the weights pointer (r9) runs on across triples, as they are packed back to back. The
 * entry's address is computed once a call of the asm; its other state lives in memory
 * operands: every register is taken. */
#define EK_CONV_ENTRY_ASM                                                                   \
    "adr.w r8, 1f\n\t"                                                                      \
    "ldr r6, %[skip]\n\t"                                                                   \
    "add r8, r8, r6\n\t"                                                                    \
    "orr r8, r8, #1\n\t"                                                                    \
    "str r8, %[entry]\n\t"
/* A pass: 32 taps of `tap` (every instruction 32-bit, so that the entry into a pass can be
 * computed), then on while the pair row's reads (r12) have not reached its end. */
#define EK_CONV_PASS_BODY(tap)                                                              \
    ".p2align 2\n"                                                                          \
    "1:\n\t"                                                                                \
    tap tap tap tap tap tap tap tap tap tap tap tap tap tap tap tap                         \
    tap tap tap tap tap tap tap tap tap tap tap tap tap tap tap tap                         \
    "ldr r6, %[col_end]\n\t"                                                                \
    "cmp r12, r6\n\t"                                                                       \
    "bne 1b\n\t"
/* The first tap pair of a triple apart, each pixel-1 accumulator starting from its channel's
 * bias in the pixel-0 register (no MOVs: the accumulators arrive as r0 r2 r4); the passes
 * then run the rest (EK_CONV_PASS_SETUP counts it out). */
#define EK_CONV_TAP_PAIR_FIRST_ASM                    \
    "ldr r6, [r12], #4\n\t"                         \
    "ldr r8, [r12], #4\n\t"                         \
    "ldr r10, [r9], #4\n\t"                         \
    "ldr r11, [r9], #4\n\t"                         \
    "ldr lr, [r9], #4\n\t"                          \
    "smlad r1, r10, r8, r0\n\t"                     \
    "smlad r0, r10, r6, r0\n\t"                     \
    "smlad r3, r11, r8, r2\n\t"                     \
    "smlad r2, r11, r6, r2\n\t"                     \
    "smlad r5, lr, r8, r4\n\t"                      \
    "smlad r4, lr, r6, r4\n\t"
#define EK_CONV_PASSES_ASM                                                                  \
    "ldr r12, %[col]\n\t"                                                                   \
    EK_CONV_TAP_PAIR_FIRST_ASM                                                              \
    "ldr r8, %[entry]\n\t"                                                                  \
    "bx r8\n\t"                                                                             \
    EK_CONV_PASS_BODY(EK_CONV_TAP_PAIR_ASM)

/* The entry's offset into the first pass for k4 taps less the `peeled` tap pairs run before
 * it (tap_bytes a tap pair's code), and the pair row's end. */
#define EK_CONV_PASS_SETUP(col, k4) EK_CONV_PASS_SETUP_BYTES(col, k4, EK_CONV_TAP_PAIR_BYTES, 1)
#define EK_CONV_PASS_SETUP_BYTES(col, k4, tap_bytes, peeled)                                \
    const int32_t rem = (((k4) >> 1) - (peeled)) % EK_CONV_PASS;                            \
    const int32_t skip = rem ? (EK_CONV_PASS - rem) * (tap_bytes) : 0;                      \
    const int16_t *const col_base = (col), *const col_end = (col) + 2 * (k4);               \
    int32_t entry

/* Every triple's accumulators stored to acc, in the order requant_pair reads. */
static void mac_block(const int16_t *col, const int16_t *w, const int32_t *bias_folded,
                      int32_t C, int32_t k4, int32_t *acc)
{
    EK_CONV_PASS_SETUP(col, k4);
    int32_t triples = (C + 2) / 3;
    const int32_t *bias = bias_folded;
    int32_t *out = acc;
    register const int16_t *wr __asm__("r9") = w;
    __asm__ volatile(
        EK_CONV_ENTRY_ASM
        "2:\n\t"
        "ldr r6, %[bias]\n\t"
        "ldmia r6!, {r0, r2, r4}\n\t"
        "str r6, %[bias]\n\t"
        EK_CONV_PASSES_ASM
        "ldr r6, %[out]\n\t"
        "stmia r6!, {r0, r1, r2, r3, r4, r5}\n\t"
        "str r6, %[out]\n\t"
        "ldr r6, %[triples]\n\t"
        "subs r6, r6, #1\n\t"
        "str r6, %[triples]\n\t"
        "bne 2b\n\t"
        : [w] "+r"(wr), [bias] "+m"(bias), [out] "+m"(out), [triples] "+m"(triples), [entry] "=m"(entry)
        : [col] "m"(col_base), [col_end] "m"(col_end), [skip] "m"(skip)
        : "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r8", "r10", "r11", "r12", "lr", "cc", "memory");
}

/* One tap pair of mac_tail's last channel, or of its last two. */
#define EK_TAIL1_ASM(x, w, a0, a1)                                                          \
    "ldr r4, [" x "], #4\n\t"                                                               \
    "ldr r5, [" x "], #4\n\t"                                                               \
    "ldr r6, [" w "], #12\n\t"                                                              \
    "smlad " a0 ", r6, r4, " a0 "\n\t"                                                      \
    "smlad " a1 ", r6, r5, " a1 "\n\t"
#define EK_TAIL2_ASM(x, w, a0, a1, a2, a3)                                                  \
    "ldr r4, [" x "], #4\n\t"                                                               \
    "ldr r5, [" x "], #4\n\t"                                                               \
    "ldr r6, [" w "], #4\n\t"                                                               \
    "ldr r8, [" w "], #8\n\t"                                                               \
    "smlad " a0 ", r6, r4, " a0 "\n\t"                                                      \
    "smlad " a1 ", r6, r5, " a1 "\n\t"                                                      \
    "smlad " a2 ", r8, r4, " a2 "\n\t"                                                      \
    "smlad " a3 ", r8, r5, " a3 "\n\t"

/* The last one or two output channels of a pixel pair (C not a multiple of three), whose
 * triple is packed with zero weights for the missing channels: only the real channels'
 * words are read (stride 12 bytes a tap pair; single LDRs, which pipeline) and multiplied,
 * two tap pairs a step (k4 is a multiple of four). acc gets the channels' accumulators as
 * mac_block stores them. */
static void mac_tail(const int16_t *col, const int16_t *w, const int32_t *bias, int32_t n, int32_t k4, int32_t *acc)
{
    int32_t steps = k4 >> 2;
    if (n == 1) {
        register int32_t a0 __asm__("r0") = bias[0], a1 __asm__("r1") = bias[0];
        __asm__ volatile(
            "1:\n\t"
            EK_TAIL1_ASM("%[x]", "%[w]", "%[a0]", "%[a1]") EK_TAIL1_ASM("%[x]", "%[w]", "%[a0]", "%[a1]")
            "subs %[n], %[n], #1\n\t"
            "bne 1b\n\t"
            : [a0] "+r"(a0), [a1] "+r"(a1), [x] "+r"(col), [w] "+r"(w), [n] "+r"(steps)
            :
            : "r4", "r5", "r6", "cc", "memory");
        acc[0] = a0;
        acc[1] = a1;
    } else {
        register int32_t a0 __asm__("r0") = bias[0], a1 __asm__("r1") = bias[0];
        register int32_t a2 __asm__("r2") = bias[1], a3 __asm__("r3") = bias[1];
        __asm__ volatile(
            "1:\n\t"
            EK_TAIL2_ASM("%[x]", "%[w]", "%[a0]", "%[a1]", "%[a2]", "%[a3]")
            EK_TAIL2_ASM("%[x]", "%[w]", "%[a0]", "%[a1]", "%[a2]", "%[a3]")
            "subs %[n], %[n], #1\n\t"
            "bne 1b\n\t"
            : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+r"(col), [w] "+r"(w),
              [n] "+r"(steps)
            :
            : "r4", "r5", "r6", "r8", "cc", "memory");
        acc[0] = a0;
        acc[1] = a1;
        acc[2] = a2;
        acc[3] = a3;
    }
}

/* The triples of a stream from r9 up to %[end]: per triple its biases, its passes, its six
 * outputs requantized and stored at r7 (post-incremented) and r7 + %[d]. */
#define EK_STREAM_TRIPLES_ASM                                                               \
    "2:\n\t"                                                                                \
    "ldmia r9!, {r0, r2, r4}\n\t"                                                           \
    EK_CONV_PASSES_ASM                                                                      \
    "ldr lr, %[d]\n\t"                                                                      \
    EK_RQ_SHORT_CH("r9", "r0", "r1", "r7", "lr")                                            \
    EK_RQ_SHORT_CH("r9", "r2", "r3", "r7", "lr")                                            \
    EK_RQ_SHORT_CH("r9", "r4", "r5", "r7", "lr")                                            \
    "ldr r6, %[end]\n\t"                                                                    \
    "cmp r9, r6\n\t"                                                                        \
    "bne 2b\n\t"

/* A pair's last one or two channels after EK_STREAM_TRIPLES_ASM (%[tail] of them; the
 * stream's last block, from r9): two tap pairs a step, requantized at r7 and r7 + %[d]. */
#define EK_STREAM_TAIL_ASM                                                                  \
    "ldr r6, %[tail]\n\t"                                                                   \
    "cmp r6, #0\n\t"                                                                        \
    "beq 5f\n\t"                                                                            \
    "ldmia r9!, {r0, r2, r4}\n\t"                                                           \
    "mov r1, r0\n\t"                                                                        \
    "mov r3, r2\n\t"                                                                        \
    "ldr r12, %[col]\n\t"                                                                   \
    "ldr lr, %[steps]\n\t"                                                                  \
    "cmp r6, #1\n\t"                                                                        \
    "bne 4f\n\t"                                                                            \
    "3:\n\t"                                                                                \
    EK_TAIL1_ASM("r12", "r9", "r0", "r1") EK_TAIL1_ASM("r12", "r9", "r0", "r1")             \
    "subs lr, lr, #1\n\t"                                                                   \
    "bne 3b\n\t"                                                                            \
    "ldr lr, %[d]\n\t"                                                                      \
    EK_RQ_SHORT_CH("r9", "r0", "r1", "r7", "lr")                                            \
    "b 5f\n\t"                                                                              \
    "4:\n\t"                                                                                \
    EK_TAIL2_ASM("r12", "r9", "r0", "r1", "r2", "r3") EK_TAIL2_ASM("r12", "r9", "r0", "r1", "r2", "r3") \
    "subs lr, lr, #1\n\t"                                                                   \
    "bne 4b\n\t"                                                                            \
    "ldr lr, %[d]\n\t"                                                                      \
    EK_RQ_SHORT_CH("r9", "r0", "r1", "r7", "lr")                                            \
    EK_RQ_SHORT_CH("r9", "r2", "r3", "r7", "lr")                                            \
    "5:\n\t"

/* A pixel pair's C >= 3 outputs from a layer's triple stream (p->rq_stream: per triple its
 * three biases, weights and {M, h, r} x 3, weights and biases doubled), all read through the
 * one pointer r9: each triple's six accumulators requantized where they are and stored as int8
 * at out0 and out0 + d, the other pixel's; then the last one or two channels. */
static inline __attribute__((always_inline)) void mac_stream_rq(const int16_t *col, const int32_t *stream,
                                                               int32_t C, int32_t k4, int8_t *out0, int32_t d)
{
    EK_CONV_PASS_SETUP(col, k4);
    const int32_t *const end = stream + (C / 3) * (12 + 3 * (k4 >> 1));
    const int32_t tail = C % 3, steps = k4 >> 2;
    register const int32_t *sr __asm__("r9") = stream;
    register int8_t *out __asm__("r7") = out0;   /* free in the MAC loop: the outputs' pointer */
    __asm__ volatile(
        EK_CONV_ENTRY_ASM
        EK_STREAM_TRIPLES_ASM
        EK_STREAM_TAIL_ASM
        : [s] "+r"(sr), [out] "+r"(out), [entry] "=m"(entry)
        : [col] "m"(col_base), [col_end] "m"(col_end), [skip] "m"(skip), [d] "m"(d), [end] "m"(end),
          [tail] "m"(tail), [steps] "m"(steps)
        : "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r8", "r10", "r11", "r12", "lr", "cc", "memory");
}

/* One tap pair of the 1x3 block of a pixel paired with itself (an odd last pixel): its word
 * (every other word of the pair row), the three channels' words, three SMLADs; 28 bytes. */
#define EK_CONV_TAP1_ASM                                                                    \
    "ldr.w r6, [r12], #8\n\t"                                                               \
    "ldr.w r10, [r9], #4\n\t"                                                               \
    "ldr.w r11, [r9], #4\n\t"                                                               \
    "ldr.w lr, [r9], #4\n\t"                                                                \
    "smlad r0, r10, r6, r0\n\t"                                                             \
    "smlad r2, r11, r6, r2\n\t"                                                             \
    "smlad r4, lr, r6, r4\n\t"
#define EK_CONV_TAP1_BYTES 28
/* EK_RQ_SHORT_CH for one pixel: accumulator a, the output at [o] (post-incremented). */
#define EK_RQ_SHORT_CH1(a)                                                                  \
    "ldmia r9!, {r6, r8, r10}\n\t"                                                          \
    "sub r11, r8, " a ", lsr #31\n\t"                                                       \
    "smmlar " a ", " a ", r6, r11\n\t"                                                      \
    "asr " a ", " a ", r10\n\t"                                                             \
    "ssat " a ", #8, " a "\n\t"                                                             \
    "strb " a ", [r7], #1\n\t"

/* mac_stream_rq for a pixel paired with itself: one pixel's C outputs, a 1x3 block a triple
 * (8 est. cycles a tap pair where the pair's block took 12 for the same values twice). */
static inline __attribute__((always_inline)) void mac_stream_rq1(const int16_t *col, const int32_t *stream,
                                                                int32_t C, int32_t k4, int8_t *out0)
{
    EK_CONV_PASS_SETUP_BYTES(col, k4, EK_CONV_TAP1_BYTES, 0);
    const int32_t *const end = stream + (C / 3) * (12 + 3 * (k4 >> 1));
    const int32_t tail = C % 3, steps = k4 >> 2;
    register const int32_t *sr __asm__("r9") = stream;
    register int8_t *out __asm__("r7") = out0;
    __asm__ volatile(
        EK_CONV_ENTRY_ASM
        "2:\n\t"
        "ldmia r9!, {r0, r2, r4}\n\t"
        "ldr r12, %[col]\n\t"
        "ldr r8, %[entry]\n\t"
        "bx r8\n\t"
        EK_CONV_PASS_BODY(EK_CONV_TAP1_ASM)
        EK_RQ_SHORT_CH1("r0") EK_RQ_SHORT_CH1("r2") EK_RQ_SHORT_CH1("r4")
        "ldr r6, %[end]\n\t"
        "cmp r9, r6\n\t"
        "bne 2b\n\t"
        /* the last one or two channels, two tap pairs a step */
        "ldr r6, %[tail]\n\t"
        "cmp r6, #0\n\t"
        "beq 5f\n\t"
        "ldmia r9!, {r0, r2, r4}\n\t"
        "ldr r12, %[col]\n\t"
        "ldr lr, %[steps]\n\t"
        "cmp r6, #1\n\t"
        "bne 4f\n\t"
        "3:\n\t"
        "ldr r4, [r12], #8\n\tldr r6, [r9], #12\n\tsmlad r0, r6, r4, r0\n\t"
        "ldr r4, [r12], #8\n\tldr r6, [r9], #12\n\tsmlad r0, r6, r4, r0\n\t"
        "subs lr, lr, #1\n\t"
        "bne 3b\n\t"
        EK_RQ_SHORT_CH1("r0")
        "b 5f\n\t"
        "4:\n\t"
        "ldr r4, [r12], #8\n\tldr r6, [r9], #4\n\tldr r8, [r9], #8\n\tsmlad r0, r6, r4, r0\n\tsmlad r2, r8, r4, r2\n\t"
        "ldr r4, [r12], #8\n\tldr r6, [r9], #4\n\tldr r8, [r9], #8\n\tsmlad r0, r6, r4, r0\n\tsmlad r2, r8, r4, r2\n\t"
        "subs lr, lr, #1\n\t"
        "bne 4b\n\t"
        EK_RQ_SHORT_CH1("r0") EK_RQ_SHORT_CH1("r2")
        "5:\n\t"
        : [s] "+r"(sr), [out] "+r"(out), [entry] "=m"(entry)
        : [col] "m"(col_base), [col_end] "m"(col_end), [skip] "m"(skip), [end] "m"(end), [tail] "m"(tail),
          [steps] "m"(steps)
        : "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r8", "r10", "r11", "r12", "lr", "cc", "memory");
}
#else
/* The same products with the portable SMLAD (host builds of the tests). */
static inline void mac_block(const int16_t *col, const int16_t *w, const int32_t *bias_folded,
                             int32_t C, int32_t k4, int32_t *acc)
{
    const int32_t tap_pairs = k4 >> 1;
    /* Channels padded to a multiple of three: the padding has bias 0 and weights 0. */
    for (int32_t oc = 0; oc < C; oc += 3, acc += 6, bias_folded += 3) {
        int32_t a[6] = {bias_folded[0], bias_folded[0], bias_folded[1], bias_folded[1], bias_folded[2],
                        bias_folded[2]};
        for (int32_t t = 0; t < tap_pairs; ++t, w += 6) {
            const uint32_t x0 = rd32(col + 4 * t), x1 = rd32(col + 4 * t + 2);
            for (int j = 0; j < 3; ++j) {
                const uint32_t wj = rd32(w + 2 * j);
                a[2 * j] = ek_smlad(wj, x0, a[2 * j]);
                a[2 * j + 1] = ek_smlad(wj, x1, a[2 * j + 1]);
            }
        }
        for (int j = 0; j < 6; ++j) acc[j] = a[j];
    }
}

static void mac_tail(const int16_t *col, const int16_t *w, const int32_t *bias, int32_t n, int32_t k4, int32_t *acc)
{
    int32_t a[6];
    mac_block(col, w, bias, n, k4, a);
    for (int32_t j = 0; j < 2 * n; ++j) acc[j] = a[j];
}

static void mac_stream_rq(const int16_t *col, const int32_t *stream, int32_t C, int32_t k4, int8_t *out0,
                          int32_t d)
{
    const int32_t block = 12 + 3 * (k4 >> 1);
    int32_t acc[6];
    for (int32_t c = 0; c < C; c += 3, out0 += 3, stream += block) {
        const int32_t n = C - c < 3 ? C - c : 3;
        mac_block(col, (const int16_t *)(const void *)(stream + 3), stream, 3, k4, acc);
        requant_pair_short(stream + block - 9, acc, n, out0, out0 + d);
    }
}
static void mac_stream_rq1(const int16_t *col, const int32_t *stream, int32_t C, int32_t k4, int8_t *out0)
{
    mac_stream_rq(col, stream, C, k4, out0, 0);
}
#endif

/* The C outputs of both pixels of the pair row col, at out0 and out1 (inlined into each pixel
 * loop, as the call's set-up per pixel pair costs more than a small layer's MACs there). */
static inline __attribute__((always_inline)) void pair_outputs(
    const ek_conv_params_t *p, const int32_t *mult, const int32_t *shift, const int16_t *col, const int16_t *wpacked,
    const int32_t *bias_folded, int32_t C, int32_t k4, int8_t *out0, int8_t *out1, int32_t *acc)
{
    const int32_t whole = C / 3, tail = C % 3;
    if (p->rq_stream) {
        /* Every triple requantized in the MAC loop, the last one or two channels too. */
        if (whole && out1 == out0) {   /* an odd last pixel, paired with itself */
            mac_stream_rq1(col, p->rq_stream, C, k4, out0);
        } else if (whole) {
            mac_stream_rq(col, p->rq_stream, C, k4, out0, (int32_t)(out1 - out0));
        } else {  /* one or two channels: the stream's one block */
            const int32_t *t = p->rq_stream;
            mac_tail(col, (const int16_t *)(const void *)(t + 3), t, tail, k4, acc);
            requant_pair_short(t + 3 + 3 * (k4 >> 1), acc, tail, out0, out1);
        }
    } else {
        if (whole) mac_block(col, wpacked, bias_folded, 3 * whole, k4, acc);
        if (tail) mac_tail(col, wpacked + 3 * whole * k4, bias_folded + 3 * whole, tail, k4, acc + 6 * whole);
        requant_pair(p, mult, shift, acc, C, out0, out1);
    }
}

/* The ring of widened input rows (p->ring_rows > 0): each input row a window touches is
 * widened to int16 once, in natural order and with the padding columns as the zero point,
 * where the staged im2col gathers and widens it again for every window over it (VWW's first
 * conv, 3x3 stride 2 on three channels: 27 inputs a pixel, 8 output channels to share them).
 * A pixel's slot is then copied a word at a time: per filter row, its kw*cin inputs as
 * kw*cin/2 tap pairs (the window starts at an even int16, as stride_w * cin is even); an odd
 * row's last input goes with the other rows' last ones into the pairs after all rows'. That
 * is the tap order the generator packs the filter in (codegen/ops/conv_2d.py,
 * ring_tap_order). The rows live in the scratch after the staged pixel. */
#define EK_CONV_RING_MAX 16

typedef struct {
    int16_t *rows;                    /* n rows of len int16 */
    int32_t len, n;
    int32_t tag[EK_CONV_RING_MAX];    /* which input row each holds (-pad_h - 1: none) */
} conv_ring_t;

/* Input row iy as the ring's row dst: columns -pad_w on, len int16. */
static __attribute__((noinline)) void ring_widen(const ek_conv_params_t *p, const ek_shape_t *is,
                                                 const int8_t *input, int32_t iy, int16_t *dst, int32_t len)
{
    const int32_t cin = is->c, iw = is->w;
    const int16_t zp = (int16_t)(-p->input_offset);
    int32_t left = p->pad_w * cin, inside = iw * cin, i = 0;
    if (iy < 0 || iy >= is->h) left = len;
    if (left > len) left = len;
    if (inside > len - left) inside = len - left;
    for (; i < left; ++i) dst[i] = zp;
    if (inside > 0) {
        const int8_t *src = input + (size_t)iy * iw * cin;
        int16_t *d = dst + left;
        int32_t j = 0;
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
        if (inside >= 8) {
            /* Eight a step: SXTB16's lanes back into natural order by PKHBT/PKHTB (the C
             * below spells them as masks and shifts, which GCC keeps). */
            const int8_t *sp = src;
            int16_t *dp = d;
            int32_t n = inside >> 3;
            __asm__ volatile(
                "1:\n\t"
                "ldr r4, [%[s]], #4\n\t"
                "ldr r5, [%[s]], #4\n\t"
                "sxtb16 r6, r4\n\t"
                "sxtb16 r4, r4, ror #8\n\t"
                "sxtb16 r8, r5\n\t"
                "sxtb16 r5, r5, ror #8\n\t"
                "pkhbt r9, r6, r4, lsl #16\n\t"
                "pkhtb r6, r4, r6, asr #16\n\t"
                "pkhbt r4, r8, r5, lsl #16\n\t"
                "pkhtb r8, r5, r8, asr #16\n\t"
                "str r9, [%[d]], #4\n\t"
                "str r6, [%[d]], #4\n\t"
                "str r4, [%[d]], #4\n\t"
                "str r8, [%[d]], #4\n\t"
                "subs %[n], %[n], #1\n\t"
                "bne 1b\n\t"
                : [s] "+r"(sp), [d] "+r"(dp), [n] "+r"(n)
                :
                : "r4", "r5", "r6", "r8", "r9", "cc", "memory");
            j = inside & ~7;
        }
#endif
        for (; j + 4 <= inside; j += 4) {
            /* SXTB16's lanes (x0 x2)(x1 x3) back into natural order (x0 x1)(x2 x3). */
            const uint32_t v = rd32(src + j), e = ek_sxtb16(v), o = ek_sxtb16_ror8(v);
            wr32(d + j, (e & 0xFFFFu) | (o << 16));
            wr32(d + j + 2, (e >> 16) | (o & 0xFFFF0000u));
        }
        for (; j < inside; ++j) d[j] = src[j];
        i = left + inside;
    }
    for (; i < len; ++i) dst[i] = zp;
}

/* The ring's rows of output row oy (widening those it does not hold), at the row's first
 * window: rows[fy] for filter row fy. */
static __attribute__((noinline)) void ring_window_rows(conv_ring_t *r, const ek_conv_params_t *p,
                                                       const ek_shape_t *is, const int8_t *input, int32_t kh,
                                                       int32_t oy, const int16_t **rows)
{
    const int32_t iy0 = oy * p->stride_h - p->pad_h;
    for (int32_t fy = 0; fy < kh; ++fy) {
        const int32_t iy = iy0 + fy, slot = (iy + p->pad_h) % r->n;
        int16_t *row = r->rows + (size_t)slot * r->len;
        if (r->tag[slot] != iy) {
            ring_widen(p, is, input, iy, row, r->len);
            r->tag[slot] = iy;
        }
        rows[fy] = row;
    }
}

/* Both pixels' slots of the pair row, the windows at a0 and a1 of the rows (the same output
 * row) or of rows0 and rows1: per filter row its tap pairs, pixel 0's word then pixel 1's;
 * four pairs a row (a 3x3 window on three channels) unrolled, so the words load back to back. */
static void ring_pair(const int16_t *const *rows0, const int16_t *const *rows1, int32_t a0, int32_t a1,
                      int32_t kh, int32_t run, int32_t k4, int16_t *col)
{
    const int32_t half = run >> 1;
    uint32_t *dst = (uint32_t *)(void *)col;
    for (int32_t fy = 0; fy < kh; ++fy) {
        const int16_t *s0 = rows0[fy] + a0, *s1 = rows1[fy] + a1;
        if (half == 4) {
            const uint32_t x0 = rd32(s0), x1 = rd32(s0 + 2), x2 = rd32(s0 + 4), x3 = rd32(s0 + 6);
            const uint32_t y0 = rd32(s1), y1 = rd32(s1 + 2), y2 = rd32(s1 + 4), y3 = rd32(s1 + 6);
            dst[0] = x0, dst[1] = y0, dst[2] = x1, dst[3] = y1;
            dst[4] = x2, dst[5] = y2, dst[6] = x3, dst[7] = y3;
            dst += 8;
        } else {
            for (int32_t j = 0; j < half; ++j, dst += 2) {
                dst[0] = rd32(s0 + 2 * j);
                dst[1] = rd32(s1 + 2 * j);
            }
        }
    }
    int32_t t = kh * half;
    if (run & 1) {
        /* The rows' last taps two by two: (row 0, row 1), (row 2, row 3), ... */
        for (int32_t fy = 0; fy < kh; fy += 2, ++t, dst += 2) {
            const int32_t second = fy + 1 < kh;
            const uint32_t h0 = (uint16_t)rows0[fy][a0 + run - 1], h1 = (uint16_t)rows1[fy][a1 + run - 1];
            dst[0] = h0 | (second ? (uint32_t)(uint16_t)rows0[fy + 1][a0 + run - 1] << 16 : 0u);
            dst[1] = h1 | (second ? (uint32_t)(uint16_t)rows1[fy + 1][a1 + run - 1] << 16 : 0u);
        }
    }
    for (; t < (k4 >> 1); ++t, dst += 2) dst[0] = dst[1] = 0;
}

/* ring_pair for the commonest window, 3x3 on three channels (an RGB first layer: run 9, k4 28),
 * unrolled and inlined: the general one's loops and call cost more than its 28 word copies. */
static inline __attribute__((always_inline)) void ring_pair_3x3c3(const int16_t *const *rows0,
                                                                 const int16_t *const *rows1, int32_t a0,
                                                                 int32_t a1, int16_t *col)
{
    uint32_t *dst = (uint32_t *)(void *)col;
    for (int32_t fy = 0; fy < 3; ++fy, dst += 8) {
        const int16_t *s0 = rows0[fy] + a0, *s1 = rows1[fy] + a1;
        const uint32_t x0 = rd32(s0), x1 = rd32(s0 + 2), x2 = rd32(s0 + 4), x3 = rd32(s0 + 6);
        const uint32_t y0 = rd32(s1), y1 = rd32(s1 + 2), y2 = rd32(s1 + 4), y3 = rd32(s1 + 6);
        dst[0] = x0, dst[1] = y0, dst[2] = x1, dst[3] = y1;
        dst[4] = x2, dst[5] = y2, dst[6] = x3, dst[7] = y3;
    }
    dst[0] = (uint16_t)rows0[0][a0 + 8] | (uint32_t)rows0[1][a0 + 8] << 16;
    dst[1] = (uint16_t)rows1[0][a1 + 8] | (uint32_t)rows1[1][a1 + 8] << 16;
    dst[2] = (uint16_t)rows0[2][a0 + 8];
    dst[3] = (uint16_t)rows1[2][a1 + 8];
}

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
/* One 3x3 RGB filter row of a pixel pair into the pair row at r12 (post-incremented by 32):
 * pixel 0's four words from the ring row `row` at byte offset r11, pixel 1's `stepb` bytes
 * on, interleaved by the register order of the two LDMs and the STM (ring_pair_3x3c3's
 * order); lr is left at pixel 1's window, whose ninth tap ([lr, #16]) the caller pairs. */
#define EK_RING_ROW_ASM(row, last0)                                                         \
    "ldr lr, " row "\n\t"                                                                   \
    "add lr, lr, r11\n\t"                                                                   \
    "ldm lr, {r0, r2, r4, r6}\n\t"                                                          \
    last0                                                                                   \
    "ldr r8, %[stepb]\n\t"                                                                  \
    "add lr, lr, r8\n\t"                                                                    \
    "ldm lr, {r1, r3, r5, r8}\n\t"                                                          \
    "stmia r12!, {r0, r1, r2, r3, r4, r5, r6, r8}\n\t"

/* An output row's pixel pairs of a 3x3 stride-2 first layer on three channels with a triple
 * stream, in one asm (as pointwise_stream_pairs does for 1x1): per pair its pair row copied
 * from the ring's three rows (ring_pair_3x3c3's words; the ninth taps paired (row 0, row 1)
 * and (row 2, 0)), its whole triples and last channels, on to the next pair. Called per pair
 * from C, the copy's and the MAC loop's set-up cost a fifth of VWW's first layer. */
static void ring_row_stream_3x3c3(const int32_t *stream, const int16_t *const *rows, int32_t stepb,
                                  int32_t pairs, int32_t C, int16_t *col, int8_t *out)
{
    const int32_t k4 = 28, tail = C % 3, steps = k4 >> 2;
    EK_CONV_PASS_SETUP(col, k4);
    const int32_t *const end = stream + (C / 3) * (12 + 3 * (k4 >> 1));
    const int16_t *const row0 = rows[0], *const row1 = rows[1], *const row2 = rows[2];
    const int32_t d = C;
    int32_t a = 0, n = pairs;   /* a: pixel 0's window, bytes into the rows */
    register int8_t *o __asm__("r7") = out;
    __asm__ volatile(
        EK_CONV_ENTRY_ASM
        "6:\n\t"
        "ldr r12, %[col]\n\t"
        "ldr r11, %[a]\n\t"
        EK_RING_ROW_ASM("%[row0]", "ldrh r9, [lr, #16]\n\t")
        "ldrh r10, [lr, #16]\n\t"
        EK_RING_ROW_ASM("%[row1]", "ldrh r1, [lr, #16]\n\torr r9, r9, r1, lsl #16\n\t")
        "ldrh r0, [lr, #16]\n\t"
        "orr r10, r10, r0, lsl #16\n\t"
        /* pixel 0's row-2 ninth tap goes straight to its word (26), past this row's eight */
        EK_RING_ROW_ASM("%[row2]", "ldrh r1, [lr, #16]\n\tstr r1, [r12, #40]\n\t")
        "ldrh r0, [lr, #16]\n\t"
        "strd r9, r10, [r12]\n\t"
        "str r0, [r12, #12]\n\t"
        "ldr r8, %[stepb]\n\t"
        "add r11, r11, r8, lsl #1\n\t"
        "str r11, %[a]\n\t"
        "ldr r9, %[stream]\n\t"
        EK_STREAM_TRIPLES_ASM
        EK_STREAM_TAIL_ASM
        "ldr lr, %[d]\n\t"
        "add r7, r7, lr\n\t"   /* past pixel 1's outputs */
        "ldr r0, %[n]\n\t"
        "subs r0, r0, #1\n\t"
        "str r0, %[n]\n\t"
        "bne 6b\n\t"
        : [o] "+r"(o), [a] "+m"(a), [n] "+m"(n), [entry] "=m"(entry)
        : [row0] "m"(row0), [row1] "m"(row1), [row2] "m"(row2), [stepb] "m"(stepb), [col] "m"(col_base),
          [col_end] "m"(col_end), [skip] "m"(skip), [stream] "m"(stream), [d] "m"(d), [end] "m"(end),
          [tail] "m"(tail), [steps] "m"(steps)
        : "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r8", "r9", "r10", "r11", "r12", "lr", "cc", "memory");
}
#endif

static void conv2d_dsp_ring(const ek_conv_params_t *p, const int32_t *mult, const int32_t *shift,
                            const ek_shape_t *is, const int8_t *input, const ek_shape_t *fs,
                            const int16_t *wpacked, const int32_t *bias_folded, const ek_shape_t *os,
                            int8_t *output, int16_t *col, int32_t *acc, int16_t *ring_rows)
{
    const int32_t kh = fs->h, run = fs->w * fs->c, k4 = (kh * run + 3) & ~3, step = p->stride_w * fs->c;
    const int32_t C = os->c, npix = os->h * os->w, ow = os->w;   /* batch 1 (the generator's condition) */
    const int rgb3x3 = kh == 3 && run == 9;
    conv_ring_t ring;
    ring.rows = ring_rows;
    ring.len = (((ow - 1) * p->stride_w + fs->w) * fs->c + 1) & ~1;
    ring.n = p->ring_rows > EK_CONV_RING_MAX ? EK_CONV_RING_MAX : p->ring_rows;
    for (int32_t i = 0; i < ring.n; ++i) ring.tag[i] = -p->pad_h - 1;   /* no row */
    const int16_t *rows0[EK_CONV_RING_MAX], *rows1[EK_CONV_RING_MAX];
    int32_t ox = 0, oy = 0, held = -1;   /* held: the output row rows0 is for */
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    if (rgb3x3 && p->rq_stream && C >= 3 && !(ow & 1) && !(step & 1)) {
        /* Every pair inside one output row (an even width), a row an asm call; an even step keeps
         * pixel 1's window word-aligned for its LDMs (stride 2 on three channels). */
        for (oy = 0; oy < os->h; ++oy) {
            ring_window_rows(&ring, p, is, input, kh, oy, rows0);
            ring_row_stream_3x3c3(p->rq_stream, rows0, 2 * step, ow >> 1, C, col, output + oy * ow * C);
        }
        return;
    }
#endif
    for (int32_t px = 0; px < npix; px += 2) {
        int8_t *out0 = output + px * C;
        if (held != oy) {
            ring_window_rows(&ring, p, is, input, kh, oy, rows0);
            held = oy;
        }
        const int32_t a0 = ox * step;
        int8_t *out1 = out0 + C;
        if (px + 1 == npix) {
            /* An odd last pixel is paired with itself: its second result is the same value. */
            ring_pair(rows0, rows0, a0, a0, kh, run, k4, col);
            out1 = out0;
        } else if (ox + 1 < ow) {
            if (rgb3x3)
                ring_pair_3x3c3(rows0, rows0, a0, a0 + step, col);
            else
                ring_pair(rows0, rows0, a0, a0 + step, kh, run, k4, col);
            ox += 1;
        } else {
            /* The pair straddles two output rows (odd width): the ring holds both rows' rows. */
            ox = 0;
            ++oy;
            ring_window_rows(&ring, p, is, input, kh, oy, rows1);
            ring_pair(rows0, rows1, a0, 0, kh, run, k4, col);
            for (int32_t fy = 0; fy < kh; ++fy) rows0[fy] = rows1[fy];
            held = oy;
        }
        pair_outputs(p, mult, shift, col, wpacked, bias_folded, C, k4, out0, out1, acc);
        if (++ox == ow) {
            ox = 0;
            ++oy;
        }
    }
}

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
/* A pointwise layer with a triple stream, `pairs` pixel pairs (cin a multiple of 4, C >= 3)
 * in one asm: per pair its widening (widen_pair's), its whole triples (mac_stream_rq's), its
 * last one or two channels (mac_tail's and requant_pair_short's loops on the stream's last
 * block) and on to the next pair. Called per pair from C, the set-up of each piece cost a
 * small layer as much as its triples' overhead (VWW's cin 8 and 16 layers). */
static void pointwise_stream_pairs(const int32_t *stream, const int8_t *in, int8_t *out, int32_t pairs,
                                   int32_t cin, int32_t C, int16_t *col)
{
    const int32_t k4 = cin, block = 12 + 3 * (k4 >> 1), tail = C % 3, steps = k4 >> 2, groups = cin >> 2;
    EK_CONV_PASS_SETUP(col, k4);
    const int32_t *const end = stream + (C / 3) * block;
    const int8_t *const in_end = in + (size_t)pairs * 2 * cin;
    const int8_t *inp = in;
    const int32_t d = C;
    register int8_t *o __asm__("r7") = out;
    __asm__ volatile(
        EK_CONV_ENTRY_ASM
        "6:\n\t"
        /* the pair row: widen_pair with r0 r1 the pixels, r2 the row, r3 the groups */
        "ldr r0, %[inp]\n\t"
        "ldr r1, %[cin]\n\t"
        "ldr r2, %[col]\n\t"
        "ldr r3, %[groups]\n\t"
        "add r1, r0, r1\n\t"
        EK_WIDEN_PAIR_ASM("r0", "r1", "r2", "r3")
        "str r1, %[inp]\n\t"   /* the next pair's first pixel */
        /* the whole triples */
        "ldr r9, %[stream]\n\t"
        EK_STREAM_TRIPLES_ASM
        EK_STREAM_TAIL_ASM
        /* the outputs are at pixel 0's end: past pixel 1's, then the next pair */
        "ldr lr, %[d]\n\t"
        "add r7, r7, lr\n\t"
        "ldr r0, %[inp]\n\t"
        "ldr r1, %[in_end]\n\t"
        "cmp r0, r1\n\t"
        "bne 6b\n\t"
        : [o] "+r"(o), [inp] "+m"(inp), [entry] "=m"(entry)
        : [cin] "m"(cin), [col] "m"(col_base), [col_end] "m"(col_end), [skip] "m"(skip), [groups] "m"(groups),
          [stream] "m"(stream), [d] "m"(d), [end] "m"(end), [tail] "m"(tail), [steps] "m"(steps),
          [in_end] "m"(in_end)
        : "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r8", "r9", "r10", "r11", "r12", "lr", "cc", "memory");
}
#endif

static void conv2d_dsp(const ek_conv_params_t *p, const int32_t *mult, const int32_t *shift,
                       const ek_shape_t *is, const int8_t *input, const ek_shape_t *fs,
                       const int16_t *wpacked, const int32_t *bias_folded, const ek_shape_t *os,
                       int8_t *output, int16_t *col, int32_t *acc)
{
    const int32_t K = fs->h * fs->w * fs->c, k4 = (K + 3) & ~3;
    const int32_t C = os->c, npix = os->n * os->h * os->w;
    int8_t *const stage = (int8_t *)(void *)(acc + 2 * ((C + 2) / 3 * 3));  /* windows wider than 1x1 only */
    if (p->ring_rows) {
        conv2d_dsp_ring(p, mult, shift, is, input, fs, wpacked, bias_folded, os, output, col, acc,
                        (int16_t *)(void *)(stage + k4));
        return;
    }
    if (pointwise_direct(p, fs) && (K & 3) == 0) {
        int32_t px = 0;
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
        if (p->rq_stream && C >= 3 && npix >= 2) {
            pointwise_stream_pairs(p->rq_stream, input, output, npix >> 1, K, C, col);
            px = npix & ~1;
        }
#endif
        for (; px < npix; px += 2) {
            const int32_t px1 = px + 1 < npix ? px + 1 : px;   /* an odd last pixel paired with itself */
            widen_pair(input + (size_t)px * K, input + (size_t)px1 * K, K >> 2, col);
            pair_outputs(p, mult, shift, col, wpacked, bias_folded, C, k4, output + px * C, output + px1 * C, acc);
        }
        return;
    }
    for (int32_t px = 0; px < npix; px += 2) {
        /* An odd last pixel is paired with itself: its second result is the same value. */
        const int32_t px1 = px + 1 < npix ? px + 1 : px;
        im2col_slot(p, is, input, fs, px, os->w, os->h, k4, col, stage);
        im2col_slot(p, is, input, fs, px1, os->w, os->h, k4, col + 2, stage);
        pair_outputs(p, mult, shift, col, wpacked, bias_folded, C, k4, output + px * C, output + px1 * C, acc);
    }
}
#endif

#if EK_KERNELS_MVE
/* The dot products of one im2col row with four channels' filter rows (w, w + K, w + 2K, w + 3K)
 * in a tail-predicated loop (DLSTP/LETP: the last, partial 16 bytes without a VCTP, and no
 * byte past K read), every pointer and accumulator in a fixed register: with the intrinsics
 * GCC spilled the accumulators on every iteration. VMLADAVA's accumulator must be even. */
static inline void mve_dot4(const int8_t *row, const int8_t *w, int32_t K, int32_t dots[4])
{
    register int32_t a0 __asm__("r0") = 0, a1 __asm__("r2") = 0, a2 __asm__("r4") = 0, a3 __asm__("r6") = 0;
    register const int8_t *x __asm__("r1") = row;
    register const int8_t *w0 __asm__("r3") = w;
    register const int8_t *w1 __asm__("r5") = w + K;
    register const int8_t *w2 __asm__("r8") = w + 2 * K;
    register const int8_t *w3 __asm__("r9") = w + 3 * K;
    register int32_t n __asm__("lr") = K;
    __asm__ volatile(
        "dlstp.8 lr, lr\n"
        "1:\n\t"
        "vldrb.8 q0, [%[x]], #16\n\t"
        "vldrb.8 q1, [%[w0]], #16\n\t"
        "vmladava.s8 %[a0], q0, q1\n\t"
        "vldrb.8 q2, [%[w1]], #16\n\t"
        "vmladava.s8 %[a1], q0, q2\n\t"
        "vldrb.8 q3, [%[w2]], #16\n\t"
        "vmladava.s8 %[a2], q0, q3\n\t"
        "vldrb.8 q1, [%[w3]], #16\n\t"
        "vmladava.s8 %[a3], q0, q1\n\t"
        "letp lr, 1b\n\t"
        : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+r"(x), [w0] "+r"(w0),
          [w1] "+r"(w1), [w2] "+r"(w2), [w3] "+r"(w3), [n] "+r"(n)
        :
        : "q0", "q1", "q2", "q3", "memory");
    dots[0] = a0;
    dots[1] = a1;
    dots[2] = a2;
    dots[3] = a3;
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
                    gather_s8(p, is, input, fs, b, iy0, ix0, col);
                    row = col;
                }
                int8_t *out = output + ((b * os->h + oy) * os->w + ox) * C;
                int32_t oc = 0;
                for (; oc + 4 <= C; oc += 4) {
                    int32_t dots[4];
                    mve_dot4(row, filter + oc * K, K, dots);
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
#if EK_KERNELS_DSP && !EK_KERNELS_MVE
    /* The dsp build's generated code passes the packed filter and the folded bias here. */
    if (scratch) {
        /* The scratch: the pair row (2 x k4 int16), the pair's accumulators (2 x C, C padded to a
         * multiple of three), then for a window wider than 1x1 one pixel's int8 inputs (k4 bytes). */
        const int32_t k4 = (filter_shape->h * filter_shape->w * filter_shape->c + 3) & ~3;
        conv2d_dsp(p, mult, shift, in_shape, input, filter_shape, (const int16_t *)(const void *)filter, bias,
                   out_shape, output, scratch, (int32_t *)(void *)(scratch + 2 * k4));
        return;
    }
#elif !EK_KERNELS_MVE
    (void)scratch;
#endif
    conv2d_ref(p, mult, shift, in_shape, input, filter_shape, filter, bias, out_shape, output);
}

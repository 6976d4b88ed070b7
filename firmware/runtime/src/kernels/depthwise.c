/* edgekit-micro kernels: DEPTHWISE_CONV_2D (per-channel) in its reference, DSP and Helium
 * variants. Declarations: depthwise.h.
 *
 * The arithmetic follows TFLite Micro's reference integer kernels operation by operation
 * (not merely "close"): every rounding step is the same, so outputs are bit-exact. Tests in
 * tests/runtime and tests/codegen hold this against the tflite-micro interpreter.
 */
#include "depthwise.h"

#include <stddef.h>
#include "ek_simd.h"

/* Input channels from ic_begin on (0: all; the pre-packed DSP path leaves it the last C % 4). */
static void dwconv_ref(const ek_conv_params_t *p, const int32_t *mult, const int32_t *shift,
                       const ek_shape_t *is, const int8_t *input, const ek_shape_t *fs,
                       const int8_t *filter, const int32_t *bias, const ek_shape_t *os,
                       int8_t *output, int32_t ic_begin)
{
    const int32_t in_depth = is->c, dm = p->depth_multiplier, out_depth = os->c;
    for (int32_t b = 0; b < os->n; ++b) {
        for (int32_t oy = 0; oy < os->h; ++oy) {
            for (int32_t ox = 0; ox < os->w; ++ox) {
                for (int32_t ic = ic_begin; ic < in_depth; ++ic) {
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

/* The requantization of dw_store4 in four instructions an output, where dw_fast_ok holds:
 * with x = acc + bias doubled, srdhm(x, m) = SMMLAR's rounded high word of 2x * m; the
 * rounding divide by 2^e (half away from zero) is floor((v + 2^(e-1) - [v < 0]) / 2^e), and
 * the output offset joins the addend as zp * 2^e (adding a multiple of 2^e commutes with the
 * floor). [v < 0] is read from x's sign: they differ only where v = 0, whose rounding is 0
 * either way. Then SSAT to int8 and one bytewise clamp (SSUB8/SEL) for the four outputs. */
static inline int32_t dw_rq_fast(int32_t x, int32_t m, int32_t shift, int32_t zp)
{
    const int32_t x2 = (int32_t)((uint32_t)x << 1), e = -shift;
    const int32_t addend = (int32_t)((1u << (e - 1)) + ((uint32_t)zp << e)) + (x2 >> 31);
    return ek_ssat8(ek_smmlar(x2, m, addend) >> e);
}

/* Every channel: a right shift e of 1..21, m >= 0 and |bias| + taps * 128 * 255 < 2^29, so
 * |2x| < 2^30, |v| < 2^29 and |v + addend| < 2^29 + 2^20 + 2^28: no step of dw_rq_fast wraps. */
static int dw_fast_ok(const int32_t *mult, const int32_t *shift, const int32_t *bias, int32_t C, int32_t taps)
{
    const int32_t bias_max = (1 << 29) - taps * 128 * 255;
    if (bias_max <= 0) return 0;
    for (int32_t c = 0; c < C; ++c) {
        if (shift[c] > -1 || shift[c] < -21 || mult[c] < 0) return 0;
        if (bias && (bias[c] >= bias_max || bias[c] <= -bias_max)) return 0;
    }
    return 1;
}

static void dw_store4_slow(const ek_conv_params_t *p, const int32_t *mult, const int32_t *shift,
                           const int32_t *bias, int32_t c, int8_t *out,
                           int32_t a0, int32_t a1, int32_t a2, int32_t a3);

/* Inlined: out of line, the call and its ten arguments cost as much as the requantization. */
__attribute__((always_inline)) static inline void dw_store4(const ek_conv_params_t *p, const int32_t *mult,
                                                            const int32_t *shift, const int32_t *bias, int32_t c,
                                                            int8_t *out, int32_t a0, int32_t a1, int32_t a2,
                                                            int32_t a3, int fast)
{
    if (!fast) {
        dw_store4_slow(p, mult, shift, bias, c, out, a0, a1, a2, a3);
        return;
    }
    const int32_t zp = p->output_offset, lo = p->act_min, hi = p->act_max;
    if (bias) { a0 += bias[c]; a1 += bias[c + 1]; a2 += bias[c + 2]; a3 += bias[c + 3]; }
    {
        const uint32_t v = ek_pack_s8x4((uint32_t)dw_rq_fast(a0, mult[c], shift[c], zp),
                                        (uint32_t)dw_rq_fast(a1, mult[c + 1], shift[c + 1], zp),
                                        (uint32_t)dw_rq_fast(a2, mult[c + 2], shift[c + 2], zp),
                                        (uint32_t)dw_rq_fast(a3, mult[c + 3], shift[c + 3], zp));
        wr32(out + c, ek_clamp_s8x4(v, ((uint32_t)lo & 0xFFu) * 0x01010101u, ((uint32_t)hi & 0xFFu) * 0x01010101u));
    }
}

__attribute__((noinline)) static void dw_store4_slow(const ek_conv_params_t *p, const int32_t *mult,
                                                     const int32_t *shift, const int32_t *bias, int32_t c,
                                                     int8_t *out, int32_t a0, int32_t a1, int32_t a2, int32_t a3)
{
    /* Read once: the int8 stores may alias *p as far as the compiler knows, so it would load
     * the offset and the bounds again after every one. */
    const int32_t zp = p->output_offset, lo = p->act_min, hi = p->act_max;
    if (bias) { a0 += bias[c]; a1 += bias[c + 1]; a2 += bias[c + 2]; a3 += bias[c + 3]; }
    const int32_t o0 = clamp_i32(mbqm_qadd(a0, mult[c], shift[c]) + zp, lo, hi);
    const int32_t o1 = clamp_i32(mbqm_qadd(a1, mult[c + 1], shift[c + 1]) + zp, lo, hi);
    const int32_t o2 = clamp_i32(mbqm_qadd(a2, mult[c + 2], shift[c + 2]) + zp, lo, hi);
    const int32_t o3 = clamp_i32(mbqm_qadd(a3, mult[c + 3], shift[c + 3]) + zp, lo, hi);
    /* One STR of the four bytes instead of four STRBs (little-endian, as every Cortex-M here). */
    wr32(out + c, ((uint32_t)o0 & 0xFFu) | (((uint32_t)o1 & 0xFFu) << 8) | (((uint32_t)o2 & 0xFFu) << 16) |
                  ((uint32_t)o3 << 24));
}

/* 3x3, dilation 1, the whole window inside the input (every output pixel but the border):
 * the nine taps unrolled, no window bookkeeping. Same products, same order of addition. */
static void dw3x3_interior4(const ek_conv_params_t *p, const int32_t *mult, const int32_t *shift,
                            const int32_t *bias, const int8_t *in, int32_t in_row, int32_t C,
                            const int8_t *filter, int8_t *out, int32_t c_end, uint32_t off2, int fast)
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
        dw_store4(p, mult, shift, bias, c, out, a0, a1, a2, a3, fast);
    }
}

/* 3x3, dilation 1, a window cut by the padding (the border pixels): `valid` has bit
 * fy * 3 + fx set for each tap inside the input. Offsets, not pointers, until a tap is
 * known to be inside. */
static void dw3x3_border4(const ek_conv_params_t *p, const int32_t *mult, const int32_t *shift,
                          const int32_t *bias, const int8_t *input, int32_t px_off, int32_t in_row,
                          int32_t C, const int8_t *filter, int8_t *out, int32_t c_end, uint32_t off2,
                          uint32_t valid, int fast)
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
        dw_store4(p, mult, shift, bias, c, out, a0, a1, a2, a3, fast);
    }
}

/* 3x3, dilation 1, depth_multiplier 1 with the layer data pre-packed at build time
 * (p->dw_packed, codegen/ops/depthwise_conv_2d.py dsp_pack_3x3; it exists only where the
 * conditions of dw_rq_fast hold for every channel). Per group of four channels: the weights
 * already widened and doubled (one LDRD a tap, no SXTB16 on them), input_offset * sum(w)
 * folded into the bias of the interior pixels (their taps take the raw input bytes, no
 * SADD16), and the requantization's addend and shift ready (dw_rq_fast without computing
 * them). Border pixels add the offset per tap to the taps inside the input, from 2 * bias. */
typedef struct {
    int32_t bias_in[4];   /* 2 * (bias + input_offset * sum of the nine weights) */
    int32_t bias_raw[4];  /* 2 * bias */
    uint32_t w[9][2];     /* per tap: doubled int16 lanes (c0, c2) and (c1, c3) */
    int32_t rq[4][3];     /* per channel: multiplier, addend, right shift */
} dwp_group_t;
typedef struct {
    uint32_t lo4, hi4, off2, unused;  /* act_min, act_max per byte; input_offset per lane */
    dwp_group_t g[];
} dwp_layer_t;

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
/* dw_rq_fast of one channel with its three words loaded back to back (in C the compiler
 * spreads the twelve loads among the arithmetic, where none pipelines). */
#define EK_DWP_RQ_ASM(j, a)                                                                 \
    "ldr %[m], [%[q], #" #j "*12]\n\t"                                                      \
    "ldr %[h], [%[q], #" #j "*12+4]\n\t"                                                    \
    "ldr %[e], [%[q], #" #j "*12+8]\n\t"                                                    \
    "add %[h], %[h], %[" a "], asr #31\n\t"                                                 \
    "smmlar %[" a "], %[" a "], %[m], %[h]\n\t"                                             \
    "asr %[" a "], %[" a "], %[e]\n\t"                                                      \
    "ssat %[" a "], #8, %[" a "]\n\t"
static inline uint32_t dwp_rq4(const dwp_group_t *g, int32_t a0, int32_t a1, int32_t a2, int32_t a3)
{
    int32_t m, h, e;
    __asm__(EK_DWP_RQ_ASM(0, "a0") EK_DWP_RQ_ASM(1, "a1") EK_DWP_RQ_ASM(2, "a2") EK_DWP_RQ_ASM(3, "a3")
            : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [m] "=&r"(m), [h] "=&r"(h), [e] "=&r"(e)
            : [q] "r"(g->rq), "m"(*(const int32_t(*)[12])g->rq));
    return ek_pack_s8x4((uint32_t)a0, (uint32_t)a1, (uint32_t)a2, (uint32_t)a3);
}
#else
static inline uint32_t dwp_rq4(const dwp_group_t *g, int32_t a0, int32_t a1, int32_t a2, int32_t a3)
{
#define EK_DWP_RQ(j, a) ek_ssat8(ek_smmlar(a, g->rq[j][0], g->rq[j][1] + ((a) >> 31)) >> g->rq[j][2])
    return ek_pack_s8x4((uint32_t)EK_DWP_RQ(0, a0), (uint32_t)EK_DWP_RQ(1, a1), (uint32_t)EK_DWP_RQ(2, a2),
                        (uint32_t)EK_DWP_RQ(3, a3));
#undef EK_DWP_RQ
}
#endif

/* One tap of four channels: the input word (raw, or plus the offset per lane with SADD16) and
 * the tap's two weight words, SMLABB/SMLATT per channel. On the core, one asm
 * block per tap: as separate statements the compiler hoists every load of the nine taps to
 * the top and spills the widened words. */
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
/* The asm pieces: load and widen, the extra lane step (none, or SADD16 of the offset), MACs. */
/* The weights by two single LDRs, which pipeline after the input's (an LDRD never does). */
#define EK_DWP_ASM_LOAD                                                                        \
    "ldr %[x], %[in]\n\tldr %[wl], %[w0]\n\tldr %[wh], %[w1]\n\tsxtb16 %[y], %[x]\n\t"             \
    "sxtb16 %[x], %[x], ror #8\n\t"
#define EK_DWP_ASM_MAC                                                         \
    "smlabb %[a0], %[y], %[wl], %[a0]\n\tsmlatt %[a2], %[y], %[wl], %[a2]\n\t" \
    "smlabb %[a1], %[x], %[wh], %[a1]\n\tsmlatt %[a3], %[x], %[wh], %[a3]"
/* The asm's memory operands name the bytes it reads; may_alias types, since those bytes are
 * int8/int16 arrays (a plain uint32_t lvalue breaks strict aliasing). */
typedef uint32_t __attribute__((may_alias)) ek_dw_u32_alias;
#define EK_DWP_ASM_TAP(ip, wt, step, oc, off2, a0, a1, a2, a3)                               \
    do {                                                                                     \
        uint32_t x_, y_, wl_, wh_;                                                           \
        __asm__(EK_DWP_ASM_LOAD step EK_DWP_ASM_MAC                                          \
                : [x] "=&r"(x_), [y] "=&r"(y_), [wl] "=&r"(wl_), [wh] "=&r"(wh_),            \
                  [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3)                 \
                : [in] "m"(*(const ek_dw_u32_alias *)(const void *)(ip)),                           \
                  [w0] "m"(*(const ek_dw_u32_alias *)(const void *)(wt)),                           \
                  [w1] "m"(*((const ek_dw_u32_alias *)(const void *)(wt) + 1)), [o] oc(off2));      \
    } while (0)
#define EK_DWP_TAP(ip, wt, a0, a1, a2, a3) EK_DWP_ASM_TAP(ip, wt, "", "i", 0, a0, a1, a2, a3)
#define EK_DWP_TAP_OFF(ip, wt, off2, a0, a1, a2, a3) \
    EK_DWP_ASM_TAP(ip, wt, "sadd16 %[y], %[y], %[o]\n\tsadd16 %[x], %[x], %[o]\n\t", "r", off2, a0, a1, a2, a3)
#else
#define EK_DWP_TAPW(x02, x13, wt, a0, a1, a2, a3)                            \
    do {                                                                     \
        a0 = ek_smlabb(x02, (wt)[0], a0);                                    \
        a2 = ek_smlatt(x02, (wt)[0], a2);                                    \
        a1 = ek_smlabb(x13, (wt)[1], a1);                                    \
        a3 = ek_smlatt(x13, (wt)[1], a3);                                    \
    } while (0)
#define EK_DWP_TAP(ip, wt, a0, a1, a2, a3)                                   \
    do {                                                                     \
        const uint32_t x_ = rd32(ip);                                        \
        EK_DWP_TAPW(ek_sxtb16(x_), ek_sxtb16_ror8(x_), wt, a0, a1, a2, a3);  \
    } while (0)
#define EK_DWP_TAP_OFF(ip, wt, off2, a0, a1, a2, a3)                                             \
    do {                                                                                         \
        const uint32_t x_ = rd32(ip);                                                            \
        EK_DWP_TAPW(ek_sadd16(ek_sxtb16(x_), off2), ek_sadd16(ek_sxtb16_ror8(x_), off2), wt, a0, \
                    a1, a2, a3);                                                                 \
    } while (0)
#endif

/* One output pixel whose window is inside the input: every group of four channels. */
__attribute__((always_inline)) static inline void dwp_interior_impl(const dwp_layer_t *L, const int8_t *in,
                                                                    int32_t in_row, int32_t C, int8_t *out,
                                                                    int32_t groups, const int clamp)
{
    const uint32_t lo4 = L->lo4, hi4 = L->hi4;
    for (const dwp_group_t *g = L->g, *end = L->g + groups; g < end; ++g, in += 4, out += 4) {
        int32_t a0 = g->bias_in[0], a1 = g->bias_in[1], a2 = g->bias_in[2], a3 = g->bias_in[3];
        const int8_t *r = in;
        EK_DWP_TAP(r, g->w[0], a0, a1, a2, a3);
        EK_DWP_TAP(r + C, g->w[1], a0, a1, a2, a3);
        EK_DWP_TAP(r + 2 * C, g->w[2], a0, a1, a2, a3);
        r += in_row;
        EK_DWP_TAP(r, g->w[3], a0, a1, a2, a3);
        EK_DWP_TAP(r + C, g->w[4], a0, a1, a2, a3);
        EK_DWP_TAP(r + 2 * C, g->w[5], a0, a1, a2, a3);
        r += in_row;
        EK_DWP_TAP(r, g->w[6], a0, a1, a2, a3);
        EK_DWP_TAP(r + C, g->w[7], a0, a1, a2, a3);
        EK_DWP_TAP(r + 2 * C, g->w[8], a0, a1, a2, a3);
        const uint32_t v = dwp_rq4(g, a0, a1, a2, a3);
        wr32(out, clamp ? ek_clamp_s8x4(v, lo4, hi4) : v);
    }
}

/* One output pixel whose window the padding cuts: its R x S taps inside the input, the first
 * tap t0, base the input at that tap; the offset added per tap, from 2 * bias. R and S are
 * constants in each caller (dwp_border): the taps unroll as the interior's do. */
__attribute__((always_inline)) static inline void dwp_border_rs(const dwp_layer_t *L, const int8_t *base,
                                                                int32_t in_row, int32_t C, int8_t *out,
                                                                int32_t groups, int32_t t0, const int R, const int S,
                                                                const int clamp)
{
    const uint32_t off2 = L->off2, lo4 = L->lo4, hi4 = L->hi4;
    for (const dwp_group_t *g = L->g, *end = L->g + groups; g < end; ++g, base += 4, out += 4) {
        const uint32_t(*w)[2] = g->w + t0;
        int32_t a0 = g->bias_raw[0], a1 = g->bias_raw[1], a2 = g->bias_raw[2], a3 = g->bias_raw[3];
#pragma GCC unroll 3
        for (int i = 0; i < R; ++i) {
#pragma GCC unroll 3
            for (int j = 0; j < S; ++j) EK_DWP_TAP_OFF(base + i * in_row + j * C, w[i * 3 + j], off2, a0, a1, a2, a3);
        }
        const uint32_t v = dwp_rq4(g, a0, a1, a2, a3);
        wr32(out, clamp ? ek_clamp_s8x4(v, lo4, hi4) : v);
    }
}

/* The border pixel's window [fy0, fy1) x [fx0, fx1) (window: 2 bits each); px_off is an
 * offset, not a pointer: the window origin may lie in the padding. */
__attribute__((always_inline)) static inline void dwp_border_impl(const dwp_layer_t *L, const int8_t *input,
                                                                  int32_t px_off, int32_t in_row, int32_t C,
                                                                  int8_t *out, int32_t groups, uint32_t window,
                                                                  const int clamp)
{
    const int32_t fy0 = window & 3, fy1 = (window >> 2) & 3, fx0 = (window >> 4) & 3, fx1 = window >> 6;
    const int8_t *base = input + (px_off + fy0 * in_row + fx0 * C);
    const int32_t t0 = fy0 * 3 + fx0;
    switch ((fy1 - fy0) * 4 + (fx1 - fx0)) {
    case 2 * 4 + 3: dwp_border_rs(L, base, in_row, C, out, groups, t0, 2, 3, clamp); break;
    case 3 * 4 + 2: dwp_border_rs(L, base, in_row, C, out, groups, t0, 3, 2, clamp); break;
    case 2 * 4 + 2: dwp_border_rs(L, base, in_row, C, out, groups, t0, 2, 2, clamp); break;
    case 1 * 4 + 3: dwp_border_rs(L, base, in_row, C, out, groups, t0, 1, 3, clamp); break;
    case 3 * 4 + 1: dwp_border_rs(L, base, in_row, C, out, groups, t0, 3, 1, clamp); break;
    case 1 * 4 + 2: dwp_border_rs(L, base, in_row, C, out, groups, t0, 1, 2, clamp); break;
    case 2 * 4 + 1: dwp_border_rs(L, base, in_row, C, out, groups, t0, 2, 1, clamp); break;
    case 1 * 4 + 1: dwp_border_rs(L, base, in_row, C, out, groups, t0, 1, 1, clamp); break;
    default: dwp_border_rs(L, base, in_row, C, out, groups, t0, 0, 0, clamp); break;  /* no tap inside */
    }
}

/* Each with and without the bytewise clamp: where the activation range is all of int8,
 * SSAT has clamped already. */
__attribute__((noinline)) static void dwp_interior(const dwp_layer_t *L, const int8_t *in, int32_t in_row, int32_t C,
                                                   int8_t *out, int32_t groups)
{
    dwp_interior_impl(L, in, in_row, C, out, groups, 1);
}
__attribute__((noinline)) static void dwp_interior_full(const dwp_layer_t *L, const int8_t *in, int32_t in_row,
                                                        int32_t C, int8_t *out, int32_t groups)
{
    dwp_interior_impl(L, in, in_row, C, out, groups, 0);
}
__attribute__((noinline)) static void dwp_border(const dwp_layer_t *L, const int8_t *input, int32_t px_off,
                                                 int32_t in_row, int32_t C, int8_t *out, int32_t groups,
                                                 uint32_t window)
{
    dwp_border_impl(L, input, px_off, in_row, C, out, groups, window, 1);
}
__attribute__((noinline)) static void dwp_border_full(const dwp_layer_t *L, const int8_t *input, int32_t px_off,
                                                      int32_t in_row, int32_t C, int8_t *out, int32_t groups,
                                                      uint32_t window)
{
    dwp_border_impl(L, input, px_off, in_row, C, out, groups, window, 0);
}

static void dwconv_packed(const ek_conv_params_t *p, const int32_t *mult, const int32_t *shift,
                          const ek_shape_t *is, const int8_t *input, const ek_shape_t *fs, const int8_t *filter,
                          const int32_t *bias, const ek_shape_t *os, int8_t *output)
{
    const dwp_layer_t *L = (const dwp_layer_t *)p->dw_packed;
    const int32_t C = os->c, groups = C / 4, in_row = is->w * C;
    const int full = L->lo4 == 0x80808080u && L->hi4 == 0x7F7F7F7Fu;
    void (*const interior)(const dwp_layer_t *, const int8_t *, int32_t, int32_t, int8_t *, int32_t) =
        full ? dwp_interior_full : dwp_interior;
    void (*const border)(const dwp_layer_t *, const int8_t *, int32_t, int32_t, int32_t, int8_t *, int32_t,
                         uint32_t) = full ? dwp_border_full : dwp_border;
    for (int32_t b = 0; b < os->n; ++b) {
        for (int32_t oy = 0; oy < os->h; ++oy) {
            const int32_t iy0 = oy * p->stride_h - p->pad_h;
            const int32_t fy0 = iy0 < 0 ? -iy0 : 0, fy1 = iy0 + 3 > is->h ? is->h - iy0 : 3;
            int8_t *out = output + (b * os->h + oy) * os->w * C;
            for (int32_t ox = 0; ox < os->w; ++ox, out += C) {
                const int32_t ix0 = ox * p->stride_w - p->pad_w;
                const int32_t fx0 = ix0 < 0 ? -ix0 : 0, fx1 = ix0 + 3 > is->w ? is->w - ix0 : 3;
                const int32_t px_off = ((b * is->h + iy0) * is->w + ix0) * C;
                if (fy0 == 0 && fy1 == 3 && fx0 == 0 && fx1 == 3)
                    interior(L, input + px_off, in_row, C, out, groups);
                else if (fy0 < fy1 && fx0 < fx1)
                    border(L, input, px_off, in_row, C, out, groups, (uint32_t)(fy0 | fy1 << 2 | fx0 << 4 | fx1 << 6));
                else  /* no tap inside the input (large padding): the bias alone */
                    border(L, input, 0, in_row, C, out, groups, 0);
            }
        }
    }
    if (groups * 4 < C) dwconv_ref(p, mult, shift, is, input, fs, filter, bias, os, output, groups * 4);
}

/* 3x3, stride 1, dilation 1, depth_multiplier 1, in place, on int16 channel planes
 * (p->dw_planar, codegen/ops/depthwise_conv_2d.py dsp_pack_planar). Per group of four
 * channels the input is gathered once into four planes, one per channel, each row padded with
 * the input zero point (a padding tap's x + offset is 0 against the folded bias, so the border
 * takes the interior's code); then every output run of a channel is blocks of four outputs in
 * asm: per plane row three words (x0 x1) (x2 x3) (x4 x5), the row's weights (w0 w1) (w1 w2),
 * four SMLADs and four SMLAxy for twelve MACs, and the requantization of
 * dw_rq_fast on the doubled sums. The HWC kernels above take a SXTB16 pair and four
 * single MACs per tap of four channels; here each input value is widened once.
 * The planes run along the side the generator found cheaper (`transposed`: along H, for
 * KWS's 25x5 maps), and hold `band` output rows and the two rows below them; after a band the
 * last two rows move up and the next rows are gathered. In place is safe: a group's outputs overwrite only its own
 * channels' bytes, at rows the planes have already copied. */
typedef struct {
    int32_t bias;         /* 2 * (bias + input_offset * the sum of the nine weights) */
    uint32_t w[3][2];     /* plane row r: (w_r0, w_r1), (w_r1, w_r2), doubled int16 lanes */
    int32_t mult, addend, exp;
} dwl_chan_t;
typedef struct {
    int32_t transposed;   /* 1: a plane's rows are the input's columns */
    int32_t band;         /* output rows per band (the plane holds band + 2 rows) */
    int32_t row_bytes;    /* a plane row's stride: 2 * (the run in whole blocks of four + 2) */
    int32_t unused;
    dwl_chan_t ch[];
} dwl_layer_t;
/* The generator's layout (CHANNEL_WORDS, PLANAR_HEADER_WORDS in ops/depthwise_conv_2d.py). */
_Static_assert(sizeof(dwl_chan_t) == 40 && offsetof(dwl_layer_t, ch) == 16, "dw_planar layout");

/* One channel's data and its runs' geometry where the asm reads them (sp-relative: every
 * register is taken). A run of n4 whole blocks and a tail of t outputs ends with one more
 * block over its last four outputs: the pointers step back by `tail_p` plane bytes
 * (2 (4 - t)) and `tail_o` output bytes ((4 - t) cs) for it. */
typedef struct {
    uint32_t w[3][2];
    int32_t bias, mult, addend, exp, lo, hi;
    int32_t cs;      /* output bytes between neighbours along a run */
    int32_t blk;     /* output bytes of a run's whole blocks: 4 n4 cs */
    int32_t tail_p, tail_o, tail;   /* the overlapped block's step back (0: none); `tail` the asm's copy */
    int32_t rows;    /* runs left */
    int32_t p_next;  /* plane bytes from a run's end to the next run's start */
    int32_t o_next;  /* output bytes from a run's end to the next run's start */
    int32_t end;     /* the output pointer where the current blocks end */
} dwl_run_t;

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
/* One plane row of a block of four (r9 r10 r11: x0x1 x2x3 x4x5; r12 lr: w0w1 w1w2; r4 r5 r6 r8
 * the outputs): out0 += x0 w0 + x1 w1 (SMLAD) + x2 w2 (SMLABT); out1 += x1 w0 (SMLATB) +
 * x2 w1 + x3 w2; out2 += x2 w0 + x3 w1 + x4 w2; out3 += x3 w0 + x4 w1 + x5 w2: eight MAC
 * instructions for twelve MACs, the five words read by single LDRs, which pipeline. Row 0
 * starts from the bias. */
#define EK_DWL_LOADS(p, w)                                                                  \
    "ldr r12, " w "0]\n\t"                                                                  \
    "ldr lr, " w "1]\n\t"                                                                   \
    "ldr r9, [" p "], #8\n\t"                                                               \
    "ldr r10, [" p ", #-4]\n\t"                                                             \
    "ldr r11, [" p "]\n\t"
#define EK_DWL_ROW0(p, w)                                                                   \
    "ldr r4, %[bias]\n\t" EK_DWL_LOADS(p, w)                                                \
    "smlatb r5, r9, r12, r4\n\t"                                                            \
    "smlad r6, r10, r12, r4\n\t"                                                            \
    "smlatb r8, r10, r12, r4\n\t"                                                           \
    "smlad r4, r9, r12, r4\n\t" EK_DWL_ROW_END
#define EK_DWL_ROW(p, w)                                                                    \
    EK_DWL_LOADS(p, w)                                                                      \
    "smlatb r5, r9, r12, r5\n\t"                                                            \
    "smlad r6, r10, r12, r6\n\t"                                                            \
    "smlatb r8, r10, r12, r8\n\t"                                                           \
    "smlad r4, r9, r12, r4\n\t" EK_DWL_ROW_END
#define EK_DWL_ROW_END                                                                      \
    "smlabt r4, r10, lr, r4\n\t"                                                            \
    "smlad r5, r10, lr, r5\n\t"                                                             \
    "smlabt r6, r11, lr, r6\n\t"                                                            \
    "smlad r8, r11, lr, r8\n\t"
/* dw_rq_fast on a doubled sum (r12 the multiplier, lr the addend, r9 the shift). */
#define EK_DWL_RQ(a)                                                                        \
    "add r10, lr, " a ", asr #31\n\t"                                                       \
    "smmlar " a ", " a ", r12, r10\n\t"                                                     \
    "asr " a ", " a ", r9\n\t"                                                              \
    "ssat " a ", #8, " a "\n\t"
#define EK_DWL_CLAMP(a) "cmp " a ", r11\n\tit lt\n\tmovlt " a ", r11\n\tcmp " a ", r12\n\tit gt\n\tmovgt " a ", r12\n\t"
/* Every run of a channel: per run its whole blocks (loop 1), the overlapped last block if
 * the run has a tail, then on to the next run (loop 3). */
#define EK_DWL_ROWS(clamp)                                                                  \
    "3:\n\t"                                                                                \
    "ldr r9, %[blk]\n\t"                                                                    \
    "ldr r10, %[tail_p]\n\t"                                                                \
    "add r9, %[o], r9\n\t"                                                                  \
    "str r9, %[end]\n\t"                                                                    \
    "str r10, %[tail]\n\t"                                                                  \
    "1:\n\t"                                                                                \
    EK_DWL_ROW0("%[p0]", "%[w0") EK_DWL_ROW("%[p1]", "%[w1") EK_DWL_ROW("%[p2]", "%[w2")     \
    "ldr r12, %[mult]\n\t"                                                                  \
    "ldr lr, %[addend]\n\t"                                                                 \
    "ldr r9, %[exp]\n\t"                                                                    \
    EK_DWL_RQ("r4") EK_DWL_RQ("r5") EK_DWL_RQ("r6") EK_DWL_RQ("r8")                         \
    clamp                                                                                   \
    "ldr r10, %[cs]\n\t"                                                                    \
    "ldr r9, %[end]\n\t"                                                                    \
    "strb r4, [%[o]]\n\t"                                                                   \
    "add r11, r10, r10, lsl #1\n\t"                                                         \
    "strb r5, [%[o], r10]\n\t"                                                              \
    "strb r6, [%[o], r10, lsl #1]\n\t"                                                      \
    "strb r8, [%[o], r11]\n\t"                                                              \
    "add %[o], %[o], r10, lsl #2\n\t"                                                       \
    "cmp %[o], r9\n\t"                                                                      \
    "bne 1b\n\t"                                                                            \
    "ldr r9, %[tail]\n\t"                                                                   \
    "cmp r9, #0\n\t"                                                                        \
    "beq 4f\n\t"                                                                            \
    "sub %[p0], %[p0], r9\n\t"                                                              \
    "sub %[p1], %[p1], r9\n\t"                                                              \
    "sub %[p2], %[p2], r9\n\t"                                                              \
    "ldr r11, %[tail_o]\n\t"                                                                \
    "movs r9, #0\n\t"                                                                       \
    "str r9, %[tail]\n\t"                                                                   \
    "sub %[o], %[o], r11\n\t"                                                               \
    "add r10, %[o], r10, lsl #2\n\t"                                                        \
    "str r10, %[end]\n\t"                                                                   \
    "b 1b\n\t"                                                                              \
    "4:\n\t"                                                                                \
    "ldr r9, %[rows]\n\t"                                                                   \
    "subs r9, r9, #1\n\t"                                                                   \
    "str r9, %[rows]\n\t"                                                                   \
    "beq 5f\n\t"                                                                            \
    "ldr r9, %[p_next]\n\t"                                                                 \
    "ldr r10, %[o_next]\n\t"                                                                \
    "add %[p0], %[p0], r9\n\t"                                                              \
    "add %[p1], %[p1], r9\n\t"                                                              \
    "add %[p2], %[p2], r9\n\t"                                                              \
    "add %[o], %[o], r10\n\t"                                                               \
    "b 3b\n\t"                                                                              \
    "5:\n\t"
#define EK_DWL_ASM_OPERANDS                                                                 \
    : [p0] "+r"(p0), [p1] "+r"(p1), [p2] "+r"(p2), [o] "+r"(o), [end] "=m"(k->end),         \
      [tail] "=m"(k->tail), [rows] "+m"(k->rows)                                            \
    : [w00] "m"(k->w[0][0]), [w01] "m"(k->w[0][1]), [w10] "m"(k->w[1][0]), [w11] "m"(k->w[1][1]),  \
      [w20] "m"(k->w[2][0]), [w21] "m"(k->w[2][1]), [bias] "m"(k->bias), [mult] "m"(k->mult),      \
      [addend] "m"(k->addend), [exp] "m"(k->exp), [lo] "m"(k->lo), [cs] "m"(k->cs),              \
      [blk] "m"(k->blk), [tail_p] "m"(k->tail_p), [tail_o] "m"(k->tail_o), [p_next] "m"(k->p_next), \
      [o_next] "m"(k->o_next)                                                               \
    : "r4", "r5", "r6", "r8", "r9", "r10", "r11", "r12", "lr", "cc", "memory"

/* k->rows runs of one channel's plane from plane row r0 and output o (each run's blocks at
 * least one: the run has four outputs or the geometry stages it). */
static void dwl_rows(dwl_run_t *k, const int16_t *r0, int32_t rb, int8_t *o, int full)
{
    const int8_t *p0 = (const int8_t *)r0, *p1 = p0 + rb, *p2 = p1 + rb;
    if (full)
        __asm__ volatile(EK_DWL_ROWS("") EK_DWL_ASM_OPERANDS);
    else
        __asm__ volatile(EK_DWL_ROWS("ldrd r11, r12, %[lo]\n\t" EK_DWL_CLAMP("r4") EK_DWL_CLAMP("r5")
                                     EK_DWL_CLAMP("r6") EK_DWL_CLAMP("r8")) EK_DWL_ASM_OPERANDS);
}

/* Runs of exactly six outputs on planes whose rows are 16 bytes (six outputs and the two
 * padding columns: VWW's and MobileNetV1's 6x6 maps), each run one block: the three plane
 * rows at fixed offsets from one pointer (lr), so the six accumulators (r0-r5), the row's four
 * words (r6 r8 r9 r10: x0x1 .. x6x7) and its two weight words (r11 r12) all stay in
 * registers. Per plane row: out_j += x_j w0 + x_j+1 w1 + x_j+2 w2, twelve MAC instructions
 * for eighteen MACs as in the block of four; the output pointer lives in memory. */
#define EK_DWL6_ROW(off, w, a1, a2, a3, a4, a5)                                             \
    "ldr r11, " w "0]\n\t"                                                                  \
    "ldr r12, " w "1]\n\t"                                                                  \
    "ldr r6, [lr, #" off "]\n\t"                                                            \
    "ldr r8, [lr, #" off " + 4]\n\t"                                                        \
    "ldr r9, [lr, #" off " + 8]\n\t"                                                        \
    "ldr r10, [lr, #" off " + 12]\n\t"                                                      \
    "smlatb r1, r6, r11, " a1 "\n\t"                                                    \
    "smlad r2, r8, r11, " a2 "\n\t"                                                     \
    "smlatb r3, r8, r11, " a3 "\n\t"                                                    \
    "smlad r4, r9, r11, " a4 "\n\t"                                                     \
    "smlatb r5, r9, r11, " a5 "\n\t"                                                    \
    "smlad r0, r6, r11, r0\n\t"                                                             \
    "smlabt r0, r8, r12, r0\n\t"                                                            \
    "smlad r1, r8, r12, r1\n\t"                                                             \
    "smlabt r2, r9, r12, r2\n\t"                                                            \
    "smlad r3, r9, r12, r3\n\t"                                                             \
    "smlabt r4, r10, r12, r4\n\t"                                                           \
    "smlad r5, r10, r12, r5\n\t"
/* dw_rq_fast on a doubled sum (r11 the multiplier, r12 the addend, r9 the shift). */
#define EK_DWL6_RQ(a)                                                                       \
    "add r10, r12, " a ", asr #31\n\t"                                                      \
    "smmlar " a ", " a ", r11, r10\n\t"                                                     \
    "asr " a ", " a ", r9\n\t"                                                              \
    "ssat " a ", #8, " a "\n\t"
#define EK_DWL6_RUNS(clamp)                                                                 \
    "ldr lr, %[plane]\n\t"                                                                  \
    "1:\n\t"                                                                                \
    "ldr r0, %[bias]\n\t"                                                                   \
    /* row 0: out1-out5 start from the bias in r0, out0's own first MAC comes last */       \
    EK_DWL6_ROW("0", "%[w0", "r0", "r0", "r0", "r0", "r0")                                  \
    EK_DWL6_ROW("16", "%[w1", "r1", "r2", "r3", "r4", "r5")                                 \
    EK_DWL6_ROW("32", "%[w2", "r1", "r2", "r3", "r4", "r5")                                 \
    "ldr r11, %[mult]\n\t"                                                                  \
    "ldr r12, %[addend]\n\t"                                                                \
    "ldr r9, %[exp]\n\t"                                                                    \
    EK_DWL6_RQ("r0") EK_DWL6_RQ("r1") EK_DWL6_RQ("r2") EK_DWL6_RQ("r3") EK_DWL6_RQ("r4")    \
    EK_DWL6_RQ("r5")                                                                        \
    clamp                                                                                   \
    "ldr r6, %[o]\n\t"                                                                      \
    "ldr r8, %[cs]\n\t"                                                                     \
    "strb r0, [r6]\n\t"                                                                     \
    "strb r1, [r6, r8]\n\t"                                                                 \
    "add r6, r6, r8, lsl #1\n\t"                                                            \
    "strb r2, [r6]\n\t"                                                                     \
    "strb r3, [r6, r8]\n\t"                                                                 \
    "add r6, r6, r8, lsl #1\n\t"                                                            \
    "strb r4, [r6]\n\t"                                                                     \
    "strb r5, [r6, r8]\n\t"                                                                 \
    "add r6, r6, r8, lsl #1\n\t"                                                            \
    "ldr r9, %[o_next]\n\t"                                                                 \
    "add r6, r6, r9\n\t"                                                                    \
    "str r6, %[o]\n\t"                                                                      \
    "add lr, lr, #16\n\t"                                                                   \
    "ldr r9, %[rows]\n\t"                                                                   \
    "subs r9, r9, #1\n\t"                                                                   \
    "str r9, %[rows]\n\t"                                                                   \
    "bne 1b\n\t"
#define EK_DWL6_CLAMP(a) "cmp " a ", r11\n\tit lt\n\tmovlt " a ", r11\n\tcmp " a ", r12\n\tit gt\n\tmovgt " a ", r12\n\t"
#define EK_DWL6_OPERANDS                                                                    \
    : [o] "+m"(o), [rows] "+m"(k->rows)                                                     \
    : [plane] "m"(plane), [w00] "m"(k->w[0][0]), [w01] "m"(k->w[0][1]), [w10] "m"(k->w[1][0]), \
      [w11] "m"(k->w[1][1]), [w20] "m"(k->w[2][0]), [w21] "m"(k->w[2][1]), [bias] "m"(k->bias),  \
      [mult] "m"(k->mult), [addend] "m"(k->addend), [exp] "m"(k->exp), [lo] "m"(k->lo),          \
      [cs] "m"(k->cs), [o_next] "m"(k->o_next)                                              \
    : "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r8", "r9", "r10", "r11", "r12", "lr", "cc", "memory"

static inline __attribute__((always_inline)) void dwl_rows6(dwl_run_t *k, const int16_t *plane, int8_t *o,
                                                           int full)
{
    if (full)
        __asm__ volatile(EK_DWL6_RUNS("") EK_DWL6_OPERANDS);
    else
        __asm__ volatile(EK_DWL6_RUNS("ldrd r11, r12, %[lo]\n\t" EK_DWL6_CLAMP("r0") EK_DWL6_CLAMP("r1")
                                      EK_DWL6_CLAMP("r2") EK_DWL6_CLAMP("r3") EK_DWL6_CLAMP("r4")
                                      EK_DWL6_CLAMP("r5")) EK_DWL6_OPERANDS);
}
#else
static inline int32_t dwl_lo16(uint32_t x) { return (int32_t)(int16_t)(x & 0xFFFFu); }
static inline int32_t dwl_hi16(uint32_t x) { return (int32_t)(int16_t)(x >> 16); }

/* The same sums, requantization and runs in C (host builds of the tests). */
static void dwl_rows(dwl_run_t *k, const int16_t *r0, int32_t rb, int8_t *o, int full)
{
    (void)full;
    const int32_t n4 = k->blk / (4 * k->cs), t = k->tail_p ? 4 - k->tail_p / 2 : 0, run = 4 * n4 + t;
    for (; k->rows > 0; --k->rows, r0 = (const int16_t *)(const void *)((const int8_t *)r0 + rb),
                        o += run * k->cs + k->o_next) {
        for (int32_t v = 0; v < run; ++v) {
            int32_t acc = k->bias;
            const int16_t *r = r0 + v;
            for (int32_t i = 0; i < 3; ++i, r = (const int16_t *)(const void *)((const int8_t *)r + rb))
                acc += dwl_lo16(k->w[i][0]) * r[0] + dwl_hi16(k->w[i][0]) * r[1] + dwl_hi16(k->w[i][1]) * r[2];
            int32_t y = ek_ssat8(ek_smmlar(acc, k->mult, k->addend + (acc >> 31)) >> k->exp);
            y = y < k->lo ? k->lo : (y > k->hi ? k->hi : y);
            o[v * k->cs] = (int8_t)y;
        }
    }
}
#endif

/* Two pixels' words of four channels as one word per plane: their SXTB16 lanes (c0 c2) and
 * (c1 c3), paired per channel (PKHBT/PKHTB on the core). */
static inline void dwl_pair(uint32_t a, uint32_t b, uint32_t *d, int32_t pw)
{
    const uint32_t a02 = ek_sxtb16(a), b02 = ek_sxtb16(b), a13 = ek_sxtb16_ror8(a), b13 = ek_sxtb16_ror8(b);
    d[0] = (a02 & 0xFFFFu) | (b02 << 16);
    d[pw] = (a13 & 0xFFFFu) | (b13 << 16);
    d[2 * pw] = (b02 & 0xFFFF0000u) | (a02 >> 16);
    d[3 * pw] = (b13 & 0xFFFF0000u) | (a13 >> 16);
}

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
/* dwl_pair of r4 and r5 in fixed registers, a store and a post-increment per plane (in C the
 * four planes' stores took a register offset each). */
#define EK_DWL_PAIR_STORE_ASM                                                               \
    "sxtb16 r6, r4\n\t"                                                                     \
    "sxtb16 r8, r5\n\t"                                                                     \
    "sxtb16 r4, r4, ror #8\n\t"                                                             \
    "sxtb16 r5, r5, ror #8\n\t"                                                             \
    "pkhbt r9, r6, r8, lsl #16\n\t"                                                         \
    "str r9, [%[d0]], #4\n\t"                                                               \
    "pkhtb r9, r8, r6, asr #16\n\t"                                                         \
    "str r9, [%[d2]], #4\n\t"                                                               \
    "pkhbt r9, r4, r5, lsl #16\n\t"                                                         \
    "str r9, [%[d1]], #4\n\t"                                                               \
    "pkhtb r9, r5, r4, asr #16\n\t"                                                         \
    "str r9, [%[d3]], #4\n\t"
/* n (a register, >= 1, counted down) pairs with both pixels inside the input. */
#define EK_DWL_MID_PAIRS_ASM(n)                                                             \
    "1:\n\t"                                                                                \
    "ldr r4, [%[s]]\n\t"                                                                    \
    "ldr r5, [%[s], %[sv]]\n\t"                                                             \
    "add %[s], %[s], %[sv], lsl #1\n\t"                                                     \
    EK_DWL_PAIR_STORE_ASM                                                                   \
    "subs " n ", " n ", #1\n\t"                                                               \
    "bne 1b\n\t"
/* dwl_gather_pad1's row: (zero point, pixel 0), the n (a register, counted down) pairs
 * inside, (the last pixel, zero point); %[s] ends at the last pixel. */
#define EK_DWL_PAD1_ROW_ASM(n)                                                              \
    "mov r4, %[z]\n\t"                                                                      \
    "ldr r5, [%[s]]\n\t"                                                                    \
    "add %[s], %[s], %[sv]\n\t"                                                             \
    EK_DWL_PAIR_STORE_ASM                                                                   \
    "cmp " n ", #0\n\t"                                                                       \
    "beq 2f\n\t"                                                                            \
    EK_DWL_MID_PAIRS_ASM(n)                                                                 \
    "2:\n\t"                                                                                \
    "ldr r4, [%[s]]\n\t"                                                                    \
    "mov r5, %[z]\n\t"                                                                      \
    EK_DWL_PAIR_STORE_ASM

/* n >= 1 pairs with both pixels inside the input. */
static inline void dwl_gather_mid(const int8_t *s, int32_t sv, uint32_t *d, int32_t pw, int32_t n)
{
    uint32_t *d1 = d + pw, *d2 = d + 2 * pw, *d3 = d + 3 * pw;
    __asm__ volatile(EK_DWL_MID_PAIRS_ASM("%[n]")
                     : [s] "+r"(s), [d0] "+r"(d), [d1] "+r"(d1), [d2] "+r"(d2), [d3] "+r"(d3), [n] "+r"(n)
                     : [sv] "r"(sv)
                     : "r4", "r5", "r6", "r8", "r9", "cc", "memory");
}

#else
static inline void dwl_gather_mid(const int8_t *s, int32_t sv, uint32_t *d, int32_t pw, int32_t n)
{
    for (int32_t i = 0; i < n; ++i, s += 2 * sv) dwl_pair(rd32(s), rd32(s + sv), d + i, pw);
}
#endif

/* A row with one padding column each side and an even width, 2 (n + 1) pixels from s: the
 * pair (zero point, pixel 0), n pairs inside, (the last pixel, zero point). The common 3x3
 * SAME row, whose edge pairs in the general loop cost more than its middle on a small map. */
static __attribute__((noinline)) void dwl_gather_pad1(const int8_t *s, int32_t sv, uint32_t *d, int32_t pw, int32_t n, uint32_t zp4)
{
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    /* One asm for the row (its edge pairs in C cost more than a small map's middle). */
    uint32_t *d1 = d + pw, *d2 = d + 2 * pw, *d3 = d + 3 * pw;
    __asm__ volatile(
        EK_DWL_PAD1_ROW_ASM("%[n]")
        : [s] "+r"(s), [d0] "+r"(d), [d1] "+r"(d1), [d2] "+r"(d2), [d3] "+r"(d3), [n] "+r"(n)
        : [sv] "r"(sv), [z] "r"(zp4)
        : "r4", "r5", "r6", "r8", "r9", "cc", "memory");
#else
    dwl_pair(zp4, rd32(s), d, pw);
    if (n) dwl_gather_mid(s + sv, sv, d + 1, pw, n);
    dwl_pair(rd32(s + (2 * n + 1) * sv), zp4, d + n + 1, pw);
#endif
}

/* Words [i0, i1) of a row of the four planes: the zero point (the padding). */
static inline void dwl_fill(uint32_t *d, int32_t pw, int32_t i0, int32_t i1, uint32_t z)
{
    for (int32_t i = i0; i < i1; ++i) d[i] = d[i + pw] = d[i + 2 * pw] = d[i + 3 * pw] = z;
}

/* A pair some of whose pixels lie in the padding. */
static inline void dwl_edge_pair(const int8_t *row, int32_t sv, int32_t V, int32_t v, uint32_t *d, int32_t pw,
                                 uint32_t zp4)
{
    const uint32_t a = (uint32_t)v < (uint32_t)V ? rd32(row + v * sv) : zp4;
    const uint32_t b = (uint32_t)(v + 1) < (uint32_t)V ? rd32(row + (v + 1) * sv) : zp4;
    dwl_pair(a, b, d, pw);
}

/* dwl_gather's rows where each is dwl_gather_pad1's (their own loop: beside the general loop's
 * indices the compiler spills the pointers; pad1 itself apart, or GCC finds no registers for
 * the asm inlined here). */
static __attribute__((noinline)) void dwl_gather_rows_pad1(const int8_t *in_g, int32_t su, int32_t sv, int32_t U,
                                                           int32_t V, int32_t u0, int32_t j0, int32_t j1,
                                                           int8_t *planes, int32_t pw, int32_t rb, uint32_t zp4)
{
    const int32_t words = rb / 4;
    const uint32_t z = ek_sxtb16(zp4);
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    if (words == V / 2 + 1) {
        /* Rows whose words all come from the row (no padding words after it): the input rows
         * in one asm, row to row without a call (a plane row is its words: rb = 4 words, so
         * the pointers run on); the padding rows above and below filled here. */
        const int32_t j_lo = j0 > -u0 ? j0 : -u0, j_hi = j1 < U - u0 ? j1 : U - u0;
        for (int32_t j = j0; j < j1; ++j)
            if (j < j_lo || j >= j_hi) dwl_fill((uint32_t *)(void *)(planes + j * rb), pw, 0, words, z);
        if (j_hi <= j_lo) return;
        const int8_t *sp = in_g + (u0 + j_lo) * su;
        uint32_t *d = (uint32_t *)(void *)(planes + j_lo * rb), *d1 = d + pw, *d2 = d + 2 * pw, *d3 = d + 3 * pw;
        const int32_t n = V / 2 - 1, s_next = su - (V - 1) * sv;
        int32_t rows = j_hi - j_lo;
        __asm__ volatile(
            "10:\n\t"
            "ldr lr, %[n]\n\t"
            EK_DWL_PAD1_ROW_ASM("lr")
            "ldr r6, %[s_next]\n\t"
            "add %[s], %[s], r6\n\t"
            "ldr r6, %[rows]\n\t"
            "subs r6, r6, #1\n\t"
            "str r6, %[rows]\n\t"
            "bne 10b\n\t"
            : [s] "+r"(sp), [d0] "+r"(d), [d1] "+r"(d1), [d2] "+r"(d2), [d3] "+r"(d3), [rows] "+m"(rows)
            : [sv] "r"(sv), [z] "r"(zp4), [n] "m"(n), [s_next] "m"(s_next)
            : "r4", "r5", "r6", "r8", "r9", "lr", "cc", "memory");
        return;
    }
#endif
    for (int32_t j = j0; j < j1; ++j) {
        const int32_t u = u0 + j;
        uint32_t *d = (uint32_t *)(void *)(planes + j * rb);
        if (u < 0 || u >= U) {
            dwl_fill(d, pw, 0, words, z);
        } else {
            dwl_gather_pad1(in_g + u * su, sv, d, pw, V / 2 - 1, zp4);
            dwl_fill(d, pw, V / 2 + 1, words, z);
        }
    }
}

/* One group's planes, rows [j0, j1) (plane row j is input row u0 + j): each row's columns
 * from input column -pad_v on, two pixels a step. */
static void dwl_gather(const int8_t *in_g, int32_t su, int32_t sv, int32_t U, int32_t V, int32_t pad_v, int32_t u0,
                       int32_t j0, int32_t j1, int8_t *planes, int32_t plane_bytes, int32_t rb, uint32_t zp4)
{
    const int32_t words = rb / 4, pw = plane_bytes / 4;
    const uint32_t z = ek_sxtb16(zp4);
    /* Word i holds columns 2i - pad_v and 2i + 1 - pad_v: both inside the input for i in
     * [i_lo, i_hi), some inside below i_end, none from there on. */
    const int32_t i_end = (V + pad_v + 1) / 2 < words ? (V + pad_v + 1) / 2 : words;
    const int32_t i_hi = (V + pad_v) / 2 < i_end ? (V + pad_v) / 2 : i_end;
    const int32_t i_lo = (pad_v + 1) / 2 < i_hi ? (pad_v + 1) / 2 : i_hi;
    if (pad_v == 1 && V >= 2 && !(V & 1) && i_end == V / 2 + 1) {
        dwl_gather_rows_pad1(in_g, su, sv, U, V, u0, j0, j1, planes, pw, rb, zp4);
        return;
    }
    for (int32_t j = j0; j < j1; ++j) {
        const int32_t u = u0 + j;
        uint32_t *d = (uint32_t *)(void *)(planes + j * rb);
        if (u < 0 || u >= U) {
            dwl_fill(d, pw, 0, words, z);
            continue;
        }
        const int8_t *row = in_g + u * su;
        for (int32_t i = 0; i < i_lo; ++i) dwl_edge_pair(row, sv, V, 2 * i - pad_v, d + i, pw, zp4);
        if (i_lo < i_hi) dwl_gather_mid(row + (2 * i_lo - pad_v) * sv, sv, d + i_lo, pw, i_hi - i_lo);
        for (int32_t i = i_hi; i < i_end; ++i) dwl_edge_pair(row, sv, V, 2 * i - pad_v, d + i, pw, zp4);
        dwl_fill(d, pw, i_end, words, z);
    }
}

static void dwconv_planar(const ek_conv_params_t *p, const ek_shape_t *is, const ek_shape_t *os, int8_t *data,
                          int8_t *scratch)
{
    const dwl_layer_t *L = (const dwl_layer_t *)(const void *)p->dw_planar;
    const int32_t C = os->c, tr = L->transposed, band = L->band, rb = L->row_bytes;
    const int32_t U = tr ? is->w : is->h, V = tr ? is->h : is->w, OU = tr ? os->w : os->h, OV = tr ? os->h : os->w;
    const int32_t pad_u = tr ? p->pad_w : p->pad_h, pad_v = tr ? p->pad_h : p->pad_w;
    const int32_t su = tr ? C : is->w * C, sv = tr ? is->w * C : C;
    const int32_t osu = tr ? C : os->w * C, osv = tr ? os->w * C : C;
    const int32_t plane_bytes = (band + 2) * rb, n4 = OV / 4, tail = OV % 4;
    const uint32_t zp4 = ((uint32_t)(-p->input_offset) & 0xFFu) * 0x01010101u;
    const int full = p->act_min == -128 && p->act_max == 127;
    dwl_run_t k;
    k.lo = p->act_min;
    k.hi = p->act_max;
    for (int32_t c0 = 0; c0 < C; c0 += 4) {
        for (int32_t ou0 = 0; ou0 < OU; ou0 += band) {
            const int32_t R = OU - ou0 < band ? OU - ou0 : band;
            if (ou0 == 0) {
                dwl_gather(data + c0, su, sv, U, V, pad_v, -pad_u, 0, R + 2, scratch, plane_bytes, rb, zp4);
            } else {  /* the rows below the last band, then the new ones */
                for (int32_t c = 0; c < 4; ++c)
                    memcpy(scratch + c * plane_bytes, scratch + c * plane_bytes + band * rb, (size_t)(2 * rb));
                dwl_gather(data + c0, su, sv, U, V, pad_v, ou0 - pad_u, 2, R + 2, scratch, plane_bytes, rb, zp4);
            }
            for (int32_t c = 0; c < 4; ++c) {
                const dwl_chan_t *ch = &L->ch[c0 + c];
                memcpy(k.w, ch->w, sizeof k.w);
                k.bias = ch->bias;
                k.mult = ch->mult;
                k.addend = ch->addend;
                k.exp = ch->exp;
                const int16_t *plane = (const int16_t *)(const void *)(scratch + c * plane_bytes);
                int8_t *o = data + ou0 * osu + c0 + c;
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
                if (OV == 6 && rb == 16) {  /* runs of six, one block each (the C below does the same sums) */
                    k.cs = osv;
                    k.rows = R;
                    k.o_next = osu - 6 * osv;
                    dwl_rows6(&k, plane, o, full);
                    continue;
                }
#endif
                if (n4) {  /* every run in one call */
                    k.cs = osv;
                    k.blk = 4 * n4 * osv;
                    k.tail_p = tail ? 2 * (4 - tail) : 0;
                    k.tail_o = (4 - tail) * osv;
                    k.rows = R;
                    k.p_next = rb - 2 * OV;
                    k.o_next = osu - OV * osv;
                    dwl_rows(&k, plane, rb, o, full);
                    continue;
                }
                for (int32_t r = 0; r < R; ++r, o += osu) {  /* runs shorter than a block: via `last` */
                    int8_t last[4];
                    k.cs = 1;
                    k.blk = 4;
                    k.tail_p = 0;
                    k.rows = 1;
                    dwl_rows(&k, (const int16_t *)(const void *)((const int8_t *)plane + r * rb), rb, last, full);
                    for (int32_t j = 0; j < tail; ++j) o[j * osv] = last[j];
                }
            }
        }
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
    const int fast = dw_fast_ok(mult, shift, bias, C, fs->h * fs->w);
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
                        dw3x3_interior4(p, mult, shift, bias, input + px_off, in_row, C, filter, out, c, off2, fast);
                    } else {
                        const uint32_t cols = ((1u << fx1) - 1u) & ~((1u << fx0) - 1u);
                        uint32_t valid = 0;
                        for (int32_t fy = fy0; fy < fy1; ++fy) valid |= cols << (3 * fy);
                        dw3x3_border4(p, mult, shift, bias, input, px_off, in_row, C, filter, out, c, off2, valid, fast);
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
                    dw_store4(p, mult, shift, bias, c, out, a0, a1, a2, a3, fast);
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

#if EK_KERNELS_MVE
/* 3x3, dilation 1, depth_multiplier 1, four channels per vector with the channel group
 * outermost: its data is made once per group (dw3x3_mve_group_t, on the stack: the nine taps'
 * weights widened to int32, the bias with input_offset * sum(w) folded in, the
 * requantization's vectors), and then every output pixel is one asm block (dw3x3_mve_pixel)
 * over nine tap pointers: the raw input bytes of the taps inside the input, four input zero
 * points for a tap in the padding (its x + offset is 0 against the folded bias's term for
 * it). With the intrinsics GCC spilled the nine weight vectors and recomputed every address. */
typedef struct {
    int32_t w[9][4];
    int32_t bias_in[4], left[4], mult[4], neg_right[4], lo[4], hi[4];
} dw3x3_mve_group_t;
/* The offsets dw3x3_mve_pixel's asm reads. */
_Static_assert(offsetof(dw3x3_mve_group_t, bias_in) == 144 && offsetof(dw3x3_mve_group_t, left) == 160 &&
                   offsetof(dw3x3_mve_group_t, mult) == 176 && offsetof(dw3x3_mve_group_t, neg_right) == 192 &&
                   offsetof(dw3x3_mve_group_t, lo) == 208 && offsetof(dw3x3_mve_group_t, hi) == 224,
               "dw3x3_mve_group_t layout");

#define EK_DW_MVE_TAP_ASM(k)                                      \
    "ldr r0, [%[t], #" #k " * 4]\n\t"                             \
    "vldrb.s32 q1, [r0]\n\t"                                      \
    "vldrw.u32 q2, [%[g], #" #k " * 16]\n\t"                      \
    "vmul.i32 q1, q1, q2\n\t"                                     \
    "vadd.i32 q0, q0, q1\n\t"

/* The four outputs of one pixel: acc = bias_in + sum over the taps of x * w, then mve_requant's
 * steps (the same instructions: VSHL, VQRDMULH, the rounding fix-up, VRSHL, the zero point,
 * the clamp). */
static inline void dw3x3_mve_pixel(const dw3x3_mve_group_t *g, const int8_t *const t[9], int32_t zp_out,
                                   int8_t *out)
{
    __asm__ volatile(
        "vldrw.u32 q0, [%[g], #144]\n\t"
        EK_DW_MVE_TAP_ASM(0) EK_DW_MVE_TAP_ASM(1) EK_DW_MVE_TAP_ASM(2)
        EK_DW_MVE_TAP_ASM(3) EK_DW_MVE_TAP_ASM(4) EK_DW_MVE_TAP_ASM(5)
        EK_DW_MVE_TAP_ASM(6) EK_DW_MVE_TAP_ASM(7) EK_DW_MVE_TAP_ASM(8)
        "vldrw.u32 q1, [%[g], #160]\n\t"
        "vshl.s32 q0, q0, q1\n\t"
        "vldrw.u32 q1, [%[g], #176]\n\t"
        "vqrdmulh.s32 q0, q0, q1\n\t"
        "vldrw.u32 q2, [%[g], #192]\n\t"
        "vand q1, q0, q2\n\t"
        "vshr.s32 q1, q1, #31\n\t"
        "vqadd.s32 q0, q0, q1\n\t"
        "vrshl.s32 q0, q0, q2\n\t"
        "vadd.i32 q0, q0, %[zp]\n\t"
        "vldrw.u32 q1, [%[g], #208]\n\t"
        "vmax.s32 q0, q0, q1\n\t"
        "vldrw.u32 q1, [%[g], #224]\n\t"
        "vmin.s32 q0, q0, q1\n\t"
        "vstrb.32 q0, [%[out]]\n\t"
        :
        : [g] "r"(g), [t] "r"(t), [zp] "r"(zp_out), [out] "l"(out)  /* VSTRB.32 takes a low register */
        : "r0", "q0", "q1", "q2", "memory");
}

static void dw3x3_mve_group(const ek_conv_params_t *p, const int32_t *mult, const int32_t *shift,
                            const ek_shape_t *is, const int8_t *input, const int8_t *filter, const int32_t *bias,
                            const ek_shape_t *os, int8_t *output, int32_t c)
{
    const int32_t C = os->c, in_row = is->w * C, sh = p->stride_h, sw = p->stride_w;
    const int32_t ih = is->h, iw = is->w, oh = os->h, ow = os->w, off = p->input_offset;
    dw3x3_mve_group_t g;
    int32x4_t wsum = vdupq_n_s32(0);
    for (int32_t k = 0; k < 9; ++k) {
        const int32x4_t w = vldrbq_s32(filter + k * C + c);
        vstrwq_s32(g.w[k], w);
        wsum = vaddq_s32(wsum, w);
    }
    const int32x4_t sv = vldrwq_s32(shift + c), zero = vdupq_n_s32(0);
    vstrwq_s32(g.bias_in, vmlaq_n_s32(bias ? vldrwq_s32(bias + c) : zero, wsum, off));
    vstrwq_s32(g.left, vmaxq_s32(sv, zero));
    vstrwq_s32(g.mult, vldrwq_s32(mult + c));
    vstrwq_s32(g.neg_right, vminq_s32(sv, zero));
    vstrwq_s32(g.lo, vdupq_n_s32(p->act_min));
    vstrwq_s32(g.hi, vdupq_n_s32(p->act_max));
    const int8_t zp = (int8_t)(-off), zp4[4] = {zp, zp, zp, zp};
    const int8_t *t[9];
    for (int32_t b = 0; b < os->n; ++b) {
        const int8_t *in_b = input + (size_t)b * ih * in_row + c;
        for (int32_t oy = 0; oy < oh; ++oy) {
            const int32_t iy0 = oy * sh - p->pad_h;
            const int row_inside = iy0 >= 0 && iy0 + 3 <= ih;
            int8_t *out = output + ((size_t)(b * oh + oy) * ow) * C + c;
            for (int32_t ox = 0; ox < ow; ++ox, out += C) {
                const int32_t ix0 = ox * sw - p->pad_w;
                if (row_inside && ix0 >= 0 && ix0 + 3 <= iw) {
                    const int8_t *r = in_b + iy0 * in_row + ix0 * C;
                    for (int32_t k = 0; k < 9; k += 3, r += in_row) {
                        t[k] = r;
                        t[k + 1] = r + C;
                        t[k + 2] = r + 2 * C;
                    }
                } else {
                    const int c0 = ix0 >= 0 && ix0 < iw, c1 = ix0 + 1 >= 0 && ix0 + 1 < iw, c2 = ix0 + 2 >= 0 && ix0 + 2 < iw;
                    for (int32_t fy = 0; fy < 3; ++fy) {
                        const int32_t iy = iy0 + fy;
                        const int8_t **tr = t + fy * 3;
                        if (iy < 0 || iy >= ih) {
                            tr[0] = tr[1] = tr[2] = zp4;
                            continue;
                        }
                        const int8_t *r = in_b + iy * in_row;  /* + ix * C only for an ix inside */
                        tr[0] = c0 ? r + ix0 * C : zp4;
                        tr[1] = c1 ? r + (ix0 + 1) * C : zp4;
                        tr[2] = c2 ? r + (ix0 + 2) * C : zp4;
                    }
                }
                dw3x3_mve_pixel(&g, t, p->output_offset, out);
            }
        }
    }
}

/* The channel groups of four; the last, partial one (if C % 4) through dwconv_mve. */
static int32_t dwconv_mve_3x3(const ek_conv_params_t *p, const int32_t *mult, const int32_t *shift,
                              const ek_shape_t *is, const int8_t *input, const int8_t *filter, const int32_t *bias,
                              const ek_shape_t *os, int8_t *output)
{
    int32_t c = 0;
    for (; c + 4 <= os->c; c += 4) dw3x3_mve_group(p, mult, shift, is, input, filter, bias, os, output, c);
    return c;
}

/* DEPTHWISE_CONV_2D, depth_multiplier 1: four channels per vector (int8 widened to int32
 * lanes), a multiply and an add per tap, the valid window computed once per output pixel. */
static void dwconv_mve(const ek_conv_params_t *p, const int32_t *mult, const int32_t *shift,
                       const ek_shape_t *is, const int8_t *input, const ek_shape_t *fs,
                       const int8_t *filter, const int32_t *bias, const ek_shape_t *os,
                       int8_t *output, int32_t c_begin)
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
                for (int32_t c = c_begin; c < C; c += 4) {
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

void ek_depthwise_conv2d_s8(const ek_conv_params_t *p, const int32_t *mult,
                            const int32_t *shift, const ek_shape_t *in_shape,
                            const int8_t *input, const ek_shape_t *filter_shape,
                            const int8_t *filter, const int32_t *bias,
                            const ek_shape_t *out_shape, int8_t *output)
{
#if EK_KERNELS_MVE
    if (p->depth_multiplier == 1) {
        const int k3x3 = filter_shape->h == 3 && filter_shape->w == 3 && p->dilation_h == 1 && p->dilation_w == 1;
        const int32_t c0 = k3x3 ? dwconv_mve_3x3(p, mult, shift, in_shape, input, filter, bias, out_shape, output) : 0;
        if (c0 < out_shape->c)
            dwconv_mve(p, mult, shift, in_shape, input, filter_shape, filter, bias, out_shape, output, c0);
        return;
    }
#endif
#if EK_KERNELS_DSP
    if (p->dw_packed) {
        dwconv_packed(p, mult, shift, in_shape, input, filter_shape, filter, bias, out_shape, output);
        return;
    }
    if (p->depth_multiplier == 1) {
        dwconv_dsp(p, mult, shift, in_shape, input, filter_shape, filter, bias, out_shape, output);
        return;
    }
#endif
    dwconv_ref(p, mult, shift, in_shape, input, filter_shape, filter, bias, out_shape, output, 0);
}

int ek_depthwise_conv2d_s8_planar(const ek_conv_params_t *p, const ek_shape_t *in_shape,
                                  const ek_shape_t *out_shape, int8_t *data, int8_t *scratch)
{
#if EK_DSP_PACKED_BUILD
    if (p->dw_planar) {
        dwconv_planar(p, in_shape, out_shape, data, scratch);
        return 1;
    }
#else
    (void)p; (void)in_shape; (void)out_shape; (void)data; (void)scratch;
#endif
    return 0;
}

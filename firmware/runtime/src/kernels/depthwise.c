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
    int32_t mult[4], addend[4], exp[4];
} dwp_group_t;
typedef struct {
    uint32_t lo4, hi4, off2, unused;  /* act_min, act_max per byte; input_offset per lane */
    dwp_group_t g[];
} dwp_layer_t;

static inline uint32_t dwp_rq4(const dwp_group_t *g, int32_t a0, int32_t a1, int32_t a2, int32_t a3)
{
#define EK_DWP_RQ(j, a) ek_ssat8(ek_smmlar(a, g->mult[j], g->addend[j] + ((a) >> 31)) >> g->exp[j])
    return ek_pack_s8x4((uint32_t)EK_DWP_RQ(0, a0), (uint32_t)EK_DWP_RQ(1, a1), (uint32_t)EK_DWP_RQ(2, a2),
                        (uint32_t)EK_DWP_RQ(3, a3));
#undef EK_DWP_RQ
}

/* One tap of four channels: the input word (raw, or plus the offset per lane with SADD16) and
 * the tap's two weight words in one LDRD, SMLABB/SMLATT per channel. On the core, one asm
 * block per tap: as separate statements the compiler hoists every load of the nine taps to
 * the top and spills the widened words. */
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
/* The asm pieces: load and widen, the extra lane step (none, or SADD16 of the offset), MACs. */
#define EK_DWP_ASM_LOAD "ldr %[x], %[in]\n\tldrd %[wl], %[wh], %[w]\n\tsxtb16 %[y], %[x]\n\tsxtb16 %[x], %[x], ror #8\n\t"
#define EK_DWP_ASM_MAC                                                         \
    "smlabb %[a0], %[y], %[wl], %[a0]\n\tsmlatt %[a2], %[y], %[wl], %[a2]\n\t" \
    "smlabb %[a1], %[x], %[wh], %[a1]\n\tsmlatt %[a3], %[x], %[wh], %[a3]"
/* The asm's memory operands name the bytes it reads; may_alias types, since those bytes are
 * int8/int16 arrays (a plain uint32_t/uint64_t lvalue breaks strict aliasing). */
typedef uint32_t __attribute__((may_alias)) ek_dw_u32_alias;
typedef uint64_t __attribute__((may_alias)) ek_dw_u64_alias;
#define EK_DWP_ASM_TAP(ip, wt, step, oc, off2, a0, a1, a2, a3)                               \
    do {                                                                                     \
        uint32_t x_, y_, wl_, wh_;                                                           \
        __asm__(EK_DWP_ASM_LOAD step EK_DWP_ASM_MAC                                          \
                : [x] "=&r"(x_), [y] "=&r"(y_), [wl] "=&r"(wl_), [wh] "=&r"(wh_),            \
                  [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3)                 \
                : [in] "m"(*(const ek_dw_u32_alias *)(const void *)(ip)),                           \
                  [w] "m"(*(const ek_dw_u64_alias *)(const void *)(wt)), [o] oc(off2));              \
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

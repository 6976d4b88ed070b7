/* SIMD primitives shared by the kernel files: the dual 16-bit MAC instructions of the DSP
 * extension (SXTB16, SADD16, SMLAD, SMLABB, SMLATT), the int16 im2col-row helpers of the
 * fully-connected DSP kernel (conv now widens into its own pair rows, conv.c), and Helium's
 * four-lane requantization. Not part of the
 * runtime's API (the kernel headers in src/kernels/ are).
 *
 * With EK_KERNELS_DSP on a core with __ARM_FEATURE_DSP the primitives are ACLE intrinsics; on
 * any other compiler they are host emulations with the instructions' exact semantics, so the
 * optimized algorithms are tested on the host too.
 */
#ifndef EK_SIMD_H
#define EK_SIMD_H

#include "ek_fixedpoint.h"

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
#define ek_qadd(a, b) (__qadd((a), (b)))
/* SMMLAR: acc + the high word of a * b rounded (+2^31), one instruction (ACLE has no form). */
static inline int32_t ek_smmlar(int32_t a, int32_t b, int32_t acc)
{
    int32_t r;
    __asm__("smmlar %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}
#define ek_ssat8(x) (__ssat((x), 8))
/* Four int8 values (in int32s) into one word, byte i from oi: three BFIs. */
static inline uint32_t ek_pack_s8x4(uint32_t o0, uint32_t o1, uint32_t o2, uint32_t o3)
{
    __asm__("bfi %0, %1, #8, #8\n\tbfi %0, %2, #16, #8\n\tbfi %0, %3, #24, #8"
            : "+r"(o0) : "r"(o1), "r"(o2), "r"(o3));
    return o0;
}
/* Per byte: max(v, lo) then min(., hi) (SSUB8 sets the GE bits SEL reads: one asm block, so
 * nothing can come between the two). */
static inline uint32_t ek_clamp_s8x4(uint32_t v, uint32_t lo, uint32_t hi)
{
    uint32_t t;
    __asm__("ssub8 %0, %1, %2\n\tsel %1, %1, %2\n\tssub8 %0, %1, %3\n\tsel %1, %3, %1"
            : "=&r"(t), "+r"(v) : "r"(lo), "r"(hi) : "cc");
    return v;
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
static inline int32_t ek_qadd(int32_t a, int32_t b)
{
    const int64_t s = (int64_t)a + b;
    return s > INT32_MAX ? INT32_MAX : (s < INT32_MIN ? INT32_MIN : (int32_t)s);
}
static inline int32_t ek_smmlar(int32_t a, int32_t b, int32_t acc)
{
    return (int32_t)((uint32_t)((uint64_t)((int64_t)a * b + (1LL << 31)) >> 32) + (uint32_t)acc);
}
static inline int32_t ek_ssat8(int32_t x) { return x < -128 ? -128 : (x > 127 ? 127 : x); }
static inline uint32_t ek_pack_s8x4(uint32_t o0, uint32_t o1, uint32_t o2, uint32_t o3)
{
    return (o0 & 0xFFu) | ((o1 & 0xFFu) << 8) | ((o2 & 0xFFu) << 16) | (o3 << 24);
}
static inline uint32_t ek_clamp_s8x4(uint32_t v, uint32_t lo, uint32_t hi)
{
    uint32_t r = 0;
    for (int i = 0; i < 32; i += 8) {
        int32_t b = (int8_t)(uint8_t)(v >> i);
        const int32_t l = (int8_t)(uint8_t)(lo >> i), h = (int8_t)(uint8_t)(hi >> i);
        b = b < l ? l : b;
        b = b > h ? h : b;
        r |= ((uint32_t)b & 0xFFu) << i;
    }
    return r;
}
#endif
/* srdhm without its branch: v = ab + 2^30 (SMLAL, exact in 64 bits as |ab| <= 2^62), and
 * floor(v / 2^31) = 2 * hi + bit 31 of lo, hi and lo v's halves. hi < 2^30 unless
 * a == b == INT32_MIN (v = 2^62 + 2^30: the next largest ab is 2^62 - 2^31), and hi >= -2^30,
 * so QADD(hi, hi) doubles exactly except in that one case, where it saturates to INT32_MAX,
 * srdhm's answer (lo = 2^30 there, bit 31 clear). 2 * hi is even: OR adds the bit. */
static inline int32_t srdhm_qadd(int32_t a, int32_t b)
{
    const uint64_t v = (uint64_t)((int64_t)a * b + (1LL << 30));
    const int32_t hi = (int32_t)(uint32_t)(v >> 32);
    return (int32_t)((uint32_t)ek_qadd(hi, hi) | ((uint32_t)v >> 31));
}
/* mbqm with srdhm_qadd: the same value for every input (tests/runtime/test_fixedpoint.py). */
static inline int32_t mbqm_qadd(int32_t x, int32_t multiplier, int shift)
{
    const int left_shift = shift > 0 ? shift : 0;
    const int right_shift = shift > 0 ? 0 : -shift;
    return rdbypot(srdhm_qadd((int32_t)((uint32_t)x << left_shift), multiplier), right_shift);
}
/* Unaligned 32-bit access through memcpy: one LDR/STR on v7-M, defined behaviour in C. */
static inline uint32_t rd32(const void *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
static inline void wr32(void *p, uint32_t v) { memcpy(p, &v, 4); }

/* Position of element k of a K-long im2col row: groups of four are stored as x0 x2 x1 x3,
 * matching the lane order SXTB16 produces from four packed int8 weights. */
static inline int32_t col_pos(int32_t k, int32_t k4) { return k < k4 ? (k & ~3) + ((k & 1) << 1) + ((k >> 1) & 1) : k; }

/* Widen n int8 values (+offset) into the reordered int16 row starting at col[k..]. k and n
 * are multiples of 4 on the fast path. Fully connected is its one caller now; it stays out of
 * line on the DSP-only builds (and its address escapes, below) so the fully-connected code,
 * and the instruction counts measured on it, stay what they were when conv shared it. */
#if EK_KERNELS_MVE
__attribute__((unused))
#else
__attribute__((unused, noinline, noclone))
#endif
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
#if !EK_KERNELS_MVE
/* The address escapes, so the compiler does not specialize the copy for its caller's
 * constants; the pointer itself is never linked. */
__attribute__((used)) static void (*const ek_widen_s8_shared)(const int8_t *, int32_t, int32_t, int32_t,
                                                              int32_t, int16_t *) = widen_s8;
#endif

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

#endif

#endif

/* Fixed-point primitives shared by the kernel files of edgekit-micro (one file per op
 * family under src/kernels/). Not part of the runtime's API: the kernel headers next to the
 * kernels (src/kernels/<family>.h) are.
 *
 * static inline bodies so the kernels' per-output requantization is inlined into each kernel;
 * the exported ek_srdhm/ek_rdbypot/ek_mbqm wrappers (kernels/fixedpoint.c) are for tests.
 * Semantics: gemmlowp / TFLite common.h, operation by operation, so outputs are bit-exact with
 * TFLite Micro's reference integer kernels.
 */
#ifndef EK_FIXEDPOINT_H
#define EK_FIXEDPOINT_H

#include "ek_kernel_types.h"

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

static inline int32_t clamp_i32(int32_t v, int32_t lo, int32_t hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

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


/* An element-wise int8 op whose output depends on the input value alone (LOGISTIC, TANH,
 * HARD_SWISH) has at most 256 distinct results: for more elements than that, fn computes each
 * once into a table and the elements are looked up (the same function, so the same bits). */
typedef int8_t (*ek_int8_fn_t)(const void *params, int32_t value);

__attribute__((unused)) static void map_int8(ek_int8_fn_t fn, const void *params, int32_t size,
                                             const int8_t *input, int8_t *output)
{
    if (size > 256) {
        int8_t table[256];
        for (int32_t v = -128; v < 128; ++v) table[v + 128] = fn(params, v);
        for (int32_t i = 0; i < size; ++i) output[i] = table[input[i] + 128];
    } else {
        for (int32_t i = 0; i < size; ++i) output[i] = fn(params, input[i]);
    }
}

/* gemmlowp's exp and reciprocal pieces, shared by SOFTMAX, LOGISTIC and TANH (static, not
 * inline: each kernel file keeps its own copy, as one file had before the split). */
/* exp(x) for x in [-1/4, 0), Q0.31 in and out. */
__attribute__((unused)) static int32_t exp_quarter(int32_t a)
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

/* gemmlowp's exp_on_negative_values for a raw value with int_bits (at most 5) integer bits
 * (a <= 0): exp of a's part in [-1/4, 0), then the barrel shifter over the remaining powers of
 * two. */
__attribute__((unused)) static int32_t exp_on_negative(int32_t a, int int_bits)
{
    static const int32_t mults[7] = {1672461947, 1302514674, 790015084, 290630308,
                                     39332535, 720401, 242};
    const int frac = 31 - int_bits;
    const int32_t one_quarter = 1 << (frac - 2);
    const int32_t a_mod = (a & (one_quarter - 1)) - one_quarter;
    int32_t result = exp_quarter(sat_mul_pot(a_mod, int_bits));
    const int32_t remainder = a_mod - a;
    for (int e = -2; e <= 4 && e < int_bits; ++e)
        if (remainder & (1 << (frac + e))) result = srdhm(result, mults[e + 2]);
    return a == 0 ? INT32_MAX : result;
}

/* 1/(1+x) for x in [0,1), Q0.31 in; the quotient in Q2.29 (gemmlowp's Newton-Raphson, as
 * one_over_one_plus_x_for_x_in_0_1 and one_minus_x_over_one_plus_x_for_x_in_0_1 share it). */
__attribute__((unused)) static int32_t reciprocal_one_plus_x_q2(int32_t a)
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
    return x;
}

/* 1/(1+x) for x in [0,1), Q0.31; result Q0.31. */
__attribute__((unused)) static int32_t one_over_one_plus_x(int32_t a)
{
    /* ExactMulByPot<-1> only relabels Q2.29 as Q1.30; Rescale<0> then doubles. */
    return sat_mul_pot(reciprocal_one_plus_x_q2(a), 1);
}

#endif

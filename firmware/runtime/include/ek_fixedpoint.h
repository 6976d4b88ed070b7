/* Fixed-point primitives shared by the kernel files of edgekit-micro (one file per op
 * family under src/kernels/). Not part of the runtime's API: ek_kernels.h is.
 *
 * static inline bodies so the kernels' per-output requantization is inlined into each kernel;
 * the exported ek_srdhm/ek_rdbypot/ek_mbqm wrappers (kernels/fixedpoint.c) are for tests.
 * Semantics: gemmlowp / TFLite common.h, operation by operation, so outputs are bit-exact with
 * TFLite Micro's reference integer kernels.
 */
#ifndef EK_FIXEDPOINT_H
#define EK_FIXEDPOINT_H

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


#endif

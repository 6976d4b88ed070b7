/* edgekit-micro kernels: standalone activations (HARD_SWISH, LOGISTIC). Declarations:
 * activations.h.
 *
 * The arithmetic follows TFLite Micro's reference integer kernels operation by operation
 * (not merely "close"): every rounding step is the same, so outputs are bit-exact. Tests in
 * tests/codegen and tests/runtime hold this against the tflite-micro interpreter.
 */
#include "activations.h"
#include "ek_fixedpoint.h"

/* 16-bit fixed point as HardSwish uses it: gemmlowp's int16 SaturatingRoundingDoublingHighMul,
 * the truncating SQDMULH-like variant, a saturating left shift and RoundingDivideByPOT. */
static inline int32_t srdhm16(int32_t a, int32_t b)
{
    if (a == b && a == -32768) return 32767;
    const int32_t ab = a * b;
    const int32_t nudge = ab >= 0 ? (1 << 14) : (1 - (1 << 14));
    return (int16_t)((ab + nudge) / (1 << 15));   /* C division truncates, as in gemmlowp */
}

static inline int32_t sdhm16(int32_t a, int32_t b)
{
    if (a == b && a == -32768) return 32767;
    return (int16_t)((a * b) / (1 << 15));
}

static inline int32_t sat_shl16(int32_t v, int amount)
{
    const int64_t r = (int64_t)v * ((int64_t)1 << amount);
    return (int32_t)(r > 32767 ? 32767 : (r < -32768 ? -32768 : r));
}

static int8_t hard_swish_one(const void *params, int32_t value)
{
    const ek_hard_swish_params_t *p = params;
    const int32_t hires = (int16_t)((value - p->input_zero_point) * (1 << 7));
    const int32_t preshift_out = srdhm16(hires, p->output_multiplier_fixedpoint_int16);
    int32_t reluish = hires;
    if (p->reluish_multiplier_exponent > 0)
        reluish = sat_shl16(reluish, p->reluish_multiplier_exponent - 1);
    reluish = srdhm16(reluish, p->reluish_multiplier_fixedpoint_int16);
    if (p->reluish_multiplier_exponent > 0)
        reluish = sat_shl16(reluish, 1);
    if (p->reluish_multiplier_exponent < 0)
        reluish = rdbypot(reluish, -p->reluish_multiplier_exponent);
    reluish = (int16_t)((reluish + (1 << 15)) >> 1);   /* [-1, 1] -> [0, 1] */
    int32_t out = rdbypot(sdhm16(reluish, preshift_out), -p->output_multiplier_exponent);
    out += p->output_zero_point;
    return (int8_t)clamp_i32(out, -128, 127);
}

void ek_hard_swish_s8(const ek_hard_swish_params_t *p, int32_t size, const int8_t *input,
                      int8_t *output)
{
    map_int8(hard_swish_one, p, size, input, output);
}

/* LOGISTIC (int8 -> int8 with scale 1/256, zero point -128): TFLM's integer reference, the
 * input rescaled to Q4.27, gemmlowp's logistic, then RoundingDivideByPOT to the output. */
static int8_t logistic_one(const void *params, int32_t value)
{
    const ek_logistic_params_t *p = params;
    const int32_t x = value - p->input_zero_point;
    if (x <= -p->input_range_radius) return -128;
    if (x >= p->input_range_radius) return 127;
    const int32_t q4 = mbqm(x, p->input_multiplier, p->input_left_shift);
    int32_t q0;
    if (q4 == 0) {
        q0 = 1 << 30;   /* one half */
    } else {
        const int32_t pos = one_over_one_plus_x(exp_on_negative(q4 > 0 ? -q4 : q4, 4));
        q0 = q4 > 0 ? pos : (int32_t)((uint32_t)INT32_MAX - (uint32_t)pos);
    }
    return (int8_t)clamp_i32(rdbypot(q0, 31 - 8) - 128, -128, 127);
}

void ek_logistic_s8(const ek_logistic_params_t *p, int32_t size, const int8_t *input, int8_t *output)
{
    map_int8(logistic_one, p, size, input, output);
}

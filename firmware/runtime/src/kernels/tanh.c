/* edgekit-micro kernel: TANH (int8 -> int8, output scale 1/128 and zero point 0). Declarations:
 * tanh.h.
 *
 * TFLite Micro's reference_integer_ops::Tanh operation by operation, so outputs are bit-exact:
 * the input rescaled to Q4.27, gemmlowp's tanh on it (tanh(|x|) = (1 - e) / (1 + e) with
 * e = exp(-2|x|), the division by Newton-Raphson), then RoundingDivideByPOT to Q0.7. Tests in
 * tests/codegen and tests/runtime hold this against the tflite-micro interpreter.
 */
#include "tanh.h"
#include "ek_fixedpoint.h"

/* gemmlowp's one_minus_x_over_one_plus_x_for_x_in_0_1: (1 - a) / (1 + a), Q0.31 in and out;
 * Rescale<0> of the Q2.29 quotient minus one. */
static int32_t one_minus_x_over_one_plus_x(int32_t a)
{
    return sat_mul_pot(reciprocal_one_plus_x_q2(a) - (1 << 29), 2);
}

static int8_t tanh_one(const void *params, int32_t value)
{
    const ek_tanh_params_t *p = params;
    const int32_t x = value - p->input_zero_point;
    if (x <= -p->input_range_radius) return -128;
    if (x >= p->input_range_radius) return 127;
    const int32_t q4 = mbqm(x, p->input_multiplier, p->input_left_shift);
    int32_t q0 = 0;   /* tanh(0) */
    if (q4 != 0) {
        /* exp(2 * -|x|): ExactMulByPot<1> relabels Q4.27 as Q5.26, the raw value unchanged */
        const int32_t t = one_minus_x_over_one_plus_x(exp_on_negative(q4 > 0 ? -q4 : q4, 5));
        q0 = q4 > 0 ? t : -t;
    }
    return (int8_t)clamp_i32(rdbypot(q0, 31 - 7), -128, 127);
}

void ek_tanh_s8(const ek_tanh_params_t *p, int32_t size, const int8_t *input, int8_t *output)
{
    map_int8(tanh_one, p, size, input, output);
}

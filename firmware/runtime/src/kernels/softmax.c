/* edgekit-micro kernels: SOFTMAX (int8 -> int8), gemmlowp fixed point as the reference
 * computes it. Declarations: softmax.h.
 *
 * The arithmetic follows TFLite Micro's reference integer kernels operation by operation
 * (not merely "close"): every rounding step is the same, so outputs are bit-exact. Tests in
 * tests/runtime and tests/codegen hold this against the tflite-micro interpreter.
 */
#include "softmax.h"
#include "ek_fixedpoint.h"

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
                sum += sat_mul_pot(exp_on_negative(r, 5), -12);
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
                const int32_t e = exp_on_negative(r, 5);
                const int32_t unsat = rdbypot(srdhm(shifted_scale, e), exponent);
                out[c] = (int8_t)clamp_i32(unsat - 128, -128, 127);
            } else {
                out[c] = -128;
            }
        }
    }
}

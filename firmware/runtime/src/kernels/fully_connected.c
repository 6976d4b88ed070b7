/* edgekit-micro kernels: FULLY_CONNECTED in its reference and DSP variants. Declarations:
 * fully_connected.h.
 *
 * The arithmetic follows TFLite Micro's reference integer kernels operation by operation
 * (not merely "close"): every rounding step is the same, so outputs are bit-exact. Tests in
 * tests/runtime and tests/codegen hold this against the tflite-micro interpreter.
 */
#include "fully_connected.h"
#include "ek_simd.h"

/* The arena scratch (the DSP kernel's int16 input row) is sized by the generator:
 * scratch_bytes() in toolkit/edgekit/codegen/ops/fully_connected.py. */

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

/* edgekit-micro kernels: element-wise ops: ADD (same shapes; int8 with left_shift 20). See
 * include/ek_kernels.h.
 *
 * The arithmetic follows TFLite Micro's reference integer kernels operation by operation
 * (not merely "close"): every rounding step is the same, so outputs are bit-exact. Tests in
 * tests/runtime and tests/codegen hold this against the tflite-micro interpreter.
 */
#include "ek_fixedpoint.h"

void ek_add_s8(const ek_add_params_t *p, int32_t size, const int8_t *in1, const int8_t *in2,
               int8_t *output)
{
    for (int32_t i = 0; i < size; ++i) {
        const int32_t v1 = (p->input1_offset + in1[i]) * (1 << p->left_shift);
        const int32_t v2 = (p->input2_offset + in2[i]) * (1 << p->left_shift);
        /* MultiplyByQuantizedMultiplierSmallerThanOneExp == ek_mbqm with shift <= 0. */
        const int32_t s1 = mbqm(v1, p->input1_multiplier, p->input1_shift);
        const int32_t s2 = mbqm(v2, p->input2_multiplier, p->input2_shift);
        const int32_t out = mbqm(s1 + s2, p->output_multiplier, p->output_shift) + p->output_offset;
        output[i] = (int8_t)clamp_i32(out, p->act_min, p->act_max);
    }
}

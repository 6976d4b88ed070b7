/* edgekit-micro kernels: QUANTIZE (float -> int8, int8 -> int8) and DEQUANTIZE. Declarations:
 * quantize.h.
 *
 * The arithmetic follows TFLite Micro's reference integer kernels operation by operation
 * (not merely "close"): every rounding step is the same, so outputs are bit-exact. Tests in
 * tests/runtime and tests/codegen hold this against the tflite-micro interpreter.
 */
#include "quantize.h"
#include "ek_fixedpoint.h"

void ek_quantize_f32_s8(int32_t size, const float *input, float scale, int32_t zero_point,
                        int8_t *output)
{
    for (int32_t i = 0; i < size; ++i) {
        /* float division and round half away from zero (TfLiteRound), as AffineQuantize */
        const float q = roundf(input[i] / scale);
        int32_t v;
        if (q >= 2147483520.0f) v = INT32_MAX - 255;
        else if (q <= -2147483520.0f) v = INT32_MIN + 255;
        else v = (int32_t)q;
        output[i] = (int8_t)clamp_i32(v + zero_point, -128, 127);
    }
}

void ek_requantize_s8(int32_t size, const int8_t *input, int32_t input_zp, int32_t multiplier,
                      int32_t shift, int32_t output_zp, int8_t *output)
{
    for (int32_t i = 0; i < size; ++i) {
        const int32_t v = mbqm(input[i] - input_zp, multiplier, shift) + output_zp;
        output[i] = (int8_t)clamp_i32(v, -128, 127);
    }
}

void ek_dequantize_s8_f32(int32_t size, const int8_t *input, double scale, int32_t zero_point,
                          float *output)
{
    for (int32_t i = 0; i < size; ++i)
        output[i] = (float)(scale * (double)(input[i] - zero_point));
}

/* edgekit-micro kernels: QUANTIZE (float -> int8, int8 -> int8) and DEQUANTIZE. Kernel:
 * quantize.c (this folder); shared types: include/ek_kernel_types.h. See docs/ARCHITECTURE.md,
 * "Adding an op". */
#ifndef EK_KERNELS_QUANTIZE_H
#define EK_KERNELS_QUANTIZE_H

#include "ek_kernel_types.h"

#ifdef __cplusplus
extern "C" {
#endif

void ek_quantize_f32_s8(int32_t size, const float *input, float scale, int32_t zero_point,
                        int8_t *output);
void ek_requantize_s8(int32_t size, const int8_t *input, int32_t input_zp, int32_t multiplier,
                      int32_t shift, int32_t output_zp, int8_t *output);
void ek_dequantize_s8_f32(int32_t size, const int8_t *input, double scale, int32_t zero_point,
                          float *output);

#ifdef __cplusplus
}
#endif

#endif

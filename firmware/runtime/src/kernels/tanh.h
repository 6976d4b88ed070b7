/* edgekit-micro kernel: TANH (int8). Kernel: tanh.c (this folder); shared types:
 * include/ek_kernel_types.h. See docs/ARCHITECTURE.md, "Adding an op". */
#ifndef EK_KERNELS_TANH_H
#define EK_KERNELS_TANH_H

#include "ek_kernel_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* TFLM's TanhPrepare for int8, computed by the generator (codegen/ops/tanh.py). */
typedef struct {
    int32_t input_zero_point, input_range_radius;
    int32_t input_multiplier, input_left_shift;
} ek_tanh_params_t;

/* TANH, TFLM's integer reference (output scale 1/128, zero point 0). */
void ek_tanh_s8(const ek_tanh_params_t *p, int32_t size, const int8_t *input, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif

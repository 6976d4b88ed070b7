/* edgekit-micro kernels: standalone activations (HARD_SWISH, LOGISTIC). Kernel: activations.c
 * (this folder); shared types: include/ek_kernel_types.h. See docs/ARCHITECTURE.md, "Adding an
 * op". */
#ifndef EK_KERNELS_ACTIVATIONS_H
#define EK_KERNELS_ACTIVATIONS_H

#include "ek_kernel_types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int32_t input_zero_point, output_zero_point;
    int32_t reluish_multiplier_fixedpoint_int16, reluish_multiplier_exponent;
    int32_t output_multiplier_fixedpoint_int16, output_multiplier_exponent;
} ek_hard_swish_params_t;

typedef struct {
    int32_t input_zero_point, input_range_radius;
    int32_t input_multiplier, input_left_shift;
} ek_logistic_params_t;

/* HARD_SWISH, TFLM's 16-bit fixed-point reference. */
void ek_hard_swish_s8(const ek_hard_swish_params_t *p, int32_t size, const int8_t *input,
                      int8_t *output);

/* LOGISTIC, TFLM's integer reference (output scale 1/256, zero point -128). */
void ek_logistic_s8(const ek_logistic_params_t *p, int32_t size, const int8_t *input, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif

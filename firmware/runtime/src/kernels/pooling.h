/* edgekit-micro kernels: AVERAGE_POOL_2D, MAX_POOL_2D and MEAN over H, W. Kernel: pooling.c
 * (this folder); shared types: include/ek_kernel_types.h. See docs/ARCHITECTURE.md, "Adding an
 * op". */
#ifndef EK_KERNELS_POOLING_H
#define EK_KERNELS_POOLING_H

#include "ek_kernel_types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int16_t stride_h, stride_w;
    int16_t filter_h, filter_w;
    int16_t pad_h, pad_w;
    int32_t act_min, act_max;
} ek_pool_params_t;

void ek_avg_pool_s8(const ek_pool_params_t *p, const ek_shape_t *in_shape, const int8_t *input,
                    const ek_shape_t *out_shape, int8_t *output);
void ek_max_pool_s8(const ek_pool_params_t *p, const ek_shape_t *in_shape, const int8_t *input,
                    const ek_shape_t *out_shape, int8_t *output);

/* MEAN over H and W of an NHWC tensor (the only reduction the generator accepts), as
 * TFLM's QuantizedMeanOrSum computes it; same_quant selects TFLM's plain integer mean used
 * when input and output share scale and zero point. */
void ek_mean_hw_s8(const ek_shape_t *in_shape, const int8_t *input, int32_t input_zp,
                   int32_t output_zp, int32_t multiplier, int32_t shift, int same_quant,
                   int8_t *output);

#ifdef __cplusplus
}
#endif

#endif

/* edgekit-micro kernels: element-wise binary ops (ADD, SUB, MUL, MAXIMUM, MINIMUM) with
 * broadcasting. Kernel: elementwise.c (this folder); shared types: include/ek_kernel_types.h.
 * See docs/ARCHITECTURE.md, "Adding an op". */
#ifndef EK_KERNELS_ELEMENTWISE_H
#define EK_KERNELS_ELEMENTWISE_H

#include "ek_kernel_types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int32_t input1_offset, input2_offset, output_offset;
    int32_t left_shift;
    int32_t input1_multiplier, input1_shift;
    int32_t input2_multiplier, input2_shift;
    int32_t output_multiplier, output_shift;
    int32_t act_min, act_max;
} ek_add_params_t;

typedef struct {
    int32_t input1_offset, input2_offset, output_offset;
    int32_t output_multiplier, output_shift;
    int32_t act_min, act_max;
} ek_mul_params_t;

/* A broadcasting element-wise op: the output's NHWC shape and each input's element strides
 * (0 along a dimension the input broadcasts). */
typedef struct {
    ek_shape_t out;
    ek_shape_t stride1, stride2;
} ek_broadcast_t;

void ek_add_s8(const ek_add_params_t *p, int32_t size, const int8_t *in1, const int8_t *in2,
               int8_t *output);

/* Element-wise with broadcasting (ADD with equal shapes is ek_add_s8). MAXIMUM/MINIMUM need
 * the inputs and output to share quantization. */
void ek_add_broadcast_s8(const ek_add_params_t *p, const ek_broadcast_t *bc, const int8_t *in1,
                         const int8_t *in2, int8_t *output);
void ek_sub_s8(const ek_add_params_t *p, const ek_broadcast_t *bc, const int8_t *in1,
               const int8_t *in2, int8_t *output);
void ek_mul_s8(const ek_mul_params_t *p, const ek_broadcast_t *bc, const int8_t *in1,
               const int8_t *in2, int8_t *output);
void ek_maximum_s8(const ek_broadcast_t *bc, const int8_t *in1, const int8_t *in2, int8_t *output);
void ek_minimum_s8(const ek_broadcast_t *bc, const int8_t *in1, const int8_t *in2, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif

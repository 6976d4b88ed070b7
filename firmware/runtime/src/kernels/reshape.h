/* edgekit-micro kernels: data movement (PAD, CONCATENATION, STRIDED_SLICE,
 * RESIZE_NEAREST_NEIGHBOR, RESHAPE, SQUEEZE). Kernel: reshape.c (this folder); shared types:
 * include/ek_kernel_types.h. See docs/ARCHITECTURE.md, "Adding an op". */
#ifndef EK_KERNELS_RESHAPE_H
#define EK_KERNELS_RESHAPE_H

#include "ek_kernel_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A strided slice resolved by the generator: the first input element, then per NHWC
 * dimension the number of elements taken and the step between them (in elements). */
typedef struct {
    int32_t first;
    int32_t count[4];
    int32_t step[4];
} ek_slice_t;

/* RESIZE_NEAREST_NEIGHBOR: output row y reads input row rows[y], column x column cols[x]
 * (tables computed by the generator with TFLM's float32 rounding). */
void ek_resize_nearest_s8(const ek_shape_t *in_shape, const int8_t *input, const int32_t *rows,
                          const int32_t *cols, const ek_shape_t *out_shape, int8_t *output);

void ek_pad_s8(const ek_shape_t *in_shape, const int8_t *input, const int32_t pads[8],
               int8_t pad_value, const ek_shape_t *out_shape, int8_t *output);

/* CONCATENATION of n_inputs int8 tensors sharing one quantization: outer slices of chunk[k]
 * bytes from input k in turn. */
void ek_concat_s8(int32_t outer, int32_t n_inputs, const int8_t *const *inputs, const int32_t *chunk,
                  int8_t *output);

void ek_strided_slice_s8(const ek_slice_t *slice, const int8_t *input, int8_t *output);

/* RESHAPE and SQUEEZE are no-ops when the planner aliases; otherwise a copy. */
void ek_copy(size_t bytes, const void *input, void *output);

#ifdef __cplusplus
}
#endif

#endif

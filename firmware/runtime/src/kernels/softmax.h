/* edgekit-micro kernels: SOFTMAX (int8 -> int8). Kernel: softmax.c (this folder); shared
 * types: include/ek_kernel_types.h. See docs/ARCHITECTURE.md, "Adding an op". */
#ifndef EK_KERNELS_SOFTMAX_H
#define EK_KERNELS_SOFTMAX_H

#include "ek_kernel_types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int32_t input_multiplier;
    int32_t input_left_shift;
    int32_t diff_min;
} ek_softmax_params_t;

void ek_softmax_s8(const ek_softmax_params_t *p, int32_t outer, int32_t depth,
                   const int8_t *input, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif

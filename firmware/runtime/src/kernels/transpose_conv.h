/* edgekit-micro kernels: TRANSPOSE_CONV (per-channel int8). Kernel: transpose_conv.c (this
 * folder); shared types: include/ek_kernel_types.h. See docs/ARCHITECTURE.md, "Adding an op". */
#ifndef EK_KERNELS_TRANSPOSE_CONV_H
#define EK_KERNELS_TRANSPOSE_CONV_H

#include "ek_kernel_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* filter [out_c, h, w, in_c]; acc: an int32 scratch of the output's size. */
void ek_transpose_conv_s8(const ek_conv_params_t *p, const int32_t *mult, const int32_t *shift,
                          const ek_shape_t *in_shape, const int8_t *input,
                          const ek_shape_t *filter_shape, const int8_t *filter, const int32_t *bias,
                          const ek_shape_t *out_shape, int8_t *output, int32_t *acc);

#ifdef __cplusplus
}
#endif

#endif

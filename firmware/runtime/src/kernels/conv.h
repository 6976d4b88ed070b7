/* edgekit-micro kernels: CONV_2D (per-channel int8), reference, DSP and Helium variants.
 * Kernel: conv.c (this folder); shared types: include/ek_kernel_types.h. See
 * docs/ARCHITECTURE.md, "Adding an op". */
#ifndef EK_KERNELS_CONV_H
#define EK_KERNELS_CONV_H

#include "ek_kernel_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* scratch: an arena buffer for the DSP/Helium variants (NULL for the reference one), sized by
 * the generator (codegen/ops/conv_2d.py). */
void ek_conv2d_s8(const ek_conv_params_t *p, const int32_t *mult, const int32_t *shift,
                  const ek_shape_t *in_shape, const int8_t *input,
                  const ek_shape_t *filter_shape, const int8_t *filter, const int32_t *bias,
                  const ek_shape_t *out_shape, int8_t *output, int16_t *scratch);

#ifdef __cplusplus
}
#endif

#endif

/* edgekit-micro kernels: CONV_2D (per-channel int8), reference, DSP and Helium variants.
 * Kernel: conv.c (this folder); shared types: include/ek_kernel_types.h. See
 * docs/ARCHITECTURE.md, "Adding an op". */
#ifndef EK_KERNELS_CONV_H
#define EK_KERNELS_CONV_H

#include "ek_kernel_types.h"

/* The generated call names the plain filter and bias and the dsp build's packed filter,
 * folded bias or the triple stream; this picks, so each build links only its
 * own arrays (--gc-sections). */
#if EK_DSP_PACKED_BUILD
#define EK_DSP_PACKED_FILTER(plain, packed) ((const int8_t *)(const void *)(packed))
#define EK_DSP_FOLDED_BIAS(plain, folded) (folded)
#define EK_DSP_RQ_STREAM(stream) (stream)
#else
#define EK_DSP_PACKED_FILTER(plain, packed) (plain)
#define EK_DSP_FOLDED_BIAS(plain, folded) (plain)
#define EK_DSP_RQ_STREAM(stream) NULL
#endif

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

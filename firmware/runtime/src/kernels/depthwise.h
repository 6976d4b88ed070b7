/* edgekit-micro kernels: DEPTHWISE_CONV_2D (per-channel int8), reference, DSP and Helium
 * variants. Kernel: depthwise.c (this folder); shared types: include/ek_kernel_types.h. See
 * docs/ARCHITECTURE.md, "Adding an op". */
#ifndef EK_KERNELS_DEPTHWISE_H
#define EK_KERNELS_DEPTHWISE_H

#include "ek_kernel_types.h"

/* The 3x3 layers' packed data (ek_conv_params_t.dw_packed): the dsp build's, NULL in the
 * others (the array is then never referenced and --gc-sections drops it). */
#if EK_DSP_PACKED_BUILD
#define EK_DSP_DW_PACKED(packed) (packed)
#else
#define EK_DSP_DW_PACKED(packed) NULL
#endif

#ifdef __cplusplus
extern "C" {
#endif

void ek_depthwise_conv2d_s8(const ek_conv_params_t *p, const int32_t *mult,
                            const int32_t *shift, const ek_shape_t *in_shape,
                            const int8_t *input, const ek_shape_t *filter_shape,
                            const int8_t *filter, const int32_t *bias,
                            const ek_shape_t *out_shape, int8_t *output);

/* The layer in place on channel planes in `scratch` where the generator packed p->dw_planar
 * (dsp build; 3x3, stride 1): 1 if it ran, 0 if the caller must. */
int ek_depthwise_conv2d_s8_planar(const ek_conv_params_t *p, const ek_shape_t *in_shape,
                                  const ek_shape_t *out_shape, int8_t *data, int8_t *scratch);

#ifdef __cplusplus
}
#endif

#endif

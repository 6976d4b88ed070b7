/* edgekit-micro kernel: RESIZE_BILINEAR (int8). Kernel: resize_bilinear.c (this folder); shared
 * types: include/ek_kernel_types.h. See docs/ARCHITECTURE.md, "Adding an op". */
#ifndef EK_KERNELS_RESIZE_BILINEAR_H
#define EK_KERNELS_RESIZE_BILINEAR_H

#include "ek_kernel_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* RESIZE_BILINEAR: output row y interpolates input rows rows[3y] and rows[3y+1] with weight
 * rows[3y+2]/1024 on the second (columns alike); tables from the generator
 * (codegen/ops/resize_bilinear.py). Input and output share one quantization. */
void ek_resize_bilinear_s8(const ek_shape_t *in_shape, const int8_t *input, const int32_t *rows,
                           const int32_t *cols, const ek_shape_t *out_shape, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif

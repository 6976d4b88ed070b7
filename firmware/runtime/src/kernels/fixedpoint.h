/* edgekit-micro: the exported fixed-point primitives (gemmlowp / TFLite common.h semantics),
 * for tests and other callers; the kernels use the inline bodies of include/ek_fixedpoint.h.
 * Kernel: fixedpoint.c (this folder); shared types: include/ek_kernel_types.h. See
 * docs/ARCHITECTURE.md, "Adding an op". */
#ifndef EK_KERNELS_FIXEDPOINT_H
#define EK_KERNELS_FIXEDPOINT_H

#include "ek_kernel_types.h"

#ifdef __cplusplus
extern "C" {
#endif

int32_t ek_srdhm(int32_t a, int32_t b);                  /* SaturatingRoundingDoublingHighMul */
int32_t ek_rdbypot(int32_t x, int exponent);             /* RoundingDivideByPOT */
int32_t ek_mbqm(int32_t x, int32_t multiplier, int shift); /* MultiplyByQuantizedMultiplier */

#ifdef __cplusplus
}
#endif

#endif

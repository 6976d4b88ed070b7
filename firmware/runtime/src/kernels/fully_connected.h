/* edgekit-micro kernels: FULLY_CONNECTED (int8), reference and DSP variants. Kernel:
 * fully_connected.c (this folder); shared types: include/ek_kernel_types.h. See
 * docs/ARCHITECTURE.md, "Adding an op". */
#ifndef EK_KERNELS_FULLY_CONNECTED_H
#define EK_KERNELS_FULLY_CONNECTED_H

#include "ek_kernel_types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int32_t input_offset;
    int32_t filter_offset;
    int32_t output_offset;
    int32_t output_multiplier;
    int32_t output_shift;
    int32_t act_min, act_max;
} ek_fc_params_t;

/* rows = batches (outer), accum_depth = input depth, out_depth = units. Per-channel when
 * mult/shift are given per output unit (per_channel != 0). scratch: an arena buffer for the
 * DSP variant (NULL for the reference one), sized by codegen/ops/fully_connected.py. */
void ek_fully_connected_s8(const ek_fc_params_t *p, const int32_t *mult, const int32_t *shift,
                           int per_channel, int32_t rows, int32_t accum_depth,
                           int32_t out_depth, const int8_t *input, const int8_t *filter,
                           const int32_t *bias, int8_t *output, int16_t *scratch);

#ifdef __cplusplus
}
#endif

#endif

/* edgekit-micro memory schedules: the int8 kernels run row slice by row slice so that a
 * layer's output can overwrite its own input, or so that the large expanded tensor of an
 * inverted-residual block (1x1 CONV_2D then DEPTHWISE_CONV_2D) never exists whole.
 *
 * Each call computes exactly what the whole-tensor kernel computes (the same kernel on the
 * same input values, row by row), so outputs are bit-exact with it; what changes is where
 * the bytes live. The generator (edgekit.codegen.planner) chooses a schedule only where it is
 * safe: the input has no other reader, batch 1, and the output rows never overtake the
 * input rows still to be read (the conditions are stated at each function).
 */
#ifndef EK_KERNELS_SCHEDULE_H
#define EK_KERNELS_SCHEDULE_H

#include "conv.h"
#include "depthwise.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 1x1, stride 1 CONV_2D whose output (out_c <= in_c) overwrites its input `data`: `rows`
 * output rows at a time are computed into `tmp` (rows * w * out_c bytes), then copied over
 * the input rows they came from, which no later row reads. */
void ek_conv2d_s8_inplace(const ek_conv_params_t *p, const int32_t *mult, const int32_t *shift,
                          const ek_shape_t *in_shape, int8_t *data, const ek_shape_t *filter_shape,
                          const int8_t *filter, const int32_t *bias, const ek_shape_t *out_shape,
                          int32_t rows, int8_t *tmp, int16_t *scratch);

/* DEPTHWISE_CONV_2D (out_w * c <= in_w * c) whose output overwrites its input `data`: output
 * row j is held in `tmp` ((pad_h + 1) * out_w * c bytes) until output row j + pad_h is done,
 * after which no output row reads input row j or above it. */
void ek_depthwise_conv2d_s8_inplace(const ek_conv_params_t *p, const int32_t *mult, const int32_t *shift,
                                    const ek_shape_t *in_shape, int8_t *data, const ek_shape_t *filter_shape,
                                    const int8_t *filter, const int32_t *bias, const ek_shape_t *out_shape,
                                    int8_t *tmp);

/* 1x1 CONV_2D (input -> expanded) fused with the DEPTHWISE_CONV_2D that reads it (expanded
 * -> output): the expanded rows one depthwise output row needs are kept in `window`
 * (((filter_h - 1) * dilation_h + 1) * w * c bytes) and computed once each, as the window
 * slides down. */
void ek_conv1x1_depthwise_s8(const ek_conv_params_t *pc, const int32_t *mult_c, const int32_t *shift_c,
                             const ek_shape_t *in_shape, const int8_t *input, const ek_shape_t *filter_c_shape,
                             const int8_t *filter_c, const int32_t *bias_c, const ek_shape_t *expanded_shape,
                             const ek_conv_params_t *pd, const int32_t *mult_d, const int32_t *shift_d,
                             const ek_shape_t *filter_d_shape, const int8_t *filter_d, const int32_t *bias_d,
                             const ek_shape_t *out_shape, int8_t *output, int8_t *window, int16_t *scratch);

#ifdef __cplusplus
}
#endif
#endif

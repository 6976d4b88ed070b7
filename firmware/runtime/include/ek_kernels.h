/* edgekit-micro int8 kernels: bit-exact with TFLite Micro's reference integer kernels.
 *
 * Generated model code (edgekit.codegen) calls these; all quantization parameters
 * (per-channel multipliers/shifts, offsets, activation ranges) are precomputed on the host
 * at generation time, exactly as TFLM's Prepare() computes them.
 *
 * One source file per op family (src/kernels/<family>.c), each holding its variants behind
 * the same names: the portable reference loops; with -DEK_KERNELS_DSP=1 the dual 16-bit MAC
 * versions (SMLAD/SXTB16) of conv, depthwise conv and fully connected; with
 * -DEK_KERNELS_MVE=1 (on top of DSP) the Helium versions of conv and depthwise conv. On a core
 * with __ARM_FEATURE_DSP the DSP primitives are ACLE intrinsics; on any other compiler they
 * are portable emulations, so the optimized algorithm itself is tested on the host too. All
 * variants produce identical outputs. The shared primitives are in ek_fixedpoint.h and
 * ek_simd.h (internal to the kernels).
 */
#ifndef EK_KERNELS_H
#define EK_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* NHWC shape; lower-rank tensors are extended with leading 1s by the generator. */
typedef struct {
    int32_t n, h, w, c;
} ek_shape_t;

typedef struct {
    int16_t stride_h, stride_w;
    int16_t dilation_h, dilation_w;
    int16_t pad_h, pad_w;          /* top/left padding; bottom/right is implied */
    int16_t depth_multiplier;      /* depthwise only */
    int32_t input_offset;          /* -input zero point */
    int32_t output_offset;         /* +output zero point */
    int32_t act_min, act_max;      /* fused activation, already in the output's scale */
} ek_conv_params_t;

typedef struct {
    int16_t stride_h, stride_w;
    int16_t filter_h, filter_w;
    int16_t pad_h, pad_w;
    int32_t act_min, act_max;
} ek_pool_params_t;

typedef struct {
    int32_t input_offset;
    int32_t filter_offset;
    int32_t output_offset;
    int32_t output_multiplier;
    int32_t output_shift;
    int32_t act_min, act_max;
} ek_fc_params_t;

typedef struct {
    int32_t input1_offset, input2_offset, output_offset;
    int32_t left_shift;
    int32_t input1_multiplier, input1_shift;
    int32_t input2_multiplier, input2_shift;
    int32_t output_multiplier, output_shift;
    int32_t act_min, act_max;
} ek_add_params_t;

typedef struct {
    int32_t input1_offset, input2_offset, output_offset;
    int32_t output_multiplier, output_shift;
    int32_t act_min, act_max;
} ek_mul_params_t;

/* A broadcasting element-wise op: the output's NHWC shape and each input's element strides
 * (0 along a dimension the input broadcasts). */
typedef struct {
    ek_shape_t out;
    ek_shape_t stride1, stride2;
} ek_broadcast_t;

typedef struct {
    int32_t input_zero_point, output_zero_point;
    int32_t reluish_multiplier_fixedpoint_int16, reluish_multiplier_exponent;
    int32_t output_multiplier_fixedpoint_int16, output_multiplier_exponent;
} ek_hard_swish_params_t;

/* A strided slice resolved by the generator: the first input element, then per NHWC
 * dimension the number of elements taken and the step between them (in elements). */
typedef struct {
    int32_t first;
    int32_t count[4];
    int32_t step[4];
} ek_slice_t;

typedef struct {
    int32_t input_zero_point, input_range_radius;
    int32_t input_multiplier, input_left_shift;
} ek_logistic_params_t;

typedef struct {
    int32_t input_multiplier;
    int32_t input_left_shift;
    int32_t diff_min;
} ek_softmax_params_t;

/* Fixed-point primitives (gemmlowp / TFLite common.h semantics). */
int32_t ek_srdhm(int32_t a, int32_t b);                  /* SaturatingRoundingDoublingHighMul */
int32_t ek_rdbypot(int32_t x, int exponent);             /* RoundingDivideByPOT */
int32_t ek_mbqm(int32_t x, int32_t multiplier, int shift); /* MultiplyByQuantizedMultiplier */

/* conv and fully connected take an arena scratch for their DSP/Helium variants (NULL for the
 * reference one); the generator plans its size (codegen/ops/conv_2d.py, fully_connected.py). */

void ek_conv2d_s8(const ek_conv_params_t *p, const int32_t *mult, const int32_t *shift,
                  const ek_shape_t *in_shape, const int8_t *input,
                  const ek_shape_t *filter_shape, const int8_t *filter, const int32_t *bias,
                  const ek_shape_t *out_shape, int8_t *output, int16_t *scratch);

/* TRANSPOSE_CONV: filter [out_c, h, w, in_c]; acc: an int32 scratch of the output's size. */
void ek_transpose_conv_s8(const ek_conv_params_t *p, const int32_t *mult, const int32_t *shift,
                          const ek_shape_t *in_shape, const int8_t *input,
                          const ek_shape_t *filter_shape, const int8_t *filter, const int32_t *bias,
                          const ek_shape_t *out_shape, int8_t *output, int32_t *acc);

void ek_depthwise_conv2d_s8(const ek_conv_params_t *p, const int32_t *mult,
                            const int32_t *shift, const ek_shape_t *in_shape,
                            const int8_t *input, const ek_shape_t *filter_shape,
                            const int8_t *filter, const int32_t *bias,
                            const ek_shape_t *out_shape, int8_t *output);

/* rows = batches (outer), accum_depth = input depth, out_depth = units. Per-channel when
 * mult/shift are given per output unit (per_channel != 0). */
void ek_fully_connected_s8(const ek_fc_params_t *p, const int32_t *mult, const int32_t *shift,
                           int per_channel, int32_t rows, int32_t accum_depth,
                           int32_t out_depth, const int8_t *input, const int8_t *filter,
                           const int32_t *bias, int8_t *output, int16_t *scratch);

void ek_add_s8(const ek_add_params_t *p, int32_t size, const int8_t *in1, const int8_t *in2,
               int8_t *output);

/* Element-wise with broadcasting (ADD with equal shapes is ek_add_s8). MAXIMUM/MINIMUM need
 * the inputs and output to share quantization. */
void ek_add_broadcast_s8(const ek_add_params_t *p, const ek_broadcast_t *bc, const int8_t *in1,
                         const int8_t *in2, int8_t *output);
void ek_sub_s8(const ek_add_params_t *p, const ek_broadcast_t *bc, const int8_t *in1,
               const int8_t *in2, int8_t *output);
void ek_mul_s8(const ek_mul_params_t *p, const ek_broadcast_t *bc, const int8_t *in1,
               const int8_t *in2, int8_t *output);
void ek_maximum_s8(const ek_broadcast_t *bc, const int8_t *in1, const int8_t *in2, int8_t *output);
void ek_minimum_s8(const ek_broadcast_t *bc, const int8_t *in1, const int8_t *in2, int8_t *output);

/* HARD_SWISH, TFLM's 16-bit fixed-point reference. */
void ek_hard_swish_s8(const ek_hard_swish_params_t *p, int32_t size, const int8_t *input,
                      int8_t *output);

/* LOGISTIC, TFLM's integer reference (output scale 1/256, zero point -128). */
void ek_logistic_s8(const ek_logistic_params_t *p, int32_t size, const int8_t *input, int8_t *output);

/* RESIZE_NEAREST_NEIGHBOR: output row y reads input row rows[y], column x column cols[x]
 * (tables computed by the generator with TFLM's float32 rounding). */
void ek_resize_nearest_s8(const ek_shape_t *in_shape, const int8_t *input, const int32_t *rows,
                          const int32_t *cols, const ek_shape_t *out_shape, int8_t *output);

void ek_avg_pool_s8(const ek_pool_params_t *p, const ek_shape_t *in_shape, const int8_t *input,
                    const ek_shape_t *out_shape, int8_t *output);
void ek_max_pool_s8(const ek_pool_params_t *p, const ek_shape_t *in_shape, const int8_t *input,
                    const ek_shape_t *out_shape, int8_t *output);

/* MEAN over H and W of an NHWC tensor (the only reduction the generator accepts), as
 * TFLM's QuantizedMeanOrSum computes it; same_quant selects TFLM's plain integer mean used
 * when input and output share scale and zero point. */
void ek_mean_hw_s8(const ek_shape_t *in_shape, const int8_t *input, int32_t input_zp,
                   int32_t output_zp, int32_t multiplier, int32_t shift, int same_quant,
                   int8_t *output);

void ek_softmax_s8(const ek_softmax_params_t *p, int32_t outer, int32_t depth,
                   const int8_t *input, int8_t *output);

void ek_pad_s8(const ek_shape_t *in_shape, const int8_t *input, const int32_t pads[8],
               int8_t pad_value, const ek_shape_t *out_shape, int8_t *output);

void ek_quantize_f32_s8(int32_t size, const float *input, float scale, int32_t zero_point,
                        int8_t *output);
void ek_requantize_s8(int32_t size, const int8_t *input, int32_t input_zp, int32_t multiplier,
                      int32_t shift, int32_t output_zp, int8_t *output);
void ek_dequantize_s8_f32(int32_t size, const int8_t *input, double scale, int32_t zero_point,
                          float *output);

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

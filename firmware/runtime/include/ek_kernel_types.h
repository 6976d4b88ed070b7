/* edgekit-micro int8 kernels: the types their headers share. Bit-exact with TFLite Micro's
 * reference integer kernels.
 *
 * Generated model code (edgekit.codegen) calls the kernels; all quantization parameters
 * (per-channel multipliers/shifts, offsets, activation ranges) are precomputed on the host
 * at generation time, exactly as TFLM's Prepare() computes them.
 *
 * One folder holds the kernels: src/kernels/<family>.c with its header <family>.h (its
 * parameter structs and declarations), each .c holding its variants behind the same names:
 * the portable reference loops; with -DEK_KERNELS_DSP=1 the dual 16-bit MAC versions
 * (SMLAD/SXTB16) of conv, depthwise conv and fully connected; with -DEK_KERNELS_MVE=1 (on top
 * of DSP) the Helium versions of conv and depthwise conv. On a core with __ARM_FEATURE_DSP
 * the DSP primitives are ACLE intrinsics; on any other compiler they are portable
 * emulations, so the optimized algorithm itself is tested on the host too. All variants
 * produce identical outputs. The generated model.c includes the headers of the ops it uses,
 * as each op's registry module names them (codegen/ops/<op>.py). The shared primitives are
 * in ek_fixedpoint.h and ek_simd.h (internal to the kernels). See docs/ARCHITECTURE.md,
 * "Adding an op".
 *
 * This header holds only what more than one family uses: the NHWC shape and the
 * convolution parameters (conv, depthwise, transpose conv and the memory schedules).
 */
#ifndef EK_KERNEL_TYPES_H
#define EK_KERNEL_TYPES_H

#include <stddef.h>
#include <stdint.h>

/* The dsp (not Helium) build: its CONV_2D and 3x3 DEPTHWISE_CONV_2D kernels read weights the
 * generator packed at build time (codegen/ops/conv_2d.py, depthwise_conv_2d.py). */
#if defined(EK_KERNELS_DSP) && EK_KERNELS_DSP && !(defined(EK_KERNELS_MVE) && EK_KERNELS_MVE)
#define EK_DSP_PACKED_BUILD 1
#else
#define EK_DSP_PACKED_BUILD 0
#endif

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
    /* Depthwise 3x3 only: the layer data the DSP kernels read pre-packed (built by
     * codegen/ops/depthwise_conv_2d.py, laid out as depthwise.c's dwp_layer_t), or NULL. */
    const int32_t *dw_packed;
    /* Depthwise 3x3 stride 1, in place, dsp build only: the per-channel data of the kernel
     * that works on int16 channel planes (depthwise.c's dwl_layer_t), or NULL. */
    const int32_t *dw_planar;
    /* CONV_2D, dsp build only, where the requantization is one SMMLAR and one shift
     * (codegen/ops/conv_2d.py, requant_short_params): the triple stream (pack_stream_dsp) that
     * replaces the packed filter and folded bias, per output channel triple its biases, its
     * weights and its {M, 2^(r-1) + zp * 2^r, r} per channel; or NULL. */
    const int32_t *rq_stream;
    /* CONV_2D with a window, dsp build only: the rows of the ring of widened input rows its
     * pixels are copied from (conv.c, conv2d_dsp_ring; the generator packs the filter in that
     * path's tap order, codegen/ops/conv_2d.py ring_tap_order), 0 for the staged im2col. */
    int16_t ring_rows;
} ek_conv_params_t;

#ifdef __cplusplus
}
#endif

#endif

/* edgekit-micro kernels: CONV_2D (per-channel) in its reference, DSP and Helium
 * variants. Declarations: conv.h.
 *
 * The arithmetic follows TFLite Micro's reference integer kernels operation by operation
 * (not merely "close"): every rounding step is the same, so outputs are bit-exact. Tests in
 * tests/runtime and tests/codegen hold this against the tflite-micro interpreter.
 */
#include "conv.h"
#include "ek_simd.h"

/* The arena scratch (the `scratch` argument) is sized by the generator: the one formula is
 * scratch_bytes() in toolkit/edgekit/codegen/ops/conv_2d.py. */

static void conv2d_ref(const ek_conv_params_t *p, const int32_t *mult, const int32_t *shift,
                       const ek_shape_t *is, const int8_t *input, const ek_shape_t *fs,
                       const int8_t *filter, const int32_t *bias, const ek_shape_t *os,
                       int8_t *output)
{
    const int32_t in_depth = is->c, out_depth = os->c;
    for (int32_t b = 0; b < os->n; ++b) {
        for (int32_t oy = 0; oy < os->h; ++oy) {
            const int32_t iy0 = oy * p->stride_h - p->pad_h;
            for (int32_t ox = 0; ox < os->w; ++ox) {
                const int32_t ix0 = ox * p->stride_w - p->pad_w;
                for (int32_t oc = 0; oc < out_depth; ++oc) {
                    int32_t acc = 0;
                    for (int32_t fy = 0; fy < fs->h; ++fy) {
                        const int32_t iy = iy0 + p->dilation_h * fy;
                        for (int32_t fx = 0; fx < fs->w; ++fx) {
                            const int32_t ix = ix0 + p->dilation_w * fx;
                            /* Padding contributes nothing (TFLM skips it). */
                            if (ix < 0 || ix >= is->w || iy < 0 || iy >= is->h) continue;
                            const int8_t *in = input + (((b * is->h + iy) * is->w + ix) * in_depth);
                            const int8_t *w = filter + (((oc * fs->h + fy) * fs->w + fx) * fs->c);
                            for (int32_t ic = 0; ic < fs->c; ++ic)
                                acc += (int32_t)w[ic] * ((int32_t)in[ic] + p->input_offset);
                        }
                    }
                    if (bias) acc += bias[oc];
                    acc = mbqm(acc, mult[oc], shift[oc]) + p->output_offset;
                    output[((b * os->h + oy) * os->w + ox) * out_depth + oc] =
                        (int8_t)clamp_i32(acc, p->act_min, p->act_max);
                }
            }
        }
    }
}

#if EK_KERNELS_DSP
static void zero_col(int32_t n, int32_t k, int32_t k4, int16_t *col)
{
    for (int32_t i = 0; i < n; ++i) col[col_pos(k + i, k4)] = 0;
}

/* Dot product of one reordered int16 row with two int8 filter rows: two SMLAD per four
 * MACs per row, the column words loaded once for both rows. */
static inline void dot2(const int16_t *col, const int8_t *w0, const int8_t *w1, int32_t k4,
                        int32_t K, int32_t *acc0, int32_t *acc1)
{
    int32_t a0 = *acc0, a1 = *acc1;
    int32_t k = 0;
    for (; k < k4; k += 4) {
        const uint32_t c02 = rd32(col + k), c13 = rd32(col + k + 2);
        const uint32_t v0 = rd32(w0 + k), v1 = rd32(w1 + k);
        a0 = ek_smlad(ek_sxtb16(v0), c02, a0);
        a0 = ek_smlad(ek_sxtb16_ror8(v0), c13, a0);
        a1 = ek_smlad(ek_sxtb16(v1), c02, a1);
        a1 = ek_smlad(ek_sxtb16_ror8(v1), c13, a1);
    }
    for (; k < K; ++k) {
        a0 += (int32_t)col[k] * w0[k];
        a1 += (int32_t)col[k] * w1[k];
    }
    *acc0 = a0;
    *acc1 = a1;
}

/* Two filter rows against two im2col rows (two output pixels): each weight word and each
 * column word is loaded once for two accumulators, 8 SMLAD per 16 MACs. */
static inline void dot2x2(const int16_t *c0, const int16_t *c1, const int8_t *w0, const int8_t *w1,
                          int32_t k4, int32_t K, int32_t acc[4])
{
    int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
    int32_t k = 0;
    for (; k < k4; k += 4) {
        const uint32_t x0e = rd32(c0 + k), x0o = rd32(c0 + k + 2);
        const uint32_t x1e = rd32(c1 + k), x1o = rd32(c1 + k + 2);
        uint32_t v = rd32(w0 + k);
        uint32_t we = ek_sxtb16(v), wo = ek_sxtb16_ror8(v);
        a00 = ek_smlad(we, x0e, a00);
        a00 = ek_smlad(wo, x0o, a00);
        a01 = ek_smlad(we, x1e, a01);
        a01 = ek_smlad(wo, x1o, a01);
        v = rd32(w1 + k);
        we = ek_sxtb16(v);
        wo = ek_sxtb16_ror8(v);
        a10 = ek_smlad(we, x0e, a10);
        a10 = ek_smlad(wo, x0o, a10);
        a11 = ek_smlad(we, x1e, a11);
        a11 = ek_smlad(wo, x1o, a11);
    }
    for (; k < K; ++k) {
        a00 += (int32_t)c0[k] * w0[k];
        a01 += (int32_t)c1[k] * w0[k];
        a10 += (int32_t)c0[k] * w1[k];
        a11 += (int32_t)c1[k] * w1[k];
    }
    acc[0] = a00; acc[1] = a01; acc[2] = a10; acc[3] = a11;
}

/* im2col of output pixel (oy, ox): its K inputs (+offset), reordered for SXTB16 lanes. */
static void im2col_pixel(const ek_conv_params_t *p, const ek_shape_t *is, const int8_t *input,
                         const ek_shape_t *fs, int32_t b, int32_t oy, int32_t ox, int32_t k4,
                         int16_t *col)
{
    const int32_t cin = fs->c;
    const int32_t iy0 = oy * p->stride_h - p->pad_h, ix0 = ox * p->stride_w - p->pad_w;
    int32_t k = 0;
    for (int32_t fy = 0; fy < fs->h; ++fy) {
        const int32_t iy = iy0 + p->dilation_h * fy;
        for (int32_t fx = 0; fx < fs->w; ++fx, k += cin) {
            const int32_t ix = ix0 + p->dilation_w * fx;
            if (ix < 0 || ix >= is->w || iy < 0 || iy >= is->h)
                zero_col(cin, k, k4, col);
            else
                widen_s8(input + ((b * is->h + iy) * is->w + ix) * cin, cin, k, k4, p->input_offset, col);
        }
    }
}

static inline int8_t requant_one(const ek_conv_params_t *p, int32_t acc, int32_t mult, int32_t shift)
{
    return (int8_t)clamp_i32(mbqm(acc, mult, shift) + p->output_offset, p->act_min, p->act_max);
}

static void conv2d_dsp(const ek_conv_params_t *p, const int32_t *mult, const int32_t *shift,
                       const ek_shape_t *is, const int8_t *input, const ek_shape_t *fs,
                       const int8_t *filter, const int32_t *bias, const ek_shape_t *os,
                       int8_t *output, int16_t *col)
{
    const int32_t cin = fs->c, K = fs->h * fs->w * cin, k4 = K & ~3;
    const int32_t out_depth = os->c;
    int16_t *col1 = col + ((K + 3) & ~3);  /* the second pixel's row (see the scratch note above) */
    for (int32_t b = 0; b < os->n; ++b) {
        for (int32_t oy = 0; oy < os->h; ++oy) {
            int32_t ox = 0;
            /* Pairs of output pixels along the row: the im2col rows are built once and
             * shared by every output channel. */
            for (; ox + 2 <= os->w; ox += 2) {
                im2col_pixel(p, is, input, fs, b, oy, ox, k4, col);
                im2col_pixel(p, is, input, fs, b, oy, ox + 1, k4, col1);
                int8_t *out0 = output + ((b * os->h + oy) * os->w + ox) * out_depth;
                int8_t *out1 = out0 + out_depth;
                int32_t oc = 0;
                for (; oc + 2 <= out_depth; oc += 2) {
                    const int32_t b0 = bias ? bias[oc] : 0, b1 = bias ? bias[oc + 1] : 0;
                    int32_t acc[4] = {b0, b0, b1, b1};
                    dot2x2(col, col1, filter + oc * K, filter + (oc + 1) * K, k4, K, acc);
                    out0[oc] = requant_one(p, acc[0], mult[oc], shift[oc]);
                    out1[oc] = requant_one(p, acc[1], mult[oc], shift[oc]);
                    out0[oc + 1] = requant_one(p, acc[2], mult[oc + 1], shift[oc + 1]);
                    out1[oc + 1] = requant_one(p, acc[3], mult[oc + 1], shift[oc + 1]);
                }
                for (; oc < out_depth; ++oc) {
                    const int32_t b0 = bias ? bias[oc] : 0;
                    out0[oc] = requant_one(p, dot1(col, filter + oc * K, k4, K, b0), mult[oc], shift[oc]);
                    out1[oc] = requant_one(p, dot1(col1, filter + oc * K, k4, K, b0), mult[oc], shift[oc]);
                }
            }
            for (; ox < os->w; ++ox) {  /* an odd last pixel */
                im2col_pixel(p, is, input, fs, b, oy, ox, k4, col);
                int8_t *out = output + ((b * os->h + oy) * os->w + ox) * out_depth;
                int32_t oc = 0;
                for (; oc + 2 <= out_depth; oc += 2) {
                    int32_t a0 = bias ? bias[oc] : 0, a1 = bias ? bias[oc + 1] : 0;
                    dot2(col, filter + oc * K, filter + (oc + 1) * K, k4, K, &a0, &a1);
                    out[oc] = requant_one(p, a0, mult[oc], shift[oc]);
                    out[oc + 1] = requant_one(p, a1, mult[oc + 1], shift[oc + 1]);
                }
                for (; oc < out_depth; ++oc)
                    out[oc] = requant_one(p, dot1(col, filter + oc * K, k4, K, bias ? bias[oc] : 0),
                                          mult[oc], shift[oc]);
            }
        }
    }
}
#endif

#if EK_KERNELS_MVE
/* CONV_2D: sum w * (x + offset) = sum w * x + offset * sum w, the first with VMLADAVA on 16
 * int8 pairs at a time (four output channels share each input vector), the second from the
 * per-channel weight sums computed once per call. Padding enters the im2col row as the input
 * zero point, whose offset-corrected value is 0, as the reference's skipped taps. */
static void conv2d_mve(const ek_conv_params_t *p, const int32_t *mult, const int32_t *shift,
                       const ek_shape_t *is, const int8_t *input, const ek_shape_t *fs,
                       const int8_t *filter, const int32_t *bias, const ek_shape_t *os,
                       int8_t *output, int8_t *col, int32_t *wsum)
{
    const int32_t cin = fs->c, K = fs->h * fs->w * cin, C = os->c;
    const int8_t zero_point = (int8_t)(-p->input_offset);
    for (int32_t oc = 0; oc < C; ++oc)
        wsum[oc] = (bias ? bias[oc] : 0) + p->input_offset * mve_sum_s8(filter + oc * K, K);
    const int pointwise = fs->h == 1 && fs->w == 1;
    for (int32_t b = 0; b < os->n; ++b) {
        for (int32_t oy = 0; oy < os->h; ++oy) {
            const int32_t iy0 = oy * p->stride_h - p->pad_h;
            for (int32_t ox = 0; ox < os->w; ++ox) {
                const int32_t ix0 = ox * p->stride_w - p->pad_w;
                const int8_t *row;
                if (pointwise && iy0 >= 0 && iy0 < is->h && ix0 >= 0 && ix0 < is->w) {
                    row = input + ((b * is->h + iy0) * is->w + ix0) * cin;  /* the pixel is the row */
                } else {
                    int32_t k = 0;
                    for (int32_t fy = 0; fy < fs->h; ++fy) {
                        const int32_t iy = iy0 + p->dilation_h * fy;
                        for (int32_t fx = 0; fx < fs->w; ++fx, k += cin) {
                            const int32_t ix = ix0 + p->dilation_w * fx;
                            if (ix < 0 || ix >= is->w || iy < 0 || iy >= is->h)
                                memset(col + k, zero_point, (size_t)cin);
                            else
                                memcpy(col + k, input + ((b * is->h + iy) * is->w + ix) * cin, (size_t)cin);
                        }
                    }
                    row = col;
                }
                int8_t *out = output + ((b * os->h + oy) * os->w + ox) * C;
                int32_t oc = 0;
                for (; oc + 4 <= C; oc += 4) {
                    const int8_t *w0 = filter + oc * K, *w1 = w0 + K, *w2 = w1 + K, *w3 = w2 + K;
                    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
                    for (int32_t k = 0; k < K; k += 16) {
                        const mve_pred16_t pr = vctp8q((uint32_t)(K - k));
                        const int8x16_t x = vldrbq_z_s8(row + k, pr);
                        a0 = vmladavaq_p_s8(a0, x, vldrbq_z_s8(w0 + k, pr), pr);
                        a1 = vmladavaq_p_s8(a1, x, vldrbq_z_s8(w1 + k, pr), pr);
                        a2 = vmladavaq_p_s8(a2, x, vldrbq_z_s8(w2 + k, pr), pr);
                        a3 = vmladavaq_p_s8(a3, x, vldrbq_z_s8(w3 + k, pr), pr);
                    }
                    const int32_t dots[4] = {a0, a1, a2, a3};
                    const int32x4_t acc = vaddq_s32(vldrwq_s32(wsum + oc), vldrwq_s32(dots));
                    vstrbq_s32(out + oc, mve_requant(acc, mult + oc, shift + oc, p));
                }
                for (; oc < C; ++oc) {
                    int32_t a = 0;
                    const int8_t *w = filter + oc * K;
                    for (int32_t k = 0; k < K; k += 16) {
                        const mve_pred16_t pr = vctp8q((uint32_t)(K - k));
                        a = vmladavaq_p_s8(a, vldrbq_z_s8(row + k, pr), vldrbq_z_s8(w + k, pr), pr);
                    }
                    out[oc] = (int8_t)clamp_i32(mbqm(a + wsum[oc], mult[oc], shift[oc]) + p->output_offset,
                                                p->act_min, p->act_max);
                }
            }
        }
    }
}

#endif

void ek_conv2d_s8(const ek_conv_params_t *p, const int32_t *mult, const int32_t *shift,
                  const ek_shape_t *in_shape, const int8_t *input,
                  const ek_shape_t *filter_shape, const int8_t *filter, const int32_t *bias,
                  const ek_shape_t *out_shape, int8_t *output, int16_t *scratch)
{
#if EK_KERNELS_MVE
    if (scratch) {
        const size_t k4 = ((size_t)filter_shape->h * filter_shape->w * filter_shape->c + 3) & ~(size_t)3;
        conv2d_mve(p, mult, shift, in_shape, input, filter_shape, filter, bias, out_shape, output,
                   (int8_t *)scratch, (int32_t *)((int8_t *)scratch + k4));
        return;
    }
#endif
#if EK_KERNELS_DSP
    if (scratch) {
        conv2d_dsp(p, mult, shift, in_shape, input, filter_shape, filter, bias, out_shape,
                   output, scratch);
        return;
    }
#else
    (void)scratch;
#endif
    conv2d_ref(p, mult, shift, in_shape, input, filter_shape, filter, bias, out_shape, output);
}

/* edgekit-micro kernels: AVERAGE_POOL_2D, MAX_POOL_2D and MEAN over H, W. Declarations:
 * pooling.h.
 *
 * The arithmetic follows TFLite Micro's reference integer kernels operation by operation
 * (not merely "close"): every rounding step is the same, so outputs are bit-exact. Tests in
 * tests/runtime and tests/codegen hold this against the tflite-micro interpreter.
 */
#include "pooling.h"
#include "ek_fixedpoint.h"

void ek_avg_pool_s8(const ek_pool_params_t *p, const ek_shape_t *is, const int8_t *input,
                    const ek_shape_t *os, int8_t *output)
{
    const int32_t C = os->c;
    for (int32_t b = 0; b < os->n; ++b)
        for (int32_t oy = 0; oy < os->h; ++oy)
            for (int32_t ox = 0; ox < os->w; ++ox)
                for (int32_t c = 0; c < C; ++c) {
                    const int32_t iy0 = oy * p->stride_h - p->pad_h;
                    const int32_t ix0 = ox * p->stride_w - p->pad_w;
                    int32_t fy0 = iy0 < 0 ? -iy0 : 0, fx0 = ix0 < 0 ? -ix0 : 0;
                    int32_t fy1 = is->h - iy0 < p->filter_h ? is->h - iy0 : p->filter_h;
                    int32_t fx1 = is->w - ix0 < p->filter_w ? is->w - ix0 : p->filter_w;
                    int32_t acc = 0, count = 0;
                    for (int32_t fy = fy0; fy < fy1; ++fy)
                        for (int32_t fx = fx0; fx < fx1; ++fx) {
                            acc += input[((b * is->h + iy0 + fy) * is->w + ix0 + fx) * C + c];
                            ++count;
                        }
                    if (count == 0) count = 1; /* TFLM fails the op; the generator rejects it */
                    /* Round half away from zero, as the reference does. */
                    acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
                    output[((b * os->h + oy) * os->w + ox) * C + c] =
                        (int8_t)clamp_i32(acc, p->act_min, p->act_max);
                }
}

void ek_max_pool_s8(const ek_pool_params_t *p, const ek_shape_t *is, const int8_t *input,
                    const ek_shape_t *os, int8_t *output)
{
    const int32_t C = os->c;
    for (int32_t b = 0; b < os->n; ++b)
        for (int32_t oy = 0; oy < os->h; ++oy)
            for (int32_t ox = 0; ox < os->w; ++ox)
                for (int32_t c = 0; c < C; ++c) {
                    const int32_t iy0 = oy * p->stride_h - p->pad_h;
                    const int32_t ix0 = ox * p->stride_w - p->pad_w;
                    int32_t fy0 = iy0 < 0 ? -iy0 : 0, fx0 = ix0 < 0 ? -ix0 : 0;
                    int32_t fy1 = is->h - iy0 < p->filter_h ? is->h - iy0 : p->filter_h;
                    int32_t fx1 = is->w - ix0 < p->filter_w ? is->w - ix0 : p->filter_w;
                    int32_t mx = -128;
                    for (int32_t fy = fy0; fy < fy1; ++fy)
                        for (int32_t fx = fx0; fx < fx1; ++fx) {
                            const int32_t v = input[((b * is->h + iy0 + fy) * is->w + ix0 + fx) * C + c];
                            if (v > mx) mx = v;
                        }
                    output[((b * os->h + oy) * os->w + ox) * C + c] =
                        (int8_t)clamp_i32(mx, p->act_min, p->act_max);
                }
}

void ek_mean_hw_s8(const ek_shape_t *is, const int8_t *input, int32_t input_zp,
                   int32_t output_zp, int32_t multiplier, int32_t shift, int same_quant,
                   int8_t *output)
{
    const int32_t n = is->h * is->w, C = is->c;
    int32_t m = multiplier, s = shift;
    if (!same_quant) {
        /* Fold 1/n into the multiplier as QuantizedMeanOrSum does. */
        int log2n = 0;
        while ((1LL << (log2n + 1)) <= (int64_t)n) ++log2n;
        int sh = log2n;
        if (sh > 32) sh = 32;
        if (sh > 31 + shift) sh = 31 + shift;
        m = (int32_t)((((int64_t)multiplier) << sh) / n);
        s = shift - sh;
    }
    for (int32_t b = 0; b < is->n; ++b)
        for (int32_t c = 0; c < C; ++c) {
            int32_t sum = 0;
            for (int32_t i = 0; i < n; ++i) sum += input[(b * n + i) * C + c];
            int32_t out;
            if (same_quant) {
                out = sum / n; /* plain integer division, truncating */
            } else {
                out = mbqm(sum - input_zp * n, m, s) + output_zp;
                out = clamp_i32(out, -128, 127);
            }
            output[b * C + c] = (int8_t)out;
        }
}

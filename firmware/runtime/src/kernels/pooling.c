/* edgekit-micro kernels: AVERAGE_POOL_2D, MAX_POOL_2D and MEAN over H, W. Declarations:
 * pooling.h.
 *
 * The arithmetic follows TFLite Micro's reference integer kernels operation by operation
 * (not merely "close"): every rounding step is the same, so outputs are bit-exact. Tests in
 * tests/runtime and tests/codegen hold this against the tflite-micro interpreter.
 */
#include "pooling.h"
#include "ek_fixedpoint.h"
#include "ek_simd.h"

/* The filter window of output pixel (oy, ox) inside the input: its rows [fy0, fy1) and columns
 * [fx0, fx1), relative to the window's origin (iy0, ix0), and the taps it holds; an empty
 * window (TFLM fails the op; the generator rejects it) counts as one, the divisor avg_of needs. */
typedef struct {
    int32_t iy0, ix0, fy0, fy1, fx0, fx1, count;
} pool_window_t;

static inline pool_window_t pool_window(const ek_pool_params_t *p, const ek_shape_t *is, int32_t oy, int32_t ox)
{
    pool_window_t w;
    w.iy0 = oy * p->stride_h - p->pad_h;
    w.ix0 = ox * p->stride_w - p->pad_w;
    w.fy0 = w.iy0 < 0 ? -w.iy0 : 0;
    w.fx0 = w.ix0 < 0 ? -w.ix0 : 0;
    w.fy1 = is->h - w.iy0 < p->filter_h ? is->h - w.iy0 : p->filter_h;
    w.fx1 = is->w - w.ix0 < p->filter_w ? is->w - w.ix0 : p->filter_w;
    w.count = w.fy1 > w.fy0 && w.fx1 > w.fx0 ? (w.fy1 - w.fy0) * (w.fx1 - w.fx0) : 1;
    return w;
}

/* Input element (fy, fx) of the window w, channel c. */
static inline int8_t pool_at(const ek_shape_t *is, const int8_t *input, int32_t b, pool_window_t w,
                             int32_t fy, int32_t fx, int32_t c)
{
    return input[((size_t)(b * is->h + w.iy0 + fy) * is->w + w.ix0 + fx) * is->c + c];
}

/* The reference's average: round half away from zero, then the activation's clamp. */
static inline int8_t avg_of(int32_t acc, int32_t count, const ek_pool_params_t *p)
{
    acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
    return (int8_t)clamp_i32(acc, p->act_min, p->act_max);
}

#if EK_KERNELS_DSP
/* Four channels a word: SXTB16 splits bytes 0/2 and 1/3 into int16 lanes, SADD16 adds them
 * to two pairs of int16 sums, which a window of at most 256 taps cannot overflow
 * (|sum| <= 256 * 128). The window is found once per output pixel, not per channel. */
static int avg_pool_dsp(const ek_pool_params_t *p, const ek_shape_t *is, const int8_t *input,
                        const ek_shape_t *os, int8_t *output)
{
    const int32_t C = os->c, C4 = C & ~3;
    if ((int32_t)p->filter_h * p->filter_w > 256) return 0;
    for (int32_t b = 0; b < os->n; ++b)
        for (int32_t oy = 0; oy < os->h; ++oy)
            for (int32_t ox = 0; ox < os->w; ++ox) {
                const pool_window_t w = pool_window(p, is, oy, ox);
                const int32_t fy0 = w.fy0, fy1 = w.fy1, fx0 = w.fx0, fx1 = w.fx1, count = w.count;
                const int8_t *base = input + ((size_t)(b * is->h + w.iy0) * is->w + w.ix0) * C;
                int8_t *out = output + ((size_t)(b * os->h + oy) * os->w + ox) * C;
                const int32_t nrow = fx1 - fx0, row_step = is->w * C;
                int32_t c = 0;
                for (; c < C4; c += 4) {
                    uint32_t s02 = 0, s13 = 0;
                    const int8_t *row = base + ((size_t)fy0 * is->w + fx0) * C + c;
                    for (int32_t fy = fy0; fy < fy1; ++fy, row += row_step) {
                        const int8_t *ip = row;
                        for (int32_t n = nrow; n > 0; --n, ip += C) {
                            const uint32_t v = rd32(ip);
                            s02 = ek_sadd16(s02, ek_sxtb16(v));
                            s13 = ek_sadd16(s13, ek_sxtb16_ror8(v));
                        }
                    }
                    out[c] = avg_of((int16_t)(s02 & 0xFFFFu), count, p);
                    out[c + 1] = avg_of((int16_t)(s13 & 0xFFFFu), count, p);
                    out[c + 2] = avg_of((int16_t)(s02 >> 16), count, p);
                    out[c + 3] = avg_of((int16_t)(s13 >> 16), count, p);
                }
                for (; c < C; ++c) {  /* the channels after the last group of four */
                    int32_t acc = 0;
                    for (int32_t fy = fy0; fy < fy1; ++fy)
                        for (int32_t fx = fx0; fx < fx1; ++fx) acc += base[((size_t)fy * is->w + fx) * C + c];
                    out[c] = avg_of(acc, count, p);
                }
            }
    return 1;
}

#endif

void ek_avg_pool_s8(const ek_pool_params_t *p, const ek_shape_t *is, const int8_t *input,
                    const ek_shape_t *os, int8_t *output)
{
#if EK_KERNELS_DSP
    if (avg_pool_dsp(p, is, input, os, output)) return;
#endif
    const int32_t C = os->c;
    for (int32_t b = 0; b < os->n; ++b)
        for (int32_t oy = 0; oy < os->h; ++oy)
            for (int32_t ox = 0; ox < os->w; ++ox) {
                const pool_window_t w = pool_window(p, is, oy, ox);
                for (int32_t c = 0; c < C; ++c) {
                    int32_t acc = 0;
                    for (int32_t fy = w.fy0; fy < w.fy1; ++fy)
                        for (int32_t fx = w.fx0; fx < w.fx1; ++fx) acc += pool_at(is, input, b, w, fy, fx, c);
                    output[((size_t)(b * os->h + oy) * os->w + ox) * C + c] = avg_of(acc, w.count, p);
                }
            }
}

void ek_max_pool_s8(const ek_pool_params_t *p, const ek_shape_t *is, const int8_t *input,
                    const ek_shape_t *os, int8_t *output)
{
    const int32_t C = os->c;
    for (int32_t b = 0; b < os->n; ++b)
        for (int32_t oy = 0; oy < os->h; ++oy)
            for (int32_t ox = 0; ox < os->w; ++ox) {
                const pool_window_t w = pool_window(p, is, oy, ox);
                for (int32_t c = 0; c < C; ++c) {
                    int32_t mx = -128;
                    for (int32_t fy = w.fy0; fy < w.fy1; ++fy)
                        for (int32_t fx = w.fx0; fx < w.fx1; ++fx) {
                            const int32_t v = pool_at(is, input, b, w, fy, fx, c);
                            if (v > mx) mx = v;
                        }
                    output[((size_t)(b * os->h + oy) * os->w + ox) * C + c] =
                        (int8_t)clamp_i32(mx, p->act_min, p->act_max);
                }
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

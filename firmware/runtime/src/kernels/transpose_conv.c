/* edgekit-micro kernels: TRANSPOSE_CONV (per-channel int8). Declarations: transpose_conv.h.
 *
 * The arithmetic follows TFLite Micro's reference integer kernel operation by operation: every
 * input pixel scatters its products into an int32 accumulator image (the arena scratch), which
 * is then biased and requantized per output channel, so outputs are bit-exact.
 */
#include "transpose_conv.h"
#include "ek_fixedpoint.h"

void ek_transpose_conv_s8(const ek_conv_params_t *p, const int32_t *mult, const int32_t *shift,
                          const ek_shape_t *is, const int8_t *input, const ek_shape_t *fs,
                          const int8_t *filter, const int32_t *bias, const ek_shape_t *os,
                          int8_t *output, int32_t *acc)
{
    const int32_t ic_n = is->c, oc_n = os->c;
    const size_t n_out = (size_t)os->n * os->h * os->w * oc_n;
    memset(acc, 0, n_out * sizeof(int32_t));
    for (int32_t b = 0; b < is->n; ++b)
        for (int32_t iy = 0; iy < is->h; ++iy)
            for (int32_t ix = 0; ix < is->w; ++ix)
                for (int32_t ic = 0; ic < ic_n; ++ic) {
                    const int32_t oy0 = iy * p->stride_h - p->pad_h, ox0 = ix * p->stride_w - p->pad_w;
                    const int32_t v = input[((b * is->h + iy) * is->w + ix) * ic_n + ic] + p->input_offset;
                    for (int32_t fy = 0; fy < fs->h; ++fy) {
                        const int32_t oy = oy0 + fy;
                        if (oy < 0 || oy >= os->h) continue;
                        for (int32_t fx = 0; fx < fs->w; ++fx) {
                            const int32_t ox = ox0 + fx;
                            if (ox < 0 || ox >= os->w) continue;
                            int32_t *a = acc + ((b * os->h + oy) * os->w + ox) * oc_n;
                            for (int32_t oc = 0; oc < oc_n; ++oc)
                                a[oc] += v * filter[((oc * fs->h + fy) * fs->w + fx) * fs->c + ic];
                        }
                    }
                }
    for (size_t i = 0; i < n_out; ++i) {
        const int32_t oc = (int32_t)(i % (size_t)oc_n);
        const int32_t a = acc[i] + (bias ? bias[oc] : 0);
        output[i] = (int8_t)clamp_i32(mbqm(a, mult[oc], shift[oc]) + p->output_offset, p->act_min, p->act_max);
    }
}

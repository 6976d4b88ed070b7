/* edgekit-micro memory schedules (schedule.h): whole-tensor kernels run on row slices.
 * A slice is the same tensor seen from a later row: its shape has fewer rows and the top
 * padding is what remains of it above the slice, so the kernel computes the same values. */
#include "schedule.h"

#include <string.h>

static inline int32_t min_i32(int32_t a, int32_t b) { return a < b ? a : b; }
static inline int32_t max_i32(int32_t a, int32_t b) { return a > b ? a : b; }

void ek_conv2d_s8_inplace(const ek_conv_params_t *p, const int32_t *mult, const int32_t *shift,
                          const ek_shape_t *in_shape, int8_t *data, const ek_shape_t *filter_shape,
                          const int8_t *filter, const int32_t *bias, const ek_shape_t *out_shape,
                          int32_t rows, int8_t *tmp, int16_t *scratch)
{
#if EK_DSP_PACKED_BUILD
    /* The dsp conv widens a pixel pair's inputs into its im2col row before it stores the pair's
     * outputs, pixel pair by pixel pair: with an output pixel no wider than the input's, every
     * store lands on bytes of pixels already read, so the whole layer goes straight in place. */
    if (scratch && filter_shape->h == 1 && filter_shape->w == 1 && out_shape->c <= in_shape->c) {
        ek_conv2d_s8(p, mult, shift, in_shape, data, filter_shape, filter, bias, out_shape, data, scratch);
        return;
    }
#endif
    const size_t in_row = (size_t)in_shape->w * in_shape->c, out_row = (size_t)out_shape->w * out_shape->c;
    ek_shape_t is = *in_shape, os = *out_shape;
    for (int32_t y = 0; y < out_shape->h; y += rows) {
        const int32_t n = min_i32(rows, out_shape->h - y);
        is.h = os.h = n;
        ek_conv2d_s8(p, mult, shift, &is, data + (size_t)y * in_row, filter_shape, filter, bias, &os, tmp, scratch);
        /* Output rows y..y+n-1 end at or before input row y+n starts: only read rows are overwritten. */
        memcpy(data + (size_t)y * out_row, tmp, (size_t)n * out_row);
    }
}

/* The input rows [lo, hi) output row oy reads, and the top padding left above lo. */
static void window_rows(const ek_conv_params_t *p, const ek_shape_t *is, const ek_shape_t *fs, int32_t oy,
                        int32_t *lo, int32_t *hi, int16_t *pad_top)
{
    const int32_t iy0 = oy * p->stride_h - p->pad_h;
    *lo = max_i32(iy0, 0);
    *hi = min_i32(iy0 + (fs->h - 1) * p->dilation_h + 1, is->h);
    *pad_top = (int16_t)(*lo - iy0);
}

void ek_depthwise_conv2d_s8_inplace(const ek_conv_params_t *p, const int32_t *mult, const int32_t *shift,
                                    const ek_shape_t *in_shape, int8_t *data, const ek_shape_t *filter_shape,
                                    const int8_t *filter, const int32_t *bias, const ek_shape_t *out_shape,
                                    int8_t *tmp)
{
    if (ek_depthwise_conv2d_s8_planar(p, in_shape, out_shape, data, tmp)) return;
    const size_t in_row = (size_t)in_shape->w * in_shape->c, out_row = (size_t)out_shape->w * out_shape->c;
    const int32_t delay = p->pad_h, slots = p->pad_h + 1;
    ek_conv_params_t q = *p;
    ek_shape_t is = *in_shape, os = *out_shape;
    os.h = 1;
    for (int32_t oy = 0; oy < out_shape->h; ++oy) {
        int32_t lo, hi;
        window_rows(p, in_shape, filter_shape, oy, &lo, &hi, &q.pad_h);
        is.h = hi - lo;
        ek_depthwise_conv2d_s8(&q, mult, shift, &is, data + (size_t)lo * in_row, filter_shape, filter, bias, &os,
                               tmp + (size_t)(oy % slots) * out_row);
        /* Output row j = oy - delay: every later output row reads input rows > j only. */
        if (oy >= delay)
            memcpy(data + (size_t)(oy - delay) * out_row, tmp + (size_t)((oy - delay) % slots) * out_row, out_row);
    }
    for (int32_t j = max_i32(out_shape->h - delay, 0); j < out_shape->h; ++j)
        memcpy(data + (size_t)j * out_row, tmp + (size_t)(j % slots) * out_row, out_row);
}

void ek_conv1x1_depthwise_s8(const ek_conv_params_t *pc, const int32_t *mult_c, const int32_t *shift_c,
                             const ek_shape_t *in_shape, const int8_t *input, const ek_shape_t *filter_c_shape,
                             const int8_t *filter_c, const int32_t *bias_c, const ek_shape_t *expanded_shape,
                             const ek_conv_params_t *pd, const int32_t *mult_d, const int32_t *shift_d,
                             const ek_shape_t *filter_d_shape, const int8_t *filter_d, const int32_t *bias_d,
                             const ek_shape_t *out_shape, int8_t *output, int8_t *window, int16_t *scratch)
{
    const size_t in_row = (size_t)in_shape->w * in_shape->c;
    const size_t e_row = (size_t)expanded_shape->w * expanded_shape->c;
    const size_t out_row = (size_t)out_shape->w * out_shape->c;
    ek_conv_params_t q = *pd;
    ek_shape_t is = *in_shape, es = *expanded_shape, ws = *expanded_shape, os = *out_shape;
    os.h = 1;
    int32_t have_lo = 0, have_hi = 0;   /* expanded rows [have_lo, have_hi) are in the window */
    for (int32_t oy = 0; oy < out_shape->h; ++oy) {
        int32_t lo, hi;
        window_rows(pd, expanded_shape, filter_d_shape, oy, &lo, &hi, &q.pad_h);
        if (lo > have_lo) {  /* slide: keep the rows still needed at the window's top */
            const int32_t keep = max_i32(have_hi - lo, 0);
            if (keep > 0)
                memmove(window, window + (size_t)(lo - have_lo) * e_row, (size_t)keep * e_row);
            have_lo = lo;
            have_hi = max_i32(have_hi, lo);
        }
        if (hi > have_hi) {  /* the new rows, each computed once */
            is.h = es.h = hi - have_hi;
            ek_conv2d_s8(pc, mult_c, shift_c, &is, input + (size_t)have_hi * in_row, filter_c_shape, filter_c,
                         bias_c, &es, window + (size_t)(have_hi - have_lo) * e_row, scratch);
            have_hi = hi;
        }
        ws.h = hi - lo;
        ek_depthwise_conv2d_s8(&q, mult_d, shift_d, &ws, window, filter_d_shape, filter_d, bias_d, &os,
                               output + (size_t)oy * out_row);
    }
}

/* Image frontend: uint8 sensor frame -> crop -> resize -> colour order -> normalise ->
 * the model's int8 input tensor.
 *
 * Follows edgekit.preprocess.image (the reference) step by step, in float32 with the same
 * operation order, so the default variant is bit-exact up to the final rounding. Variant
 * switches reproduce what camera firmware does differently (nearest-neighbour resize,
 * integer normalisation, swapped colour order, no crop).
 */
#include "ek_frontend_config.h"

#if EK_FE_KIND_IMAGE

#include <math.h>

/* By relative path: another ek_frontend.h may come first on the include path. */
#include "../include/ek_frontend.h"
#include "ek_fe_quantize.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#endif

#define OUT_H EK_FE_IMAGE_HEIGHT
#define OUT_W EK_FE_IMAGE_WIDTH
#define OUT_C EK_FE_IMAGE_CHANNELS
#define HEADER_BYTES 8

/* Source coordinates per output row/column, computed once per frame size. */
static int16_t row_lo[OUT_H], row_hi[OUT_H], col_lo[OUT_W], col_hi[OUT_W];
static float row_frac[OUT_H], col_frac[OUT_W];
static uint16_t cached_h, cached_w;

static const ek_frontend_info_t info = {
    "image", EK_FE_VARIANT, EK_FE_SPEC_HASH, OUT_H * OUT_W * OUT_C,
    sizeof(row_lo) + sizeof(row_hi) + sizeof(col_lo) + sizeof(col_hi) + sizeof(row_frac) +
        sizeof(col_frac),
    EK_FE_RAW_CAPACITY,
};

/* The raw input lands here (device app, UART or preload); 4-byte aligned. */
static uint8_t raw_buffer[EK_FE_RAW_CAPACITY] __attribute__((aligned(4)));

uint8_t *ek_frontend_raw_buffer(size_t *capacity) {
    if (capacity) *capacity = sizeof(raw_buffer);
    return raw_buffer;
}

const char *ek_frontend_variant(void) { return EK_FE_VARIANT; }
const ek_frontend_info_t *ek_frontend_info(void) { return &info; }

/* One axis of the reference's half-pixel-centre resize, float32 like numpy does it. */
static void axis_map(int in_size, int out_size, int16_t *lo, int16_t *hi, float *frac) {
    const float scale = (float)((double)in_size / (double)out_size);
    for (int i = 0; i < out_size; i++) {
#if EK_FE_RESIZE_NEAREST
        int s = (int)floorf(((float)i + 0.5f) * scale);
        if (s > in_size - 1) s = in_size - 1;
        lo[i] = hi[i] = (int16_t)s;
        frac[i] = 0.0f;
#else
        const float src = ((float)i + 0.5f) * scale - 0.5f;
        const float fl = floorf(src);
        int a = (int)fl, b = (int)ceilf(src);
        if (a < 0) a = 0;
        if (b > in_size - 1) b = in_size - 1;
        lo[i] = (int16_t)a; hi[i] = (int16_t)b;
        frac[i] = src - fl;
#endif
    }
}

/* The reference's crop_box: optional central square, then tf.image.central_crop. */
static void crop_box(int h, int w, int *top, int *left, int *ch, int *cw) {
    *top = 0; *left = 0; *ch = h; *cw = w;
#if EK_FE_SQUARE_CROP
    const int side = h < w ? h : w;
    *top = (h - side) / 2; *left = (w - side) / 2; *ch = side; *cw = side;
#endif
#if EK_FE_CROP_FRACTION_LT_1
    const int off_h = (int)floor((*ch - *ch * (double)EK_FE_CROP_FRACTION) / 2.0);
    const int off_w = (int)floor((*cw - *cw * (double)EK_FE_CROP_FRACTION) / 2.0);
    *top += off_h; *left += off_w; *ch -= 2 * off_h; *cw -= 2 * off_w;
#endif
}

/* Value of source pixel (y, x), channel c of the model's channel layout before colour
 * reordering: grey frames are replicated, a 1-channel model takes BT.601 luma. */
static inline float pixel(const uint8_t *p, int stride, int in_c, int y, int x, int c) {
    const uint8_t *px = p + (size_t)y * stride + (size_t)x * in_c;
#if EK_FE_IMAGE_CHANNELS == 1
    if (in_c == 1) return (float)px[0];
    (void)c;
    return (float)px[0] * 0.299f + (float)px[1] * 0.587f + (float)px[2] * 0.114f;
#else
    return (float)px[in_c == 1 ? 0 : c];
#endif
}

static inline int8_t clamp8(int32_t q) {
    return (int8_t)(q < -128 ? -128 : (q > 127 ? 127 : q));
}

int ek_frontend_run(const void *raw, size_t raw_bytes, int8_t *model_input) {
    if (!raw || !model_input) return EK_FRONTEND_ERR_ARGS;
    const uint8_t *bytes = (const uint8_t *)raw;
    int h, w, in_c;
    if (EK_FE_IMAGE_SRC_W > 0 && raw_bytes == (size_t)EK_FE_IMAGE_SRC_W * EK_FE_IMAGE_SRC_H * 3) {
        w = EK_FE_IMAGE_SRC_W; h = EK_FE_IMAGE_SRC_H; in_c = 3;
    } else {
        if (raw_bytes < HEADER_BYTES) return EK_FRONTEND_ERR_SIZE;
        w = bytes[0] | (bytes[1] << 8);
        h = bytes[2] | (bytes[3] << 8);
        in_c = bytes[4] | (bytes[5] << 8);
        if (w < 1 || h < 1 || (in_c != 1 && in_c != 3) ||
            raw_bytes != HEADER_BYTES + (size_t)w * h * in_c)
            return EK_FRONTEND_ERR_SIZE;
        bytes += HEADER_BYTES;
    }
    int top, left, ch, cw;
    crop_box(h, w, &top, &left, &ch, &cw);
    if (ch < 1 || cw < 1) return EK_FRONTEND_ERR_SIZE;
    if (ch != cached_h || cw != cached_w) {
        axis_map(ch, OUT_H, row_lo, row_hi, row_frac);
        axis_map(cw, OUT_W, col_lo, col_hi, col_frac);
        cached_h = (uint16_t)ch; cached_w = (uint16_t)cw;
    }
    const int stride = w * in_c;
    const uint8_t *origin = bytes + (size_t)top * stride + (size_t)left * in_c;

    int8_t *out = model_input;
    for (int y = 0; y < OUT_H; y++) {
        const int y0 = row_lo[y], y1 = row_hi[y];
        const float fy = row_frac[y];
        for (int x = 0; x < OUT_W; x++) {
            const int x0 = col_lo[x], x1 = col_hi[x];
            const float fx = col_frac[x];
            for (int c = 0; c < OUT_C; c++) {
                /* Output channel c reads input channel ek_fe_channel_source[c]: the spec's
                 * colour order, or a driver's swapped order in the `bgr` variant. */
                const int sc = ek_fe_channel_source[c];
#if EK_FE_RESIZE_NEAREST
                const float v = pixel(origin, stride, in_c, y0, x0, sc);
                (void)y1; (void)x1; (void)fx; (void)fy;
#else
                const float p00 = pixel(origin, stride, in_c, y0, x0, sc);
                const float p01 = pixel(origin, stride, in_c, y0, x1, sc);
                const float p10 = pixel(origin, stride, in_c, y1, x0, sc);
                const float p11 = pixel(origin, stride, in_c, y1, x1, sc);
                const float t = p00 + (p01 - p00) * fx;
                const float b = p10 + (p11 - p10) * fx;
                const float v = t + (b - t) * fy;
#endif
#if EK_FE_INT_NORMALISE
                /* Integer normalisation as fast firmware does it: one fixed-point affine
                 * map per channel on the integer pixel, truncating (arithmetic shift). */
                const int32_t pv = (int32_t)(v + 0.5f);
                *out++ = clamp8((pv * ek_fe_norm_mul_q16[c] + ek_fe_norm_add_q16[c]) >> 16);
#else
                *out++ = ek_fe_quantize((v - ek_fe_mean[c]) / ek_fe_std[c]);
#endif
            }
        }
    }
    return EK_FRONTEND_OK;
}

#endif /* EK_FE_KIND_IMAGE */

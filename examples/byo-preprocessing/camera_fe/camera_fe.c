/* acme-cam frontend: camera frame -> the 96 x 96 x 3 int8 input of the garment classifier,
 * as the Acme camera firmware ships it.
 *
 * Its own pipeline, in integers (no FPU needed on the camera's MCU): central square crop,
 * a bilinear resize with half-pixel centres in Q10 fixed point, then one affine map per
 * channel from 0..255 to the int8 input (normalisation and quantization folded together,
 * computed at init from the model's input scale and zero point). RGB888, BGR888 and GRAY8
 * frames are accepted, any stride.
 *
 * Planted differences, for the demonstration:
 *   -DCAM_NO_CROP=1  the whole frame is resized to 96 x 96 (a 4:3 frame squeezed) instead of
 *                    its central square, the bug of a port to a wider sensor;
 *   -DCAM_SWAP_RB=1  the red and blue channels are swapped (the sensor's BGR order taken
 *                    for RGB).
 */
#include <stdint.h>

#include "ek_user_frontend.h"

#ifndef CAM_SWAP_RB
#define CAM_SWAP_RB 0
#endif
#ifndef CAM_NO_CROP
#define CAM_NO_CROP 0
#endif

#define OUT_SIDE 96
#define Q 10                      /* fixed-point fraction bits of the resize */
#define ONE (1 << Q)
#define NORM_SHIFT 16

typedef struct {
    int32_t mul_q16, add_q16;     /* q = (pixel * mul + add) >> 16, per channel */
} cam_affine_t;

static cam_affine_t affine[3];
static int affine_ready;
static int16_t x0s[OUT_SIDE], x1s[OUT_SIDE], y0s[OUT_SIDE], y1s[OUT_SIDE];
static uint16_t fxs[OUT_SIDE], fys[OUT_SIDE];

const char *ek_user_frontend_name(void) {
    return CAM_NO_CROP ? "acme-cam-fe 1.4 (no-crop)" : CAM_SWAP_RB ? "acme-cam-fe 1.4 (rb-swap)" : "acme-cam-fe 1.4";
}

/* (v - 127.5) / 127.5 / scale + zero_point, folded into Q16 integers once per model. */
static void affine_init(const ek_user_tensor_t *t) {
    for (int c = 0; c < 3; c++) {
        const double a = 1.0 / (127.5 * (double)t->scale);
        affine[c].mul_q16 = (int32_t)(a * 65536.0 + 0.5);
        const double b = ((double)t->zero_point - 127.5 * a) * 65536.0;
        affine[c].add_q16 = (int32_t)(b < 0 ? b - 0.5 : b + 0.5);
    }
    affine_ready = 1;
}

/* Half-pixel-centre source positions for one axis of in_size pixels, in Q10. */
static void axis(int in_size, int16_t *lo, int16_t *hi, uint16_t *frac) {
    for (int i = 0; i < OUT_SIDE; i++) {
        int32_t src = (int32_t)(((2 * i + 1) * (int64_t)in_size * ONE) / (2 * OUT_SIDE)) - ONE / 2;
        if (src < 0) src = 0;
        int a = src >> Q;
        int b = a + 1 < in_size ? a + 1 : in_size - 1;
        lo[i] = (int16_t)a;
        hi[i] = (int16_t)b;
        frac[i] = (uint16_t)(src & (ONE - 1));
    }
}

static inline int8_t to_int8(int32_t v) { return (int8_t)(v < -128 ? -128 : (v > 127 ? 127 : v)); }

int ek_user_image_to_int8(const ek_user_image_t *in, const ek_user_tensor_t *t, int8_t *out) {
    if (t->dims[0] != OUT_SIDE || t->dims[1] != OUT_SIDE || t->dims[2] != 3) return 1;
    if (!affine_ready) affine_init(t);
    const int bpp = in->format == EK_PIXEL_GRAY8 ? 1 : 3;
#if CAM_NO_CROP
    const int top = 0, left = 0, crop_h = (int)in->height, crop_w = (int)in->width;
#else
    const int side = in->width < in->height ? (int)in->width : (int)in->height;
    const int top = ((int)in->height - side) / 2, left = ((int)in->width - side) / 2, crop_h = side, crop_w = side;
#endif
    axis(crop_h, y0s, y1s, fys);
    axis(crop_w, x0s, x1s, fxs);
    /* channel order of the frame: where R, G, B sit in a pixel */
    int src_c[3] = {0, 1, 2};
    if (in->format == EK_PIXEL_BGR888) { src_c[0] = 2; src_c[2] = 0; }
    if (in->format == EK_PIXEL_GRAY8) { src_c[0] = src_c[1] = src_c[2] = 0; }
#if CAM_SWAP_RB
    { int tmp = src_c[0]; src_c[0] = src_c[2]; src_c[2] = tmp; }
#endif
    for (int y = 0; y < OUT_SIDE; y++) {
        const uint8_t *r0 = in->pixels + (size_t)(top + y0s[y]) * in->stride;
        const uint8_t *r1 = in->pixels + (size_t)(top + y1s[y]) * in->stride;
        const int32_t fy = fys[y];
        for (int x = 0; x < OUT_SIDE; x++) {
            const int a = (left + x0s[x]) * bpp, b = (left + x1s[x]) * bpp;
            const int32_t fx = fxs[x];
            for (int c = 0; c < 3; c++) {
                const int sc = src_c[c];
                const int32_t top_v = r0[a + sc] * (ONE - fx) + r0[b + sc] * fx;      /* Q10 */
                const int32_t bot_v = r1[a + sc] * (ONE - fx) + r1[b + sc] * fx;
                const int32_t v = (top_v * (ONE - fy) + bot_v * fy + (1 << (Q - 1))) >> Q; /* Q10 pixel */
                const int64_t q = ((int64_t)v * affine[c].mul_q16 + ((int64_t)affine[c].add_q16 << Q)
                                   + ((int64_t)1 << (NORM_SHIFT + Q - 1))) >> (NORM_SHIFT + Q);
                out[(y * OUT_SIDE + x) * 3 + c] = to_int8((int32_t)q);
            }
        }
    }
    return 0;
}

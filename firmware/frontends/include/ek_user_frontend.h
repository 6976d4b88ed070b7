/* Your own preprocessing in the firmware edgekit builds: implement this header with your
 * production frontend code, and edgekit links it in place of its generated frontend, runs
 * it on the device (QEMU or a board) and, compiled for the host, on every test sample, to
 * measure its parity with the model's reference preprocessing and what it costs in
 * accuracy, per cohort.
 *
 *     edgekit skew -t cortex-m4 -m kws --frontend fw/audio_fe.c,fw/dsp.c \
 *         --frontend-include fw/include --frontend-define FE_USE_Q15=1
 *
 * WHAT YOU IMPLEMENT
 *
 *   const char *ek_user_frontend_name(void);     required: name and version, e.g.
 *                                                "acme-audio-fe 2.3"; the device's info
 *                                                reply carries it (preprocessing=user:...)
 *   int ek_user_frontend_init(void);             optional: called once before the first
 *                                                input; non-zero fails every input
 *
 *   and exactly ONE run function, for your model's input and the tensor type you produce:
 *
 *   int ek_user_audio_to_int8(const ek_user_audio_t *in, const ek_user_tensor_t *t, int8_t *out);
 *   int ek_user_audio_to_float(const ek_user_audio_t *in, const ek_user_tensor_t *t, float *out);
 *   int ek_user_image_to_int8(const ek_user_image_t *in, const ek_user_tensor_t *t, int8_t *out);
 *   int ek_user_image_to_float(const ek_user_image_t *in, const ek_user_tensor_t *t, float *out);
 *
 *   *_to_int8:  your code quantizes; write t->elements int8 values, with t->scale and
 *               t->zero_point (real = scale * (q - zero_point)) if you need them.
 *   *_to_float: write t->elements float32 values in model-input units (after your
 *               normalisation); edgekit quantizes them with the model's input scale and
 *               zero point: q = clamp(round_half_away_from_zero(x / scale) + zp, -128, 127).
 *   Return 0 on success, anything else fails that input (its return value is reported).
 *
 * LAYOUT: `out` is the model's input tensor without the batch dimension, row-major
 * (C order) over t->dims: audio [frames][coefficients][1] (e.g. 49 x 10 x 1),
 * image [height][width][channels] (e.g. 96 x 96 x 3, channels interleaved).
 *
 * WHAT EDGEKIT CHECKS: the output buffer has guard bytes on both sides, checked after
 * each call (a write outside the tensor fails that input as an overrun); each call has a
 * time limit (a frontend that runs past it fails that input as a timeout: 5 s of wall time
 * on the host, 200,000,000 timer units on the device, i.e. instructions under QEMU; see
 * edgekit.frontends.user_c.UserCFrontend); a fault (a crash on the host, a HardFault on
 * the device) fails that input. The run goes on and the report counts such inputs.
 *
 * Memory: keep your scratch in static buffers or on the stack (no malloc on the device).
 * Your code's flash and RAM and its instructions per input are reported apart from the
 * model's. It is compiled as C99 with -Wall (warnings are not errors); your defines
 * (--frontend-define) reach only your own sources.
 */
#ifndef EK_USER_FRONTEND_H
#define EK_USER_FRONTEND_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    EK_PIXEL_RGB888 = 0,   /* 3 bytes per pixel: R, G, B */
    EK_PIXEL_BGR888 = 1,   /* 3 bytes per pixel: B, G, R */
    EK_PIXEL_GRAY8 = 2,    /* 1 byte per pixel */
} ek_pixel_format_t;

/* One audio clip as the device receives it. */
typedef struct {
    const int16_t *samples;    /* PCM, mono */
    uint32_t count;            /* number of samples */
    uint32_t sample_rate_hz;   /* the model's sample rate (e.g. 16000) */
} ek_user_audio_t;

/* One camera frame as the device receives it. */
typedef struct {
    const uint8_t *pixels;     /* first byte of the top row */
    uint32_t width, height;    /* in pixels */
    uint32_t stride;           /* bytes from one row to the next (>= width * bytes per pixel) */
    ek_pixel_format_t format;
} ek_user_image_t;

/* The model input tensor your run function fills. */
typedef struct {
    uint32_t dims[4];          /* shape without the batch: audio {frames, coeffs, 1, 0}, image {h, w, c, 0} */
    uint32_t n_dims;           /* 3 */
    uint32_t elements;         /* product of dims */
    float scale;               /* the model's input quantization: real = scale * (q - zero_point) */
    int32_t zero_point;
} ek_user_tensor_t;

const char *ek_user_frontend_name(void);
int ek_user_frontend_init(void);

int ek_user_audio_to_int8(const ek_user_audio_t *in, const ek_user_tensor_t *t, int8_t *out);
int ek_user_audio_to_float(const ek_user_audio_t *in, const ek_user_tensor_t *t, float *out);
int ek_user_image_to_int8(const ek_user_image_t *in, const ek_user_tensor_t *t, int8_t *out);
int ek_user_image_to_float(const ek_user_image_t *in, const ek_user_tensor_t *t, float *out);

#ifdef __cplusplus
}
#endif
#endif

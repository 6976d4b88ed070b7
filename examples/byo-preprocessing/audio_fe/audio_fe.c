/* acme-kws audio frontend: 16 kHz PCM -> 49 x 10 MFCC, as the Acme firmware team ships it.
 *
 * Written the way a DSP library structures it (instance structs initialised once, a
 * real FFT done as a half-size complex FFT plus a split step, as arm_rfft_fast_f32 does),
 * not edgekit's generated frontend: its own tables computed at init, its own FFT, its own
 * sparse mel filterbank. Float32 throughout; edgekit quantizes the float output with the
 * model's input scale (ek_user_audio_to_float).
 *
 * Planted difference, for the demonstration: build with -DAFE_PREEMPHASIS=1 and every
 * frame goes through a pre-emphasis filter y[n] = x[n] - 0.97 x[n-1] first, as textbook
 * MFCC pipelines do and the model's training pipeline does not.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "ek_user_frontend.h"
#include "afe_config.h"

#ifndef AFE_PREEMPHASIS
#define AFE_PREEMPHASIS 0
#endif

#define AFE_PI 3.14159265358979323846

/* ---- real FFT of AFE_FFT_LEN points via an AFE_FFT_LEN/2-point complex FFT ---------- */
typedef struct {
    uint16_t n_complex;                      /* AFE_FFT_LEN / 2 */
    float twiddle[AFE_FFT_LEN / 2];          /* cos, sin pairs of the complex FFT */
    float split[AFE_FFT_LEN];                /* cos, sin pairs of the split step */
    uint16_t bitrev[AFE_FFT_LEN / 2];
} afe_rfft_instance_t;

static void afe_rfft_init(afe_rfft_instance_t *s) {
    const int n = AFE_FFT_LEN / 2;
    int bits = 0;
    while ((1 << bits) < n) bits++;
    s->n_complex = (uint16_t)n;
    for (int k = 0; k < n / 2; k++) {
        s->twiddle[2 * k] = (float)cos(2.0 * AFE_PI * k / n);
        s->twiddle[2 * k + 1] = (float)-sin(2.0 * AFE_PI * k / n);
    }
    for (int k = 0; k < n; k++) {
        s->split[2 * k] = (float)cos(2.0 * AFE_PI * k / AFE_FFT_LEN);
        s->split[2 * k + 1] = (float)-sin(2.0 * AFE_PI * k / AFE_FFT_LEN);
        int r = 0;
        for (int b = 0; b < bits; b++) r |= ((k >> b) & 1) << (bits - 1 - b);
        s->bitrev[k] = (uint16_t)r;
    }
}

/* In place on buf[2 * n] (re, im interleaved), radix-2 decimation in time. */
static void afe_cfft(const afe_rfft_instance_t *s, float *buf) {
    const int n = s->n_complex;
    for (int i = 0; i < n; i++) {
        int j = s->bitrev[i];
        if (j > i) {
            float tr = buf[2 * i], ti = buf[2 * i + 1];
            buf[2 * i] = buf[2 * j]; buf[2 * i + 1] = buf[2 * j + 1];
            buf[2 * j] = tr; buf[2 * j + 1] = ti;
        }
    }
    for (int len = 2; len <= n; len <<= 1) {
        const int half = len / 2, step = n / len;
        for (int start = 0; start < n; start += len) {
            for (int k = 0; k < half; k++) {
                const float wr = s->twiddle[2 * k * step], wi = s->twiddle[2 * k * step + 1];
                float *a = buf + 2 * (start + k), *b = buf + 2 * (start + k + half);
                const float br = b[0] * wr - b[1] * wi, bi = b[0] * wi + b[1] * wr;
                b[0] = a[0] - br; b[1] = a[1] - bi;
                a[0] += br; a[1] += bi;
            }
        }
    }
}

/* x: AFE_FFT_LEN real samples (destroyed) -> mag[0 .. AFE_FFT_LEN/2]: |X[k]|. */
static void afe_rfft_magnitude(const afe_rfft_instance_t *s, float *x, float *mag) {
    const int n = s->n_complex;
    afe_cfft(s, x); /* x[2m] + i x[2m+1] packed as complex */
    for (int k = 0; k <= n; k++) {
        const int k1 = k % n, k2 = (n - k) % n;
        const float zr = x[2 * k1], zi = x[2 * k1 + 1], cr = x[2 * k2], ci = -x[2 * k2 + 1];
        const float er = 0.5f * (zr + cr), ei = 0.5f * (zi + ci);      /* even part */
        const float orr = 0.5f * (zi - ci), oi = -0.5f * (zr - cr);    /* odd part / i */
        const float wr = k < n ? s->split[2 * k] : -1.0f, wi = k < n ? s->split[2 * k + 1] : 0.0f;
        const float re = er + orr * wr - oi * wi, im = ei + orr * wi + oi * wr;
        mag[k] = sqrtf(re * re + im * im);
    }
}

/* ---- MFCC instance -------------------------------------------------------------------- */
typedef struct {
    afe_rfft_instance_t fft;
    float window[AFE_FRAME_LEN];
    uint16_t mel_first[AFE_MEL_BANDS], mel_count[AFE_MEL_BANDS], mel_offset[AFE_MEL_BANDS];
    float mel_weight[AFE_FFT_LEN]; /* sparse triangles, back to back */
    float dct[AFE_COEFFS * AFE_MEL_BANDS];
} afe_mfcc_instance_t;

static afe_mfcc_instance_t mfcc;
static float frame_buf[AFE_FFT_LEN];
static float spectrum[AFE_FFT_LEN / 2 + 1];
static float log_mel[AFE_MEL_BANDS];

static double hz_to_mel(double f) { return 1127.0 * log(1.0 + f / 700.0); }

static int afe_mfcc_init(afe_mfcc_instance_t *s) {
    afe_rfft_init(&s->fft);
    for (int i = 0; i < AFE_FRAME_LEN; i++) s->window[i] = (float)(0.5 - 0.5 * cos(2.0 * AFE_PI * i / AFE_FRAME_LEN));
    const double lo = hz_to_mel(AFE_LOW_HZ), hi = hz_to_mel(AFE_HIGH_HZ);
    const int bins = AFE_FFT_LEN / 2 + 1;
    int used = 0;
    for (int m = 0; m < AFE_MEL_BANDS; m++) {
        const double left = lo + (hi - lo) * m / (AFE_MEL_BANDS + 1);
        const double centre = lo + (hi - lo) * (m + 1) / (AFE_MEL_BANDS + 1);
        const double right = lo + (hi - lo) * (m + 2) / (AFE_MEL_BANDS + 1);
        s->mel_first[m] = 0;
        s->mel_count[m] = 0;
        s->mel_offset[m] = (uint16_t)used;
        for (int k = 1; k < bins; k++) { /* bin 0 (DC) carries no weight */
            const double mk = hz_to_mel(k * (AFE_SAMPLE_RATE / 2.0) / (AFE_FFT_LEN / 2));
            double w = fmin((mk - left) / (centre - left), (right - mk) / (right - centre));
            if (w <= 0.0) continue;
            if (s->mel_count[m] == 0) s->mel_first[m] = (uint16_t)k;
            if (used >= AFE_FFT_LEN) return -1;
            s->mel_weight[used++] = (float)w;
            s->mel_count[m]++;
        }
    }
    for (int j = 0; j < AFE_COEFFS; j++) {
        const double scale = j == 0 ? sqrt(1.0 / AFE_MEL_BANDS) : sqrt(2.0 / AFE_MEL_BANDS);
        for (int m = 0; m < AFE_MEL_BANDS; m++)
            s->dct[j * AFE_MEL_BANDS + m] = (float)(scale * cos(AFE_PI * j * (2 * m + 1) / (2.0 * AFE_MEL_BANDS)));
    }
    return 0;
}

static void afe_mfcc_frame(const afe_mfcc_instance_t *s, const int16_t *pcm, uint32_t avail, float *coeffs) {
    memset(frame_buf, 0, sizeof frame_buf);
    float prev = 0.0f;
    for (uint32_t i = 0; i < AFE_FRAME_LEN; i++) {
        float x = i < avail ? (float)pcm[i] * (1.0f / 32768.0f) : 0.0f;
#if AFE_PREEMPHASIS
        const float y = x - 0.97f * prev;
        prev = x;
        x = y;
#else
        (void)prev;
#endif
        frame_buf[i] = x * s->window[i];
    }
    afe_rfft_magnitude(&s->fft, frame_buf, spectrum);
    for (int m = 0; m < AFE_MEL_BANDS; m++) {
        float e = 0.0f;
        const float *w = s->mel_weight + s->mel_offset[m];
        const float *p = spectrum + s->mel_first[m];
        for (int k = 0; k < s->mel_count[m]; k++) e += w[k] * p[k];
        log_mel[m] = logf(e + AFE_LOG_FLOOR);
    }
    for (int j = 0; j < AFE_COEFFS; j++) {
        float acc = 0.0f;
        for (int m = 0; m < AFE_MEL_BANDS; m++) acc += s->dct[j * AFE_MEL_BANDS + m] * log_mel[m];
        coeffs[j] = acc;
    }
}

/* ---- edgekit's interface (ek_user_frontend.h) ---------------------------------------- */
const char *ek_user_frontend_name(void) {
    return AFE_PREEMPHASIS ? "acme-kws-fe 2.3 (pre-emphasis)" : "acme-kws-fe 2.3";
}

int ek_user_frontend_init(void) { return afe_mfcc_init(&mfcc); }

int ek_user_audio_to_float(const ek_user_audio_t *in, const ek_user_tensor_t *t, float *out) {
    if (in->sample_rate_hz != AFE_SAMPLE_RATE || t->dims[0] != AFE_FRAMES || t->dims[1] != AFE_COEFFS) return 1;
    const uint32_t n = in->count < AFE_CLIP_LEN ? in->count : AFE_CLIP_LEN;
    for (int f = 0; f < AFE_FRAMES; f++) {
        const uint32_t start = (uint32_t)f * AFE_HOP_LEN;
        afe_mfcc_frame(&mfcc, in->samples + (start < n ? start : n), start < n ? n - start : 0, out + f * AFE_COEFFS);
    }
    return 0;
}

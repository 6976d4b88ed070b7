/* Audio frontend: int16 PCM -> MFCC -> the model's int8 input tensor.
 *
 * Follows edgekit.preprocess.audio (the reference) step by step; every number comes from
 * the generated ek_frontend_config.h / ek_frontend_tables.c (window, twiddles, sparse mel
 * weights, DCT basis, input quantization). Variant switches (EK_FE_*) reproduce what real
 * firmware does differently: another window table, a Q15 FFT, another log.
 */
#include "ek_frontend_config.h"

#if EK_FE_KIND_AUDIO

#include <math.h>
#include <string.h>

#include "../include/ek_fft.h"
/* By relative path: another ek_frontend.h may come first on the include path. */
#include "../include/ek_frontend.h"
#include "ek_fe_quantize.h"

#if defined(__GNUC__) && !defined(__clang__)
/* Keep float rounding the same on host and device: no fused multiply-add contraction. */
#pragma GCC optimize("fp-contract=off", "no-math-errno")
#endif

#define N_FFT (1 << EK_FE_FFT_LOG2)
#define N_BINS (N_FFT / 2 + 1)

#if EK_FE_FFT_Q15
static int16_t fft_buf[N_FFT];
static float spectrum[N_BINS];
#else
/* The FFT runs in place; the spectrum is then written over the front of the same buffer. */
static float fft_buf[N_FFT];
#define spectrum fft_buf
#endif
static float log_mel[EK_FE_MEL_BINS];

static const ek_frontend_info_t info = {
    "mfcc", EK_FE_VARIANT, EK_FE_SPEC_HASH,
    EK_FE_FRAMES * EK_FE_DCT_COEFFS,
#if EK_FE_FFT_Q15
    sizeof(int16_t) * N_FFT + sizeof(float) * N_BINS + sizeof(float) * EK_FE_MEL_BINS,
#else
    sizeof(float) * N_FFT + sizeof(float) * EK_FE_MEL_BINS,
#endif
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

/* Raw bytes may sit at any alignment in a UART buffer: assemble little-endian samples. */
static inline int32_t pcm_at(const uint8_t *b, size_t n_samples, int32_t i) {
    if (i >= (int32_t)n_samples || i >= EK_FE_CLIP_SAMPLES) return 0;
    return (int16_t)(uint16_t)(b[2 * i] | (b[2 * i + 1] << 8));
}

static inline float spectrum_value(float re, float im) {
    float p = re * re + im * im;
#if EK_FE_SPECTRUM_POWER
    return p;
#else
    return sqrtf(p);
#endif
}

static inline float log_of(float v) {
#if EK_FE_LOG == EK_FE_LOG_LN
    return logf(v);
#elif EK_FE_LOG == EK_FE_LOG_LOG2
    return log2f(v);
#else /* EK_FE_LOG_FAST: exponent bits + a quadratic in the mantissa, the classic fast log */
    union { float f; uint32_t u; } x = { v };
    /* -128, not -127: the polynomial below is log2(m) + 1 over m in [1, 2) */
    const float e = (float)((int32_t)((x.u >> 23) & 0xff) - 128);
    x.u = (x.u & 0x007fffffu) | 0x3f800000u; /* mantissa m in [1, 2) */
    const float m = x.f;
    const float log2m = (-0.34484843f * m + 2.02466578f) * m - 0.67487759f;
    return (e + log2m) * 0.69314718f;
#endif
}

/* Bins the mel filterbank reads: 0 .. n_bins-1 (the spectrum above is never computed). */
static int mel_bins_used(void) {
    int top = 1;
    for (int m = 0; m < EK_FE_MEL_BINS; m++) {
        const int end = ek_fe_mel_first_bin[m] + ek_fe_mel_n_bins[m];
        if (end > top) top = end;
    }
    return top < N_BINS ? top : N_BINS;
}

#if !EK_FE_FFT_Q15
/* The windowed frame written straight into the FFT's bit-reversed input order (complex pair
 * n = samples 2n, 2n+1 goes to pair bitrev(n)), zeros past the window: the same values the
 * window-then-permute would give, without the separate passes. */
static void window_bitreversed(const uint8_t *bytes, size_t n_samples, int32_t start) {
    const int m = N_FFT / 2;
    int32_t avail = (int32_t)(n_samples < EK_FE_CLIP_SAMPLES ? n_samples : EK_FE_CLIP_SAMPLES) - start;
    if (avail < 0) avail = 0;
    int j = 0;
    for (int n = 0; n < m; n++) {
        const int i = 2 * n;
        float re = 0.0f, im = 0.0f;
        if (i + 1 < EK_FE_WINDOW_SAMPLES && i + 1 < avail) {   /* both samples inside: no checks */
            const uint8_t *b = bytes + 2 * (start + i);
            re = (float)(int16_t)(uint16_t)(b[0] | (b[1] << 8)) * (1.0f / 32768.0f) * ek_fe_window[i];
            im = (float)(int16_t)(uint16_t)(b[2] | (b[3] << 8)) * (1.0f / 32768.0f) * ek_fe_window[i + 1];
        } else {
            if (i < EK_FE_WINDOW_SAMPLES)
                re = (float)pcm_at(bytes, n_samples, start + i) * (1.0f / 32768.0f) * ek_fe_window[i];
            if (i + 1 < EK_FE_WINDOW_SAMPLES)
                im = (float)pcm_at(bytes, n_samples, start + i + 1) * (1.0f / 32768.0f) * ek_fe_window[i + 1];
        }
        fft_buf[2 * j] = re;
        fft_buf[2 * j + 1] = im;
        if (n + 1 == m) break;
        int k = m >> 1;   /* j = bitrev(n + 1): the reversed increment */
        while (k <= j) { j -= k; k >>= 1; }
        j += k;
    }
}
#endif

int ek_frontend_run(const void *raw, size_t raw_bytes, int8_t *model_input) {
    if (!model_input || (!raw && raw_bytes)) return EK_FRONTEND_ERR_ARGS;
    if (raw_bytes & 1u) return EK_FRONTEND_ERR_SIZE;
    const uint8_t *bytes = (const uint8_t *)raw;
    const size_t n_samples = raw_bytes / 2;
    const int n_bins = mel_bins_used();
    (void)n_bins;   /* the Q15 path computes every bin */

    for (int t = 0; t < EK_FE_FRAMES; t++) {
        const int32_t start = t * EK_FE_STRIDE_SAMPLES;
#if EK_FE_FFT_Q15
        for (int i = 0; i < EK_FE_WINDOW_SAMPLES; i++)
            fft_buf[i] = (int16_t)((pcm_at(bytes, n_samples, start + i) * ek_fe_window_q15[i]) >> 15);
        memset(fft_buf + EK_FE_WINDOW_SAMPLES, 0, sizeof(int16_t) * (N_FFT - EK_FE_WINDOW_SAMPLES));
        ek_rfft_q15(fft_buf, ek_fe_twiddle_q15, EK_FE_FFT_LOG2);
        /* Q15 output is X/N in units of 1/32768: scale back to the reference's units. */
        const float back = (float)N_FFT / 32768.0f;
        spectrum[0] = spectrum_value(fft_buf[0] * back, 0.0f);
        spectrum[N_BINS - 1] = spectrum_value(fft_buf[1] * back, 0.0f);
        for (int k = 1; k < N_BINS - 1; k++)
            spectrum[k] = spectrum_value(fft_buf[2 * k] * back, fft_buf[2 * k + 1] * back);
#else
        window_bitreversed(bytes, n_samples, start);
        ek_rfft_f32_permuted(fft_buf, ek_fe_twiddle, EK_FE_FFT_LOG2, n_bins);
        const float dc = fft_buf[0], nyquist = fft_buf[1];
        spectrum[0] = spectrum_value(dc, 0.0f);
        const int top = n_bins < N_BINS - 1 ? n_bins : N_BINS - 1;
        for (int k = 1; k < top; k++) /* k <= 2k: safe to overwrite in place */
            spectrum[k] = spectrum_value(fft_buf[2 * k], fft_buf[2 * k + 1]);
        if (n_bins == N_BINS) spectrum[N_BINS - 1] = spectrum_value(nyquist, 0.0f);
#endif
#if EK_FE_FFT_SCALE_1_OVER_N
        for (int k = 0; k < n_bins; k++) spectrum[k] *= EK_FE_SPECTRUM_SCALE;
#endif
        for (int m = 0; m < EK_FE_MEL_BINS; m++) {
            const float *w = ek_fe_mel_weights + ek_fe_mel_offset[m];
            const int k0 = ek_fe_mel_first_bin[m], nk = ek_fe_mel_n_bins[m];
            float acc = 0.0f;
            for (int k = 0; k < nk; k++) acc += w[k] * spectrum[k0 + k];
#if EK_FE_RESCALE_AFTER_LOG
            /* Undo the FFT's 1/N after the log: the offset above was added N times too small
             * a spectrum, i.e. it acts as an N times larger offset. */
            log_mel[m] = log_of(acc + EK_FE_LOG_OFFSET) + EK_FE_LOG_RESCALE;
#else
            log_mel[m] = log_of(acc + EK_FE_LOG_OFFSET);
#endif
        }
        int8_t *out = model_input + t * EK_FE_DCT_COEFFS;
        for (int j = 0; j < EK_FE_DCT_COEFFS; j++) {
            const float *d = ek_fe_dct + j * EK_FE_MEL_BINS;
            float acc = 0.0f;
            for (int m = 0; m < EK_FE_MEL_BINS; m++) acc += d[m] * log_mel[m];
            out[j] = ek_fe_quantize(acc);
        }
    }
    return EK_FRONTEND_OK;
}

#endif /* EK_FE_KIND_AUDIO */

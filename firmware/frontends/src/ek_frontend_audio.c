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
/* Sample pairs of one frame (the window table is padded with a zero to an even length). */
#define W_PAIRS ((EK_FE_WINDOW_SAMPLES + 1) / 2)

#if EK_FE_FFT_Q15
static int16_t fft_buf[N_FFT];
#else
static float fft_buf[N_FFT];
#endif
static float spectrum[N_BINS];
static float log_mel[EK_FE_MEL_BINS];
/* The last frames may run past a short clip: their samples are copied here, zero padded. */
static uint8_t tail_frame[4 * W_PAIRS] __attribute__((aligned(4)));

static const ek_frontend_info_t info = {
    "mfcc", EK_FE_VARIANT, EK_FE_SPEC_HASH,
    EK_FE_FRAMES * EK_FE_DCT_COEFFS,
#if EK_FE_FFT_Q15
    sizeof(int16_t) * N_FFT +
#else
    sizeof(float) * N_FFT +
#endif
        sizeof(float) * N_BINS + sizeof(float) * EK_FE_MEL_BINS + sizeof(tail_frame),
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

/* Raw bytes may sit at any alignment in a UART buffer: memcpy, which Cortex-M (unaligned
 * LDRSH) and the host both do in one load. Little-endian PCM on a little-endian core. */
static inline int32_t pcm_at(const uint8_t *frame, int i) {
    int16_t v;
    memcpy(&v, frame + 2 * i, sizeof v);
    return v;
}

/* Natural log, accurate to a few float ulp (the reference is float64 ln): the exponent, and
 * for the mantissa m in [1, 2) the build-time table entry of its top 7 bits, c = the middle
 * of that 1/128 interval, as (1/c, ln c): ln m = ln c + ln(1 + r), r = m/c - 1, |r| < 2^-8,
 * by r - r^2/2 + r^3/3 (the next term is below 2^-34). The same C on host and device. */
static inline float ln_f32(float v) {
    union { float f; uint32_t u; } x = { v };
    const int32_t e = (int32_t)(x.u >> 23) - 127;
    const float *c = ek_fe_ln_table + 2 * ((x.u >> 16) & 0x7fu);
    x.u = (x.u & 0x007fffffu) | 0x3f800000u;
    const float r = fmaf(x.f, c[0], -1.0f);
    const float p = fmaf(r * r, fmaf(r, 0.33333333f, -0.5f), r);
    return fmaf((float)e, 0.69314718f, c[1]) + p;
}

static inline float log_of(float v) {
#if EK_FE_LOG == EK_FE_LOG_LN
    return ln_f32(v);
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

/* The spectrum is computed in units 2^15 (int16 PCM, not PCM / 32768) times 2 (the FFT's
 * doubled bins) larger than the reference's; one exact power-of-two multiply per mel bin
 * (before the log offset) brings it back: the same float results as scaling every sample. */
#if EK_FE_SPECTRUM_POWER
#define MEL_SCALE (1.0f / 4294967296.0f)
#else
#define MEL_SCALE (1.0f / 65536.0f)
#endif

#if !EK_FE_FFT_Q15
/* Complex pair n of the frame: samples 2n, 2n+1 times the window (zero past the window). */
static inline void windowed_pair(const uint8_t *frame, int n, float *re, float *im) {
    *re = (float)pcm_at(frame, 2 * n) * ek_fe_window[2 * n];
    *im = (float)pcm_at(frame, 2 * n + 1) * ek_fe_window[2 * n + 1];
}

/* Windowing fused with the first radix-4 stage of the complex FFT (trivial twiddles): the
 * butterfly at bit-reversed positions 4i..4i+3 reads pairs r, r+m/2, r+m/4, r+3m/4 (r =
 * bitrev(i)), which are loaded straight from the PCM; pairs past the window are zeros, so
 * their quarter of the frame is never read (with the KWS spec: the last quarter). */
#define Q4 (N_FFT / 8)   /* a quarter of the N/2 complex values */
/* Pairs of quarter c inside the window: all (Q4), none (0) or the first LIM(c); constants,
 * so the full and the empty quarters cost no test at all. */
#define LIM(c) (W_PAIRS - (c) * Q4 <= 0 ? 0 : (W_PAIRS - (c) * Q4 >= Q4 ? Q4 : W_PAIRS - (c) * Q4))
#define PAIR_IF(c, r, re, im) \
    if (LIM(c) == Q4 || (LIM(c) > 0 && (r) < LIM(c))) windowed_pair(frame, (r) + (c) * Q4, &(re), &(im))

/* log2(Q4)-bit reversal of i: RBIT on the core, a loop on the host. */
static inline int bitrev_quarter(uint32_t i) {
#if defined(__ARM_ARCH_7EM__) || defined(__ARM_ARCH_8M_MAIN__) || defined(__ARM_ARCH_8_1M_MAIN__)
    uint32_t r;
    __asm__("rbit %0, %1" : "=r"(r) : "r"(i));
    return (int)(r >> (32 - (EK_FE_FFT_LOG2 - 3)));
#else
    uint32_t r = 0;
    for (int b = 0; b < EK_FE_FFT_LOG2 - 3; b++) r = (r << 1) | ((i >> b) & 1u);
    return (int)r;
#endif
}

/* Eight consecutive floats: one VSTM on Arm (the values pinned to s0-s7 for it). */
static inline __attribute__((always_inline)) void store8(float *p, float v0, float v1, float v2, float v3,
                                                          float v4, float v5, float v6, float v7) {
#if defined(__GNUC__) && defined(__ARM_FP) && defined(__thumb2__)
    register float r0 __asm__("s0") = v0, r1 __asm__("s1") = v1, r2 __asm__("s2") = v2, r3 __asm__("s3") = v3;
    register float r4 __asm__("s4") = v4, r5 __asm__("s5") = v5, r6 __asm__("s6") = v6, r7 __asm__("s7") = v7;
    __asm__ volatile("vstmia %0, {s0-s7}" : : "r"(p), "t"(r0), "t"(r1), "t"(r2), "t"(r3), "t"(r4), "t"(r5),
                     "t"(r6), "t"(r7) : "memory");
#else
    p[0] = v0; p[1] = v1; p[2] = v2; p[3] = v3; p[4] = v4; p[5] = v5; p[6] = v6; p[7] = v7;
#endif
}

/* Butterfly r; `b_in`: r lies inside quarter 2's window part (a constant per loop below). */
static inline __attribute__((always_inline)) void window_butterfly(const uint8_t *frame, int r, int b_in) {
    float ar = 0, ai = 0, br = 0, bi = 0, cr = 0, ci = 0, dr = 0, di = 0;
    PAIR_IF(0, r, ar, ai);
    if (b_in) PAIR_IF(2, r, br, bi);
    PAIR_IF(1, r, cr, ci);
    PAIR_IF(3, r, dr, di);
    /* An all-zero quarter adds nothing (x + 0 is kept by the compiler for x = -0). */
    const float s0r = LIM(2) ? ar + br : ar, s0i = LIM(2) ? ai + bi : ai;
    const float s1r = LIM(2) ? ar - br : ar, s1i = LIM(2) ? ai - bi : ai;
    const float s2r = LIM(3) ? cr + dr : cr, s2i = LIM(3) ? ci + di : ci;
    const float s3r = LIM(3) ? cr - dr : cr, s3i = LIM(3) ? ci - di : ci;
    store8(fft_buf + 8 * bitrev_quarter((uint32_t)r), s0r + s2r, s0i + s2i, s1r + s3i, s1i - s3r,
           s0r - s2r, s0i - s2i, s1r - s3i, s1i + s3r);
}

__attribute__((noinline)) static void window_first_radix4(const uint8_t *frame) {
    /* r in natural order (sequential reads of the frame and the window), each butterfly
     * written to its bit-reversed place; two loops, so that neither tests (nor moves
     * zeros for) quarter 2's part of the window. */
    enum { B_END = LIM(2) };
    for (int r = 0; r < B_END; r++) window_butterfly(frame, r, 1);
    for (int r = B_END; r < Q4; r++) window_butterfly(frame, r, 0);
}
#endif

#if defined(__GNUC__) && defined(__ARM_FP) && (__ARM_FP & 4) && defined(__ARM_FEATURE_FMA) && defined(__thumb2__)
/* The operands of dot()'s VLDM groups: both pointers advance, s0..s3 accumulate. */
#define EK_DOT_OPERANDS \
    : [a] "+r"(a), [b] "+r"(b), [s0] "+t"(s0), [s1] "+t"(s1), [s2] "+t"(s2), [s3] "+t"(s3) \
    : :
#define EK_DOT_ASM 1
#else
#define EK_DOT_ASM 0
#endif

/* sum a[i] b[i] in four interleaved fused accumulations: a quarter of the loop overhead
 * (the sums in another order than one running total, the same accuracy). On Arm the groups
 * of eight and four are loaded by VLDM (one instruction per vector and group); the same
 * fmaf()s in the same order. */
static inline __attribute__((always_inline)) float dot(const float *a, const float *b, int n) {
    float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
    const int head = n & 3;
    for (int i = 0; i < head; i++) s0 = fmaf(a[i], b[i], s0);
#if EK_DOT_ASM
    a += head; b += head; n -= head;
    for (; n >= 8; n -= 8)
        __asm__ volatile("vldmia %[a]!, {s4-s11}\n\t" "vldmia %[b]!, {s12-s19}\n\t"
                         "vfma.f32 %[s0], s4, s12\n\t" "vfma.f32 %[s1], s5, s13\n\t"
                         "vfma.f32 %[s2], s6, s14\n\t" "vfma.f32 %[s3], s7, s15\n\t"
                         "vfma.f32 %[s0], s8, s16\n\t" "vfma.f32 %[s1], s9, s17\n\t"
                         "vfma.f32 %[s2], s10, s18\n\t" "vfma.f32 %[s3], s11, s19\n\t"
                         EK_DOT_OPERANDS "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "s12", "s13",
                         "s14", "s15", "s16", "s17", "s18", "s19", "memory");
    if (n)   /* n == 4 */
        __asm__ volatile("vldmia %[a]!, {s4-s7}\n\t" "vldmia %[b]!, {s12-s15}\n\t"
                         "vfma.f32 %[s0], s4, s12\n\t" "vfma.f32 %[s1], s5, s13\n\t"
                         "vfma.f32 %[s2], s6, s14\n\t" "vfma.f32 %[s3], s7, s15\n\t"
                         EK_DOT_OPERANDS "s4", "s5", "s6", "s7", "s12", "s13", "s14", "s15", "memory");
#else
    for (int i = head; i < n; i += 4) {
        s0 = fmaf(a[i], b[i], s0);
        s1 = fmaf(a[i + 1], b[i + 1], s1);
        s2 = fmaf(a[i + 2], b[i + 2], s2);
        s3 = fmaf(a[i + 3], b[i + 3], s3);
    }
#endif
    return (s0 + s1) + (s2 + s3);
}

int ek_frontend_run(const void *raw, size_t raw_bytes, int8_t *model_input) {
    if (!model_input || (!raw && raw_bytes)) return EK_FRONTEND_ERR_ARGS;
    if (raw_bytes & 1u) return EK_FRONTEND_ERR_SIZE;
    const uint8_t *bytes = (const uint8_t *)raw;
    const int32_t avail = (int32_t)(raw_bytes / 2 < EK_FE_CLIP_SAMPLES ? raw_bytes / 2 : EK_FE_CLIP_SAMPLES);
    const int n_bins = mel_bins_used();

    for (int t = 0; t < EK_FE_FRAMES; t++) {
        const int32_t start = t * EK_FE_STRIDE_SAMPLES;
        const uint8_t *frame = bytes + 2 * start;
        if (start + 2 * W_PAIRS > avail) {   /* past the clip's end: zero padded copy */
            const int32_t have = avail > start ? avail - start : 0;
            memset(tail_frame, 0, sizeof tail_frame);
            if (have) memcpy(tail_frame, frame, 2 * (size_t)(have < 2 * W_PAIRS ? have : 2 * W_PAIRS));
            frame = tail_frame;
        }
#if EK_FE_FFT_Q15
        for (int i = 0; i < EK_FE_WINDOW_SAMPLES; i++)
            fft_buf[i] = (int16_t)((pcm_at(frame, i) * ek_fe_window_q15[i]) >> 15);
        memset(fft_buf + EK_FE_WINDOW_SAMPLES, 0, sizeof(int16_t) * (N_FFT - EK_FE_WINDOW_SAMPLES));
        ek_rfft_q15(fft_buf, ek_fe_twiddle_q15, EK_FE_FFT_LOG2);
        /* Q15 output is X/N in units of 1/32768: scale to the float path's units (2^16 X). */
        const float back = 2.0f * (float)N_FFT;
        for (int k = 0; k < n_bins; k++) {
            const float re = (k == N_BINS - 1 ? fft_buf[1] : fft_buf[2 * k]) * back;
            const float im = (k == 0 || k == N_BINS - 1) ? 0.0f : fft_buf[2 * k + 1] * back;
            const float p = re * re + im * im;
#if EK_FE_SPECTRUM_POWER
            spectrum[k] = p;
#else
            spectrum[k] = sqrtf(p);
#endif
        }
#else
        window_first_radix4(frame);
        ek_cfft_f32_passes(fft_buf, ek_fe_twiddle, ek_fe_stage_twiddle, EK_FE_FFT_LOG2, 4);
        ek_rfft_f32_finish(fft_buf, ek_fe_twiddle, EK_FE_FFT_LOG2, n_bins,
                           EK_FE_SPECTRUM_POWER ? EK_RFFT_POWER : EK_RFFT_MAGNITUDE, spectrum);
#endif
#if EK_FE_FFT_SCALE_1_OVER_N
        const float scale = MEL_SCALE * EK_FE_SPECTRUM_SCALE;
#else
        const float scale = MEL_SCALE;
#endif
        for (int m = 0; m < EK_FE_MEL_BINS; m++) {
            const float *w = ek_fe_mel_weights + ek_fe_mel_offset[m];
            const float *s = spectrum + ek_fe_mel_first_bin[m];
            const int nk = ek_fe_mel_n_bins[m];
            const float acc = dot(w, s, nk);
#if EK_FE_RESCALE_AFTER_LOG
            /* Undo the FFT's 1/N after the log: the offset above was added N times too small
             * a spectrum, i.e. it acts as an N times larger offset. */
            log_mel[m] = log_of(fmaf(acc, scale, EK_FE_LOG_OFFSET)) + EK_FE_LOG_RESCALE;
#else
            log_mel[m] = log_of(fmaf(acc, scale, EK_FE_LOG_OFFSET));
#endif
        }
        int8_t *out = model_input + t * EK_FE_DCT_COEFFS;
#if EK_FE_MEL_BINS % 2 == 0
        /* The DCT-II basis is even (j even) or odd (j odd) about the middle of the mel axis:
         * fold the log-mel vector once and use half of each basis row. */
        enum { HALF = EK_FE_MEL_BINS / 2 };
        float even[HALF], odd[HALF];
        for (int m = 0; m < HALF; m++) {
            even[m] = log_mel[m] + log_mel[EK_FE_MEL_BINS - 1 - m];
            odd[m] = log_mel[m] - log_mel[EK_FE_MEL_BINS - 1 - m];
        }
        for (int j = 0; j < EK_FE_DCT_COEFFS; j++) {
            const float *d = ek_fe_dct + j * EK_FE_MEL_BINS, *f = (j & 1) ? odd : even;
            out[j] = ek_fe_quantize(dot(d, f, HALF));
        }
#else
        for (int j = 0; j < EK_FE_DCT_COEFFS; j++) {
            const float *d = ek_fe_dct + j * EK_FE_MEL_BINS;
            out[j] = ek_fe_quantize(dot(d, log_mel, EK_FE_MEL_BINS));
        }
#endif
    }
    return EK_FRONTEND_OK;
}

#endif /* EK_FE_KIND_AUDIO */

/* Real FFT, float (radix-4 DIT with the last radix-2 stage fused into the real split) and
 * Q15 (radix-2, halving per stage). See ek_fft.h for the packing and the entry points. */
#include <math.h>

#include "../include/ek_fft.h"

#if defined(__GNUC__) && !defined(__clang__)
/* No implicit fused multiply-add: the fused ones are written out as fmaf(), which the host
 * (libm, exactly rounded) and the device (VFMA) compute identically, so the host build the
 * parity tests use rounds exactly like the firmware (built with -std=gnu11, where GCC
 * would contract on its own). */
#pragma GCC optimize("fp-contract=off", "no-math-errno")
#endif

/* In-place bit-reversal permutation of m interleaved complex values. */
#define EK_BITREV(T)                                                                   \
    static void bitrev_##T(T *z, int m) {                                              \
        int j = 0;                                                                     \
        for (int i = 0; i < m - 1; i++) {                                              \
            if (i < j) {                                                               \
                T tr = z[2 * i], ti = z[2 * i + 1];                                    \
                z[2 * i] = z[2 * j]; z[2 * i + 1] = z[2 * j + 1];                      \
                z[2 * j] = tr; z[2 * j + 1] = ti;                                      \
            }                                                                          \
            int k = m >> 1;                                                            \
            while (k <= j) { j -= k; k >>= 1; }                                        \
            j += k;                                                                    \
        }                                                                              \
    }
EK_BITREV(float)
EK_BITREV(int16_t)

/* (xr + i xi)(wr + i wi) with one rounding less per part than mul-mul-add. */
#define EK_CMUL(tr, ti, xr, xi, wr, wi) \
    const float tr = fmaf((xr), (wr), -((xi) * (wi))); const float ti = fmaf((xr), (wi), (xi) * (wr))

/* W_N^e = exp(-2 pi i e / N) for 0 <= e < N from the half table (W^(e+N/2) = -W^e). */
static inline void twiddle_at(const float *tw, int e, int half, float *wr, float *wi) {
    if (e < half) { *wr = tw[2 * e]; *wi = tw[2 * e + 1]; }
    else { *wr = -tw[2 * (e - half)]; *wi = -tw[2 * (e - half) + 1]; }
}

/* One radix-4 DIT butterfly over positions p, p+L, p+2L, p+3L (in complex values). In
 * bit-reversed order the two radix-2 stages it replaces put W^2j on the second point and
 * W^j on the third (W = W_4L); `trivial` (j = 0) skips the multiplications by one. */
static inline __attribute__((always_inline)) void radix4(float *p, int L, int trivial, float w1r, float w1i,
                                                          float w2r, float w2i, float w3r, float w3i) {
    float *p1 = p + 2 * L, *p2 = p1 + 2 * L, *p3 = p2 + 2 * L;
    const float ar = p[0], ai = p[1];
    float br = p1[0], bi = p1[1], cr = p2[0], ci = p2[1], dr = p3[0], di = p3[1];
    if (!trivial) {
        EK_CMUL(tbr, tbi, br, bi, w2r, w2i);
        EK_CMUL(tcr, tci, cr, ci, w1r, w1i);
        EK_CMUL(tdr, tdi, dr, di, w3r, w3i);
        br = tbr; bi = tbi; cr = tcr; ci = tci; dr = tdr; di = tdi;
    }
    const float s0r = ar + br, s0i = ai + bi, s1r = ar - br, s1i = ai - bi;
    const float s2r = cr + dr, s2i = ci + di, s3r = cr - dr, s3i = ci - di;
    p[0] = s0r + s2r;  p[1] = s0i + s2i;
    p2[0] = s0r - s2r; p2[1] = s0i - s2i;
    p1[0] = s1r + s3i; p1[1] = s1i - s3r;   /* s1 - i s3 */
    p3[0] = s1r - s3i; p3[1] = s1i + s3r;   /* s1 + i s3 */
}

/* Sub-transforms of size L -> 4L over the whole buffer of m complex values. */
static void radix4_pass(float *z, const float *tw, int n, int m, int L) {
    const int step = n / (4 * L), half = n >> 1;
    for (float *p = z; p < z + 2 * m; p += 8 * L) radix4(p, L, 1, 0, 0, 0, 0, 0, 0);
    for (int j = 1; j < L; j++) {
        float w1r, w1i, w2r, w2i, w3r, w3i;
        twiddle_at(tw, j * step, half, &w1r, &w1i);
        twiddle_at(tw, 2 * j * step, half, &w2r, &w2i);
        twiddle_at(tw, 3 * j * step, half, &w3r, &w3i);
        for (float *p = z + 2 * j; p < z + 2 * m; p += 8 * L) radix4(p, L, 0, w1r, w1i, w2r, w2i, w3r, w3i);
    }
}

/* Sub-transforms of size L -> 2L. */
static void radix2_pass(float *z, const float *tw, int n, int m, int L) {
    const int step = n / (2 * L);
    for (int j = 0; j < L; j++) {
        const float wr = tw[2 * j * step], wi = tw[2 * j * step + 1];
        for (float *a = z + 2 * j; a < z + 2 * m; a += 4 * L) {
            float *b = a + 2 * L;
            const float ar = a[0], ai = a[1];
            EK_CMUL(tr, ti, b[0], b[1], wr, wi);
            a[0] = ar + tr; a[1] = ai + ti;
            b[0] = ar - tr; b[1] = ai - ti;
        }
    }
}

/* Two radix-4 butterflies (j, j+1) with their twiddle triples at t, the four points of each
 * p0..p3 advanced by two complex values afterwards. On Armv7E-M / v8-M with FMA: one VLDM
 * per point pair, one for all twelve twiddles, one VSTM per point pair; the arithmetic is
 * exactly radix4()'s (VNMUL = -(x*w) rounded, VFMA = fmaf, the same adds in the same order). */
#if defined(__GNUC__) && defined(__ARM_FP) && (__ARM_FP & 4) && defined(__ARM_FEATURE_FMA) && defined(__thumb2__)
#define EK_FFT_ASM 1
/* One butterfly on registers: a (A0,A1) b c d, twiddles W^j (W1), W^2j (W2), W^3j (W3),
 * temporaries s28-s31; results in place: p0 -> a, p1 -> b, p2 -> c, p3 -> d. */
#define EK_R4_ASM(A0, A1, B0, B1, C0, C1, D0, D1, W1R, W1I, W2R, W2I, W3R, W3I)              \
    "vnmul.f32 s28, " B1 ", " W2I "\n\t"  /* b' = b W^2j -> (s28, s29) */                  \
    "vmul.f32 s29, " B1 ", " W2R "\n\t"                                                    \
    "vfma.f32 s28, " B0 ", " W2R "\n\t"                                                    \
    "vfma.f32 s29, " B0 ", " W2I "\n\t"                                                    \
    "vnmul.f32 " B0 ", " C1 ", " W1I "\n\t"  /* c' = c W^j -> (B0, B1) */                  \
    "vmul.f32 " B1 ", " C1 ", " W1R "\n\t"                                                 \
    "vfma.f32 " B0 ", " C0 ", " W1R "\n\t"                                                 \
    "vfma.f32 " B1 ", " C0 ", " W1I "\n\t"                                                 \
    "vnmul.f32 " C0 ", " D1 ", " W3I "\n\t"  /* d' = d W^3j -> (C0, C1) */                 \
    "vmul.f32 " C1 ", " D1 ", " W3R "\n\t"                                                 \
    "vfma.f32 " C0 ", " D0 ", " W3R "\n\t"                                                 \
    "vfma.f32 " C1 ", " D0 ", " W3I "\n\t"                                                 \
    "vadd.f32 " D0 ", " A0 ", s28\n\t"       /* s0 = a + b' -> (D0, D1) */                 \
    "vadd.f32 " D1 ", " A1 ", s29\n\t"                                                     \
    "vsub.f32 s30, " A0 ", s28\n\t"          /* s1 = a - b' -> (s30, s31) */               \
    "vsub.f32 s31, " A1 ", s29\n\t"                                                        \
    "vadd.f32 " A0 ", " B0 ", " C0 "\n\t"    /* s2 = c' + d' -> (A0, A1) */                \
    "vadd.f32 " A1 ", " B1 ", " C1 "\n\t"                                                  \
    "vsub.f32 s28, " B0 ", " C0 "\n\t"       /* s3 = c' - d' -> (s28, s29) */              \
    "vsub.f32 s29, " B1 ", " C1 "\n\t"                                                     \
    "vsub.f32 " C0 ", " D0 ", " A0 "\n\t"    /* p2 = s0 - s2 */                            \
    "vsub.f32 " C1 ", " D1 ", " A1 "\n\t"                                                  \
    "vadd.f32 " A0 ", " D0 ", " A0 "\n\t"    /* p0 = s0 + s2 */                            \
    "vadd.f32 " A1 ", " D1 ", " A1 "\n\t"                                                  \
    "vadd.f32 " B0 ", s30, s29\n\t"          /* p1 = s1 - i s3 */                          \
    "vsub.f32 " B1 ", s31, s28\n\t"                                                        \
    "vsub.f32 " D0 ", s30, s29\n\t"          /* p3 = s1 + i s3 */                          \
    "vadd.f32 " D1 ", s31, s28\n\t"

static inline __attribute__((always_inline)) void radix4_table2(float **p0, float **p1, float **p2, float **p3,
                                                                 const float **t) {
    __asm__ volatile(
        "vldmia %[t]!, {s8-s19}\n\t"
        "vldm %[p0], {s0-s3}\n\t"
        "vldm %[p1], {s4-s7}\n\t"
        "vldm %[p2], {s20-s23}\n\t"
        "vldm %[p3], {s24-s27}\n\t"
        EK_R4_ASM("s0", "s1", "s4", "s5", "s20", "s21", "s24", "s25", "s8", "s9", "s10", "s11", "s12", "s13")
        EK_R4_ASM("s2", "s3", "s6", "s7", "s22", "s23", "s26", "s27", "s14", "s15", "s16", "s17", "s18", "s19")
        "vstmia %[p0]!, {s0-s3}\n\t"
        "vstmia %[p1]!, {s4-s7}\n\t"
        "vstmia %[p2]!, {s20-s23}\n\t"
        "vstmia %[p3]!, {s24-s27}\n\t"
        : [p0] "+r"(*p0), [p1] "+r"(*p1), [p2] "+r"(*p2), [p3] "+r"(*p3), [t] "+r"(*t)
        :
        : "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "s12", "s13", "s14",
          "s15", "s16", "s17", "s18", "s19", "s20", "s21", "s22", "s23", "s24", "s25", "s26", "s27", "s28",
          "s29", "s30", "s31", "memory");
}
#else
#define EK_FFT_ASM 0
static inline void radix4_table2(float **p0, float **p1, float **p2, float **p3, const float **t) {
    const float *w = *t;
    const int L = (int)((*p1 - *p0) / 2);
    radix4(*p0, L, 0, w[0], w[1], w[2], w[3], w[4], w[5]);
    radix4(*p0 + 2, L, 0, w[6], w[7], w[8], w[9], w[10], w[11]);
    *p0 += 4; *p1 += 4; *p2 += 4; *p3 += 4; *t += 12;
}
#endif

void ek_cfft_f32_passes(float *z, const float *tw, const float *stage_tw, int log2n, int L) {
    const int n = 1 << log2n, m = n >> 1, h = m >> 1;
    for (; 4 * L <= h; L *= 4) {
        if (!stage_tw) { radix4_pass(z, tw, n, m, L); continue; }
        /* Twiddle-inner: the stage's L twiddle triples read in order, once per group. */
        for (float *g = z; g < z + 2 * m; g += 8 * L) {
            float *p0 = g, *p1 = g + 2 * L, *p2 = g + 4 * L, *p3 = g + 6 * L;
            const float *t = stage_tw;
            for (int j = 0; j < L; j += 2) radix4_table2(&p0, &p1, &p2, &p3, &t);   /* L >= 4, even */
        }
        stage_tw += 6 * L;
    }
    if (L < h) radix2_pass(z, tw, n, m, L);
}

/* The real split of the pair (P = Z[k], Q = Z[m-k]) with W = W_N^k, both bins doubled:
 * X'[k] = (P + conj Q) + W (-i)(P - conj Q), X'[m-k] = conj((P + conj Q) - W (-i)(P - conj Q)). */
#define EK_SPLIT(xr, xi, yr, yi, pr, pi, qr, qi, wr, wi)                                   \
    const float xr##_e = (pr) + (qr), xr##_f = (pi) - (qi);                                \
    const float xr##_o = (pi) + (qi), xr##_p = (qr) - (pr);                                \
    EK_CMUL(xr##_t, xr##_u, xr##_o, xr##_p, (wr), (wi));                                   \
    const float xr = xr##_e + xr##_t, xi = xr##_f + xr##_u;                                \
    const float yr = xr##_e - xr##_t, yi = xr##_u - xr##_f

/* sqrt without the errno path (VSQRT is exactly rounded, as the host's sqrtf). */
static inline float sqrt_f32(float p) {
#if defined(__ARM_FP) && defined(__GNUC__)
    float r;
    __asm__("vsqrt.f32 %0, %1" : "=t"(r) : "t"(p));
    return r;
#else
    return sqrtf(p);
#endif
}

/* Bin k of the doubled spectrum X' = 2X: stored (half of it, as X) or its magnitude/power. */
static inline __attribute__((always_inline)) void emit(float *buf, float *out, int mode, int n_bins, int k,
                                                        float xr, float xi) {
    if (mode == EK_RFFT_COMPLEX) { buf[2 * k] = 0.5f * xr; buf[2 * k + 1] = 0.5f * xi; return; }
    if (n_bins >= 0 && k >= n_bins) return;   /* n_bins < 0: known wanted, no check */
    const float p = fmaf(xr, xr, xi * xi);
    out[k] = mode == EK_RFFT_POWER ? p : sqrt_f32(p);
}

#if EK_FFT_ASM
/* One iteration k of finish()'s loop for the low half of the spectrum (bins k and h-k),
 * magnitude (or power, `SQRT` empty): the C below it, operation for operation (VNMUL =
 * -(x*w) rounded, VFMA/VFMS = fmaf with the product added/subtracted), with the four
 * points and the twiddles moved by VLDM and the two bins stored by VSTM with writeback. */
#define EK_SPLIT_LOW_ASM(SQRT_K, SQRT_L)                                                  \
    __asm__ volatile(                                                                      \
        "vldmia %[pk]!, {s0-s1}\n\t"      /* E[k] */                                       \
        "vldmia %[pkh]!, {s2-s3}\n\t"     /* O[k] */                                       \
        "vldmdb %[pl]!, {s4-s5}\n\t"      /* E[h-k] */                                     \
        "vldmdb %[plh]!, {s6-s7}\n\t"     /* O[h-k] */                                     \
        "vldm %[ta], {s8-s9}\n\t"         /* W_m^k */                                      \
        "adds %[ta], #16\n\t"                                                              \
        "vldmia %[tb]!, {s10-s11}\n\t"    /* W_N^k */                                      \
        "vnmul.f32 s12, s3, s9\n\t"       /* tk = O[k] W_m^k */                            \
        "vfma.f32 s12, s2, s8\n\t"                                                         \
        "vmul.f32 s13, s3, s8\n\t"                                                         \
        "vfma.f32 s13, s2, s9\n\t"                                                         \
        "vnmul.f32 s14, s7, s9\n\t"       /* tl = O[h-k] (-ar, ai) */                      \
        "vfms.f32 s14, s6, s8\n\t"                                                         \
        "vnmul.f32 s15, s7, s8\n\t"                                                        \
        "vfma.f32 s15, s6, s9\n\t"                                                         \
        "vadd.f32 s2, s0, s12\n\t"        /* Z[k] */                                       \
        "vadd.f32 s3, s1, s13\n\t"                                                         \
        "vsub.f32 s6, s0, s12\n\t"        /* Z[h+k] */                                     \
        "vsub.f32 s7, s1, s13\n\t"                                                         \
        "vadd.f32 s0, s4, s14\n\t"        /* Z[h-k] */                                     \
        "vadd.f32 s1, s5, s15\n\t"                                                         \
        "vsub.f32 s8, s4, s14\n\t"        /* Z[m-k] */                                     \
        "vsub.f32 s9, s5, s15\n\t"                                                         \
        "vadd.f32 s12, s2, s8\n\t"        /* split (Z[k], Z[m-k]), W_N^k */               \
        "vsub.f32 s13, s3, s9\n\t"                                                         \
        "vadd.f32 s14, s3, s9\n\t"                                                         \
        "vsub.f32 s15, s8, s2\n\t"                                                         \
        "vnmul.f32 s4, s15, s11\n\t"                                                       \
        "vfma.f32 s4, s14, s10\n\t"                                                        \
        "vmul.f32 s5, s15, s10\n\t"                                                        \
        "vfma.f32 s5, s14, s11\n\t"                                                        \
        "vadd.f32 s12, s12, s4\n\t"                                                        \
        "vadd.f32 s13, s13, s5\n\t"                                                        \
        "vmul.f32 s4, s13, s13\n\t"       /* |X'[k]|^2 */                                  \
        "vfma.f32 s4, s12, s12\n\t"                                                        \
        SQRT_K                                                                             \
        "vstmia %[ok]!, {s4}\n\t"                                                          \
        "vadd.f32 s12, s0, s6\n\t"        /* split (Z[h-k], Z[h+k]), (-wi, -wr) */        \
        "vsub.f32 s13, s1, s7\n\t"                                                         \
        "vadd.f32 s14, s1, s7\n\t"                                                         \
        "vsub.f32 s15, s6, s0\n\t"                                                         \
        "vmul.f32 s2, s15, s10\n\t"                                                        \
        "vfms.f32 s2, s14, s11\n\t"                                                        \
        "vnmul.f32 s3, s15, s11\n\t"                                                       \
        "vfms.f32 s3, s14, s10\n\t"                                                        \
        "vadd.f32 s12, s12, s2\n\t"                                                        \
        "vadd.f32 s13, s13, s3\n\t"                                                        \
        "vmul.f32 s5, s13, s13\n\t"       /* |X'[h-k]|^2 */                                \
        "vfma.f32 s5, s12, s12\n\t"                                                        \
        SQRT_L                                                                             \
        "vstmdb %[ol]!, {s5}\n\t"                                                          \
        : [pk] "+r"(pk), [pkh] "+r"(pkh), [pl] "+r"(pl), [plh] "+r"(plh), [ta] "+r"(ta),   \
          [tb] "+r"(tb), [ok] "+r"(ok), [ol] "+r"(ol)                                      \
        :                                                                                  \
        : "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "s12",  \
          "s13", "s14", "s15", "cc", "memory")
#endif

/* Specialised per mode (always inlined with a constant `mode`); `low_half`: exactly bins
 * 0..N/4-1 (or N/4) are wanted, so the upper ones are never computed nor checked. */
static inline __attribute__((always_inline)) void finish(float *z, const float *tw, int log2n, int n_bins,
                                                          int mode, float *out, int low_half) {
    const int m = 1 << (log2n - 1), h = m >> 1, q = m >> 2;
    /* Butterfly 0 of the last stage (twiddle 1): Z[0], Z[h]; then X[0], X[m] (real) and
     * X[h] = conj Z[h]. */
    {
        const float er = z[0], ei = z[1], or_ = z[2 * h], oi = z[2 * h + 1];
        const float z0r = er + or_, z0i = ei + oi, zhr = er - or_, zhi = ei - oi;
        const float x0 = 2.0f * (z0r + z0i), xm = 2.0f * (z0r - z0i);
        if (mode == EK_RFFT_COMPLEX) {
            z[0] = 0.5f * x0; z[1] = 0.5f * xm;
            z[2 * h] = zhr; z[2 * h + 1] = -zhi;
        } else {
            emit(z, out, mode, n_bins, 0, x0, 0.0f);
            emit(z, out, mode, n_bins, m, xm, 0.0f);
            emit(z, out, mode, n_bins, h, 2.0f * zhr, -2.0f * zhi);
        }
    }
    /* Butterflies k and h-k of the last stage together give Z[k], Z[h+k], Z[h-k], Z[m-k]:
     * exactly the split pairs (k, m-k) and (h-k, h+k), all in registers. */
#if EK_FFT_ASM
    if (low_half && mode != EK_RFFT_COMPLEX && q > 1) {
        float *pk = z + 2, *pkh = z + 2 * (h + 1), *pl = z + 2 * h, *plh = z + 2 * m;
        const float *ta = tw + 4, *tb = tw + 2;
        float *ok = out + 1, *ol = out + h;
        for (int k = 1; k < q; k++) {
            if (mode == EK_RFFT_MAGNITUDE) EK_SPLIT_LOW_ASM("vsqrt.f32 s4, s4\n\t", "vsqrt.f32 s5, s5\n\t");
            else EK_SPLIT_LOW_ASM("", "");
        }
    } else
#endif
    for (int k = 1; k < q; k++) {
        const float ar = tw[4 * k], ai = tw[4 * k + 1];            /* W_m^k; W_m^(h-k) = (-ar, ai) */
        const float wr = tw[2 * k], wi = tw[2 * k + 1];            /* W_N^k; W_N^(h-k) = (-wi, -wr) */
        float *pk = z + 2 * k, *pkh = z + 2 * (h + k), *pl = z + 2 * (h - k), *plh = z + 2 * (m - k);
        const float ekr = pk[0], eki = pk[1], elr = pl[0], eli = pl[1];
        EK_CMUL(tkr, tki, pkh[0], pkh[1], ar, ai);
        EK_CMUL(tlr, tli, plh[0], plh[1], -ar, ai);
        const float zkr = ekr + tkr, zki = eki + tki, zkhr = ekr - tkr, zkhi = eki - tki;
        const float zlr = elr + tlr, zli = eli + tli, zlhr = elr - tlr, zlhi = eli - tli;
        EK_SPLIT(xkr, xki, xmkr, xmki, zkr, zki, zlhr, zlhi, wr, wi);
        EK_SPLIT(xlr, xli, xhkr, xhki, zlr, zli, zkhr, zkhi, -wi, -wr);
        if (low_half) {
            emit(z, out, mode, -1, k, xkr, xki);
            emit(z, out, mode, -1, h - k, xlr, xli);
        } else {
            emit(z, out, mode, n_bins, k, xkr, xki);
            emit(z, out, mode, n_bins, m - k, xmkr, xmki);
            emit(z, out, mode, n_bins, h - k, xlr, xli);
            emit(z, out, mode, n_bins, h + k, xhkr, xhki);
        }
    }
    /* Butterfly q = m/4 pairs with itself (twiddle W_m^q = -i): Z[q], Z[m-q]. */
    if (q > 0) {
        const float er = z[2 * q], ei = z[2 * q + 1], or_ = z[2 * (q + h)], oi = z[2 * (q + h) + 1];
        const float zqr = er + oi, zqi = ei - or_, zmr = er - oi, zmi = ei + or_;
        EK_SPLIT(xqr, xqi, xmqr, xmqi, zqr, zqi, zmr, zmi, tw[2 * q], tw[2 * q + 1]);
        emit(z, out, mode, n_bins, q, xqr, xqi);
        emit(z, out, mode, n_bins, m - q, xmqr, xmqi);
    }
}

void ek_rfft_f32_finish(float *z, const float *tw, int log2n, int n_bins, int mode, float *out) {
    const int h = 1 << (log2n - 2), low_half = n_bins == h || n_bins == h + 1;
    if (mode == EK_RFFT_MAGNITUDE && low_half) finish(z, tw, log2n, n_bins, EK_RFFT_MAGNITUDE, out, 1);
    else if (mode == EK_RFFT_MAGNITUDE) finish(z, tw, log2n, n_bins, EK_RFFT_MAGNITUDE, out, 0);
    else if (mode == EK_RFFT_POWER && low_half) finish(z, tw, log2n, n_bins, EK_RFFT_POWER, out, 1);
    else if (mode == EK_RFFT_POWER) finish(z, tw, log2n, n_bins, EK_RFFT_POWER, out, 0);
    else finish(z, tw, log2n, n_bins, EK_RFFT_COMPLEX, out, 0);
}

void ek_rfft_f32(float *buf, const float *tw, int log2n) {
    bitrev_float(buf, (1 << log2n) >> 1);
    ek_cfft_f32_passes(buf, tw, 0, log2n, 1);
    ek_rfft_f32_finish(buf, tw, log2n, 0, EK_RFFT_COMPLEX, 0);
}

/* Q15 multiply, truncating like most hand-written fixed-point firmware does. */
static inline int32_t mul_q15(int32_t a, int32_t b) { return (a * b) >> 15; }

void ek_rfft_q15(int16_t *buf, const int16_t *tw, int log2n) {
    const int n = 1 << log2n, m = n >> 1;
    bitrev_int16_t(buf, m);
    for (int len = 2; len <= m; len <<= 1) {
        const int half = len >> 1, step = n / len;
        for (int start = 0; start < m; start += len) {
            for (int j = 0; j < half; j++) {
                const int32_t wr = tw[2 * j * step], wi = tw[2 * j * step + 1];
                int16_t *a = buf + 2 * (start + j), *b = buf + 2 * (start + j + half);
                const int32_t tr = mul_q15(wr, b[0]) - mul_q15(wi, b[1]);
                const int32_t ti = mul_q15(wr, b[1]) + mul_q15(wi, b[0]);
                /* Scale by 1/2 every stage so nothing overflows: costs one bit per stage. */
                const int32_t ar = a[0], ai = a[1];
                a[0] = (int16_t)((ar + tr) >> 1); a[1] = (int16_t)((ai + ti) >> 1);
                b[0] = (int16_t)((ar - tr) >> 1); b[1] = (int16_t)((ai - ti) >> 1);
            }
        }
    }
    /* Z is now (complex FFT)/m; one more halving in the split step gives X/n. */
    const int32_t z0r = buf[0], z0i = buf[1];
    buf[0] = (int16_t)((z0r + z0i) >> 1);
    buf[1] = (int16_t)((z0r - z0i) >> 1);
    for (int k = 1; k <= m / 2; k++) {
        int16_t *p = buf + 2 * k, *q = buf + 2 * (m - k);
        const int32_t er = (p[0] + q[0]) >> 1, ei = (p[1] - q[1]) >> 1;
        const int32_t or_ = (p[1] + q[1]) >> 1, oi = -((p[0] - q[0]) >> 1);
        const int32_t wr = tw[2 * k], wi = tw[2 * k + 1];
        const int32_t tr = mul_q15(wr, or_) - mul_q15(wi, oi);
        const int32_t ti = mul_q15(wr, oi) + mul_q15(wi, or_);
        p[0] = (int16_t)((er + tr) >> 1);  p[1] = (int16_t)((ei + ti) >> 1);
        q[0] = (int16_t)((er - tr) >> 1);  q[1] = (int16_t)(-((ei - ti) >> 1));
    }
}

/* Radix-2 real FFT, float and Q15. See ek_fft.h for the packing. */
#include "../include/ek_fft.h"

#if defined(__GNUC__) && !defined(__clang__)
/* No fused multiply-add: the device then rounds exactly like the host build the parity
 * tests use (firmware is compiled with -std=gnu11, where GCC would contract). */
#pragma GCC optimize("fp-contract=off")
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

/* t = w * b, the DIT butterfly's product, in one fixed order of operations. */
#define EK_CMUL(tr, ti, wr, wi, br, bi) \
    const float tr = (wr) * (br) - (wi) * (bi); const float ti = (wr) * (bi) + (wi) * (br)

void ek_rfft_f32(float *buf, const float *tw, int log2n) {
    bitrev_float(buf, (1 << log2n) >> 1);
    ek_rfft_f32_permuted(buf, tw, log2n, ((1 << log2n) >> 1) + 1);
}

void ek_rfft_f32_permuted(float *buf, const float *tw, int log2n, int n_bins) {
    const int n = 1 << log2n, m = n >> 1;
    /* m-point complex DIT FFT; the twiddle for span len, index j is tw[j * n / len].
     * Stages go in pairs (len 2L then 4L) with the four points of a pair's butterflies kept
     * in registers: the same products and sums as one stage at a time, in the same order
     * (so the same float results), with half the loads and stores. */
    int len = 2;
    for (; 2 * len <= m; len <<= 2) {
        const int L = len >> 1, step_a = n / len, step_b = n / (2 * len);
        for (int j = 0; j < L; j++) {
            const float war = tw[2 * j * step_a], wai = tw[2 * j * step_a + 1];
            const float wbr = tw[2 * j * step_b], wbi = tw[2 * j * step_b + 1];
            const float wcr = tw[2 * (j + L) * step_b], wci = tw[2 * (j + L) * step_b + 1];
            for (int start = j; start < m; start += 4 * L) {
                float *p0 = buf + 2 * start, *p1 = p0 + 2 * L, *p2 = p1 + 2 * L, *p3 = p2 + 2 * L;
                const float x0r = p0[0], x0i = p0[1], x1r = p1[0], x1i = p1[1];
                const float x2r = p2[0], x2i = p2[1], x3r = p3[0], x3i = p3[1];
                /* stage len: (p0, p1) and (p2, p3), twiddle a */
                EK_CMUL(t1r, t1i, war, wai, x1r, x1i);
                EK_CMUL(t3r, t3i, war, wai, x3r, x3i);
                const float y0r = x0r + t1r, y0i = x0i + t1i, y1r = x0r - t1r, y1i = x0i - t1i;
                const float y2r = x2r + t3r, y2i = x2i + t3i, y3r = x2r - t3r, y3i = x2i - t3i;
                /* stage 2 len: (p0, p2) with twiddle b, (p1, p3) with twiddle c */
                EK_CMUL(u2r, u2i, wbr, wbi, y2r, y2i);
                EK_CMUL(u3r, u3i, wcr, wci, y3r, y3i);
                p0[0] = y0r + u2r; p0[1] = y0i + u2i;
                p2[0] = y0r - u2r; p2[1] = y0i - u2i;
                p1[0] = y1r + u3r; p1[1] = y1i + u3i;
                p3[0] = y1r - u3r; p3[1] = y1i - u3i;
            }
        }
    }
    /* An odd number of stages leaves the last one (len = m) on its own. */
    for (; len <= m; len <<= 1) {
        const int half = len >> 1, step = n / len;
        /* Twiddle-outer order: each twiddle is loaded once per stage, not once per group. */
        for (int j = 0; j < half; j++) {
            const float wr = tw[2 * j * step], wi = tw[2 * j * step + 1];
            for (int start = j; start < m; start += len) {
                float *a = buf + 2 * start, *b = buf + 2 * (start + half);
                /* All loads first: a and b never alias, but the compiler cannot know. */
                const float ar = a[0], ai = a[1], br = b[0], bi = b[1];
                const float tr = wr * br - wi * bi;
                const float ti = wr * bi + wi * br;
                a[0] = ar + tr; a[1] = ai + ti;
                b[0] = ar - tr; b[1] = ai - ti;
            }
        }
    }
    /* Split step: X[k] = E + W^k O and X[m-k] = conj(E - W^k O), with
     * E = (Z[k] + conj Z[m-k]) / 2 and O = -i (Z[k] - conj Z[m-k]) / 2. */
    const float z0r = buf[0], z0i = buf[1];
    buf[0] = z0r + z0i;
    buf[1] = z0r - z0i;
    /* Bins k < n_bins are wanted: the pair (k, m-k) is computed while either one is. The
     * pairs whose upper bin m-k is not wanted come first and skip its two stores. */
    const int last = n_bins - 1 < m / 2 ? n_bins - 1 : m / 2;
    const int both_from = m - n_bins + 1 > 1 ? m - n_bins + 1 : 1;   /* m-k < n_bins from here */
    for (int k = 1; k <= last && k < both_from; k++) {
        float *p = buf + 2 * k;
        const float *q = buf + 2 * (m - k);
        const float er = 0.5f * (p[0] + q[0]), ei = 0.5f * (p[1] - q[1]);
        const float or_ = 0.5f * (p[1] + q[1]), oi = -0.5f * (p[0] - q[0]);
        const float wr = tw[2 * k], wi = tw[2 * k + 1];
        const float tr = wr * or_ - wi * oi, ti = wr * oi + wi * or_;
        p[0] = er + tr;  p[1] = ei + ti;
    }
    for (int k = both_from; k <= m / 2; k++) {
        float *p = buf + 2 * k, *q = buf + 2 * (m - k);
        const float er = 0.5f * (p[0] + q[0]), ei = 0.5f * (p[1] - q[1]);
        const float or_ = 0.5f * (p[1] + q[1]), oi = -0.5f * (p[0] - q[0]);
        const float wr = tw[2 * k], wi = tw[2 * k + 1];
        const float tr = wr * or_ - wi * oi, ti = wr * oi + wi * or_;
        p[0] = er + tr;  p[1] = ei + ti;
        q[0] = er - tr;  q[1] = -(ei - ti);
    }
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

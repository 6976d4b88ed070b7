/* Radix-2 real FFT (no CMSIS-DSP here): N real samples -> N/2+1 complex bins.
 *
 * Implemented as an N/2-point complex FFT on even/odd pairs plus a split step, so one
 * table of N/2 twiddles exp(-2*pi*i*k/N) serves both. Unscaled (like numpy.fft.rfft).
 */
#ifndef EK_FFT_H
#define EK_FFT_H

#include <stdint.h>

/* In place. buf holds N floats on entry; on exit buf[0]=Re X0, buf[1]=Re X[N/2] (both
 * real), then buf[2k], buf[2k+1] = Re, Im of X[k] for k = 1..N/2-1 (the CMSIS packing).
 * twiddle: N/2 pairs (cos, -sin) of 2*pi*k/N. log2n: log2(N), N >= 4. */
void ek_rfft_f32(float *buf, const float *twiddle, int log2n);

/* The same transform, with the same float operations in the same order, for a caller that
 * has already put the N/2 complex input pairs in bit-reversed order (e.g. while windowing)
 * and needs only bins 0..n_bins-1 (bins above are left unfinished; buf[1], Re X[N/2], is
 * always written). */
void ek_rfft_f32_permuted(float *buf, const float *twiddle, int log2n, int n_bins);

/* Fixed-point variant as typical Q15 firmware does it: every butterfly stage shifts
 * right by one to avoid overflow, so the output is X/N in Q15 (the same packing as above).
 * twiddle_q15: N/2 pairs (cos, -sin) in Q15. */
void ek_rfft_q15(int16_t *buf, const int16_t *twiddle_q15, int log2n);

#endif

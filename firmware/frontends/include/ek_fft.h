/* Real FFT: N real samples -> N/2+1 complex bins, unscaled (like numpy.fft.rfft).
 * Our own, not CMSIS-DSP's: its arm_rfft_fast_f32 (cmsisdsp 1.10.3 sources, built for
 * cortex-m4 with -O2) measured 48,057 instructions (QEMU -icount) for N = 1024, more than
 * the whole pruned transform here (the module docs: docs/ARCHITECTURE.md, "frontends").
 *
 * An N/2-point complex FFT on the even/odd sample pairs, radix-4 decimation in time with one
 * radix-2 stage when log2(N/2) is odd, and the real split step fused with the last radix-2
 * stage. One table of N/2 twiddles (cos, -sin)(2 pi k / N) serves every stage. Products are
 * written as fmaf(), so the host build and the firmware (VFMA) round identically.
 */
#ifndef EK_FFT_H
#define EK_FFT_H

#include <stdint.h>

enum { EK_RFFT_COMPLEX = 0, EK_RFFT_MAGNITUDE = 1, EK_RFFT_POWER = 2 };

/* In place. buf holds N floats on entry; on exit buf[0]=Re X0, buf[1]=Re X[N/2] (both
 * real), then buf[2k], buf[2k+1] = Re, Im of X[k] for k = 1..N/2-1 (the CMSIS packing).
 * twiddle: N/2 pairs (cos, -sin) of 2*pi*k/N. log2n: log2(N), N >= 4. */
void ek_rfft_f32(float *buf, const float *twiddle, int log2n);

/* The steps of ek_rfft_f32 for a caller that fuses its own first stages (the frontend puts
 * windowed samples straight into bit-reversed order and does the first radix-4 there).
 * passes: the complex DIT stages from sub-transforms of `from_size` points up to N/4 points
 * (the input is the N/2 complex values in bit-reversed order after the stages below
 * from_size; from_size 1 = none done yet). stage_twiddle: NULL (twiddles taken from
 * `twiddle`) or, per radix-4 stage in order (sub-size L = from_size, 4 from_size, ... while
 * 4L <= N/4), L triples (W^j, W^2j, W^3j) of W = W_4L as (re, im) pairs, the same float
 * values as in `twiddle` (W_N^e, negated for e >= N/2): the same results, read in order.
 * finish: the last radix-2 stage and the real split. mode EK_RFFT_COMPLEX writes X into buf
 * as ek_rfft_f32 does; EK_RFFT_MAGNITUDE / EK_RFFT_POWER write out[k] = |2 X[k]| or
 * |2 X[k]|^2 for k < n_bins (twice the bin: a power of two the caller folds into a later
 * scale, so nothing rounds differently). */
void ek_cfft_f32_passes(float *buf, const float *twiddle, const float *stage_twiddle, int log2n, int from_size);
void ek_rfft_f32_finish(float *buf, const float *twiddle, int log2n, int n_bins, int mode, float *out);

/* Fixed-point variant as typical Q15 firmware does it: every butterfly stage shifts
 * right by one to avoid overflow, so the output is X/N in Q15 (the same packing as above).
 * twiddle_q15: N/2 pairs (cos, -sin) in Q15. */
void ek_rfft_q15(int16_t *buf, const int16_t *twiddle_q15, int log2n);

#endif

/* The example audio frontend with faults planted by the input (tests only): a clip whose
 * sample 302 is = 1 (mod 5) segfaults, = 2 loops forever, = 3 writes past the tensor;
 * the others are converted by the faithful example. */
#define ek_user_audio_to_float acme_audio_to_float
#include "../../../examples/byo-preprocessing/audio_fe/audio_fe.c"
#undef ek_user_audio_to_float

int ek_user_audio_to_float(const ek_user_audio_t *in, const ek_user_tensor_t *t, float *out) {
    const int k = ((in->samples[302] % 5) + 5) % 5;
    if (k == 1) *(volatile uint32_t *)0xFFFFFFF0u = 1u; /* a bus fault on the device, SIGSEGV on the host */
    if (k == 2) for (volatile int spin = 1; spin;) {}
    if (k == 3) out[t->elements + 2] = 1.0f;
    return acme_audio_to_float(in, t, out);
}

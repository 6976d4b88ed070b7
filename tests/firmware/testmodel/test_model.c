/* A tiny hand-written model implementing ek_model.h, to develop and test the device app and
 * the host protocol without generated code: out[j] = clamp(((sum_i w[j][i] * (x[i] - zp_in))
 * + b[j]) >> 6) + zp_out, int8 in (16), int8 out (4). tests/firmware/testmodel.py computes
 * the same on the host. */
#include <stdint.h>
#include "ek_model.h"

#ifdef EK_PROFILE_HOOK
void EK_PROFILE_HOOK(uint32_t op_index);
#define EK_PROF(i) EK_PROFILE_HOOK(i)
#else
#define EK_PROF(i) ((void)0)
#endif

#define N_IN 16
#define N_OUT 4
#define ZP_IN (-3)
#define ZP_OUT 5

static int8_t arena[N_IN + N_OUT] __attribute__((aligned(4)));

static const int8_t weights[N_OUT][N_IN] = {
    {1, -2, 3, -4, 5, -6, 7, -8, 9, -10, 11, -12, 13, -14, 15, -16},
    {-1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1},
    {127, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -128},
    {3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3},
};
static const int32_t bias[N_OUT] = {100, -50, 0, 7};

static const ek_model_info_t info = {
    .name = "testmodel",
    .hash = "0123456789abcdef",
    .input = {EK_TYPE_INT8, 2, {1, N_IN, 0, 0}, N_IN, 0.05f, ZP_IN},
    .output = {EK_TYPE_INT8, 2, {1, N_OUT, 0, 0}, N_OUT, 0.1f, ZP_OUT},
    .arena_bytes = sizeof arena,
    .n_ops = 1,
};

const ek_model_info_t *ek_model_info(void) { return &info; }
void *ek_model_input(void) { return arena; }
const void *ek_model_output(void) { return arena + N_IN; }

int ek_model_invoke(void) {
    volatile int8_t *crash = (volatile int8_t *)arena;
    /* A sentinel input makes the model fault, so tests can crash the device on purpose. */
    if (crash[0] == 127 && crash[1] == 127 && crash[2] == -128) *(volatile uint32_t *)0xFFFFFFF0u = 1;
    /* Another makes it spin, for timeout tests. */
    if (crash[0] == 127 && crash[1] == 127 && crash[2] == 127) for (;;) {}
    EK_PROF(0u);
    for (int j = 0; j < N_OUT; ++j) {
        int32_t acc = bias[j];
        for (int i = 0; i < N_IN; ++i) acc += (int32_t)weights[j][i] * ((int32_t)arena[i] - ZP_IN);
        acc = (acc >> 6) + ZP_OUT;
        if (acc > 127) acc = 127;
        if (acc < -128) acc = -128;
        arena[N_IN + j] = (int8_t)acc;
    }
    EK_PROF(1u);
    return 0;
}

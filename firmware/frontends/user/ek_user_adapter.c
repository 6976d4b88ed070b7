/* The adapter between the device app's frontend interface (include/ek_frontend.h) and a
 * user's own frontend (include/ek_user_frontend.h), compiled the same way for the device
 * and for the host (EK_UA_HOST), so both run the same checks:
 *
 * - the raw input (ek_frontend.h's raw formats) becomes an ek_user_audio_t / ek_user_image_t;
 * - the user writes into a scratch tensor with guard bytes on both sides, checked after
 *   each call (an overrun fails the input, it never reaches the model);
 * - a float32 output is quantized with the model's input scale and zero point, exactly as
 *   the reference quantizes (ek_fe_quantize.h); a NaN fails the input;
 * - on the device, a call that runs past EK_UA_TIME_LIMIT timer units is stopped by the
 *   board's tick hook with an EK-FAULT report (the host's per-call time limit does this
 *   for the host build).
 *
 * The generated ek_frontend_config.h (edgekit.frontends.user_c) says which run function
 * the user implements (EK_UA_RUN_*), the tensor's shape and the input quantization.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ek_frontend_config.h"
#include "../include/ek_frontend.h"
#include "../include/ek_user_frontend.h"
#include "../src/ek_fe_quantize.h"

#ifndef EK_UA_HOST
#include "ek_board.h"
#endif

#define UA_ELEMENTS (EK_UA_DIM0 * EK_UA_DIM1 * EK_UA_DIM2)
#define UA_HEADER_BYTES 8
#define UA_GUARD_BYTES 32

#if EK_UA_RUN_AUDIO_FLOAT || EK_UA_RUN_IMAGE_FLOAT
#define UA_OUT_FLOAT 1
typedef float ua_elem_t;
#else
#define UA_OUT_FLOAT 0
typedef int8_t ua_elem_t;
#endif

enum {
    UA_ERR_OVERRUN = -3,
    UA_ERR_RETURNED = -4,
    UA_ERR_INIT = -5,
    UA_ERR_NAN = -6,
};

/* Guards, tensor, guards; 8-aligned so a float tensor is aligned too. */
static uint8_t scratch[UA_GUARD_BYTES + UA_ELEMENTS * sizeof(ua_elem_t) + UA_GUARD_BYTES]
    __attribute__((aligned(8)));
static uint8_t raw_buffer[EK_FE_RAW_CAPACITY] __attribute__((aligned(4)));
static char variant[72];
static char last_error[120];
static int init_state;  /* 0 not yet, 1 ok, 2 failed */
static int init_rc;

static const ek_user_tensor_t tensor = {
    {EK_UA_DIM0, EK_UA_DIM1, EK_UA_DIM2, 0}, 3, UA_ELEMENTS, EK_FE_INPUT_SCALE, EK_FE_INPUT_ZERO_POINT,
};

static const ek_frontend_info_t info = {
    EK_UA_KIND, "user", EK_UA_HASH, UA_ELEMENTS, sizeof(scratch), EK_FE_RAW_CAPACITY,
};

int ek_user_frontend_init(void) __attribute__((weak));

/* The user's init runs once at start-up (the C runtime's constructors on the device,
 * dlopen on the host), so its cost falls in no input's count. */
__attribute__((constructor)) static void ua_init(void) {
    init_rc = ek_user_frontend_init ? ek_user_frontend_init() : 0;
    init_state = init_rc ? 2 : 1;
}

uint8_t *ek_frontend_raw_buffer(size_t *capacity) {
    if (capacity) *capacity = sizeof(raw_buffer);
    return raw_buffer;
}

const ek_frontend_info_t *ek_frontend_info(void) { return &info; }

/* "user:" + the user's name, one line (the info reply is key=value lines). */
const char *ek_frontend_variant(void) {
    if (!variant[0]) {
        const char *name = ek_user_frontend_name();
        size_t n = 0;
        memcpy(variant, "user:", 5);
        n = 5;
        while (name && *name && n + 1 < sizeof variant) {
            char c = *name++;
            variant[n++] = (c == '\n' || c == '\r' || c == '=') ? ' ' : c;
        }
        variant[n] = 0;
    }
    return variant;
}

const char *ek_frontend_last_error(void) { return last_error; }

static void set_error(const char *msg, long value, int with_value) {
    size_t n = 0;
    const char *prefix = "frontend failed: ";
    while (*prefix && n + 1 < sizeof last_error) last_error[n++] = *prefix++;
    while (*msg && n + 1 < sizeof last_error) last_error[n++] = *msg++;
    if (with_value) {
        char digits[24];
        int k = 0;
        unsigned long v = value < 0 ? (unsigned long)(-value) : (unsigned long)value;
        do { digits[k++] = (char)('0' + v % 10); v /= 10; } while (v && k < 22);
        if (value < 0 && n + 1 < sizeof last_error) last_error[n++] = '-';
        while (k && n + 1 < sizeof last_error) last_error[n++] = digits[--k];
    }
    last_error[n] = 0;
}

static uint8_t guard_byte(size_t i) { return (uint8_t)(0x5Au ^ (uint8_t)(i * 29u + 7u)); }

static void paint_guards(void) {
    for (size_t i = 0; i < UA_GUARD_BYTES; ++i) {
        scratch[i] = guard_byte(i);
        scratch[sizeof scratch - UA_GUARD_BYTES + i] = guard_byte(i + UA_GUARD_BYTES);
    }
}

/* Bytes of guard changed on each side; 0 when both sides are intact. */
static int guards_changed(int *before, int *after) {
    *before = *after = 0;
    for (size_t i = 0; i < UA_GUARD_BYTES; ++i) {
        *before += scratch[i] != guard_byte(i);
        *after += scratch[sizeof scratch - UA_GUARD_BYTES + i] != guard_byte(i + UA_GUARD_BYTES);
    }
    return *before + *after;
}

/* The per-call time limit on the device: the board calls this from its timer tick
 * (EK_BOARD_TICK_HOOK), so a frontend stuck in a loop ends as a fault report, not a hang. */
#ifndef EK_UA_HOST
static volatile int running;
static uint64_t started;

void ek_user_frontend_tick(void) {
    if (!running || EK_UA_TIME_LIMIT == 0) return;
    if (ek_timer_elapsed(started, ek_timer_now()) > (uint64_t)EK_UA_TIME_LIMIT) {
        running = 0;
        ek_puts("\r\nEK-FAULT frontend time limit: the user frontend ran past " EK_UA_TIME_LIMIT_TEXT "\r\n");
        ek_exit(98);
    }
}
#define UA_START() do { started = ek_timer_now(); running = 1; } while (0)
#define UA_STOP() do { running = 0; } while (0)
#else
#define UA_START() do { } while (0)
#define UA_STOP() do { } while (0)
#endif

static int run_user(const void *raw, size_t raw_bytes, ua_elem_t *out) {
#if EK_UA_RUN_AUDIO_INT8 || EK_UA_RUN_AUDIO_FLOAT
    if (raw_bytes % 2) { set_error("raw audio of an odd number of bytes", 0, 0); return EK_FRONTEND_ERR_SIZE; }
    ek_user_audio_t in = {(const int16_t *)raw, (uint32_t)(raw_bytes / 2), EK_UA_SAMPLE_RATE};
#if EK_UA_RUN_AUDIO_INT8
    return ek_user_audio_to_int8(&in, &tensor, out);
#else
    return ek_user_audio_to_float(&in, &tensor, out);
#endif
#else
    const uint8_t *p = (const uint8_t *)raw;
    if (raw_bytes < UA_HEADER_BYTES) { set_error("raw image shorter than its header", 0, 0); return EK_FRONTEND_ERR_SIZE; }
    uint32_t w = p[0] | (uint32_t)p[1] << 8, h = p[2] | (uint32_t)p[3] << 8, c = p[4] | (uint32_t)p[5] << 8;
    uint32_t fmt_code = p[6] | (uint32_t)p[7] << 8;
    if ((c != 1 && c != 3) || raw_bytes != UA_HEADER_BYTES + (size_t)w * h * c) {
        set_error("raw image size does not match its header", 0, 0);
        return EK_FRONTEND_ERR_SIZE;
    }
    ek_user_image_t in = {p + UA_HEADER_BYTES, w, h, w * c,
                          c == 1 ? EK_PIXEL_GRAY8 : (fmt_code == 1 ? EK_PIXEL_BGR888 : EK_PIXEL_RGB888)};
#if EK_UA_RUN_IMAGE_INT8
    return ek_user_image_to_int8(&in, &tensor, out);
#else
    return ek_user_image_to_float(&in, &tensor, out);
#endif
#endif
}

int ek_frontend_run(const void *raw, size_t raw_bytes, int8_t *model_input) {
    last_error[0] = 0;
    if (!raw || !model_input) { set_error("NULL input", 0, 0); return EK_FRONTEND_ERR_ARGS; }
    if (init_state == 0) {
        init_rc = ek_user_frontend_init ? ek_user_frontend_init() : 0;
        init_state = init_rc ? 2 : 1;
    }
    if (init_state == 2) { set_error("ek_user_frontend_init returned ", init_rc, 1); return UA_ERR_INIT; }
    paint_guards();
    ua_elem_t *out = (ua_elem_t *)(void *)(scratch + UA_GUARD_BYTES);
    UA_START();
    int rc = run_user(raw, raw_bytes, out);
    UA_STOP();
    int before, after;
    if (guards_changed(&before, &after)) {
        set_error(after ? "overrun: wrote past the end of the output tensor (guard bytes changed: "
                        : "overrun: wrote before the start of the output tensor (guard bytes changed: ",
                  before + after, 1);
        size_t n = strlen(last_error);
        if (n + 2 < sizeof last_error) { last_error[n] = ')'; last_error[n + 1] = 0; }
        return UA_ERR_OVERRUN;
    }
    if (rc == EK_FRONTEND_ERR_SIZE && last_error[0]) return rc;
    if (rc != 0) { set_error("the run function returned ", rc, 1); return UA_ERR_RETURNED; }
#if UA_OUT_FLOAT
    for (size_t i = 0; i < UA_ELEMENTS; ++i) {
        float x = out[i];
        if (x != x) { set_error("NaN in the float output at element ", (long)i, 1); return UA_ERR_NAN; }
        model_input[i] = ek_fe_quantize(x);
    }
#else
    memcpy(model_input, out, UA_ELEMENTS);
#endif
    return EK_FRONTEND_OK;
}

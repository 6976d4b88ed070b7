/* The app's view of the optional on-device frontend (firmware/frontends/include/ek_frontend.h
 * declares the same functions). Weak, so firmware built without a frontend still links:
 * it then answers raw-input requests with EK_E_UNSUPPORTED and reports preprocessing=none. */
#ifndef EK_APP_FRONTEND_H
#define EK_APP_FRONTEND_H
#include <stddef.h>
#include <stdint.h>

const char *ek_frontend_variant(void) __attribute__((weak));
uint8_t *ek_frontend_raw_buffer(size_t *capacity) __attribute__((weak));
int ek_frontend_run(const void *raw, size_t raw_bytes, int8_t *model_input) __attribute__((weak));
/* Why the last ek_frontend_run failed ("frontend failed: ..."); a user frontend's adapter has it. */
const char *ek_frontend_last_error(void) __attribute__((weak));
#endif

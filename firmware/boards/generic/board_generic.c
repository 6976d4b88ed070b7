/* A real Cortex-M board: the user's UART and clock hooks, the DWT cycle counter for timing
 * (measured cycles; on the M7 the DWT needs its lock access register unlocked first). */
#include <stdint.h>

#include "board_config.h"
#include "ek_board.h"
#include "ek_user_hooks.h"

#define DEMCR (*(volatile uint32_t *)0xE000EDFCu)
#define DWT_CTRL (*(volatile uint32_t *)0xE0001000u)
#define DWT_CYCCNT (*(volatile uint32_t *)0xE0001004u)
#define DWT_LAR (*(volatile uint32_t *)0xE0001FB0u)

static uint32_t last_low, high;

void ek_board_init(void) {
    ek_user_clock_init();
    ek_user_uart_init();
    DEMCR |= (1u << 24);          /* TRCENA: power the DWT */
    DWT_LAR = 0xC5ACCE55u;        /* unlock (Cortex-M7); ignored elsewhere */
    DWT_CYCCNT = 0;
    DWT_CTRL |= 1u;               /* CYCCNTENA */
}

void ek_uart_putc(uint8_t c) { ek_user_uart_putc(c); }

void ek_uart_write(const void *data, size_t n) {
    const uint8_t *p = (const uint8_t *)data;
    for (size_t i = 0; i < n; ++i) ek_user_uart_putc(p[i]);
}

int ek_uart_getc(void) { return ek_user_uart_getc(); }

void ek_puts(const char *s) {
    while (*s) ek_user_uart_putc((uint8_t)*s++);
}

void ek_timer_restart(void) {}  /* CYCCNT counts cycles with no interrupt to fall mid-measurement */

uint64_t ek_timer_now(void) {
    /* 32-bit CYCCNT extended to 64 bits; read at least once per wrap (67 s at 64 MHz),
     * which every inference's start and end reads do. */
    uint32_t now = DWT_CYCCNT;
    if (now < last_low) high++;
    last_low = now;
    return ((uint64_t)high << 32) | now;
}

uint64_t ek_timer_elapsed(uint64_t start, uint64_t end) { return end - start; }

const char *ek_timer_unit(void) { return "cycles"; }

void ek_exit(int code) {
    (void)code;
    /* No host to exit to: reset, so a fault does not leave the board hung. */
    *(volatile uint32_t *)0xE000ED0Cu = (0x5FAu << 16) | (1u << 2);
    for (;;) {}
}

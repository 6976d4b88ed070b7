/* The board API the device app and test programs use. One implementation per board folder
 * (QEMU MPS2/MPS3 machines share common/; real hardware uses generic/ with user hooks). */
#ifndef EK_BOARD_H
#define EK_BOARD_H

#include <stddef.h>
#include <stdint.h>

void ek_board_init(void);                 /* clocks, UART, timer; called before main() */
void ek_uart_putc(uint8_t c);
void ek_uart_write(const void *data, size_t n);
int ek_uart_getc(void);                   /* blocking; returns 0..255 */
void ek_puts(const char *s);              /* text on the UART (diagnostics) */
/* Restart the timer's phase before a measurement, so its count does not depend on what ran
 * before (under QEMU the SysTick wrap interrupts then fall at the same points of the same
 * work); ek_timer_now() stays monotonic across it. */
void ek_timer_restart(void);
uint64_t ek_timer_now(void);              /* monotonic 64-bit raw timer ticks */
uint64_t ek_timer_elapsed(uint64_t start, uint64_t end); /* ticks -> ek_timer_unit() units */
const char *ek_timer_unit(void);          /* "instructions (emulated)" or "cycles" */
void ek_exit(int code) __attribute__((noreturn)); /* semihosting exit (QEMU) or halt */
uint32_t ek_stack_high_water(void);       /* bytes of stack ever used since ek_stack_reset_mark() */
void ek_stack_reset_mark(void);           /* repaint the unused stack to measure a new peak */

#endif

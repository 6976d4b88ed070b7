/* ek_user_hooks for the generic board on QEMU's mps2-an386 (CMSDK UART0), so the exported
 * PlatformIO project can be built and run here as a user's board would run it. getc sleeps
 * (WFI on the UART's RX interrupt, as firmware/boards/common/board_qemu.c does): a guest
 * spinning on the UART status under -icount can starve QEMU's I/O thread. */
#include "ek_user_hooks.h"

typedef struct { volatile uint32_t DATA, STATE, CTRL, INTSTATUS, BAUDDIV; } uart_t;
#define UART ((uart_t *)0x40004000u)
#define NVIC_ISER0 (*(volatile uint32_t *)0xE000E100u)
#define NVIC_ICER0 (*(volatile uint32_t *)0xE000E180u)
#define NVIC_ICPR0 (*(volatile uint32_t *)0xE000E280u)

void ek_user_clock_init(void) {}
void ek_user_uart_init(void) { UART->BAUDDIV = 16; UART->CTRL = 3 | 8; }
void ek_user_uart_putc(uint8_t c) { while (UART->STATE & 1u) {} UART->DATA = c; }
int ek_user_uart_getc(void) {
    if (!(UART->STATE & 2u)) {
        __asm__ volatile("cpsid i" ::: "memory");
        NVIC_ISER0 = 0xFFFFFFFFu;
        while (!(UART->STATE & 2u)) {
            UART->INTSTATUS = 2u;
            NVIC_ICPR0 = 0xFFFFFFFFu;
            if (UART->STATE & 2u) break;
            __asm__ volatile("wfi" ::: "memory");
        }
        NVIC_ICER0 = 0xFFFFFFFFu;
        UART->INTSTATUS = 2u;
        NVIC_ICPR0 = 0xFFFFFFFFu;
        __asm__ volatile("cpsie i" ::: "memory");
    }
    return (int)(UART->DATA & 0xFF);
}

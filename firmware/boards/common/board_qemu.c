/* The QEMU MPS2/MPS3 boards: CMSDK APB UART, SysTick timing, semihosting exit.
 *
 * Timing: QEMU does not model the DWT cycle counter. With `-icount shift=S` every guest
 * instruction advances virtual time by 2^S ns, and SysTick (clocked from the board's
 * EK_SYSCLK_HZ) counts that virtual time. ek_timer_elapsed() converts a SysTick difference
 * back to executed instructions (emulated), not cycles. At S = 0 one tick is 40
 * instructions (25 MHz), too coarse to be exact; at S = 7 a tick is under half an
 * instruction, so the count is exact. The host launches QEMU with the shift the firmware
 * was built for (EK_ICOUNT_SHIFT, from edgekit.firmware.ICOUNT_SHIFT). */
#include <stdint.h>

#include "board_config.h"
#include "ek_board.h"
#include "semihost.h"

#ifndef EK_ICOUNT_SHIFT
#error "EK_ICOUNT_SHIFT must match the -icount shift QEMU runs with"
#endif

typedef struct {
    volatile uint32_t DATA, STATE, CTRL, INTSTATUS, BAUDDIV;
} cmsdk_uart_t;

#define UART ((cmsdk_uart_t *)EK_UART_BASE)
#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define SYSTICK_RELOAD 0x00FFFFFFu
#define NVIC_ISER ((volatile uint32_t *)0xE000E100u)
#define NVIC_ICER ((volatile uint32_t *)0xE000E180u)
#define NVIC_ICPR ((volatile uint32_t *)0xE000E280u)

static volatile uint32_t systick_wraps;

/* EK_BOARD_TICK_HOOK: a function the build names to run on every wrap (a user frontend's
 * time limit); none by default, so the counts of other builds do not move. */
#ifdef EK_BOARD_TICK_HOOK
void EK_BOARD_TICK_HOOK(void);
#endif

void SysTick_Handler(void) {
    systick_wraps++;
#ifdef EK_BOARD_TICK_HOOK
    EK_BOARD_TICK_HOOK();
#endif
}

void ek_board_init(void) {
    UART->BAUDDIV = 16;           /* QEMU ignores the rate but needs a legal divider */
    UART->CTRL = 0x3 | 0x8;       /* TX, RX and the RX interrupt (a wake-up source only) */
    SYST_RVR = SYSTICK_RELOAD;
    SYST_CVR = 0;
    SYST_CSR = 0x7;               /* processor clock, interrupt on wrap, enabled */
}

void ek_uart_putc(uint8_t c) {
    while (UART->STATE & 1u) {}
    UART->DATA = c;
}

void ek_uart_write(const void *data, size_t n) {
    const uint8_t *p = (const uint8_t *)data;
    for (size_t i = 0; i < n; ++i) ek_uart_putc(p[i]);
}

int ek_uart_getc(void) {
    /* Sleep instead of spinning while the host is quiet: a spinning guest keeps a host core
     * busy for as long as a session is open. WFI wakes on an enabled, pending interrupt even
     * with PRIMASK set, so the UART's RX interrupt, enabled in the NVIC only around the WFI
     * and never taken, ends the sleep without a handler. SysTick wraps stay pending
     * meanwhile and are counted on return; timing never spans a wait. */
    if (!(UART->STATE & 2u)) {
        __asm__ volatile("cpsid i" ::: "memory");
        for (int i = 0; i < 8; ++i) NVIC_ISER[i] = 0xFFFFFFFFu;
        while (!(UART->STATE & 2u)) {
            UART->INTSTATUS = 2u;                       /* clear the RX interrupt */
            for (int i = 0; i < 8; ++i) NVIC_ICPR[i] = 0xFFFFFFFFu;
            if (UART->STATE & 2u) break;
            __asm__ volatile("wfi" ::: "memory");
        }
        for (int i = 0; i < 8; ++i) NVIC_ICER[i] = 0xFFFFFFFFu;
        UART->INTSTATUS = 2u;
        for (int i = 0; i < 8; ++i) NVIC_ICPR[i] = 0xFFFFFFFFu;
        __asm__ volatile("cpsie i" ::: "memory");
    }
    return (int)(UART->DATA & 0xFFu);
}

void ek_puts(const char *s) {
    while (*s) ek_uart_putc((uint8_t)*s++);
}

static uint64_t systick_ticks(void) {
    /* The wrap interrupt runs as soon as the counter wraps (thread mode, interrupts on), so
     * re-reading until the wrap count is stable gives a consistent pair. */
    uint32_t wraps, val;
    do {
        wraps = systick_wraps;
        val = SYST_CVR;
    } while (wraps != systick_wraps);
    return (uint64_t)wraps * (SYSTICK_RELOAD + 1u) + (SYSTICK_RELOAD - val);
}

static uint64_t ticks_before_restart;

void ek_timer_restart(void) {
    /* A write clears the counter, which reloads on the next tick: wait for that, then count
     * on from the ticks already seen, so the 64-bit time never goes backwards. */
    uint64_t before = systick_ticks();
    SYST_CVR = 0;
    while (SYST_CVR == 0) {}
    systick_wraps = 0;
    ticks_before_restart = before;
}

uint64_t ek_timer_now(void) { return ticks_before_restart + systick_ticks(); }

uint64_t ek_timer_elapsed(uint64_t start, uint64_t end) {
    /* instructions = round(ticks * 1e9 / HZ / 2^S). With tick length < half an
     * instruction's virtual time (S = 7: 40/128, 50/128, 31.25/128 at 25/20/32 MHz), the
     * tick difference pins the instruction count exactly, whatever the timer's phase. */
    const uint64_t num = 1000000000ull, den = (uint64_t)EK_SYSCLK_HZ << EK_ICOUNT_SHIFT;
    uint64_t d = end - start;
    return (d / den) * num + ((d % den) * num + den / 2) / den;
}

const char *ek_timer_unit(void) { return "instructions (emulated)"; }

void ek_exit(int code) { ek_semihost_exit(code); }

/* Start-up for Cortex-M QEMU machines and boards: vector table, C runtime init, FPU/MVE
 * enable, stack painting (for the high-water mark) and a fault handler that reports over
 * the UART and exits non-zero (semihosting), so a crash is never a silent hang. */
#include <stdint.h>
#include <string.h>

#include "ek_board.h"

extern uint32_t __etext_data;  /* load address of .data in flash */
extern uint32_t __data_start, __data_end, __bss_start, __bss_end;
extern uint32_t __stack_bottom, __stack_top;

extern int main(void);
extern void __libc_init_array(void);
void Reset_Handler(void);
void Default_Handler(void);
void HardFault_Handler(void);
void SysTick_Handler(void) __attribute__((weak, alias("Default_Handler")));

#define STACK_PAINT 0xA5A5A5A5u
#define EK_FAULT_EXIT_CODE 99

void NMI_Handler(void) __attribute__((weak, alias("HardFault_Handler")));
void MemManage_Handler(void) __attribute__((weak, alias("HardFault_Handler")));
void BusFault_Handler(void) __attribute__((weak, alias("HardFault_Handler")));
void UsageFault_Handler(void) __attribute__((weak, alias("HardFault_Handler")));
void SecureFault_Handler(void) __attribute__((weak, alias("HardFault_Handler")));

typedef void (*vector_t)(void);

/* 16 system vectors + 48 device IRQs (the MPS2/MPS3 images use fewer; all default). */
__attribute__((section(".vectors"), used)) const vector_t ek_vector_table[16 + 48] = {
    (vector_t)(uintptr_t)&__stack_top,
    Reset_Handler,
    NMI_Handler,
    HardFault_Handler,
    MemManage_Handler,
    BusFault_Handler,
    UsageFault_Handler,
    SecureFault_Handler,
    0, 0, 0,
    Default_Handler, /* SVC */
    Default_Handler, /* DebugMon */
    0,
    Default_Handler, /* PendSV */
    SysTick_Handler,
    [16 ... 63] = Default_Handler,
};

void _init(void) {}
void _fini(void) {}

__attribute__((naked, noreturn)) void Reset_Handler(void) {
    /* Naked: the stack below sp is painted before any C frame uses it. */
    __asm__ volatile(
        "ldr r0, =__stack_top\n"
        "mov sp, r0\n"
        "b ek_reset_c\n");
}

void ek_stack_reset_mark(void) {
    /* Repaint from the bottom up to 64 bytes below the current frame. */
    uint32_t *sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    for (uint32_t *p = &__stack_bottom; p < sp - 16; ++p) *p = STACK_PAINT;
}

uint32_t ek_stack_high_water(void) {
    const uint32_t *p = &__stack_bottom;
    while (p < &__stack_top && *p == STACK_PAINT) ++p;
    return (uint32_t)((uintptr_t)&__stack_top - (uintptr_t)p);
}

__attribute__((noreturn, used)) void ek_reset_c(void) {
    uint32_t *src = &__etext_data;
    for (uint32_t *dst = &__data_start; dst < &__data_end;) *dst++ = *src++;
    for (uint32_t *dst = &__bss_start; dst < &__bss_end;) *dst++ = 0;
#if defined(__ARM_FP) || defined(__ARM_FEATURE_MVE)
    /* CPACR: full access to CP10/CP11 (FPU, and MVE on the M55). */
    *(volatile uint32_t *)0xE000ED88u |= (0xFu << 20);
    __asm__ volatile("dsb\nisb");
#endif
    /* UsageFault/BusFault/MemManage as their own exceptions (they all land in the fault
     * handler, with the right CFSR), and trap divide by zero. */
    *(volatile uint32_t *)0xE000ED24u |= (1u << 16) | (1u << 17) | (1u << 18);
    *(volatile uint32_t *)0xE000ED14u |= (1u << 4);
    ek_stack_reset_mark();
    ek_board_init();
    __libc_init_array();
    int rc = main();
    ek_exit(rc);
}

static void put_hex(uint32_t v) {
    static const char digits[] = "0123456789abcdef";
    char buf[11] = "0x";
    for (int i = 0; i < 8; ++i) buf[2 + i] = digits[(v >> (28 - 4 * i)) & 0xF];
    buf[10] = 0;
    ek_puts(buf);
}

/* Stacked frame: r0 r1 r2 r3 r12 lr pc xpsr. */
__attribute__((used)) void ek_fault_report(const uint32_t *frame, uint32_t exc_return) {
    uint32_t ipsr;
    __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
    ek_puts("\r\nEK-FAULT exception=");
    put_hex(ipsr & 0x1FF);
    ek_puts(" pc=");
    put_hex(frame[6]);
    ek_puts(" lr=");
    put_hex(frame[5]);
    ek_puts(" cfsr=");
    put_hex(*(volatile uint32_t *)0xE000ED28u);
    ek_puts(" hfsr=");
    put_hex(*(volatile uint32_t *)0xE000ED2Cu);
    ek_puts(" bfar=");
    put_hex(*(volatile uint32_t *)0xE000ED38u);
    ek_puts(" exc_return=");
    put_hex(exc_return);
    ek_puts("\r\n");
    ek_exit(EK_FAULT_EXIT_CODE);
}

__attribute__((naked)) void HardFault_Handler(void) {
    __asm__ volatile(
        "tst lr, #4\n"
        "ite eq\n"
        "mrseq r0, msp\n"
        "mrsne r0, psp\n"
        "mov r1, lr\n"
        "b ek_fault_report\n");
}

void Default_Handler(void) {
    uint32_t ipsr;
    __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
    ek_puts("\r\nEK-FAULT unexpected exception=");
    put_hex(ipsr & 0x1FF);
    ek_puts("\r\n");
    ek_exit(EK_FAULT_EXIT_CODE);
}

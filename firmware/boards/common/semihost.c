/* Semihosting exit with an exit code: SYS_EXIT_EXTENDED (0x20) passes the code through,
 * plain SYS_EXIT on AArch32 can only say "success" or "failure". */
#include "semihost.h"
#include <stdint.h>

static inline int semihost_call(int op, void *arg) {
    register int r0 __asm__("r0") = op;
    register void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void ek_semihost_exit(int code) {
    uint32_t block[2] = {0x20026u /* ADP_Stopped_ApplicationExit */, (uint32_t)code};
    semihost_call(0x20, block);
    for (;;) { __asm__ volatile("wfi"); }  /* only reached without a debugger/emulator */
}

/* mps2-an386: mps2-an3860 */
#ifndef EK_BOARD_CONFIG_H
#define EK_BOARD_CONFIG_H
#define EK_BOARD_NAME "mps2-an386"
#define EK_UART_BASE 0x40004000u     /* CMSDK APB UART0 */
#define EK_SYSCLK_HZ 25000000ull   /* SysTick's processor clock in QEMU's model */
#define EK_PRELOAD_BASE 0x21000000u  /* where the host preloads input batches (-device loader) */
#define EK_PRELOAD_BYTES 0x01000000u
#endif

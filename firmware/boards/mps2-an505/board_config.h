/* mps2-an505: mps2-an5050 */
#ifndef EK_BOARD_CONFIG_H
#define EK_BOARD_CONFIG_H
#define EK_BOARD_NAME "mps2-an505"
#define EK_UART_BASE 0x50200000u     /* CMSDK APB UART0 */
#define EK_SYSCLK_HZ 20000000ull   /* SysTick's processor clock in QEMU's model */
#define EK_PRELOAD_BASE 0x80000000u  /* where the host preloads input batches (-device loader) */
#define EK_PRELOAD_BYTES 0x01000000u
#endif

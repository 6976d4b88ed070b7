/* mps2-an500: mps2-an5000 */
#ifndef EK_BOARD_CONFIG_H
#define EK_BOARD_CONFIG_H
#define EK_BOARD_NAME "mps2-an500"
#define EK_UART_BASE 0x40004000u     /* CMSDK APB UART0 */
#define EK_SYSCLK_HZ 25000000ull   /* SysTick's processor clock in QEMU's model */
#define EK_PRELOAD_BASE 0x60000000u  /* where the host preloads input batches (-device loader) */
#define EK_PRELOAD_BYTES 0x01000000u
#endif

/* mps3-an547: Cortex-M55; see board.yaml for the memory map */
#ifndef EK_BOARD_CONFIG_H
#define EK_BOARD_CONFIG_H
#define EK_BOARD_NAME "mps3-an547"
#define EK_UART_BASE 0x59303000u   /* CMSDK APB UART0, secure alias */
#define EK_SYSCLK_HZ 32000000ull   /* SysTick's processor clock in QEMU's model */
#define EK_PRELOAD_BASE 0x60000000u
#define EK_PRELOAD_BYTES 0x01000000u
#endif

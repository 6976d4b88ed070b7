/* Template: copy into your project and fill in for your board (vendor HAL or registers).
 * Everything else (start-up, timing with the DWT cycle counter, the protocol) is edgekit's. */
#include "ek_user_hooks.h"

void ek_user_clock_init(void) {
    /* e.g. SystemClock_Config() from your vendor's project generator */
}

void ek_user_uart_init(void) {
    /* e.g. HAL_UART_Init(&huart2) at 115200 baud, 8N1 */
}

void ek_user_uart_putc(uint8_t c) {
    (void)c; /* e.g. while (!(USART2->SR & USART_SR_TXE)) {} USART2->DR = c; */
}

int ek_user_uart_getc(void) {
    return 0; /* e.g. while (!(USART2->SR & USART_SR_RXNE)) {} return USART2->DR & 0xFF; */
}

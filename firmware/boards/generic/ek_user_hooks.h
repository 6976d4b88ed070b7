/* What a real board must provide to run edgekit firmware (see ek_user_hooks_template.c). */
#ifndef EK_USER_HOOKS_H
#define EK_USER_HOOKS_H
#include <stdint.h>

void ek_user_clock_init(void);          /* core clock at the profile's clock_mhz */
void ek_user_uart_init(void);           /* the host link, e.g. 115200 8N1 or a USB CDC port */
void ek_user_uart_putc(uint8_t c);      /* blocking */
int ek_user_uart_getc(void);            /* blocking; 0..255 */
#endif

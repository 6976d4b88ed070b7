/* newlib(-nano) system calls: stdout/stderr go to the UART, exit() to semihosting, and a
 * heap between the stack's top and the end of RAM (only test programs use printf/malloc). */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "ek_board.h"

extern char __heap_start, __heap_end;
static char *heap_top = &__heap_start;

void *_sbrk(ptrdiff_t incr) {
    if (heap_top + incr > &__heap_end || heap_top + incr < &__heap_start) {
        errno = ENOMEM;
        return (void *)-1;
    }
    char *prev = heap_top;
    heap_top += incr;
    return prev;
}

int _write(int fd, const char *buf, int n) {
    (void)fd;
    for (int i = 0; i < n; ++i) {
        if (buf[i] == '\n') ek_uart_putc('\r');
        ek_uart_putc((uint8_t)buf[i]);
    }
    return n;
}

int _read(int fd, char *buf, int n) {
    (void)fd;
    if (n <= 0) return 0;
    buf[0] = (char)ek_uart_getc();
    return 1;
}

void _exit(int code) { ek_exit(code); }
int _close(int fd) { (void)fd; return -1; }
int _fstat(int fd, struct stat *st) { (void)fd; st->st_mode = S_IFCHR; return 0; }
int _isatty(int fd) { (void)fd; return 1; }
int _lseek(int fd, int off, int whence) { (void)fd; (void)off; (void)whence; return 0; }
int _kill(int pid, int sig) { (void)pid; (void)sig; errno = EINVAL; return -1; }
int _getpid(void) { return 1; }

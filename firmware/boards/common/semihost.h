#ifndef EK_SEMIHOST_H
#define EK_SEMIHOST_H
void ek_semihost_exit(int code) __attribute__((noreturn));
#endif

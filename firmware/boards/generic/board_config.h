/* generic: a real board; UART and clock come from the user's hooks (ek_user_hooks.h). */
#ifndef EK_BOARD_CONFIG_H
#define EK_BOARD_CONFIG_H
#define EK_BOARD_NAME "generic"
#define EK_PRELOAD_BASE 0u      /* no preloading on hardware: inputs come over the UART */
#define EK_PRELOAD_BYTES 0u
#endif

/* The device protocol (docs/ARCHITECTURE.md, "Device protocol"): binary frames over the UART.
 *
 *   sync (0xEC 0x5A) | type u8 | seq u8 | len u16 LE | payload[len] | crc32 u32 LE
 *
 * crc32 is zlib's CRC-32 over type, seq, len and payload. A reply carries the request's seq
 * and type (request | 0x80); an error is a frame of type EK_T_ERROR with payload
 * (code u8, request type u8, message text). The host has the same numbers in
 * toolkit/edgekit/devices/protocol.py; tests/devices/test_protocol_header.py holds them equal. */
#ifndef EK_PROTOCOL_H
#define EK_PROTOCOL_H

#define EK_SYNC0 0xECu
#define EK_SYNC1 0x5Au
#define EK_PROTOCOL_VERSION 1
#define EK_MAX_PAYLOAD 2048u       /* the largest request payload the device accepts */
#define EK_BATCH_SEND_INPUT 1u   /* BATCH flags bit: raw items also return the frontend's output */

enum {
    EK_T_PING = 0x01,          /* payload echoed back */
    EK_T_INFO = 0x02,          /* -> "key=value\n" text */
    EK_T_LOAD = 0x03,          /* kind u8, offset u32, bytes -> total u32 */
    EK_T_INVOKE = 0x04,        /* kind u8 -> status i32, frontend u64, model u64, stack u32 */
    EK_T_READ_OUTPUT = 0x05,   /* offset u32, len u16 (0: all) -> bytes */
    EK_T_COUNTERS = 0x06,      /* -> frontend u64, model u64, stack u32, invocations u32 */
    EK_T_BATCH = 0x07,         /* first u32, count u32 -> EK_T_BATCH_ITEM frames, EK_T_BATCH_DONE */
    EK_T_RESET = 0x08,         /* -> ack, then a system reset (boards) */
    EK_T_OPS = 0x09,           /* -> n u32, then n x u32: timer counts of each op of the last inference */
    EK_T_SUMMARY = 0x0A,       /* reset u8 (0: keep) -> the on-device summary (ek_summary.h), see PROTOCOL.md */
    EK_T_HELLO = 0x70,         /* sent once at boot: the INFO text */
    EK_T_BATCH_ITEM = 0x71,    /* index u32, status i32, frontend u64, model u64, stack u32, output */
    EK_T_BATCH_DONE = 0x72,    /* count u32 */
    EK_T_ERROR = 0x7F,
    EK_T_REPLY = 0x80,
};

enum { EK_KIND_FEATURES = 0, EK_KIND_RAW = 1 };

enum {
    EK_E_CRC = 1,        /* request failed its CRC: resend */
    EK_E_LENGTH = 2,     /* payload longer than EK_MAX_PAYLOAD or than the command allows */
    EK_E_UNKNOWN = 3,    /* unknown request type */
    EK_E_ARGS = 4,       /* malformed arguments (offset out of range, short payload) */
    EK_E_UNSUPPORTED = 5,/* e.g. raw input without an on-device frontend */
    EK_E_MODEL = 6,      /* ek_model_invoke() returned non-zero */
    EK_E_PRELOAD = 7,    /* no valid preloaded batch, or index out of range */
};

/* The preloaded batch header at the board's EK_PRELOAD_BASE (written by the host, loaded
 * by QEMU's -device loader): all fields u32 LE, items start at base + data_offset. */
#define EK_BATCH_MAGIC 0x31424B45u /* "EKB1" */
typedef struct {
    unsigned magic, n_items, item_bytes, stride, kind, data_offset;
} ek_batch_header_t;

#endif

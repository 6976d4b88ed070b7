/* The device app: serves the host protocol (ek_protocol.h) over the board's UART.
 * It counts the model (ek_model_invoke) and the frontend separately, with the board timer
 * (instructions under QEMU, cycles on silicon), and the stack high-water mark of each
 * inference. The model is only seen through ek_model.h. */
#include <stdint.h>
#include <string.h>

#include "board_config.h"
#include "ek_board.h"
#include "ek_app_frontend.h"
#include "ek_model.h"
#include "ek_protocol.h"
#include "ek_summary.h"

#ifndef EK_FIRMWARE_VERSION
#define EK_FIRMWARE_VERSION "edgekit-app 0.1"
#endif

static uint8_t rx_payload[EK_MAX_PAYLOAD];
static uint32_t crc_table[256];

static uint64_t last_frontend, last_model;
static uint32_t last_stack, invocations, raw_loaded;
static const uint8_t *raw_source; /* a preloaded raw item (batch mode), else the raw buffer */
static uint32_t last_summary;      /* timer count of the last inference's summary update */
static int summary_on;             /* int8 in and out: the on-device summary (ek_summary.h) runs */

/* The summary's input layout from the model: features along the last axis of size > 1. */
static void summary_init(void) {
    const ek_model_info_t *m = ek_model_info();
    summary_on = m->input.type == EK_TYPE_INT8 && m->output.type == EK_TYPE_INT8;
    uint32_t features = 1, inner = 1;
    for (int a = m->input.rank - 1; a >= 0; --a) {
        if (m->input.dims[a] > 1) { features = (uint32_t)m->input.dims[a]; break; }
        inner *= (uint32_t)(m->input.dims[a] > 0 ? m->input.dims[a] : 1);
    }
    /* A model larger than the sketch was sized for reports no summary (n_classes = 0). */
    if (features > EK_SUMMARY_MAX_FEATURES || m->output.bytes > EK_SUMMARY_MAX_CLASSES) summary_on = 0;
    ek_summary_configure(features, inner, (uint32_t)m->output.bytes);
}

/* Per-op profile of the last inference: the generated model calls EK_PROFILE_HOOK(i)
 * before op i and after the last op (build with -DEK_PROFILE_HOOK=ek_app_prof). Each
 * hook's own timer read falls into the op that follows it. */
#ifndef EK_APP_MAX_OPS
#define EK_APP_MAX_OPS 256u
#endif
static uint32_t op_counts[EK_APP_MAX_OPS];
static uint32_t op_profiled;  /* ops counted in the last inference */
static uint64_t op_mark;

void ek_app_prof(uint32_t op_index) {
    uint64_t now = ek_timer_now();
    if (op_index == 0) op_profiled = 0;
    else if (op_index - 1u < EK_APP_MAX_OPS) {
        op_counts[op_index - 1u] = (uint32_t)ek_timer_elapsed(op_mark, now);
        op_profiled = op_index;
    }
    op_mark = now;
}

static void crc_init(void) {
    for (uint32_t i = 0; i < 256; ++i) {
        uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

static uint32_t crc_update(uint32_t crc, const uint8_t *p, size_t n) {
    crc = ~crc;
    while (n--) crc = crc_table[(crc ^ *p++) & 0xFFu] ^ (crc >> 8);
    return ~crc;
}

static void put_u16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put_u32(uint8_t *p, uint32_t v) { put_u16(p, v); put_u16(p + 2, v >> 16); }
static void put_u64(uint8_t *p, uint64_t v) { put_u32(p, (uint32_t)v); put_u32(p + 4, (uint32_t)(v >> 32)); }
static uint32_t get_u32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* A frame whose payload is sent in parts (a fixed header, then bodies straight from the
 * model's buffers, without a copy). The length field is a u16: callers keep the total
 * within EK_MAX_PAYLOAD. */
#define EK_MAX_PAYLOAD 0xFFFFu
static void send_frame_parts(uint8_t type, uint8_t seq, const void *const *part, const size_t *size, int n) {
    size_t total = 0;
    for (int i = 0; i < n; ++i) total += size[i];
    uint8_t head[6] = {EK_SYNC0, EK_SYNC1, type, seq, 0, 0};
    put_u16(head + 4, (uint32_t)total);
    uint32_t crc = crc_update(0, head + 2, 4);
    for (int i = 0; i < n; ++i) crc = crc_update(crc, (const uint8_t *)part[i], size[i]);
    uint8_t tail[4];
    put_u32(tail, crc);
    ek_uart_write(head, 6);
    for (int i = 0; i < n; ++i) ek_uart_write(part[i], size[i]);
    ek_uart_write(tail, 4);
}

static void send_frame2(uint8_t type, uint8_t seq, const void *a, size_t na, const void *b, size_t nb) {
    const void *part[2] = {a, b};
    const size_t size[2] = {na, nb};
    send_frame_parts(type, seq, part, size, 2);
}

static void send_frame(uint8_t type, uint8_t seq, const void *p, size_t n) { send_frame2(type, seq, p, n, 0, 0); }

static void send_error(uint8_t seq, uint8_t code, uint8_t req, const char *msg) {
    uint8_t hdr[2] = {code, req};
    send_frame2(EK_T_ERROR, seq, hdr, 2, msg, strlen(msg));
}

static size_t append(char *buf, size_t pos, size_t cap, const char *s) {
    while (*s && pos + 1 < cap) buf[pos++] = *s++;
    buf[pos] = 0;
    return pos;
}

static size_t append_uint(char *buf, size_t pos, size_t cap, uint32_t v) {
    char tmp[11];
    int n = 0;
    do { tmp[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    while (n && pos + 1 < cap) buf[pos++] = tmp[--n];
    buf[pos] = 0;
    return pos;
}

static size_t info_text(char *buf, size_t cap) {
    const ek_model_info_t *m = ek_model_info();
    size_t n = 0;
    n = append(buf, n, cap, "protocol=");
    n = append_uint(buf, n, cap, EK_PROTOCOL_VERSION);
    n = append(buf, n, cap, "\nfirmware=" EK_FIRMWARE_VERSION "\nboard=" EK_BOARD_NAME "\nmodel=");
    n = append(buf, n, cap, m->name ? m->name : "");
    n = append(buf, n, cap, "\nmodel_hash=");
    n = append(buf, n, cap, m->hash ? m->hash : "");
    n = append(buf, n, cap, "\npreprocessing=");
    n = append(buf, n, cap, ek_frontend_variant ? ek_frontend_variant() : "none");
    n = append(buf, n, cap, "\narena_bytes=");
    n = append_uint(buf, n, cap, (uint32_t)m->arena_bytes);
    n = append(buf, n, cap, "\ninput_bytes=");
    n = append_uint(buf, n, cap, (uint32_t)m->input.bytes);
    n = append(buf, n, cap, "\noutput_bytes=");
    n = append_uint(buf, n, cap, (uint32_t)m->output.bytes);
    n = append(buf, n, cap, "\nn_ops=");
    n = append_uint(buf, n, cap, m->n_ops);
    n = append(buf, n, cap, "\ntimer_unit=");
    n = append(buf, n, cap, ek_timer_unit());
    n = append(buf, n, cap, "\npreload_base=");
    n = append_uint(buf, n, cap, EK_PRELOAD_BASE);
    n = append(buf, n, cap, "\npreload_bytes=");
    n = append_uint(buf, n, cap, EK_PRELOAD_BYTES);
    n = append(buf, n, cap, "\n");
    return n;
}

/* Runs one inference on whatever is in the model input (or the raw buffer). keep_input: where
 * to keep the model input a raw run's frontend produced (batch flag EK_BATCH_SEND_INPUT), or 0. */
static int run_inference(int kind, uint8_t *keep_input) {
    const ek_model_info_t *m = ek_model_info();
    ek_stack_reset_mark();
    ek_timer_restart();
    last_frontend = 0;
    if (kind == EK_KIND_RAW) {
        size_t cap = 0;
        const uint8_t *raw = raw_source ? raw_source : ek_frontend_raw_buffer(&cap);
        uint64_t t0 = ek_timer_now();
        int frc = ek_frontend_run(raw, raw_loaded, (int8_t *)ek_model_input());
        last_frontend = ek_timer_elapsed(t0, ek_timer_now());
        if (frc != 0) return -2;
        /* Outside both timed regions; the model reuses its input's memory, so keep it now. */
        if (keep_input) memcpy(keep_input, ek_model_input(), m->input.bytes);
    }
    uint64_t t0 = ek_timer_now();
    if (summary_on) ek_summary_input((const int8_t *)ek_model_input(), m->input.bytes);
    uint64_t t1 = ek_timer_now();
    int rc = ek_model_invoke();
    uint64_t t2 = ek_timer_now();
    if (summary_on && rc == 0) ek_summary_output((const int8_t *)ek_model_output(), m->output.bytes);
    last_summary = (uint32_t)(ek_timer_elapsed(t0, t1) + ek_timer_elapsed(t2, ek_timer_now()));
    last_model = ek_timer_elapsed(t1, t2);
    last_stack = ek_stack_high_water();
    invocations++;
    return rc;
}

static void pack_counters(uint8_t *p, int32_t status) {
    put_u32(p, (uint32_t)status);
    put_u64(p + 4, last_frontend);
    put_u64(p + 12, last_model);
    put_u32(p + 20, last_stack);
}

static int frontend_present(void) { return ek_frontend_run && ek_frontend_raw_buffer; }

static void handle(uint8_t type, uint8_t seq, const uint8_t *p, uint32_t n) {
    const ek_model_info_t *m = ek_model_info();
    uint8_t out[32];
    switch (type) {
    case EK_T_PING:
        send_frame(type | EK_T_REPLY, seq, p, n);
        return;
    case EK_T_INFO: {
        static char text[512];
        size_t len = info_text(text, sizeof text);
        send_frame(type | EK_T_REPLY, seq, text, len);
        return;
    }
    case EK_T_LOAD: {
        if (n < 5) { send_error(seq, EK_E_ARGS, type, "load: needs kind u8 and offset u32"); return; }
        uint32_t off = get_u32(p + 1), len = n - 5;
        uint8_t *dst;
        size_t cap;
        if (p[0] == EK_KIND_FEATURES) {
            dst = (uint8_t *)ek_model_input();
            cap = m->input.bytes;
        } else if (p[0] == EK_KIND_RAW) {
            if (!frontend_present()) { send_error(seq, EK_E_UNSUPPORTED, type, "raw input: no on-device frontend in this firmware"); return; }
            dst = ek_frontend_raw_buffer(&cap);
        } else { send_error(seq, EK_E_ARGS, type, "load: unknown kind"); return; }
        if (off > cap || len > cap - off) { send_error(seq, EK_E_ARGS, type, "load: beyond the input buffer"); return; }
        memcpy(dst + off, p + 5, len);
        if (p[0] == EK_KIND_RAW) raw_loaded = off + len;
        put_u32(out, off + len);
        send_frame(type | EK_T_REPLY, seq, out, 4);
        return;
    }
    case EK_T_INVOKE: {
        int kind = n >= 1 ? p[0] : EK_KIND_FEATURES;
        if (kind == EK_KIND_RAW && !frontend_present()) { send_error(seq, EK_E_UNSUPPORTED, type, "raw input: no on-device frontend in this firmware"); return; }
        int rc = run_inference(kind, 0);
        if (rc != 0) {
            const char *why = rc != -2 ? "ek_model_invoke failed"
                              : (ek_frontend_last_error && ek_frontend_last_error()[0]) ? ek_frontend_last_error()
                                                                                       : "frontend failed";
            send_error(seq, EK_E_MODEL, type, why);
            return;
        }
        pack_counters(out, rc);
        send_frame(type | EK_T_REPLY, seq, out, 24);
        return;
    }
    case EK_T_READ_OUTPUT: {
        if (n < 6) { send_error(seq, EK_E_ARGS, type, "read_output: needs offset u32 and len u16"); return; }
        uint32_t off = get_u32(p), len = (uint32_t)p[4] | ((uint32_t)p[5] << 8);
        if (len == 0) len = (uint32_t)m->output.bytes - (off < m->output.bytes ? off : (uint32_t)m->output.bytes);
        if (off > m->output.bytes || len > m->output.bytes - off) { send_error(seq, EK_E_ARGS, type, "read_output: beyond the output"); return; }
        send_frame(type | EK_T_REPLY, seq, (const uint8_t *)ek_model_output() + off, len);
        return;
    }
    case EK_T_COUNTERS:
        put_u64(out, last_frontend);
        put_u64(out + 8, last_model);
        put_u32(out + 16, last_stack);
        put_u32(out + 20, invocations);
        send_frame(type | EK_T_REPLY, seq, out, 24);
        return;
    case EK_T_BATCH: {
        if (n < 8) { send_error(seq, EK_E_ARGS, type, "batch: needs first u32 and count u32"); return; }
        const ek_batch_header_t *h = (const ek_batch_header_t *)(uintptr_t)EK_PRELOAD_BASE;
        uint32_t first = get_u32(p), count = get_u32(p + 4);
        if (h->magic != EK_BATCH_MAGIC) { send_error(seq, EK_E_PRELOAD, type, "batch: nothing preloaded"); return; }
        if (first > h->n_items || count > h->n_items - first) { send_error(seq, EK_E_PRELOAD, type, "batch: index out of range"); return; }
        if (h->kind == EK_KIND_RAW && !frontend_present()) { send_error(seq, EK_E_UNSUPPORTED, type, "raw input: no on-device frontend in this firmware"); return; }
        if (h->kind != EK_KIND_RAW && h->item_bytes != m->input.bytes) { send_error(seq, EK_E_PRELOAD, type, "batch: item size differs from the model input"); return; }
        /* Flag EK_BATCH_SEND_INPUT: each raw item's result also carries the model input its
         * frontend produced, kept in the item's own preload slot (the frontend has finished
         * reading it), so the host can tell whether it equals the host's features. */
        uint32_t flags = n >= 12 ? get_u32(p + 8) : 0;
        int send_input = (flags & EK_BATCH_SEND_INPUT) && h->kind == EK_KIND_RAW &&
                         h->item_bytes >= m->input.bytes && 28u + m->output.bytes + m->input.bytes <= EK_MAX_PAYLOAD;
        for (uint32_t i = first; i < first + count; ++i) {
            const uint8_t *item_ptr = (const uint8_t *)h + h->data_offset + (size_t)i * h->stride;
            /* Raw items are read in place by the frontend; features are copied into the
             * model's input tensor (inside the arena). */
            if (h->kind == EK_KIND_RAW) raw_source = item_ptr;
            else memcpy(ek_model_input(), item_ptr, h->item_bytes);
            raw_loaded = h->item_bytes;
            int rc = run_inference((int)h->kind, send_input ? (uint8_t *)(uintptr_t)item_ptr : 0);
            raw_source = 0;
            uint8_t item[28];
            put_u32(item, i);
            pack_counters(item + 4, rc);
            if (send_input && rc == 0) {
                const void *part[3] = {item, ek_model_output(), item_ptr};
                const size_t size[3] = {28, m->output.bytes, m->input.bytes};
                send_frame_parts(EK_T_BATCH_ITEM, seq, part, size, 3);
            } else {
                send_frame2(EK_T_BATCH_ITEM, seq, item, 28, ek_model_output(), rc == 0 ? m->output.bytes : 0);
            }
        }
        put_u32(out, count);
        send_frame(EK_T_BATCH_DONE, seq, out, 4);
        return;
    }
    case EK_T_OPS: {
        /* n u32, then the counts straight from the array (the Cortex-M is little-endian, as the frame). */
        uint32_t n_ops = op_profiled < EK_APP_MAX_OPS ? op_profiled : EK_APP_MAX_OPS;
        put_u32(out, n_ops);
        send_frame2(type | EK_T_REPLY, seq, out, 4, op_counts, (size_t)n_ops * 4u);
        return;
    }
    case EK_T_SUMMARY: {
        /* The summary since the last read (ek_summary.h), then reset unless p[0] == 0. */
        const ek_summary_t *sm = ek_summary_get();
        uint32_t nc = summary_on ? sm->n_classes : 0, nf = summary_on ? sm->n_features : 0;
        uint8_t head[24] = {1, 0};
        put_u16(head + 2, nc); put_u16(head + 4, nf); put_u16(head + 6, 0);
        put_u32(head + 8, sm->count); put_u32(head + 12, sm->elements);
        put_u32(head + 16, last_summary); put_u32(head + 20, (uint32_t)sizeof(ek_summary_t));
        /* The arrays straight from the state (little-endian, as the frame): no reply buffer. */
        const void *part[5] = {head, sm->class_hist, sm->conf_hist, sm->feature_sum, sm->feature_sumsq};
        size_t size[5] = {24, 4u * nc, 4u * EK_SUMMARY_CONF_BINS, 8u * nf, 8u * nf};
        send_frame_parts(type | EK_T_REPLY, seq, part, size, 5);
        if (n < 1 || p[0] != 0) ek_summary_reset();
        return;
    }
    case EK_T_RESET:
        send_frame(type | EK_T_REPLY, seq, 0, 0);
        /* SCB->AIRCR: VECTKEY | SYSRESETREQ */
        *(volatile uint32_t *)0xE000ED0Cu = (0x5FAu << 16) | (1u << 2);
        for (;;) {}
    default:
        send_error(seq, EK_E_UNKNOWN, type, "unknown request type");
    }
}

/* Receives one frame; hunts for the sync bytes, so garbage on the line is skipped. */
static int receive_frame(uint8_t *type, uint8_t *seq, uint32_t *len) {
    for (;;) {
        if (ek_uart_getc() != EK_SYNC0) continue;
        int c = ek_uart_getc();
        while (c == EK_SYNC0) c = ek_uart_getc();
        if (c != EK_SYNC1) continue;
        uint8_t head[4];
        for (int i = 0; i < 4; ++i) head[i] = (uint8_t)ek_uart_getc();
        *type = head[0];
        *seq = head[1];
        *len = (uint32_t)head[2] | ((uint32_t)head[3] << 8);
        if (*len > EK_MAX_PAYLOAD) {
            send_error(*seq, EK_E_LENGTH, *type, "payload longer than EK_MAX_PAYLOAD");
            continue;  /* resync on the next sync bytes */
        }
        for (uint32_t i = 0; i < *len; ++i) rx_payload[i] = (uint8_t)ek_uart_getc();
        uint8_t t[4];
        for (int i = 0; i < 4; ++i) t[i] = (uint8_t)ek_uart_getc();
        uint32_t crc = crc_update(crc_update(0, head, 4), rx_payload, *len);
        if (crc != get_u32(t)) {
            send_error(*seq, EK_E_CRC, *type, "crc mismatch");
            continue;
        }
        return 0;
    }
}

int main(void) {
    crc_init();
    summary_init();
    static char text[512];
    size_t len = info_text(text, sizeof text);
    send_frame(EK_T_HELLO, 0, text, len);
    for (;;) {
        uint8_t type, seq;
        uint32_t n;
        receive_frame(&type, &seq, &n);
        handle(type, seq, rx_payload, n);
    }
}

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

/* Reporting the on-device summary upstream (edgekit monitor). The app keeps a constant-size
 * summary of every inference (ek_summary.h); once per reporting window (a day, say) a product
 * sends it as one telemetry record (toolkit/edgekit/monitor/telemetry.py documents the
 * fields) and starts a new window. Call this from your scheduler; give it the device's id,
 * the window's start and end (ISO 8601 UTC), its cohort (device model, firmware) and your
 * uplink (radio, modem, a Linux gateway). `edgekit monitor ingest` takes the lines as JSONL. */
#include <stdio.h>

#include "ek_summary.h"

static void uplink_send(const char *text, int len) {
    (void)text; (void)len; /* e.g. lte_send(), ble_notify(), or a UART to the gateway */
}

static int put_counts(char *p, int cap, const uint32_t *v, uint32_t n) {
    int k = 0;
    for (uint32_t i = 0; i < n && k < cap; ++i) k += snprintf(p + k, (size_t)(cap - k), "%s%lu", i ? "," : "", (unsigned long)v[i]);
    return k;
}

void ek_user_report_summary(const char *device_id, const char *model, const char *start, const char *end,
                            const char *device_model, const char *firmware) {
    static char rec[1536];
    const ek_summary_t *s = ek_summary_get();
    double n = (double)s->count * (double)s->elements;
    int k = snprintf(rec, sizeof rec, "{\"schema\":1,\"device_id\":\"%s\",\"model\":\"%s\",\"window_start\":\"%s\","
                     "\"window_end\":\"%s\",\"cohort\":{\"device_model\":\"%s\",\"firmware\":\"%s\"},"
                     "\"inferences\":%lu,\"class_hist\":[", device_id, model, start, end, device_model, firmware,
                     (unsigned long)s->count);
    k += put_counts(rec + k, (int)sizeof rec - k, s->class_hist, s->n_classes);
    k += snprintf(rec + k, sizeof rec - (size_t)k, "],\"conf_hist\":[");
    k += put_counts(rec + k, (int)sizeof rec - k, s->conf_hist, EK_SUMMARY_CONF_BINS);
    const char *sep[2] = {"],\"feature_mean\":[", "],\"feature_var\":["};
    for (int pass = 0; pass < 2; ++pass) {  /* mean = sum / n, var = sumsq / n - mean^2 (int8 input steps) */
        k += snprintf(rec + k, sizeof rec - (size_t)k, "%s", sep[pass]);
        for (uint32_t f = 0; f < s->n_features; ++f) {
            double mean = n > 0 ? (double)s->feature_sum[f] / n : 0.0;
            double v = pass == 0 ? mean : (n > 0 ? (double)s->feature_sumsq[f] / n - mean * mean : 0.0);
            k += snprintf(rec + k, sizeof rec - (size_t)k, "%s%.4f", f ? "," : "", v < 0 && pass ? 0.0 : v);
        }
    }
    k += snprintf(rec + k, sizeof rec - (size_t)k, "]}\n");
    if (k > 0 && k < (int)sizeof rec) uplink_send(rec, k);
    ek_summary_reset();
}

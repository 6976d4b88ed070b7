/* The on-device summary: see ek_summary.h. */
#include "ek_summary.h"

#include <string.h>

static ek_summary_t state;
static uint32_t inner_stride = 1;
/* The input's sums of the inference in flight, committed only when it succeeds. */
static int32_t pending_sum[EK_SUMMARY_MAX_FEATURES];
static int32_t pending_sq[EK_SUMMARY_MAX_FEATURES];

void ek_summary_configure(uint32_t n_features, uint32_t inner, uint32_t n_classes) {
    if (n_features == 0 || n_features > EK_SUMMARY_MAX_FEATURES) n_features = 1;
    if (n_classes > EK_SUMMARY_MAX_CLASSES) n_classes = EK_SUMMARY_MAX_CLASSES;
    state.n_features = (uint16_t)n_features;
    state.n_classes = (uint16_t)n_classes;
    inner_stride = inner ? inner : 1;
}

void ek_summary_reset(void) {
    uint16_t nf = state.n_features, nc = state.n_classes;
    memset(&state, 0, sizeof state);
    state.n_features = nf;
    state.n_classes = nc;
}

const ek_summary_t *ek_summary_get(void) { return &state; }

void ek_summary_input(const int8_t *input, size_t n) {
    uint32_t nf = state.n_features ? state.n_features : 1;
    for (uint32_t f = 0; f < nf; ++f) pending_sum[f] = pending_sq[f] = 0;
    /* int32 per inference: 2^31 / 128^2 = 131072 elements per feature before it could
     * overflow, more than a 96x96 image channel (9216). */
    if (inner_stride == 1) {
        uint32_t f = 0;
        for (size_t i = 0; i < n; ++i) {
            int32_t v = input[i];
            pending_sum[f] += v;
            pending_sq[f] += v * v;
            if (++f == nf) f = 0;
        }
    } else {
        uint32_t f = 0, k = 0;
        for (size_t i = 0; i < n; ++i) {
            int32_t v = input[i];
            pending_sum[f] += v;
            pending_sq[f] += v * v;
            if (++k == inner_stride) { k = 0; if (++f == nf) f = 0; }
        }
    }
    state.elements = (uint32_t)(n / nf);
}

void ek_summary_output(const int8_t *output, size_t n) {
    if (n == 0) return;
    size_t best = 0;
    int8_t top = output[0];
    for (size_t c = 1; c < n; ++c)
        if (output[c] > top) { top = output[c]; best = c; }
    if (best < EK_SUMMARY_MAX_CLASSES) state.class_hist[best]++;
    state.conf_hist[((int32_t)top + 128) >> 4]++;
    for (uint32_t f = 0; f < state.n_features; ++f) {
        state.feature_sum[f] += pending_sum[f];
        state.feature_sumsq[f] += pending_sq[f];
    }
    state.count++;
}

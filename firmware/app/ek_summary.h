/* The on-device summary (edgekit monitor): a constant-size sketch of the inferences since the
 * last read, reported upstream as telemetry. Integer for integer the same as the Python
 * side, toolkit/edgekit/monitor/summary.py (tests/monitor hold the two equal on QEMU):
 *
 *   count                 inferences summarised
 *   class_hist[c]         top-1 class (first maximum of the int8 output)
 *   conf_hist[b]          top-1 output value q in 16 bins of output-quantization steps: (q + 128) >> 4
 *   feature_sum/_sumsq[f] sum and sum of squares of the int8 model input over every element of
 *                         input feature f (the last input axis of size > 1), int64: running
 *                         mean and variance in fixed point, mergeable across windows
 *
 * Cost: the state below and one pass over the model input per inference; `edgekit build`
 * sizes the bounds to the model (-DEK_SUMMARY_MAX_CLASSES/FEATURES) and measures both. */
#ifndef EK_SUMMARY_H
#define EK_SUMMARY_H

#include <stddef.h>
#include <stdint.h>

#define EK_SUMMARY_CONF_BINS 16u
#ifndef EK_SUMMARY_MAX_CLASSES
#define EK_SUMMARY_MAX_CLASSES 16u
#endif
#ifndef EK_SUMMARY_MAX_FEATURES
#define EK_SUMMARY_MAX_FEATURES 12u
#endif

typedef struct {
    uint32_t count;
    uint16_t n_classes, n_features;
    uint32_t elements;                      /* input elements per feature per inference */
    uint32_t class_hist[EK_SUMMARY_MAX_CLASSES];
    uint32_t conf_hist[EK_SUMMARY_CONF_BINS];
    int64_t feature_sum[EK_SUMMARY_MAX_FEATURES];
    int64_t feature_sumsq[EK_SUMMARY_MAX_FEATURES];
} ek_summary_t;

/* Before the model runs (the input tensor may be reused by the arena afterwards). */
void ek_summary_input(const int8_t *input, size_t n);
/* After a successful inference: commits the input's sums and adds the output. */
void ek_summary_output(const int8_t *output, size_t n);
/* The summary so far; a product copies it into its uplink message (boards/generic). */
const ek_summary_t *ek_summary_get(void);
void ek_summary_reset(void);
/* Set once by the app: the model's input layout (feature count and inner stride). */
void ek_summary_configure(uint32_t n_features, uint32_t inner, uint32_t n_classes);

#endif

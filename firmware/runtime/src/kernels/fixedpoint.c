/* edgekit-micro kernels: the exported fixed-point primitives (for tests and other callers).
 * Declarations: fixedpoint.h.
 *
 * The arithmetic follows TFLite Micro's reference integer kernels operation by operation
 * (not merely "close"): every rounding step is the same, so outputs are bit-exact. Tests in
 * tests/runtime and tests/codegen hold this against the tflite-micro interpreter.
 */
#include "fixedpoint.h"
#include "ek_fixedpoint.h"

int32_t ek_srdhm(int32_t a, int32_t b) { return srdhm(a, b); }
int32_t ek_rdbypot(int32_t x, int exponent) { return rdbypot(x, exponent); }
int32_t ek_mbqm(int32_t x, int32_t multiplier, int shift) { return mbqm(x, multiplier, shift); }

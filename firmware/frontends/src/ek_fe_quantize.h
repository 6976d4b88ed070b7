/* Float model input -> int8, exactly as the reference (edgekit.preprocess.image.quantize_input):
 * q = clamp(round_half_away_from_zero((double)x / scale) + zero_point).
 * The float multiply by 1/scale decides all but near-ties; within 1e-3 of a .5 tie (common:
 * with mean = std = 127.5 and scale = 2/255 every integer pixel lands on one) the division
 * is redone in double so the tie breaks the way the reference breaks it. Internal header. */
#ifndef EK_FE_QUANTIZE_H
#define EK_FE_QUANTIZE_H

#include <math.h>
#include <stdint.h>

#include "ek_frontend_config.h"

static inline int8_t ek_fe_quantize(float x) {
    const float v = x * EK_FE_INPUT_INV_SCALE;
    int32_t r = (int32_t)(v >= 0.0f ? v + 0.5f : v - 0.5f);
    if (fabsf(fabsf(v - (float)r) - 0.5f) < 1e-3f) {
        const double d = (double)x / EK_FE_INPUT_SCALE_D;
        r = (int32_t)(d >= 0.0 ? floor(d + 0.5) : -floor(0.5 - d));
    }
    r += EK_FE_INPUT_ZERO_POINT;
    return (int8_t)(r < -128 ? -128 : (r > 127 ? 127 : r));
}

#endif

/* edgekit-micro kernels: data movement: PAD, CONCATENATION, STRIDED_SLICE,
 * RESIZE_NEAREST_NEIGHBOR, RESHAPE and SQUEEZE (a copy when not aliased). Declarations: reshape.h.
 *
 * The arithmetic follows TFLite Micro's reference integer kernels operation by operation
 * (not merely "close"): every rounding step is the same, so outputs are bit-exact. Tests in
 * tests/runtime and tests/codegen hold this against the tflite-micro interpreter.
 */
#include "reshape.h"
#include "ek_fixedpoint.h"

void ek_pad_s8(const ek_shape_t *is, const int8_t *input, const int32_t pads[8],
               int8_t pad_value, const ek_shape_t *os, int8_t *output)
{
    for (int32_t b = 0; b < os->n; ++b)
        for (int32_t y = 0; y < os->h; ++y)
            for (int32_t x = 0; x < os->w; ++x)
                for (int32_t c = 0; c < os->c; ++c) {
                    const int32_t ib = b - pads[0], iy = y - pads[2], ix = x - pads[4], ic = c - pads[6];
                    int8_t v = pad_value;
                    if (ib >= 0 && ib < is->n && iy >= 0 && iy < is->h && ix >= 0 && ix < is->w &&
                        ic >= 0 && ic < is->c)
                        v = input[((ib * is->h + iy) * is->w + ix) * is->c + ic];
                    output[((b * os->h + y) * os->w + x) * os->c + c] = v;
                }
}

void ek_copy(size_t bytes, const void *input, void *output)
{
    if (input != output) memmove(output, input, bytes);
}

/* CONCATENATION: for each of the `outer` slices, each input's chunk (its extent along the axis
 * times the inner size) in turn, as TFLM's reference copies them. */
void ek_concat_s8(int32_t outer, int32_t n_inputs, const int8_t *const *inputs, const int32_t *chunk,
                  int8_t *output)
{
    for (int32_t o = 0; o < outer; ++o)
        for (int32_t k = 0; k < n_inputs; ++k) {
            memcpy(output, inputs[k] + (size_t)o * (size_t)chunk[k], (size_t)chunk[k]);
            output += chunk[k];
        }
}

void ek_resize_nearest_s8(const ek_shape_t *is, const int8_t *input, const int32_t *rows,
                          const int32_t *cols, const ek_shape_t *os, int8_t *output)
{
    const size_t c = (size_t)os->c;
    for (int32_t b = 0; b < os->n; ++b)
        for (int32_t y = 0; y < os->h; ++y)
            for (int32_t x = 0; x < os->w; ++x, output += c)
                memcpy(output, input + (((size_t)b * is->h + rows[y]) * is->w + cols[x]) * c, c);
}

/* STRIDED_SLICE: the generator resolves begin/end/strides and the masks into a first element and,
 * per dimension, a count and a step in elements (negative when the slice runs backwards). */
void ek_strided_slice_s8(const ek_slice_t *s, const int8_t *input, int8_t *output)
{
    for (int32_t i0 = 0; i0 < s->count[0]; ++i0) {
        const int8_t *p0 = input + s->first + i0 * s->step[0];
        for (int32_t i1 = 0; i1 < s->count[1]; ++i1) {
            const int8_t *p1 = p0 + i1 * s->step[1];
            for (int32_t i2 = 0; i2 < s->count[2]; ++i2) {
                const int8_t *p2 = p1 + i2 * s->step[2];
                for (int32_t i3 = 0; i3 < s->count[3]; ++i3) *output++ = p2[i3 * s->step[3]];
            }
        }
    }
}

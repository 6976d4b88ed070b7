/* edgekit-micro kernel: RESIZE_BILINEAR (int8). Declarations: resize_bilinear.h.
 *
 * TFLite Micro's reference_ops::ResizeBilinearInteger operation by operation, so outputs are
 * bit-exact: four taps weighted in 1/1024ths of a pixel per axis (the generator's tables), the
 * sum in 2^-20 rounded half away from zero and truncated to int8. The reference sums in int64;
 * the generator checks that this int32 sum cannot overflow, so both are exact. Tests in
 * tests/codegen and tests/runtime hold this against the tflite-micro interpreter.
 */
#include "resize_bilinear.h"

void ek_resize_bilinear_s8(const ek_shape_t *is, const int8_t *input, const int32_t *rows,
                           const int32_t *cols, const ek_shape_t *os, int8_t *output)
{
    const int32_t one = 1 << 10, c = os->c;
    for (int32_t b = 0; b < os->n; ++b) {
        const int8_t *image = input + (size_t)b * is->h * is->w * c;
        for (int32_t y = 0; y < os->h; ++y) {
            const int32_t dy = rows[3 * y + 2];
            const int8_t *row0 = image + (size_t)rows[3 * y] * is->w * c;
            const int8_t *row1 = image + (size_t)rows[3 * y + 1] * is->w * c;
            for (int32_t x = 0; x < os->w; ++x, output += c) {
                const int32_t dx = cols[3 * x + 2];
                const int32_t x0 = cols[3 * x] * c, x1 = cols[3 * x + 1] * c;
                const int32_t w00 = (one - dy) * (one - dx), w10 = dy * (one - dx);
                const int32_t w01 = (one - dy) * dx, w11 = dy * dx;
                for (int32_t k = 0; k < c; ++k) {
                    const int32_t sum = row0[x0 + k] * w00 + row1[x0 + k] * w10 +
                                        row0[x1 + k] * w01 + row1[x1 + k] * w11;
                    const int32_t round = sum > 0 ? (1 << 19) : -(1 << 19);
                    output[k] = (int8_t)((sum + round) / (1 << 20));
                }
            }
        }
    }
}

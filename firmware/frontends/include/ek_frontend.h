/* On-device preprocessing: raw sensor data in, the model's int8 input tensor out.
 *
 * The device app calls only this header. Which frontend (audio MFCC or image) and which
 * variant is compiled in is decided at build time by the generated ek_frontend_config.h
 * and ek_frontend_tables.c that `edgekit.frontends.generate()` writes from the model's
 * preprocessing spec, the chosen firmware variant and the int8 model's input quantization.
 *
 * Raw formats:
 *   audio: int16 little-endian PCM at the spec's sample rate; shorter clips are zero
 *          padded, longer ones cut to the spec's clip length.
 *   image: uint8 H x W x 3 (RGB as the sensor delivers it, row-major). Either exactly the
 *          configured sensor resolution (EK_FE_IMAGE_SRC_W x EK_FE_IMAGE_SRC_H), or any
 *          resolution prefixed by a 4-byte header: uint16le width, uint16le height.
 *          (w*h*3 and 4+w*h*3 never collide: they differ modulo 3.)
 */
#ifndef EK_FRONTEND_H
#define EK_FRONTEND_H

#include <stddef.h>
#include <stdint.h>

enum {
    EK_FRONTEND_OK = 0,
    EK_FRONTEND_ERR_SIZE = -1,    /* raw_bytes does not fit the raw format */
    EK_FRONTEND_ERR_ARGS = -2,    /* NULL pointer */
};

typedef struct {
    const char *kind;         /* "mfcc" or "image" */
    const char *variant;      /* firmware variant name, "default" follows the spec exactly */
    const char *spec_hash;    /* hex prefix of the hash of (spec, variant, input quantization) */
    size_t output_bytes;      /* bytes written to model_input */
    size_t static_ram_bytes;  /* scratch buffers the frontend keeps in .bss (no raw buffer) */
    size_t raw_capacity;      /* bytes of the raw buffer */
} ek_frontend_info_t;

/* Where the device app puts a raw input before ek_frontend_run(): a static buffer sized
 * for the largest raw input this build accepts (audio: one clip; image: header + the
 * largest sensor frame given to the generator). *capacity receives its size in bytes. */
uint8_t *ek_frontend_raw_buffer(size_t *capacity);

/* Turn one raw input into the model's int8 input tensor. Returns EK_FRONTEND_OK or < 0.
 * raw may be the buffer above or any other memory (e.g. a preloaded blob). */
int ek_frontend_run(const void *raw, size_t raw_bytes, int8_t *model_input);

/* The variant name compiled in ("default", "fast-resize", ...). */
const char *ek_frontend_variant(void);

const ek_frontend_info_t *ek_frontend_info(void);

#endif

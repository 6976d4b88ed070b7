/* The contract between generated model code and the device app.
 *
 * `edgekit build` generates model.c (schedule of kernel calls, static arena) and
 * model_data.c (weights as const arrays in flash) from the int8 .tflite. The device app and
 * the frontends only ever use this header, never the generated internals.
 */
#ifndef EK_MODEL_H
#define EK_MODEL_H

#include <stddef.h>
#include <stdint.h>

enum { EK_TYPE_INT8 = 1, EK_TYPE_INT16 = 2, EK_TYPE_FLOAT32 = 3 };

typedef struct {
    int type;                /* EK_TYPE_* */
    int rank;
    int32_t dims[4];
    size_t bytes;
    float scale;             /* quantization of the tensor (per-tensor) */
    int32_t zero_point;
} ek_tensor_info_t;

typedef struct {
    const char *name;        /* model name from model.yaml */
    const char *hash;        /* hex SHA-256 prefix of the .tflite it was generated from */
    ek_tensor_info_t input;
    ek_tensor_info_t output;
    size_t arena_bytes;      /* statically planned activation memory */
    uint32_t n_ops;
} ek_model_info_t;

const ek_model_info_t *ek_model_info(void);
void *ek_model_input(void);        /* where the input tensor goes (inside the arena) */
const void *ek_model_output(void); /* valid after ek_model_invoke() returns 0 */
int ek_model_invoke(void);         /* 0 on success */

#endif

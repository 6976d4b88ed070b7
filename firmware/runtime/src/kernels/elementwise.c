/* edgekit-micro kernels: element-wise binary ops (ADD, SUB, MUL, MAXIMUM, MINIMUM), with
 * numpy-style broadcasting over 4-D NHWC shapes. Declarations: elementwise.h.
 *
 * The arithmetic follows TFLite Micro's reference integer kernels operation by operation
 * (not merely "close"): every rounding step is the same, so outputs are bit-exact. Tests in
 * tests/runtime and tests/codegen hold this against the tflite-micro interpreter.
 */
#include "elementwise.h"
#include "ek_simd.h"

#if EK_KERNELS_DSP
/* ADD's three requantizations without branches (the DSP build): mbqm(x, m, -e) with e >= 0
 * and |2x| < 2^31 is floor((t + 2^(e-1) - [x < 0 and e > 0]) / 2^e) for t = srdhm(x, m),
 * which SMMLAR gives from 2x (its rounded high word of 2x * m), with the addend added in the
 * same instruction. The sign of x stands for t's: they differ only where t = 0, whose rounding
 * is 0 either way (m >= 0). The output offset joins the output's addend as zp * 2^e. */
typedef struct {
    int32_t m, add, sign_mask, e;
} add_rq_t;

static inline int add_rq_ok(int32_t m, int32_t shift, int32_t e_max) { return m >= 0 && shift <= 0 && -shift <= e_max; }

static inline add_rq_t add_rq(int32_t m, int32_t shift, int32_t zp)
{
    const int32_t e = -shift;
    const add_rq_t r = {m, (int32_t)((e ? 1u << (e - 1) : 0u) + ((uint32_t)zp << e)), e ? -1 : 0, e};
    return r;
}

/* x2 is the doubled value. */
static inline int32_t add_rq_apply(const add_rq_t *r, int32_t x2)
{
    return ek_smmlar(x2, r->m, r->add + ((x2 >> 31) & r->sign_mask)) >> r->e;
}

/* The bounds that keep add_rq_apply exact: left_shift <= 20 (TFLM's int8 ADD uses 20) and
 * |x + offset| <= 255 keep the doubled inputs below 2^29 in magnitude, so each scaled input is
 * below 2^28 and twice their sum below 2^30; the output's e <= 21 keeps zp * 2^e below 2^28. */
static int add_fast(const ek_add_params_t *p, int32_t size, const int8_t *in1, const int8_t *in2, int8_t *output)
{
    const int32_t ls = p->left_shift + 1;
    if (ls > 21 || ls < 1 || p->input1_offset < -128 || p->input1_offset > 128 || p->input2_offset < -128 ||
        p->input2_offset > 128 || !add_rq_ok(p->input1_multiplier, p->input1_shift, 31) ||
        !add_rq_ok(p->input2_multiplier, p->input2_shift, 31) ||
        !add_rq_ok(p->output_multiplier, p->output_shift, 21))
        return 0;
    const add_rq_t r1 = add_rq(p->input1_multiplier, p->input1_shift, 0);
    const add_rq_t r2 = add_rq(p->input2_multiplier, p->input2_shift, 0);
    const add_rq_t ro = add_rq(p->output_multiplier, p->output_shift, p->output_offset);
    const int32_t off1 = p->input1_offset, off2 = p->input2_offset, lo = p->act_min, hi = p->act_max;
    for (int32_t i = 0; i < size; ++i) {
        const int32_t s1 = add_rq_apply(&r1, (int32_t)((uint32_t)(in1[i] + off1) << ls));
        const int32_t s2 = add_rq_apply(&r2, (int32_t)((uint32_t)(in2[i] + off2) << ls));
        output[i] = (int8_t)clamp_i32(add_rq_apply(&ro, (int32_t)((uint32_t)(s1 + s2) << 1)), lo, hi);
    }
    return 1;
}
#endif

void ek_add_s8(const ek_add_params_t *p, int32_t size, const int8_t *in1, const int8_t *in2,
               int8_t *output)
{
#if EK_KERNELS_DSP
    if (add_fast(p, size, in1, in2, output)) return;
#endif
    for (int32_t i = 0; i < size; ++i) {
        const int32_t v1 = (p->input1_offset + in1[i]) * (1 << p->left_shift);
        const int32_t v2 = (p->input2_offset + in2[i]) * (1 << p->left_shift);
        /* MultiplyByQuantizedMultiplierSmallerThanOneExp == ek_mbqm with shift <= 0. */
        const int32_t s1 = mbqm(v1, p->input1_multiplier, p->input1_shift);
        const int32_t s2 = mbqm(v2, p->input2_multiplier, p->input2_shift);
        const int32_t out = mbqm(s1 + s2, p->output_multiplier, p->output_shift) + p->output_offset;
        output[i] = (int8_t)clamp_i32(out, p->act_min, p->act_max);
    }
}

/* The broadcast walk of TFLM's Broadcast*4DSlow: every output element in NHWC order, each input
 * read through its strides (0 along a broadcast dimension). Element i of an input whose shape
 * equals the output's is read before element i of the output is written, so the generator may
 * give the output that input's memory. */
#define EK_BROADCAST_LOOP(bc, body)                                                        \
    do {                                                                                   \
        int8_t *out_ = output;                                                             \
        for (int32_t b_ = 0; b_ < (bc)->out.n; ++b_)                                       \
            for (int32_t y_ = 0; y_ < (bc)->out.h; ++y_)                                   \
                for (int32_t x_ = 0; x_ < (bc)->out.w; ++x_) {                             \
                    const int8_t *a_ = in1 + b_ * (bc)->stride1.n + y_ * (bc)->stride1.h +  \
                                       x_ * (bc)->stride1.w;                               \
                    const int8_t *c_ = in2 + b_ * (bc)->stride2.n + y_ * (bc)->stride2.h +  \
                                       x_ * (bc)->stride2.w;                               \
                    for (int32_t k_ = 0; k_ < (bc)->out.c; ++k_, ++out_) {                 \
                        const int32_t x1 = a_[k_ * (bc)->stride1.c];                       \
                        const int32_t x2 = c_[k_ * (bc)->stride2.c];                       \
                        body;                                                              \
                    }                                                                      \
                }                                                                          \
    } while (0)

/* ADD and SUB: both inputs rescaled to a common scale with 20 bits of headroom, then the
 * sum or difference requantized (TFLM's AddElementwise / SubElementwise). */
static inline int32_t scaled_input(int32_t v, int32_t offset, int32_t left_shift, int32_t m, int32_t s)
{
    return mbqm((offset + v) * (1 << left_shift), m, s);
}

static inline int8_t requant_sum(const ek_add_params_t *p, int32_t raw)
{
    return (int8_t)clamp_i32(mbqm(raw, p->output_multiplier, p->output_shift) + p->output_offset,
                             p->act_min, p->act_max);
}

void ek_add_broadcast_s8(const ek_add_params_t *p, const ek_broadcast_t *bc, const int8_t *in1,
                         const int8_t *in2, int8_t *output)
{
    EK_BROADCAST_LOOP(bc, *out_ = requant_sum(p,
        scaled_input(x1, p->input1_offset, p->left_shift, p->input1_multiplier, p->input1_shift) +
        scaled_input(x2, p->input2_offset, p->left_shift, p->input2_multiplier, p->input2_shift)));
}

void ek_sub_s8(const ek_add_params_t *p, const ek_broadcast_t *bc, const int8_t *in1,
               const int8_t *in2, int8_t *output)
{
    EK_BROADCAST_LOOP(bc, *out_ = requant_sum(p,
        scaled_input(x1, p->input1_offset, p->left_shift, p->input1_multiplier, p->input1_shift) -
        scaled_input(x2, p->input2_offset, p->left_shift, p->input2_multiplier, p->input2_shift)));
}

/* MUL: the product of the offset inputs requantized once (TFLM's MulElementwise). */
void ek_mul_s8(const ek_mul_params_t *p, const ek_broadcast_t *bc, const int8_t *in1,
               const int8_t *in2, int8_t *output)
{
    EK_BROADCAST_LOOP(bc, *out_ = (int8_t)clamp_i32(
        mbqm((p->input1_offset + x1) * (p->input2_offset + x2), p->output_multiplier, p->output_shift) +
            p->output_offset, p->act_min, p->act_max));
}

/* MAXIMUM and MINIMUM compare the raw int8 values, as TFLM does (inputs and output share one
 * scale and zero point; the generator checks it). */
void ek_maximum_s8(const ek_broadcast_t *bc, const int8_t *in1, const int8_t *in2, int8_t *output)
{
    EK_BROADCAST_LOOP(bc, *out_ = (int8_t)(x1 > x2 ? x1 : x2));
}

void ek_minimum_s8(const ek_broadcast_t *bc, const int8_t *in1, const int8_t *in2, int8_t *output)
{
    EK_BROADCAST_LOOP(bc, *out_ = (int8_t)(x1 < x2 ? x1 : x2));
}

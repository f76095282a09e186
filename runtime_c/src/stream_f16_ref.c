/* Streamed image input (mf_stream.h): the band a streamed model's first op reads, float image
 * rows into the FP16 band of an FP16 build (each value rounded once, as the cast at an FP16 build's
 * input rounds it). Body: stream_ref.inc. */
#include "mf_stream.h"

#if defined(__FLT16_MAX__)
#define MF_T mf_f16
#define MF_ROW_T float
#define MF_SHIFT 0
#define MF_ROW_FN mf_row_f32_fn
#define MF_REF(op) op##_f16_ref
#include "stream_ref.inc"

int mf_stream_cls_f16_ref(const mf_f16 *cls, const mf_f16 *pos, mf_f16 *out, int32_t dim)
{
    if (!out || dim < 1) return MF_EARG;
    for (int32_t o = 0; o < dim; ++o)
        out[o] = (mf_f16)((cls ? (float)cls[o] : 0.0f) + (pos ? (float)pos[o] : 0.0f));
    return MF_OK;
}
#endif

/* Streamed image input (mf_stream.h): the band a streamed model's first op reads, f32 image
 * rows. Body: stream_ref.inc. */
#include "mf_stream.h"

#define MF_T float
#define MF_ROW_T float
#define MF_SHIFT 0
#define MF_ROW_FN mf_row_f32_fn
#define MF_REF(op) op##_f32_ref
#include "stream_ref.inc"

int mf_stream_cls_f32_ref(const float *cls, const float *pos, float *out, int32_t dim)
{
    if (!out || dim < 1) return MF_EARG;
    for (int32_t o = 0; o < dim; ++o) out[o] = (cls ? cls[o] : 0.0f) + (pos ? pos[o] : 0.0f);
    return MF_OK;
}

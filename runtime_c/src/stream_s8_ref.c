/* Streamed image input (mf_stream.h): the band a streamed model's first op reads, s8 image
 * rows. Body: stream_ref.inc. */
#include "mf_stream.h"

#define MF_T int8_t
#define MF_ROW_T int8_t
#define MF_SHIFT 0
#define MF_ROW_FN mf_row_s8_fn
#define MF_REF(op) op##_s8_ref
#include "stream_ref.inc"

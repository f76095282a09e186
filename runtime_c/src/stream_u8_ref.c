/* Streamed image input (mf_stream.h): the band a streamed model's first op reads, u8 image
 * rows into the int8 band (each value minus 128: exact). Body: stream_ref.inc. */
#include "mf_stream.h"

#define MF_T int8_t
#define MF_ROW_T uint8_t
#define MF_SHIFT 128
#define MF_ROW_FN mf_row_u8_fn
#define MF_REF(op) op##_u8_ref
#include "stream_ref.inc"

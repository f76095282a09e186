/* Patch-based first stages (mf_patch.h): the first layer's band from a streamed image, a uint8
 * image into the int8 band, each value minus 128. Body: patch_rows.inc. */
#include "mf_patch.h"

#define MF_T int8_t
#define MF_ROW_T uint8_t
#define MF_ROW_FN mf_row_u8_fn
#define MF_SHIFT 128
#define MF_REF(op) op##_u8_ref
#include "patch_rows.inc"

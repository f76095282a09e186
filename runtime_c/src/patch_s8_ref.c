/* Patch-based first stages (mf_patch.h): the first layer's band from a streamed image, int8 rows of a quantised model.
 * Body: patch_rows.inc. */
#include "mf_patch.h"

#define MF_T int8_t
#define MF_ROW_T int8_t
#define MF_ROW_FN mf_row_s8_fn
#define MF_SHIFT 0
#define MF_REF(op) op##_s8_ref
#include "patch_rows.inc"

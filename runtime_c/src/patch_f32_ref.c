/* Patch-based first stages (mf_patch.h): the first layer's band from a streamed image, FP32.
 * Body: patch_rows.inc. */
#include "mf_patch.h"

#define MF_T float
#define MF_ROW_T float
#define MF_ROW_FN mf_row_f32_fn
#define MF_SHIFT 0
#define MF_REF(op) op##_f32_ref
#include "patch_rows.inc"

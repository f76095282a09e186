/* Patch-based first stages (mf_patch.h): the first layer's band from a streamed image, float rows into an FP16 build's band.
 * Body: patch_rows.inc. */
#include "mf_patch.h"

#if defined(__FLT16_MAX__)
#define MF_T mf_f16
#define MF_ROW_T float
#define MF_ROW_FN mf_row_f32_fn
#define MF_SHIFT 0
#define MF_REF(op) op##_f16_ref
#include "patch_rows.inc"
#else
typedef int mf_patch_f16_unused; /* ISO C: a translation unit is never empty */
#endif

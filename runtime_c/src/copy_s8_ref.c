/* Strided, index-mapped copy on int8 (body: copy_ref.inc): Transpose, Slice, Pad... of
 * quantised tensors, whose bytes move unchanged. */
#include "mf_int8.h"
#define MF_T int8_t
#define MF_REF(op) op##_s8_ref
#include "copy_ref.inc"

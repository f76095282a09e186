/* The kernel tests' private int8 reference (s8_ref.c). */
#ifndef KB_S8_REF_H
#define KB_S8_REF_H

#include "mf_int8.h"

int kb_conv2d_s8_ref(const int8_t *x, const int8_t *w, const int32_t *bias, int8_t *y,
                     const mf_conv2d_s8_desc *d);
int kb_fc_s8_ref(const int8_t *a, const int8_t *w, const int32_t *bias, int8_t *y,
                 const mf_fc_s8_desc *d);

int kb_conv2d_s8_refs(const int8_t *x, const int8_t *w, const int32_t *bias, int8_t *y,
                      const mf_conv2d_s8_desc *d, void *scratch);
int32_t kb_conv2d_s8_refs_scratch_bytes(const mf_conv2d_s8_desc *d);
int kb_fc_s8_refs(const int8_t *a, const int8_t *w, const int32_t *bias, int8_t *y,
                  const mf_fc_s8_desc *d, void *scratch);
int32_t kb_fc_s8_refs_scratch_bytes(const mf_fc_s8_desc *d);

#endif

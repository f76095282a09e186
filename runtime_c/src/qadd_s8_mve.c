/* int8 Add (mf_add_s8, mf_int8.h) and the Add of a bias row (mf_add_row_s8, mf_int8_vit.h: the
 * row's terms once per chunk of 64 columns, on the stack, for every row) for
 * Helium: four int32 lanes, each of the reference's three requantisations one VMULH and one
 * rounding VRSHL with constants prepared once per call (qrq_s8.inc); the tail by VCTP32
 * predication. Bit-exact with _ref; the reference runs where the prepared form does not
 * apply. */
#include "mf_int8_vit.h"

#if defined(__ARM_FEATURE_MVE)
#include <arm_mve.h>

#include "qrq_s8.inc"
#include "qadd_s8_drive.inc"

static inline int32x4_t rq4(int32x4_t v, const mf_qrq *r)
{
    return vrshlq_n_s32(vmulhq_s32(vshlq_r_s32(v, r->pre), vdupq_n_s32(r->mult)), -r->post);
}

static void add_n(const int8_t *a, const int8_t *b, int8_t *y, int32_t n, const mf_add_s8_prep *k)
{
    for (int32_t i = 0; i < n; i += 4) { /* y may be a or b: both are loaded before the store */
        const mve_pred16_t p = vctp32q((uint32_t)(n - i));
        const int32x4_t va = vshlq_r_s32(vsubq_n_s32(vldrbq_z_s32(a + i, p), k->a_zp), k->a_ls);
        const int32x4_t vb = vshlq_r_s32(vsubq_n_s32(vldrbq_z_s32(b + i, p), k->b_zp), k->b_ls);
        int32x4_t v = vaddq_n_s32(rq4(vaddq_s32(rq4(va, &k->a), rq4(vb, &k->b)), &k->o), k->zp);
        v = vminq_s32(vmaxq_s32(v, vdupq_n_s32(k->lo)), vdupq_n_s32(k->hi));
        vstrbq_p_s32(y + i, v, p);
    }
}

/* an add whose b side is the bias row's terms tb (computed once per chunk of columns) */

static void add_terms(const int8_t *a, const int32_t *tb, int8_t *y, int32_t n, const mf_add_s8_prep *k)
{
    for (int32_t i = 0; i < n; i += 4) { /* y may be x: a vector is loaded before it is stored */
        const mve_pred16_t p = vctp32q((uint32_t)(n - i));
        const int32x4_t va = vshlq_r_s32(vsubq_n_s32(vldrbq_z_s32(a + i, p), k->a_zp), k->a_ls);
        int32x4_t v = vaddq_n_s32(rq4(vaddq_s32(rq4(va, &k->a), vldrwq_z_s32(tb + i, p)), &k->o), k->zp);
        v = vminq_s32(vmaxq_s32(v, vdupq_n_s32(k->lo)), vdupq_n_s32(k->hi));
        vstrbq_p_s32(y + i, v, p);
    }
}

static void terms(const int8_t *row, int32_t *tb, int32_t w, const mf_add_s8_prep *k)
{
    for (int32_t c = 0; c < w; c += 4) {
        const mve_pred16_t p = vctp32q((uint32_t)(w - c));
        const int32x4_t vb = vshlq_r_s32(vsubq_n_s32(vldrbq_z_s32(row + c, p), k->b_zp), k->b_ls);
        vstrwq_p_s32(tb + c, rq4(vb, &k->b), p);
    }
}

int mf_add_s8_mve(const int8_t *a, const int8_t *b, int8_t *y, const mf_add_s8_desc *d)
{
    return mf_add_s8_drive(a, b, y, d, add_n);
}

int mf_add_row_s8_mve(const int8_t *x, const int8_t *row, int8_t *y, int32_t rows, const mf_add_s8_desc *d)
{
    return mf_add_row_s8_drive(x, row, y, rows, d, terms, add_terms);
}
#endif

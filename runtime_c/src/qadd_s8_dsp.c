/* int8 Add (mf_add_s8, mf_int8.h) and the Add of a bias row (mf_add_row_s8, mf_int8_vit.h: the
 * row's terms once per chunk of 64 columns, on the stack, for every row) for
 * Cortex-M4/M7: the reference's three requantisations per element, each one SMMUL, an add
 * and a shift with constants prepared once per call (qrq_s8.inc) instead of a 64-bit product
 * rounded by a variable shift; SSAT clamps when there is no activation. Bit-exact with _ref;
 * the reference runs where the prepared form does not apply. */
#include "mf_int8_vit.h"

#if defined(__ARM_FEATURE_DSP)
#include <arm_acle.h>

#include "qrq_s8.inc"
#include "qadd_s8_drive.inc"

/* the constants in locals: the byte stores could alias anything reached through k */
#define ADD_LOOP(store)                                                                               \
    for (int32_t i = 0; i < n; ++i) { /* y may be a or b: both are read before y[i] is written */ \
        const int32_t acc = mf_qrq_apply((a[i] - azp) * (1 << als), &ra) +                         \
                            mf_qrq_apply((b[i] - bzp) * (1 << bls), &rb);                          \
        const int32_t v = zp + mf_qrq_apply(acc, &ro);                                              \
        y[i] = (store);                                                                             \
    }

static void add_n(const int8_t *a, const int8_t *b, int8_t *y, int32_t n, const mf_add_s8_prep *k)
{
    const mf_qrq ra = k->a, rb = k->b, ro = k->o;
    const int32_t azp = k->a_zp, bzp = k->b_zp, als = k->a_ls, bls = k->b_ls, zp = k->zp, lo = k->lo, hi = k->hi;
    if (lo == -128 && hi == 127) {
        ADD_LOOP((int8_t)__ssat(v, 8))
    } else {
        ADD_LOOP(mf_clamp_s8(v, lo, hi))
    }
}

/* an add whose b side is the bias row's terms tb (computed once per chunk of columns) */
#define ADD_TERMS_LOOP(store)                                                                        \
    for (int32_t i = 0; i < n; ++i) { /* y may be x: x[i] is read before y[i] is written */       \
        const int32_t v = zp + mf_qrq_apply(mf_qrq_apply((a[i] - azp) * (1 << als), &ra) + tb[i], &ro); \
        y[i] = (store);                                                                              \
    }

static void add_terms(const int8_t *a, const int32_t *tb, int8_t *y, int32_t n, const mf_add_s8_prep *k)
{
    const mf_qrq ra = k->a, ro = k->o;
    const int32_t azp = k->a_zp, als = k->a_ls, zp = k->zp, lo = k->lo, hi = k->hi;
    if (lo == -128 && hi == 127) {
        ADD_TERMS_LOOP((int8_t)__ssat(v, 8))
    } else {
        ADD_TERMS_LOOP(mf_clamp_s8(v, lo, hi))
    }
}

static void terms(const int8_t *row, int32_t *tb, int32_t w, const mf_add_s8_prep *k)
{
    for (int32_t c = 0; c < w; ++c) tb[c] = mf_qrq_apply((row[c] - k->b_zp) * (1 << k->b_ls), &k->b);
}

int mf_add_s8_dsp(const int8_t *a, const int8_t *b, int8_t *y, const mf_add_s8_desc *d)
{
    return mf_add_s8_drive(a, b, y, d, add_n);
}

int mf_add_row_s8_dsp(const int8_t *x, const int8_t *row, int8_t *y, int32_t rows, const mf_add_s8_desc *d)
{
    return mf_add_row_s8_drive(x, row, y, rows, d, terms, add_terms);
}
#endif

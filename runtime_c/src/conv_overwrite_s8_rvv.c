/* int8 pointwise convolution over its own input for RISC-V vector (the contract of
 * mf_conv2d_overwrite_s8_ref, mf_int8.h): MF_S8_COLS_RVV pixels at a time, their c_in input
 * rows widened into the int16 panel [c_in][cols] of mf_gemm_s8_rvv (each panel row is a
 * contiguous run of an input channel: vle8, vsext, vse16), all c_out outputs of those
 * pixels into scratch by the vwmacc GEMM, then over the consumed input. */
#include "mf_int8_simd.h"

/* the int16 panel (c_in x MF_S8_COLS_RVV), then c_out x MF_S8_COLS_RVV outputs */
int32_t mf_conv2d_overwrite_s8_rvv_scratch_bytes(const mf_conv2d_s8_desc *d)
{
    return mf_conv2d_overwrite_s8_pointwise(d)
               ? MF_S8_COLS_RVV * (d->c_in * (int32_t)sizeof(int16_t) + d->c_out)
               : 0;
}

#if defined(__riscv_vector)
int mf_conv2d_overwrite_s8_rvv(const int8_t *x, const int8_t *w, const int32_t *bias, int8_t *y,
                               const mf_conv2d_s8_desc *d, void *scratch)
{
    if (!x || !w || !y || !d || !scratch || !d->rq.mult || !d->rq.shift) return MF_EARG;
    if (!mf_conv2d_overwrite_s8_pointwise(d)) return MF_ESHAPE;
    int16_t *panel = (int16_t *)scratch;
    int8_t *tile = (int8_t *)(panel + MF_S8_COLS_RVV * d->c_in);
    const int32_t hw = d->h_in * d->w_in, c_in = d->c_in;
    for (int32_t n = 0; n < d->n; ++n) {
        const int8_t *xn = x + (size_t)n * c_in * hw;
        int8_t *yn = y + (size_t)n * d->c_out * hw;
        for (int32_t p0 = 0; p0 < hw; p0 += MF_S8_COLS_RVV) {
            const int32_t np = hw - p0 < MF_S8_COLS_RVV ? hw - p0 : MF_S8_COLS_RVV;
            for (int32_t ci = 0; ci < c_in; ++ci) {
                const int8_t *src = xn + (size_t)ci * hw + p0;
                int16_t *dst = panel + ci * MF_S8_COLS_RVV;
                for (int32_t j = 0; j < np;) {
                    const size_t vl = __riscv_vsetvl_e8m1((size_t)(np - j));
                    __riscv_vse16_v_i16m2(dst + j, __riscv_vsext_vf2_i16m2(__riscv_vle8_v_i8m1(src + j, vl), vl), vl);
                    j += (int32_t)vl;
                }
            }
            mf_gemm_s8_rvv(w, c_in, d->c_out, panel, MF_S8_COLS_RVV, np, bias, tile, np, &d->rq, 0);
            /* these pixels' inputs are in the panel: their y rows may now overwrite x */
            for (int32_t oc = 0; oc < d->c_out; ++oc) /* a vector each (memcpy: a call each) */
                for (int32_t j = 0; j < np;) {
                    const size_t vl = __riscv_vsetvl_e8m1((size_t)(np - j));
                    __riscv_vse8_v_i8m1(yn + (size_t)oc * hw + p0 + j, __riscv_vle8_v_i8m1(tile + oc * np + j, vl), vl);
                    j += (int32_t)vl;
                }
        }
    }
    return MF_OK;
}
#endif

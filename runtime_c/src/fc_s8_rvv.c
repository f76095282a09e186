/* int8 fully connected layer for RISC-V vector (RVV 1.0): each output is a dot product of
 * an activation row and a weight row, both contiguous in k: vwmul (int8 x int8 -> int16,
 * exact) and vwredsum into an int32 running sum, 32 k per step at LMUL=2 (VLEN=128); vsetvl
 * takes the k tail. No scratch. */
#include "mf_int8_simd.h"

int32_t mf_fc_s8_rvv_scratch_bytes(const mf_fc_s8_desc *d)
{
    (void)d;
    return 0;
}

#if defined(__riscv_vector)
#include <riscv_vector.h>

int mf_fc_s8_rvv(const int8_t *a, const int8_t *w, const int32_t *bias, int8_t *y,
                 const mf_fc_s8_desc *d, void *scratch)
{
    (void)scratch;
    if (!mf_s8_fc_args_ok(a, w, y, d)) return MF_EARG;
    for (int32_t j = 0; j < d->n; ++j) {
        const mf_s8_rq_ch q = mf_s8_rq_prepare(&d->rq, j);
        for (int32_t i = 0; i < d->m; ++i) {
            const int8_t *ar = a + i * d->k, *wr = w + j * d->k;
            vint32m1_t acc = __riscv_vmv_s_x_i32m1(bias ? bias[j] : 0, 1);
            for (int32_t kk = 0, n = d->k; n > 0;) {
                const size_t vl = __riscv_vsetvl_e8m2((size_t)n);
                const vint16m4_t prod = __riscv_vwmul_vv_i16m4(__riscv_vle8_v_i8m2(ar + kk, vl),
                                                               __riscv_vle8_v_i8m2(wr + kk, vl), vl);
                acc = __riscv_vwredsum_vs_i16m4_i32m1(prod, acc, vl);
                kk += (int32_t)vl;
                n -= (int32_t)vl;
            }
            y[i * d->n + j] = mf_s8_rq_apply(__riscv_vmv_x_s_i32m1_i32(acc), &q);
        }
    }
    return MF_OK;
}
#endif

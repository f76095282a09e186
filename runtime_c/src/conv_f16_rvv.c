/* FP16 convolution for RISC-V vector (RVV 1.0, Zvfh): im2col + the 8-row panel of
 * gemm_f16_rvv.c; depthwise is depthwise_f16_rvv.c. VLEN-agnostic; tails by vsetvl. */
#if defined(__riscv_vector)
#include <riscv_vector.h>

#include "mf_depthwise.h"
#include "mf_fast.h"

int mf_conv2d_f16_rvv(const mf_f16 *x, const mf_f16 *w, const mf_f16 *bias, mf_f16 *y,
                      const mf_conv2d_desc *d, mf_f16 *scratch)
{
    if (!x || !w || !y || !d || d->groups < 1) return MF_EARG;
    if (mf_conv2d_is_depthwise(d)) return mf_depthwise_f16_rvv(x, w, bias, y, d, NULL);
    return mf_conv2d_im2col_f16(x, w, bias, y, d, scratch, MF_CONV_COLS_RVV, mf_gemm_panel_f16_rvv);
}
#endif

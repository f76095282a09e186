/* int8 MatMul of two activations (mf_int8_vit.h): both zero points subtracted, an int32
 * accumulator (|acc| <= k * 255^2 < 2^31 for k <= 33,000), one requantisation. */
#include "mf_int8_vit.h"

#include "qmatmul_s8_row.inc"

int mf_matmul_s8_ref(const int8_t *a, const int8_t *b, int8_t *y, const mf_matmul_s8_desc *d)
{
    const int st = mf_matmul_s8_args(a, b, y, d);
    if (st != MF_OK) return st;
    for (int32_t bb = 0; bb < d->batch; ++bb) {
        const int8_t *ab = a + (size_t)bb * d->a_stride;
        const int8_t *bm = b + (size_t)bb * d->b_stride;
        int8_t *yb = y + (size_t)bb * d->m * d->n;
        for (int32_t i = 0; i < d->m; ++i) {
            const int8_t *ar = ab + (size_t)i * d->k;
            for (int32_t j = 0; j < d->n; ++j) {
                int32_t acc = 0;
                if (d->b_trans) {
                    const int8_t *br = bm + (size_t)j * mf_matmul_s8_ldb(d);
                    for (int32_t t = 0; t < d->k; ++t) acc += (ar[t] - d->a_zp) * (br[t] - d->b_zp);
                } else {
                    for (int32_t t = 0; t < d->k; ++t) acc += (ar[t] - d->a_zp) * (bm[(size_t)t * mf_matmul_s8_ldb(d) + j] - d->b_zp);
                }
                yb[(size_t)i * d->n + j] = mf_matmul_s8_out(acc, d);
            }
        }
    }
    return MF_OK;
}

/* Strided, index-mapped copy, FP16: the one data-movement kernel. */
#include "mf_f16.h"

int mf_copy_f16_ref(const mf_f16 *x, mf_f16 *y, const mf_copy_desc *d)
{
    if (!x || !y || !d || d->rank < 1 || d->rank > MF_MAX_RANK) return MF_EARG;
    const int32_t r = d->rank;
    int32_t idx[MF_MAX_RANK] = {0};
    int32_t outer = 1;
    for (int32_t i = 0; i < r - 1; ++i) outer *= d->shape[i];
    const int32_t inner = d->shape[r - 1];
    const int32_t *last_index = d->index[r - 1];
    const int32_t si = d->in_stride[r - 1], so = d->out_stride[r - 1];
    for (int32_t o = 0; o < outer; ++o) {
        int32_t in_off = d->in_offset, out_off = d->out_offset, fill_row = 0;
        for (int32_t i = 0; i < r - 1; ++i) {
            int32_t c = d->index[i] ? d->index[i][idx[i]] : idx[i];
            if (c < 0) fill_row = 1;
            in_off += c * d->in_stride[i];
            out_off += idx[i] * d->out_stride[i];
        }
        mf_f16 *py = y + out_off;
        if (fill_row) {
            for (int32_t j = 0; j < inner; ++j) py[j * so] = d->fill;
        } else if (last_index) {
            for (int32_t j = 0; j < inner; ++j) {
                int32_t c = last_index[j];
                py[j * so] = c < 0 ? d->fill : x[in_off + c * si];
            }
        } else if (si == 1 && so == 1) {
            const mf_f16 *px = x + in_off;
            for (int32_t j = 0; j < inner; ++j) py[j] = px[j];
        } else {
            const mf_f16 *px = x + in_off;
            for (int32_t j = 0; j < inner; ++j) py[j * so] = px[j * si];
        }
        for (int32_t i = r - 2; i >= 0; --i) {
            if (++idx[i] < d->shape[i]) break;
            idx[i] = 0;
        }
    }
    return MF_OK;
}

/* Internals of the Helium (Cortex-M55 MVE) int8 kernels (conv_s8_mve.c, fc_s8_mve.c,
 * conv_overwrite_s8_mve.c over gemm_s8_mve.c). The public contract is mf_int8.h; nothing
 * here is called by generated code.
 *
 * The GEMM multiplies weight rows (k contiguous, the weights' OIHW order) by a panel of
 * MF_S8_COLS_MVE output pixels. VMLADAVA.S8 sums 16 int8 products into a scalar, so a
 * tile of 2 weight rows x 4 pixels keeps 8 sums in general registers and reads per 16 k
 * 2 weight vectors and 4 pixel vectors (6 loads, 8 VMLADAVAs: 128 MACs). To read the 4
 * pixel vectors from one pointer with immediate offsets, the panel is interleaved: groups
 * of 4 pixels, and in a group, for each 16 k, the 4 pixels' 16 bytes one after another
 * (mf_s8_panel_mve_at). Two row pointers, one panel pointer, 8 sums and the loop register
 * are 12 of the 13 general registers clang leaves us (r7 is its frame pointer). */
#ifndef MF_INT8_MVE_H
#define MF_INT8_MVE_H

#include "mf_int8_simd.h"

/* k rounded up to whole 16-byte vectors: a pixel's stride inside a panel group */
static inline int32_t mf_s8_k16(int32_t k) { return (k + 15) & ~15; }

/* Offset of element kk of pixel j's column in a panel whose columns hold k16 bytes. */
static inline int32_t mf_s8_panel_mve_at(int32_t j, int32_t kk, int32_t k16)
{
    return (j >> 2) * 4 * k16 + (kk >> 4) * 64 + (j & 3) * 16 + (kk & 15);
}

/* y[r * rs + j] = requantised(bias[r] + sum_k w[r * k + k'] * column j), r < rows,
 * j < cols <= MF_S8_COLS_MVE, per-channel constants at ch0 + r. The panel's bytes past k
 * in each column are never read (the last vector of each column is predicated). */
void mf_gemm_s8_mve(const int8_t *w, int32_t k, int32_t rows, const int8_t *panel,
                    int32_t cols, const int32_t *bias, int8_t *y, int32_t rs,
                    const mf_requant_s8 *rq, int32_t ch0);

/* One pixel's column into the panel slot dst (mf_s8_panel_mve_at(j, 0, k16)): element i is
 * src[offs[i]]; offs holds k16 entries (those past k are never used). */
void mf_s8_gather_col_mve(const int8_t *src, const uint16_t *offs, int32_t k, int8_t *dst);

/* The same for the four pixels of a panel group, pixel j's source at src + j * step: each
 * offset vector is loaded once for the four. */
void mf_s8_gather_cols4_mve(const int8_t *src, int32_t step, const uint16_t *offs, int32_t k,
                            int8_t *dst);

/* rows x n sums of one channel (row stride as) to y (rows contiguous), four per vector,
 * exactly mf_requant. */
void mf_s8_rq_rows_mve(const int32_t *sums, int32_t rows, int32_t n, int32_t as, int8_t *y,
                       const mf_s8_rq_ch *q);

#endif

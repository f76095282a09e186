/* int8 GEMM core for Helium (Cortex-M55 MVE), shared by conv_s8_mve.c and fc_s8_mve.c.
 * Both operands are int8 with k contiguous (weight rows; im2col panel columns or activation
 * rows), so every output is a dot product: VMLADAVA.S8 multiplies 16 int8 lanes and adds
 * all 16 products into a scalar int32 accumulator. Tile: 2 rows x 3 columns = 6 scalar
 * accumulators; per 16 k, 5 vector loads and 6 VMLADAVAs for 96 MACs (~7 MACs per
 * instruction as clang allocates it, one pointer spilled; 8 Q registers and the 14 general
 * ones bound the tile). The k tail is predicated (vctp8q), which clang turns into a
 * tail-predicated low-overhead loop (DLSTP/LETP). The sums of a row's columns are then
 * requantised together, four per vector (mf_s8_rq_rows_mve). */
#include "mf_int8_simd.h"

#if defined(__ARM_FEATURE_MVE)
#include <arm_mve.h>

/* rows x n sums (row stride as) of one channel to y (rows contiguous), four at a time. When
 * the shift is 32 or more (scales below 1/2, the usual case) the rounding term of
 * mf_requant only touches the high word of the 64-bit product, so VMULH (the high word,
 * floored) plus 2^(rs - 33) and an arithmetic shift by rs - 32 is exact; at rs = 32 it is
 * VRMULH. Larger scales take the scalar path. */
void mf_s8_rq_rows_mve(const int32_t *sums, int32_t rows, int32_t n, int32_t as, int8_t *y,
                       const mf_s8_rq_ch *q)
{
    if (q->rs < 32) {
        mf_s8_rq_rows(sums, rows, n, as, y, n, 1, q);
        return;
    }
    const int32x4_t lo = vdupq_n_s32(q->lo), hi = vdupq_n_s32(q->hi);
    const int32x4_t sh = vdupq_n_s32(32 - q->rs);
    const int32x4_t mult = vdupq_n_s32(q->mult);
    const int32_t half = q->rs > 32 ? 1 << (q->rs - 33) : 0, zp = q->zp;
    for (int32_t r = 0; r < rows; ++r, sums += as, y += n)
        for (int32_t i = 0; i < n; i += 4) {
            const mve_pred16_t p = vctp32q((uint32_t)(n - i));
            const int32x4_t a = vldrwq_z_s32(sums + i, p);
            int32x4_t v = q->rs == 32 ? vrmulhq_s32(a, mult)
                                      : vshlq_s32(vaddq_n_s32(vmulhq_s32(a, mult), half), sh);
            v = vminq_s32(vmaxq_s32(vaddq_n_s32(v, zp), lo), hi);
            vstrbq_p_s32(y + i, v, p);
        }
}

#define TILE(R, C) \
    static inline __attribute__((always_inline)) void tile_##R##x##C( \
        const int8_t *w, int32_t k, const int8_t *b, int32_t ldb, int32_t acc[R][C]) \
    { \
        const int8_t *wp[R], *bp[C]; \
        for (int r = 0; r < R; ++r) wp[r] = w + r * k; \
        for (int c = 0; c < C; ++c) bp[c] = b + c * ldb; \
        for (int32_t n = k; n > 0; n -= 16) { \
            const mve_pred16_t p = vctp8q((uint32_t)n); \
            int8x16_t wv[R], bv[C]; \
            for (int r = 0; r < R; ++r) { wv[r] = vldrbq_z_s8(wp[r], p); wp[r] += 16; } \
            for (int c = 0; c < C; ++c) { bv[c] = vldrbq_z_s8(bp[c], p); bp[c] += 16; } \
            for (int r = 0; r < R; ++r) \
                for (int c = 0; c < C; ++c) acc[r][c] = vmladavaq_p_s8(acc[r][c], wv[r], bv[c], p); \
        } \
    }

TILE(2, 3)
TILE(2, 1)
TILE(1, 3)
TILE(1, 1)

/* sums of a tile into the rows' sum buffers (requantised together afterwards) */
#define RUN(R, C) do { \
        int32_t acc[R][C]; \
        for (int r_ = 0; r_ < R; ++r_) \
            for (int c_ = 0; c_ < C; ++c_) acc[r_][c_] = bias ? bias[r + r_] : 0; \
        tile_##R##x##C(w + r * k, k, b + j * ldb, ldb, acc); \
        for (int r_ = 0; r_ < R; ++r_) \
            for (int c_ = 0; c_ < C; ++c_) sums[r_][j + c_] = acc[r_][c_]; \
    } while (0)

static void store_rows(int32_t sums[2][MF_S8_COLS_MVE], int32_t nr, int32_t cols, int8_t *y,
                       int32_t rs, int32_t cs, const mf_requant_s8 *rq, int32_t ch)
{
    for (int32_t r_ = 0; r_ < nr; ++r_) {
        const mf_s8_rq_ch q = mf_s8_rq_prepare(rq, ch + r_);
        if (cols < 4) /* a fully connected layer's single row: no call per output */
            for (int32_t j = 0; j < cols; ++j) y[r_ * rs + j * cs] = mf_s8_rq_apply(sums[r_][j], &q);
        else if (cs == 1)
            mf_s8_rq_rows_mve(sums[r_], 1, cols, 0, y + r_ * rs, &q);
        else
            mf_s8_rq_rows(sums[r_], 1, cols, 0, y + r_ * rs, 0, cs, &q);
    }
}

void mf_gemm_s8_mve(const int8_t *w, int32_t k, int32_t rows, const int8_t *b, int32_t ldb,
                    int32_t cols, const int32_t *bias, int8_t *y, int32_t rs, int32_t cs,
                    const mf_requant_s8 *rq, int32_t ch0)
{
    int32_t sums[2][MF_S8_COLS_MVE];
    for (int32_t c0 = 0; c0 < cols; c0 += MF_S8_COLS_MVE, b += MF_S8_COLS_MVE * ldb,
                 y += MF_S8_COLS_MVE * cs) {
        const int32_t nc = cols - c0 < MF_S8_COLS_MVE ? cols - c0 : MF_S8_COLS_MVE;
        int32_t r = 0;
        for (; r + 2 <= rows; r += 2) {
            int32_t j = 0;
            for (; j + 3 <= nc; j += 3) RUN(2, 3);
            for (; j < nc; ++j) RUN(2, 1);
            store_rows(sums, 2, nc, y + r * rs, rs, cs, rq, ch0 + r);
        }
        for (; r < rows; ++r) {
            int32_t j = 0;
            for (; j + 3 <= nc; j += 3) RUN(1, 3);
            for (; j < nc; ++j) RUN(1, 1);
            store_rows(sums, 1, nc, y + r * rs, rs, cs, rq, ch0 + r);
        }
    }
}
#endif

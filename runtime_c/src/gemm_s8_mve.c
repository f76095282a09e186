/* int8 GEMM core for Helium (Cortex-M55 MVE), shared by conv_s8_mve.c and fc_s8_mve.c.
 * Both operands are int8 with k contiguous (weight rows; im2col panel columns or activation
 * rows), so every output is a dot product: VMLADAVA.S8 multiplies 16 int8 lanes and adds
 * all 16 products into a scalar int32 accumulator. Tile: 2 rows x 3 columns = 6 scalar
 * accumulators; per 16 k, 5 vector loads and 6 VMLADAVAs for 96 MACs (~8.7 MACs per
 * instruction; 8 Q registers and the 14 general ones bound the tile). The k tail is
 * predicated (vctp8q), which clang turns into a tail-predicated low-overhead loop
 * (DLSTP/LETP). */
#include "mf_int8_simd.h"

#if defined(__ARM_FEATURE_MVE)
#include <arm_mve.h>

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

#define RUN(R, C) do { \
        int32_t acc[R][C]; \
        for (int r_ = 0; r_ < R; ++r_) \
            for (int c_ = 0; c_ < C; ++c_) acc[r_][c_] = bias ? bias[r + r_] : 0; \
        tile_##R##x##C(w + r * k, k, b + j * ldb, ldb, acc); \
        for (int r_ = 0; r_ < R; ++r_) \
            for (int c_ = 0; c_ < C; ++c_) \
                y[(r + r_) * rs + (j + c_) * cs] = mf_s8_rq_apply(acc[r_][c_], &q[r_]); \
    } while (0)

void mf_gemm_s8_mve(const int8_t *w, int32_t k, int32_t rows, const int8_t *b, int32_t ldb,
                    int32_t cols, const int32_t *bias, int8_t *y, int32_t rs, int32_t cs,
                    const mf_requant_s8 *rq, int32_t ch0)
{
    int32_t r = 0;
    for (; r + 2 <= rows; r += 2) {
        const mf_s8_rq_ch q[2] = {mf_s8_rq_prepare(rq, ch0 + r), mf_s8_rq_prepare(rq, ch0 + r + 1)};
        int32_t j = 0;
        for (; j + 3 <= cols; j += 3) RUN(2, 3);
        for (; j < cols; ++j) RUN(2, 1);
    }
    for (; r < rows; ++r) {
        const mf_s8_rq_ch q[1] = {mf_s8_rq_prepare(rq, ch0 + r)};
        int32_t j = 0;
        for (; j + 3 <= cols; j += 3) RUN(1, 3);
        for (; j < cols; ++j) RUN(1, 1);
    }
}
#endif

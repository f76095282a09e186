/* Internals shared by the SIMD int8 kernels (conv_s8_*.c, fc_s8_*.c): the GEMM cores each
 * ISA's convolution and fully connected layers reduce to, and their tile sizes. The public
 * contract is mf_int8.h; nothing here is called by generated code.
 *
 * Every core computes, for rows r < rows (output channels) and columns j < cols (pixels or
 * batch rows): y[r * rs + j * cs] = requantised(bias[r] + sum_k w[r * k + k'] * B[j][k']),
 * with per-channel constants taken at index ch0 + r. */
#ifndef MF_INT8_SIMD_H
#define MF_INT8_SIMD_H

#include <string.h>
#if defined(__ARM_FEATURE_SAT)
#include <arm_acle.h>
#endif

#include "mf_int8.h"

/* Output pixels per im2col panel. DSP: two blocks of the 1x6 SMLAD tile, one where that
 * panel would pass MF_S8_PANEL_BYTES_DSP (mf_s8_cols_dsp): ResNet-8's peak layer (k = 288,
 * beside the skip map) then keeps its arena under 0.8 x the op-by-op bound, while the
 * small-k layers, where each panel's per-channel work weighs most, keep 12 pixels; MVE:
 * four groups of the 2x4 VMLADAVA tile (mf_int8_mve.h); RVV: one strip of 16 int16 lanes
 * (e16, LMUL=2 at VLEN=128), for maps narrower than 16 only (conv_s8_rvv.c: wider rows run
 * from a band of input rows), where a 32-pixel panel of ResNet-8's k = 576 layer (36 KB)
 * set the arena. */
#define MF_S8_COLS_DSP 12
#define MF_S8_PANEL_BYTES_DSP 4096
#define MF_S8_COLS_MVE 16
/* DSP pointwise conv over its input (conv_overwrite_s8_dsp.c): two tile blocks, its panel
 * (k = c_in) is small. mf_gemm_s8_dsp takes up to the larger of the two. */
#define MF_S8_PW_COLS_DSP 12
#define MF_S8_GEMM_COLS_DSP 12
#define MF_S8_COLS_RVV 16

/* K rounded up to the DSP panel's groups of four int16 (the SMLAD pair layout). */
static inline int32_t mf_s8_k4(int32_t k) { return (k + 3) & ~3; }

/* Pixels per DSP conv panel for a window of k values (the Python twin: dsp_cols in
 * toolchain/ops/int8_kernels.py). */
static inline int32_t mf_s8_cols_dsp(int32_t k)
{
    const int32_t full = MF_S8_COLS_DSP * mf_s8_k4(k) * (int32_t)sizeof(int16_t);
    return full <= MF_S8_PANEL_BYTES_DSP ? MF_S8_COLS_DSP : MF_S8_COLS_DSP / 2;
}

static inline int32_t mf_s8_conv_is_depthwise(const mf_conv2d_s8_desc *d)
{
    return d->groups == d->c_in && d->groups == d->c_out;
}

/* A 1x1 convolution that reads its input as it is: x is already the [c_in][h*w] panel. */
static inline int32_t mf_s8_conv_is_pointwise(const mf_conv2d_s8_desc *d)
{
    return d->groups == 1 && d->k_h == 1 && d->k_w == 1 && d->stride_h == 1 &&
           d->stride_w == 1 && d->pad_top == 0 && d->pad_left == 0 && d->h_out == d->h_in &&
           d->w_out == d->w_in;
}

static inline int32_t mf_s8_conv_args_ok(const int8_t *x, const int8_t *w, const int8_t *y,
                                         const mf_conv2d_s8_desc *d)
{
    return x && w && y && d && d->n >= 1 && d->groups >= 1 && d->c_in >= 1 && d->c_out >= 1 &&
           d->c_in % d->groups == 0 && d->c_out % d->groups == 0 && d->k_h >= 1 &&
           d->k_w >= 1 && d->stride_h >= 1 && d->stride_w >= 1 && d->dil_h >= 1 &&
           d->dil_w >= 1 && d->h_out >= 1 && d->w_out >= 1 && d->rq.mult && d->rq.shift;
}

static inline int32_t mf_s8_fc_args_ok(const int8_t *a, const int8_t *w, const int8_t *y,
                                       const mf_fc_s8_desc *d)
{
    return a && w && y && d && d->m >= 1 && d->n >= 1 && d->k >= 1 && d->rq.mult && d->rq.shift;
}

/* The requantising store of mf_int8.h for output channel ch. */
static inline int8_t mf_s8_out(int32_t acc, const mf_requant_s8 *rq, int32_t ch)
{
    const int32_t i = rq->per_channel ? ch : 0;
    return mf_clamp_s8(rq->out_zp + mf_requant(acc, rq->mult[i], rq->shift[i]), rq->act_min,
                       rq->act_max);
}

/* Depthwise kernels read one channel at a time from a copy padded with in_zp, so that no
 * tap needs a bounds check: hp x wp covers every window (row r is input row r - pad_top,
 * column q input column q - pad_left). */
static inline int32_t mf_s8_dw_hp(const mf_conv2d_s8_desc *d)
{
    return (d->h_out - 1) * d->stride_h + (d->k_h - 1) * d->dil_h + 1;
}

static inline int32_t mf_s8_dw_wp(const mf_conv2d_s8_desc *d)
{
    return (d->w_out - 1) * d->stride_w + (d->k_w - 1) * d->dil_w + 1;
}

/* The padding is where it is for every channel: the whole plane takes in_zp once per call,
 * then each channel overwrites only its interior, a word at a time (unaligned accesses are
 * fine on every core these kernels target). */
static inline void mf_s8_pad_init(const mf_conv2d_s8_desc *d, int32_t hp, int32_t wp,
                                  int8_t *plane)
{
    memset(plane, (int8_t)d->in_zp, (size_t)(hp * wp));
}

static inline void mf_s8_pad_copy(const int8_t *xc, const mf_conv2d_s8_desc *d, int32_t hp,
                                  int32_t wp, int8_t *plane)
{
    const int32_t c_lo = d->pad_left < wp ? d->pad_left : wp;
    const int32_t c_hi = d->pad_left + d->w_in < wp ? d->pad_left + d->w_in : wp;
    const int32_t r_lo = d->pad_top < hp ? d->pad_top : hp;
    const int32_t r_hi = d->pad_top + d->h_in < hp ? d->pad_top + d->h_in : hp;
    const int32_t n = c_hi - c_lo;
    const int8_t *src = xc + (r_lo - d->pad_top) * d->w_in + (c_lo - d->pad_left);
    int8_t *dst = plane + r_lo * wp + c_lo;
    for (int32_t r = r_lo; r < r_hi; ++r, src += d->w_in, dst += wp) {
        int32_t i = 0;
        for (; i + 4 <= n; i += 4) {
            uint32_t v;
            memcpy(&v, src + i, 4);
            memcpy(dst + i, &v, 4);
        }
        for (; i < n; ++i) dst[i] = src[i];
    }
}

/* mf_requant with its per-channel constants prepared once per output channel: the
 * rounding term is preloaded into the 64-bit accumulator of one multiply-accumulate (SMLAL
 * on Arm), and when the shift is 32 or more (the usual case: scales below 1/2) only the
 * high word is shifted. Bit-exact with mf_requant. */
typedef struct {
    int64_t round;
    int32_t mult, rs, zp, lo, hi;
} mf_s8_rq_ch;

static inline mf_s8_rq_ch mf_s8_rq_prepare(const mf_requant_s8 *rq, int32_t ch)
{
    const int32_t i = rq->per_channel ? ch : 0, rs = 31 - rq->shift[i];
    const mf_s8_rq_ch r = {(int64_t)1 << (rs - 1), rq->mult[i], rs, rq->out_zp, rq->act_min,
                           rq->act_max};
    return r;
}

static inline int8_t mf_s8_rq_apply(int32_t acc, const mf_s8_rq_ch *r)
{
    const int64_t p = r->round + (int64_t)acc * r->mult;
    const int32_t v = r->rs >= 32 ? (int32_t)(p >> 32) >> (r->rs - 32) : (int32_t)(p >> r->rs);
    return mf_clamp_s8(r->zp + v, r->lo, r->hi);
}

/* rows x n sums of one channel (row stride as) to y (row stride ys, column stride cs): the
 * constants live in registers and the shift's case is decided once, outside the loops.
 * Kept out of line: inlined into a big kernel, GCC spills its constants and the loop costs
 * twice as much. */
static __attribute__((noinline, unused)) void mf_s8_rq_rows(const int32_t *acc, int32_t rows,
                                                            int32_t n, int32_t as, int8_t *y,
                                                            int32_t ys, int32_t cs,
                                                            const mf_s8_rq_ch *r)
{
    const int64_t round = r->round;
    const int32_t mult = r->mult, zp = r->zp, lo = r->lo, hi = r->hi;
    for (int32_t row = 0; row < rows; ++row, acc += as, y += ys) {
        int8_t *yy = y;
        if (r->rs > 32) {
            /* the rounding term only touches the high word: floor of the high word of the
             * product (SMMUL) plus 2^(rs - 33), shifted by rs - 32, is exact */
            const int32_t sh = r->rs - 32, half = 1 << (r->rs - 33);
#if defined(__ARM_FEATURE_SAT)
            if (lo == -128 && hi == 127) {
                /* no activation clamp inside the int8 range (TFLite's ReLU with zero point
                 * -128 is one): SSAT does the clamp in one instruction */
                for (int32_t i = 0; i < n; ++i, yy += cs)
                    *yy = (int8_t)__ssat(zp + (((int32_t)(((int64_t)acc[i] * mult) >> 32) + half) >> sh), 8);
                continue;
            }
#endif
            for (int32_t i = 0; i < n; ++i, yy += cs) {
                const int32_t v = zp + (((int32_t)(((int64_t)acc[i] * mult) >> 32) + half) >> sh);
                *yy = (int8_t)(v < lo ? lo : (v > hi ? hi : v));
            }
        } else {
            for (int32_t i = 0; i < n; ++i, yy += cs) {
                const int32_t v = zp + (int32_t)((round + (int64_t)acc[i] * mult) >> r->rs);
                *yy = (int8_t)(v < lo ? lo : (v > hi ? hi : v));
            }
        }
    }
}

/* DSP: B is the int16 panel of mf_s8_panel_dsp_at's layout, cols <= MF_S8_GEMM_COLS_DSP.
 * blocks6: every column, the last partial block's too, sits in a block of six (the panel
 * has room for cols rounded up to 6; the padding columns hold anything and are computed
 * but never stored), so no column runs the slow one-column tile; 0: columns past the last
 * full block of six are stored one by one (mf_s8_panel_dsp_at). wq: NULL, or the same rows
 * widened at compile time (mf_conv2d_s8_desc w_dsp), which the fast path then reads;
 * plain: mf_s8_rq_plain_dsp of these rows (0 never takes the fast path). */
void mf_gemm_s8_dsp(const int8_t *w, int32_t k, int32_t rows, const int16_t *panel,
                    int32_t cols, int32_t blocks6, const int32_t *bias, int8_t *y, int32_t rs,
                    int32_t cs, const mf_requant_s8 *rq, int32_t ch0, const int32_t *wq,
                    int32_t plain);
/* 1 when rows [ch0, ch0 + rows) requantise without a clamp inside the int8 range and with
 * every shift in SMMLA's range (rs = 31 - shift in 33..52): mf_gemm_s8_dsp's plain, which
 * lets its assembly rows routine run; callers work it out once per call, not per panel. */
int32_t mf_s8_rq_plain_dsp(const mf_requant_s8 *rq, int32_t ch0, int32_t rows);
/* Offset of element (j, k) in that panel of cols columns (blocks6 0). */
static inline int32_t mf_s8_panel_dsp_at(int32_t j, int32_t k, int32_t cols, int32_t k4)
{
    static const int8_t perm[4] = {0, 2, 1, 3};
    const int32_t full = cols - cols % 6;
    const int32_t jb = j < full ? j - j % 6 : j, cb = j < full ? 6 : 1;
    return jb * k4 + (k >> 2) * cb * 4 + (j - jb) * 4 + perm[k & 3];
}

/* MVE: the GEMM and its interleaved panel are in mf_int8_mve.h. */

/* RVV: B is the int16 panel, row k' at b + k' * ldb (columns contiguous); y rows contiguous. */
void mf_gemm_s8_rvv(const int8_t *w, int32_t k, int32_t rows, const int16_t *b, int32_t ldb,
                    int32_t cols, const int32_t *bias, int8_t *y, int32_t rs,
                    const mf_requant_s8 *rq, int32_t ch0);
#if defined(__riscv_vector)
#include <riscv_vector.h>
/* vl sums of channel ch requantised (vwmul to int64, vssra round-to-nearest-up) to y. */
void mf_s8_rq_store_rvv(int8_t *y, vint32m4_t acc, const mf_requant_s8 *rq, int32_t ch,
                        size_t vl);
#endif

#endif

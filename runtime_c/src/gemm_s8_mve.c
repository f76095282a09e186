/* int8 GEMM core for Helium (Cortex-M55 MVE), shared by conv_s8_mve.c and
 * conv_overwrite_s8_mve.c: weight rows times an interleaved panel of pixel columns
 * (mf_int8_mve.h). Per 16 k a 2 x 4 tile loads 2 weight vectors and 4 pixel vectors and
 * issues 8 VMLADAVA.S8 (128 MACs in 14 instructions, two steps per loop trip); the k tail
 * is one more step with its weight loads predicated (VCTP), so a first layer's k = 27 is
 * two steps with no scalar tail. The 8 sums
 * of a tile go to a small buffer, and each output channel's row of sums is requantised
 * four per vector once the panel is done, with the channel's constants in registers. */
#include "mf_int8_mve.h"

#if defined(__ARM_FEATURE_MVE)
#include <arm_mve.h>

/* n sums of one channel to y, four at a time. When the shift is 32 or more (scales below
 * 1/2, the usual case) the rounding term of mf_requant only touches the high word of the
 * 64-bit product, so VMULH (the high word, floored) then a rounding shift right by rs - 32
 * (VRSHL by a negative count: + 2^(rs - 33), then >>) is exact; at rs = 32 it is VRMULH.
 * Larger scales take the scalar path. Whole vectors unpredicated, the tail under VCTP. */
static inline __attribute__((always_inline)) void rq_row(const int32_t *sums, int32_t n,
                                                         int8_t *y, const mf_s8_rq_ch *q)
{
    if (q->rs < 32) {
        mf_s8_rq_rows(sums, 1, n, 0, y, n, 1, q);
        return;
    }
    const int32x4_t lo = vdupq_n_s32(q->lo), hi = vdupq_n_s32(q->hi);
    const int32x4_t mult = vdupq_n_s32(q->mult);
    const int32_t sh = 32 - q->rs, zp = q->zp;
    /* the shift's case is decided once per row, not per vector */
    if (q->rs == 32)
        for (int32_t i = 0; i < n; i += 4, sums += 4, y += 4) {
            const mve_pred16_t p = vctp32q((uint32_t)(n - i));
            const int32x4_t v = vaddq_n_s32(vrmulhq_s32(vldrwq_z_s32(sums, p), mult), zp);
            vstrbq_p_s32(y, vminq_s32(vmaxq_s32(v, lo), hi), p);
        }
    else
        for (int32_t i = 0; i < n; i += 4, sums += 4, y += 4) {
            const mve_pred16_t p = vctp32q((uint32_t)(n - i));
            const int32x4_t v = vaddq_n_s32(vrshlq_n_s32(vmulhq_s32(vldrwq_z_s32(sums, p), mult), sh), zp);
            vstrbq_p_s32(y, vminq_s32(vmaxq_s32(v, lo), hi), p);
        }
}

/* rows x n sums of one channel (row stride as) to y (rows contiguous), exactly. */
void mf_s8_rq_rows_mve(const int32_t *sums, int32_t rows, int32_t n, int32_t as, int8_t *y,
                       const mf_s8_rq_ch *q)
{
    for (int32_t r = 0; r < rows; ++r, sums += as, y += n) rq_row(sums, n, y, q);
}

/* One 16-k step of the 2 x 4 tile: 2 weight vectors (q0, q1) by 4 pixel vectors. */
#define MF_TILE_STEP                                                                       \
    "vldrb.8 q0, [%[w0]], #16\n"                                                           \
    "vldrb.8 q1, [%[w1]], #16\n"                                                           \
    "vldrb.8 q2, [%[b]], #64\n"                                                            \
    "vmladava.s8 %[a0], q0, q2\n"                                                          \
    "vmladava.s8 %[c0], q1, q2\n"                                                          \
    "vldrb.8 q3, [%[b], #-48]\n"                                                           \
    "vmladava.s8 %[a1], q0, q3\n"                                                          \
    "vmladava.s8 %[c1], q1, q3\n"                                                          \
    "vldrb.8 q2, [%[b], #-32]\n"                                                           \
    "vmladava.s8 %[a2], q0, q2\n"                                                          \
    "vmladava.s8 %[c2], q1, q2\n"                                                          \
    "vldrb.8 q3, [%[b], #-16]\n"                                                           \
    "vmladava.s8 %[a3], q0, q3\n"                                                          \
    "vmladava.s8 %[c3], q1, q3\n"
/* Two weight rows times one panel group of four pixels: b0 + row 0 . pixel j to s0[j],
 * b1 + row 1 . pixel j to s1[j]. In assembly, because VMLADAVA only accumulates into even
 * registers (r0 ... r12, lr): the 8 sums take all of them, LR included, so there is no
 * low-overhead loop (DLSTP would take LR); clang, left to itself, keeps 7 sums in registers
 * and spills the eighth inside the loop. Whole 16-k steps run two per trip, an odd one
 * after them, and the k tail (k % 16) loads the weights under a VCTP predicate: its lanes
 * past k read as zero, so the panel's bytes there (never written) add nothing. */
static inline __attribute__((always_inline)) void tile_2x4(const int8_t *w0_, const int8_t *w1_,
                                                           const int8_t *b_, int32_t k, int32_t b0,
                                                           int32_t b1, int32_t *s0, int32_t *s1)
{
    register int32_t a0 __asm__("r0") = b0, a1 __asm__("r2"), a2 __asm__("r4"), a3 __asm__("r6");
    register int32_t c0 __asm__("r8") = b1, c1 __asm__("r10"), c2 __asm__("r12"), c3 __asm__("lr");
    register const int8_t *w0 __asm__("r1") = w0_, *w1 __asm__("r3") = w1_;
    register const int8_t *b __asm__("r5") = b_;
    register int32_t n __asm__("r9") = k >> 5, t __asm__("r11") = k & 31;
    __asm__ volatile(
        "mov %[a1], %[a0]\n"
        "mov %[a2], %[a0]\n"
        "mov %[a3], %[a0]\n"
        "mov %[c1], %[c0]\n"
        "mov %[c2], %[c0]\n"
        "mov %[c3], %[c0]\n"
        "cmp %[n], #0\n"
        "beq 2f\n"
        "1:\n" MF_TILE_STEP MF_TILE_STEP
        "subs %[n], %[n], #1\n"
        "bne 1b\n"
        "2:\n"
        "cmp %[t], #16\n"
        "blt 3f\n" MF_TILE_STEP
        "subs %[t], %[t], #16\n"
        "3:\n"
        "cmp %[t], #0\n"
        "beq 4f\n"
        "vctp.8 %[t]\n"
        "vpstt\n"
        "vldrbt.8 q0, [%[w0]]\n"
        "vldrbt.8 q1, [%[w1]]\n"
        "vldrb.8 q2, [%[b]]\n"
        "vmladava.s8 %[a0], q0, q2\n"
        "vmladava.s8 %[c0], q1, q2\n"
        "vldrb.8 q3, [%[b], #16]\n"
        "vmladava.s8 %[a1], q0, q3\n"
        "vmladava.s8 %[c1], q1, q3\n"
        "vldrb.8 q2, [%[b], #32]\n"
        "vmladava.s8 %[a2], q0, q2\n"
        "vmladava.s8 %[c2], q1, q2\n"
        "vldrb.8 q3, [%[b], #48]\n"
        "vmladava.s8 %[a3], q0, q3\n"
        "vmladava.s8 %[c3], q1, q3\n"
        "4:\n"
        : [a0] "+r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [c0] "+r"(c0),
          [c1] "=&r"(c1), [c2] "=&r"(c2), [c3] "=&r"(c3), [w0] "+r"(w0), [w1] "+r"(w1),
          [b] "+r"(b), [n] "+r"(n), [t] "+r"(t)
        :
        : "q0", "q1", "q2", "q3", "memory", "cc");
    const int32x4_t va = {a0, a1, a2, a3}, vc = {c0, c1, c2, c3};
    vstrwq_s32(s0, va);
    vstrwq_s32(s1, vc);
}

/* One weight row times one panel group (an odd last channel). */
static inline __attribute__((always_inline)) void tile_1x4(const int8_t *w0, const int8_t *b,
                                                           int32_t k, int32_t b0, int32_t *s0)
{
    int32_t a0 = b0, a1 = b0, a2 = b0, a3 = b0;
    for (int32_t n = k; n > 0; n -= 16) {
        const mve_pred16_t p = vctp8q((uint32_t)n);
        const int8x16_t x0 = vldrbq_z_s8(w0, p);
        const int8x16_t v0 = vldrbq_z_s8(b, p), v1 = vldrbq_z_s8(b + 16, p);
        const int8x16_t v2 = vldrbq_z_s8(b + 32, p), v3 = vldrbq_z_s8(b + 48, p);
        w0 += 16;
        b += 64;
        a0 = vmladavaq_p_s8(a0, x0, v0, p);
        a1 = vmladavaq_p_s8(a1, x0, v1, p);
        a2 = vmladavaq_p_s8(a2, x0, v2, p);
        a3 = vmladavaq_p_s8(a3, x0, v3, p);
    }
    const int32x4_t va = {a0, a1, a2, a3};
    vstrwq_s32(s0, va);
}

void mf_gemm_s8_mve(const int8_t *w, int32_t k, int32_t rows, const int8_t *panel,
                    int32_t cols, const int32_t *bias, int8_t *y, int32_t rs,
                    const mf_requant_s8 *rq, int32_t ch0)
{
    /* 16-byte aligned: the tile stores its four sums with one VSTRW */
    int32_t sums[2][MF_S8_COLS_MVE] __attribute__((aligned(16)));
    const int32_t gstep = 4 * mf_s8_k16(k), groups = (cols + 3) >> 2;
    int32_t r = 0;
    for (; r + 2 <= rows; r += 2, w += 2 * k, y += 2 * rs) {
        const int32_t b0 = bias ? bias[r] : 0, b1 = bias ? bias[r + 1] : 0;
        const int8_t *b = panel;
        for (int32_t g = 0; g < groups; ++g, b += gstep)
            tile_2x4(w, w + k, b, k, b0, b1, sums[0] + 4 * g, sums[1] + 4 * g);
        const mf_s8_rq_ch q0 = mf_s8_rq_prepare(rq, ch0 + r), q1 = mf_s8_rq_prepare(rq, ch0 + r + 1);
        rq_row(sums[0], cols, y, &q0);
        rq_row(sums[1], cols, y + rs, &q1);
    }
    if (r < rows) {
        const int32_t b0 = bias ? bias[r] : 0;
        const int8_t *b = panel;
        for (int32_t g = 0; g < groups; ++g, b += gstep) tile_1x4(w, b, k, b0, sums[0] + 4 * g);
        const mf_s8_rq_ch q0 = mf_s8_rq_prepare(rq, ch0 + r);
        rq_row(sums[0], cols, y, &q0);
    }
}

/* Two 8-element halves of each 16-byte block: VLDRB.S16 gathers with the uint16 offsets,
 * narrowed back to bytes by VSTRB.16; whole blocks unpredicated, then the k tail's lanes
 * under VCTP (neither loaded nor stored past k). */
void mf_s8_gather_col_mve(const int8_t *src, const uint16_t *offs, int32_t k, int8_t *dst)
{
    int32_t i = 0;
    for (; i + 16 <= k; i += 16, offs += 16, dst += 64) {
        vstrbq_s16(dst, vldrbq_gather_offset_s16(src, vldrhq_u16(offs)));
        vstrbq_s16(dst + 8, vldrbq_gather_offset_s16(src, vldrhq_u16(offs + 8)));
    }
    if (i < k) {
        const mve_pred16_t p0 = vctp16q((uint32_t)(k - i));
        const mve_pred16_t p1 = vctp16q((uint32_t)(k - i > 8 ? k - i - 8 : 0));
        vstrbq_p_s16(dst, vldrbq_gather_offset_z_s16(src, vldrhq_u16(offs), p0), p0);
        vstrbq_p_s16(dst + 8, vldrbq_gather_offset_z_s16(src, vldrhq_u16(offs + 8), p1), p1);
    }
}

void mf_s8_gather_cols4_mve(const int8_t *src, int32_t step, const uint16_t *offs, int32_t k,
                            int8_t *dst)
{
    const int8_t *s1 = src + step, *s2 = s1 + step, *s3 = s2 + step;
    int32_t i = 0;
    for (; i + 16 <= k; i += 16, offs += 16, dst += 64) {
        const uint16x8_t o0 = vldrhq_u16(offs), o1 = vldrhq_u16(offs + 8);
        vstrbq_s16(dst, vldrbq_gather_offset_s16(src, o0));
        vstrbq_s16(dst + 8, vldrbq_gather_offset_s16(src, o1));
        vstrbq_s16(dst + 16, vldrbq_gather_offset_s16(s1, o0));
        vstrbq_s16(dst + 24, vldrbq_gather_offset_s16(s1, o1));
        vstrbq_s16(dst + 32, vldrbq_gather_offset_s16(s2, o0));
        vstrbq_s16(dst + 40, vldrbq_gather_offset_s16(s2, o1));
        vstrbq_s16(dst + 48, vldrbq_gather_offset_s16(s3, o0));
        vstrbq_s16(dst + 56, vldrbq_gather_offset_s16(s3, o1));
    }
    if (i < k)
        for (int32_t j = 0; j < 4; ++j, src += step, dst += 16)
            mf_s8_gather_col_mve(src, offs, k - i, dst);
}
#endif

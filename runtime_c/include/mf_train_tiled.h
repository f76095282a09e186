/* The tiled backward drivers, written once for both element types: included by
 * conv_bwd_f32_ref.c / gemm_bwd_f32_ref.c with MF_T = float and by their _f16_ twins with
 * MF_T = mf_f16 (the SFX macro names the functions). They cut the gradients into calls of
 * an ISA's micro-kernel (MF_BWD_TILE_ARGS in mf_train.h), PULP-TrainLib style:
 *
 *   conv bwd_input   per chunk of `cols` output pixels, G[K][cols] = W^T dY (the transposed
 *                    weights are read in place as A with a_rs = 1), then col2im adds G into
 *                    dX; a pointwise convolution writes W^T dY straight into dX.
 *   conv bwd_weight  per chunk, the transposed im2col panel P[cols][K] of x, then
 *                    dW += dY[:, chunk] P (accumulated chunk by chunk into dW).
 *   gemm             one tile call per batch, oriented so that the output's unit stride is
 *                    the tile's column axis.
 * Arithmetic outside the tile (col2im, bias sums) is FP32 with one rounding per store. */
#if !defined(MF_T) || !defined(SFX)
#error "define MF_T and SFX before including mf_train_tiled.h"
#endif

#include <string.h>

static void SFX(col2im_add)(const MF_T *g, int32_t nc, int32_t p0, MF_T *dx, int32_t cig,
                            const mf_conv2d_desc *d)
{
    const int32_t hw_in = d->h_in * d->w_in;
    for (int32_t ic = 0, row = 0; ic < cig; ++ic)
        for (int32_t kh = 0; kh < d->k_h; ++kh)
            for (int32_t kw = 0; kw < d->k_w; ++kw, ++row) {
                const MF_T *gr = g + row * nc;
                MF_T *dxc = dx + ic * hw_in;
                int32_t oh = p0 / d->w_out, ow = p0 % d->w_out;
                for (int32_t j = 0; j < nc; ++j) {
                    const int32_t ih = oh * d->stride_h - d->pad_top + kh * d->dil_h;
                    const int32_t iw = ow * d->stride_w - d->pad_left + kw * d->dil_w;
                    if (ih >= 0 && ih < d->h_in && iw >= 0 && iw < d->w_in) {
                        MF_T *p = dxc + ih * d->w_in + iw;
                        *p = (MF_T)((float)*p + (float)gr[j]);
                    }
                    if (++ow == d->w_out) {
                        ow = 0;
                        ++oh;
                    }
                }
            }
}

/* P[j][row] = x at the tap `row` = (ic, kh, kw) of output pixel p0 + j, 0 in the padding. */
static void SFX(im2col_t)(const MF_T *x, int32_t nc, int32_t p0, MF_T *panel, int32_t cig,
                          const mf_conv2d_desc *d)
{
    const int32_t hw_in = d->h_in * d->w_in, kdim = cig * d->k_h * d->k_w;
    int32_t oh = p0 / d->w_out, ow = p0 % d->w_out;
    for (int32_t j = 0; j < nc; ++j) {
        MF_T *pr = panel + j * kdim;
        const int32_t ih0 = oh * d->stride_h - d->pad_top, iw0 = ow * d->stride_w - d->pad_left;
        for (int32_t ic = 0, row = 0; ic < cig; ++ic) {
            const MF_T *xc = x + ic * hw_in;
            for (int32_t kh = 0; kh < d->k_h; ++kh) {
                const int32_t ih = ih0 + kh * d->dil_h;
                for (int32_t kw = 0; kw < d->k_w; ++kw, ++row) {
                    const int32_t iw = iw0 + kw * d->dil_w;
                    pr[row] = (ih >= 0 && ih < d->h_in && iw >= 0 && iw < d->w_in) ? xc[ih * d->w_in + iw]
                                                                                   : (MF_T)0.0f;
                }
            }
        }
        if (++ow == d->w_out) {
            ow = 0;
            ++oh;
        }
    }
}

static int SFX(is_pointwise)(const mf_conv2d_desc *d)
{
    return d->k_h == 1 && d->k_w == 1 && d->stride_h == 1 && d->stride_w == 1 && d->pad_top == 0 &&
           d->pad_left == 0 && d->h_in == d->h_out && d->w_in == d->w_out;
}

int SFX(mf_conv2d_bwd_input_im2col)(const MF_T *dy, const MF_T *w, MF_T *dx,
                                    const mf_conv2d_desc *d, MF_T *scratch, int32_t cols,
                                    void (*tile)(MF_BWD_TILE_ARGS(MF_T)))
{
    if (!dy || !w || !dx || !d || !tile || cols < 1 || d->groups < 1) return MF_EARG;
    if (d->c_in % d->groups || d->c_out % d->groups) return MF_ESHAPE;
    const int32_t cig = d->c_in / d->groups, cog = d->c_out / d->groups;
    const int32_t hw_in = d->h_in * d->w_in, hw_out = d->h_out * d->w_out;
    const int32_t kdim = cig * d->k_h * d->k_w;
    const int pointwise = SFX(is_pointwise)(d);
    if (!pointwise && !scratch) return MF_EARG;
    if (!pointwise) memset(dx, 0, sizeof(MF_T) * (size_t)(d->n * d->c_in * hw_in));
    for (int32_t n = 0; n < d->n; ++n)
        for (int32_t g = 0; g < d->groups; ++g) {
            const MF_T *wg = w + g * cog * kdim;
            const MF_T *dyg = dy + (n * d->c_out + g * cog) * hw_out;
            MF_T *dxg = dx + (n * d->c_in + g * cig) * hw_in;
            if (pointwise) { /* col2im is the identity: dX = W^T dY in one call */
                tile(wg, 1, kdim, dyg, hw_out, 1, dxg, hw_in, kdim, hw_out, cog, 1.0f, 0);
                continue;
            }
            for (int32_t p0 = 0; p0 < hw_out; p0 += cols) {
                const int32_t nc = hw_out - p0 < cols ? hw_out - p0 : cols;
                tile(wg, 1, kdim, dyg + p0, hw_out, 1, scratch, nc, kdim, nc, cog, 1.0f, 0);
                SFX(col2im_add)(scratch, nc, p0, dxg, cig, d);
            }
        }
    return MF_OK;
}

int SFX(mf_conv2d_bwd_weight_im2col)(const MF_T *x, const MF_T *dy, MF_T *dw, MF_T *db,
                                     const mf_conv2d_desc *d, MF_T *scratch, int32_t cols,
                                     void (*tile)(MF_BWD_TILE_ARGS(MF_T)))
{
    if (!x || !dy || (!dw && !db) || !d || !tile || cols < 1 || d->groups < 1) return MF_EARG;
    if (d->c_in % d->groups || d->c_out % d->groups) return MF_ESHAPE;
    if (dw && !scratch) return MF_EARG;
    const int32_t cig = d->c_in / d->groups, cog = d->c_out / d->groups;
    const int32_t hw_in = d->h_in * d->w_in, hw_out = d->h_out * d->w_out;
    const int32_t kdim = cig * d->k_h * d->k_w;
    if (db)
        for (int32_t oc = 0; oc < d->c_out; ++oc) {
            float acc = 0.0f;
            for (int32_t n = 0; n < d->n; ++n) {
                const MF_T *dyo = dy + (n * d->c_out + oc) * hw_out;
                for (int32_t i = 0; i < hw_out; ++i) acc += (float)dyo[i];
            }
            db[oc] = (MF_T)acc;
        }
    if (!dw) return MF_OK;
    memset(dw, 0, sizeof(MF_T) * (size_t)(d->c_out * kdim));
    for (int32_t n = 0; n < d->n; ++n)
        for (int32_t g = 0; g < d->groups; ++g) {
            const MF_T *xg = x + (n * d->c_in + g * cig) * hw_in;
            const MF_T *dyg = dy + (n * d->c_out + g * cog) * hw_out;
            MF_T *dwg = dw + g * cog * kdim;
            for (int32_t p0 = 0; p0 < hw_out; p0 += cols) {
                const int32_t nc = hw_out - p0 < cols ? hw_out - p0 : cols;
                SFX(im2col_t)(xg, nc, p0, scratch, cig, d);
                tile(dyg + p0, hw_out, 1, scratch, kdim, 1, dwg, kdim, cog, kdim, nc, 1.0f, 1);
            }
        }
    return MF_OK;
}

int SFX(mf_gemm_bwd_input_tiled)(const MF_T *dy, const MF_T *w, MF_T *dx,
                                 const mf_gemm_bwd_input_desc *d,
                                 void (*tile)(MF_BWD_TILE_ARGS(MF_T)))
{
    if (!dy || !w || !dx || !d || !tile || d->batch_rank < 0 || d->batch_rank > MF_MAX_BATCH_RANK)
        return MF_EARG;
    if (d->o_cs != 1 && d->o_rs != 1) return MF_EARG;
    int32_t batches = 1;
    for (int32_t i = 0; i < d->batch_rank; ++i) batches *= d->batch_shape[i];
    int32_t idx[MF_MAX_BATCH_RANK] = {0};
    for (int32_t bi = 0; bi < batches; ++bi) {
        int32_t od = 0, ow = 0, oo = 0;
        for (int32_t i = 0; i < d->batch_rank; ++i) {
            od += idx[i] * d->dy_bstride[i];
            ow += idx[i] * d->w_bstride[i];
            oo += idx[i] * d->o_bstride[i];
        }
        if (d->o_cs == 1) /* rows i, columns k: A = dy (i, j), B = w (j, k) */
            tile(dy + od, d->dy_rs, d->dy_cs, w + ow, d->w_cs, d->w_rs, dx + oo, d->o_rs, d->m, d->k, d->n,
                 d->alpha, 0);
        else /* the transposed product: rows k, columns i */
            tile(w + ow, d->w_rs, d->w_cs, dy + od, d->dy_cs, d->dy_rs, dx + oo, d->o_cs, d->k, d->m, d->n,
                 d->alpha, 0);
        for (int32_t i = d->batch_rank - 1; i >= 0; --i) {
            if (++idx[i] < d->batch_shape[i]) break;
            idx[i] = 0;
        }
    }
    return MF_OK;
}

int SFX(mf_gemm_bwd_weight_tiled)(const MF_T *a, const MF_T *dy, MF_T *dw, MF_T *dc,
                                  const mf_gemm_bwd_weight_desc *d,
                                  void (*tile)(MF_BWD_TILE_ARGS(MF_T)))
{
    if (!a || !dy || (!dw && !dc) || !d || !tile || d->m < 1) return MF_EARG;
    if (dw && d->w_ns != 1 && d->w_ks != 1) return MF_EARG;
    if (dw && d->w_ns == 1) /* rows k, columns j: A(k, r) = a[r][k], B = dy (r, j) */
        tile(a, d->a_cs, d->a_rs, dy, d->n, 1, dw, d->w_ks, d->k, d->n, d->rows, d->alpha, 0);
    else if (dw) /* rows j, columns k: A(j, r) = dy[r][j], B(r, k) = a[r][k] */
        tile(dy, 1, d->n, a, d->a_rs, d->a_cs, dw, d->w_ns, d->n, d->k, d->rows, d->alpha, 0);
    if (dc) {
        memset(dc, 0, sizeof(MF_T) * (size_t)d->c_size);
        for (int32_t i = 0; i < d->m && i < d->rows; ++i)
            for (int32_t j = 0; j < d->n; ++j) {
                float acc = 0.0f;
                for (int32_t r = i; r < d->rows; r += d->m) acc += (float)dy[r * d->n + j];
                MF_T *p = dc + i * d->c_rs + j * d->c_cs;
                *p = (MF_T)((float)*p + d->beta * acc);
            }
    }
    return MF_OK;
}

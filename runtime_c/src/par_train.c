/* Training kernels over a cluster's harts (mf_cluster.h): each hart calls the plain kernel on
 * its slice, so every value is computed as on one hart.
 * - conv weight gradient: by output channels (rows of dw, entries of db; one image, no
 *   groups): a hart reduces over every pixel for its own rows, with its own im2col scratch
 *   (the im2col is repeated per hart; it is a small share next to the MACs of its rows).
 * - activation backward and the SGD update: by contiguous element ranges. */
#include "mf_cluster.h"
#include "mf_train.h"

/* ---- element ranges ------------------------------------------------------------------------ */

typedef struct {
    const float *dy, *v;
    float *dx;
    int32_t n;
    const mf_act *act;
    int32_t from_output;
} par_act_bwd_job;

static void act_bwd_team(void *arg, int32_t hart, int32_t harts)
{
    const par_act_bwd_job *j = arg;
    int32_t lo, hi;
    mf_cluster_share(j->n, 16, hart, harts, &lo, &hi);
    if (lo < hi)
        (void)mf_act_bwd_input_f32_ref(j->dy + lo, j->v + lo, j->dx + lo, hi - lo, j->act,
                                       j->from_output);
}

int mf_act_bwd_input_par_f32_ref(const float *dy, const float *v, float *dx, int32_t n,
                                 const mf_act *act, int32_t from_output)
{
    if (!dy || !v || !dx || !act || n < 0) return MF_EARG;
    par_act_bwd_job j = {dy, v, dx, n, act, from_output};
    mf_cluster_fork(act_bwd_team, &j);
    return MF_OK;
}

typedef struct {
    float *w;
    const float *g;
    float *buf;
    int32_t n;
    const mf_sgd_desc *d;
} par_sgd_job;

static void sgd_team(void *arg, int32_t hart, int32_t harts)
{
    const par_sgd_job *j = arg;
    int32_t lo, hi;
    mf_cluster_share(j->n, 16, hart, harts, &lo, &hi);
    if (lo < hi)
        (void)mf_sgd_update_f32_ref(j->w + lo, j->g + lo, j->buf ? j->buf + lo : NULL, hi - lo, j->d);
}

int mf_sgd_update_par_f32_ref(float *w, const float *g, float *buf, int32_t n, const mf_sgd_desc *d)
{
    if (!w || !g || !d || n < 0) return MF_EARG;
    par_sgd_job j = {w, g, buf, n, d};
    mf_cluster_fork(sgd_team, &j);
    return MF_OK;
}

typedef struct {
    float *w;
    const float *g;
    float *m, *v;
    int32_t n;
    const mf_adam_desc *d;
    int32_t step;
} par_adam_job;

static void adam_team(void *arg, int32_t hart, int32_t harts)
{
    const par_adam_job *j = arg;
    int32_t lo, hi;
    mf_cluster_share(j->n, 16, hart, harts, &lo, &hi);
    if (lo < hi)
        (void)mf_adam_update_f32_ref(j->w + lo, j->g + lo, j->m + lo, j->v + lo, hi - lo, j->d, j->step);
}

int mf_adam_update_par_f32_ref(float *w, const float *g, float *m, float *v, int32_t n,
                               const mf_adam_desc *d, int32_t step)
{
    if (!w || !g || !m || !v || !d || n < 0 || step < 1) return MF_EARG;
    par_adam_job j = {w, g, m, v, n, d, step};
    mf_cluster_fork(adam_team, &j);
    return MF_OK;
}

/* ---- depthwise gradients: whole channels per hart ------------------------------------------
 * A depthwise channel's weight, bias and input gradients depend on that channel alone, and the
 * one-hart kernels (the direct reference loops, which the SIMD kernels call for depthwise)
 * walk each channel's sums in the same order given a descriptor of just that channel slice. */
typedef struct {
    const float *x, *dy, *w;
    float *dx, *dw, *db;
    const mf_conv2d_desc *d;
} par_dw_bwd_job;

static void dw_slice(const mf_conv2d_desc *d, int32_t hart, int32_t harts, mf_conv2d_desc *s,
                     int32_t *c0)
{
    int32_t c1;
    mf_cluster_share(d->c_out, 1, hart, harts, c0, &c1);
    *s = *d;
    s->c_in = s->c_out = s->groups = c1 - *c0;
}

static void dw_bwd_weight_team(void *arg, int32_t hart, int32_t harts)
{
    const par_dw_bwd_job *j = arg;
    const mf_conv2d_desc *d = j->d;
    mf_conv2d_desc s;
    int32_t c0;
    dw_slice(d, hart, harts, &s, &c0);
    if (s.c_out < 1) return;
    (void)mf_conv2d_bwd_weight_f32_ref(j->x + c0 * d->h_in * d->w_in, j->dy + c0 * d->h_out * d->w_out,
                                       j->dw ? j->dw + c0 * d->k_h * d->k_w : NULL,
                                       j->db ? j->db + c0 : NULL, &s);
}

static void dw_bwd_input_team(void *arg, int32_t hart, int32_t harts)
{
    const par_dw_bwd_job *j = arg;
    const mf_conv2d_desc *d = j->d;
    mf_conv2d_desc s;
    int32_t c0;
    dw_slice(d, hart, harts, &s, &c0);
    if (s.c_out < 1) return;
    (void)mf_conv2d_bwd_input_f32_ref(j->dy + c0 * d->h_out * d->w_out, j->w + c0 * d->k_h * d->k_w,
                                      j->dx + c0 * d->h_in * d->w_in, &s);
}

static int is_depthwise(const mf_conv2d_desc *d)
{
    return d->groups > 1 && d->groups == d->c_in && d->groups == d->c_out;
}

/* ---- conv weight gradient: one shared im2col panel per chunk, rows of dw per hart ----------
 * The one-hart driver (gemm_bwd_ref.inc) walks chunks of `cols` output pixels: it copies the
 * chunk's input patches into a [pixel][c_in k_h k_w] panel, then one tile call adds
 * dy[:, chunk] x panel into every row of dw. Here each chunk is two forks: the harts fill
 * the panel's pixel rows between them, then each hart makes the same tile call for its own
 * rows of dw (output channels). One panel in all, as on one hart, so the scratch stays the
 * one-hart size (per-hart panels would not fit beside a training arena); the fork's join is
 * the barrier between the phases. db and the zeroing of dw are a first fork by rows. */
typedef struct {
    const float *x, *dy;
    float *dw, *db;
    const mf_conv2d_desc *d;
    float *panel;
    int32_t p0, nc; /* the current chunk */
    mf_bwd_tile_f32_fn tile;
} par_bwd_weight_job;

static void bwd_weight_rows_team(void *arg, int32_t hart, int32_t harts)
{
    const par_bwd_weight_job *j = arg;
    const mf_conv2d_desc *d = j->d;
    const int32_t hw_out = d->h_out * d->w_out, kdim = d->c_in * d->k_h * d->k_w;
    int32_t c0, c1;
    mf_cluster_share(d->c_out, 1, hart, harts, &c0, &c1);
    for (int32_t oc = c0; oc < c1; ++oc) {
        if (j->db) { /* as the driver: one FP32 sum per channel, pixels in order */
            float acc = 0.0f;
            for (int32_t i = 0; i < hw_out; ++i) acc += j->dy[oc * hw_out + i];
            j->db[oc] = acc;
        }
        if (j->dw)
            for (int32_t q = 0; q < kdim; ++q) j->dw[oc * kdim + q] = 0.0f;
    }
}

/* panel row of pixel p: the values im2col_t of gemm_bwd_ref.inc writes, zero over padding */
static void bwd_weight_panel_team(void *arg, int32_t hart, int32_t harts)
{
    const par_bwd_weight_job *j = arg;
    const mf_conv2d_desc *d = j->d;
    const int32_t hw_in = d->h_in * d->w_in, kdim = d->c_in * d->k_h * d->k_w;
    int32_t lo, hi;
    mf_cluster_share(j->nc, 1, hart, harts, &lo, &hi);
    for (int32_t q = lo; q < hi; ++q) {
        const int32_t p = j->p0 + q, oh = p / d->w_out, ow = p % d->w_out;
        const int32_t ih0 = oh * d->stride_h - d->pad_top, iw0 = ow * d->stride_w - d->pad_left;
        float *pr = j->panel + q * kdim;
        for (int32_t ic = 0, row = 0; ic < d->c_in; ++ic) {
            const float *xc = j->x + ic * hw_in;
            for (int32_t kh = 0; kh < d->k_h; ++kh) {
                const int32_t ih = ih0 + kh * d->dil_h;
                for (int32_t kw = 0; kw < d->k_w; ++kw, ++row) {
                    const int32_t iw = iw0 + kw * d->dil_w;
                    pr[row] = (ih >= 0 && ih < d->h_in && iw >= 0 && iw < d->w_in) ? xc[ih * d->w_in + iw] : 0.0f;
                }
            }
        }
    }
}

static void bwd_weight_tile_team(void *arg, int32_t hart, int32_t harts)
{
    const par_bwd_weight_job *j = arg;
    const mf_conv2d_desc *d = j->d;
    const int32_t hw_out = d->h_out * d->w_out, kdim = d->c_in * d->k_h * d->k_w;
    int32_t c0, c1;
    mf_cluster_share(d->c_out, 1, hart, harts, &c0, &c1);
    if (c0 < c1)
        j->tile(j->dy + c0 * hw_out + j->p0, hw_out, 1, j->panel, kdim, 1, j->dw + c0 * kdim, kdim,
                c1 - c0, kdim, j->nc, 1.0f, 1);
}

__attribute__((unused)) static int par_bwd_weight(const float *x, const float *dy, float *dw,
                                                  float *db, const mf_conv2d_desc *d,
                                                  float *scratch, int32_t cols,
                                                  mf_bwd_tile_f32_fn tile,
                                                  int (*kernel)(const float *, const float *,
                                                                float *, float *,
                                                                const mf_conv2d_desc *, float *))
{
    if (!x || !dy || (!dw && !db) || !d || d->groups < 1) return MF_EARG;
    if (is_depthwise(d) && d->n == 1) {
        par_dw_bwd_job j = {x, dy, NULL, NULL, dw, db, d};
        mf_cluster_fork(dw_bwd_weight_team, &j);
        return MF_OK;
    }
    if (d->groups != 1 || d->n != 1) return kernel(x, dy, dw, db, d, scratch); /* one hart */
    if (dw && !scratch) return MF_EARG;
    par_bwd_weight_job j = {x, dy, dw, db, d, scratch, 0, 0, tile};
    mf_cluster_fork(bwd_weight_rows_team, &j);
    if (!dw) return MF_OK;
    const int32_t hw_out = d->h_out * d->w_out;
    for (j.p0 = 0; j.p0 < hw_out; j.p0 += cols) {
        j.nc = hw_out - j.p0 < cols ? hw_out - j.p0 : cols;
        mf_cluster_fork(bwd_weight_panel_team, &j);
        mf_cluster_fork(bwd_weight_tile_team, &j);
    }
    return MF_OK;
}

#if defined(__riscv_vector)
int mf_conv2d_bwd_weight_par_f32_rvv(const float *x, const float *dy, float *dw, float *db,
                                     const mf_conv2d_desc *d, float *scratch)
{
    return par_bwd_weight(x, dy, dw, db, d, scratch, MF_BWD_COLS_RVV, mf_bwd_tile_f32_rvv,
                          mf_conv2d_bwd_weight_f32_rvv);
}

#endif

/* ---- conv input gradient: rows of the transposed-weight tile, i.e. input channels ----------
 * The one-hart driver (gemm_bwd_ref.inc) zeroes dx, then per chunk of `cols` output pixels
 * makes one tile call G[c_in k_h k_w][chunk] = W^T dY[:, chunk] into scratch and adds G into
 * dx through col2im, chunk after chunk. Here hart h owns input channels [c0, c1): it zeroes
 * them, and per chunk computes G's rows of those channels (the same tile, each row one
 * accumulator from zero over the output channels in order, whatever rows share a call) into
 * its own part of the one shared scratch, then adds them into its own channels of dx in the
 * one-hart order. No hart touches another's rows or channels, so one fork covers every chunk
 * and the scratch stays the one-hart size. Pointwise: dX's rows of those channels in one tile
 * call. Groups other than 1 or depthwise, or a batch: one hart. */
typedef struct {
    const float *dy, *w;
    float *dx;
    const mf_conv2d_desc *d;
    float *scratch;
    int32_t cols;
    mf_bwd_tile_f32_fn tile;
} par_bwd_input_job;

/* dx[channels of g] += G's rows at output pixels [p0, p0 + nc): col2im_add of gemm_bwd_ref.inc */
static void col2im_rows(const float *g, int32_t nc, int32_t p0, float *dx, int32_t channels,
                        const mf_conv2d_desc *d)
{
    const int32_t hw_in = d->h_in * d->w_in;
    for (int32_t ic = 0, row = 0; ic < channels; ++ic)
        for (int32_t kh = 0; kh < d->k_h; ++kh)
            for (int32_t kw = 0; kw < d->k_w; ++kw, ++row) {
                const float *gr = g + row * nc;
                float *dxc = dx + ic * hw_in;
                int32_t oh = p0 / d->w_out, ow = p0 % d->w_out;
                for (int32_t j = 0; j < nc; ++j) {
                    const int32_t ih = oh * d->stride_h - d->pad_top + kh * d->dil_h;
                    const int32_t iw = ow * d->stride_w - d->pad_left + kw * d->dil_w;
                    if (ih >= 0 && ih < d->h_in && iw >= 0 && iw < d->w_in) {
                        float *p = dxc + ih * d->w_in + iw;
                        *p = *p + gr[j];
                    }
                    if (++ow == d->w_out) {
                        ow = 0;
                        ++oh;
                    }
                }
            }
}

static int is_pointwise_bwd(const mf_conv2d_desc *d)
{
    return d->k_h == 1 && d->k_w == 1 && d->stride_h == 1 && d->stride_w == 1 && d->pad_top == 0 &&
           d->pad_left == 0 && d->h_in == d->h_out && d->w_in == d->w_out;
}

static void bwd_input_team(void *arg, int32_t hart, int32_t harts)
{
    const par_bwd_input_job *j = arg;
    const mf_conv2d_desc *d = j->d;
    const int32_t hw_in = d->h_in * d->w_in, hw_out = d->h_out * d->w_out;
    const int32_t kk = d->k_h * d->k_w, kdim = d->c_in * kk;
    int32_t c0, c1;
    mf_cluster_share(d->c_in, 1, hart, harts, &c0, &c1);
    if (c0 >= c1) return;
    float *dxh = j->dx + c0 * hw_in;
    if (is_pointwise_bwd(d)) {
        j->tile(j->w + c0, 1, kdim, j->dy, hw_out, 1, dxh, hw_in, c1 - c0, hw_out, d->c_out, 1.0f, 0);
        return;
    }
    for (int32_t i = 0; i < (c1 - c0) * hw_in; ++i) dxh[i] = 0.0f;
    for (int32_t p0 = 0; p0 < hw_out; p0 += j->cols) {
        const int32_t nc = hw_out - p0 < j->cols ? hw_out - p0 : j->cols;
        /* hart h's rows sit at a fixed place (c0 rows of full chunks in): a hart on a
         * shorter last chunk must not land on rows another hart still reads */
        float *g = j->scratch + c0 * kk * j->cols;
        j->tile(j->w + c0 * kk, 1, kdim, j->dy + p0, hw_out, 1, g, nc, (c1 - c0) * kk, nc, d->c_out, 1.0f, 0);
        col2im_rows(g, nc, p0, dxh, c1 - c0, d);
    }
}

__attribute__((unused)) static int par_bwd_input(const float *dy, const float *w, float *dx,
                                                 const mf_conv2d_desc *d, float *scratch,
                                                 int32_t cols, mf_bwd_tile_f32_fn tile,
                                                 int (*kernel)(const float *, const float *, float *,
                                                               const mf_conv2d_desc *, float *))
{
    if (!dy || !w || !dx || !d || d->groups < 1) return MF_EARG;
    if (is_depthwise(d) && d->n == 1) {
        par_dw_bwd_job j = {NULL, dy, w, dx, NULL, NULL, d};
        mf_cluster_fork(dw_bwd_input_team, &j);
        return MF_OK;
    }
    if (d->groups != 1 || d->n != 1) return kernel(dy, w, dx, d, scratch); /* one hart */
    if (!is_pointwise_bwd(d) && !scratch) return MF_EARG;
    par_bwd_input_job j = {dy, w, dx, d, scratch, cols, tile};
    mf_cluster_fork(bwd_input_team, &j);
    return MF_OK;
}

#if defined(__riscv_vector)
int mf_conv2d_bwd_input_par_f32_rvv(const float *dy, const float *w, float *dx,
                                    const mf_conv2d_desc *d, float *scratch)
{
    return par_bwd_input(dy, w, dx, d, scratch, MF_BWD_COLS_RVV, mf_bwd_tile_f32_rvv,
                         mf_conv2d_bwd_input_f32_rvv);
}
#endif

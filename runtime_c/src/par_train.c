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

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

/* ---- conv weight gradient by output channels ------------------------------------------------ */

typedef int (*par_bwd_weight_fn)(const float *x, const float *dy, float *dw, float *db,
                                 const mf_conv2d_desc *d, float *scratch);

typedef struct {
    const float *x, *dy;
    float *dw, *db;
    const mf_conv2d_desc *d;
    float *scratch;
    int32_t stride; /* elements per hart */
    par_bwd_weight_fn kernel;
} par_bwd_weight_job;

static void bwd_weight_team(void *arg, int32_t hart, int32_t harts)
{
    const par_bwd_weight_job *j = arg;
    const mf_conv2d_desc *d = j->d;
    int32_t c0, c1;
    mf_cluster_share(d->c_out, 1, hart, harts, &c0, &c1);
    if (c0 >= c1) return;
    mf_conv2d_desc s = *d;
    s.c_out = c1 - c0;
    const int32_t kdim = d->c_in * d->k_h * d->k_w;
    (void)j->kernel(j->x, j->dy + c0 * d->h_out * d->w_out, j->dw ? j->dw + c0 * kdim : NULL,
                    j->db ? j->db + c0 : NULL, &s, j->scratch ? j->scratch + hart * j->stride : NULL);
}

__attribute__((unused)) static int par_bwd_weight(const float *x, const float *dy, float *dw, float *db,
                          const mf_conv2d_desc *d, float *scratch, int32_t cols,
                          par_bwd_weight_fn kernel)
{
    if (!x || !dy || (!dw && !db) || !d || d->groups < 1) return MF_EARG;
    if (d->groups != 1 || d->n != 1) return kernel(x, dy, dw, db, d, scratch); /* one hart */
    par_bwd_weight_job j = {x, dy, dw, db, d, scratch,
                            mf_conv2d_bwd_scratch_bytes(d, 4, cols) / 4, kernel};
    mf_cluster_fork(bwd_weight_team, &j);
    return MF_OK;
}

#if defined(__riscv_vector)
int mf_conv2d_bwd_weight_par_f32_rvv(const float *x, const float *dy, float *dw, float *db,
                                     const mf_conv2d_desc *d, float *scratch)
{
    return par_bwd_weight(x, dy, dw, db, d, scratch, MF_BWD_COLS_RVV, mf_conv2d_bwd_weight_f32_rvv);
}
#endif

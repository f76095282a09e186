/* FP16 (mixed-precision) training kernels over a cluster's harts: the convolution gradients of
 * par_train.inc on the FP16 RVV micro-kernel, and the activation backward and SGD update by
 * element ranges. Every value is computed as the one-hart kernel computes it.
 * The FP16 SGD and Adam updates skip the whole tensor when any gradient is not finite (loss scaling):
 * a first fork checks each hart's range, and only if all are finite does a second fork update,
 * so a non-finite value in one hart's range leaves every weight alone, as on one hart. */
#if defined(__FLT16_MAX__)
#include <math.h>

#include "mf_cluster.h"
#include "mf_f16.h"
#include "mf_train.h"
#include "mf_train_impl.h"

#define MF_T mf_f16
#define MF_REF(op) op##_f16_ref
#define MF_TILE_FN mf_bwd_tile_f16_fn
#include "par_train.inc"

typedef struct {
    const mf_f16 *dy, *v;
    mf_f16 *dx;
    int32_t n;
    const mf_act *act;
    int32_t from_output;
} par_act_bwd_f16_job;

static void act_bwd_f16_team(void *arg, int32_t hart, int32_t harts)
{
    const par_act_bwd_f16_job *j = arg;
    int32_t lo, hi;
    mf_cluster_share(j->n, 16, hart, harts, &lo, &hi);
    if (lo < hi)
        (void)mf_act_bwd_input_f16_ref(j->dy + lo, j->v + lo, j->dx + lo, hi - lo, j->act, j->from_output);
}

int mf_act_bwd_input_par_f16_ref(const mf_f16 *dy, const mf_f16 *v, mf_f16 *dx, int32_t n,
                                 const mf_act *act, int32_t from_output)
{
    if (!dy || !v || !dx || !act || n < 0) return MF_EARG;
    par_act_bwd_f16_job j = {dy, v, dx, n, act, from_output};
    mf_cluster_fork(act_bwd_f16_team, &j);
    return MF_OK;
}

typedef struct {
    float *w;
    const mf_f16 *g;
    float *buf;
    mf_f16 *w_half;
    int32_t n;
    const mf_sgd_desc *d;
    mf_loss_scale *ls;
    int32_t finite[MF_HARTS]; /* per hart: its range of g is finite */
} par_sgd_f16_job;

static void sgd_f16_check_team(void *arg, int32_t hart, int32_t harts)
{
    par_sgd_f16_job *j = arg;
    int32_t lo, hi, ok = 1;
    mf_cluster_share(j->n, 16, hart, harts, &lo, &hi);
    for (int32_t i = lo; i < hi && ok; ++i) ok = isfinite((float)j->g[i]);
    j->finite[hart] = ok;
}

static void sgd_f16_team(void *arg, int32_t hart, int32_t harts)
{
    par_sgd_f16_job *j = arg;
    int32_t lo, hi;
    mf_cluster_share(j->n, 16, hart, harts, &lo, &hi);
    if (lo < hi) /* every gradient is finite: the update leaves ls alone */
        (void)mf_sgd_update_f16_ref(j->w + lo, j->g + lo, j->buf ? j->buf + lo : NULL, j->w_half + lo,
                                    hi - lo, j->d, j->ls);
}

int mf_sgd_update_par_f16_ref(float *w, const mf_f16 *g, float *buf, mf_f16 *w_half, int32_t n,
                              const mf_sgd_desc *d, mf_loss_scale *ls)
{
    if (!w || !g || !w_half || !d || !ls || n < 0 || (d->momentum != 0.0f && !buf)) return MF_EARG;
    par_sgd_f16_job j = {w, g, buf, w_half, n, d, ls, {0}};
    mf_cluster_fork(sgd_f16_check_team, &j);
    for (int32_t h = 0; h < mf_cluster_harts(); ++h)
        if (!j.finite[h]) {
            ls->overflow = 1;
            return MF_OK;
        }
    mf_cluster_fork(sgd_f16_team, &j);
    return MF_OK;
}

/* Adam: the same two forks as SGD (the check, then the update of every range) */
typedef struct {
    float *w;
    const mf_f16 *g;
    float *m, *v;
    mf_f16 *w_half;
    int32_t n;
    const mf_adam_desc *d;
    int32_t step;
    mf_loss_scale *ls;
    int32_t finite[MF_HARTS];
} par_adam_f16_job;

static void adam_f16_check_team(void *arg, int32_t hart, int32_t harts)
{
    par_adam_f16_job *j = arg;
    int32_t lo, hi, ok = 1;
    mf_cluster_share(j->n, 16, hart, harts, &lo, &hi);
    for (int32_t i = lo; i < hi && ok; ++i) ok = isfinite((float)j->g[i]);
    j->finite[hart] = ok;
}

static void adam_f16_team(void *arg, int32_t hart, int32_t harts)
{
    par_adam_f16_job *j = arg;
    int32_t lo, hi;
    mf_cluster_share(j->n, 16, hart, harts, &lo, &hi);
    if (lo < hi)
        (void)mf_adam_update_f16_ref(j->w + lo, j->g + lo, j->m + lo, j->v + lo, j->w_half + lo, hi - lo,
                                     j->d, j->step, j->ls);
}

int mf_adam_update_par_f16_ref(float *w, const mf_f16 *g, float *m, float *v, mf_f16 *w_half,
                               int32_t n, const mf_adam_desc *d, int32_t step, mf_loss_scale *ls)
{
    if (!w || !g || !m || !v || !w_half || !d || !ls || n < 0 || step < 1) return MF_EARG;
    par_adam_f16_job j = {w, g, m, v, w_half, n, d, step, ls, {0}};
    mf_cluster_fork(adam_f16_check_team, &j);
    for (int32_t h = 0; h < mf_cluster_harts(); ++h)
        if (!j.finite[h]) {
            ls->overflow = 1;
            return MF_OK;
        }
    mf_cluster_fork(adam_f16_team, &j);
    return MF_OK;
}

#if defined(__riscv_vector)
int mf_conv2d_bwd_weight_par_f16_rvv(const mf_f16 *x, const mf_f16 *dy, mf_f16 *dw, mf_f16 *db,
                                     const mf_conv2d_desc *d, mf_f16 *scratch)
{
    return par_bwd_weight(x, dy, dw, db, d, scratch, MF_BWD_COLS_RVV, mf_bwd_tile_f16_rvv,
                          mf_conv2d_bwd_weight_f16_rvv);
}

int mf_conv2d_bwd_input_par_f16_rvv(const mf_f16 *dy, const mf_f16 *w, mf_f16 *dx,
                                    const mf_conv2d_desc *d, mf_f16 *scratch)
{
    return par_bwd_input(dy, w, dx, d, scratch, MF_BWD_COLS_RVV, mf_bwd_tile_f16_rvv,
                         mf_conv2d_bwd_input_f16_rvv);
}
#endif
#endif

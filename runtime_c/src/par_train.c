/* FP32 training kernels over a cluster's harts (mf_cluster.h): each hart calls the plain kernel
 * on its slice, or the shared drivers of par_train.inc split the convolution gradients, so
 * every value is computed as on one hart.
 * - activation backward and the SGD / Adam updates: by contiguous element ranges;
 * - convolution weight / input gradients, depthwise included: par_train.inc. */
#include "mf_cluster.h"
#include "mf_train.h"
#include "mf_train_impl.h"

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

#define MF_T float
#define MF_REF(op) op##_f32_ref
#define MF_TILE_FN mf_bwd_tile_f32_fn
#include "par_train.inc"

#if defined(__riscv_vector)
int mf_conv2d_bwd_weight_par_f32_rvv(const float *x, const float *dy, float *dw, float *db,
                                     const mf_conv2d_desc *d, float *scratch)
{
    return par_bwd_weight(x, dy, dw, db, d, scratch, MF_BWD_COLS_RVV, mf_bwd_tile_f32_rvv,
                          mf_conv2d_bwd_weight_f32_rvv);
}

int mf_conv2d_bwd_input_par_f32_rvv(const float *dy, const float *w, float *dx,
                                    const mf_conv2d_desc *d, float *scratch)
{
    return par_bwd_input(dy, w, dx, d, scratch, MF_BWD_COLS_RVV, mf_bwd_tile_f32_rvv,
                         mf_conv2d_bwd_input_f32_rvv);
}
#endif

/* 2-D pooling over a cluster's harts: the fused batch x channel planes (desc.nc) are cut into
 * one contiguous slice per hart, each hart calling the reference kernel on its planes, so
 * every output is computed as on one hart. */
#include "mf_cluster.h"
#include "mf_pool.h"
#include "mf_train.h"
#if defined(__FLT16_MAX__)
#include "mf_f16.h"
#endif

typedef struct {
    const void *x;
    void *y;
    const mf_pool2d_desc *d;
    int32_t elem; /* bytes per element */
    int max;      /* max pooling, else average */
} par_pool_job;

static int pool_slice(const par_pool_job *j, int32_t hart, int32_t harts, mf_pool2d_desc *s,
                      int32_t *ox, int32_t *oy)
{
    int32_t lo, hi;
    mf_cluster_share(j->d->nc, 1, hart, harts, &lo, &hi);
    if (lo >= hi) return 0;
    *s = *j->d;
    s->nc = hi - lo;
    *ox = lo * j->d->h_in * j->d->w_in * j->elem;
    *oy = lo * j->d->h_out * j->d->w_out * j->elem;
    return 1;
}

static void pool_f32_team(void *arg, int32_t hart, int32_t harts)
{
    const par_pool_job *j = arg;
    mf_pool2d_desc s;
    int32_t ox, oy;
    if (!pool_slice(j, hart, harts, &s, &ox, &oy)) return;
    const float *x = (const float *)((const uint8_t *)j->x + ox);
    float *y = (float *)((uint8_t *)j->y + oy);
    (void)(j->max ? mf_maxpool2d_f32_ref(x, y, &s) : mf_avgpool2d_f32_ref(x, y, &s));
}

int mf_maxpool2d_par_f32_ref(const float *x, float *y, const mf_pool2d_desc *d)
{
    if (!x || !y || !d) return MF_EARG;
    par_pool_job j = {x, y, d, (int32_t)sizeof(float), 1};
    mf_cluster_fork(pool_f32_team, &j);
    return MF_OK;
}

int mf_avgpool2d_par_f32_ref(const float *x, float *y, const mf_pool2d_desc *d)
{
    if (!x || !y || !d) return MF_EARG;
    par_pool_job j = {x, y, d, (int32_t)sizeof(float), 0};
    mf_cluster_fork(pool_f32_team, &j);
    return MF_OK;
}

#if defined(__FLT16_MAX__)
static void pool_f16_team(void *arg, int32_t hart, int32_t harts)
{
    const par_pool_job *j = arg;
    mf_pool2d_desc s;
    int32_t ox, oy;
    if (!pool_slice(j, hart, harts, &s, &ox, &oy)) return;
    const mf_f16 *x = (const mf_f16 *)((const uint8_t *)j->x + ox);
    mf_f16 *y = (mf_f16 *)((uint8_t *)j->y + oy);
    (void)(j->max ? mf_maxpool2d_f16_ref(x, y, &s) : mf_avgpool2d_f16_ref(x, y, &s));
}

int mf_maxpool2d_par_f16_ref(const mf_f16 *x, mf_f16 *y, const mf_pool2d_desc *d)
{
    if (!x || !y || !d) return MF_EARG;
    par_pool_job j = {x, y, d, (int32_t)sizeof(mf_f16), 1};
    mf_cluster_fork(pool_f16_team, &j);
    return MF_OK;
}

int mf_avgpool2d_par_f16_ref(const mf_f16 *x, mf_f16 *y, const mf_pool2d_desc *d)
{
    if (!x || !y || !d) return MF_EARG;
    par_pool_job j = {x, y, d, (int32_t)sizeof(mf_f16), 0};
    mf_cluster_fork(pool_f16_team, &j);
    return MF_OK;
}
#endif

/* ---- pooling backward (mf_train.h): the same plane ranges; a plane's input gradient depends
 * on that plane's output gradient (and input, for max) alone */

#define PAR_POOL_BWD(T, NAME, CALL)                                                             \
    typedef struct {                                                                            \
        const T *dy, *x;                                                                        \
        T *dx;                                                                                  \
        const mf_pool2d_desc *d;                                                                \
    } NAME##_job;                                                                               \
    static void NAME##_team(void *arg, int32_t hart, int32_t harts)                             \
    {                                                                                           \
        const NAME##_job *j = arg;                                                              \
        const mf_pool2d_desc *d = j->d;                                                         \
        int32_t lo, hi;                                                                         \
        mf_cluster_share(d->nc, 1, hart, harts, &lo, &hi);                                      \
        if (lo >= hi) return;                                                                   \
        mf_pool2d_desc s = *d;                                                                  \
        s.nc = hi - lo;                                                                         \
        const T *dy = j->dy + lo * d->h_out * d->w_out;                                         \
        const T *x = j->x ? j->x + lo * d->h_in * d->w_in : NULL;                               \
        T *dx = j->dx + lo * d->h_in * d->w_in;                                                 \
        (void)x; /* average pooling reads no input */                                         \
        (void)CALL;                                                                             \
    }

PAR_POOL_BWD(float, par_avgpool_bwd_f32, mf_avgpool2d_bwd_input_f32_ref(dy, dx, &s))
PAR_POOL_BWD(float, par_maxpool_bwd_f32, mf_maxpool2d_bwd_input_f32_ref(dy, x, dx, &s))

int mf_avgpool2d_bwd_input_par_f32_ref(const float *dy, float *dx, const mf_pool2d_desc *d)
{
    if (!dy || !dx || !d) return MF_EARG;
    par_avgpool_bwd_f32_job j = {dy, NULL, dx, d};
    mf_cluster_fork(par_avgpool_bwd_f32_team, &j);
    return MF_OK;
}

int mf_maxpool2d_bwd_input_par_f32_ref(const float *dy, const float *x, float *dx, const mf_pool2d_desc *d)
{
    if (!dy || !x || !dx || !d) return MF_EARG;
    par_maxpool_bwd_f32_job j = {dy, x, dx, d};
    mf_cluster_fork(par_maxpool_bwd_f32_team, &j);
    return MF_OK;
}

#if defined(__FLT16_MAX__)
PAR_POOL_BWD(mf_f16, par_avgpool_bwd_f16, mf_avgpool2d_bwd_input_f16_ref(dy, dx, &s))
PAR_POOL_BWD(mf_f16, par_maxpool_bwd_f16, mf_maxpool2d_bwd_input_f16_ref(dy, x, dx, &s))

int mf_avgpool2d_bwd_input_par_f16_ref(const mf_f16 *dy, mf_f16 *dx, const mf_pool2d_desc *d)
{
    if (!dy || !dx || !d) return MF_EARG;
    par_avgpool_bwd_f16_job j = {dy, NULL, dx, d};
    mf_cluster_fork(par_avgpool_bwd_f16_team, &j);
    return MF_OK;
}

int mf_maxpool2d_bwd_input_par_f16_ref(const mf_f16 *dy, const mf_f16 *x, mf_f16 *dx,
                                       const mf_pool2d_desc *d)
{
    if (!dy || !x || !dx || !d) return MF_EARG;
    par_maxpool_bwd_f16_job j = {dy, x, dx, d};
    mf_cluster_fork(par_maxpool_bwd_f16_team, &j);
    return MF_OK;
}
#endif

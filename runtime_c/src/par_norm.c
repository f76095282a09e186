/* Softmax and LayerNorm over a cluster's harts: rows are independent, so each hart calls the
 * plain kernel on a contiguous range of them (softmax: of its `outer` slabs; LayerNorm: of its
 * rows, with their mean/rstd outputs), and each row is computed as on one hart. A softmax with
 * one outer slab (the reduction strided across `inner`) stays on one hart. */
#include "mf_cluster.h"
#include "mf_norm.h"
#include "mf_transformer.h"
#if defined(__FLT16_MAX__)
#include "mf_f16.h"
#endif

#define PAR_SOFTMAX(T, NAME, PLAIN)                                                             \
    typedef struct {                                                                            \
        const T *x;                                                                             \
        T *y;                                                                                   \
        const mf_softmax_desc *d;                                                               \
    } NAME##_job;                                                                               \
    static void NAME##_team(void *arg, int32_t hart, int32_t harts)                             \
    {                                                                                           \
        const NAME##_job *j = arg;                                                              \
        int32_t lo, hi;                                                                         \
        mf_cluster_share(j->d->outer, 1, hart, harts, &lo, &hi);                                \
        if (lo >= hi) return;                                                                   \
        mf_softmax_desc s = *j->d;                                                              \
        const int32_t slab = s.axis_len * s.inner;                                              \
        s.outer = hi - lo;                                                                      \
        (void)PLAIN(j->x + lo * slab, j->y + lo * slab, &s);                                    \
    }                                                                                           \
    static int NAME##_run(const T *x, T *y, const mf_softmax_desc *d)                           \
    {                                                                                           \
        if (!x || !y || !d) return MF_EARG;                                                     \
        if (d->outer < 2) return PLAIN(x, y, d);                                                \
        NAME##_job j = {x, y, d};                                                               \
        mf_cluster_fork(NAME##_team, &j);                                                       \
        return MF_OK;                                                                           \
    }

#define PAR_LAYERNORM(T, NAME, PLAIN)                                                           \
    typedef struct {                                                                            \
        const T *x, *gamma, *beta;                                                              \
        T *y;                                                                                   \
        T *mean, *rstd;                                                                         \
        const mf_layernorm_desc *d;                                                             \
    } NAME##_job;                                                                               \
    static void NAME##_team(void *arg, int32_t hart, int32_t harts)                             \
    {                                                                                           \
        const NAME##_job *j = arg;                                                              \
        int32_t lo, hi;                                                                         \
        mf_cluster_share(j->d->rows, 1, hart, harts, &lo, &hi);                                 \
        if (lo >= hi) return;                                                                   \
        mf_layernorm_desc s = *j->d;                                                            \
        s.rows = hi - lo;                                                                       \
        (void)PLAIN(j->x + lo * s.cols, j->gamma, j->beta, j->y + lo * s.cols,                  \
                    j->mean ? j->mean + lo : NULL, j->rstd ? j->rstd + lo : NULL, &s);          \
    }                                                                                           \
    static int NAME##_run(const T *x, const T *gamma, const T *beta, T *y, T *mean_out,         \
                          T *rstd_out, const mf_layernorm_desc *d)                              \
    {                                                                                           \
        if (!x || !y || !d) return MF_EARG;                                                     \
        NAME##_job j = {x, gamma, beta, y, mean_out, rstd_out, d};                              \
        mf_cluster_fork(NAME##_team, &j);                                                       \
        return MF_OK;                                                                           \
    }

PAR_SOFTMAX(float, par_softmax_f32_ref, mf_softmax_f32_ref)

int mf_softmax_par_f32_ref(const float *x, float *y, const mf_softmax_desc *d)
{
    return par_softmax_f32_ref_run(x, y, d);
}

PAR_LAYERNORM(float, par_layernorm_f32_ref, mf_layernorm_f32_ref)

int mf_layernorm_par_f32_ref(const float *x, const float *gamma, const float *beta,
                             float *y, float *mean_out, float *rstd_out,
                             const mf_layernorm_desc *d)
{
    return par_layernorm_f32_ref_run(x, gamma, beta, y, mean_out, rstd_out, d);
}

#if defined(__FLT16_MAX__)
PAR_SOFTMAX(mf_f16, par_softmax_f16_ref, mf_softmax_f16_ref)

int mf_softmax_par_f16_ref(const mf_f16 *x, mf_f16 *y, const mf_softmax_desc *d)
{
    return par_softmax_f16_ref_run(x, y, d);
}

PAR_LAYERNORM(mf_f16, par_layernorm_f16_ref, mf_layernorm_f16_ref)

int mf_layernorm_par_f16_ref(const mf_f16 *x, const mf_f16 *gamma, const mf_f16 *beta,
                             mf_f16 *y, mf_f16 *mean_out, mf_f16 *rstd_out,
                             const mf_layernorm_desc *d)
{
    return par_layernorm_f16_ref_run(x, gamma, beta, y, mean_out, rstd_out, d);
}

#if defined(__riscv_vector)
PAR_SOFTMAX(mf_f16, par_softmax_f16_rvv, mf_softmax_f16_rvv)

int mf_softmax_par_f16_rvv(const mf_f16 *x, mf_f16 *y, const mf_softmax_desc *d)
{
    return par_softmax_f16_rvv_run(x, y, d);
}

PAR_LAYERNORM(mf_f16, par_layernorm_f16_rvv, mf_layernorm_f16_rvv)

int mf_layernorm_par_f16_rvv(const mf_f16 *x, const mf_f16 *gamma, const mf_f16 *beta,
                             mf_f16 *y, mf_f16 *mean_out, mf_f16 *rstd_out,
                             const mf_layernorm_desc *d)
{
    return par_layernorm_f16_rvv_run(x, gamma, beta, y, mean_out, rstd_out, d);
}
#endif
#endif

/* FP32 convolutions over a cluster's harts (par_conv.inc), on the register-blocked 4x4 panel
 * of gemm_f32_dsp.c: the parallel twins of mf_conv2d_f32_dsp and mf_conv2d_residual_f32_dsp,
 * same arguments, scratch = harts x the one-hart size. */
#define MF_T float
#define MF_SFX(op) op##_f32
#define MF_PANEL_FN mf_panel_f32_fn
#include "par_conv.inc"

int mf_conv2d_par_f32_dsp(const float *x, const float *w, const float *bias, float *y,
                          const mf_conv2d_desc *d, float *scratch)
{
    if (!d) return MF_EARG;
    return par_conv_f32(x, w, bias, y, d, scratch, mf_conv2d_scratch_bytes(d, 4, MF_CONV_COLS_DSP),
                        MF_CONV_COLS_DSP, mf_gemm_panel_f32_dsp, mf_conv2d_f32_dsp, 0);
}

int mf_conv2d_residual_par_f32_dsp(const float *x, const float *w, const float *bias,
                                   const float *skip, float *y, float *scratch,
                                   const mf_conv2d_desc *d)
{
    if (!d) return MF_EARG;
    return par_conv_residual_f32(x, w, bias, skip, y, scratch, d,
                                 mf_conv2d_residual_scratch_bytes(d, 4, MF_CONV_COLS_DSP),
                                 MF_CONV_COLS_DSP, mf_gemm_panel_f32_dsp, 0);
}

int mf_conv2d_overwrite_par_f32_dsp(const float *x, const float *w, const float *bias, float *y,
                                    float *scratch, const mf_conv2d_desc *d)
{
    return par_conv_overwrite_f32(x, w, bias, y, scratch, d, mf_conv2d_overwrite_f32_dsp,
                                  mf_gemm_panel_f32_dsp, MF_CONV_OVERWRITE_COLS);
}

/* ---- RVV (issue 19's FP32 vector convs) -----------------------------------------------------
 * The 6-row LMUL-4 panel of gemm_f32_rvv.c computes each output as one lane of one
 * accumulator: bias, then a vfmacc per k in order. Which rows share a 6-row group, which lanes
 * share a vector and how long the pixel chunk is change neither the operands nor their order
 * for any one output, so the pixel split of par_conv.inc gives the one-hart bits. Depthwise
 * planes go whole to a hart (par_channels_team and par_overwrite_channels_team): the plane
 * kernels of depthwise_rvv.inc pick their code path (flat 3x3 runs across rows, per-row
 * vectors) from the plane's shape, and a row split would change it for edge outputs. */
#if defined(__riscv_vector)
#include "mf_simd_f32.h"

int mf_conv2d_par_f32_rvv(const float *x, const float *w, const float *bias, float *y,
                          const mf_conv2d_desc *d, float *scratch)
{
    if (!d) return MF_EARG;
    return par_conv_f32(x, w, bias, y, d, scratch, mf_conv2d_scratch_bytes(d, 4, MF_CONV_COLS_RVV),
                        MF_CONV_COLS_RVV, mf_gemm_panel_f32_rvv, mf_conv2d_f32_rvv, 1);
}

int mf_conv2d_residual_par_f32_rvv(const float *x, const float *w, const float *bias,
                                   const float *skip, float *y, float *scratch,
                                   const mf_conv2d_desc *d)
{
    if (!d) return MF_EARG;
    return par_conv_residual_f32(x, w, bias, skip, y, scratch, d,
                                 mf_conv2d_residual_scratch_bytes(d, 4, MF_CONV_COLS_RVV),
                                 MF_CONV_COLS_RVV, mf_gemm_panel_f32_rvv, 1);
}

/* mf_conv2d_overwrite_f32_rvv: depthwise through mf_depthwise_f32_rvv (its plane copy in
 * scratch), pointwise through conv_overwrite_ref.inc's loop at MF_CONV_OVERWRITE_COLS on the
 * RVV panel: the same two paths, per channel slice / per hart's columns. */
int mf_conv2d_overwrite_par_f32_rvv(const float *x, const float *w, const float *bias, float *y,
                                    float *scratch, const mf_conv2d_desc *d)
{
    return par_conv_overwrite_f32(x, w, bias, y, scratch, d, mf_conv2d_overwrite_f32_rvv,
                                  mf_gemm_panel_f32_rvv, MF_CONV_OVERWRITE_COLS);
}

/* The depthwise kernel itself, by channels (y may be x: each hart then uses its own copy of
 * the one-hart scratch, mf_conv2d_overwrite_scratch_bytes of the full descriptor). */
typedef struct {
    const float *x, *w, *bias;
    float *y;
    const mf_conv2d_desc *d;
    float *scratch;
    int32_t stride; /* elements per hart */
} par_depthwise_job;

static void par_depthwise_team(void *arg, int32_t hart, int32_t harts)
{
    const par_depthwise_job *j = arg;
    const mf_conv2d_desc *d = j->d;
    int32_t c0, c1;
    mf_cluster_share(d->c_out, 1, hart, harts, &c0, &c1);
    if (c0 >= c1) return;
    mf_conv2d_desc s = *d;
    s.c_in = s.c_out = s.groups = c1 - c0;
    (void)mf_depthwise_f32_rvv(j->x + c0 * d->h_in * d->w_in, j->w + c0 * d->k_h * d->k_w,
                               j->bias ? j->bias + c0 : NULL, j->y + c0 * d->h_out * d->w_out, &s,
                               j->scratch ? j->scratch + hart * j->stride : NULL);
}

int mf_depthwise_par_f32_rvv(const float *x, const float *w, const float *bias, float *y,
                             const mf_conv2d_desc *d, float *scratch)
{
    if (!x || !w || !y || !d) return MF_EARG;
    /* a batch, or planes that do not map one to one onto input planes in place: one hart */
    const int same = d->h_out * d->w_out == d->h_in * d->w_in;
    if (d->n != 1 || !mf_conv2d_is_depthwise(d) || (y == x && !same))
        return mf_depthwise_f32_rvv(x, w, bias, y, d, scratch);
    par_depthwise_job j = {x, w, bias, y, d, scratch,
                           mf_conv2d_overwrite_scratch_bytes(d, 4, MF_CONV_OVERWRITE_COLS) / 4};
    mf_cluster_fork(par_depthwise_team, &j);
    return MF_OK;
}
#endif

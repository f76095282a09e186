/* A plain reference for the int8 contract of runtime_c/include/mf_int8.h, private to the
 * kernel tests: the SIMD kernels (mf_{conv2d,fc}_s8_{dsp,mve,rvv}) are checked against it in
 * the same simulator binary, and it is checked against numpy (tests/test_kernels_s8.py) so
 * that "bit-exact with the reference" means "bit-exact with the contract". Named kb_ so it
 * never collides with the runtime's own mf_*_s8_ref. Written for clarity, not speed. */
#include "mf_int8.h"
#include "s8_ref.h"

static int8_t out_s8(int32_t acc, const mf_requant_s8 *rq, int32_t ch)
{
    const int32_t i = rq->per_channel ? ch : 0;
    return mf_clamp_s8(rq->out_zp + mf_requant(acc, rq->mult[i], rq->shift[i]), rq->act_min,
                       rq->act_max);
}

int kb_conv2d_s8_ref(const int8_t *x, const int8_t *w, const int32_t *bias, int8_t *y,
                     const mf_conv2d_s8_desc *d)
{
    if (!x || !w || !y || !d || d->groups < 1 || d->c_in % d->groups || d->c_out % d->groups)
        return MF_EARG;
    const int32_t cig = d->c_in / d->groups, cog = d->c_out / d->groups;
    for (int32_t n = 0; n < d->n; ++n)
        for (int32_t oc = 0; oc < d->c_out; ++oc) {
            const int32_t g = oc / cog;
            for (int32_t oh = 0; oh < d->h_out; ++oh)
                for (int32_t ow = 0; ow < d->w_out; ++ow) {
                    int32_t acc = bias ? bias[oc] : 0;
                    for (int32_t ci = 0; ci < cig; ++ci)
                        for (int32_t kh = 0; kh < d->k_h; ++kh)
                            for (int32_t kw = 0; kw < d->k_w; ++kw) {
                                const int32_t ih = oh * d->stride_h - d->pad_top + kh * d->dil_h;
                                const int32_t iw = ow * d->stride_w - d->pad_left + kw * d->dil_w;
                                const int32_t xv =
                                    (ih < 0 || ih >= d->h_in || iw < 0 || iw >= d->w_in)
                                        ? d->in_zp
                                        : x[((n * d->c_in + g * cig + ci) * d->h_in + ih) * d->w_in + iw];
                                acc += xv * w[((oc * cig + ci) * d->k_h + kh) * d->k_w + kw];
                            }
                    y[((n * d->c_out + oc) * d->h_out + oh) * d->w_out + ow] = out_s8(acc, &d->rq, oc);
                }
        }
    return MF_OK;
}

int kb_fc_s8_ref(const int8_t *a, const int8_t *w, const int32_t *bias, int8_t *y,
                 const mf_fc_s8_desc *d)
{
    if (!a || !w || !y || !d || d->m < 1 || d->n < 1 || d->k < 1) return MF_EARG;
    for (int32_t i = 0; i < d->m; ++i)
        for (int32_t j = 0; j < d->n; ++j) {
            int32_t acc = bias ? bias[j] : 0;
            for (int32_t k = 0; k < d->k; ++k) acc += a[i * d->k + k] * w[j * d->k + k];
            y[i * d->n + j] = out_s8(acc, &d->rq, j);
        }
    return MF_OK;
}

/* The reference behind the SIMD kernels' signature, for the harness's host self-check. */
int kb_conv2d_s8_refs(const int8_t *x, const int8_t *w, const int32_t *bias, int8_t *y,
                      const mf_conv2d_s8_desc *d, void *scratch)
{
    (void)scratch;
    return kb_conv2d_s8_ref(x, w, bias, y, d);
}

int32_t kb_conv2d_s8_refs_scratch_bytes(const mf_conv2d_s8_desc *d)
{
    (void)d;
    return 0;
}

int kb_fc_s8_refs(const int8_t *a, const int8_t *w, const int32_t *bias, int8_t *y,
                  const mf_fc_s8_desc *d, void *scratch)
{
    (void)scratch;
    return kb_fc_s8_ref(a, w, bias, y, d);
}

int32_t kb_fc_s8_refs_scratch_bytes(const mf_fc_s8_desc *d)
{
    (void)d;
    return 0;
}

/* Activation backward, FP32 reference: dx = dy * act'(v), the derivatives PyTorch uses
 * (mf_act_deriv_f32, beside each activation's forward in elementwise_f32_ref.c). */
#include "mf_act.h"
#include "mf_elementwise.h"
#include "mf_train.h"

int mf_act_bwd_input_f32_ref(const float *dy, const float *v, float *dx, int32_t n,
                             const mf_act *act, int32_t from_output)
{
    if (!dy || !v || !dx || !act || n < 0) return MF_EARG;
    if (from_output) {
        float dd;
        if (!mf_act_deriv_out_f32(act, 0.0f, &dd)) return MF_EARG;
        for (int32_t i = 0; i < n; ++i) {
            mf_act_deriv_out_f32(act, v[i], &dd);
            dx[i] = dy[i] * dd;
        }
        return MF_OK;
    }
    for (int32_t i = 0; i < n; ++i) dx[i] = dy[i] * mf_act_deriv_f32(act, v[i]);
    return MF_OK;
}

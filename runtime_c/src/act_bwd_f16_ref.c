/* Activation backward, FP16 storage and FP32 arithmetic: the derivatives of act_bwd_f32_ref.c. */
#include "mf_act.h"
#include "mf_train.h"

int mf_act_bwd_input_f16_ref(const mf_f16 *dy, const mf_f16 *v, mf_f16 *dx, int32_t n,
                             const mf_act *act, int32_t from_output)
{
    if (!dy || !v || !dx || !act || n < 0) return MF_EARG;
    float dd;
    if (from_output && !mf_act_deriv_out_f32(act, 0.0f, &dd)) return MF_EARG;
    if (act->kind == MF_ACT_RELU) { /* the common case: a select, no conversion of dy */
        for (int32_t i = 0; i < n; ++i) dx[i] = (float)v[i] > 0.0f ? dy[i] : (mf_f16)0.0f;
        return MF_OK;
    }
    for (int32_t i = 0; i < n; ++i) {
        if (from_output)
            mf_act_deriv_out_f32(act, (float)v[i], &dd);
        else
            dd = mf_act_deriv_f32(act, (float)v[i]);
        dx[i] = (mf_f16)((float)dy[i] * dd);
    }
    return MF_OK;
}

/* mcuforge runtime: every kernel family. */
#ifndef MF_KERNELS_H
#define MF_KERNELS_H

#include "mf_types.h"
#include "mf_elementwise.h"
#include "mf_copy.h"
#include "mf_conv.h"
#include "mf_gemm.h"
#include "mf_pool.h"
#include "mf_norm.h"
#include "mf_train.h"
#include "mf_reduce.h"
#include "mf_transformer.h"
#include "mf_attention_bias.h"
#include "mf_depthwise.h"
#include "mf_f16.h"
#include "mf_int8.h"
#include "mf_int8_vit.h"
#include "mf_par.h"
#include "mf_patch.h"

#endif

"""The one place that names training kernels: mf_<op>_bwd_<entry>_<dtype>_<isa>.

FP32 reference only for now. An FP16 or SIMD backward variant (RVV, Helium) is added by
writing the C file with the same descriptor and registering its name here for the
(dtype, isa) pair; lowering asks `kernel()` and never spells a name itself.
"""

from __future__ import annotations

# (family, entry) -> base name without dtype and isa
_BASE = {
    ("act", "bwd_input"): "mf_act_bwd_input",
    ("conv", "bwd_input"): "mf_conv2d_bwd_input",
    ("conv", "bwd_weight"): "mf_conv2d_bwd_weight",
    ("gemm", "bwd_input"): "mf_gemm_bwd_input",
    ("gemm", "bwd_weight"): "mf_gemm_bwd_weight",
    ("maxpool", "bwd_input"): "mf_maxpool2d_bwd_input",
    ("avgpool", "bwd_input"): "mf_avgpool2d_bwd_input",
    ("layernorm", "bwd_input"): "mf_layernorm_bwd_input",
    ("layernorm", "bwd_weight"): "mf_layernorm_bwd_weight",
    ("softmax", "bwd_input"): "mf_softmax_bwd_input",
    ("loss", "xent"): "mf_softmax_xent",
    ("loss", "mse"): "mf_mse_loss",
    ("optim", "sgd"): "mf_sgd_update",
    ("optim", "adam"): "mf_adam_update",
}

# Variants that exist in runtime_c/src besides f32/ref (none yet).
_VARIANTS: set[tuple[str, str, str, str]] = set()


def kernel(family: str, entry: str, dtype: str = "f32", isa: str = "ref") -> str:
    base = _BASE[(family, entry)]
    if (dtype, isa) != ("f32", "ref") and (family, entry, dtype, isa) not in _VARIANTS:
        isa, dtype = "ref", "f32"  # the reference always exists
    return f"{base}_{dtype}_{isa}"

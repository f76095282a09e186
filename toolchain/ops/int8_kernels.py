"""The SIMD int8 kernels of issue 14 in the kernel table: mf_conv2d_s8_<isa> and
mf_fc_s8_<isa> for Cortex-M DSP (SMLAD), Helium (VMLADAVA) and RVV (vwmacc), each in its own
runtime file over a GEMM core of its ISA (gemm_s8_<isa>.c), and the Python twins of their
C scratch-size functions (tests/test_kernels_s8.py checks both against the C). The C
contract they keep is runtime_c/include/mf_int8.h; the reference kernels and the lowering
that picks them belong to the int8 op family."""

from __future__ import annotations

from toolchain.ops import qconv, qpool
from toolchain.ops.conv import ConvShape, conv_shape
from toolchain.ops.kernel_table import c_file, kernels

S8_ISAS = ("dsp", "mve", "rvv")
# Output pixels per im2col panel: MF_S8_COLS_<ISA> in runtime_c/src/mf_int8_simd.h (private to the kernels).
S8_COLS = {"dsp": 12, "mve": 16, "rvv": 16}
S8_PANEL_BYTES_DSP = 4096  # MF_S8_PANEL_BYTES_DSP: above it a DSP conv panel takes 6 pixels
S8_PW_COLS_DSP = 12  # MF_S8_PW_COLS_DSP: the DSP pointwise-over-input kernel's panel
# MF_S8_BAND_MIN_W_RVV (conv_s8_rvv.c): output rows this wide run from the int16 band of
# their input rows ([c][k_h][wp]); narrower maps build the im2col panel
RVV_BAND_MIN_W = 16


def _k4(k: int) -> int:
    return (k + 3) & ~3


def dsp_cols(k: int) -> int:
    """mf_s8_cols_dsp: pixels per DSP conv panel for a window of k values."""
    return S8_COLS["dsp"] if S8_COLS["dsp"] * _k4(k) * 2 <= S8_PANEL_BYTES_DSP else S8_COLS["dsp"] // 2


def _r16(k: int) -> int:
    return (k + 15) & ~15


def mve_band_bytes(s: ConvShape) -> int:
    """band_bytes of conv_s8_mve.c: the padded input rows of one output row ([c][k_h][wp])
    where some window hangs over the padding and the band's uint16 offsets reach it; none
    where every window lies inside the input (the gathers read x) or the offsets would not
    fit (element by element)."""
    (kh, kw), (sh, sw), (dh, dw), (h, w), (oh, ow), (pt, pl) = (s.kernel, s.strides, s.dilations, s.hw_in,
                                                                 s.hw_out, s.pads)
    cig, eh, ew = s.c_in // s.groups, (kh - 1) * dh, (kw - 1) * dw
    inside = pt <= 0 and pl <= 0 and (oh - 1) * sh - pt + eh < h and (ow - 1) * sw - pl + ew < w
    if inside and (cig - 1) * h * w + eh * w + ew < 65536:
        return 0
    band = cig * kh * ((ow - 1) * sw + ew + 1)
    return _r16(band) if band < 65536 else 0


def conv_s8_scratch(isa: str, s: ConvShape) -> int:
    """mf_conv2d_s8_<isa>_scratch_bytes: depthwise layers (groups == c_in == c_out) take a
    padded channel plane (and sums), the others an im2col panel."""
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = s.kernel, s.strides, s.dilations, s.hw_out
    k = s.c_in // s.groups * kh * kw
    hp, wp = (oh - 1) * sh + (kh - 1) * dh + 1, (ow - 1) * sw + (kw - 1) * dw + 1
    if s.groups == s.c_in == s.c_out:
        return {"dsp": ((hp * wp + 4 + 3) & ~3) + 4 * oh * wp,
                "mve": ((hp * wp + 3) & ~3) + 4 * oh * wp,
                "rvv": 2 * hp * wp + oh * wp}[isa]
    return {"dsp": dsp_cols(k) * _k4(k) * 2 + _k4(k + 1) + 4 * (s.c_in // s.groups) * kh,
            "mve": S8_COLS["mve"] * _r16(k) + _r16(k) * 2 + mve_band_bytes(s),
            "rvv": (s.c_in // s.groups * kh * wp * 2 if ow >= RVV_BAND_MIN_W else S8_COLS["rvv"] * k * 2)}[isa]


def overwrite_s8_scratch(isa: str, c_in: int, c_out: int) -> int:
    """mf_conv2d_overwrite_s8_<isa>_scratch_bytes of a pointwise conv it applies to: the
    panel, then (mve, rvv) c_out outputs per panel column."""
    return {"dsp": S8_PW_COLS_DSP * _k4(c_in) * 2,  # its outputs go straight over x
            "mve": S8_COLS["mve"] * (_r16(c_in) + c_out) + _r16(c_in) * 2,
            "rvv": S8_COLS["rvv"] * (c_in * 2 + c_out)}[isa]


def fc_s8_scratch(isa: str, m: int, n: int, k: int) -> int:
    """mf_fc_s8_<isa>_scratch_bytes: only the DSP kernel widens its activation rows."""
    del n
    return min(m, S8_COLS["dsp"]) * _k4(k) * 2 if isa == "dsp" else 0


for _isa in S8_ISAS:
    c_file(f"gemm_s8_{_isa}.c")
kernels("mf_conv2d", "conv_s8_{isa}.c", ("s8",), S8_ISAS, ("gemm_s8_{isa}.c",), conv_s8_scratch, qconv.CONV_S8_SIG)
kernels("mf_fc", "fc_s8_dsp.c", ("s8",), ("dsp",), ("gemm_s8_dsp.c",), fc_s8_scratch, qconv.FC_S8_SIG)
kernels("mf_fc", "fc_s8_mve.c", ("s8",), ("mve",), ("gemm_s8_mve.c",), fc_s8_scratch, qconv.FC_S8_SIG)
kernels("mf_fc", "fc_s8_rvv.c", ("s8",), ("rvv",), (), fc_s8_scratch, qconv.FC_S8_SIG)
# the global average pool (SXTAB16 sums; other windows call the reference)
kernels("mf_avgpool", "pool_s8_dsp.c", ("s8",), ("dsp",), ("pool_s8_ref.c",), sig=qpool.POOL_S8_SIG)
# the residual band add (ops/qconv.py QConvAdd) with its compile-time term tables
kernels("mf_add_rows", "add_rows_s8_dsp.c", ("s8",), ("dsp",), ("add_rows_s8_ref.c",), sig=qconv.ADD_ROWS_S8_SIG)
kernels("mf_conv2d_overwrite", "conv_overwrite_s8_{isa}.c", ("s8",), S8_ISAS,
        ("gemm_s8_{isa}.c", "conv_overwrite_s8_ref.c"), overwrite_s8_scratch, qconv.CONV_S8_SIG)

# The int8 conv/fc lowering (ops/qconv.py) chooses a variant only where Python knows its
# scratch: give it these twins (QConvParams has the window and groups conv_shape reads).
for _isa in S8_ISAS:
    qconv.CONV_SCRATCH[_isa] = lambda p, xs, ws, isa=_isa: conv_s8_scratch(isa, conv_shape(p, xs, ws))
    qconv.FC_SCRATCH[_isa] = lambda p, m, n, k, isa=_isa: fc_s8_scratch(isa, m, n, k)
# (lower() asks for it only where the overwrite applies: qconv.overwrite_kind == 2)
for _isa in S8_ISAS:
    qconv.OVERWRITE_SCRATCH[_isa] = lambda p, xs, ws, isa=_isa: overwrite_s8_scratch(isa, xs[1], ws[0])

"""The SIMD backward kernels (RVV, Helium; FP32 and FP16) against their reference twins in
the same QEMU binary, on shapes with column tails and odd channel counts, plus the host-side
agreements: the scratch size (C vs Python) and the tiled drivers with the portable
micro-kernel vs the direct reference loops."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from toolchain.boards import Board, load_board
from toolchain.codegen import RUNTIME, copy_runtime
from toolchain.ops.conv import ConvGradParams, ConvParams, Window, bwd_cols

sys.path.insert(0, str(Path(__file__).resolve().parent / "kernels"))
from harness import CTYPE, Case, HarnessError, run  # noqa: E402
from kharness import ConvWindow, defines_of  # noqa: E402

HARNESS = Path(__file__).resolve().parent / "kernels" / "bwd.c"
# SIMD vs ref, relative to max(1, max |ref|): FP32 reorders sums only; FP16 SIMD accumulates
# in FP16 (mf_train.h), the reference in FP32.
TOL = {"f32": 1e-5, "f16": 2e-2}


@dataclass(frozen=True)
class Gemm:
    m: int
    n: int
    k: int
    trans: int = 0  # 0: W [K][N] (x @ W); 1: W [N][K] (Gemm transB)

    def defines(self) -> list[str]:
        return ["-DKB_OP=1", f"-DKB_M={self.m}", f"-DKB_N={self.n}", f"-DKB_K={self.k}", f"-DKB_TRANS={self.trans}"]

    def sizes(self) -> tuple[int, int, int]:
        return self.m * self.k, self.k * self.n, self.m * self.n

    @property
    def macs(self) -> int:
        return 2 * self.m * self.n * self.k


@dataclass(frozen=True)
class Conv(ConvWindow):
    def defines(self) -> list[str]:
        return self.window_defines()

    def sizes(self) -> tuple[int, int, int]:
        oh, ow = self.out_hw
        return self.c_in * self.h * self.w, self.c_out * self.c_in // self.groups * self.k ** 2, self.c_out * oh * ow

    @property
    def macs(self) -> int:
        oh, ow = self.out_hw
        return 2 * self.c_out * oh * ow * self.c_in // self.groups * self.k ** 2

    def grad_params(self) -> ConvGradParams:
        win = Window((self.k, self.k), (self.stride,) * 2, (1, 1), (self.pad,) * 4, 2)
        oh, ow = self.out_hw
        return ConvGradParams(ConvParams(win, self.groups), (1, self.c_in, self.h, self.w),
                              (self.c_out, self.c_in // self.groups, self.k, self.k), (1, self.c_out, oh, ow))


@dataclass(frozen=True)
class BwdRun:
    dx: tuple[np.ndarray, np.ndarray]  # fast, ref
    dw: tuple[np.ndarray, np.ndarray]  # fast, ref (weights then bias)
    instructions: int
    weighted: int | None
    macs: int  # bwd_input + bwd_weight

    def max_error(self) -> float:
        return max(float(np.max(np.abs(f - r))) / max(1.0, float(np.max(np.abs(r)))) for f, r in (self.dx, self.dw))


def run_bwd(board: Board, shape: Gemm | Conv, dtype: str, isa: str, out_dir: Path | None = None,
            seed: int = 0) -> BwdRun:
    """Build the harness (tests/kernels/bwd.c) for one shape and run it in QEMU (also used by
    bench/training.py)."""
    op = "gemm" if isinstance(shape, Gemm) else "conv2d"
    names = {f"mf_{op}_bwd_{e}_{dtype}_{i}" for e in ("input", "weight") for i in (isa, "ref")}
    defines = [*shape.defines(), f"-DKB_T={CTYPE[dtype]}", f"-DKB_DT={dtype}", f"-DKB_ISA={isa}",
               f"-DKB_COLS={bwd_cols(isa)}"]
    rng = np.random.default_rng(seed)
    x, w, dy = (rng.uniform(-1, 1, n).astype(np.float32) for n in shape.sizes())
    n_dw = w.size + (shape.n if isinstance(shape, Gemm) else shape.c_out)
    case = Case(HARNESS, names, {"x": x, "w": w, "dy": dy},
                {"dx_fast": x.size, "dx_ref": x.size, "dw_fast": n_dw, "dw_ref": n_dw}, defines_of(defines))
    try:
        r = run(board, case, out_dir=out_dir)
    except HarnessError as e:
        raise RuntimeError(f"backward kernels {dtype}/{isa} on {board.name} returned {e.status}") from None
    o = r.outputs
    return BwdRun((o["dx_fast"], o["dx_ref"]), (o["dw_fast"], o["dw_ref"]), r.instructions, r.weighted, shape.macs)


# ---------------------------------------------------------------- host

SCRATCH_CONVS = [Conv(13, 7, 9, 11), Conv(5, 9, 7, 6, stride=2), Conv(24, 24, 10, 13, groups=24),
                 Conv(6, 10, 5, 7, k=1, pad=0), Conv(12, 8, 9, 11, groups=4, stride=2)]


def test_scratch_size_agrees_with_c(tmp_path: Path) -> None:
    lines = []
    for c in SCRATCH_CONVS:
        oh, ow = c.out_hw
        for isa in ("rvv", "mve"):
            for elem in (2, 4):
                lines.append(
                    f'{{ mf_conv2d_desc d = {{.n = 1, .c_in = {c.c_in}, .h_in = {c.h}, .w_in = {c.w}, '
                    f'.c_out = {c.c_out}, .h_out = {oh}, .w_out = {ow}, .k_h = {c.k}, .k_w = {c.k}, '
                    f'.stride_h = {c.stride}, .stride_w = {c.stride}, .dil_h = 1, .dil_w = 1, .pad_top = {c.pad}, '
                    f'.pad_left = {c.pad}, .groups = {c.groups}}}; printf("%d\\n", '
                    f'(int)mf_conv2d_bwd_scratch_bytes(&d, {elem}, MF_BWD_COLS_{isa.upper()})); }}')
    main = tmp_path / "main.c"
    main.write_text('#include <stdio.h>\n#include "mf_train.h"\nint main(void) {\n' + "\n".join(lines) +
                    "\nreturn 0; }\n")
    exe = tmp_path / "sizes"
    subprocess.run(["gcc", "-std=c11", "-Wall", "-Werror", f"-I{RUNTIME / 'include'}", str(main),
                    str(RUNTIME / "src" / "conv_bwd_f32_ref.c"), "-o", str(exe)], check=True)
    got = [int(v) for v in subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split()]
    want = [c.grad_params().scratch_bytes(elem, bwd_cols(isa)) for c in SCRATCH_CONVS for isa in ("rvv", "mve")
            for elem in (2, 4)]
    assert got == want


HOST_MAIN = r"""
#include <stdio.h>
#include <stdlib.h>
#include "mf_train.h"
#include "mf_train_impl.h" /* private: the tiled drivers */
/* The tiled drivers with the portable micro-kernel against the direct reference, FP32 and
 * FP16, on the harness's shapes: prints the largest relative difference. */
#define T KB_T
static float maxdiff(const T *a, const T *b, int n) {
    float m = 0.0f, s = 1.0f;
    for (int i = 0; i < n; ++i) { float r = (float)b[i] < 0 ? -(float)b[i] : (float)b[i]; if (r > s) s = r; }
    for (int i = 0; i < n; ++i) { float e = (float)a[i] - (float)b[i]; e = e < 0 ? -e : e; if (e > m) m = e; }
    return m / s;
}
int main(void) {
    srand(1);
    static T x[NX], w[NW], dy[NY], dx0[NX], dx1[NX], dw0[NW], dw1[NW], db0[NB], db1[NB], scratch[NS];
    for (int i = 0; i < NX; ++i) x[i] = (T)(rand() / (float)RAND_MAX - 0.5f);
    for (int i = 0; i < NW; ++i) w[i] = (T)(rand() / (float)RAND_MAX - 0.5f);
    for (int i = 0; i < NY; ++i) dy[i] = (T)(rand() / (float)RAND_MAX - 0.5f);
    (void)scratch;
    DESC;
    int st = CALLS;
    printf("%d %g %g %g\n", st, maxdiff(dx0, dx1, NX), maxdiff(dw0, dw1, NW), maxdiff(db0, db1, NB));
    return 0;
}
"""


@pytest.mark.parametrize("dtype", ["f32", "f16"])
@pytest.mark.parametrize("shape", SCRATCH_CONVS + [Gemm(5, 9, 13, 0), Gemm(7, 10, 3, 1)], ids=str)
def test_tiled_drivers_match_direct_reference_on_host(shape: Gemm | Conv, dtype: str, tmp_path: Path) -> None:
    sfx = f"{dtype}"
    if isinstance(shape, Conv):
        oh, ow = shape.out_hw
        nx, nw, ny = shape.sizes()
        desc = (f"mf_conv2d_desc d = {{.n = 1, .c_in = {shape.c_in}, .h_in = {shape.h}, .w_in = {shape.w}, "
                f".c_out = {shape.c_out}, .h_out = {oh}, .w_out = {ow}, .k_h = {shape.k}, .k_w = {shape.k}, "
                f".stride_h = {shape.stride}, .stride_w = {shape.stride}, .dil_h = 1, .dil_w = 1, "
                f".pad_top = {shape.pad}, .pad_left = {shape.pad}, .groups = {shape.groups}}}")
        calls = (f"mf_conv2d_bwd_input_im2col_{sfx}(dy, w, dx0, &d, scratch, 5, mf_bwd_tile_{sfx}_ref) | "
                 f"mf_conv2d_bwd_input_{sfx}_ref(dy, w, dx1, &d) | "
                 f"mf_conv2d_bwd_weight_im2col_{sfx}(x, dy, dw0, db0, &d, scratch, 5, mf_bwd_tile_{sfx}_ref) | "
                 f"mf_conv2d_bwd_weight_{sfx}_ref(x, dy, dw1, db1, &d)")
        nb, ns = shape.c_out, shape.c_in // shape.groups * shape.k ** 2 * 5
        if shape.groups > 1 and shape.groups == shape.c_in == shape.c_out:
            pytest.skip("depthwise: the SIMD kernels call the reference")
    else:
        t = shape.trans
        nx, nw, ny = shape.sizes()
        desc = (f"mf_gemm_bwd_input_desc di = {{.m = {shape.m}, .n = {shape.n}, .k = {shape.k}, .dy_rs = {shape.n}, "
                f".dy_cs = 1, .w_rs = {1 if t else shape.n}, .w_cs = {shape.k if t else 1}, .o_rs = {shape.k}, "
                f".o_cs = 1, .alpha = 0.5f}}; mf_gemm_bwd_weight_desc dd = {{.rows = {shape.m}, .m = 1, "
                f".n = {shape.n}, .k = {shape.k}, .a_rs = {shape.k}, .a_cs = 1, .w_ks = {1 if t else shape.n}, "
                f".w_ns = {shape.k if t else 1}, .c_size = {shape.n}, .c_rs = 0, .c_cs = 1, .alpha = 1.0f, "
                f".beta = 1.0f}}")
        calls = (f"mf_gemm_bwd_input_tiled_{sfx}(dy, w, dx0, &di, mf_bwd_tile_{sfx}_ref) | "
                 f"mf_gemm_bwd_input_{sfx}_ref(dy, w, dx1, &di) | "
                 f"mf_gemm_bwd_weight_tiled_{sfx}(x, dy, dw0, db0, &dd, mf_bwd_tile_{sfx}_ref) | "
                 f"mf_gemm_bwd_weight_{sfx}_ref(x, dy, dw1, db1, &dd)")
        nb, ns = shape.n, 1
    main = tmp_path / "main.c"
    main.write_text(HOST_MAIN.replace("DESC", desc).replace("CALLS", calls))
    rt = copy_runtime(tmp_path / "rt", {f"mf_{'conv2d' if isinstance(shape, Conv) else 'gemm'}_bwd_input_{sfx}_ref",
                                        f"mf_gemm_bwd_input_{sfx}_ref"})
    exe = tmp_path / "t"
    defs = [f"-DKB_T={CTYPE[dtype]}", f"-DNX={nx}", f"-DNW={nw}", f"-DNY={ny}", f"-DNB={nb}", f"-DNS={ns}"]
    subprocess.run(["gcc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-O1", *defs, f"-I{tmp_path / 'rt' / 'include'}",
                    f"-I{tmp_path / 'rt' / 'src'}", str(main), *map(str, rt), "-lm", "-o", str(exe)], check=True)
    st, *errs = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split()
    assert int(st) == 0
    # FP32: the same sums in another order; FP16: the tiled drivers round per chunk, the
    # reference once per output
    assert max(float(e) for e in errs) <= (1e-5 if dtype == "f32" else 4e-3), errs


# ---------------------------------------------------------------- qemu

GEMMS = [Gemm(13, 29, 37, 0), Gemm(9, 17, 11, 1), Gemm(1, 10, 64, 1)]
CONVS = [Conv(13, 7, 9, 11), Conv(5, 9, 7, 6, stride=2), Conv(6, 10, 5, 7, k=1, pad=0), Conv(9, 9, 6, 5, groups=9)]
CASES = [("rv32-rvv", "f16", "rvv"), ("rv32-rvv", "f32", "rvv"), ("cortex-m55-an547", "f16", "mve"),
         ("cortex-m55-an547", "f32", "mve")]


@pytest.mark.qemu
@pytest.mark.parametrize("board,dtype,isa", CASES)
@pytest.mark.parametrize("shape", GEMMS + CONVS, ids=str)
def test_simd_backward_matches_ref(board: str, dtype: str, isa: str, shape: Gemm | Conv, tmp_path: Path) -> None:
    from fixtures.sim_support import require_tools

    b = load_board(board)
    require_tools(b)
    r = run_bwd(b, shape, dtype, isa, tmp_path)
    assert r.max_error() <= TOL[dtype], r.max_error()
    assert r.instructions > 0

"""The integer ViT cases of the kernel harness (tests/kernels/vit_s8.c, built and run by
harness.py): a SIMD kernel and its reference on the same seeded data in one binary, the SIMD
kernel's instructions counted, and the numpy twins of ops/qtransformer.py as the contract both
must meet exactly."""

from __future__ import annotations

import dataclasses
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness import HERE, Case, HarnessError, run
from toolchain.boards import Board
from toolchain.ops.qtransformer import QLayerNormParams, QMatMul, QMatMulParams, layernorm_constants, layernorm_reference
from toolchain.ops.requant import Requant


@dataclass(frozen=True)
class MatMulS8:
    batch: int
    m: int
    n: int
    k: int
    b_trans: bool = False

    op = "matmul"

    def __str__(self) -> str:
        return f"matmul_b{self.batch}_m{self.m}_n{self.n}_k{self.k}{'_bt' if self.b_trans else ''}"


@dataclass(frozen=True)
class LayerNormS8:
    rows: int
    cols: int

    op = "layernorm"

    def __str__(self) -> str:
        return f"layernorm_{self.rows}x{self.cols}"


@dataclass(frozen=True)
class AttentionS8:
    heads: int
    m: int  # query rows (m % block: the tail block)
    n: int  # keys
    k: int  # head dim of q and k
    dv: int
    block: int
    b_trans: bool = False
    lut: bool = True
    tokens: bool = False  # q, k, v, y as [tokens][heads][d] (K as [n][k]): heads read in place

    op = "attention"

    def __str__(self) -> str:
        return (f"attention_h{self.heads}_m{self.m}_n{self.n}_k{self.k}_dv{self.dv}_blk{self.block}"
                f"{'_bt' if self.b_trans else ''}{'' if self.lut else '_nolut'}{'_tokens' if self.tokens else ''}")


@dataclass(frozen=True)
class LutS8:
    n: int

    op = "lut"

    def __str__(self) -> str:
        return f"lut_{self.n}"


@dataclass(frozen=True)
class SoftmaxS8:
    rows: int
    cols: int
    in_scale: float = 0.08  # 0.3: most of a row's scores underflow the exp table's range
    out_zp: int = -128
    monotone: bool = True  # False: a table that rises in places (the walk's general path)

    op = "softmax"

    def __str__(self) -> str:
        return f"softmax_{self.rows}x{self.cols}_s{self.in_scale}_z{self.out_zp}{'' if self.monotone else '_bumpy'}"


@dataclass(frozen=True)
class MulS8:
    n: int
    relu: bool = False  # an activation clamp inside the int8 range

    op = "mul"

    def __str__(self) -> str:
        return f"mul_{self.n}{'_relu' if self.relu else ''}"


@dataclass(frozen=True)
class AddS8:
    n: int
    rows: int = 0  # > 0: mf_add_row_s8 over rows x n and a constant row of n
    a_scale: float = 0.05  # b's is 0.03; a larger scale than the output's: the rescale's pre-shift
    relu: bool = False

    @property
    def op(self) -> str:
        return "add_row" if self.rows else "add"

    def __str__(self) -> str:
        return f"{self.op}_{self.rows}x{self.n}_a{self.a_scale}{'_relu' if self.relu else ''}"


ElementwiseS8 = (LutS8, SoftmaxS8, MulS8, AddS8)


@dataclass(frozen=True)
class VitRun:
    fast: np.ndarray
    ref: np.ndarray
    want: np.ndarray
    instructions: int
    weighted: int | None


def _attention_data(s: AttentionS8, rng: np.random.Generator):
    from toolchain.ir.graph import QuantInfo
    from toolchain.ops.qattention import QAttention, QAttentionParams
    from toolchain.ops.qsoftmax import qsoftmax_params

    if s.tokens:
        assert s.b_trans, "the tokens layout reads K as [n][k]"
        q = rng.integers(-128, 128, (1, s.m, s.heads, s.k)).astype(np.int8)
        k = rng.integers(-128, 128, (1, s.n, s.heads, s.k)).astype(np.int8)
        v = rng.integers(-128, 128, (1, s.n, s.heads, s.dv)).astype(np.int8)
    else:
        q = rng.integers(-128, 128, (s.heads, s.m, s.k)).astype(np.int8)
        k = rng.integers(-128, 128, (s.heads, s.n, s.k) if s.b_trans else (s.heads, s.k, s.n)).astype(np.int8)
        v = rng.integers(-128, 128, (s.heads, s.n, s.dv)).astype(np.int8)
    lut = rng.integers(-128, 128, 256).astype(np.int8)
    azp, bzp, ozp, vzp, vozp = (int(rng.integers(-20, 20)) for _ in range(5))
    qk = QMatMulParams(azp, bzp, s.b_trans, Requant.from_scales(40.0 / (128 * 128 * np.sqrt(s.k)), ozp))
    sm = qsoftmax_params(QuantInfo.per_tensor(0.08, 0), QuantInfo.per_tensor(1 / 256, -128), s.n)
    av = QMatMulParams(sm.out_zp, vzp, False, Requant.from_scales(1.5 / 256, vozp))
    p = QAttentionParams(qk, sm, av, s.lut, s.tokens)
    want = QAttention.reference(p, [q, k, v, lut])[0]
    defines = {"OP": 3, "BATCH": s.heads, "M": s.m, "N": s.n, "K": s.k, "DV": s.dv, "BT": int(s.b_trans),
               "AZP": azp, "BZP": bzp, "MULT": qk.rq.mult[0], "SHIFT": qk.rq.shift[0], "OZP": ozp,
               "VBZP": vzp, "VMULT": av.rq.mult[0], "VSHIFT": av.rq.shift[0], "VOZP": vozp,
               "SMMULT": sm.out_mult, "SMSHIFT": sm.out_shift, "SMOZP": sm.out_zp, "BLOCK": s.block,
               "LUT": int(s.lut), "TOK": int(s.tokens)}
    params = np.concatenate([lut.astype(np.int32), np.asarray(sm.lut, np.int32)]).view(np.float32)
    x = np.concatenate([q.ravel(), k.ravel(), v.ravel()]).astype(np.float32)
    return defines, [x, params], want


def _elementwise_data(s, rng: np.random.Generator):
    from toolchain.ir.graph import QuantInfo
    from toolchain.ops.qelementwise import qadd_params
    from toolchain.ops.qsoftmax import QSoftmax, qsoftmax_params
    from toolchain.ops.qtransformer import QAddRow, QLut, QLutParams, QMul, QMulParams

    zero = np.zeros(1, np.float32)
    if isinstance(s, LutS8):
        x, lut = (rng.integers(-128, 128, n).astype(np.int8) for n in (s.n, 256))
        want = QLut.reference(QLutParams("Gelu"), [x, lut])[0]
        return {"OP": 4, "N": s.n}, [x.astype(np.float32), lut.astype(np.int32).view(np.float32)], want
    if isinstance(s, SoftmaxS8):
        x = rng.integers(-128, 128, (s.rows, s.cols)).astype(np.int8)
        x[0, :] = x[0, 0]  # a constant row: every output the same
        if s.rows > 2:
            x[1, :] = -128
            x[1, 0] = 127  # one dominant value: its output at the clamp, the others at the bottom
        p = qsoftmax_params(QuantInfo.per_tensor(s.in_scale, 0), QuantInfo.per_tensor(1 / 256, s.out_zp), s.cols)
        if not s.monotone:
            lut = list(p.lut)
            lut[2], lut[9] = lut[9], lut[2]
            lut[30] = lut[1]
            p = dataclasses.replace(p, lut=tuple(lut))
        want = QSoftmax.reference(p, [x])[0]
        defines = {"OP": 5, "ROWS": s.rows, "COLS": s.cols, "MULT": p.out_mult, "SHIFT": p.out_shift, "OZP": p.out_zp}
        return defines, [x.ravel().astype(np.float32), np.asarray(p.lut, np.int32).view(np.float32)], want
    lo, hi = (-100, 127) if s.relu else (-128, 127)
    if isinstance(s, MulS8):
        a, b = (rng.integers(-128, 128, s.n).astype(np.int8) for _ in range(2))
        azp, bzp, ozp = int(rng.integers(-20, 20)), int(rng.integers(-20, 20)), int(rng.integers(-10, 10))
        p = QMulParams(azp, bzp, Requant.from_scales(1.0 / 90.0, ozp, lo, hi))
        want = QMul.reference(p, [a, b])[0]
        defines = {"OP": 6, "N": s.n, "AZP": azp, "BZP": bzp, "MULT": p.rq.mult[0], "SHIFT": p.rq.shift[0],
                   "OZP": ozp, "LO": lo, "HI": hi}
        return defines, [np.concatenate([a, b]).astype(np.float32), zero], want
    rows = max(s.rows, 1)
    a = rng.integers(-128, 128, (rows, s.n)).astype(np.int8)
    b = rng.integers(-128, 128, s.n if s.rows else (rows, s.n)).astype(np.int8)
    azp, bzp, ozp = int(rng.integers(-20, 20)), int(rng.integers(-20, 20)), int(rng.integers(-10, 10))
    p = qadd_params(QuantInfo.per_tensor(s.a_scale, azp), QuantInfo.per_tensor(0.03, bzp),
                    QuantInfo.per_tensor(0.045, ozp), lo, hi)
    if s.rows:
        want = QAddRow.reference(p, [a, b])[0]
    else:
        from toolchain.ops.qelementwise import QAdd
        want = QAdd.reference(p, [a, b])[0]
    defines = {"OP": 8 if s.rows else 7, "ROWS": rows, "N": s.n, "AZP": azp, "BZP": bzp, "LS": p.left_shift,
               "AMULT": p.a_mult, "ASHIFT": p.a_shift, "BMULT": p.b_mult, "BSHIFT": p.b_shift,
               "MULT": p.rq.mult[0], "SHIFT": p.rq.shift[0], "OZP": ozp, "LO": lo, "HI": hi}
    return defines, [np.concatenate([a.ravel(), b.ravel()]).astype(np.float32), zero], want


def _data(shape, seed: int):
    """(defines, inputs, numpy contract) of one seeded case."""
    rng = np.random.default_rng(seed)
    if isinstance(shape, ElementwiseS8):
        return _elementwise_data(shape, rng)
    if isinstance(shape, AttentionS8):
        return _attention_data(shape, rng)
    if isinstance(shape, MatMulS8):
        s = shape
        a = rng.integers(-128, 128, (s.batch, s.m, s.k)).astype(np.int8)
        bshape = (s.batch, s.n, s.k) if s.b_trans else (s.batch, s.k, s.n)
        b = rng.integers(-128, 128, bshape).astype(np.int8)
        azp, bzp, ozp = int(rng.integers(-20, 20)), int(rng.integers(-20, 20)), int(rng.integers(-10, 10))
        rq = Requant.from_scales(40.0 / (128 * 128 * np.sqrt(s.k)), ozp)
        want = QMatMul.reference(QMatMulParams(azp, bzp, s.b_trans, rq), [a, b])[0]
        defines = {"OP": 1, "BATCH": s.batch, "M": s.m, "N": s.n, "K": s.k, "BT": int(s.b_trans), "AZP": azp,
                   "BZP": bzp, "MULT": rq.mult[0], "SHIFT": rq.shift[0], "OZP": ozp}
        return defines, [np.concatenate([a.ravel(), b.ravel()]).astype(np.float32), np.zeros(1, np.float32)], want
    s = shape
    x = np.clip(rng.normal(0, 40, (s.rows, s.cols)) + 9, -128, 127).astype(np.int8)
    x[0, :] = x[0, 0]  # a constant row: only eps under the square root
    p, gq, bq = layernorm_constants(rng.normal(1, 0.3, s.cols), rng.normal(0, 0.2, s.cols), 1e-5, 0.05, 0.03, -3, 9,
                                    s.cols)
    want = layernorm_reference(x, gq, bq, p)
    defines = {"OP": 2, "ROWS": s.rows, "COLS": s.cols, "INZP": p.in_zp, "OZP": p.out_zp, "EPS": f"{p.eps_q}LL",
               "GSHIFT": p.g_shift}
    params = np.concatenate([gq, bq]).astype(np.int32).view(np.float32)
    return defines, [x.ravel().astype(np.float32), params], want


def run_vit_kernel(board: Board, shape, isa: str, seed: int = 0,
                   out_dir: Path | None = None, timeout: float = 600.0) -> VitRun:
    """isa 'ref' runs the reference against itself (the host check of the C vs numpy)."""
    fast = f"mf_{shape.op}_s8_{isa}"
    defines, inputs, want = _data(shape, seed)
    x, p = inputs
    case = Case(HERE / "vit_s8.c", {fast, f"mf_{shape.op}_s8_ref"}, {"x": x, "p": p},
                {"fast": want.size, "ref": want.size}, {**{f"KS_{k}": v for k, v in defines.items()}, "KS_FAST": fast})
    try:
        r = run(board, case, out_dir=out_dir, timeout=timeout)
    except HarnessError as e:
        raise RuntimeError(f"{fast} on {board.name} returned {e.status} (-101: wrote past its output)") from None
    return VitRun(r.fast.astype(np.int64), r.ref.astype(np.int64), want.astype(np.int64).ravel(),
                  r.instructions, r.weighted)


__all__ = ["AddS8", "AttentionS8", "LayerNormS8", "LutS8", "MatMulS8", "MulS8", "SoftmaxS8", "QLayerNormParams", "VitRun", "run_vit_kernel"]

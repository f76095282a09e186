"""The integrated-transformer cases of the kernel harness (tests/kernels/transformer.c, built
and run by harness.py): a blocked/SIMD kernel and its reference on the same seeded operands in
one binary, the fast one's instructions counted. A case writes kt_case.h: the operands packed
in one blob, the descriptor pointing into it, and the call."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

import harness
from harness import CTYPE, HERE, HarnessError, run
from kharness import KernelRun
from toolchain.boards import Board
from toolchain.ops.base import c_float
SFX = {"f32": "", "f16": "_f16"}  # descriptor types holding operand pointers


class _Blob:
    def __init__(self) -> None:
        self.size = 0

    def take(self, n: int) -> int:
        off, self.size = self.size, self.size + n
        return off


@dataclass(frozen=True)
class Chain:
    """LayerNorm (optional), then linears of the given widths, the first with `act`, an
    optional trailing ReLU step, and an optional residual. inplace: y over x (no residual)
    or over the residual."""
    tokens: int
    widths: tuple[int, ...]
    layernorm: bool = True
    act: str = "MF_ACT_GELU"
    relu_step: bool = False
    residual: bool = False
    block: int = 4
    inplace: bool = False
    step_act: str = "MF_ACT_RELU"  # the trailing ACT step's activation (relu_step)
    op = "token_chain"

    @property
    def macs(self) -> int:
        return self.tokens * sum(a * b for a, b in zip(self.widths, self.widths[1:]))

    def case(self, dtype: str, isa: str) -> str:
        blob, w = _Blob(), self.widths
        x = blob.take(self.tokens * w[0])
        res = blob.take(self.tokens * w[-1]) if self.residual else None
        sfx = SFX[dtype]
        steps = []
        if self.layernorm:
            g, b = blob.take(w[0]), blob.take(w[0])
            steps.append(f"{{.kind = MF_STEP_LAYERNORM, .in_w = {w[0]}, .out_w = {w[0]}, .gamma = kt_blob + {g}, "
                         f".beta = kt_blob + {b}, .eps = 1e-5f}}")
        for i, (a, o) in enumerate(zip(w, w[1:])):
            wt, bias = blob.take(a * o), blob.take(o)
            act = self.act if i == 0 else "MF_ACT_NONE"
            steps.append(f"{{.kind = MF_STEP_LINEAR, .in_w = {a}, .out_w = {o}, .w = kt_blob + {wt}, "
                         f".b = kt_blob + {bias}, .act = {{{act}, 0.0f, 0.0f}}}}")
        if self.relu_step:
            steps.append(f"{{.kind = MF_STEP_ACT, .in_w = {w[-1]}, .out_w = {w[-1]}, .act = {{{self.step_act}, 0.0f, 0.0f}}}}")
        alias = res if self.residual else x
        call = (f"fn(kt_blob + {x}, a, y, s, &kt_desc)" if self.residual else "fn(a, NULL, y, s, &kt_desc)")
        return _case(dtype, blob.size, self.tokens * w[-1], 2 * self.block * max(w), alias,
                     self.tokens * (w[-1] if self.residual else w[0]), self.inplace,
                     f"static const mf_token_chain_desc{sfx} kt_desc = {{.tokens = {self.tokens}, "
                     f".n_steps = {len(steps)}, .steps = {{{', '.join(steps)}}}, .block = {self.block}}};", call)


@dataclass(frozen=True)
class Attention:
    n_q: int
    n_kv: int
    heads: int
    dh: int
    q_block: int = 4
    inplace: bool = False
    scale: float = 0.0  # 0: 1 / sqrt(dh)
    op = "attention"

    @property
    def macs(self) -> int:
        return 2 * self.heads * self.n_q * self.n_kv * self.dh

    def case(self, dtype: str, isa: str) -> str:
        blob, width = _Blob(), self.heads * self.dh
        q, k, v = blob.take(self.n_q * width), blob.take(self.n_kv * width), blob.take(self.n_kv * width)
        scale = c_float(self.scale or 1.0 / np.sqrt(self.dh))
        k_panel = int(isa in ("rvv", "mve"))  # the SIMD kernels take K transposed through scratch
        desc = (f"static const mf_attention_desc kt_desc = {{.batch = 1, .n_q = {self.n_q}, .n_kv = {self.n_kv}, "
                f".heads = {self.heads}, .dh = {self.dh}, .q_stride = {width}, .k_stride = {width}, "
                f".v_stride = {width}, .out_stride = {width}, .scale = {scale}, .q_block = {self.q_block}, "
                f".k_panel = {k_panel}}};")
        scratch = self.q_block * self.n_kv + self.dh + k_panel * self.n_kv * self.dh
        return _case(dtype, blob.size, self.n_q * width, scratch, q, self.n_q * width,
                     self.inplace, desc, f"fn(a, kt_blob + {k}, kt_blob + {v}, y, s, &kt_desc)")


@dataclass(frozen=True)
class AttentionBias:
    """Attention with an additive score bias, [bias_heads][n_q][n_kv]: random values from the
    blob, or (mask) a causal 0 / -inf mask whose first query row is masked entirely (zeros)."""
    n_q: int
    n_kv: int
    heads: int
    dh: int
    bias_heads: int = 1
    q_block: int = 4
    inplace: bool = False
    mask: bool = False
    op = "attention_bias"

    @property
    def macs(self) -> int:
        return 2 * self.heads * self.n_q * self.n_kv * self.dh

    def case(self, dtype: str, isa: str) -> str:
        blob, width = _Blob(), self.heads * self.dh
        q, k, v = blob.take(self.n_q * width), blob.take(self.n_kv * width), blob.take(self.n_kv * width)
        n_bias = self.bias_heads * self.n_q * self.n_kv
        lines = []
        if self.mask:
            vals = ["(KT_T)-INFINITY" if (i == 0 or j > i) else "(KT_T)0.0f"
                    for _ in range(self.bias_heads) for i in range(self.n_q) for j in range(self.n_kv)]
            lines.append(f"static const KT_T kt_bias[{n_bias}] = {{{', '.join(vals)}}};")
            bias = "kt_bias"
        else:
            bias = f"kt_blob + {blob.take(n_bias)}"
        scale = c_float(1.0 / np.sqrt(self.dh))
        k_panel = int(isa in ("rvv", "mve"))
        lines.append(f"static const mf_attention_desc kt_desc = {{.batch = 1, .n_q = {self.n_q}, "
                     f".n_kv = {self.n_kv}, .heads = {self.heads}, .dh = {self.dh}, .q_stride = {width}, "
                     f".k_stride = {width}, .v_stride = {width}, .out_stride = {width}, .scale = {scale}, "
                     f".q_block = {self.q_block}, .k_panel = {k_panel}}};")
        scratch = self.q_block * self.n_kv + self.dh + k_panel * self.n_kv * self.dh
        return _case(dtype, blob.size, self.n_q * width, scratch, q, self.n_q * width, self.inplace,
                     "#include <math.h>\n" + "\n".join(lines),
                     f"fn(a, kt_blob + {k}, kt_blob + {v}, {bias}, {self.bias_heads}, y, s, &kt_desc)")


@dataclass(frozen=True)
class Patch:
    c: int
    h: int
    w: int
    patch: int
    dim: int
    has_cls: bool = True
    inplace: bool = False
    op = "patch_embed"

    @property
    def grid(self) -> tuple[int, int]:
        return self.h // self.patch, self.w // self.patch

    @property
    def macs(self) -> int:
        hp, wp = self.grid
        return hp * wp * self.dim * self.c * self.patch * self.patch

    def case(self, dtype: str, isa: str) -> str:
        blob, (hp, wp) = _Blob(), self.grid
        n = hp * wp + int(self.has_cls)
        x = blob.take(self.c * self.h * self.w)
        wt, b = blob.take(self.dim * self.c * self.patch ** 2), blob.take(self.dim)
        cls = blob.take(self.dim) if self.has_cls else None
        pos = blob.take(n * self.dim)
        desc = (f"static const mf_patch_embed_desc kt_desc = {{.c = {self.c}, .h = {self.h}, .w = {self.w}, "
                f".patch_h = {self.patch}, .patch_w = {self.patch}, .dim = {self.dim}, .hp = {hp}, .wp = {wp}, "
                f".has_cls = {int(self.has_cls)}}};")
        cls_arg = f"kt_blob + {cls}" if cls is not None else "NULL"
        return _case(dtype, blob.size, n * self.dim, wp * self.dim, x, self.c * self.h * self.w, self.inplace, desc,
                     f"fn(a, kt_blob + {wt}, kt_blob + {b}, {cls_arg}, kt_blob + {pos}, y, s, &kt_desc)")


@dataclass(frozen=True)
class LayerNorm:
    rows: int
    cols: int
    affine: bool = True
    inplace: bool = False
    op = "layernorm"

    @property
    def macs(self) -> int:
        return 2 * self.rows * self.cols

    def case(self, dtype: str, isa: str) -> str:
        blob = _Blob()
        x = blob.take(self.rows * self.cols)
        g, b = blob.take(self.cols), blob.take(self.cols)
        aff = f"kt_blob + {g}, kt_blob + {b}" if self.affine else "NULL, NULL"
        desc = f"static const mf_layernorm_desc kt_desc = {{.rows = {self.rows}, .cols = {self.cols}, .eps = 1e-5f}};"
        return _case(dtype, blob.size, self.rows * self.cols, 1, x, self.rows * self.cols, self.inplace, desc,
                     f"fn(a, {aff}, y, NULL, NULL, &kt_desc)")


@dataclass(frozen=True)
class Softmax:
    rows: int
    n: int
    inplace: bool = False
    op = "softmax"

    @property
    def macs(self) -> int:
        return self.rows * self.n

    def case(self, dtype: str, isa: str) -> str:
        blob = _Blob()
        x = blob.take(self.rows * self.n)
        desc = (f"static const mf_softmax_desc kt_desc = {{.outer = {self.rows}, .axis_len = {self.n}, .inner = 1, "
                f".log = 0}};")
        return _case(dtype, blob.size, self.rows * self.n, 1, x, self.rows * self.n, self.inplace, desc,
                     "fn(a, y, &kt_desc)")


@dataclass(frozen=True)
class Unary:
    n: int
    act: str = "MF_ACT_GELU"
    inplace: bool = False
    op = "unary"

    @property
    def macs(self) -> int:
        return self.n

    def case(self, dtype: str, isa: str) -> str:
        blob = _Blob()
        x = blob.take(self.n)
        desc = f"static const mf_act kt_desc = {{{self.act}, 0.0f, 0.0f}};"
        return _case(dtype, blob.size, self.n, 1, x, self.n, self.inplace, desc, f"fn(a, y, {self.n}, &kt_desc)")


def _case(dtype: str, n_in: int, n_out: int, n_scratch: int, x: int, xn: int, inplace: bool, desc: str,
          call: str) -> str:
    return "\n".join([
        "/* generated by tests/kernels/tharness.py */",
        f"#define KT_T {CTYPE[dtype]}", f"#define KT_IN {n_in}", f"#define KT_OUT {n_out}",
        f"#define KT_SCRATCH {n_scratch}", f"#define KT_X {x}", f"#define KT_XN {xn}",
        f"#define KT_INPLACE {int(inplace)}", f"static KT_T kt_blob[KT_IN];", desc,
        f"#define KT_CALL(fn, a, y, s) {call}", ""])


Case = Chain | Attention | AttentionBias | Patch | LayerNorm | Softmax | Unary


def run_transformer_kernel(board: Board, case: Case, dtype: str, isa: str, seed: int = 0,
                           out_dir: Path | None = None, timeout: float = 600.0) -> KernelRun:
    fast, ref = f"mf_{case.op}_{dtype}_{isa}", f"mf_{case.op}_{dtype}_ref"
    text = case.case(dtype, isa)
    n_in = int(text.split("#define KT_IN ")[1].split()[0])
    n_out = int(text.split("#define KT_OUT ")[1].split()[0])
    rng = np.random.default_rng(seed)
    spread = 4.0 if case.op in ("softmax", "unary") else 1.0  # exercise exp/erf beyond [-1, 1]
    x = (spread * rng.uniform(-1, 1, n_in)).astype(np.float32)
    try:
        r = run(board, harness.Case(HERE / "transformer.c", {fast, ref}, {"x": x}, {"fast": n_out, "ref": n_out},
                            {"KT_FAST": fast, "KT_REF": ref}, {"kt_case.h": text}), out_dir=out_dir, timeout=timeout)
    except HarnessError as e:
        raise RuntimeError(f"{fast} on {board.name} returned {e.status}") from None
    return KernelRun(r.fast, r.ref, r.instructions, r.weighted, case.macs)

"""What `mcuforge ops` prints: the ONNX ops mcuforge compiles, the dtypes it has kernels for,
and which kernel variant each board calls.

Which kernel family an op lowers to is read from its lowering code (the names it passes to
LowerCtx.kernel, following the module's own helpers it calls), and which variants exist from
the kernel table (ops.kernel_table): both are the code that runs, so this table
cannot drift from it. The board's choice is codegen.target.kernel_target's, as in a build.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from types import FunctionType

from toolchain.boards import list_boards, load_board
from toolchain.ops.kernel_table import available
from toolchain.codegen.target import KERNEL_DTYPE, TargetError, kernel_target
from toolchain.ops import REGISTRY, Op

_KERNEL_CALL = re.compile(r"\.kernel\(([^()]*)\)")
_QUOTED = re.compile(r"\"([a-z0-9_]+)\"")
_CALLED = re.compile(r"\b([A-Za-z_]\w*)\s*\(")


@dataclass(frozen=True)
class OpInfo:
    op: str
    kind: str                          # "kernel"; "view" (no code); "folded" (compile time only);
                                       # "fused" (into its producer, e.g. BatchNormalization)
    families: tuple[str, ...]          # kernel families, e.g. ("conv2d", "conv2d_overwrite")
    dtypes: tuple[str, ...]            # "fp32", "fp16" with a kernel (of one family at least)
    isas: dict[str, tuple[str, ...]]   # "family/dtype" -> ISAs present in the runtime
    boards: dict[str, dict[str, str]]  # board -> dtype -> ISA(s) called ('dsp', 'rvv+ref'...)

    def as_dict(self) -> dict:
        return {"op": self.op, "kind": self.kind, "kernels": list(self.families), "dtypes": list(self.dtypes),
                "variants": {k: list(v) for k, v in self.isas.items()}, "boards": self.boards}


def _families(fn: object, seen: set[object] | None = None) -> list[str]:
    """Kernel family names a lowering function asks for, through the helpers it calls."""
    seen = set() if seen is None else seen
    if not isinstance(fn, FunctionType) or fn in seen:
        return []
    seen.add(fn)
    try:
        src = inspect.getsource(fn)
    except (OSError, TypeError):
        return []
    out = [name for args in _KERNEL_CALL.findall(src) for name in _QUOTED.findall(args)]
    for called in _CALLED.findall(src):
        helper = fn.__globals__.get(called)
        if isinstance(helper, FunctionType) and helper.__module__.startswith("toolchain.ops"):
            out += _families(helper, seen)
    return list(dict.fromkeys(out))


def op_families(cls: type[Op]) -> list[str]:
    return _families(cls.lower.__func__)  # type: ignore[attr-defined]


def _variants(kernels: set[str], family: str, kd: str) -> tuple[str, ...]:
    prefix = f"mf_{family}_{kd}_"
    return tuple(sorted(k[len(prefix):] for k in kernels if k.startswith(prefix) and "_" not in k[len(prefix):]))


# int8 ops are not ONNX ops of their own: a quantised model's DQ -> op -> Q regions become the
# internal QConv/QFc/QAdd/... of frontend/quant.py (docs/int8.md lists what is accepted)
FLOAT_DTYPES = {dt: kd for dt, kd in KERNEL_DTYPE.items() if dt != "int8"}


def ops_table(boards: list[str] | None = None) -> list[OpInfo]:
    kernels = set(available())
    board_recs = [load_board(b) for b in (boards if boards is not None else list_boards())]
    rows = []
    for name in REGISTRY.supported(runtime_only=False):
        cls = REGISTRY.get(name)
        assert cls is not None
        if cls.fold_only or cls.view:
            rows.append(OpInfo(name, "folded" if cls.fold_only else "view", (), ("fp32", "fp16"), {}, {}))
            continue
        fams = op_families(cls)
        if not fams:  # lowers to nothing of its own: a pass folds it into its producer
            rows.append(OpInfo(name, "fused", (), ("fp32", "fp16"), {}, {}))
            continue
        isas = {f"{f}/{dt}": _variants(kernels, f, kd) for f in fams for dt, kd in FLOAT_DTYPES.items()}
        # a family may exist for one dtype only (the residual conv is FP32): the others serve
        dtypes = tuple(dt for dt in FLOAT_DTYPES if any(isas[f"{f}/{dt}"] for f in fams))
        per_board: dict[str, dict[str, str]] = {}
        for b in board_recs:
            per_board[b.name] = {}
            for dt in dtypes:
                try:
                    pref = kernel_target(b, dt).isas  # type: ignore[arg-type]
                except TargetError:
                    continue
                chosen = []
                for f in fams:
                    have = isas[f"{f}/{dt}"]
                    if have:
                        chosen.append(next((i for i in (*pref, "ref") if i in have), "ref"))
                per_board[b.name][dt] = "+".join(dict.fromkeys(chosen))
        rows.append(OpInfo(name, "kernel", tuple(fams), dtypes, isas, per_board))
    return rows

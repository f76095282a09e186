"""The op registry and what every op family module provides.

An op family is a subclass of :class:`Op` registered for one or more ONNX op types. It holds:

- ``parse``: ONNX attributes (and constant "config" inputs such as Reshape's shape) -> a
  frozen params dataclass, plus which inputs remain runtime data;
- ``infer``: params + input tensors -> output shapes and dtypes;
- ``reference``: the numpy forward, used for constant folding and as a test oracle;
- ``macs``: multiply-accumulates, for the report;
- ``lower``: params + shapes -> kernel calls (plain values; codegen renders them).

Lowering never does I/O and never formats C beyond literals: codegen owns the C text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Iterator, Literal, Sequence

import numpy as np

from toolchain.errors import UnsupportedOpError
from toolchain.ir.graph import DType, Node, Tensor

MAX_RANK = 8
# Arena alignment, bytes: every planned tensor and scratch starts on it, which is enough for
# any SIMD load on the targets (128-bit vectors); kernels may count on it.
ALIGN = 16


def align_up(x: int, a: int = ALIGN) -> int:
    return (x + a - 1) // a * a


# ---------------------------------------------------------------- attributes


class Attrs:
    """Typed access to an ONNX node's attributes (already decoded to Python values)."""

    def __init__(self, values: dict[str, Any], node_name: str, op_type: str) -> None:
        self._v = values
        self.node_name = node_name
        self.op_type = op_type

    def has(self, key: str) -> bool:
        return key in self._v

    def int(self, key: str, default: int | None = None) -> int:
        v = self._v.get(key, default)
        if v is None:
            raise self.error(f"attribute {key!r} is required")
        return int(v)

    def float(self, key: str, default: float | None = None) -> float:
        v = self._v.get(key, default)
        if v is None:
            raise self.error(f"attribute {key!r} is required")
        return float(v)

    def ints(self, key: str, default: Sequence[int] | None = None) -> tuple[int, ...] | None:
        v = self._v.get(key, default)
        return None if v is None else tuple(int(x) for x in v)

    def str(self, key: str, default: str | None = None) -> str:
        v = self._v.get(key, default)
        if v is None:
            raise self.error(f"attribute {key!r} is required")
        return v.decode() if isinstance(v, bytes) else str(v)

    def tensor(self, key: str) -> np.ndarray | None:
        return self._v.get(key)

    def error(self, msg: str) -> UnsupportedOpError:
        return UnsupportedOpError(f"{self.op_type} node {self.node_name!r}: {msg}")


# ---------------------------------------------------------------- kernel calls


@dataclass(frozen=True)
class TensorArg:
    """A pointer to a tensor: codegen resolves it to the arena or to a weight symbol."""

    name: str
    offset: int = 0  # in elements, added to the base pointer


@dataclass(frozen=True)
class Lit:
    """A literal C expression prepared by Python (a number, an enum constant, NULL)."""

    text: str


# What a constant table holds, for the flash report (sim/flashsplit.py) and the weight count
# (CompiledModel.weight_bytes): "table" (index, LUT, add terms: other constants), "scale" (int8
# requantisation multipliers and shifts), "weights" (a weight tensor copied into a kernel's own
# layout, e.g. the DSP GEMM's SMLAD pairs: weights in flash as much as the graph's).
TableKind = Literal["table", "scale", "weights"]


@dataclass(frozen=True)
class IntArray:
    """A static const int32_t table; codegen names it by its kind and passes a pointer."""

    values: tuple[int, ...]
    kind: TableKind = "table"


@dataclass(frozen=True)
class Struct:
    """A static const descriptor struct; passed by pointer when it is a call argument."""

    ctype: str
    fields: tuple[tuple[str, "Arg"], ...]


@dataclass(frozen=True)
class Array:
    """A C array initialiser inside a struct (e.g. shape[8])."""

    items: tuple["Arg", ...]


@dataclass(frozen=True)
class Scratch:
    """The call's private scratch memory (``Call.scratch_bytes`` of it): codegen passes a
    pointer into the arena region reserved for scratch, ``offset`` bytes in (a node whose
    calls pass data to each other through scratch, e.g. int8 QConvAdd)."""

    offset: int = 0


Arg = TensorArg | Lit | IntArray | Struct | Array | Scratch


def int_arrays(args: Sequence[Arg]) -> Iterator[IntArray]:
    """Every table among call arguments, inside descriptors and initialisers too."""
    for a in args:
        if isinstance(a, IntArray):
            yield a
        elif isinstance(a, Struct):
            yield from int_arrays([v for _, v in a.fields])
        elif isinstance(a, Array):
            yield from int_arrays(a.items)


@dataclass(frozen=True)
class Call:
    kernel: str
    args: tuple[Arg, ...]
    scratch_bytes: int = 0  # live only during the call; the kernel's size function says how much


def lit(x: float | int | bool | str) -> Lit:
    if isinstance(x, bool):
        return Lit("1" if x else "0")
    if isinstance(x, (int, np.integer)):
        return Lit(str(int(x)))
    if isinstance(x, str):
        return Lit(x)
    return Lit(c_float(float(x)))


def c_float(x: float) -> str:
    """An exact C float literal (9 significant digits round-trip a float32)."""
    if np.isnan(x):
        return "NAN"
    if np.isinf(x):
        return "INFINITY" if x > 0 else "-INFINITY"
    s = f"{np.float32(x):.9g}"
    if "e" not in s and "." not in s and "n" not in s:
        s += ".0"
    return s + "f"


def int_array(values: Sequence[int], length: int = MAX_RANK) -> Array:
    vals = [int(v) for v in values] + [0] * (length - len(values))
    return Array(tuple(Lit(str(v)) for v in vals))  # ints already: lit()'s type dispatch is the cost on long graphs


def struct(ctype: str, **fields: Arg) -> Struct:
    return Struct(ctype, tuple(fields.items()))


# ---------------------------------------------------------------- op families


@dataclass(frozen=True)
class OutSpec:
    shape: tuple[int, ...]
    dtype: DType


@dataclass(frozen=True)
class KernelTarget:
    """Which kernel variants a build may call: the element type suffix and the ISA variants
    in order of preference (derived from the board record's ISA fields, never its name)."""

    dtype: str = "f32"
    isas: tuple[str, ...] = ("ref",)
    parallel: bool = False  # prefer variants that have a fork/join twin (a cluster board)


@dataclass
class LowerCtx:
    """What lowering may look at: the tensors of the graph (shapes, constant data) and the
    kernels the runtime has for this target."""

    tensors: dict[str, Tensor]
    target: KernelTarget = KernelTarget()
    available: frozenset[str] | None = None  # kernel names in runtime_c/src; None = trust names
    # Outputs the memory plan put over an input they consume ("overwrite" aliases of
    # memory.compute_lifetimes). Kernels are chosen after the aliases are known, so an op
    # calls its overwrite-safe kernel only where the alias was taken. None: no plan yet;
    # then every offered alias counts as taken (correct whatever a later plan does).
    overwritten: frozenset[str] | None = None

    def overwrites(self, node: Node) -> bool:
        """True when node's output shares its input's bytes through an "overwrite" alias."""
        return self.overwritten is None or node.outputs[0] in self.overwritten
    # Work-block size per node name, for ops whose kernels trade scratch for speed (Op.blocks);
    # a node not listed takes its smallest block. Chosen by toolchain.memory.blocking.
    blocks: dict[str, int] = field(default_factory=dict)

    def block(self, node: Node, choices: tuple[int, ...]) -> int:
        return self.blocks.get(node.name, min(choices, default=1))

    def kernel(self, op: str, dtype: str | None = None, isas: tuple[str, ...] | None = None) -> str:
        """mf_<op>_<dtype>_<isa> for the most preferred ISA that has one; `ref` always exists.
        dtype: the target's unless given (int8 ops always call s8 kernels); isas: restrict
        the preference (e.g. to the variants whose scratch size Python knows)."""
        dtype = dtype or self.target.dtype
        names = [f"mf_{op}_{dtype}_{isa}" for isa in self.target.isas + ("ref",)
                 if (isas is None or isa in isas or isa == "ref")
                 and (self.available is None or f"mf_{op}_{dtype}_{isa}" in self.available)]
        if not names:
            raise UnsupportedOpError(f"no kernel mf_{op}_{dtype}_* in the runtime")
        if self.target.parallel and self.available is not None:
            twins = [n for n in names if f"mf_{op}_par_{dtype}_{self.isa_of(n)}" in self.available]
            return (twins or names)[0]
        return names[0]

    def shape(self, name: str) -> tuple[int, ...]:
        return self.tensors[name].shape

    @staticmethod
    def isa_of(kernel: str) -> str:
        return kernel.rsplit("_", 1)[-1]

    def const(self, name: str) -> np.ndarray | None:
        if not name:
            return None
        return self.tensors[name].data


class Op:
    """Base of every op family. Subclasses override what they need."""

    op_types: ClassVar[tuple[str, ...]] = ()
    # Indices of inputs that are configuration and must be constant (Reshape's shape...).
    config_inputs: ClassVar[tuple[int, ...]] = ()
    # Inputs that are normally weights (the ONNX backend tests feed them as graph inputs;
    # the test harness binds them as constants, as an exporter would).
    weight_inputs: ClassVar[tuple[int, ...]] = ()
    # The output may take input 0's buffer (same size, element by element).
    inplace: ClassVar[bool] = False
    # The output is input 0's bytes under another shape: no kernel, the same buffer.
    view: ClassVar[bool] = False
    # Only ever constant-folded (Shape, Cast of constants...): no kernel.
    fold_only: ClassVar[bool] = False
    # Built by passes, never read from an ONNX file (TokenChain, FusedAttention...).
    internal: ClassVar[bool] = False

    @classmethod
    def parse(cls, attrs: Attrs, ins: list[Tensor | None], opset: int) -> Any:
        return None

    @classmethod
    def infer(cls, p: Any, ins: list[Tensor]) -> list[OutSpec]:
        raise NotImplementedError

    @classmethod
    def reference(cls, p: Any, xs: list[np.ndarray]) -> list[np.ndarray]:
        raise NotImplementedError

    @classmethod
    def torch_ref(cls, p: Any, xs: list, torch: Any) -> list:
        """The forward in PyTorch, for the training oracle (train/torch_ref.py): xs are tensors
        (None for an absent optional input), `torch` the module (PyTorch is optional at run
        time, so no family imports it)."""
        raise NotImplementedError

    @classmethod
    def macs(cls, p: Any, ins: list[Tensor], outs: list[Tensor]) -> int:
        return 0

    @classmethod
    def lower(cls, p: Any, node: Node, ctx: LowerCtx) -> list[Call]:
        raise UnsupportedOpError(f"{node.op_type} node {node.name!r} has no kernel")

    @classmethod
    def blocks(cls, p: Any, node: Node, ctx: "LowerCtx") -> tuple[int, ...]:
        """Work-block sizes the node's kernel can run with (more scratch, faster), if any: the
        planner gives it the largest one whose scratch does not grow the arena."""
        return ()

    @classmethod
    def alias_candidates(cls, p: Any, node: Node, g: Any) -> list[tuple[str, str]]:
        """(input, kind) pairs whose memory the output may take, best first. kind "inplace":
        same shape, element by element; "overwrite": a token-wise op whose output rows land
        on input rows already consumed (the op's overwrite_ok says when)."""
        if not cls.inplace or len([o for o in node.outputs if o]) != 1:
            return []
        out = g.tensors[node.outputs[0]]
        data = node.inputs[:2] if node.op_type in ("Add", "Sub", "Mul", "Div", "Pow", "Max", "Min") else node.inputs[:1]
        return [(i, "inplace") for i in data if i and not g.tensors[i].is_const and g.tensors[i].shape == out.shape]

    @classmethod
    def overwrite_ok(cls, p: Any, node: Node, g: Any) -> bool:
        return False


@dataclass
class Registry:
    ops: dict[str, type[Op]] = field(default_factory=dict)

    def get(self, op_type: str) -> type[Op] | None:
        return self.ops.get(op_type)

    def supported(self, runtime_only: bool = True) -> list[str]:
        return sorted(k for k, v in self.ops.items() if not v.internal and not (runtime_only and v.fold_only))


REGISTRY = Registry()


def register(cls: type[Op]) -> type[Op]:
    for t in cls.op_types:
        REGISTRY.ops[t] = cls
    return cls


# ---------------------------------------------------------------- shape helpers


def strides_of(shape: Sequence[int]) -> list[int]:
    out, acc = [], 1
    for d in reversed(shape):
        out.append(acc)
        acc *= d
    return out[::-1]


def broadcast_shape(*shapes: Sequence[int]) -> tuple[int, ...]:
    try:
        return tuple(np.broadcast_shapes(*[tuple(s) for s in shapes]))
    except ValueError as e:
        raise UnsupportedOpError(f"shapes {list(shapes)} do not broadcast") from e


def broadcast_strides(shape: Sequence[int], out_shape: Sequence[int]) -> list[int]:
    """Element strides of ``shape`` read as ``out_shape`` (0 on broadcast dims)."""
    pad = len(out_shape) - len(shape)
    full = [1] * pad + list(shape)
    st = strides_of(full)
    return [0 if full[i] == 1 and out_shape[i] != 1 else st[i] for i in range(len(out_shape))]


def collapse(shape: Sequence[int], *stride_sets: Sequence[int]) -> tuple[list[int], list[list[int]]]:
    """Merge adjacent dims that every stride set walks contiguously; drop size-1 dims.

    Keeps kernels' loops few and long: [1,16,8,8] + matching strides becomes [1024].
    """
    dims = [(d, [s[i] for s in stride_sets]) for i, d in enumerate(shape) if d != 1]
    if not dims:
        return [1], [[0] for _ in stride_sets]
    out_shape = [dims[0][0]]
    out_strides = [list(dims[0][1])]
    for d, sts in dims[1:]:
        prev = out_strides[-1]
        if all(prev[k] == sts[k] * d for k in range(len(sts))):
            out_shape[-1] *= d
            out_strides[-1] = list(sts)
        else:
            out_shape.append(d)
            out_strides.append(list(sts))
    return out_shape, [[st[k] for st in out_strides] for k in range(len(stride_sets))]


def norm_axis(axis: int, rank: int, who: Attrs | None = None) -> int:
    a = axis + rank if axis < 0 else axis
    if not 0 <= a < max(rank, 1):
        msg = f"axis {axis} out of range for rank {rank}"
        raise who.error(msg) if who else UnsupportedOpError(msg)
    return a


def require_float(node_name: str, op_type: str, ins: list[Tensor]) -> None:
    for t in ins:
        if not t.dtype.is_float:
            raise UnsupportedOpError(
                f"{op_type} node {node_name!r}: runtime tensor {t.name!r} is {t.dtype.value}; "
                "only float tensors can be computed on the device (integer tensors must be "
                "constant so they fold away)")

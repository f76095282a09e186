"""Graph, Node and Tensor: plain data, no behaviour beyond look-ups.

A Tensor is either a constant (``data`` holds a numpy array, it lives in flash) or an
activation (``data`` is None, it lives in the arena). Every shape is static: symbolic
dimensions are bound by the frontend before a Graph exists.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np


class DType(enum.Enum):
    FLOAT32 = "float32"
    FLOAT16 = "float16"
    FLOAT64 = "float64"
    UINT64 = "uint64"
    UINT32 = "uint32"
    UINT16 = "uint16"
    INT64 = "int64"
    INT32 = "int32"
    INT16 = "int16"
    INT8 = "int8"
    UINT8 = "uint8"
    BOOL = "bool"

    @property
    def numpy(self) -> np.dtype:
        return np.dtype(self.value)

    @property
    def itemsize(self) -> int:
        return self.numpy.itemsize

    @property
    def is_float(self) -> bool:
        return self in (DType.FLOAT32, DType.FLOAT16, DType.FLOAT64)

    @classmethod
    def from_numpy(cls, dt: Any) -> "DType":
        return cls(np.dtype(dt).name)


@dataclass(frozen=True)
class QuantInfo:
    """How an integer tensor encodes reals: real = scale * (q - zero_point).

    Per tensor when ``axis`` is None (one scale, one zero point), else per channel along
    ``axis`` (one of each per index of that dim). int8 activations carry one; int8 weights
    carry theirs (symmetric: zero points 0); int32 biases carry in_scale * w_scale."""

    scale: tuple[float, ...]
    zero_point: tuple[int, ...]
    axis: int | None = None

    @property
    def per_channel(self) -> bool:
        return self.axis is not None

    @classmethod
    def per_tensor(cls, scale: float, zero_point: int = 0) -> "QuantInfo":
        return cls((float(scale),), (int(zero_point),), None)

    @property
    def s(self) -> float:
        """The scale of a per-tensor quantisation."""
        return self.scale[0]

    @property
    def zp(self) -> int:
        return self.zero_point[0]


@dataclass
class Tensor:
    name: str
    shape: tuple[int, ...]
    dtype: DType
    data: np.ndarray | None = None
    quant: QuantInfo | None = None  # set on integer tensors that encode reals

    @property
    def is_const(self) -> bool:
        return self.data is not None

    @property
    def size(self) -> int:
        # exact Python ints: no int64 wrap-around for absurd shapes, and 10x faster than np.prod
        return math.prod(int(d) for d in self.shape)

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize


@dataclass
class Node:
    """One operator. ``params`` is the op family's frozen dataclass (see toolchain.ops)."""

    name: str
    op_type: str
    inputs: list[str]  # "" where an optional input is absent
    outputs: list[str]  # "" where an optional output is not wanted
    params: Any
    # The ONNX node(s) this node came from; fusion passes append to it.
    origin: list[str] = field(default_factory=list)


@dataclass
class Graph:
    name: str
    tensors: dict[str, Tensor]
    nodes: list[Node]
    inputs: list[str]
    outputs: list[str]
    source: str = ""

    def tensor(self, name: str) -> Tensor:
        return self.tensors[name]

    def producers(self) -> dict[str, Node]:
        return {out: n for n in self.nodes for out in n.outputs if out}

    def consumers(self) -> dict[str, list[Node]]:
        users: dict[str, list[Node]] = {}
        for n in self.nodes:
            for name in n.inputs:
                if name:
                    users.setdefault(name, []).append(n)
        return users

    def constants(self) -> list[Tensor]:
        """Constants that some node reads, in first-use order (what goes into flash)."""
        seen: dict[str, Tensor] = {}
        for n in self.nodes:
            for name in n.inputs:
                t = self.tensors.get(name)
                if t is not None and t.is_const and name not in seen:
                    seen[name] = t
        for name in self.outputs:
            t = self.tensors[name]
            if t.is_const and name not in seen:
                seen[name] = t
        return list(seen.values())

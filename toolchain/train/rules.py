"""Backward rules, one per forward op family: given a node and its output gradients, append
the nodes that compute its input gradients (only those some trainable weight needs) and its
trainable weights' gradients.

`need` holds the runtime tensors whose gradient is wanted; `train` the trainable weights;
weight gradients are returned through `wgrads`.
"""

from __future__ import annotations

import numpy as np

from toolchain.errors import UnsupportedOpError
from toolchain.ir.graph import Node
from toolchain.ops.base import broadcast_shape, broadcast_strides, strides_of
from toolchain.ops.elementwise import Act, BinaryParams, Unary, UnaryParams
from toolchain.ops.gemm import matmul_shapes
from toolchain.ops.movement import PadParams, ShapeArg, SliceParams, TransposeParams
from toolchain.ops.reduce import ReduceParams
from toolchain.ops.shape import ViewParams
from toolchain.train.builder import Builder
from toolchain.train.grad_ops import (
    ActGradParams, ConvGradParams, GemmGradInputParams, GemmGradWeightParams, LayerNormGradParams,
    PoolGradParams, SoftmaxGradParams,
)


def _unsupported(n: Node, why: str) -> UnsupportedOpError:
    return UnsupportedOpError(f"{n.op_type} node {n.name!r}: {why} (training)")


def _shape(b: Builder, t: str) -> tuple[int, ...]:
    return b.tensors[t].shape


def _act_grad(b: Builder, n: Node, gy: str) -> str:
    """Through a fused activation, from the node's output (only exact ones stay fused)."""
    act = getattr(n.params, "act", Act())
    if act.kind == "NONE":
        return gy
    return b.add("ActGrad", [gy, n.outputs[0]], [_shape(b, gy)], ActGradParams(act, True), n.origin, n.outputs[0])[0]


def _reduce_to(b: Builder, n: Node, g: str, shape: tuple[int, ...]) -> str:
    """Sum a broadcast gradient back to an operand's shape."""
    gs = _shape(b, g)
    if gs == tuple(shape):
        return g
    full = (1,) * (len(gs) - len(shape)) + tuple(shape)
    axes = tuple(i for i, (d, o) in enumerate(zip(full, gs)) if d == 1 and o != 1)
    r = b.add("ReduceSum", [g], [full], ReduceParams("SUM", axes, True), n.origin, g)[0]
    return r if full == tuple(shape) else b.add("Reshape", [r], [shape], ViewParams(tuple(shape)), n.origin, g)[0]


def backward(b: Builder, n: Node, gys: list[str | None], need: set[str], train: set[str],
             wgrads: dict[str, str]) -> None:
    rule = _RULES.get(n.op_type)
    if rule is None:
        raise _unsupported(n, "no backward rule")
    if len(n.outputs) != 1:
        raise _unsupported(n, "multi-output ops have no backward rule")
    rule(b, n, gys[0], need, train, wgrads)


# ---------------------------------------------------------------- layers with weights


def _conv(b: Builder, n: Node, gy: str, need: set[str], train: set[str], wgrads: dict[str, str]) -> None:
    x, w = n.inputs[0], n.inputs[1]
    bias = n.inputs[2] if len(n.inputs) > 2 else ""
    if w in need or bias in need:
        raise _unsupported(n, "runtime (computed) weights")
    g = _act_grad(b, n, gy)
    p = ConvGradParams(n.params, _shape(b, x), _shape(b, w), _shape(b, n.outputs[0]), w in train, bias in train)
    if p.want_w or p.want_b:
        shapes = ([p.w_shape] if p.want_w else []) + ([_shape(b, bias)] if p.want_b else [])
        outs = b.add("ConvGradWeight", [x, g], shapes, p, n.origin, w)
        if p.want_w:
            wgrads[w] = outs.pop(0)
        if p.want_b:
            wgrads[bias] = outs.pop(0)
    if x in need:
        b.accumulate(x, b.add("ConvGradInput", [g, w], [p.x_shape], p, n.origin, x)[0])


def _gemm_geometry(b: Builder, n: Node):
    p = n.params
    a, w = _shape(b, n.inputs[0]), _shape(b, n.inputs[1])
    if p.matmul:
        if len(a) < 2 or len(w) < 2:
            raise _unsupported(n, "1-D MatMul operands")
        a2, b2, _ = matmul_shapes(a, w)
        m, k, nn = a2[-2], a2[-1], b2[-1]
        batch = broadcast_shape(a2[:-2], b2[:-2])
        sa = tuple(s * m * k for s in broadcast_strides(a2[:-2], batch))
        sb = tuple(s * k * nn for s in broadcast_strides(b2[:-2], batch))
        sy = tuple(s * m * nn for s in strides_of(batch))
        return m, k, nn, batch, sa, sb, sy, (k, 1), (nn, 1)
    m, k = (a[1], a[0]) if p.trans_a else (a[0], a[1])
    nn = w[0] if p.trans_b else w[1]
    return m, k, nn, (), (), (), (), ((1, m) if p.trans_a else (k, 1)), ((1, k) if p.trans_b else (nn, 1))


def _full_batch(batch: tuple[int, ...], strides: tuple[int, ...]) -> bool:
    return all(s != 0 or d == 1 for d, s in zip(batch, strides))


def _gemm(b: Builder, n: Node, gy: str, need: set[str], train: set[str], wgrads: dict[str, str]) -> None:
    p = n.params
    a, w = n.inputs[0], n.inputs[1]
    c = n.inputs[2] if len(n.inputs) > 2 else ""
    if c in need or (a in train):
        raise _unsupported(n, "gradient of a runtime bias or a constant left operand")
    m, k, nn, batch, sa, sb, sy, (a_rs, a_cs), (b_rs, b_cs) = _gemm_geometry(b, n)
    g = _act_grad(b, n, gy)
    want_w, want_c = w in train, c in train
    if want_w or want_c:
        if not all(s == 0 or d == 1 for d, s in zip(batch, sb)) or not _full_batch(batch, sa):
            raise _unsupported(n, "a trained weight must be 2-D against a full-batch input")
        rows = int(np.prod(batch, dtype=np.int64)) * m
        cs = _shape(b, c) if c else ()
        c_rs, c_cs = (broadcast_strides(cs, (m, nn))[-2:] if cs else (0, 0)) if c else (0, 0)
        w_ks, w_ns = b_rs, b_cs
        gp = GemmGradWeightParams(rows, m, nn, k, a_rs, a_cs, w_ks, w_ns, _shape(b, w), cs, c_rs, c_cs,
                                  p.alpha, p.beta, want_w, want_c)
        shapes = ([gp.w_shape] if want_w else []) + ([cs] if want_c else [])
        outs = b.add("GemmGradWeight", [a, g], shapes, gp, n.origin, w)
        if want_w:
            wgrads[w] = outs.pop(0)
        if want_c:
            wgrads[c] = outs.pop(0)
    if a in need:
        if not _full_batch(batch, sa):
            raise _unsupported(n, "gradient of a batch-broadcast left operand")
        gp = GemmGradInputParams(batch, sy, sb, sa, m, nn, k, nn, 1, b_rs, b_cs, a_rs, a_cs, p.alpha, _shape(b, a))
        b.accumulate(a, b.add("GemmGradInput", [g, w], [gp.out_shape], gp, n.origin, a)[0])
    if w in need:
        if not _full_batch(batch, sb):
            raise _unsupported(n, "gradient of a batch-broadcast right operand")
        # dB is the left-operand gradient of the transposed problem Y^T = B^T A^T
        gp = GemmGradInputParams(batch, sy, sa, sb, nn, m, k, 1, nn, a_cs, a_rs, b_cs, b_rs, p.alpha, _shape(b, w))
        b.accumulate(w, b.add("GemmGradInput", [g, a], [gp.out_shape], gp, n.origin, w)[0])


def _layernorm(b: Builder, n: Node, gy: str, need: set[str], train: set[str], wgrads: dict[str, str]) -> None:
    x = n.inputs[0]
    gamma = n.inputs[1] if len(n.inputs) > 1 else ""
    beta = n.inputs[2] if len(n.inputs) > 2 else ""
    if gamma in need or beta in need:
        raise _unsupported(n, "runtime (computed) scale or bias")
    p = LayerNormGradParams(n.params, _shape(b, x), gamma in train, beta in train)
    if p.want_gamma or p.want_beta:
        shapes = ([_shape(b, gamma)] if p.want_gamma else []) + ([_shape(b, beta)] if p.want_beta else [])
        outs = b.add("LayerNormGradWeight", [gy, x], shapes, p, n.origin, gamma or beta)
        if p.want_gamma:
            wgrads[gamma] = outs.pop(0)
        if p.want_beta:
            wgrads[beta] = outs.pop(0)
    if x in need:
        ins = [gy, x] + ([gamma] if gamma else [])
        b.accumulate(x, b.add("LayerNormGradInput", ins, [p.x_shape], p, n.origin, x)[0])


# ---------------------------------------------------------------- element-wise


def _unary(b: Builder, n: Node, gy: str, need: set[str], train: set[str], wgrads: dict[str, str]) -> None:
    x = n.inputs[0]
    if x in need:
        b.accumulate(x, b.add("ActGrad", [gy, x], [_shape(b, x)], ActGradParams(n.params.act, False), n.origin, x)[0])


def _binary(b: Builder, n: Node, gy: str, need: set[str], train: set[str], wgrads: dict[str, str]) -> None:
    op = n.params.op
    x, y = n.inputs
    g = _act_grad(b, n, gy)
    out = _shape(b, n.outputs[0])
    if op in ("ADD", "SUB"):
        if x in need:
            b.accumulate(x, _reduce_to(b, n, g, _shape(b, x)))
        if y in need:
            gg = g if op == "ADD" else b.add("Neg", [g], [out], UnaryParams(Act("NEG")), n.origin, y)[0]
            b.accumulate(y, _reduce_to(b, n, gg, _shape(b, y)))
    elif op == "MUL":
        for t, other in ((x, y), (y, x)):
            if t in need:
                gm = b.add("Mul", [g, other], [out], BinaryParams("MUL"), n.origin, t)[0]
                b.accumulate(t, _reduce_to(b, n, gm, _shape(b, t)))
    elif op == "DIV":
        if y in need:
            raise _unsupported(n, "gradient of a divisor")
        if x in need:
            gd = b.add("Div", [g, y], [out], BinaryParams("DIV"), n.origin, x)[0]
            b.accumulate(x, _reduce_to(b, n, gd, _shape(b, x)))
    else:
        raise _unsupported(n, f"no backward for {op}")


def _softmax(b: Builder, n: Node, gy: str, need: set[str], train: set[str], wgrads: dict[str, str]) -> None:
    x = n.inputs[0]
    if x in need:
        p = SoftmaxGradParams(n.params, _shape(b, x))
        b.accumulate(x, b.add("SoftmaxGradInput", [gy, n.outputs[0]], [p.shape], p, n.origin, x)[0])


def _pool(b: Builder, n: Node, gy: str, need: set[str], train: set[str], wgrads: dict[str, str]) -> None:
    x = n.inputs[0]
    if x in need:
        p = PoolGradParams(n.params, _shape(b, x), _shape(b, n.outputs[0]))
        ins = [gy, x] if n.params.is_max else [gy]
        b.accumulate(x, b.add("PoolGradInput", ins, [p.x_shape], p, n.origin, x)[0])


def _reduce(b: Builder, n: Node, gy: str, need: set[str], train: set[str], wgrads: dict[str, str]) -> None:
    x = n.inputs[0]
    p = n.params
    if x not in need:
        return
    if p.op not in ("SUM", "MEAN"):
        raise _unsupported(n, f"no backward for Reduce {p.op}")
    xs = _shape(b, x)
    kept = tuple(1 if i in p.axes else d for i, d in enumerate(xs))
    g = gy if _shape(b, gy) == kept else b.add("Reshape", [gy], [kept], ViewParams(kept), n.origin, gy)[0]
    if p.op == "MEAN":
        count = int(np.prod([xs[i] for i in p.axes], dtype=np.int64))
        k = b.const(f"{n.name}/1/count", np.array(1.0 / count, np.float32))
        g = b.add("Mul", [g, k], [kept], BinaryParams("MUL"), n.origin, x)[0]
    b.accumulate(x, b.add("Expand", [g], [xs], ShapeArg(xs), n.origin, x)[0])


# ---------------------------------------------------------------- data movement


def _view(b: Builder, n: Node, gy: str, need: set[str], train: set[str], wgrads: dict[str, str]) -> None:
    x = n.inputs[0]
    if x in need:
        b.accumulate(x, b.add("Reshape", [gy], [_shape(b, x)], ViewParams(_shape(b, x)), n.origin, x)[0])


def _transpose(b: Builder, n: Node, gy: str, need: set[str], train: set[str], wgrads: dict[str, str]) -> None:
    x = n.inputs[0]
    if x in need:
        inv = tuple(int(i) for i in np.argsort(n.params.perm))
        b.accumulate(x, b.add("Transpose", [gy], [_shape(b, x)], TransposeParams(inv), n.origin, x)[0])


def _pad_back(b: Builder, n: Node, g: str, x: str, starts: list[int]) -> str:
    """Place g at `starts` inside a zero tensor of x's shape (the adjoint of a slice)."""
    xs, gs = _shape(b, x), _shape(b, g)
    ends = tuple(d - s - k for d, s, k in zip(xs, starts, gs))
    return b.add("Pad", [g], [xs], PadParams(tuple(starts), ends, "constant", 0.0), n.origin, x)[0]


def _gather(b: Builder, n: Node, gy: str, need: set[str], train: set[str], wgrads: dict[str, str]) -> None:
    x = n.inputs[0]
    if x not in need:
        return
    p = n.params
    idx = list(p.indices)
    if idx != list(range(idx[0], idx[0] + len(idx))) or len(p.index_shape) > 1:
        raise _unsupported(n, "only a contiguous run of indices has a backward")
    xs = _shape(b, x)
    kept = xs[:p.axis] + (len(idx),) + xs[p.axis + 1:]
    g = gy if _shape(b, gy) == kept else b.add("Reshape", [gy], [kept], ViewParams(kept), n.origin, gy)[0]
    starts = [0] * len(xs)
    starts[p.axis] = idx[0]
    b.accumulate(x, _pad_back(b, n, g, x, starts))


def _slice(b: Builder, n: Node, gy: str, need: set[str], train: set[str], wgrads: dict[str, str]) -> None:
    x = n.inputs[0]
    if x not in need:
        return
    if any(s != 1 for s in n.params.steps):
        raise _unsupported(n, "strided slices have no backward")
    b.accumulate(x, _pad_back(b, n, gy, x, list(n.params.starts)))


def _concat(b: Builder, n: Node, gy: str, need: set[str], train: set[str], wgrads: dict[str, str]) -> None:
    pos, gs = 0, _shape(b, gy)
    for x in n.inputs:
        xs = _shape(b, x)
        if x in need:
            starts = [0] * len(gs)
            starts[n.params.axis] = pos
            p = SliceParams(tuple(starts), (1,) * len(gs), tuple(xs))
            b.accumulate(x, b.add("Slice", [gy], [xs], p, n.origin, x)[0])
        pos += xs[n.params.axis]


def _pad(b: Builder, n: Node, gy: str, need: set[str], train: set[str], wgrads: dict[str, str]) -> None:
    x = n.inputs[0]
    if x not in need:
        return
    if n.params.mode != "constant" or any(v < 0 for v in n.params.begins + n.params.ends):
        raise _unsupported(n, "only non-negative constant padding has a backward")
    p = SliceParams(tuple(n.params.begins), (1,) * len(n.params.begins), _shape(b, x))
    b.accumulate(x, b.add("Slice", [gy], [_shape(b, x)], p, n.origin, x)[0])


_RULES = {
    "Conv": _conv, "Gemm": _gemm, "MatMul": _gemm, "LayerNormalization": _layernorm,
    "Add": _binary, "Sub": _binary, "Mul": _binary, "Div": _binary,
    "Softmax": _softmax, "LogSoftmax": _softmax,
    "MaxPool": _pool, "AveragePool": _pool, "GlobalAveragePool": _pool, "GlobalMaxPool": _pool,
    "Reshape": _view, "Flatten": _view, "Squeeze": _view, "Unsqueeze": _view, "Identity": _view, "Dropout": _view,
    "ReduceSum": _reduce, "ReduceMean": _reduce,
    "Transpose": _transpose, "Gather": _gather, "Slice": _slice, "Concat": _concat, "Pad": _pad,
}
_RULES.update({t: _unary for t in Unary.op_types})

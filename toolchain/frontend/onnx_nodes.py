"""ONNX nodes -> IR nodes, one at a time: dtypes, input binding, attributes, and the import of
one node (folded when its inputs are constant). Shared by the float loader (onnx_loader.py)
and the quantised one (quant.py), which both walk a model's nodes."""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper

from toolchain.errors import ModelLoadError, ShapeError, UnsupportedOpError
from toolchain.ir.graph import DType, Node, Tensor
from toolchain.ops import REGISTRY
from toolchain.ops.base import Attrs
from toolchain.ops.shape import Fold

def np_dtype(dt: object, what: str) -> DType:
    try:
        return DType.from_numpy(dt)
    except (KeyError, TypeError, ValueError):
        raise UnsupportedOpError(f"{what}: element type {dt} is not supported") from None


def elem_dtype(elem_type: int, what: str) -> DType:
    try:
        np_dt = helper.tensor_dtype_to_np_dtype(elem_type)
    except (KeyError, TypeError, ValueError):
        raise UnsupportedOpError(f"{what}: element type {elem_type} is not supported") from None
    return np_dtype(np_dt, what)


def bind_input(vi: onnx.ValueInfoProto, given: tuple[int, ...] | None) -> tuple[int, ...]:
    dims = vi.type.tensor_type.shape.dim
    if not vi.type.tensor_type.HasField("shape"):
        if given is None:
            raise ShapeError(f"input {vi.name!r} has no shape in the model; give one with --input-shape {vi.name}=...")
        return given
    if given is not None:
        if len(given) != len(dims):
            raise ShapeError(f"--input-shape {vi.name}: rank {len(given)} but the model says rank {len(dims)}")
        for i, (d, g) in enumerate(zip(dims, given)):
            if d.HasField("dim_value") and d.dim_value != g:
                raise ShapeError(f"--input-shape {vi.name}: dim {i} is {g} but the model fixes it to {d.dim_value}")
        return given
    if not dims:
        raise ShapeError(f"input {vi.name!r} is a scalar (rank 0); mcuforge needs inputs of rank 1 or more")
    out = []
    for i, d in enumerate(dims):
        if d.HasField("dim_value") and d.dim_value <= 0:
            raise ShapeError(f"input {vi.name!r}: dim {i} is fixed to {d.dim_value}; sizes must be positive")
        if d.HasField("dim_value"):
            out.append(d.dim_value)
        elif i == 0:
            out.append(1)  # a symbolic leading dim is the batch: bind it to 1
        else:
            sym = d.dim_param or "?"
            raise ShapeError(f"input {vi.name!r} has a symbolic dim {sym!r} at axis {i}; "
                             f"bind it with --input-shape {vi.name}=D0x...")
    return tuple(out)


def node_attrs(node: onnx.NodeProto, name: str) -> Attrs:
    vals: dict[str, Any] = {}
    for a in node.attribute:
        if a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS):
            raise UnsupportedOpError(f"{node.op_type} node {name!r}: sub-graphs (control flow) are not supported")
        v = helper.get_attribute_value(a)
        if a.type == onnx.AttributeProto.TENSOR:
            v = numpy_helper.to_array(v)
        vals[a.name] = v
    if node.op_type == "Split" and "num_outputs" not in vals:
        vals["_num_outputs"] = len(node.output)
    return Attrs(vals, name, node.op_type)


def unique_names(nodes: list[onnx.NodeProto]) -> list[str]:
    seen: set[str] = set()
    names = []
    for i, n in enumerate(nodes):
        base = n.name or f"{n.op_type}_{i}"
        name, k = base, 1
        while name in seen:
            name, k = f"{base}_{k}", k + 1
        seen.add(name)
        names.append(name)
    return names



def supported_list() -> str:
    return ", ".join(REGISTRY.supported())


def import_node(onode: onnx.NodeProto, name: str, opset: int, tensors: dict[str, Tensor], nodes: list[Node]) -> None:
    op = REGISTRY.get(onode.op_type)
    if op is None or op.internal:
        raise UnsupportedOpError(f"node {name!r}: op {onode.op_type!r} is not supported. "
                                 f"Supported: {supported_list()}")
    for i in onode.input:
        if i and i not in tensors:
            raise ModelLoadError(f"node {name!r} reads {i!r}, which is not defined before it")
    ins = [tensors[i] if i else None for i in onode.input]
    attrs = node_attrs(onode, name)
    params = op.parse(attrs, ins, opset)
    present = [t for t in ins if t is not None]
    all_const = all(t.is_const for t in present)

    if op.fold_only:
        # Shape/Size read only static shapes; CastLike only its second input's dtype.
        if onode.op_type == "CastLike" and ins[0].is_const:
            add_consts(onode, [ins[0].data.astype(ins[1].dtype.numpy)], tensors)
            return
        if onode.op_type in ("Shape", "Size") or all_const:
            shapes = [t.shape for t in present]
            vals = Fold.reference_for(onode.op_type, params, [t.data if t else None for t in ins], shapes)
            add_consts(onode, vals, tensors)
            return
        if is_noop_cast(onode.op_type, params, ins):
            op, params = REGISTRY.get("Identity"), REGISTRY.get("Identity").parse(attrs, ins[:1], opset)
            onode = helper.make_node("Identity", [onode.input[0]], [onode.output[0]])
        else:
            raise UnsupportedOpError(f"node {name!r}: op {onode.op_type!r} on runtime data is not supported "
                                     f"(it is only supported where its inputs are constant). "
                                     f"Supported: {supported_list()}")

    if all_const and present:
        vals = op.reference(params, [t.data if t is not None else None for t in ins])
        add_consts(onode, vals, tensors)
        return

    specs = op.infer(params, [t for t in ins if t is not None] if not op.config_inputs else
                     [t for i, t in enumerate(ins) if t is not None and i not in op.config_inputs])
    outputs = list(onode.output)
    runtime_outs: list[str] = []  # by position; "" where the model leaves an output out
    for k, oname in enumerate(outputs):
        if not oname:
            runtime_outs.append("")
            continue
        if k >= len(specs):
            if onode.op_type == "Dropout":  # the mask of an inference Dropout is all ones
                tensors[oname] = Tensor(oname, specs[0].shape, DType.BOOL, np.ones(specs[0].shape, bool))
                continue
            raise UnsupportedOpError(f"{onode.op_type} node {name!r}: output {k} ({oname!r}) is not supported")
        tensors[oname] = Tensor(oname, specs[k].shape, specs[k].dtype)
        runtime_outs.append(oname)
    while runtime_outs and not runtime_outs[-1]:
        runtime_outs.pop()
    data_ins = [i for k, i in enumerate(onode.input) if k not in op.config_inputs]
    while data_ins and not data_ins[-1]:
        data_ins.pop()
    for t in [tensors[i] for i in data_ins if i] + [tensors[o] for o in runtime_outs if o]:
        if not t.is_const and t.dtype != DType.FLOAT32:
            raise UnsupportedOpError(
                f"{onode.op_type} node {name!r}: runtime tensor {t.name!r} is {t.dtype.value}; only float32 "
                f"tensors are computed on the device (integer tensors must fold to constants)")
    nodes.append(Node(name, onode.op_type, data_ins, runtime_outs, params, origin=[name]))


def is_noop_cast(op_type: str, params: object, ins: list[Tensor | None]) -> bool:
    """Cast/CastLike to the dtype the tensor already has: exporters emit them in functions."""
    if op_type == "CastLike":
        return ins[1] is not None and ins[1].dtype == ins[0].dtype
    if op_type == "Cast":
        probe = Fold.reference_for("Cast", params, [np.zeros(1, ins[0].dtype.numpy)], [()])[0]
        return probe.dtype == ins[0].dtype.numpy
    return False


def add_consts(onode: onnx.NodeProto, vals: list[np.ndarray], tensors: dict[str, Tensor]) -> None:
    for oname, v in zip(onode.output, vals):
        if oname:
            arr = np.asarray(v)
            tensors[oname] = Tensor(oname, tuple(arr.shape), np_dtype(arr.dtype, f"tensor {oname!r}"), arr)

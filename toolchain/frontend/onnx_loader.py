"""ONNX -> IR: load and check the file, bind symbolic dims, fold everything static.

Walking the nodes in order, a node whose inputs are all constant (or that only reads shapes,
like Shape) is evaluated with its numpy reference and becomes a constant; every other node
is parsed into its op family's typed params with static output shapes. What comes out is a
Graph whose runtime nodes all have kernels and whose every shape is known.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper

from toolchain.errors import ModelLoadError, ShapeError, UnsupportedOpError
from toolchain.ir.graph import DType, Graph, Node, Tensor
from toolchain.ops import REGISTRY
from toolchain.ops.base import Attrs
from toolchain.ops.shape import Fold

MIN_OPSET = 6  # opset 6 binary ops need an explicit broadcast attribute: rejected per node
MAX_OPSET = onnx.defs.onnx_opset_version()  # the newest the installed onnx knows


def read_model(path: str | Path) -> onnx.ModelProto:
    p = Path(path)
    if not p.is_file():
        raise ModelLoadError(f"{p}: no such file")
    try:
        model = onnx.load_model_from_string(p.read_bytes())
    except Exception as e:  # protobuf raises a zoo of types for corrupt bytes
        raise ModelLoadError(f"{p}: not a readable ONNX model ({type(e).__name__}: {str(e)[:120]})") from None
    return model


def check_model(model: onnx.ModelProto, where: str) -> None:
    try:
        onnx.checker.check_model(model)
    except Exception as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ModelLoadError(f"{where}: invalid ONNX model: {first[:200]}") from None
    if not model.graph.output:
        raise ModelLoadError(f"{where}: the graph has no outputs")


def parse_input_shapes(specs: list[str] | tuple[str, ...] | None) -> dict[str, tuple[int, ...]]:
    """['input_1=1x32x32x3', ...] -> {'input_1': (1, 32, 32, 3)}."""
    out: dict[str, tuple[int, ...]] = {}
    for spec in specs or ():
        name, sep, dims = spec.rpartition("=")
        try:
            if not sep or not name:
                raise ValueError
            out[name] = tuple(int(d) for d in dims.lower().split("x"))
            if any(d <= 0 for d in out[name]):
                raise ValueError
        except ValueError:
            raise ShapeError(f"--input-shape {spec!r}: expected NAME=D0xD1x... with positive sizes") from None
    return out


def _np_dtype(dt: object, what: str) -> DType:
    try:
        return DType.from_numpy(dt)
    except (KeyError, TypeError, ValueError):
        raise UnsupportedOpError(f"{what}: element type {dt} is not supported") from None


def _elem_dtype(elem_type: int, what: str) -> DType:
    try:
        np_dt = helper.tensor_dtype_to_np_dtype(elem_type)
    except (KeyError, TypeError, ValueError):
        raise UnsupportedOpError(f"{what}: element type {elem_type} is not supported") from None
    return _np_dtype(np_dt, what)


def _bind_input(vi: onnx.ValueInfoProto, given: tuple[int, ...] | None) -> tuple[int, ...]:
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
    out = []
    for i, d in enumerate(dims):
        if d.HasField("dim_value") and d.dim_value > 0:
            out.append(d.dim_value)
        elif i == 0:
            out.append(1)  # a symbolic leading dim is the batch: bind it to 1
        else:
            sym = d.dim_param or "?"
            raise ShapeError(f"input {vi.name!r} has a symbolic dim {sym!r} at axis {i}; "
                             f"bind it with --input-shape {vi.name}=D0x...")
    return tuple(out)


def _attrs(node: onnx.NodeProto, name: str) -> Attrs:
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


def _onnx_static_shapes(model: onnx.ModelProto) -> dict[str, tuple[int, ...]]:
    """Shapes onnx's own inference is sure of: a cross-check of ours, never the source."""
    try:
        inferred = onnx.shape_inference.infer_shapes(model, strict_mode=False, data_prop=True)
    except Exception:
        return {}
    out = {}
    for vi in inferred.graph.value_info:
        tt = vi.type.tensor_type
        if tt.HasField("shape") and all(d.HasField("dim_value") for d in tt.shape.dim):
            out[vi.name] = tuple(d.dim_value for d in tt.shape.dim)
    return out


def load_onnx(path: str | Path, input_shapes: dict[str, tuple[int, ...]] | None = None) -> Graph:
    model = read_model(path)
    return import_model(model, input_shapes, where=str(path))


def import_model(model: onnx.ModelProto, input_shapes: dict[str, tuple[int, ...]] | None = None,
                 where: str = "model") -> Graph:
    check_model(model, where)
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    if not MIN_OPSET <= opset <= MAX_OPSET:
        raise UnsupportedOpError(f"{where}: opset {opset} is outside the supported range {MIN_OPSET}..{MAX_OPSET}")
    g = model.graph
    given = dict(input_shapes or {})
    tensors: dict[str, Tensor] = {}
    for init in g.initializer:
        arr = numpy_helper.to_array(init)
        tensors[init.name] = Tensor(init.name, tuple(arr.shape), _np_dtype(arr.dtype, f"initializer {init.name!r}"), arr)
    inputs = []
    for vi in g.input:
        if vi.name in tensors:
            continue  # an initializer listed as input (old exporters): a constant
        shape = _bind_input(vi, given.pop(vi.name, None))
        dt = _elem_dtype(vi.type.tensor_type.elem_type, f"input {vi.name!r}")
        if dt != DType.FLOAT32:
            raise UnsupportedOpError(f"input {vi.name!r} is {dt.value}; the device computes float32 "
                                     f"(bind integer inputs as constants)")
        tensors[vi.name] = Tensor(vi.name, shape, dt)
        inputs.append(vi.name)
    if given:
        names = ", ".join(inputs) or "none"
        raise ShapeError(f"--input-shape names {sorted(given)} that are not model inputs (inputs: {names})")

    # Bind the inputs in a copy so onnx's inference sees the same static shapes we use.
    bound = onnx.ModelProto()
    bound.CopyFrom(model)
    for vi in bound.graph.input:
        if vi.name in inputs:
            for d, v in zip(vi.type.tensor_type.shape.dim, tensors[vi.name].shape):
                d.Clear()
                d.dim_value = v
    onnx_shapes = _onnx_static_shapes(bound)

    nodes: list[Node] = []
    for onode, name in zip(g.node, unique_names(list(g.node))):
        if onode.domain not in ("", "ai.onnx"):
            raise UnsupportedOpError(f"node {name!r}: op {onode.domain}.{onode.op_type} is not supported "
                                     f"(only the default ONNX domain)")
        _import_node(onode, name, opset, tensors, nodes)
    for out in g.output:
        if out.name not in tensors:
            raise ModelLoadError(f"{where}: graph output {out.name!r} is never produced")
        if tensors[out.name].dtype != DType.FLOAT32:
            raise UnsupportedOpError(f"graph output {out.name!r} is {tensors[out.name].dtype.value}; "
                                     f"the device computes float32")
    for name, t in tensors.items():
        want = onnx_shapes.get(name)
        if want is not None and not t.is_const and tuple(want) != t.shape:
            raise ShapeError(f"tensor {name!r}: mcuforge infers {t.shape}, onnx infers {tuple(want)}")
    return Graph(g.name or Path(where).stem, tensors, nodes, inputs, [o.name for o in g.output], source=where)


def _supported_list() -> str:
    return ", ".join(REGISTRY.supported())


def _import_node(onode: onnx.NodeProto, name: str, opset: int, tensors: dict[str, Tensor], nodes: list[Node]) -> None:
    op = REGISTRY.get(onode.op_type)
    if op is None or op.internal:
        raise UnsupportedOpError(f"node {name!r}: op {onode.op_type!r} is not supported. "
                                 f"Supported: {_supported_list()}")
    for i in onode.input:
        if i and i not in tensors:
            raise ModelLoadError(f"node {name!r} reads {i!r}, which is not defined before it")
    ins = [tensors[i] if i else None for i in onode.input]
    attrs = _attrs(onode, name)
    params = op.parse(attrs, ins, opset)
    present = [t for t in ins if t is not None]
    all_const = all(t.is_const for t in present)

    if op.fold_only:
        # Shape/Size read only static shapes; CastLike only its second input's dtype.
        if onode.op_type == "CastLike" and ins[0].is_const:
            _add_consts(onode, [ins[0].data.astype(ins[1].dtype.numpy)], tensors)
            return
        if onode.op_type in ("Shape", "Size") or all_const:
            shapes = [t.shape for t in present]
            vals = Fold.reference_for(onode.op_type, params, [t.data if t else None for t in ins], shapes)
            _add_consts(onode, vals, tensors)
            return
        if _is_noop_cast(onode.op_type, params, ins):
            op, params = REGISTRY.get("Identity"), REGISTRY.get("Identity").parse(attrs, ins[:1], opset)
            onode = helper.make_node("Identity", [onode.input[0]], [onode.output[0]])
        else:
            raise UnsupportedOpError(f"node {name!r}: op {onode.op_type!r} on runtime data is not supported "
                                     f"(it is only supported where its inputs are constant). "
                                     f"Supported: {_supported_list()}")

    if all_const and present:
        vals = op.reference(params, [t.data if t is not None else None for t in ins])
        _add_consts(onode, vals, tensors)
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


def _is_noop_cast(op_type: str, params: object, ins: list[Tensor | None]) -> bool:
    """Cast/CastLike to the dtype the tensor already has: exporters emit them in functions."""
    if op_type == "CastLike":
        return ins[1] is not None and ins[1].dtype == ins[0].dtype
    if op_type == "Cast":
        probe = Fold.reference_for("Cast", params, [np.zeros(1, ins[0].dtype.numpy)], [()])[0]
        return probe.dtype == ins[0].dtype.numpy
    return False


def _add_consts(onode: onnx.NodeProto, vals: list[np.ndarray], tensors: dict[str, Tensor]) -> None:
    for oname, v in zip(onode.output, vals):
        if oname:
            arr = np.asarray(v)
            tensors[oname] = Tensor(oname, tuple(arr.shape), _np_dtype(arr.dtype, f"tensor {oname!r}"), arr)

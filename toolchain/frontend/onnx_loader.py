"""ONNX -> IR: load and check the file, bind symbolic dims, fold everything static.

Walking the nodes in order, a node whose inputs are all constant (or that only reads shapes,
like Shape) is evaluated with its numpy reference and becomes a constant; every other node
is parsed into its op family's typed params with static output shapes. What comes out is a
Graph whose runtime nodes all have kernels and whose every shape is known.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import onnx
from onnx import external_data_helper, numpy_helper

from toolchain.errors import ModelLoadError, ShapeError, UnsupportedOpError
from toolchain.frontend.rewrite import canonicalize
from toolchain.ir.graph import DType, Graph, Node, Tensor

from toolchain.frontend.onnx_nodes import (  # noqa: F401  (unique_names: the IR's origin names)
    bind_input, elem_dtype, import_node, np_dtype, unique_names,
)

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
    _load_external_data(model, p)
    return model


def _load_external_data(model: onnx.ModelProto, path: Path) -> None:
    """Read the weights an exporter put in side files, relative to the model file (never the
    working directory, where a file of the same name would silently become the weights), and
    refuse locations that leave the model's folder."""
    folder = path.resolve().parent
    for t in external_data_helper._get_all_tensors(model):
        if t.data_location != onnx.TensorProto.EXTERNAL:
            continue
        loc = next((e.value for e in t.external_data if e.key == "location"), "")
        target = (folder / loc).resolve()
        if not loc or Path(loc).is_absolute() or folder not in target.parents:
            raise ModelLoadError(f"{path}: tensor {t.name!r}: external data location {loc!r} "
                                 f"is outside the model's folder {folder}")
        if not target.is_file():
            raise ModelLoadError(f"{path}: tensor {t.name!r}: external data file {target} does not exist")
        try:
            external_data_helper.load_external_data_for_tensor(t, str(folder))
        except Exception as e:
            raise ModelLoadError(f"{path}: tensor {t.name!r}: cannot read its external data "
                                 f"({type(e).__name__}: {str(e)[:120]})") from None


def check_model(model: onnx.ModelProto, where: str) -> None:
    try:
        onnx.checker.check_model(model)
    except Exception as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ModelLoadError(f"{where}: invalid ONNX model: {first[:200]}") from None
    if not model.graph.output:
        raise ModelLoadError(f"{where}: the graph has no outputs")


# Element counts index C arrays with int32_t (and the boards have far less memory): any
# tensor beyond this is refused before anything is computed or allocated.
MAX_ELEMENTS = 2**31 - 1
_DIMS = re.compile(r"[1-9][0-9]{0,9}(?:[xX][1-9][0-9]{0,9})*")  # ASCII digits only: no 1_0, no full-width


def parse_input_shapes(specs: list[str] | tuple[str, ...] | None) -> dict[str, tuple[int, ...]]:
    """['input_1=1x32x32x3', ...] -> {'input_1': (1, 32, 32, 3)}."""
    out: dict[str, tuple[int, ...]] = {}
    for spec in specs or ():
        name, sep, dims = spec.rpartition("=")
        if not sep or not name or not _DIMS.fullmatch(dims):
            raise ShapeError(f"--input-shape {spec!r}: expected NAME=D0xD1x... with positive sizes "
                             f"in ASCII digits")
        if name in out:
            raise ShapeError(f"--input-shape names {name!r} twice")
        shape = tuple(int(d) for d in dims.lower().split("x"))
        if math.prod(shape) > MAX_ELEMENTS:
            raise ShapeError(f"--input-shape {spec!r}: {math.prod(shape):,} elements; at most {MAX_ELEMENTS:,}")
        out[name] = shape
    return out


def check_sizes(tensors: dict[str, Tensor], where: str) -> None:
    for t in tensors.values():
        if any(d < 0 for d in t.shape):  # (empty tensors are legal: a Slice to nothing)
            raise ShapeError(f"{where}: tensor {t.name!r} would have shape {t.shape}, with a negative dim "
                             f"(a window larger than its padded input?)")
        if t.size > MAX_ELEMENTS:
            raise ShapeError(f"{where}: tensor {t.name!r} of shape {t.shape} has {t.size:,} elements; "
                             f"at most {MAX_ELEMENTS:,} (2^31 - 1) fit the generated C")


def _check_text(model: onnx.ModelProto, where: str) -> None:
    """protobuf hands out bytes for a string field that is not valid UTF-8: refuse the model
    here, before a name reaches a format string or the generated C."""
    g = model.graph
    fields = [("graph name", g.name)]
    for i, n in enumerate(g.node):
        fields += [(f"node #{i} name", n.name), (f"node #{i} op_type", n.op_type), (f"node #{i} domain", n.domain)]
        fields += [(f"node #{i} input", s) for s in n.input] + [(f"node #{i} output", s) for s in n.output]
    for kind, seq in (("initializer", g.initializer), ("input", g.input), ("output", g.output),
                      ("value_info", g.value_info)):
        fields += [(kind, x.name) for x in seq]
    for what, v in fields:
        if not isinstance(v, str):
            raise ModelLoadError(f"{where}: {what} is not valid UTF-8 text")


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
    _check_text(model, where)
    check_model(model, where)
    model = canonicalize(model)
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    if not MIN_OPSET <= opset <= MAX_OPSET:
        raise UnsupportedOpError(f"{where}: opset {opset} is outside the supported range {MIN_OPSET}..{MAX_OPSET}")
    from toolchain.frontend.quant import import_quantized, is_quantized

    if is_quantized(model):  # int8 (QDQ or QOperator): frontend/quant.py
        return import_quantized(model, opset, input_shapes, where)
    g = model.graph
    given = dict(input_shapes or {})
    tensors: dict[str, Tensor] = {}
    for init in g.initializer:
        if init.data_location == onnx.TensorProto.EXTERNAL:  # read_model resolves these against the file
            raise ModelLoadError(f"{where}: initializer {init.name!r} is in external data; load the model "
                                 f"from its file so the data is found next to it")
        if math.prod(init.dims) > MAX_ELEMENTS:
            raise ShapeError(f"{where}: initializer {init.name!r} of shape {tuple(init.dims)} is too large")
        try:
            arr = numpy_helper.to_array(init)
        except Exception as e:  # raw_data of the wrong length, an external file missing, ...
            raise ModelLoadError(f"{where}: initializer {init.name!r} cannot be read: {e}") from None
        tensors[init.name] = Tensor(init.name, tuple(arr.shape), np_dtype(arr.dtype, f"initializer {init.name!r}"), arr)
    inputs = []
    for vi in g.input:
        if vi.name in tensors:
            continue  # an initializer listed as input (old exporters): a constant
        shape = bind_input(vi, given.pop(vi.name, None))
        dt = elem_dtype(vi.type.tensor_type.elem_type, f"input {vi.name!r}")
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

    check_sizes(tensors, where)
    nodes: list[Node] = []
    for onode, name in zip(g.node, unique_names(list(g.node))):
        if onode.domain not in ("", "ai.onnx"):
            raise UnsupportedOpError(f"node {name!r}: op {onode.domain}.{onode.op_type} is not supported "
                                     f"(only the default ONNX domain)")
        shape_in = tensors.get(onode.input[0]) if onode.op_type == "ConstantOfShape" and onode.input else None
        if shape_in is not None and shape_in.is_const:  # sizes before work: never allocate it to find out
            n = math.prod(int(v) for v in np.asarray(shape_in.data).reshape(-1))
            if n > MAX_ELEMENTS:
                raise ShapeError(f"node {name!r} (ConstantOfShape) makes {n:,} elements; at most {MAX_ELEMENTS:,}")
        try:
            import_node(onode, name, opset, tensors, nodes)
        except MemoryError:
            raise ShapeError(f"node {name!r} ({onode.op_type}): its output does not fit in this machine's "
                             f"memory, let alone a microcontroller's") from None
        except (ModelLoadError, UnsupportedOpError, ShapeError):
            raise
        except (ValueError, IndexError, KeyError, TypeError, ZeroDivisionError, OverflowError,
                AssertionError) as e:
            # the op's attribute and shape rules met a combination onnx's checker lets through
            # (strides 0, pads of the wrong length, a kernel larger than its input, ...)
            raise ShapeError(f"node {name!r} ({onode.op_type}): invalid attributes or input shapes for this op "
                             f"({type(e).__name__}: {str(e)[:200]})") from None
        check_sizes({o: tensors[o] for o in onode.output if o in tensors}, f"node {name!r} ({onode.op_type})")
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



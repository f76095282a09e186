"""Quantised ONNX -> int8 IR: QDQ (tf2onnx from int8 TFLite, onnxruntime's quantize_static)
and QOperator (QLinearConv, QLinearMatMul, com.microsoft QLinearAdd/AveragePool/...).

Walking the nodes in order, a DequantizeLinear of a runtime int8 tensor is not computed: its
float output is remembered as a *view* of the int8 tensor. A float op reading views is then
folded, with what follows it up to the QuantizeLinear (bias Add, Relu/Clip), into one
integer op whose requantisation constants are derived here, at compile time
(toolchain.ops.requant). Movement ops (Transpose, Reshape...) run on the int8 bytes.

uint8 tensors become int8 with values and zero point shifted by -128 (exact); a uint8 model
input or output keeps its type in the generated API, converted at the boundary.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from toolchain.errors import ModelLoadError, ShapeError, UnsupportedOpError
from toolchain.frontend.onnx_nodes import bind_input as _bind_input, elem_dtype as _elem_dtype, import_node as _import_node
from toolchain.frontend.onnx_nodes import node_attrs as _attrs, np_dtype as _np_dtype, unique_names as _unique_names
from toolchain.frontend import quant_vit
from toolchain.frontend.onnx_nodes import MAX_ELEMENTS, check_sizes
from toolchain.ir.graph import DType, Graph, Node, QuantInfo, Tensor
from toolchain.ops import REGISTRY
from toolchain.ops.base import norm_axis
from toolchain.ops.conv import Window, parse_window
from toolchain.ops.qboundary import BoundaryParams
from toolchain.ops.qconv import QConvParams, QFcParams, fold_bias
from toolchain.ops.qelementwise import QConcatParams, identity_or_rescale, qadd_params
from toolchain.ops.qpool import QPoolParams
from toolchain.ops.qsoftmax import qsoftmax_params
from toolchain.ops.qtransformer import row_of
from toolchain.ops.requant import Requant, act_range

QLINEAR = ("QLinearConv", "QLinearMatMul", "QLinearAdd", "QLinearAveragePool", "QLinearGlobalAveragePool",
           "QLinearSoftmax", "QLinearConcat", "QGemm")
MOVEMENT = ("Transpose", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Gather")
REGION_OPS = ("Conv", "MatMul", "Gemm", "Add", "AveragePool", "GlobalAveragePool", "MaxPool", "Softmax",
              "Concat") + MOVEMENT + quant_vit.OPS
MS_DOMAIN = "com.microsoft"


def is_quantized(model: onnx.ModelProto) -> bool:
    """True when the model computes on integer tensors (QDQ on activations, or QOperator)."""
    consts = {i.name for i in model.graph.initializer}
    consts |= {o for n in model.graph.node if n.op_type == "Constant" for o in n.output}
    for vi in model.graph.input:
        if vi.name not in consts and vi.type.tensor_type.elem_type in (onnx.TensorProto.INT8, onnx.TensorProto.UINT8):
            return True
    for n in model.graph.node:
        if n.op_type in QLINEAR:
            return True
        if n.op_type in ("QuantizeLinear", "DequantizeLinear") and n.input[0] not in consts:
            return True
    return False


def _same(a: QuantInfo, b: QuantInfo) -> bool:
    return a.zero_point == b.zero_point and np.allclose(a.scale, b.scale, rtol=1e-6, atol=0)


class _Importer:
    def __init__(self, model: onnx.ModelProto, opset: int, where: str) -> None:

        self.model, self.opset, self.where = model, opset, where
        self.tensors: dict[str, Tensor] = {}
        self.nodes: list[Node] = []
        self.fview: dict[str, str] = {}  # float name (a DQ output) -> the int8 tensor it reads
        self.cq: dict[str, Tensor] = {}  # DQ of a constant -> the integer constant with its quant
        self.alias: dict[str, str] = {}  # ONNX name -> IR name where they differ
        self.onodes = list(model.graph.node)
        self.names = _unique_names(self.onodes)
        self.done: set[int] = set()
        self.outputs = {o.name for o in model.graph.output}
        self.users: dict[str, list[int]] = {}
        self.producer = {o: i for i, n in enumerate(self.onodes) for o in n.output if o}
        for i, n in enumerate(self.onodes):
            for x in n.input:
                if x:
                    self.users.setdefault(x, []).append(i)

    # ------------------------------------------------------------ helpers

    def err(self, i: int, msg: str) -> UnsupportedOpError:
        return UnsupportedOpError(f"{self.onodes[i].op_type} node {self.names[i]!r}: {msg}")

    def ir(self, name: str) -> str:
        return self.alias.get(name, name)

    def const(self, name: str) -> np.ndarray | None:
        t = self.tensors.get(self.ir(name)) if name else None
        return None if t is None or t.data is None else t.data

    def qinfo(self, i: int, scale: str, zp: str | None, axis: int | None = None,
              data_dtype: np.dtype | None = None) -> QuantInfo:
        """QuantInfo from scale / zero-point inputs, uint8 shifted to int8."""
        s = self.const(scale)
        z = self.const(zp) if zp else None
        if s is None or (zp and z is None):
            raise self.err(i, "scale and zero point must be constants")
        s = np.asarray(s, np.float64).reshape(-1)
        n = self.onodes[i]
        attrs = {a.name: a.i for a in n.attribute if a.type == onnx.AttributeProto.INT}
        if attrs.get("block_size", 0):
            raise self.err(i, "blocked quantisation (block_size) is not supported")
        if z is None and attrs.get("output_dtype", 0) and data_dtype is None:  # opset 21 Q without zero point
            data_dtype = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(attrs["output_dtype"]))
        zdt = np.dtype(z.dtype) if z is not None else (data_dtype or np.dtype(np.uint8))
        if zdt not in (np.dtype(np.int8), np.dtype(np.uint8), np.dtype(np.int32)):
            raise self.err(i, f"{zdt} quantisation is not supported (int8 and uint8 only; int4/int16 are not)")
        z = np.zeros(s.shape, np.int64) if z is None else np.asarray(z, np.int64).reshape(-1)
        if zdt == np.uint8:
            z = z - 128
        if s.size == 1 and z.size == 1:
            return QuantInfo.per_tensor(float(s[0]), int(z[0]))
        return QuantInfo(tuple(float(v) for v in s), tuple(int(v) for v in np.broadcast_to(z, s.shape)),
                         axis)

    def new(self, name: str, shape: tuple[int, ...], dtype: DType, quant: QuantInfo | None = None,
            data: np.ndarray | None = None) -> str:
        base, k = name, 0
        while name in self.tensors:
            k += 1
            name = f"{base}.{k}"
        self.tensors[name] = Tensor(name, tuple(int(d) for d in shape), dtype, data, quant)
        return name

    def zp_dtype(self, ins: list[str], k: int) -> np.dtype:
        z = self.const(ins[k]) if k < len(ins) else None
        return np.dtype(np.uint8) if z is None else np.dtype(z.dtype)

    def int_const(self, name: str, what: str, i: int) -> Tensor:
        t = self.cq.get(name)
        if t is None:
            raise self.err(i, f"{what} {name!r} must be a DequantizeLinear of an integer constant "
                              "(float weights in an int8 model are not supported)")
        return t

    # ------------------------------------------------------------ walk

    def run(self, input_shapes: dict[str, tuple[int, ...]] | None) -> Graph:

        g = self.model.graph
        given = dict(input_shapes or {})
        for init in g.initializer:  # the float frontend's checks on hostile files, here too
            if math.prod(init.dims) > MAX_ELEMENTS:
                raise ShapeError(f"{self.where}: initializer {init.name!r} of shape {tuple(init.dims)} is too large")
            try:
                arr = numpy_helper.to_array(init)
            except Exception as e:  # raw_data of the wrong length, an external file missing, ...
                raise ModelLoadError(f"{self.where}: initializer {init.name!r} cannot be read: {e}") from None
            try:
                dt = _np_dtype(arr.dtype, init.name)
            except UnsupportedOpError:
                users = self.users.get(init.name, [])
                kind = onnx.TensorProto.DataType.Name(init.data_type).lower()
                where = self.err(users[0], "") if users else UnsupportedOpError("")
                raise UnsupportedOpError(f"{str(where).rstrip(': ')}: reads {kind} constant {init.name!r}; "
                                         f"{kind} quantisation is not supported (int8 and uint8 only)") from None
            self.tensors[init.name] = Tensor(init.name, tuple(arr.shape), dt, arr)
        inputs, head = [], []
        for vi in g.input:
            if vi.name in self.tensors:
                continue
            shape = _bind_input(vi, given.pop(vi.name, None))
            dt = _elem_dtype(vi.type.tensor_type.elem_type, f"input {vi.name!r}")
            if dt not in (DType.FLOAT32, DType.INT8, DType.UINT8):
                raise UnsupportedOpError(f"input {vi.name!r} is {dt.value}; int8 models take float32, int8 or uint8")
            self.tensors[vi.name] = Tensor(vi.name, shape, dt)
            inputs.append(vi.name)
            if dt != DType.FLOAT32:
                self.tensors[vi.name].quant = self.input_quant(vi.name)
            if dt == DType.UINT8:  # the API takes uint8; the graph computes on the int8 shift
                inner = self.new(f"{vi.name}.s8", shape, DType.INT8)
                self.alias[vi.name] = inner
                head.append(Node(f"{vi.name}.from_u8", "MfFromU8", [vi.name], [inner],
                                 BoundaryParams("MfFromU8"), [vi.name]))
        if given:
            raise ModelLoadError(f"--input-shape names {sorted(given)} that are not model inputs")
        self.nodes.extend(head)
        check_sizes(self.tensors, self.where)
        for i in range(len(self.onodes)):
            if i not in self.done:
                self.node(i)
        check_sizes(self.tensors, self.where)
        outs = []
        for o in g.output:
            name = self.ir(o.name)
            if name not in self.tensors:
                raise ModelLoadError(f"{self.where}: graph output {o.name!r} is never produced")
            t = self.tensors[name]
            want = _elem_dtype(o.type.tensor_type.elem_type, f"output {o.name!r}")
            if want == DType.UINT8 and t.dtype == DType.INT8:
                out = self.new(f"{o.name}.u8", t.shape, DType.UINT8)
                self.nodes.append(Node(f"{o.name}.to_u8", "MfToU8", [name], [out], BoundaryParams("MfToU8"), [o.name]))
                name = out
            elif t.dtype not in (DType.INT8, DType.FLOAT32) or t.is_const:
                raise UnsupportedOpError(f"graph output {o.name!r} ({t.dtype.value}) is not supported")
            outs.append(name)
        return Graph(g.name or Path(self.where).stem, self.tensors, self.nodes, inputs, outs, source=self.where)

    def input_quant(self, name: str) -> QuantInfo | None:
        """An int8 input's quantisation: that of the DequantizeLinear reading it, possibly
        through movement ops (tf2onnx transposes the NHWC input first)."""
        seen = 0
        while seen < 16:
            for j in self.users.get(name, []):
                n = self.onodes[j]
                if n.op_type == "DequantizeLinear":
                    return self.qinfo(j, n.input[1], n.input[2] if len(n.input) > 2 else None)
            movers = [j for j in self.users.get(name, []) if self.onodes[j].op_type in MOVEMENT]
            if not movers:
                return None
            name, seen = self.onodes[movers[0]].output[0], seen + 1
        return None

    def node(self, i: int) -> None:

        n = self.onodes[i]
        op = n.op_type
        if n.domain not in ("", "ai.onnx", MS_DOMAIN) or (n.domain == MS_DOMAIN and op not in QLINEAR):
            raise self.err(i, f"op {n.domain}.{op} is not supported")
        if op in QLINEAR:
            return self.qoperator(i)
        present = [x for x in n.input if x]
        all_const = all(self.const(x) is not None for x in present)
        if op == "DequantizeLinear":
            return self.dequantize(i, all_const)
        if op == "QuantizeLinear":
            return self.quantize(i) if not all_const else self.fold_quantize(i)
        if all_const or op in ("Constant", "Shape", "Size"):
            renamed = onnx.NodeProto()
            renamed.CopyFrom(n)
            del renamed.input[:]
            # Shape/Size of a DequantizeLinear output read the int8 tensor's shape
            renamed.input.extend(self.fview.get(x, self.ir(x)) if x else "" for x in n.input)
            return _import_node(renamed, self.names[i], self.opset, self.tensors, self.nodes)
        data = [x for x in n.input if x and self.const(x) is None]
        if op in MOVEMENT and data and self.ir(data[0]) in self.tensors and \
                self.tensors[self.ir(data[0])].dtype == DType.INT8:
            return self.movement(i, self.ir(n.input[0]), n.output[0])
        if op in REGION_OPS and any(x in self.fview for x in data):
            return self.region(i)
        if op in MOVEMENT and data and self.ir(data[0]) in self.tensors and \
                self.tensors[self.ir(data[0])].dtype == DType.FLOAT32:
            return self.quantize_then_move(i)
        raise self.err(i, "float op on runtime data in an int8 model: only DequantizeLinear -> op -> "
                          f"QuantizeLinear regions are supported (int8 ops: {', '.join(REGION_OPS)})")

    # ------------------------------------------------------------ Q / DQ

    def dequantize(self, i: int, all_const: bool) -> None:
        n = self.onodes[i]
        x = self.ir(n.input[0])
        axis = next((a.i for a in n.attribute if a.name == "axis"), 1)
        t = self.tensors[x]
        q = self.qinfo(i, n.input[1], n.input[2] if len(n.input) > 2 else None,
                       axis + len(t.shape) if axis < 0 else axis, t.dtype.numpy)
        if all_const:
            data = np.asarray(t.data)
            if data.dtype == np.uint8:
                data = (data.astype(np.int16) - 128).astype(np.int8)
            elif data.dtype not in (np.int8, np.int32):
                raise self.err(i, f"{data.dtype} constants are not supported (int8, uint8, int32)")
            if q.per_channel and len(q.scale) != data.shape[q.axis]:
                raise self.err(i, "per-channel scales do not match the tensor")
            self.cq[n.output[0]] = Tensor(x, data.shape, DType.from_numpy(data.dtype), data, q)
            real = (data.astype(np.float64) - _bcast(q.zero_point, q, data.ndim)) * _bcast(q.scale, q, data.ndim)
            self.tensors[n.output[0]] = Tensor(n.output[0], data.shape, DType.FLOAT32, real.astype(np.float32))
            return
        if q.per_channel:
            raise self.err(i, "per-channel quantisation of activations is not supported")
        if t.dtype not in (DType.INT8,):
            raise self.err(i, f"dequantises a runtime {t.dtype.value} tensor (int8/uint8 only)")
        if t.quant is None:
            t.quant = q  # an int8 model input: its quantisation is what its first reader says
        elif not _same(t.quant, q):
            raise self.err(i, f"dequantises {n.input[0]!r} with scale/zero point {q.s:.6g}/{q.zp} but it was "
                              f"quantised with {t.quant.s:.6g}/{t.quant.zp}")
        self.fview[n.output[0]] = x
        if n.output[0] in self.outputs:
            self.nodes.append(Node(self.names[i], "MfDequantize", [x], [self.new(n.output[0], t.shape, DType.FLOAT32)],
                                   BoundaryParams("MfDequantize", q.s, q.zp), [self.names[i]]))

    def fold_quantize(self, i: int) -> None:
        """QuantizeLinear of a constant (a float weight quantised in the graph): its integers."""
        n = self.onodes[i]
        x = np.asarray(self.const(n.input[0]), np.float64)
        s = np.asarray(self.const(n.input[1]), np.float64)
        z = self.const(n.input[2]) if len(n.input) > 2 and n.input[2] else np.array(0, np.uint8)
        axis = next((a.i for a in n.attribute if a.name == "axis"), 1)
        if s.size > 1:
            shape = [1] * x.ndim
            shape[axis % x.ndim] = -1
            s, zb = s.reshape(shape), np.asarray(z, np.float64).reshape(shape)
        else:
            zb = np.asarray(z, np.float64)
        info = np.iinfo(np.asarray(z).dtype)
        q = np.clip(np.round(x / s) + zb, info.min, info.max).astype(np.asarray(z).dtype)
        self.tensors[n.output[0]] = Tensor(n.output[0], q.shape, DType.from_numpy(q.dtype), q)

    def quantize(self, i: int) -> None:
        n = self.onodes[i]
        f = n.input[0]
        zp = n.input[2] if len(n.input) > 2 else None
        q = self.qinfo(i, n.input[1], zp)
        if q.per_channel:
            raise self.err(i, "per-channel quantisation of activations is not supported")
        if f in self.fview:  # DQ -> Q: a requantisation
            src = self.tensors[self.fview[f]]
            if _same(src.quant, q) and n.output[0] not in self.outputs:
                self.alias[n.output[0]] = src.name
                return
            out = self.new(n.output[0], src.shape, DType.INT8, q)
            self.nodes.append(Node(self.names[i], "QConcat", [src.name], [out],
                                   QConcatParams(0, (src.quant.zp,), (identity_or_rescale(src.quant, q),)),
                                   [self.names[i]]))
            return
        t = self.tensors[self.ir(f)]
        if t.dtype != DType.FLOAT32:
            raise self.err(i, f"quantises a {t.dtype.value} tensor")
        out = self.new(n.output[0], t.shape, DType.INT8, q)
        self.nodes.append(Node(self.names[i], "MfQuantize", [t.name], [out], BoundaryParams("MfQuantize", q.s, q.zp),
                               [self.names[i]]))

    def quantize_then_move(self, i: int) -> None:
        """A float movement op (the layout Transpose at a float input) whose result is only
        quantised: quantise first, move the int8 bytes (exact: both are element-wise maps)."""
        n = self.onodes[i]
        users = self.users.get(n.output[0], [])
        if len(users) != 1 or self.onodes[users[0]].op_type != "QuantizeLinear" or n.output[0] in self.outputs:
            raise self.err(i, "float movement op on runtime data whose result is not only quantised")
        j = users[0]
        qn = self.onodes[j]
        q = self.qinfo(j, qn.input[1], qn.input[2] if len(qn.input) > 2 else None)
        t = self.tensors[self.ir(n.input[0])]
        mid = self.new(f"{t.name}.q", t.shape, DType.INT8, q)
        self.nodes.append(Node(self.names[j], "MfQuantize", [t.name], [mid], BoundaryParams("MfQuantize", q.s, q.zp),
                               [self.names[j]]))
        self.movement(i, mid, qn.output[0], q, [self.names[i], self.names[j]])
        self.done.add(j)

    # ------------------------------------------------------------ int8 movement

    def movement(self, i: int, x: str, out_name: str, quant: QuantInfo | None = None, origin: list[str] | None = None) -> str:

        n = self.onodes[i]
        op = REGISTRY.get(n.op_type)
        ins = [self.tensors[x]] + [self.tensors[self.ir(k)] if k else None for k in n.input[1:]]
        params = op.parse(_attrs(n, self.names[i]), ins, self.opset)
        data = [t for k, t in enumerate(ins) if t is not None and k not in op.config_inputs]
        spec = op.infer(params, data)[0]
        src = self.tensors[x]
        q = quant or src.quant
        if q is None:
            raise self.err(i, f"int8 tensor {x!r} has no quantisation (no DequantizeLinear reads it)")
        out = self.new(out_name, spec.shape, DType.INT8, q)
        if src.quant is None:
            src.quant = q
        self.nodes.append(Node(self.names[i], n.op_type, [x], [out], params, origin or [self.names[i]]))
        return out

    # ------------------------------------------------------------ DQ -> op -> Q regions

    def follow(self, i: int, allow_bias: bool) -> tuple[int, str, float | None, float | None, str | None]:
        """From node i's output to the QuantizeLinear that ends the region: (its index, act
        kind, clip lo, clip hi, a constant bias added on the way). Marks the nodes used."""
        name = self.onodes[i].output[0]
        act, lo, hi, bias = "none", None, None, None
        while True:
            users = self.users.get(name, [])
            if name in self.outputs or len(users) != 1:
                raise self.err(i, "its float result must flow into exactly one QuantizeLinear "
                                  "(through an optional bias Add and Relu/Clip)")
            j = users[0]
            c = self.onodes[j]
            if c.op_type == "QuantizeLinear":
                self.done.add(j)
                return j, act, lo, hi, bias
            other = [x for x in c.input if x and x != name]
            for x in other:
                self.ensure_const(x)
            if allow_bias and act == "none" and c.op_type == "Add" and len(other) == 1 and self.const(other[0]) is not None:
                bias, allow_bias = other[0], False
            elif c.op_type == "Relu" and act == "none":
                act = "relu"
            elif c.op_type == "Clip" and act == "none":
                act = "clip"
                if self.opset >= 11:
                    lo = float(self.const(c.input[1])) if len(c.input) > 1 and c.input[1] else None
                    hi = float(self.const(c.input[2])) if len(c.input) > 2 and c.input[2] else None
                else:
                    at = {a.name: a.f for a in c.attribute}
                    lo, hi = at.get("min"), at.get("max")
            else:
                raise self.err(i, f"its result goes to {c.op_type} node {self.names[j]!r}, not to a "
                                  "QuantizeLinear (only a bias Add and Relu/Clip may come between)")
            self.done.add(j)
            name = c.output[0]

    def ensure_const(self, name: str) -> None:
        """Fold a constant that a later node computes (a bias DQ placed after its MatMul)."""
        if self.const(name) is not None:
            return
        j = self.producer.get(name)
        if j is not None and j not in self.done and all(self.const(x) is not None for x in self.onodes[j].input if x):
            self.done.add(j)
            self.node(j)

    def region(self, i: int) -> None:

        n = self.onodes[i]
        op = n.op_type
        if quant_vit.table_region(self, i):  # element-wise float ops of one int8 tensor: a table
            return
        qi, act, lo, hi, bias = self.follow(i, allow_bias=op == "MatMul")
        qn = self.onodes[qi]
        out_q = self.qinfo(qi, qn.input[1], qn.input[2] if len(qn.input) > 2 else None)
        out_name = qn.output[0]
        amin, amax = act_range(act, out_q.s, out_q.zp, lo, hi)
        origin = [self.names[i], self.names[qi]]
        attrs = _attrs(n, self.names[i])
        if op in MOVEMENT:
            if any(self.const(x) is None for x in n.input[1:] if x):
                raise self.err(i, "int8 movement ops need constant indices/shapes")
            x = self.fview[n.input[0]]
            if act != "none" or not _same(self.tensors[x].quant, out_q):
                raise self.err(i, "a movement op between differently quantised tensors is not supported")
            self.movement(i, x, out_name, out_q, origin)
            return
        data = [self.fview.get(x) for x in n.input if x and self.const(x) is None]
        if any(d is None for d in data):
            raise self.err(i, "mixes int8 and float runtime inputs")
        xq = self.tensors[data[0]].quant
        if quant_vit.handles(self, i, data):  # the transformer ops (issue 15)
            quant_vit.region(self, i, data, out_name, out_q, act, amin, amax, origin, attrs)
        elif op == "Conv":
            w = self.int_const(n.input[1], "weight", i)
            b = self.int_const(n.input[2], "bias", i) if len(n.input) > 2 and n.input[2] else None
            win = parse_window(attrs, self.tensors[data[0]].shape, tuple(w.shape[2:]))
            self.conv(i, data[0], w, b, win, attrs.int("group", 1), out_name, out_q, amin, amax, origin)
        elif op in ("MatMul", "Gemm"):
            w = self.int_const(n.input[1], "weight", i)
            if w.data.ndim != 2:
                raise self.err(i, "only 2-D constant weights (a fully connected layer) are supported")
            trans_b = op == "Gemm" and attrs.int("transB", 0)
            if op == "Gemm" and (attrs.int("transA", 0) or attrs.float("alpha", 1.0) != 1.0 or
                                 attrs.float("beta", 1.0) != 1.0):
                raise self.err(i, "Gemm with transA, alpha or beta != 1 is not supported in int8")
            if op == "Gemm" and len(n.input) > 2 and n.input[2]:
                bias = n.input[2]
            b = None
            if bias is not None:
                b = self.cq.get(bias) or Tensor(bias, self.const(bias).shape, DType.FLOAT32, self.const(bias))
            self.fc(i, data[0], w, bool(trans_b), b, out_name, out_q, amin, amax, origin)
        elif op == "Add":
            if len(data) == 1:  # + a quantised constant (onnxruntime's QDQ MatMul bias), broadcast here
                other = next(x for x in n.input if x and self.const(x) is not None)
                c = self.int_const(other, "constant operand", i)
                shape = self.tensors[data[0]].shape
                if c.dtype != DType.INT8 or c.quant.per_channel or not _broadcasts_to(c.shape, shape):
                    raise self.err(i, "int8 Add of a constant needs a per-tensor int8 constant that broadcasts "
                                      "to the runtime input")
                row = row_of(c.shape, shape)
                if row:  # a bias row: kept one row long in flash (issue 15)
                    r = self.new(f"{other}.s8", (row,), DType.INT8, c.quant, np.ascontiguousarray(c.data.reshape(-1)))
                    p = qadd_params(xq, c.quant, out_q, amin, amax)
                    self.emit(i, "QAddRow", [data[0], r], out_name, shape, out_q, p, origin)
                    return
                data = data + [self.new(f"{other}.s8", shape, DType.INT8, c.quant,
                                        np.ascontiguousarray(np.broadcast_to(c.data, shape)))]
            if len(data) != 2 or self.tensors[data[0]].shape != self.tensors[data[1]].shape:
                raise self.err(i, "int8 Add needs two runtime inputs of the same shape (no broadcasting)")
            p = qadd_params(xq, self.tensors[data[1]].quant, out_q, amin, amax)
            self.emit(i, "QAdd", data, out_name, self.tensors[data[0]].shape, out_q, p, origin)
        elif op in ("AveragePool", "GlobalAveragePool", "MaxPool"):
            self.pool(i, data[0], attrs, out_name, out_q, amin, amax, origin)
        elif op == "Softmax":
            shape = self.tensors[data[0]].shape
            axis = norm_axis(attrs.int("axis", -1 if self.opset >= 13 else 1), len(shape), attrs)
            if axis != len(shape) - 1:
                raise self.err(i, "int8 Softmax only over the last axis")
            if act != "none":
                raise self.err(i, "an activation after an int8 Softmax is not supported")
            p = qsoftmax_params(xq, out_q, shape[-1])
            self.emit(i, "QSoftmax", data, out_name, shape, out_q, p, origin)
        elif op == "Concat":
            # a constant input (ViT's class token) takes part as an int8 constant
            data = [self.fview[x] if x in self.fview else self.const_s8(i, x) for x in n.input if x]
            shapes = [self.tensors[d].shape for d in data]
            axis = norm_axis(attrs.int("axis"), len(shapes[0]), attrs)
            out_shape = list(shapes[0])
            out_shape[axis] = sum(s[axis] for s in shapes)
            p = QConcatParams(axis, tuple(self.tensors[d].quant.zp for d in data),
                              tuple(Requant.from_scales(self.tensors[d].quant.s / out_q.s, out_q.zp, amin, amax)
                                    for d in data))
            self.emit(i, "QConcat", data, out_name, tuple(out_shape), out_q, p, origin)
        else:
            raise self.err(i, "this form of the op (its runtime and constant inputs) has no int8 kernel")

    def const_s8(self, i: int, name: str) -> str:
        """A DequantizeLinear of an int8 constant, as an int8 constant tensor with its quant."""
        c = self.int_const(name, "constant input", i)
        if c.dtype != DType.INT8 or c.quant.per_channel:
            raise self.err(i, f"constant input {name!r} must be a per-tensor int8 DequantizeLinear")
        return self.new(f"{name}.s8", c.shape, DType.INT8, c.quant, np.ascontiguousarray(c.data))

    def emit(self, i: int, op_type: str, ins: list[str], out_name: str, shape: tuple[int, ...],
             q: QuantInfo, params: object, origin: list[str]) -> str:
        out = self.new(out_name, shape, DType.INT8, q)
        self.nodes.append(Node(self.names[i], op_type, list(ins), [out], params, origin))
        return out

    # ------------------------------------------------------------ builders (QDQ and QOperator)

    def weights(self, i: int, w: Tensor, channels: int, axis: int) -> np.ndarray:
        """Per output channel scales of symmetric int8 weights (errors name the node)."""
        if w.dtype != DType.INT8:
            raise self.err(i, f"{w.dtype.value} weights are not supported (int8 or uint8)")
        q = w.quant
        if any(z != 0 for z in q.zero_point):
            raise self.err(i, "asymmetric weights (non-zero weight zero point) are not supported")
        if q.per_channel and q.axis != axis:
            raise self.err(i, f"per-channel weight scales along axis {q.axis} are not supported "
                              f"(output channels are axis {axis})")
        return np.broadcast_to(np.asarray(q.scale, np.float64), (channels,))

    def bias_int(self, i: int, b: Tensor | None, acc_scale: np.ndarray) -> np.ndarray | None:
        """The bias at the accumulator's scale in_s * w_s[oc] (re-rounded if it was another)."""
        if b is None:
            return None
        data = np.asarray(b.data, np.float64).reshape(-1)
        if b.quant is not None:
            data = (data - np.asarray(b.quant.zero_point)) * np.asarray(b.quant.scale)
        q = np.round(data / acc_scale)
        if np.any(np.abs(q) >= 2**31):
            raise self.err(i, "bias does not fit int32 at the accumulator scale")
        return q.astype(np.int64)

    def conv(self, i: int, x: str, w: Tensor, b: Tensor | None, win: Window, group: int, out_name: str,
             out_q: QuantInfo, amin: int, amax: int, origin: list[str]) -> None:
        xq = self.tensors[x].quant
        co = w.shape[0]
        ws = self.weights(i, w, co, 0)
        acc_scale = xq.s * ws
        bias = fold_bias(self.bias_int(i, b, acc_scale), w.data, xq.zp)
        rq = Requant.from_scales(acc_scale / out_q.s, out_q.zp, amin, amax)
        wname = self.new(f"{w.name}.s8", w.shape, DType.INT8, w.quant, np.ascontiguousarray(w.data))
        bname = self.new(f"{self.names[i]}.bias_s32", (co,), DType.INT32,
                         QuantInfo(tuple(float(s) for s in acc_scale), (0,) * co, 0), bias)
        xs = self.tensors[x].shape
        oh, ow = win.out_size(*(xs[2:] if len(xs) == 4 else (1, xs[2])))
        shape = (xs[0], co, oh, ow) if len(xs) == 4 else (xs[0], co, ow)
        self.emit(i, "QConv", [x, wname, bname], out_name, shape, out_q, QConvParams(win, group, xq.zp, rq), origin)

    def fc(self, i: int, a: str, w: Tensor, trans_b: bool, b: Tensor | None, out_name: str, out_q: QuantInfo,
           amin: int, amax: int, origin: list[str]) -> None:
        xq = self.tensors[a].quant
        wmat = w.data if trans_b else w.data.T  # [n][k]
        n = wmat.shape[0]
        ws = self.weights(i, w, n, 0 if trans_b else 1)
        if self.tensors[a].shape[-1] != wmat.shape[1]:
            raise self.err(i, f"input {self.tensors[a].shape} does not match weights {w.shape}")
        acc_scale = xq.s * ws
        bias = fold_bias(self.bias_int(i, b, acc_scale), wmat, xq.zp)
        rq = Requant.from_scales(acc_scale / out_q.s, out_q.zp, amin, amax)
        wq = QuantInfo(w.quant.scale, w.quant.zero_point, 0 if w.quant.per_channel else None)
        wname = self.new(f"{w.name}.s8", wmat.shape, DType.INT8, wq, np.ascontiguousarray(wmat))
        bname = self.new(f"{self.names[i]}.bias_s32", (n,), DType.INT32,
                         QuantInfo(tuple(float(s) for s in acc_scale), (0,) * n, 0), bias)
        shape = tuple(self.tensors[a].shape[:-1]) + (n,)
        self.emit(i, "QFc", [a, wname, bname], out_name, shape, out_q, QFcParams(rq), origin)

    def pool(self, i: int, x: str, attrs, out_name: str, out_q: QuantInfo, amin: int, amax: int,
             origin: list[str], kind: str | None = None) -> None:
        kind = kind or self.onodes[i].op_type.replace("QLinear", "")
        xs = self.tensors[x].shape
        xq = self.tensors[x].quant
        if len(xs) not in (3, 4):
            raise self.err(i, f"rank-{len(xs)} pooling is not supported")
        if kind == "GlobalAveragePool":
            hw_ = (xs[2], xs[3]) if len(xs) == 4 else (1, xs[2])
            win = Window(hw_, (1, 1), (1, 1), (0, 0, 0, 0), len(xs) - 2)
        else:
            win = parse_window(attrs, xs, None)
            if attrs.int("ceil_mode", 0) and win.out_size(*win_hw(xs), True) != win.out_size(*win_hw(xs)):
                raise self.err(i, "ceil_mode windows are not supported in int8")
            if win.dilations != (1, 1):
                raise self.err(i, "dilated pooling is not supported in int8")
            if kind == "AveragePool" and any(win.pads) and not attrs.int("count_include_pad", 0):
                raise self.err(i, "int8 AveragePool over padding needs count_include_pad=1")
        is_max = kind == "MaxPool"
        real = xq.s / out_q.s / (1 if is_max else win.kernel[0] * win.kernel[1])
        p = QPoolParams(win, is_max, xq.zp, Requant.from_scales(real, out_q.zp, amin, amax))
        oh, ow = win.out_size(*win_hw(xs))
        shape = (xs[0], xs[1], oh, ow) if len(xs) == 4 else (xs[0], xs[1], ow)
        self.emit(i, "QMaxPool" if is_max else "QAveragePool", [x], out_name, shape, out_q, p, origin)

    # ------------------------------------------------------------ QOperator

    def qoperator(self, i: int) -> None:

        n = self.onodes[i]
        op, ins = n.op_type, list(n.input)
        attrs = _attrs(n, self.names[i])
        origin = [self.names[i]]

        def act_in(k: int) -> tuple[str, QuantInfo]:
            x = self.ir(ins[k])
            t = self.tensors[x]
            q = self.qinfo(i, ins[k + 1], ins[k + 2] if ins[k + 2] else None, data_dtype=t.dtype.numpy)
            if t.quant is None:
                t.quant = q
            elif not _same(t.quant, q):
                raise self.err(i, f"reads {ins[k]!r} with a quantisation other than its producer's")
            return x, q

        def wconst(k: int, axis: int) -> Tensor:
            data = self.const(ins[k])
            if data is None:
                raise self.err(i, "weights must be constant")
            q = self.qinfo(i, ins[k + 1], ins[k + 2] if ins[k + 2] else None, axis, data.dtype)
            if data.dtype == np.uint8:
                data = (data.astype(np.int16) - 128).astype(np.int8)
            return Tensor(self.ir(ins[k]), data.shape, DType.from_numpy(data.dtype), data, q)

        if op == "QLinearConv":
            x, xq = act_in(0)
            w = wconst(3, 0)
            out_q = self.qinfo(i, ins[6], ins[7] if len(ins) > 7 and ins[7] else None,
                               data_dtype=self.zp_dtype(ins, 2))
            b = None
            if len(ins) > 8 and ins[8]:
                bd = self.const(ins[8])
                b = Tensor(ins[8], bd.shape, DType.FLOAT32,
                           (bd.astype(np.float64) * xq.s * np.broadcast_to(np.asarray(w.quant.scale), bd.shape)))
            win = parse_window(attrs, self.tensors[x].shape, tuple(w.shape[2:]))
            self.conv(i, x, w, b, win, attrs.int("group", 1), n.output[0], out_q, -128, 127, origin)
        elif op == "QLinearMatMul":
            a, _ = act_in(0)
            w = wconst(3, 1)
            out_q = self.qinfo(i, ins[6], ins[7], data_dtype=self.zp_dtype(ins, 7))
            self.fc(i, a, w, False, None, n.output[0], out_q, -128, 127, origin)
        elif op == "QLinearAdd":
            a, aq = act_in(0)
            b, bq = act_in(3)
            out_q = self.qinfo(i, ins[6], ins[7] if len(ins) > 7 and ins[7] else None,
                               data_dtype=self.zp_dtype(ins, 2))
            if self.tensors[a].shape != self.tensors[b].shape:
                raise self.err(i, "int8 Add needs two inputs of the same shape (no broadcasting)")
            self.emit(i, "QAdd", [a, b], n.output[0], self.tensors[a].shape, out_q,
                      qadd_params(aq, bq, out_q, -128, 127), origin)
        elif op in ("QLinearAveragePool", "QLinearGlobalAveragePool"):
            x, _ = act_in(0)
            out_q = self.qinfo(i, ins[3], ins[4] if len(ins) > 4 and ins[4] else None,
                               data_dtype=self.zp_dtype(ins, 2))
            if attrs.int("channels_last", 0):
                raise self.err(i, "channels_last pooling is not supported")
            self.pool(i, x, attrs, n.output[0], out_q, -128, 127, origin, op.replace("QLinear", ""))
        elif op == "QLinearSoftmax":
            x, xq = act_in(0)
            out_q = self.qinfo(i, ins[3], ins[4] if len(ins) > 4 and ins[4] else None,
                               data_dtype=self.zp_dtype(ins, 2))
            shape = self.tensors[x].shape
            if norm_axis(attrs.int("axis", -1), len(shape), attrs) != len(shape) - 1:
                raise self.err(i, "int8 Softmax only over the last axis")
            self.emit(i, "QSoftmax", [x], n.output[0], shape, out_q, qsoftmax_params(xq, out_q, shape[-1]), origin)
        elif op == "QLinearConcat":
            out_q = self.qinfo(i, ins[0], ins[1])
            xs = [act_in(k)[0] for k in range(2, len(ins), 3)]
            shapes = [self.tensors[x].shape for x in xs]
            axis = norm_axis(attrs.int("axis"), len(shapes[0]), attrs)
            out_shape = list(shapes[0])
            out_shape[axis] = sum(s[axis] for s in shapes)
            p = QConcatParams(axis, tuple(self.tensors[x].quant.zp for x in xs),
                              tuple(identity_or_rescale(self.tensors[x].quant, out_q) for x in xs))
            self.emit(i, "QConcat", xs, n.output[0], tuple(out_shape), out_q, p, origin)
        else:
            raise self.err(i, "is not supported")


def _broadcasts_to(small: tuple[int, ...], shape: tuple[int, ...]) -> bool:
    try:
        return np.broadcast_shapes(small, shape) == tuple(shape)
    except ValueError:
        return False


def win_hw(xs: tuple[int, ...]) -> tuple[int, int]:
    return (xs[2], xs[3]) if len(xs) == 4 else (1, xs[2])


def _bcast(vals: tuple, q: QuantInfo, ndim: int) -> np.ndarray:
    v = np.asarray(vals, np.float64)
    if not q.per_channel:
        return v.reshape(())
    shape = [1] * ndim
    shape[q.axis] = -1
    return v.reshape(shape)


def import_quantized(model: onnx.ModelProto, opset: int, input_shapes: dict[str, tuple[int, ...]] | None,
                     where: str) -> Graph:
    return _Importer(model, opset, where).run(input_shapes)

"""stream_input: Graph -> Graph that makes the model's first op read its image by rows
(ops/stream.py StreamIn), for the generated mf_model_run_rows. Runs after the other passes,
on the graph that is planned: the first op is then the integrated PatchEmbed, or a Conv /
int8 QConv, possibly behind the NHWC -> NCHW Transpose that tf2onnx files start with."""

from __future__ import annotations

from toolchain.errors import UnsupportedOpError
from toolchain.ir.graph import DType, Graph, Node
from toolchain.ops.stream import BAND_DTYPES, STREAM_OPS, StreamParams
from toolchain.passes.fold import _copy


class StreamError(UnsupportedOpError):
    """The model's input cannot be streamed by rows (a user choice: --stream-input)."""


def stream_input(g: Graph) -> Graph:
    if len(g.inputs) != 1:
        raise StreamError(f"--stream-input needs a model with one input; this one has {len(g.inputs)}")
    x = g.tensors[g.inputs[0]]
    if x.dtype not in BAND_DTYPES:
        raise StreamError(f"--stream-input: input {x.name!r} is {x.dtype.name.lower()}; rows can be streamed "
                          f"into float32, int8 or uint8 inputs")
    if x.name in g.outputs:
        raise StreamError(f"--stream-input: input {x.name!r} is also a model output, so it must exist whole")
    users = g.consumers()
    first = users.get(x.name, [])
    nhwc = from_u8 = to_f16 = False
    chain: list[Node] = []
    # an FP16 build: the cast of the float image to FP16 (MfCast) moves into the band
    if (len(first) == 1 and first[0].op_type == "MfCast" and first[0].params.to == DType.FLOAT16
            and first[0].outputs[0] not in g.outputs and len(users.get(first[0].outputs[0], [])) == 1):
        chain, to_f16 = [first[0]], True
        first = users[first[0].outputs[0]]
    # a uint8 image: its shift to int8 (MfFromU8, exact) moves into the band
    if (len(first) == 1 and first[0].op_type == "MfFromU8" and first[0].outputs[0] not in g.outputs
            and len(users.get(first[0].outputs[0], [])) == 1):
        chain, from_u8 = [first[0]], True
        first = users[first[0].outputs[0]]
    if (len(first) == 1 and _to_nchw(g, first[0])
            and len(users.get(first[0].outputs[0], [])) == 1 and first[0].outputs[0] not in g.outputs):
        chain, nhwc = chain + [first[0]], True
        first = users[first[0].outputs[0]]
    why = _why_not(g, first)
    if why:
        raise StreamError(f"--stream-input: {why}")
    node = first[0]
    chain.append(node)
    if len(x.shape) != 4 or x.shape[0] != 1:
        raise StreamError(f"--stream-input needs a 1 x C x H x W (or 1 x H x W x C) image input; "
                          f"{x.name!r} is {'x'.join(map(str, x.shape))}")
    _, c, h, w = g.tensors[node.inputs[0]].shape
    p = node.params
    if node.op_type == "PatchEmbed":
        band_h, stride, pad_top, pad, steps = p.patch[0], p.patch[0], 0, 0, p.grid[0]
    else:
        win = p.win
        band_h = (win.kernel[0] - 1) * win.dilations[0] + 1
        stride, pad_top = win.strides[0], win.pads[0]
        pad = p.in_zp if node.op_type == "QConv" else 0
        steps = g.tensors[node.outputs[0]].shape[2]
    sp = StreamParams(node.op_type, p, (c, h, w), nhwc, band_h, stride, pad_top, pad, steps, from_u8, to_f16)
    new = Node(f"{node.name}/stream", "StreamIn", [x.name] + node.inputs[1:], list(node.outputs), sp,
               [o for n in chain for o in n.origin])
    tensors = dict(g.tensors)
    for m in chain[:-1]:  # the shift and the layout Transpose now happen in the band
        del tensors[m.outputs[0]]
    # the band loop runs first: nothing else reads the image, so moving it up is safe
    rest = [n for n in g.nodes if all(n is not m for m in chain)]
    return _copy(g, [new] + rest, tensors)


def _to_nchw(g: Graph, n: Node) -> bool:
    """n takes an NHWC image to NCHW: tf2onnx's Transpose, or (one channel, DS-CNN) a Reshape
    from 1 x H x W x 1 to 1 x 1 x H x W, the same bytes."""
    if n.op_type == "Transpose":
        return n.params.perm == (0, 3, 1, 2)
    x, y = g.tensors[n.inputs[0]].shape, g.tensors[n.outputs[0]].shape
    return (n.op_type in ("Reshape", "Flatten", "Squeeze", "Unsqueeze") and len(x) == len(y) == 4
            and x[0] == 1 and x[3] == 1 and y == (1, 1, x[1], x[2]))


def _why_not(g: Graph, first: list[Node]) -> str:
    """Why these readers of the image cannot take it by rows ('' if they can)."""
    if len(first) != 1:
        return f"the input is read by {len(first)} nodes; streaming needs exactly one reader"
    n = first[0]
    if n.op_type not in STREAM_OPS:
        hint = "; add --int-input to take the quantised image instead" if n.op_type == "MfQuantize" else ""
        return (f"the input's first op is {n.op_type} ({n.name!r}); rows can only feed a patch embedding "
                f"or a 2-D Conv{hint}")
    if n.op_type == "PatchEmbed":
        return ""
    p = n.params
    if p.win.spatial_rank != 2:
        return f"the first Conv {n.name!r} is 1-D"
    if getattr(p, "residual", False) or (n.op_type == "Conv" and len(n.inputs) > 3):
        return f"the first Conv {n.name!r} also adds a skip tensor"
    if n.op_type == "Conv" and g.tensors[n.inputs[0]].dtype not in (DType.FLOAT32, DType.FLOAT16):
        return f"the first Conv {n.name!r} is not float"
    return ""


def integer_input(g: Graph) -> Graph:
    """--int-input: a float image whose only reader is the model's QuantizeLinear (MfQuantize)
    becomes an int8 input with that quantisation, so the caller passes the quantised image
    (a camera's pixels, once mapped to q = round(x / scale) + zero_point) and no float input
    buffer exists. The input keeps its name; a uint8 or int8 input is already taken as is."""
    from toolchain.ir.graph import Tensor

    for name in g.inputs:
        x = g.tensors[name]
        readers = g.consumers().get(name, [])
        if x.dtype != DType.FLOAT32:
            continue
        if len(readers) != 1 or readers[0].op_type != "MfQuantize":
            what = ", ".join(sorted({n.op_type for n in readers})) or "nothing"
            raise StreamError(f"--int-input: float input {name!r} is read by {what}, not by one QuantizeLinear; "
                              f"only a quantised model's image can be passed as integers")
        q = readers[0]
        if q.outputs[0] in g.outputs:
            raise StreamError(f"--int-input: the quantised input {q.outputs[0]!r} is also a model output")
        inner = g.tensors[q.outputs[0]]
        tensors = dict(g.tensors)
        tensors[name] = Tensor(name, x.shape, inner.dtype, quant=inner.quant)
        del tensors[inner.name]
        nodes = [Node(n.name, n.op_type, [name if i == inner.name else i for i in n.inputs], list(n.outputs),
                     n.params, list(n.origin)) for n in g.nodes if n is not q]
        g = _copy(g, nodes, tensors)
    return g

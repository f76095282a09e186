"""MCUFormer's operator integration for transformers: Graph -> Graph rewrites that build the
integrated ops of toolchain/ops/transformer.py from exporters' op-by-op graphs.

- fuse_patch_embed: Conv(kernel = stride) -> any movement ops giving token-major rows (index map)
  [-> Concat(cls) and Add(pos), in either order]
- views_to_reshapes: movement ops that keep element order become free Reshapes (passes/views.py)
- fuse_attention: softmax(scale Q K^T [+ bias]) V by meaning, over any views (passes/attention.py)
- gemm_as_linear, sink_views: per-token ops in one form, views moved after them (passes/tokens.py)
- merge_shared_linears: linears on one input that feed only attentions' q/k/v (Hugging Face's
  and Keras's separate q, k, v) become one concatenated linear read at column offsets
  (passes/qkv.py), so the LayerNorm before them runs once
- duplicate_layernorm: a LayerNorm read by several per-token linears is recomputed in each of
  them (2 x D operations per token) so its N x D output never exists
- fuse_token_chains: maximal chains of per-token LayerNorm / linear / activation, plus the
  residual Add that ends a transformer sub-block
Each rewrites only when every intermediate has one reader and is not a graph output.
"""

from __future__ import annotations

import numpy as np

from toolchain.ir.graph import DType, Graph, Node, Tensor
from toolchain.ops.elementwise import UnaryParams
from toolchain.ops.transformer import MAX_STEPS, PatchEmbedParams, Step, TokenChainParams
from toolchain.passes.attention import fuse_attention
from toolchain.passes.qkv import merge_shared_linears
from toolchain.passes.tokens import gemm_as_linear, sink_views
from toolchain.passes.views import forward, views_to_reshapes
from toolchain.passes.fold import _const, _copy, _fresh
from toolchain.passes.patterns import _Matcher, _other, _rewrite


def _replace(g: Graph, remove: list[Node], new: Node, tensors: dict[str, Tensor]) -> Graph:
    return _rewrite(g, remove, remove[-1], new, tensors)


# ---------------------------------------------------------------- patch embedding


def fuse_patch_embed(g: Graph) -> Graph:
    while True:
        m = _Matcher(g)
        for conv in g.nodes:
            hit = _match_patch_embed(g, m, conv) if conv.op_type == "Conv" else None
            if hit is not None:
                g = hit
                break
        else:
            return g


def _match_patch_embed(g: Graph, m: _Matcher, conv: Node) -> Graph | None:
    p = conv.params
    win = p.win
    if (win.spatial_rank != 2 or p.group != 1 or p.act.kind != "NONE" or win.kernel != win.strides
            or any(win.pads) or win.dilations != (1, 1) or g.tensors[conv.inputs[1]].data is None):
        return None
    n, c, h, w = g.tensors[conv.inputs[0]].shape
    _, d, hp, wp = g.tensors[conv.outputs[0]].shape
    if h != hp * win.kernel[0] or w != wp * win.kernel[1]:
        return None  # rows or columns the conv would drop
    if n != 1:
        return None  # mf_patch_embed_desc has no batch: one image per call
    # The token-major (1, hp * wp, d) tensor, whatever movement ops make it from the conv's
    # (1, d, hp, wp): flatten + transpose, permute to NHWC + reshape, ...
    want = np.arange(d * hp * wp).reshape(d, hp * wp).T.reshape(-1)
    tokens = [c for c in forward(g, conv.outputs[0], m.users)
              if g.tensors[c[0]].shape == (n, hp * wp, d) and np.array_equal(c[1].reshape(-1), want)]
    if not tokens:
        return None
    out, _, moves = tokens[-1]
    chain = [conv, *moves]
    tensors = dict(g.tensors)
    ins = [conv.inputs[0], conv.inputs[1], conv.inputs[2] if len(conv.inputs) > 2 else "", "", ""]
    has_cls, pos = False, None
    for _ in range(2):  # class token and position embedding, in either order
        cat = m.only_user(out, "Concat")
        if (not has_cls and cat is not None and cat.params.axis == 1 and len(cat.inputs) == 2
                and cat.inputs[1] == out):
            cls_t = g.tensors[cat.inputs[0]]
            if cls_t.data is not None and cls_t.shape == (n, 1, d):
                ins[3] = _const(tensors, f"{cat.name}/cls", cls_t.data[0].reshape(d).astype(np.float32))
                has_cls, out = True, cat.outputs[0]
                chain.append(cat)
                if pos is not None:  # added before the class token joined: none on its row
                    pos = np.concatenate([np.zeros((1, d), np.float32), pos])
                continue
        add = m.only_user(out, "Add")
        if pos is None and add is not None and add.params.act.kind == "NONE":
            p_t = g.tensors[_other(add, out)]
            rows = hp * wp + int(has_cls)
            if p_t.data is not None and p_t.size == rows * d and g.tensors[add.outputs[0]].shape == (n, rows, d):
                pos, out = p_t.data.reshape(rows, d).astype(np.float32), add.outputs[0]
                chain.append(add)
                continue
        break
    if pos is not None:
        ins[4] = _const(tensors, f"{conv.name}/pos", pos)
    while ins and not ins[-1]:
        ins.pop()
    node = Node(f"{conv.name}/patch_embed", "PatchEmbed", ins, [out],
                PatchEmbedParams(win.kernel, d, (hp, wp), has_cls), [o for x in chain for o in x.origin])
    return _replace(g, chain, node, tensors)


# ---------------------------------------------------------------- per-token chains


def _linear_step(g: Graph, n: Node) -> Step | None:
    """A MatMul by a constant 2-D matrix (plus a constant bias along the last dim)."""
    if n.op_type != "MatMul" or not n.params.matmul or n.params.alpha != 1.0:
        return None
    w = g.tensors[n.inputs[1]]
    x = g.tensors[n.inputs[0]]
    if w.data is None or len(w.shape) != 2 or len(x.shape) < 2 or x.data is not None:
        return None
    b = n.inputs[2] if len(n.inputs) > 2 else ""
    if b and (g.tensors[b].data is None or g.tensors[b].size != w.shape[1] or n.params.beta != 1.0):
        return None
    return Step("LINEAR", w.shape[0], w.shape[1], w=n.inputs[1], b=b, act=n.params.act)


def _step(g: Graph, n: Node) -> Step | None:
    if n.op_type == "LayerNormalization":
        x = g.tensors[n.inputs[0]]
        if n.params.axis != len(x.shape) - 1 or len([o for o in n.outputs if o]) != 1:
            return None
        ins = (n.inputs + ["", ""])[:3]
        if any(i and g.tensors[i].data is None for i in ins[1:]):
            return None
        return Step("LAYERNORM", x.shape[-1], x.shape[-1], gamma=ins[1], beta=ins[2], eps=n.params.eps)
    if isinstance(n.params, UnaryParams):
        w = g.tensors[n.inputs[0]].shape[-1]
        return Step("ACT", w, w, act=n.params.act)
    return _linear_step(g, n)


def duplicate_layernorm(g: Graph) -> Graph:
    """A LayerNorm whose readers are all per-token linears: one private copy per reader."""
    tensors = dict(g.tensors)
    nodes: list[Node] = []
    users = g.consumers()
    private: dict[int, str] = {}  # reader node id -> its own copy of the LayerNorm output
    for n in g.nodes:
        if id(n) in private:
            n = Node(n.name, n.op_type, [private[id(n)]] + n.inputs[1:], list(n.outputs), n.params, list(n.origin))
        readers = users.get(n.outputs[0], []) if n.op_type == "LayerNormalization" else []
        # up to three readers (an attention's q, k, v) get private copies; more (an attention
        # in pieces of heads, passes/heads.py: 3 x pieces linears) share one output: copies
        # would cost 2D per token each, and there the N x D buffer costs no arena (x, which
        # the copies would keep live through every piece, takes the pieces' sum in place)
        if (len(readers) < 2 or len(readers) > 3 or n.outputs[0] in g.outputs or _step(g, n) is None
                or not all(_linear_step(g, r) is not None and r.inputs[0] == n.outputs[0] for r in readers)):
            nodes.append(n)
            continue
        for k, r in enumerate(readers):
            name = _fresh(tensors, f"{n.outputs[0]}#{k}")
            tensors[name] = Tensor(name, tensors[n.outputs[0]].shape, DType.FLOAT32)
            nodes.append(Node(f"{n.name}#{k}", n.op_type, list(n.inputs), [name], n.params, list(n.origin)))
            private[id(r)] = name
        del tensors[n.outputs[0]]
    return _copy(g, nodes, tensors)


def fuse_token_chains(g: Graph) -> Graph:
    m = _Matcher(g)
    taken: set[int] = set()
    chains: list[tuple[list[Node], list[Step], str]] = []
    for n in g.nodes:
        if id(n) in taken or _step(g, n) is None:
            continue
        nodes, steps = [n], [_step(g, n)]
        while len(steps) < MAX_STEPS:
            users = m.users.get(nodes[-1].outputs[0], [])
            if len(users) != 1 or nodes[-1].outputs[0] in g.outputs:
                break
            st = _step(g, users[0])
            if st is None or users[0].inputs[0] != nodes[-1].outputs[0] or st.in_w != steps[-1].out_w:
                break
            nodes.append(users[0])
            steps.append(st)
        residual = ""
        add = m.only_user(nodes[-1].outputs[0], "Add")
        if add is not None and add.params.act.kind == "NONE" and id(add) not in taken:
            other = _other(add, nodes[-1].outputs[0])
            # an Add of two chains' outputs (head-by-head projections) ends only one of them
            if (g.tensors[other].data is None and g.tensors[other].shape == g.tensors[add.outputs[0]].shape
                    == g.tensors[nodes[-1].outputs[0]].shape):
                residual = other
                nodes.append(add)
        if len(nodes) == 1 and steps[0].kind != "LINEAR":
            continue  # a lone LayerNorm or activation gains nothing
        taken.update(id(x) for x in nodes)
        chains.append((nodes, steps, residual))
    tensors = dict(g.tensors)
    for nodes, steps, residual in chains:
        consts = [c for s in steps for c in (s.w, s.b, s.gamma, s.beta) if c]
        ins = [nodes[0].inputs[0], residual] + consts
        node = Node(f"{nodes[0].name}/chain", "TokenChain", ins, [nodes[-1].outputs[0]],
                    TokenChainParams(tuple(steps), bool(residual)), [o for x in nodes for o in x.origin])
        g = _rewrite(g, nodes, nodes[-1], node, tensors)
        tensors = dict(g.tensors)
    return g


INTEGRATIONS = (views_to_reshapes, fuse_patch_embed, fuse_attention, gemm_as_linear, sink_views, merge_shared_linears,
                duplicate_layernorm, fuse_token_chains)

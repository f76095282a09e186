"""Einsum: written out as Transpose / Reshape / MatMul, equal to numpy's einsum; what it does
not support ends in one line."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from toolchain.errors import UnsupportedOpError
from toolchain.frontend import import_model
from toolchain.interp import run_graph
from toolchain.passes import optimize
from toolchain.verify import verify

CASES = [
    ("abc,cde->abde", (1, 6, 8), (8, 2, 4)),  # Keras EinsumDense (query projection)
    ("aecd,abcd->acbe", (1, 5, 2, 4), (1, 7, 2, 4)),  # Keras attention scores (key, query)
    ("acbe,aecd->abcd", (1, 2, 7, 5), (1, 5, 2, 4)),  # Keras attention context
    ("abcd,cde->abe", (1, 7, 2, 4), (2, 4, 8)),  # Keras output projection
    ("bnhd,bmhd->bhnm", (2, 5, 3, 4), (2, 6, 3, 4)),  # torch, batch 2
    ("ij,jk", (3, 4), (4, 5)),  # implicit output
    ("abc->cab", (2, 3, 4), None),
]


def _model(eq: str, sa: tuple[int, ...], sb: tuple[int, ...] | None, const_b: bool) -> onnx.ModelProto:
    rng = np.random.default_rng(0)
    ins = [helper.make_tensor_value_info("a", TensorProto.FLOAT, sa)]
    inits, names = [], ["a"]
    if sb is not None:
        names.append("b")
        if const_b:
            inits.append(helper.make_tensor("b", TensorProto.FLOAT, sb, rng.standard_normal(sb).astype(np.float32)))
        else:
            ins.append(helper.make_tensor_value_info("b", TensorProto.FLOAT, sb))
    node = helper.make_node("Einsum", names, ["y"], equation=eq, name="e")
    try:
        shape = np.einsum(eq, *[np.zeros(x) for x in (sa, sb) if x is not None]).shape
    except ValueError:  # numpy refuses it too: any shape, the import must refuse first
        shape = (1,)
    out = helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)
    return helper.make_model(helper.make_graph([node], "g", ins, [out], inits), opset_imports=[helper.make_opsetid("", 13)])


@pytest.mark.parametrize("const_b", [False, True])
@pytest.mark.parametrize("eq,sa,sb", CASES, ids=[c[0] for c in CASES])
def test_einsum_lowered_equals_numpy(eq, sa, sb, const_b, tmp_path) -> None:
    if sb is None and const_b:
        pytest.skip("one operand")
    m = _model(eq, sa, sb, const_b)
    g = optimize(import_model(m))
    assert all(n.op_type != "Einsum" for n in g.nodes)
    rng = np.random.default_rng(1)
    xs = [rng.standard_normal(sa).astype(np.float32)] + ([rng.standard_normal(sb).astype(np.float32)]
                                                          if sb is not None and not const_b else [])
    consts = [onnx.numpy_helper.to_array(i) for i in m.graph.initializer]
    want = np.einsum(eq, *(xs + consts))
    np.testing.assert_allclose(run_graph(g, xs)[0].reshape(want.shape), want, rtol=1e-5, atol=1e-5)
    path = tmp_path / "e.onnx"
    onnx.save(m, path)
    assert verify(path).match  # the generated C, host build, against onnxruntime


@pytest.mark.parametrize("eq,why", [("...ij,...jk->...ik", "ellipsis"), ("ii,ij->j", "repeated"),
                                    ("ab,bc->", "summing")])
def test_unsupported_einsum_is_one_clear_error(eq, why) -> None:
    with pytest.raises(UnsupportedOpError, match=why):
        import_model(_model(eq, (3, 3), (3, 4), False))

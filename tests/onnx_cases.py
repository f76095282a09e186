"""The ONNX package's own operator test cases, as (name, model, inputs, expected outputs).

`collect_testcases(op_type)` generates the node tests in memory (the wheel does not ship
data/node/); the pytorch-operator and pytorch-converted cases ship as files under
onnx/backend/test/data/. Integer inputs and inputs that are weights or configuration in a
deployable model (a Conv's W, a Reshape's shape, a BatchNorm's statistics) are bound as
initializers, as an exporter would write them; everything else stays a runtime input.
"""

from __future__ import annotations

import glob
import os
import warnings
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import numpy_helper

from toolchain.ops import REGISTRY


@dataclass
class Case:
    name: str
    model: onnx.ModelProto
    inputs: list[np.ndarray]  # runtime inputs, in graph order
    shapes: dict[str, tuple[int, ...]]  # their shapes, bound as a user would with --input-shape
    outputs: list[np.ndarray]
    rtol: float
    atol: float


def _bind_constants(model: onnx.ModelProto, values: list[np.ndarray]) -> tuple[onnx.ModelProto, list[np.ndarray]]:
    m = onnx.ModelProto()
    m.CopyFrom(model)
    g = m.graph
    inits = {i.name for i in g.initializer}
    graph_inputs = [vi for vi in g.input if vi.name not in inits]
    bind: set[str] = set()
    for node in g.node:
        op = REGISTRY.get(node.op_type)
        if op is None:
            continue
        for k, name in enumerate(node.input):
            if k in op.config_inputs or k in op.weight_inputs:
                bind.add(name)
    runtime, shapes = [], {}
    for vi, v in zip(graph_inputs, values):
        v = np.asarray(v)
        if vi.name in bind or v.dtype != np.float32:
            # Kept in graph.input too: IR version < 4 requires initializers to be listed there.
            g.initializer.append(numpy_helper.from_array(v, vi.name))
        else:
            runtime.append(v)
            shapes[vi.name] = tuple(v.shape)
    return m, runtime, shapes


def node_cases(op_types: list[str]) -> list[Case]:
    """Every node test case whose graph uses one of `op_types` (expanded function bodies too)."""
    from onnx.backend.test.case.node import collect_testcases

    # collect_testcases fills a module-level list on its first call only: take them all once.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = collect_testcases()
    wanted = set(op_types)
    out = []
    for c in cases:
        if not any(n.op_type in wanted for n in c.model.graph.node):
            continue
        if True:
            for k, (ins, outs) in enumerate(c.data_sets or []):
                m, runtime, shapes = _bind_constants(c.model, list(ins))
                name = c.name if k == 0 else f"{c.name}_{k}"
                out.append(Case(name, m, runtime, shapes, [np.asarray(o) for o in outs], c.rtol, c.atol))
    return out


def file_cases(kind: str) -> list[Case]:
    root = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", kind)
    out = []
    for d in sorted(glob.glob(os.path.join(root, "test_*"))):
        model = onnx.load(os.path.join(d, "model.onnx"))
        for ds in sorted(glob.glob(os.path.join(d, "test_data_set_*"))):
            def load(prefix: str) -> list[np.ndarray]:
                arrs = []
                for f in sorted(glob.glob(os.path.join(ds, f"{prefix}_*.pb")), key=lambda p: int(p.rsplit("_", 1)[1][:-3])):
                    t = onnx.TensorProto()
                    with open(f, "rb") as fh:
                        t.ParseFromString(fh.read())
                    arrs.append(numpy_helper.to_array(t))
                return arrs
            m, runtime, shapes = _bind_constants(model, load("input"))
            out.append(Case(f"{kind}/{os.path.basename(d)}", m, runtime, shapes, load("output"), 1e-3, 1e-7))
    return out

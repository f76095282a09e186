"""Every supported op through compile + host build, on the ONNX package's own test cases.

A case either matches the expected outputs (within the case's own rtol/atol, floored at
1e-4 / 1e-5 for float32 transcendental functions) or is listed in backend_skips.SKIPS with
the reason; a listed case that starts passing fails, so the list stays true.
"""

from __future__ import annotations

import numpy as np
import pytest

from backend_skips import SKIPS
from onnx_cases import Case, file_cases, node_cases
from toolchain.api import compile_model, write_sources
from toolchain.errors import McuforgeError
from toolchain.build.host import build_host, run_host
from toolchain.ops import REGISTRY

CASES = node_cases(REGISTRY.supported()) + file_cases("pytorch-operator") + file_cases("pytorch-converted")


def run_case(case: Case, tmp_path, runtime_lib) -> None:
    cm = compile_model(case.model, case.shapes)
    src = write_sources(cm, tmp_path)
    exe = build_host(src, len(cm.graph.inputs), runtime_lib=runtime_lib)
    got = run_host(exe, case.inputs, [cm.graph.tensors[o].size for o in cm.graph.outputs])
    assert len(got) == len(case.outputs)
    for y, want in zip(got, case.outputs):
        np.testing.assert_allclose(y.reshape(want.shape), want.astype(np.float32),
                                   rtol=max(case.rtol, 1e-4), atol=max(case.atol, 1e-5))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_backend_case(case: Case, tmp_path, runtime_lib) -> None:
    reason = SKIPS.get(case.name)
    if reason is None:
        run_case(case, tmp_path, runtime_lib)
        return
    try:
        run_case(case, tmp_path, runtime_lib)
    except (McuforgeError, AssertionError, ValueError):
        pytest.skip(reason)
    pytest.fail(f"{case.name} passes now: remove it from backend_skips.SKIPS")


def test_every_supported_op_has_passing_cases() -> None:
    passing_ops = set()
    for c in CASES:
        if c.name not in SKIPS and not c.name.startswith("pytorch"):
            passing_ops.update(n.op_type for n in c.model.graph.node)
    # Einsum: ONNX's own cases are float64, bfloat16 or reductions; tests/test_einsum.py covers it
    missing = [op for op in REGISTRY.supported() if op not in passing_ops and op not in ("Relu6", "Einsum")]
    assert not missing, f"supported ops with no passing ONNX test case: {missing}"

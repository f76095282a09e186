"""Real models (exported by tools no one here wrote) through compile + host build, against
onnxruntime: the plain -O2 build and an ASan/UBSan build."""

from __future__ import annotations

import pytest

from conftest import REAL_MODELS
from toolchain.verify import verify

NAMES = list(REAL_MODELS)


@pytest.mark.parametrize("name", NAMES)
def test_verify_matches_onnxruntime(name: str) -> None:
    r = verify(REAL_MODELS[name], seed=0)
    assert r.match, r.as_dict()
    assert r.max_abs_error <= 1e-4
    assert r.arena_bytes > 0 and r.macs > 0


@pytest.mark.parametrize("name", ["resnet8", "dscnn", "vit_opset13", "vit_opset18"])
def test_sanitized_build_runs_clean(name: str) -> None:
    # Any out-of-bounds arena access, misaligned load or UB in a kernel aborts the binary,
    # which run_host turns into a BuildError with the sanitizer's report.
    r = verify(REAL_MODELS[name], seed=1, sanitize=True)
    assert r.match


def test_unfused_and_fused_agree_on_every_model() -> None:
    from toolchain.api import CompileOptions

    for name in ("resnet8", "vit_opset13"):
        a = verify(REAL_MODELS[name], seed=2, options=CompileOptions(fuse=False, inplace=False))
        b = verify(REAL_MODELS[name], seed=2)
        assert a.match and b.match
        assert b.arena_bytes <= a.arena_bytes

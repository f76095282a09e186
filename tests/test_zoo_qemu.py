"""Issue 13: zoo ViTs with the integrated schedule run on stm32f746-disco in QEMU and match
onnxruntime (the fused attention reading a fused qkv tensor at offsets, three separate
projections, an additive mask, Keras's tf2onnx graph)."""

from __future__ import annotations

from pathlib import Path

import pytest

from toolchain.run import run_on_board

ZOO = Path(__file__).resolve().parent / "zoo"
pytestmark = pytest.mark.qemu


@pytest.mark.parametrize("name", ["timm_vit_legacy", "hf_vit_eager", "torch_mha_mask_legacy", "keras_mha_tf2onnx"])
def test_zoo_vit_on_stm32f746_matches_onnxruntime(name: str, tmp_path) -> None:
    r = run_on_board(ZOO / f"{name}.onnx", "stm32f746-disco", tmp_path)
    assert r.match and r.max_abs_error <= 1e-4, r.as_dict()
    assert r.arena_bytes <= 0.5 * 135_200  # the op-by-op bound of these 65-token, 4-head ViTs
    print(f"{name}: arena {r.arena_bytes:,} B, {r.instructions:,} instructions, {r.macs:,} MACs")

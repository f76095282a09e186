"""The dsp convolution's direct path for few input channels (issue 19: MobileNet's RGB stride-2
first layer, ResNet-8's 3->16) and the unrolled stride-2 im2col, on the host against the
reference conv: strides 1 and 2, Keras (0/1) and torch (1/1) padding, widths that leave a
shifted last tile, no bias, no activation, planes too narrow for a tile."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from toolchain.boards import load_board

KERNELS = Path(__file__).resolve().parent / "kernels"
sys.path.insert(0, str(KERNELS))
from harness import Case, run, sanitized, words  # noqa: E402

KERNEL_SET = {"mf_conv2d_f32_dsp", "mf_conv2d_f32_ref"}

# c_in c_out h w k s  pad top left bottom right  bias relu
CASES = [
    (3, 8, 96, 96, 3, 2, 0, 0, 1, 1, 1, 1),   # VWW's first layer (Keras "same")
    (3, 8, 13, 17, 3, 2, 1, 1, 1, 1, 1, 1),   # torch padding, odd sizes: shifted last tile
    (3, 16, 32, 32, 3, 1, 1, 1, 1, 1, 1, 1),  # ResNet-8's first layer
    (3, 8, 7, 12, 3, 1, 2, 2, 2, 2, 0, 0),    # padding wider than the window, no bias/act
    (5, 12, 9, 20, 3, 1, 0, 0, 0, 0, 1, 0),   # no padding (K = 45)
    (3, 8, 1, 20, 3, 1, 1, 1, 1, 1, 1, 1),    # one row: two kernel rows over the padding
    (2, 4, 9, 9, 3, 2, 1, 1, 1, 1, 0, 1),     # too narrow for a tile: clipped columns only
    (16, 8, 9, 11, 3, 2, 0, 0, 1, 1, 1, 1),   # many channels: im2col, unrolled stride-2 taps
    (16, 8, 9, 11, 3, 2, 1, 1, 1, 1, 1, 0),   # ... with the left padding through the window copy
]


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    # every case in one sanitized host build (tests/kernels/conv_direct.c)
    case = Case(KERNELS / "conv_direct.c", KERNEL_SET, {"cases": words(np.array(CASES, np.int32))},
                {"hw": 2 * len(CASES), "err": len(CASES)})
    return run(sanitized(load_board("host")), case, out_dir=tmp_path_factory.mktemp("conv_direct")).outputs


@pytest.mark.parametrize("i", range(len(CASES)), ids=["-".join(map(str, c)) for c in CASES])
def test_dsp_conv_matches_ref(results: dict[str, np.ndarray], i: int) -> None:
    case = CASES[i]
    oh, ow = results["hw"][2 * i:2 * i + 2]
    h, w, k, s = case[2], case[3], case[4], case[5]
    assert (int(oh), int(ow)) == ((h + case[6] + case[8] - k) // s + 1, (w + case[7] + case[9] - k) // s + 1)
    assert float(results["err"][i]) <= 1e-5

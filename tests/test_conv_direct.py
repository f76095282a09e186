"""The dsp convolution's direct path for few input channels (issue 19: MobileNet's RGB stride-2
first layer, ResNet-8's 3->16) and the unrolled stride-2 im2col, on the host against the
reference conv: strides 1 and 2, Keras (0/1) and torch (1/1) padding, widths that leave a
shifted last tile, no bias, no activation, planes too narrow for a tile."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from toolchain.codegen.emit import RUNTIME
from toolchain.build.host import SANITIZE, WARN

HARNESS = Path(__file__).resolve().parent / "kernels" / "conv_direct_host.c"
SOURCES = ["conv_f32_dsp.c", "conv_f32_ref.c", "conv_im2col_f32_ref.c", "gemm_f32_dsp.c", "depthwise_f32_dsp.c",
           "elementwise_f32_ref.c", "depthwise_ref.c", "conv_overwrite_f32_ref.c", "conv_overwrite_f16_ref.c",
           "conv_f16_ref.c", "conv_im2col_f16_ref.c"]

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
def harness(tmp_path_factory: pytest.TempPathFactory) -> Path:
    exe = tmp_path_factory.mktemp("conv_direct") / "conv_direct_host"
    srcs = [str(RUNTIME / "src" / f) for f in SOURCES]
    subprocess.run(["gcc", *WARN, *SANITIZE, "-O1", f"-I{RUNTIME / 'include'}", f"-I{RUNTIME / 'src'}", str(HARNESS),
                    *srcs, "-lm", "-o", str(exe)], check=True)
    return exe


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(map(str, c)))
def test_dsp_conv_matches_ref(harness: Path, case: tuple[int, ...]) -> None:
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
    r = subprocess.run([str(harness), *map(str, case)], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    oh, ow, err = r.stdout.split()
    h, w, k, s = case[2], case[3], case[4], case[5]
    assert (int(oh), int(ow)) == ((h + case[6] + case[8] - k) // s + 1, (w + case[7] + case[9] - k) // s + 1)
    assert float(err) <= 1e-5

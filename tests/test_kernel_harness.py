"""The one kernel-harness protocol (tests/kernels/harness.py, kh.h) on the host board: named
inputs reach the case bit for bit, named outputs come back in order, a case's status fails
the run, and the per-family case builders (GEMM/conv, transformer, int8, int8 ViT) run their
reference against the numpy contract through it."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from toolchain.boards import load_board

KERNELS = Path(__file__).resolve().parent / "kernels"
sys.path.insert(0, str(KERNELS))
from harness import Case, HarnessError, io_sources, run, words  # noqa: E402

ECHO = r"""
#include <string.h>
#include "kh.h"
/* out a = in a + 1 (as float), out b = the int32 words of in b, times KH_SCALE; status KH_ST */
int kh_run(void)
{
    for (int32_t i = 0; i < KH_IN_A_N; ++i) kh_out_a[i] = kh_in_a[i] + 1.0f;
    int32_t v[KH_IN_B_N];
    memcpy(v, kh_in_b, sizeof v);
    KH_MEASURE(for (int32_t i = 0; i < KH_IN_B_N; ++i) kh_out_b[i] = (float)(v[i] * KH_SCALE));
    return KH_ST;
}
"""


def test_io_sources_name_and_size_every_array() -> None:
    src = io_sources(Case(Path("x.c"), set(), {"a": np.zeros(3), "bb": np.zeros((2, 2))}, {"fast": 5, "ref": 5}))
    assert "#define MF_MODEL_NUM_INPUTS 2" in src["model.h"] and "#define MF_MODEL_NUM_OUTPUTS 2" in src["model.h"]
    assert "#define KH_IN_BB_N 4" in src["kh_io.h"] and "extern float kh_out_ref[5];" in src["kh_io.h"]
    assert "    if (i == 1) return kh_out_ref;" in src["kh_io.c"]
    with pytest.raises(ValueError):
        io_sources(Case(Path("x.c"), set(), {"not a name": np.zeros(1)}, {"fast": 1}))
    with pytest.raises(ValueError):
        io_sources(Case(Path("x.c"), set(), {"a": np.zeros(1)}, {"fast": 0}))


def test_named_inputs_and_outputs_round_trip_on_the_host(tmp_path: Path) -> None:
    src = tmp_path / "echo.c"
    src.write_text(ECHO)
    a = np.array([0.5, -2.0, 1e30, np.float32(1) / 3], np.float32)
    b = np.array([-7, 0, 2 ** 20, 123456], np.int32)
    io = ({"a": a, "b": words(b)}, {"a": 4, "b": 4})
    r = run(load_board("host"), Case(src, set(), *io, {"KH_SCALE": 3, "KH_ST": 0}),
            out_dir=tmp_path / "ok")
    assert list(r.outputs) == ["a", "b"]
    np.testing.assert_array_equal(r.outputs["a"], a + np.float32(1))
    np.testing.assert_array_equal(r.outputs["b"], (b * 3).astype(np.float32))
    with pytest.raises(HarnessError) as e:
        run(load_board("host"), Case(src, set(), *io, {"KH_SCALE": 1, "KH_ST": -101}),
            out_dir=tmp_path / "bad")
    assert e.value.status == -101


def test_family_cases_run_through_the_protocol_on_the_host(tmp_path: Path) -> None:
    # the reference twin of each family against itself or its numpy contract: the C side of
    # every ported harness builds and its outputs come back in the right order
    from kharness import Conv, run_kernel
    from s8harness import FcS8, run_s8
    from tharness import Softmax, run_transformer_kernel
    from vitharness import MatMulS8, run_vit_kernel

    host = load_board("host")
    k = run_kernel(host, Conv(3, 4, 6, 5), "f32", "ref", out_dir=tmp_path / "conv")
    assert k.fast.shape == (4 * 6 * 5,) and np.any(k.ref != 0)
    np.testing.assert_array_equal(k.fast, k.ref)
    t = run_transformer_kernel(host, Softmax(3, 7), "f32", "ref", out_dir=tmp_path / "softmax")
    np.testing.assert_allclose(t.ref.reshape(3, 7).sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(t.fast, t.ref)
    s = run_s8(host, FcS8(3, 5, 7), "ref", out_dir=tmp_path / "fc")
    np.testing.assert_array_equal(s.fast, s.want)
    np.testing.assert_array_equal(s.ref, s.want)
    v = run_vit_kernel(host, MatMulS8(2, 3, 5, 7), "ref", out_dir=tmp_path / "matmul")
    np.testing.assert_array_equal(v.fast, v.want)


def test_sanitized_host_build_catches_an_overrun(tmp_path: Path) -> None:
    # what the sanitizer harnesses rely on (conv_direct.c): a heap overrun ends the run
    from harness import sanitized
    from toolchain.sim.errors import SimError

    src = tmp_path / "overrun.c"
    src.write_text('#include <stdlib.h>\n#include "kh.h"\n'
                   "int kh_run(void)\n{\n    const int n = (int)kh_in_a[0];\n"
                   "    float *p = malloc(4 * sizeof(float));\n"
                   "    for (int i = 0; i < n; ++i) p[i] = (float)i;\n"
                   "    kh_out_a[0] = p[0];\n    free(p);\n    return 0;\n}\n")
    host = sanitized(load_board("host"))
    ok = run(host, Case(src, set(), {"a": np.array([4], np.float32)}, {"a": 1}), out_dir=tmp_path / "ok")
    assert ok.outputs["a"][0] == 0.0
    with pytest.raises(SimError, match="heap-buffer-overflow|insufficient space"):
        run(host, Case(src, set(), {"a": np.array([5], np.float32)}, {"a": 1}), out_dir=tmp_path / "overrun")

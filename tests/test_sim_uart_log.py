"""Parsing of the firmware's UART protocol back into float32 arrays."""

from __future__ import annotations

import numpy as np
import pytest

from toolchain.sim.errors import RunError
from toolchain.sim.uart_log import parse_uart_log

pytestmark = pytest.mark.host


def _words(values: np.ndarray) -> str:
    return " ".join(f"{int(w):08x}" for w in values.astype(np.float32).view(np.uint32))


def test_round_trip_is_bit_exact() -> None:
    a = np.array([1.0, -0.0, np.inf, np.nan, 1e-45, 3.4e38, -2.5, 0.1, 7.0], np.float32)
    b = np.array([42.0], np.float32)
    text = (f"boot banner\r\nMF_BEGIN 1 2 160\r\nMF_OUT 0 9\r\n{_words(a[:8])}\r\n"
            f"{_words(a[8:])}\r\nMF_OUT 1 1\n{_words(b)}\nMF_STACK 312\nMF_DONE 0\n")
    log = parse_uart_log(text)
    assert log.status == 0 and log.stack_bytes == 312 and log.arena_bytes == 160
    assert len(log.outputs) == 2
    np.testing.assert_array_equal(log.outputs[0].view(np.uint32), a.view(np.uint32))
    np.testing.assert_array_equal(log.outputs[1], b)


def test_missing_done_and_faults_are_kept() -> None:
    log = parse_uart_log("MF_BEGIN 1 1 16\n\nMF_FAULT cfsr=00008200 pc=08000084\n")
    assert log.status is None
    assert log.problems == ["MF_FAULT cfsr=00008200 pc=08000084"]


def test_unmeasured_stack_is_none() -> None:
    assert parse_uart_log("MF_STACK -1\nMF_DONE 0\n").stack_bytes is None


@pytest.mark.parametrize("text, message", [
    ("MF_OUT 0 3\n3f800000 3f800000\nMF_DONE 0\n", "announced 3 values, sent 2"),
    ("MF_OUT 0 1\nzzzzzzzz\nMF_DONE 0\n", "not a hex word"),
    ("MF_OUT 1 1\n3f800000\nMF_DONE 0\n", "out of order"),
])
def test_malformed_output_is_refused(text: str, message: str) -> None:
    with pytest.raises(RunError, match=message):
        parse_uart_log(text)

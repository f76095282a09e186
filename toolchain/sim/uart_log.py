"""Parses what the firmware main prints (templates/board/main.c.j2) back into numbers.

    MF_BEGIN <num_inputs> <num_outputs> <arena bytes>
    MF_OUT <index> <count>
    <float32 words, 8 hex digits each, up to 8 per line>
    MF_STACK <bytes>
    MF_DONE <status>

Anything else (boot banners, MF_ERROR/MF_FAULT lines) is kept for the error message.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from toolchain.sim.errors import RunError


@dataclass
class UartLog:
    outputs: list[np.ndarray] = field(default_factory=list)
    status: int | None = None          # None: MF_DONE never arrived
    stack_bytes: int | None = None     # None: not measured (host) or not printed
    arena_bytes: int | None = None
    problems: list[str] = field(default_factory=list)   # MF_ERROR / MF_FAULT lines


def parse_uart_log(text: str) -> UartLog:
    """Raises RunError on malformed output sections (wrong word count, bad hex)."""
    log = UartLog()
    words: list[str] = []
    expect: tuple[int, int] | None = None   # (index, count) of the output being read

    def close_output() -> None:
        nonlocal words, expect
        if expect is None:
            return
        index, count = expect
        if len(words) != count:
            raise RunError(f"output {index}: firmware announced {count} values, sent "
                           f"{len(words)}")
        try:
            bits = np.array([int(w, 16) for w in words], dtype=np.uint32)
        except ValueError as exc:
            raise RunError(f"output {index}: not a hex word in {words[:8]}") from exc
        if index != len(log.outputs):
            raise RunError(f"outputs out of order: got MF_OUT {index}, expected "
                           f"{len(log.outputs)}")
        log.outputs.append(bits.view(np.float32))
        words, expect = [], None

    for raw in text.splitlines():
        line = raw.strip().replace("\r", "")
        if not line:
            continue
        head, _, rest = line.partition(" ")
        if head.startswith("MF_"):
            close_output()
        if head == "MF_OUT":
            index, count = (int(v) for v in rest.split())
            expect = (index, count)
        elif head == "MF_DONE":
            log.status = int(rest)
        elif head == "MF_STACK":
            value = int(rest)
            log.stack_bytes = value if value >= 0 else None
        elif head == "MF_BEGIN":
            parts = rest.split()
            log.arena_bytes = int(parts[2]) if len(parts) > 2 else None
        elif head in ("MF_ERROR", "MF_FAULT"):
            log.problems.append(line)
        elif expect is not None:
            words.extend(line.split())
    close_output()
    return log

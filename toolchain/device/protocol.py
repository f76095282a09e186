"""Commands and replies of the device protocol, host side.

Field by field the mirror of runtime_c/board/mf_protocol.h (keep the two in step). Payloads
are ``[type u8][seq u8][body]``; integers little-endian.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

VERSION = 1
HEADER = 2
HASH_BYTES = 8


class Cmd(IntEnum):
    INFO = 0x01
    WRITE_INPUT = 0x02
    RUN = 0x03
    READ_OUTPUT = 0x04
    # extension range 0x10..0x3f: the training firmware answers these
    TRAIN_STEP = 0x10
    READ_WEIGHTS = 0x11
    WRITE_WEIGHTS = 0x12


RSP_OK = 0x80
RSP_BUSY = 0x7E
RSP_ERROR = 0x7F
EXT_FIRST, EXT_LAST = 0x10, 0x3F


class ErrorCode(IntEnum):
    LENGTH = 1
    COMMAND = 2
    INDEX = 3
    ORDER = 4
    INCOMPLETE = 5
    NO_OUTPUT = 6
    UNSUPPORTED = 7
    RANGE = 8


# errors that mean "the device lost the transfer's state" (it reset, or a chunk went
# missing): the host restarts the whole inference rather than give up
STATE_LOST = frozenset({ErrorCode.ORDER, ErrorCode.INCOMPLETE, ErrorCode.NO_OUTPUT})

DTYPES = {1: "float32", 2: "float16"}
DTYPE_BYTES = {"float32": 4, "float16": 2}


class Counter(IntEnum):
    NONE = 0
    CYCLES = 1     # core clock cycles (Cortex-M DWT CYCCNT)
    INSTRET = 2    # instructions retired (RISC-V minstret)


COUNTER_WORDS = {Counter.NONE: "none", Counter.CYCLES: "cycles", Counter.INSTRET: "instructions"}

FEATURE_TRAIN_STEP = 0x1
FEATURE_WEIGHTS = 0x2


@dataclass(frozen=True)
class DeviceInfo:
    version: int
    dtype: str
    arena_bytes: int
    max_payload: int
    features: int
    counter: Counter
    model_hash: bytes
    input_bytes: tuple[int, ...]
    output_bytes: tuple[int, ...]
    build_id: str

    @property
    def model_hash_hex(self) -> str:
        return self.model_hash.hex()


@dataclass(frozen=True)
class RunReply:
    status: int              # mf_model_run's return value (0 = ok)
    counter: Counter
    count: int               # counter ticks for the run (0 with Counter.NONE)
    stack_bytes: int | None  # high-water mark, None when not measured


_INFO_FIXED = struct.Struct("<BBBBIII B 8s")
_RUN = struct.Struct("<iB3xQi")


def request(cmd: int, seq: int, body: bytes = b"") -> bytes:
    return bytes([cmd & 0xFF, seq & 0xFF]) + body


def write_input_body(index: int, offset: int, data: bytes) -> bytes:
    return struct.pack("<BI", index, offset) + data


def read_output_body(index: int, offset: int, length: int) -> bytes:
    return struct.pack("<BIH", index, offset, length)


def parse_info(body: bytes) -> DeviceInfo:
    try:
        version, dtype, n_in, n_out, arena, max_payload, features, counter, mhash = \
            _INFO_FIXED.unpack_from(body)
        off = _INFO_FIXED.size
        sizes = struct.unpack_from(f"<{n_in + n_out}I", body, off)
        off += 4 * (n_in + n_out)
        id_len = body[off]
        build_id = body[off + 1:off + 1 + id_len].decode("ascii", errors="replace")
        if len(body) != off + 1 + id_len:
            raise ValueError("trailing bytes")
    except (struct.error, IndexError, ValueError) as exc:
        raise ValueError(f"malformed INFO reply ({len(body)} bytes): {exc}") from exc
    return DeviceInfo(version=version, dtype=DTYPES.get(dtype, f"dtype#{dtype}"),
                      arena_bytes=arena, max_payload=max_payload, features=features,
                      counter=Counter(counter) if counter in Counter._value2member_map_
                      else Counter.NONE, model_hash=mhash,
                      input_bytes=tuple(sizes[:n_in]), output_bytes=tuple(sizes[n_in:]),
                      build_id=build_id)


def parse_run(body: bytes) -> RunReply:
    if len(body) != _RUN.size:
        raise ValueError(f"malformed RUN reply ({len(body)} bytes, expected {_RUN.size})")
    status, counter, count, stack = _RUN.unpack(body)
    kind = Counter(counter) if counter in Counter._value2member_map_ else Counter.NONE
    return RunReply(status=status, counter=kind, count=count if kind != Counter.NONE else 0,
                    stack_bytes=None if stack < 0 else stack)

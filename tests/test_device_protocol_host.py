"""The firmware side of the protocol (runtime_c/board/mf_protocol.c) built with the host
gcc around a fake model and driven through pipes by the real host client: the exact C the
boards run, tested in a second, including damaged links and a device that resets."""

from __future__ import annotations

import os
import random
import select
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from toolchain.device import protocol as P
from toolchain.device.client import DeviceClient, StateLost
from toolchain.device.errors import DeviceError, DeviceRejected, ProtocolError
from toolchain.device.framing import FrameDecoder, encode_frame
from toolchain.build.harness import HARNESS_DIR

N_IN = 300      # floats: 1200 bytes, three WRITE_INPUT chunks at 512-byte frames

# Fake model: out0 = 2 * in, out1 = number of runs so far. run() then zeroes its input, as
# an in-place model may overwrite it: a replayed RUN that executed again would be caught
# twice (wrong out0, run count too high).
FAKE_MAIN = r"""
#include <string.h>
#include "mf_board.h"
#include "mf_counter.h"
#include "mf_protocol.h"

static float in0[%(n)d];
static float out0[%(n)d];
static float out1[1];
static const uint8_t hash[MF_PROTO_HASH_BYTES] = {1, 2, 3, 4, 5, 6, 7, 8};

static uint8_t *input(int i) { (void)i; return (uint8_t *)in0; }
static uint32_t input_bytes(int i) { (void)i; return sizeof in0; }
static const uint8_t *output(int i)
{
    return i == 0 ? (const uint8_t *)out0 : (const uint8_t *)out1;
}
static uint32_t output_bytes(int i) { return i == 0 ? sizeof out0 : sizeof out1; }
static int run(void)
{
    for (int k = 0; k < %(n)d; k++) { out0[k] = 2.0f * in0[k]; }
    memset(in0, 0, sizeof in0);
    out1[0] += 1.0f;
    return 0;
}

static const mf_proto_model_t model = {
    .num_inputs = 1, .num_outputs = 2, .dtype = MF_PROTO_DTYPE_F32, .arena_bytes = 1234,
    .model_hash = hash, .build_id = "host-test", .input = input, .input_bytes = input_bytes,
    .output = output, .output_bytes = output_bytes, .run = run,
};

int main(void)
{
    mf_counter_init();
    mf_print_str("MF_BOOT host\n");
    mf_proto_serve(&model);
}
"""


@pytest.fixture(scope="module")
def fake_device(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("gcc") is None:
        pytest.skip("no host gcc")
    out = tmp_path_factory.mktemp("proto")
    main = out / "main.c"
    main.write_text(FAKE_MAIN % {"n": N_IN})
    srcs = [main, *(HARNESS_DIR / n for n in (
        "mf_protocol.c", "uart_stdio.c", "uart_rx_stdio.c", "mf_counter_none.c",
        "exit_hosted.c", "startup_hosted.c", "mf_bench.c", "mf_print.c"))]
    exe = out / "device"
    subprocess.run(["gcc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-O1",
                    "-fsanitize=address,undefined", f"-I{HARNESS_DIR}", *map(str, srcs),
                    "-o", str(exe)], check=True, capture_output=True, timeout=120)
    return exe


class PipeLink:
    """The fake device's stdin/stdout as a link; ``reset()`` restarts the process (a
    device reset: all state gone). Optional damage of bytes in both directions."""

    url = "pipe://fake-device"

    def __init__(self, exe: Path, *, drop: float = 0.0, corrupt: float = 0.0,
                 seed: int = 0) -> None:
        self.exe = exe
        self.drop, self.corrupt = drop, corrupt
        self.rng = random.Random(seed)
        self.writes = 0
        self.reset_at_write: int | None = None
        self._start()

    def _start(self) -> None:
        self.proc = subprocess.Popen([str(self.exe)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, bufsize=0)

    def reset(self) -> None:
        self.close()
        self._start()

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait(5)

    def _damage(self, data: bytes) -> bytes:
        out = bytearray()
        for b in data:
            r = self.rng.random()
            if r < self.drop:
                continue
            if r < self.drop + self.corrupt:
                b ^= 1 << self.rng.randrange(8)
            out.append(b)
        return bytes(out)

    def write(self, data: bytes) -> None:
        self.writes += 1
        if self.reset_at_write is not None and self.writes == self.reset_at_write:
            self.reset()
        assert self.proc.stdin is not None
        self.proc.stdin.write(self._damage(data))

    def read(self, deadline: float) -> bytes:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        return self._damage(os.read(fd, 4096)) if ready else b""

    def reopen(self) -> None:
        pass


def _inputs(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(N_IN).astype(np.float32)


def test_info_and_inference(fake_device: Path) -> None:
    link = PipeLink(fake_device)
    try:
        client = DeviceClient(link, timeout=1.0)
        info = client.info()
        assert info.input_bytes == (4 * N_IN,) and info.output_bytes == (4 * N_IN, 4)
        assert info.model_hash == bytes(range(1, 9)) and info.build_id == "host-test"
        assert info.arena_bytes == 1234 and info.counter == P.Counter.NONE
        for k in range(3):
            x = _inputs(k)
            inf = client.infer([x.tobytes()])
            assert np.array_equal(np.frombuffer(inf.outputs[0], np.float32), 2 * x)
            assert np.frombuffer(inf.outputs[1], np.float32)[0] == k + 1
    finally:
        link.close()


def _raw(link: PipeLink, payload: bytes, timeout: float = 2.0) -> list[bytes]:
    """Sends one frame, returns the payloads of the frames that come back."""
    link.write(encode_frame(payload))
    dec, frames = FrameDecoder(), []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for ev in dec.feed(link.read(min(deadline, time.monotonic() + 0.2))):
            if hasattr(ev, "payload"):
                frames.append(ev.payload)
        if frames and frames[-1][0] != P.RSP_BUSY:
            break
    return frames


def test_retry_is_replayed_not_executed(fake_device: Path) -> None:
    link = PipeLink(fake_device)
    try:
        x = _inputs(1).tobytes()
        for off in range(0, len(x), 500):
            _raw(link, P.request(P.Cmd.WRITE_INPUT, off // 500 + 1,
                                 P.write_input_body(0, off, x[off:off + 500])))
        first = _raw(link, P.request(P.Cmd.RUN, 9))
        again = _raw(link, P.request(P.Cmd.RUN, 9))       # same seq + CRC: a retry
        assert [f[0] for f in first] == [P.RSP_BUSY, P.Cmd.RUN | P.RSP_OK]
        assert again == first[-1:]                         # cached reply, no BUSY, no run
        count = _raw(link, P.request(P.Cmd.READ_OUTPUT, 10, P.read_output_body(1, 0, 4)))
        assert np.frombuffer(count[-1][2:], np.float32)[0] == 1.0
        # a new sequence number is a new request: inputs were consumed, so it is refused
        third = _raw(link, P.request(P.Cmd.RUN, 11))
        assert third[-1][0] == P.RSP_ERROR and third[-1][2] == P.ErrorCode.INCOMPLETE
    finally:
        link.close()


@pytest.mark.parametrize("payload, code", [
    (P.request(P.Cmd.WRITE_INPUT, 1, P.write_input_body(0, 512, b"\0" * 8)), P.ErrorCode.ORDER),
    (P.request(P.Cmd.WRITE_INPUT, 1, P.write_input_body(3, 0, b"\0" * 8)), P.ErrorCode.INDEX),
    (P.request(P.Cmd.WRITE_INPUT, 1, b"\0\0"), P.ErrorCode.LENGTH),
    (P.request(P.Cmd.RUN, 1), P.ErrorCode.INCOMPLETE),
    (P.request(P.Cmd.READ_OUTPUT, 1, P.read_output_body(0, 0, 8)), P.ErrorCode.NO_OUTPUT),
    (P.request(0x55, 1), P.ErrorCode.COMMAND),
    (P.request(P.Cmd.TRAIN_STEP, 1), P.ErrorCode.UNSUPPORTED),
])
def test_refusals(fake_device: Path, payload: bytes, code: int) -> None:
    link = PipeLink(fake_device)
    try:
        reply = _raw(link, payload)[-1]
        assert reply[0] == P.RSP_ERROR and reply[2] == code
    finally:
        link.close()


def test_oversized_frame_is_dropped_and_the_next_one_answered(fake_device: Path) -> None:
    link = PipeLink(fake_device)
    try:
        big = P.request(P.Cmd.WRITE_INPUT, 1, P.write_input_body(0, 0, b"\1" * 1100))
        assert _raw(link, big, timeout=0.5) == []
        assert _raw(link, P.request(P.Cmd.INFO, 2))[-1][0] == P.Cmd.INFO | P.RSP_OK
    finally:
        link.close()


def test_garbage_before_a_request_is_ignored(fake_device: Path) -> None:
    link = PipeLink(fake_device)
    try:
        link.write(bytes(random.Random(3).randrange(1, 256) for _ in range(2000)))
        assert _raw(link, P.request(P.Cmd.INFO, 4))[-1][0] == P.Cmd.INFO | P.RSP_OK
    finally:
        link.close()


@pytest.mark.parametrize("seed", range(12))
def test_damaged_link_completes_correctly_or_fails_clearly(fake_device: Path,
                                                           seed: int) -> None:
    # per byte and direction, drop and corrupt each: a 512-byte frame survives 0.0005 with
    # p = 0.6, 0.005 with p = 0.006 (that case has to fail, clearly and in time)
    rate = [0.0002, 0.0005, 0.005][seed % 3]
    link = PipeLink(fake_device, drop=rate, corrupt=rate, seed=seed)
    client = DeviceClient(link, timeout=0.2, retries=6, restarts=3)
    t0 = time.monotonic()
    ok = 0
    try:
        for k in range(3):
            x = _inputs(100 + k)
            try:
                inf = client.infer([x.tobytes()])
            except DeviceError as exc:
                assert "\n" not in str(exc) and str(exc)
                continue
            # whatever arrived passed the CRC and sequence checks: it must be right
            assert np.array_equal(np.frombuffer(inf.outputs[0], np.float32), 2 * x)
            ok += 1
    finally:
        link.close()
    assert time.monotonic() - t0 < 60
    if rate <= 0.0005:
        assert ok >= 1, client.stats


@pytest.mark.parametrize("reset_at", [2, 3, 4, 5, 6, 7])
def test_device_reset_mid_transfer_restarts_the_inference(fake_device: Path,
                                                          reset_at: int) -> None:
    link = PipeLink(fake_device)
    try:
        client = DeviceClient(link, timeout=0.3, retries=3, restarts=2)
        client.info()
        link.writes = 0
        link.reset_at_write = reset_at   # 3 input chunks, RUN, 2 output reads
        x = _inputs(7)
        inf = client.infer([x.tobytes()])
        assert np.array_equal(np.frombuffer(inf.outputs[0], np.float32), 2 * x)
        # the run count proves the model ran once since the reset
        assert np.frombuffer(inf.outputs[1], np.float32)[0] == 1.0
        assert client.stats.restarts + client.stats.resends >= 1
    finally:
        link.close()


def test_device_that_keeps_resetting_fails_with_one_line(fake_device: Path) -> None:
    class ResettingLink(PipeLink):
        def write(self, data: bytes) -> None:
            super().write(data)
            if self.writes % 3 == 0:
                self.reset()

    link = ResettingLink(fake_device)
    try:
        client = DeviceClient(link, timeout=0.2, retries=2, restarts=2)
        client.info()
        with pytest.raises((ProtocolError, StateLost)) as err:
            client.infer([_inputs(0).tobytes()])
        assert "\n" not in str(err.value)
        assert isinstance(err.value, DeviceRejected) or "attempts" in str(err.value)
    finally:
        link.close()

"""Host tests of the wire format: COBS, CRC-32, frame decoding and resynchronisation."""

from __future__ import annotations

import random
import zlib

from hypothesis import given, settings
from hypothesis import strategies as st

from toolchain.device.framing import (
    Frame, FrameDecoder, FramingError, Garbage, Text, cobs_decode, cobs_encode, crc32,
    decode_body, encode_frame,
)


def test_crc32_check_value() -> None:
    # the CRC-32/IEEE check value; the firmware's nibble-table CRC is tested against this
    # through frames it accepts (test_device_protocol_host.py)
    assert crc32(b"123456789") == 0xCBF43926 == zlib.crc32(b"123456789")


def test_cobs_known_vectors() -> None:
    # vectors from the COBS paper / Wikipedia
    assert cobs_encode(b"\x00") == b"\x01\x01"
    assert cobs_encode(b"\x00\x00") == b"\x01\x01\x01"
    assert cobs_encode(b"\x11\x22\x00\x33") == b"\x03\x11\x22\x02\x33"
    assert cobs_encode(b"\x11\x22\x33\x44") == b"\x05\x11\x22\x33\x44"
    assert cobs_encode(b"\x11\x00\x00\x00") == b"\x02\x11\x01\x01\x01"
    block = bytes(range(1, 255))
    assert cobs_encode(block) == b"\xff" + block
    assert cobs_encode(block + b"\x00") == b"\xff" + block + b"\x01\x01"


@settings(max_examples=300)
@given(st.binary(max_size=1200))
def test_cobs_round_trip_and_no_zero(data: bytes) -> None:
    enc = cobs_encode(data)
    assert 0 not in enc
    assert len(enc) <= len(data) + len(data) // 254 + 1
    assert cobs_decode(enc) == data


@settings(max_examples=200)
@given(st.binary(min_size=2, max_size=600))
def test_frame_round_trip(payload: bytes) -> None:
    frame = encode_frame(payload)
    assert frame[0] == 0 and frame[-1] == 0 and 0 not in frame[1:-1]
    assert FrameDecoder().feed(frame) == [Frame(payload)]


def test_every_single_bit_flip_is_detected() -> None:
    payload = bytes(range(2, 60))
    body = encode_frame(payload)[1:-1]
    for i in range(len(body)):
        for bit in range(8):
            bad = bytearray(body)
            bad[i] ^= 1 << bit
            if 0 in bad:
                continue   # a new delimiter: the decoder sees two short frames instead
            try:
                assert decode_body(bytes(bad)) != payload
                raise AssertionError("corruption not detected")
            except FramingError:
                pass


def test_text_and_frames_interleave_byte_by_byte() -> None:
    stream = (b"MF_BOOT board\r\n" + encode_frame(b"\x81\x01abc") + b"log line\n"
              + encode_frame(b"\x83\x02") + b"partial")
    dec = FrameDecoder()
    events = [e for b in stream for e in dec.feed(bytes([b]))] + dec.flush_text()
    assert events == [Text("MF_BOOT board"), Frame(b"\x81\x01abc"), Text("log line"),
                      Frame(b"\x83\x02"), Text("partial")]


def test_resync_after_garbage_lost_delimiter_and_truncation() -> None:
    good = encode_frame(b"\x81\x07payload")
    truncated = encode_frame(b"\x81\x05hello world")[:-6]       # lost its tail and end zero
    no_start = encode_frame(b"\x81\x06first")[1:]                 # lost its leading zero
    stream = b"\x13\x37\xff\x00\x00garbage\x00" + truncated + good + no_start + good
    events = FrameDecoder().feed(stream)
    frames = [e for e in events if isinstance(e, Frame)]
    assert frames == [Frame(b"\x81\x07payload")] * 2
    assert any(isinstance(e, Garbage) for e in events)


def test_random_noise_never_yields_a_frame_and_decoder_recovers() -> None:
    rng = random.Random(1)
    dec = FrameDecoder()
    for _ in range(200):
        noise = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))
        # 2**-32 per candidate frame: with a few thousand candidates, none should pass
        assert not [e for e in dec.feed(noise) if isinstance(e, Frame)]
    assert Frame(b"\x82\x09ok") in dec.feed(encode_frame(b"\x82\x09ok"))


def test_oversized_frame_is_dropped() -> None:
    dec = FrameDecoder(max_frame=64)
    events = dec.feed(encode_frame(bytes(200)) + encode_frame(b"\x81\x01"))
    assert isinstance(events[0], Garbage)
    assert events[-1] == Frame(b"\x81\x01")

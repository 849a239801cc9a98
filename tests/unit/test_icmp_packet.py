"""Echo packets from the template, the checksum, and parsing of replies and ICMP errors."""

from __future__ import annotations

import socket
import struct

import pytest

from netwatch.icmp import packet


def _ipv4_header(src: str, dst: str, proto: int = 1) -> bytes:
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 0, 0, 0, 64, proto, 0,
                       socket.inet_aton(src), socket.inet_aton(dst))


def test_checksum_matches_rfc1071_example() -> None:
    # RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to ddf2; the checksum is ~ddf2
    assert packet.checksum(bytes.fromhex("0001f203f4f5f6f7")) == 0x220D


def test_checksum_of_odd_length_pads_with_zero() -> None:
    assert packet.checksum(b"\x01") == packet.checksum(b"\x01\x00")


@pytest.mark.parametrize("size", [0, 1, 3, 4, 5, 56, 57, 1472])
def test_every_templated_packet_has_a_valid_checksum(size: int) -> None:
    template = packet.EchoTemplate(packet.V4, 0xBEEF, size)
    for seq in (0, 1, 0x7FFF, 0xFFFF):
        for generation in (0, 1, 0xFFFF, 0x10000, 0xFFFFFFFF):
            data = template.packet(seq, generation)
            assert len(data) == 8 + size
            assert packet.checksum(data) == 0, (size, seq, generation)


def test_packet_layout_carries_identifier_sequence_and_generation() -> None:
    data = packet.EchoTemplate(packet.V4, 0x1234, 56).packet(0xABCD, 0xDEADBEEF)
    kind, code, _, ident, seq = struct.unpack_from("!BBHHH", data)
    assert (kind, code, ident, seq) == (8, 0, 0x1234, 0xABCD)
    assert data[8:12] == bytes.fromhex("deadbeef")
    assert data[12:] == packet.payload(56)[4:]


def test_short_payload_carries_no_generation() -> None:
    template = packet.EchoTemplate(packet.V6, 7, 2)
    assert not template.carries_generation
    data = template.packet(5, 99)
    assert data[0] == packet.ECHO_REQUEST_V6 and len(data) == 10


def test_parse_raw_v4_echo_reply() -> None:
    echo = packet.EchoTemplate(packet.V4, 0x4242, 56).packet(17, 3)
    reply = bytes([0, 0]) + echo[2:]
    parsed = packet.parse_v4_raw(_ipv4_header("127.0.0.9", "127.0.0.1") + reply)
    assert parsed == packet.Parsed(packet.REPLY, 0x4242, 17, 3, "")


def test_parse_raw_v4_unreachable_quotes_our_echo_and_its_destination() -> None:
    echo = packet.EchoTemplate(packet.V4, 0x4242, 56).packet(18, 0)
    quoted = _ipv4_header("198.18.0.1", "198.18.0.7") + echo[:8 + 8]
    error = bytes([3, 1, 0, 0, 0, 0, 0, 0]) + quoted
    parsed = packet.parse_v4_raw(_ipv4_header("198.18.0.254", "198.18.0.1") + error)
    assert parsed is not None
    assert (parsed.kind, parsed.ident, parsed.seq, parsed.target) == (
        packet.ERROR, 0x4242, 18, "198.18.0.7")
    assert parsed.generation == 0


def test_parse_v6_unreachable_quotes_echo() -> None:
    echo = packet.EchoTemplate(packet.V6, 0x99, 56).packet(3, 1)
    ipv6 = (struct.pack("!IHBB", 6 << 28, len(echo), 58, 64)
            + socket.inet_pton(socket.AF_INET6, "2001:2::1")
            + socket.inet_pton(socket.AF_INET6, "2001:2::5"))
    error = bytes([1, 3, 0, 0, 0, 0, 0, 0]) + ipv6 + echo
    parsed = packet.parse_icmp(error, packet.V6)
    assert parsed == packet.Parsed(packet.ERROR, 0x99, 3, 1, "2001:2::5")


@pytest.mark.parametrize("data", [
    b"", b"\x45" + bytes(10), bytes(28),
    _ipv4_header("127.0.0.1", "127.0.0.2") + bytes([8, 0]) + bytes(6)])
def test_garbage_and_foreign_messages_are_ignored(data: bytes) -> None:
    # too short, an echo *request* (our own, looped back), an error quoting nothing
    assert packet.parse_v4_raw(data) is None

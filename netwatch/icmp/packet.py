"""ICMP echo packets built from a template, and the parsing of what comes back.

The hot path sends thousands of echoes a second, so building one must cost a struct pack and
a few integer operations: the payload and the one's-complement sum of everything that does
not change are computed once per (identifier, size); a sequence number and a 32-bit
generation (the sequence counter's high bits, written into the payload when it has room)
are added to that sum per packet (RFC 1624 style incremental update).

    template = EchoTemplate(V4, ident=0x1234, size=56)
    data = template.packet(seq=7, generation=0)
    reply = parse_v4_raw(buffer)         # -> Parsed | None (None: not ours to look at)
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass
from typing import Final, NamedTuple

ECHO_REQUEST_V4: Final = 8
ECHO_REPLY_V4: Final = 0
UNREACHABLE_V4: Final = 3
TIME_EXCEEDED_V4: Final = 11
ECHO_REQUEST_V6: Final = 128
ECHO_REPLY_V6: Final = 129
UNREACHABLE_V6: Final = 1
TIME_EXCEEDED_V6: Final = 3

_HEADER = struct.Struct("!BBHHH")  # type, code, checksum, identifier, sequence
_ID_SEQ = struct.Struct("!HH")
_GENERATION = struct.Struct("!I")
_FILL = bytes(range(0x10, 0x38))  # ping's classic payload bytes, repeated to the size

# what comes back
REPLY: Final = 0
ERROR: Final = 1


@dataclass(frozen=True, slots=True)
class Family:
    """The numbers that differ between ICMPv4 and ICMPv6 echo."""

    request: int
    reply: int
    errors: tuple[int, ...]


V4 = Family(ECHO_REQUEST_V4, ECHO_REPLY_V4, (UNREACHABLE_V4, TIME_EXCEEDED_V4))
V6 = Family(ECHO_REQUEST_V6, ECHO_REPLY_V6, (UNREACHABLE_V6, TIME_EXCEEDED_V6))


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071) of data."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    return ~_fold(total) & 0xFFFF


def _fold(total: int) -> int:
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def payload(size: int) -> bytes:
    """`size` bytes of the classic ping pattern."""
    repeats = size // len(_FILL) + 1
    return (_FILL * repeats)[:size]


class EchoTemplate:
    """Echo requests of one identifier and payload size; `packet()` is the hot path."""

    __slots__ = ("_base", "_tail", "_type", "_with_generation", "family", "ident", "size")

    def __init__(self, family: Family, ident: int, size: int) -> None:
        self.family = family
        self.ident = ident
        self.size = size
        self._with_generation = size >= _GENERATION.size
        body = payload(size)
        self._tail = body[_GENERATION.size:] if self._with_generation else body
        self._type = family.request
        # sum of the fixed words: type/code, identifier and the payload after the generation
        fixed = bytes((family.request, 0)) + _ID_SEQ.pack(ident, 0)
        if self._with_generation:
            fixed += bytes(_GENERATION.size)
        fixed += self._tail
        self._base = ~checksum(fixed) & 0xFFFF  # the folded sum of the fixed part

    @property
    def carries_generation(self) -> bool:
        return self._with_generation

    def packet(self, seq: int, generation: int) -> bytes:
        """The echo request with sequence `seq` (16 bits) and `generation` (32 bits)."""
        total = self._base + seq
        if self._with_generation:
            total += (generation >> 16) + (generation & 0xFFFF)
            total = (total & 0xFFFF) + (total >> 16)
            total = (total & 0xFFFF) + (total >> 16)
            return (_HEADER.pack(self._type, 0, ~total & 0xFFFF, self.ident, seq)
                    + _GENERATION.pack(generation) + self._tail)
        total = (total & 0xFFFF) + (total >> 16)
        return _HEADER.pack(self._type, 0, ~total & 0xFFFF, self.ident, seq) + self._tail


class Parsed(NamedTuple):
    """An echo reply (kind REPLY) or an ICMP error quoting one of our echoes (kind ERROR).

    For an error, `target` is the destination of the quoted echo (where we sent it) when the
    packet says so (raw IPv4/IPv6), else "" (the caller knows it from the socket).
    """

    kind: int
    ident: int
    seq: int
    generation: int | None  # from the payload, when it has room (None: too short to carry one)
    target: str = ""


def _generation(data: bytes, start: int) -> int | None:
    if len(data) >= start + _GENERATION.size:
        return int(_GENERATION.unpack_from(data, start)[0])
    return None


def parse_icmp(data: bytes, family: Family, start: int = 0) -> Parsed | None:
    """An ICMP message starting at `start` (datagram sockets and raw IPv6 give no IP header)."""
    if len(data) < start + 8:
        return None
    kind = data[start]
    if kind == family.reply:
        ident, seq = _ID_SEQ.unpack_from(data, start + 4)
        return Parsed(REPLY, ident, seq, _generation(data, start + 8))
    if kind in family.errors:
        return _quoted(data, start + 8, family)
    return None


def parse_v4_raw(data: bytes) -> Parsed | None:
    """A packet from a raw IPv4 socket: IP header first."""
    header = (data[0] & 0x0F) * 4 if data else 0
    if header < 20 or len(data) < header:
        return None
    return parse_icmp(data, V4, header)


def _quoted(data: bytes, start: int, family: Family) -> Parsed | None:
    """The echo request quoted in an ICMP error: its identifier, sequence and destination."""
    if family is V4:
        if len(data) < start + 20:
            return None
        header = (data[start] & 0x0F) * 4
        target = ".".join(str(b) for b in data[start + 16:start + 20])
    else:
        header = 40
        if len(data) < start + header:
            return None
        target = socket.inet_ntop(socket.AF_INET6, data[start + 24:start + 40])
    icmp = start + header
    if len(data) < icmp + 8 or data[icmp] != family.request:
        return None
    ident, seq = _ID_SEQ.unpack_from(data, icmp + 4)
    return Parsed(ERROR, ident, seq, _generation(data, icmp + 8), target)

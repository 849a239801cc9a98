"""SNMP v1/v2c messages in BER, encoded and decoded by hand (RFC 1157, RFC 3416).

Why not pyasn1: decoding a GETBULK reply through pysnmp's pyasn1 specs builds a Python
object per tag (a Choice inside a Choice per value) and took ~75 % of a device poll's CPU
in bench/snmp.py --profile. A community message is a handful of fixed TLVs; this module
reads it straight into the plain values of `oid.py`. SNMPv3 (USM, encryption) stays with
pysnmp, which does that part well.

    encode_request(version, community, pdu_type, request_id, oids, non_repeaters, max_reps)
    encode_response(version, community, request_id, varbinds)   # the lab's own agent
    decode_message(datagram) -> Message     # BerError when it is not well-formed
    looks_like_snmp(datagram)               # framing only (for pysnmp's v3 sockets)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from netwatch.snmp.oid import END_OF_MIB, MISSING, Oid, Value, VarBind

GET, GET_NEXT, RESPONSE, GET_BULK = 0xA0, 0xA1, 0xA2, 0xA5
VERSIONS = {"1": 0, "2c": 1}

_SEQUENCE, _INTEGER, _OCTETS, _NULL, _OID = 0x30, 0x02, 0x04, 0x05, 0x06
# Counter32, Gauge32, TimeTicks, Counter64, UInteger32
_UNSIGNED = frozenset((0x41, 0x42, 0x43, 0x46, 0x47))
_BYTES = frozenset((_OCTETS, 0x40, 0x44, 0x03))  # OCTET STRING, IpAddress, Opaque, BIT STRING
_ABSENT = {_NULL: MISSING, 0x80: MISSING, 0x81: MISSING, 0x82: END_OF_MIB}
_CACHE_LIMIT = 100_000  # distinct OIDs remembered in each direction


class BerError(ValueError):
    """The datagram is not a well-formed SNMP v1/v2c message."""


class Message(NamedTuple):
    version: int  # 0 = v1, 1 = v2c
    community: bytes
    pdu_type: int
    request_id: int
    error_status: int
    error_index: int
    varbinds: list[VarBind]


# --- encoding -------------------------------------------------------------------------

def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(raw),)) + raw


def _tlv(tag: int, content: bytes) -> bytes:
    return bytes((tag,)) + _length(len(content)) + content


def _integer(value: int) -> bytes:
    return _tlv(_INTEGER, value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True))


_ENCODED: dict[Oid, bytes] = {}


def encode_oid(oid: Oid) -> bytes:
    """An OBJECT IDENTIFIER TLV (cached: the same OIDs are asked for every poll)."""
    done = _ENCODED.get(oid)
    if done is not None:
        return done
    if len(oid) < 2 or oid[0] > 2 or (oid[0] < 2 and oid[1] >= 40):
        raise ValueError(f"cannot encode OID {oid}")
    body = bytearray()
    for arc in (oid[0] * 40 + oid[1], *oid[2:]):
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body.extend(reversed(chunk))
    done = _tlv(_OID, bytes(body))
    if len(_ENCODED) >= _CACHE_LIMIT:
        _ENCODED.clear()
    _ENCODED[oid] = done
    return done


def encode_request(version: int, community: bytes, pdu_type: int, request_id: int,
                   oids: Sequence[Oid], non_repeaters: int = 0, max_repetitions: int = 0) -> bytes:
    """A GET / GETNEXT / GETBULK message asking for `oids` (values NULL)."""
    varbinds = b"".join(_tlv(_SEQUENCE, encode_oid(oid) + b"\x05\x00") for oid in oids)
    pdu = (_integer(request_id) + _integer(non_repeaters) + _integer(max_repetitions)
           + _tlv(_SEQUENCE, varbinds))
    return _tlv(_SEQUENCE, _integer(version) + _tlv(_OCTETS, community) + _tlv(pdu_type, pdu))


# a response's value: (BER tag, content) as encode_response writes it
TypedValue = tuple[int, int | bytes | Oid | None]
NO_SUCH_OBJECT, END_OF_MIB_VIEW = 0x80, 0x82


def _typed(tag: int, value: int | bytes | Oid | None) -> bytes:
    if value is None:  # the exceptions (noSuchObject, endOfMibView) and NULL have no content
        return bytes((tag, 0))
    if tag == _OID:
        assert isinstance(value, tuple)
        return encode_oid(value)
    if isinstance(value, int):  # INTEGER, and the unsigned types as the same two's complement
        return _tlv(tag, value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True))
    assert isinstance(value, bytes)
    return _tlv(tag, value)


def encode_response(version: int, community: bytes, request_id: int,
                    varbinds: Sequence[tuple[Oid, TypedValue]], error_status: int = 0,
                    error_index: int = 0) -> bytes:
    """A RESPONSE message: each variable binding's value with its BER tag (2 INTEGER, 4 OCTET
    STRING, 6 OID, 0x40 IpAddress, 0x41 Counter32, 0x42 Gauge32, 0x43 TimeTicks, 0x46
    Counter64; 0x80 noSuchObject and 0x82 endOfMibView with value None)."""
    body = b"".join(_tlv(_SEQUENCE, encode_oid(oid) + _typed(tag, value))
                    for oid, (tag, value) in varbinds)
    pdu = (_integer(request_id) + _integer(error_status) + _integer(error_index)
           + _tlv(_SEQUENCE, body))
    return _tlv(_SEQUENCE, _integer(version) + _tlv(_OCTETS, community) + _tlv(RESPONSE, pdu))


# --- decoding -------------------------------------------------------------------------

def looks_like_snmp(datagram: bytes) -> bool:
    """A BER SEQUENCE whose length field matches the datagram (cheap, before decoding)."""
    if len(datagram) < 2 or datagram[0] != 0x30:
        return False
    first = datagram[1]
    if first < 0x80:
        return first + 2 == len(datagram)
    size = first & 0x7F
    if not 1 <= size <= 4 or len(datagram) < 2 + size:
        return False
    return int.from_bytes(datagram[2:2 + size], "big") + 2 + size == len(datagram)


def _header(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the TLV at `pos`, checked against `end`."""
    if pos + 2 > end:
        raise BerError("truncated")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise BerError("multi-byte tag")
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        size = length & 0x7F
        if not 1 <= size <= 4 or pos + size > end:
            raise BerError("bad length" if size else "indefinite length")
        length = int.from_bytes(data[pos:pos + size], "big")
        pos += size
    stop = pos + length
    if stop > end:
        raise BerError("truncated")
    return tag, pos, stop


def _expect(data: bytes, pos: int, end: int, tag: int, what: str) -> tuple[int, int]:
    found, start, stop = _header(data, pos, end)
    if found != tag:
        raise BerError(f"{what}: tag 0x{found:02x}, expected 0x{tag:02x}")
    return start, stop


def _read_integer(data: bytes, pos: int, end: int, what: str) -> tuple[int, int]:
    start, stop = _expect(data, pos, end, _INTEGER, what)
    if start == stop:
        raise BerError(f"{what}: empty INTEGER")
    return int.from_bytes(data[start:stop], "big", signed=True), stop


_DECODED: dict[bytes, Oid] = {}


def _oid(raw: bytes) -> Oid:
    oid = _DECODED.get(raw)
    if oid is not None:
        return oid
    if not raw or raw[-1] & 0x80:
        raise BerError("bad OBJECT IDENTIFIER")
    arcs: list[int] = []
    arc = 0
    for byte in raw:
        arc = (arc << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(arc)
            arc = 0
    first = arcs[0]
    head = (first // 40, first % 40) if first < 80 else (2, first - 80)
    oid = head + tuple(arcs[1:])
    if len(_DECODED) >= _CACHE_LIMIT:
        _DECODED.clear()
    _DECODED[raw] = oid
    return oid


def _value(tag: int, raw: bytes) -> Value:
    if tag == _INTEGER:
        if not raw:
            raise BerError("empty INTEGER value")
        return int.from_bytes(raw, "big", signed=True)
    if tag in _UNSIGNED:
        if not raw:
            raise BerError("empty unsigned value")
        return int.from_bytes(raw, "big")  # lenient: agents that drop the leading 0x00
    if tag in _BYTES:
        return raw
    if tag == _OID:
        return _oid(raw)
    absent = _ABSENT.get(tag)
    if absent is None:
        raise BerError(f"unknown value type 0x{tag:02x}")
    return absent


def decode_message(data: bytes) -> Message:
    """A v1/v2c message with its variable bindings as plain values."""
    start, end = _expect(data, 0, len(data), _SEQUENCE, "message")
    if end != len(data):
        raise BerError("trailing bytes after the message")
    version, pos = _read_integer(data, start, end, "version")
    c_start, pos = _expect(data, pos, end, _OCTETS, "community")
    community = data[c_start:pos]
    pdu_type, pos, pdu_end = _header(data, pos, end)
    if pdu_type & 0xE0 != 0xA0:
        raise BerError(f"not a PDU: tag 0x{pdu_type:02x}")
    request_id, pos = _read_integer(data, pos, pdu_end, "request-id")
    error_status, pos = _read_integer(data, pos, pdu_end, "error-status")
    error_index, pos = _read_integer(data, pos, pdu_end, "error-index")
    pos, list_end = _expect(data, pos, pdu_end, _SEQUENCE, "variable-bindings")
    varbinds: list[VarBind] = []
    while pos < list_end:
        pos, vb_end = _expect(data, pos, list_end, _SEQUENCE, "variable binding")
        n_start, n_stop = _expect(data, pos, vb_end, _OID, "name")
        tag, v_start, v_stop = _header(data, n_stop, vb_end)
        if v_stop != vb_end:
            raise BerError("variable binding has extra fields")
        varbinds.append((_oid(data[n_start:n_stop]), _value(tag, data[v_start:v_stop])))
        pos = vb_end
    return Message(version, community, pdu_type, request_id, error_status, error_index, varbinds)

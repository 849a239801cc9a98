"""The hand-written v1/v2c codec against pysnmp's pyasn1 codec as the independent reference:
what we encode pysnmp reads back, what pysnmp encodes we read back, and malformed input is
a BerError (never a wrong value)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from pyasn1.codec.ber import decoder, encoder
from pysnmp.proto import api

from netwatch.snmp import ber
from netwatch.snmp.oid import END_OF_MIB, MISSING

v2c = api.v2c
SYS_DESCR = (1, 3, 6, 1, 2, 1, 1, 1, 0)
IF_HC_IN = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6, 1)
BIG_ARCS = (1, 3, 6, 1, 4, 1, 41112, 1, 4, 7, 1, 4294967295, 128, 127)


def pysnmp_decode(data: bytes) -> Any:  # a pyasn1 Message: pyasn1 ships no types
    message, rest = decoder.decode(data, asn1Spec=v2c.Message())
    assert rest == b""
    return message


@pytest.mark.parametrize(("pdu_type", "kind"), [(ber.GET, v2c.GetRequestPDU),
                                                (ber.GET_NEXT, v2c.GetNextRequestPDU),
                                                (ber.GET_BULK, v2c.GetBulkRequestPDU)])
def test_requests_read_back_by_pysnmp(pdu_type: int, kind: type) -> None:
    data = ber.encode_request(1, b"pub\xfflic", pdu_type, 2**31 - 2, [SYS_DESCR, BIG_ARCS],
                              max_repetitions=300 if pdu_type == ber.GET_BULK else 0)
    message = pysnmp_decode(data)
    assert int(message["version"]) == 1
    assert bytes(message["community"]) == b"pub\xfflic"
    pdu = message["data"].getComponent()
    assert isinstance(pdu, kind)
    assert int(v2c.apiPDU.get_request_id(pdu)) == 2**31 - 2
    if pdu_type == ber.GET_BULK:
        assert int(v2c.apiBulkPDU.get_max_repetitions(pdu)) == 300
    names = [tuple(name) for name, _ in v2c.apiPDU.get_varbinds(pdu)]
    assert names == [SYS_DESCR, BIG_ARCS]


def pysnmp_response(varbinds: list[tuple[tuple[int, ...], object]], request_id: int = 77,
                    status: int = 0, index: int = 0, community: bytes = b"public") -> bytes:
    pdu = v2c.ResponsePDU()
    v2c.apiPDU.set_defaults(pdu)
    v2c.apiPDU.set_request_id(pdu, request_id)
    v2c.apiPDU.set_error_status(pdu, status)
    v2c.apiPDU.set_error_index(pdu, index)
    v2c.apiPDU.set_varbinds(pdu, varbinds)
    message = v2c.Message()
    v2c.apiMessage.set_defaults(message)
    v2c.apiMessage.set_community(message, community)
    v2c.apiMessage.set_pdu(message, pdu)
    return bytes(encoder.encode(message))


def test_every_value_type_of_a_pysnmp_response() -> None:
    data = pysnmp_response([
        (SYS_DESCR, v2c.OctetString(b"RouterOS \x00\xff" * 30)),  # long form length
        ((1, 3, 6, 1, 2, 1, 2, 2, 1, 7, 1), v2c.Integer(-5)),
        ((1, 3, 6, 1, 2, 1, 2, 2, 1, 10, 1), v2c.Counter32(4294967295)),
        ((1, 3, 6, 1, 2, 1, 2, 2, 1, 5, 1), v2c.Gauge32(1_000_000_000)),
        ((1, 3, 6, 1, 2, 1, 1, 3, 0), v2c.TimeTicks(123456)),
        (IF_HC_IN, v2c.Counter64(2**64 - 1)),
        ((1, 3, 6, 1, 2, 1, 4, 20, 1, 1, 127, 0, 0, 1), v2c.IpAddress("127.0.0.1")),
        ((1, 3, 6, 1, 2, 1, 1, 2, 0), v2c.ObjectIdentifier(BIG_ARCS)),
        ((1, 3, 6, 1, 4, 1, 14988, 1, 1, 3, 10, 0), v2c.NoSuchObject()),
        ((1, 3, 6, 1, 4, 1, 14988, 1, 1, 3, 11, 0), v2c.NoSuchInstance()),
        ((1, 3, 6, 1, 9), v2c.EndOfMibView()),
    ], request_id=2**31 - 1)
    reply = ber.decode_message(data)
    assert (reply.version, reply.community, reply.pdu_type) == (1, b"public", ber.RESPONSE)
    assert (reply.request_id, reply.error_status, reply.error_index) == (2**31 - 1, 0, 0)
    assert [value for _, value in reply.varbinds] == [
        b"RouterOS \x00\xff" * 30, -5, 4294967295, 1_000_000_000, 123456, 2**64 - 1,
        b"\x7f\x00\x00\x01", BIG_ARCS, MISSING, MISSING, END_OF_MIB]
    assert reply.varbinds[0][0] == SYS_DESCR and reply.varbinds[5][0] == IF_HC_IN


def test_error_status_and_index() -> None:
    reply = ber.decode_message(pysnmp_response([(SYS_DESCR, v2c.Null())], status=5, index=1))
    assert (reply.error_status, reply.error_index) == (5, 1)
    assert reply.varbinds == [(SYS_DESCR, MISSING)]


def test_unsigned_values_without_the_leading_zero_are_read_unsigned() -> None:
    """Some agents encode Counter32 0xFFFFFFFF as 4 bytes (no 0x00 pad): still unsigned."""
    good = pysnmp_response([(SYS_DESCR, v2c.Counter32(1))])
    lax = good.replace(b"\x41\x01\x01", b"\x41\x01\xff")
    assert ber.decode_message(lax).varbinds[0][1] == 255


GOOD = pysnmp_response([(SYS_DESCR, v2c.OctetString(b"x"))])


def tlv(tag: int, content: bytes) -> bytes:
    assert len(content) < 128
    return bytes((tag, len(content))) + content


def response_with_value(value: bytes) -> bytes:
    """A well-framed response whose one value is `value` (raw TLV)."""
    varbind = tlv(0x30, b"\x06\x08\x2b\x06\x01\x02\x01\x01\x01\x00" + value)
    pdu = tlv(0xA2, b"\x02\x01\x4d\x02\x01\x00\x02\x01\x00" + tlv(0x30, varbind))
    return tlv(0x30, b"\x02\x01\x01\x04\x06public" + pdu)


def test_the_hand_framed_response_is_well_formed() -> None:
    """The frame the malformed cases below are cut from decodes when left intact."""
    assert ber.decode_message(response_with_value(b"\x04\x01x")).varbinds == [(SYS_DESCR, b"x")]


@pytest.mark.parametrize(("data", "message"), [
    (b"", "truncated"),
    (b"\x30", "truncated"),
    (GOOD[:-1], "truncated"),
    (GOOD + b"\x00", "trailing bytes after the message"),
    (b"\x30\x80" + GOOD[2:] + b"\x00\x00", "indefinite length"),
    (GOOD.replace(b"\x02\x01\x01\x04\x06public", b"\x04\x01\x01\x04\x06public"),
     "version: tag 0x04, expected 0x02"),
    (GOOD.replace(b"\x06\x08\x2b\x06\x01\x02\x01\x01\x01\x00\x04\x01x",
                  b"\x06\x08\x2b\x06\x01\x02\x01\x01\x01\x80\x04\x01x"),
     "bad OBJECT IDENTIFIER"),  # the OID ends mid-arc
    (response_with_value(b"\x31\x01x"), "unknown value type 0x31"),
    (response_with_value(b"\x02\x00"), "empty INTEGER value"),
    (response_with_value(b"\x04\x05x"), "truncated"),  # value longer than its varbind
    (response_with_value(b"\x04\x01x\x05\x00"), "variable binding has extra fields"),
])
def test_malformed_messages_are_errors(data: bytes, message: str) -> None:
    with pytest.raises(ber.BerError, match=f"^{re.escape(message)}$"):
        ber.decode_message(data)


def test_oid_encoding_rejects_what_ber_cannot_say() -> None:
    for bad in [(3, 1), (1, 40), (1,)]:
        with pytest.raises(ValueError, match=re.escape(f"cannot encode OID {bad}")):
            ber.encode_oid(bad)

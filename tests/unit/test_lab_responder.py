"""The lab's own SNMP agent, without a socket: answers decoded as the poller decodes them,
values changed by commands, silence and reboots."""

from __future__ import annotations

import json

from netwatch.lab.responder import MAX_VARBINDS, Responder, Served
from netwatch.snmp.ber import GET, GET_BULK, GET_NEXT, decode_message, encode_request

SYS_DESCR = (1, 3, 6, 1, 2, 1, 1, 1, 0)
UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)
SIGNAL = (1, 3, 6, 1, 4, 1, 14988, 1, 1, 1, 1, 1, 4, 23)
IN_OCTETS = (1, 3, 6, 1, 2, 1, 2, 2, 1, 10, 1)


def responder() -> Responder:
    served = Served.of([(SYS_DESCR, "4", "RouterOS RB750Gr3"),
                        (UPTIME, "67:numeric", "initial=500000,rate=100"),
                        (SIGNAL, "2", "-47"),
                        (IN_OCTETS, "65:numeric", "initial=4294967000,rate=1000")])
    served.started = 1000.0
    return Responder({b"c1": served})


def ask(r: Responder, pdu: int, oids: list[tuple[int, ...]], now: float = 1010.0,
        community: bytes = b"c1", **bulk: int) -> dict[tuple[int, ...], object] | None:
    reply = r.answer(encode_request(1, community, pdu, 7, oids, **bulk), now)
    if reply is None:
        return None
    message = decode_message(reply)
    assert message.request_id == 7
    return dict(message.varbinds)


def test_get_next_and_bulk_answer_from_the_recording_with_counters_that_grow_and_wrap() -> None:
    r = responder()
    got = ask(r, GET, [SYS_DESCR, SIGNAL, UPTIME, IN_OCTETS])
    assert got is not None
    assert got[SYS_DESCR] == b"RouterOS RB750Gr3" and got[SIGNAL] == -47
    assert got[UPTIME] == 500000 + 100 * 10
    assert got[IN_OCTETS] == (4294967000 + 1000 * 10) % 2**32  # Counter32 wraps
    assert list(ask(r, GET_NEXT, [SYS_DESCR]) or {}) == [UPTIME]
    walked = ask(r, GET_BULK, [(1, 3, 6, 1)], non_repeaters=0, max_repetitions=500)
    assert walked is not None and len(walked) <= MAX_VARBINDS
    assert list(walked)[:4] == [SYS_DESCR, UPTIME, IN_OCTETS, SIGNAL]
    assert ask(r, GET, [SIGNAL], community=b"other") is None  # not a served community


def test_commands_change_a_value_silence_a_device_and_reboot_it() -> None:
    r = responder()
    fade = {"community": "c1", "set": [[".".join(map(str, SIGNAL)), "2", "-62"]]}
    assert r.command(json.dumps(fade).encode()) == "ok"
    assert (ask(r, GET, [SIGNAL]) or {})[SIGNAL] == -62
    assert r.command(b'{"community": "c1", "silent": true}') == "ok"
    assert ask(r, GET, [SIGNAL]) is None
    assert r.command(b'{"community": "c1", "silent": false, "reboot": true}') == "ok"
    after = r.devices[b"c1"].started
    got = ask(r, GET, [UPTIME, IN_OCTETS], now=after + 5)
    assert got == {UPTIME: 500, IN_OCTETS: 5000}  # from zero since the reboot
    assert r.command(b'{"community": "nobody"}').startswith("error")
    assert r.command(b"not json").startswith("error")

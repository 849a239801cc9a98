"""The v1/v2c transport against real UDP peers on loopback: request-ids demultiplex
concurrent requests, retries resend the same message, and replies from the wrong address,
with the wrong community or of the wrong kind never complete a request."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
from pyasn1.codec.ber import encoder
from pysnmp.proto import api

from netwatch.base.errors import ProbeTimeout, SnmpProtocolError
from netwatch.config.model import AuthConfig
from netwatch.lab.agents import UdpResponder
from netwatch.snmp import ber
from netwatch.snmp.session import EnginePool

v2c = api.v2c
BASE = "127.3.7"
SYS_NAME = (1, 3, 6, 1, 2, 1, 1, 5, 0)

Answer = Callable[[ber.Message, tuple[str, int], socket.socket], None]


def response(request: ber.Message, value: bytes, community: bytes | None = None) -> bytes:
    pdu = v2c.ResponsePDU()
    v2c.apiPDU.set_defaults(pdu)
    v2c.apiPDU.set_request_id(pdu, request.request_id)
    v2c.apiPDU.set_varbinds(pdu, [(oid, v2c.OctetString(value)) for oid, _ in request.varbinds])
    message = v2c.Message()
    v2c.apiMessage.set_defaults(message)
    v2c.apiMessage.set_community(message, community or request.community)
    v2c.apiMessage.set_pdu(message, pdu)
    return bytes(encoder.encode(message))


class Peer(UdpResponder):
    """An agent on loopback; `answer` decides what each decoded request gets."""

    def __init__(self, address: str, answer: Answer) -> None:
        self.requests: list[bytes] = []

        def keep_and_answer(data: bytes, peer: tuple[str, int], sock: socket.socket) -> None:
            self.requests.append(data)
            answer(ber.decode_message(data), peer, sock)

        super().__init__(address, 0, keep_and_answer)
        self.target = (self.address, self.port)


@pytest.fixture
def peers() -> Iterator[list[Peer]]:
    started: list[Peer] = []
    yield started
    for peer in started:
        peer.stop()


@pytest.fixture
async def pool() -> AsyncIterator[EnginePool]:
    engines = EnginePool()
    yield engines
    engines.close()


def v2(community: str = "public") -> AuthConfig:
    return AuthConfig.model_validate({"version": "2c", "community": community})


async def test_concurrent_requests_answered_out_of_order(peers: list[Peer],
                                                         pool: EnginePool) -> None:
    held: list[tuple[ber.Message, tuple[str, int]]] = []

    def answer_in_reverse(request: ber.Message, peer: tuple[str, int], sock: socket.socket) -> None:
        held.append((request, peer))
        if len(held) == 50:
            for req, addr in reversed(held):
                sock.sendto(response(req, str(req.varbinds[0][0][-1]).encode()), addr)

    peers.append(Peer(f"{BASE}.1", answer_in_reverse))
    session = await pool.session(*peers[0].target, v2(), timeout=3.0, retries=0)
    oids = [(*SYS_NAME[:-1], n) for n in range(50)]
    replies = await asyncio.gather(*(session.get([oid]) for oid in oids))
    assert replies == [[(oid, str(oid[-1]).encode())] for oid in oids]


async def test_ipv6_targets_share_their_own_socket(peers: list[Peer], pool: EnginePool) -> None:
    def answer(request: ber.Message, peer: tuple[str, int], sock: socket.socket) -> None:
        sock.sendto(response(request, sock.getsockname()[0].encode()), peer)

    peers.append(Peer("::1", answer))
    peers.append(Peer(f"{BASE}.7", answer))
    v6 = await pool.session(*peers[0].target, v2(), timeout=2.0, retries=0)
    v4 = await pool.session(*peers[1].target, v2(), timeout=2.0, retries=0)
    assert await v6.get([SYS_NAME]) == [(SYS_NAME, b"::1")]
    assert await v4.get([SYS_NAME]) == [(SYS_NAME, f"{BASE}.7".encode())]


async def test_retry_resends_the_same_request(peers: list[Peer], pool: EnginePool) -> None:
    def answer_second(request: ber.Message, peer: tuple[str, int], sock: socket.socket) -> None:
        if len(peers[0].requests) >= 2:
            sock.sendto(response(request, b"late but fine"), peer)

    peers.append(Peer(f"{BASE}.2", answer_second))
    session = await pool.session(*peers[0].target, v2(), timeout=0.3, retries=2)
    assert await session.get([SYS_NAME]) == [(SYS_NAME, b"late but fine")]
    assert len(peers[0].requests) == 2 and peers[0].requests[0] == peers[0].requests[1]


async def test_replies_from_elsewhere_or_for_another_community_do_not_count(
        peers: list[Peer], pool: EnginePool) -> None:
    impostor = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    impostor.bind((f"{BASE}.4", 0))

    def answer_wrongly(request: ber.Message, peer: tuple[str, int], sock: socket.socket) -> None:
        impostor.sendto(response(request, b"spoofed"), peer)  # right request-id, wrong source
        sock.sendto(response(request, b"other", community=b"secret"), peer)

    peers.append(Peer(f"{BASE}.3", answer_wrongly))
    try:
        session = await pool.session(*peers[0].target, v2(), timeout=0.3, retries=1)
        with pytest.raises(SnmpProtocolError, match="undecodable"):
            await session.get([SYS_NAME])
        assert pool.junk == {f"{BASE}.3": 2}  # the wrong community, once per try; not the impostor
    finally:
        impostor.close()


async def test_a_request_to_a_getrequest_echo_is_not_an_answer(peers: list[Peer],
                                                               pool: EnginePool) -> None:
    """An agent (or a loop) sending our GET back is not a response: no value, a timeout."""
    def echo(request: ber.Message, peer: tuple[str, int], sock: socket.socket) -> None:
        sock.sendto(peers[0].requests[-1], peer)

    peers.append(Peer(f"{BASE}.5", echo))
    session = await pool.session(*peers[0].target, v2(), timeout=0.2, retries=0)
    with pytest.raises(SnmpProtocolError, match="mismatched replies"):
        await session.get([SYS_NAME])


async def test_closing_the_pool_ends_waiting_requests(peers: list[Peer],
                                                      pool: EnginePool) -> None:
    peers.append(Peer(f"{BASE}.6", lambda request, peer, sock: None))
    session = await pool.session(*peers[0].target, v2(), timeout=30.0, retries=0)
    waiting = asyncio.ensure_future(session.get([SYS_NAME]))
    await asyncio.sleep(0.05)
    pool.close()
    with pytest.raises(ProbeTimeout, match=r"^no reply"):
        await asyncio.wait_for(waiting, 2.0)


def test_a_v2c_fleet_never_loads_pysnmp() -> None:
    """pysnmp and pyasn1 are ~30 MB of a process: only SNMPv3 targets may pull them in."""
    import subprocess
    import sys

    code = ("import sys; "
            "import netwatch.daemon.service, netwatch.snmp.prober, netwatch.snmp.session; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'pysnmp', 'pyasn1'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip() == "[]"

"""The engine's bookkeeping against a fake socket: matching, late, duplicates, wrap, errors."""

from __future__ import annotations

import asyncio
import errno
import socket
import struct
from collections import deque
from collections.abc import AsyncIterator

import pytest

from netwatch.base.slots import SlotTimers
from netwatch.icmp.engine import IcmpEngine
from netwatch.icmp.sockets import SCM_TIMESTAMPNS, IcmpSocket

IDENT = 0x5151
TARGET = "127.0.0.9"
Received = tuple[bytes, list[tuple[int, int, bytes]], int, tuple[str, int]]  # recvmsg's answer


class FakeSocket:
    """Records sends; hands out queued packets (raw IPv4: IP header first)."""

    def __init__(self) -> None:
        self.sent: list[tuple[bytes, str]] = []
        self.inbox: deque[Received] = deque()
        self.send_error: OSError | None = None

    def fileno(self) -> int:
        return -1

    def sendto(self, data: bytes, address: tuple[str, int]) -> int:
        if self.send_error is not None:
            raise self.send_error
        self.sent.append((data, address[0]))
        return len(data)

    def recvmsg(self, *_: object) -> Received:
        if not self.inbox:
            raise BlockingIOError
        return self.inbox.popleft()

    def close(self) -> None:
        pass


class Sink:
    def __init__(self) -> None:
        self.late = 0
        self.duplicates = 0

    def count_late(self, n: int = 1) -> None:
        self.late += n

    def count_duplicate(self, n: int = 1) -> None:
        self.duplicates += n


def _ip(src: str) -> bytes:
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 0, 0, 0, 64, 1, 0, socket.inet_aton(src),
                       socket.inet_aton("127.0.0.1"))


Engine = tuple[IcmpEngine, FakeSocket]


@pytest.fixture
async def engine() -> AsyncIterator[Engine]:
    fake = FakeSocket()
    eng = IcmpEngine(socket.AF_INET)
    eng._socket = IcmpSocket(
        fake, socket.AF_INET, True, IDENT)  # type: ignore[arg-type]  # a fake of socket.socket
    eng._loop = asyncio.get_running_loop()
    eng._timers = SlotTimers(eng._loop, before_slot=eng._read_if_due)
    eng._reading = True  # nothing registered with the loop: the fake has no file descriptor
    yield eng, fake
    eng._timers.close()


def reply_to(fake: FakeSocket, index: int, delay: float, sent_at: float, *, source: str = TARGET,
             ident: int = IDENT, mangle_generation: bool = False) -> None:
    """Queue the reply to the index-th sent echo, stamped `delay` after `sent_at`."""
    echo = bytearray(fake.sent[index][0])
    echo[0] = 0
    struct.pack_into("!H", echo, 4, ident)
    if mangle_generation:
        echo[8] ^= 0xFF
    stamp = sent_at + delay
    ancillary = [(socket.SOL_SOCKET, SCM_TIMESTAMPNS,
                  struct.pack("qq", int(stamp), int((stamp % 1) * 1e9)))]
    fake.inbox.append((_ip(source) + bytes(echo), ancillary, 0, (source, 0)))


def sent_time(eng: IcmpEngine, fake: FakeSocket, index: int) -> float:
    seq = struct.unpack_from("!H", fake.sent[index][0], 6)[0]
    return float(eng._sent_at[seq])


async def test_answers_end_the_round_early_with_their_rtts(engine: Engine) -> None:
    eng, fake = engine
    future = eng.ping(TARGET, 1, 0.01, 5.0)
    reply_to(fake, 0, 0.000123, sent_time(eng, fake, 0))
    eng._on_readable()
    result = await asyncio.wait_for(future, 1)  # long before the 5 s timeout
    assert result.sent == 1 and result.ok and result.reason is None
    assert result.rtts[0] == pytest.approx(0.000123, abs=2e-6)


async def test_foreign_identifier_source_or_generation_is_not_an_answer(engine: Engine) -> None:
    eng, fake = engine
    future = eng.ping(TARGET, 1, 0.01, 0.05)
    sent = sent_time(eng, fake, 0)
    reply_to(fake, 0, 0.001, sent, ident=IDENT + 1)  # another pinger on the host
    reply_to(fake, 0, 0.001, sent, source="127.0.0.10")  # right numbers, wrong host
    reply_to(fake, 0, 0.001, sent, mangle_generation=True)  # an older echo, wrapped seq
    eng._on_readable()
    result = await asyncio.wait_for(future, 1)
    assert not result.ok and result.reason == "timeout" and result.loss_ratio == 1.0
    assert eng.strays == 2  # the foreign identifier is not even ours to count


async def test_duplicates_and_late_replies_are_counted_not_answers(engine: Engine) -> None:
    eng, fake = engine
    sink = Sink()
    future = eng.ping(TARGET, 2, 0.05, 0.02, sink=sink)
    first = sent_time(eng, fake, 0)
    reply_to(fake, 0, 0.001, first)
    reply_to(fake, 0, 0.002, first)  # duplicate while the round runs
    eng._on_readable()
    for _ in range(100):  # the second echo goes out after the spacing
        if len(fake.sent) == 2:
            break
        await asyncio.sleep(0.01)
    reply_to(fake, 1, 0.5, sent_time(eng, fake, 1))  # slower than the 20 ms timeout
    eng._on_readable()
    result = await asyncio.wait_for(future, 1)
    assert result.rtts and len(result.rtts) == 1
    assert (result.duplicates, result.late, result.sent) == (1, 1, 2)
    # after the round: both kinds reach the sink (the target's series)
    reply_to(fake, 0, 0.003, first)
    reply_to(fake, 1, 0.6, sent_time(eng, fake, 1))
    eng._on_readable()
    assert (sink.duplicates, sink.late) == (2, 0)  # both echoes already had their reply
    assert result.late == 1


async def test_reply_after_round_end_reaches_sink_as_late(engine: Engine) -> None:
    eng, fake = engine
    sink = Sink()
    result = await eng.ping(TARGET, 1, 0.01, 0.01, sink=sink)
    assert result.reason == "timeout"
    reply_to(fake, 0, 0.005, sent_time(eng, fake, 0))  # in time by the stamp, but too late to count
    eng._on_readable()
    assert sink.late == 1 and result.rtts == ()


async def test_wrapped_sequence_never_matches_the_old_entry(engine: Engine) -> None:
    eng, fake = engine
    eng._counter = 0xFFFF - 1  # the next two echoes straddle a wrap of the 16-bit sequence
    old = await eng.ping(TARGET, 1, 0.01, 0.01)
    assert old.reason == "timeout"
    eng._counter += 0xFFFF  # 65535 echoes later the same 16-bit number comes round again
    future = eng.ping(TARGET, 1, 0.01, 0.05)
    assert fake.sent[0][0][6:8] == fake.sent[1][0][6:8]  # same sequence number on the wire
    reply_to(fake, 0, 0.001, sent_time(eng, fake, 1))  # the OLD echo's reply arrives now
    eng._on_readable()
    assert not future.done()
    reply_to(fake, 1, 0.001, sent_time(eng, fake, 1))
    eng._on_readable()
    assert (await future).ok


async def test_a_waiting_echo_keeps_its_sequence_number(engine: Engine) -> None:
    eng, fake = engine
    waiting = eng.ping(TARGET, 1, 0.01, 5.0)
    seq = struct.unpack_from("!H", fake.sent[0][0], 6)[0]
    eng._counter += 0xFFFF  # the counter comes round to the waiting echo's number
    eng.ping(TARGET, 1, 0.01, 5.0)
    assert struct.unpack_from("!H", fake.sent[1][0], 6)[0] != seq
    waiting.cancel()


async def test_icmp_error_quoting_our_echo_makes_the_round_unreachable(engine: Engine) -> None:
    eng, fake = engine
    future = eng.ping("198.18.0.7", 1, 0.01, 5.0)
    echo = fake.sent[0][0]
    quoted = (struct.pack("!BBHHHBBH4s4s", 0x45, 0, 0, 0, 0, 64, 1, 0,
                          socket.inet_aton("127.0.0.1"), socket.inet_aton("198.18.0.7"))
              + echo[:16])
    error = bytes([3, 1, 0, 0, 0, 0, 0, 0]) + quoted
    fake.inbox.append((_ip("198.18.0.254") + error, [], 0, ("198.18.0.254", 0)))
    eng._on_readable()
    result = await asyncio.wait_for(future, 1)
    assert result.unreachable == 1 and result.reason == "unreachable"


async def test_send_failure_for_an_unroutable_address_is_unreachable(engine: Engine) -> None:
    eng, fake = engine
    fake.send_error = OSError(errno.ENETUNREACH, "Network is unreachable")
    result = await asyncio.wait_for(eng.ping(TARGET, 2, 0.001, 5.0), 1)
    assert (result.sent, result.unreachable, result.reason) == (2, 2, "unreachable")


async def test_cancelled_round_stops_sending(engine: Engine) -> None:
    eng, fake = engine
    future = eng.ping(TARGET, 5, 0.01, 1.0)
    future.cancel()
    await asyncio.sleep(0.05)
    assert len(fake.sent) == 1

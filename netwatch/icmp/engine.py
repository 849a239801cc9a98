"""The ICMP echo engine: one shared socket per address family, thousands of rounds at once.

A *round* is one poll of one target: `count` echoes `spacing` apart, each answered within
`timeout` or lost. Everything per echo is a few integer operations and one `loop.call_at`:

- echoes are built from a template (netwatch.icmp.packet) with a per-engine random
  identifier; a 16-bit sequence from one counter per engine keys the pending table, and the
  counter's high bits (the *generation*) ride in the payload, so a reply to an echo whose
  sequence number has since wrapped never matches the newer entry (payloads too short to
  carry it fall back to "a reply cannot predate its request" and the source check);
- one reader callback drains the socket on readability; receive times come from the kernel
  (SO_TIMESTAMPNS), send times are taken right before each send, so a busy loop delays
  neither; a reply is checked against the address its echo went to;
- a reply slower than `timeout`, or arriving after its round ended, is *late*; a second reply
  to an answered echo is a *duplicate*: both are counted (in the round while it runs, then
  through the round's sink, the target's series) and never taken as answers;
- ICMP errors quoting our echo (destination unreachable, time exceeded) end that echo and
  make the round's reason `unreachable` when nothing answered.

Per echo nothing is allocated but the packet (the bookkeeping lives in preallocated arrays
indexed by sequence number); per round, one Round, which reports through a callback
(`start_round`; `ping` wraps it in a Future for callers that await). Timers are grouped into
slots of a few milliseconds (netwatch.base.slots), and replies are read once per slot.
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import struct
import time
from array import array
from collections.abc import Callable
from typing import Protocol

import structlog

from netwatch.base.slots import SlotTimers
from netwatch.icmp import packet
from netwatch.icmp.result import IcmpResult
from netwatch.icmp.sockets import IcmpSocket, Mode, open_icmp

log = structlog.get_logger("netwatch.icmp")

_STAMP = struct.Struct("qq")
_ID_SEQ = struct.Struct("!HH")
_GEN = struct.Struct("!I")
_ANCILLARY = socket.CMSG_SPACE(_STAMP.size)
_ERR_ANCILLARY = socket.CMSG_SPACE(512)
_BUFFER = 65536 + 128
_SEQ_SPACE = 0x10000
_SO_EE_ORIGIN_ICMP = (2, 3)  # ICMP, ICMP6: errors a router or the target sent back

WAITING, ANSWERED, FAILED = 0, 1, 2
_NO_RTTS: list[float] = []  # an ended round's (never appended to: closed rounds take no RTTs)


def _NOTHING(result: IcmpResult) -> None:
    """An ended round's callback."""
# send errors that mean "this destination cannot be reached" rather than "try later"
_UNREACHABLE_ERRNOS = {errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EADDRNOTAVAIL,
                       errno.EACCES, errno.EPERM, errno.EINVAL, errno.ENETDOWN, errno.EHOSTDOWN}


class RoundSink(Protocol):
    """Where replies that arrive after a round ended are counted (the target's series)."""

    def count_late(self, n: int = 1) -> None: ...

    def count_duplicate(self, n: int = 1) -> None: ...


class Round:
    __slots__ = (
        "address",
        "closed",
        "count",
        "done",
        "duplicates",
        "late",
        "open",
        "rtts",
        "sent",
        "sink",
        "spacing",
        "started",
        "template",
        "timeout",
        "unreachable",
    )

    def __init__(self, address: str, count: int, spacing: float, timeout: float,
                 template: packet.EchoTemplate, sink: RoundSink | None,
                 done: Callable[[IcmpResult], object], started: float) -> None:
        self.address = address
        self.count = count
        self.spacing = spacing
        self.timeout = timeout
        self.template = template
        self.sink = sink
        self.done = done  # called once with the result, unless the round is cancelled
        self.started = started  # loop time of the first echo
        self.sent = 0
        self.open = 0  # echoes sent and neither answered nor failed
        self.rtts: list[float] = []
        self.late = 0
        self.duplicates = 0
        self.unreachable = 0
        self.closed = False

    def cancel(self) -> None:
        """Stop the round (its deadline passed): no more echoes, no result; replies still
        arriving count as late."""
        self.closed = True


class IcmpEngine:
    """Echo rounds over one shared socket of one address family."""

    def __init__(self, family: socket.AddressFamily, mode: Mode = "auto") -> None:
        self.family = family
        self.mode = mode
        self.v6 = family == socket.AF_INET6
        self._proto = packet.V6 if self.v6 else packet.V4
        self._socket: IcmpSocket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timers: SlotTimers | None = None
        self._reading = False  # the reader is registered (else a slot read is due)
        # per 16-bit sequence number: preallocated, so an echo allocates nothing
        self._round_of: list[Round | None] = [None] * _SEQ_SPACE
        self._sent_at = array("d", bytes(8 * _SEQ_SPACE))  # wall clock right before the send
        self._generation_of = array("q", [-1]) * _SEQ_SPACE  # -1: payload too short to carry one
        self._state_of = bytearray(_SEQ_SPACE)
        self._counter = 0
        self._templates: dict[int, packet.EchoTemplate] = {}
        self.strays = 0  # replies with our identifier that matched nothing
        self.send_errors = 0

    # --- lifecycle ------------------------------------------------------------
    @property
    def ident(self) -> int:
        assert self._socket is not None
        return self._socket.ident

    @property
    def raw(self) -> bool:
        return self._socket is not None and self._socket.raw

    @property
    def started(self) -> bool:
        return self._socket is not None

    def start(self) -> None:
        """Open the socket (raises StartupError or FamilyUnavailable) and start reading."""
        self._loop = asyncio.get_running_loop()
        self._socket = open_icmp(self.family, self.mode)
        self._timers = SlotTimers(self._loop, before_slot=self._read_if_due)
        self._counter = int.from_bytes(os.urandom(2), "big")
        self._loop.add_reader(self._socket.sock.fileno(), self._on_ready)
        self._reading = True
        log.debug("icmp_engine_started", family="ipv6" if self.v6 else "ipv4",
                  raw=self._socket.raw, ident=self._socket.ident)

    def close(self) -> None:
        if self._socket is None:
            return
        assert self._loop is not None and self._timers is not None
        if self._reading:
            self._loop.remove_reader(self._socket.sock.fileno())
        self._timers.close()
        self._socket.sock.close()
        self._socket = None
        for rnd in {r for r in self._round_of if r is not None and not r.closed}:
            self._finish(rnd)
        self._round_of = [None] * _SEQ_SPACE

    # --- rounds ---------------------------------------------------------------
    def start_round(self, address: str, count: int, spacing: float, timeout: float,
                    size: int, sink: RoundSink | None,
                    done: Callable[[IcmpResult], object]) -> Round:
        """Start a round; `done(result)` runs when it ends. `address` must be a literal in the
        socket's own spelling (see `normalize`)."""
        loop = self._loop
        assert loop is not None and self._socket is not None, "engine not started"
        template = self._templates.get(size)
        if template is None:
            template = self._templates[size] = packet.EchoTemplate(self._proto, self.ident, size)
        rnd = Round(address, count, spacing, timeout, template, sink, done, loop.time())
        self._send(rnd)
        return rnd

    def ping(self, address: str, count: int, spacing: float, timeout: float, size: int = 56,
             sink: RoundSink | None = None) -> asyncio.Future[IcmpResult]:
        """A round as a future (cancelling it cancels the round)."""
        assert self._loop is not None, "engine not started"
        future: asyncio.Future[IcmpResult] = self._loop.create_future()

        def done(result: IcmpResult) -> None:
            if not future.done():
                future.set_result(result)

        rnd = self.start_round(address, count, spacing, timeout, size, sink, done)
        future.add_done_callback(lambda f: rnd.cancel() if f.cancelled() else None)
        return future

    def _send(self, rnd: Round) -> None:
        if rnd.closed:  # cancelled (the poll's deadline): stop sending
            return
        seq = self._next_seq()
        generation = (self._counter >> 16) & 0xFFFFFFFF
        template = rnd.template
        data = template.packet(seq, generation)
        self._round_of[seq] = rnd
        self._generation_of[seq] = generation if template.carries_generation else -1
        self._state_of[seq] = WAITING
        rnd.sent += 1
        rnd.open += 1
        assert self._socket is not None and self._timers is not None
        self._sent_at[seq] = time.time()
        try:
            self._socket.sock.sendto(data, (rnd.address, 0))
        except OSError as exc:
            self._send_failed(seq, rnd, exc)
        if rnd.sent < rnd.count:
            self._timers.at(rnd.started + rnd.sent * rnd.spacing, self._send, rnd)
        elif rnd.open == 0:
            self._finish(rnd)
        else:
            assert self._loop is not None
            self._timers.at(self._loop.time() + rnd.timeout, self._expire, rnd)

    def _send_failed(self, seq: int, rnd: Round, exc: OSError) -> None:
        self.send_errors += 1
        if exc.errno in _UNREACHABLE_ERRNOS:
            self._state_of[seq] = FAILED
            rnd.open -= 1
            rnd.unreachable += 1
        # else (buffer full, ...): the echo stays open and times out as a loss
        log.debug("icmp_send_failed", address=rnd.address, error=exc.strerror)

    def _next_seq(self) -> int:
        """The next sequence number whose entry may be replaced (advances the counter)."""
        round_of, state_of = self._round_of, self._state_of
        for _ in range(_SEQ_SPACE):
            self._counter += 1
            seq = self._counter & 0xFFFF
            old = round_of[seq]
            # an echo still waiting inside a running round keeps its number
            if old is None or state_of[seq] != WAITING or old.closed:
                return seq
        raise RuntimeError("65536 echoes waiting for replies: cannot send more")

    def _expire(self, rnd: Round) -> None:
        """The last echo's timeout (the slot already read what the kernel had)."""
        if not rnd.closed:
            self._finish(rnd)

    def _finish(self, rnd: Round) -> None:
        if rnd.closed:
            return
        rnd.closed = True
        done, rnd.done = rnd.done, _NOTHING  # the round stays referenced (late replies) until
        done(IcmpResult(rnd.sent, tuple(rnd.rtts), rnd.duplicates, rnd.unreachable,  # its
                        rnd.late))  # sequence numbers are reused: keep it small meanwhile
        rnd.rtts = _NO_RTTS

    # --- replies --------------------------------------------------------------
    def _on_ready(self) -> None:
        """Replies are waiting: read them at the next slot, all at once. The kernel stamped
        them on arrival, so waiting costs no accuracy, and with thousands of targets one
        wake per slot replaces one per reply."""
        assert self._loop is not None and self._socket is not None and self._timers is not None
        self._loop.remove_reader(self._socket.sock.fileno())
        self._reading = False
        self._timers.soon()

    def _read_if_due(self) -> None:
        """At every slot: drain the socket (also before rounds of this slot end)."""
        if self._socket is None or self._loop is None:
            return
        self._on_readable()
        if not self._reading:
            self._loop.add_reader(self._socket.sock.fileno(), self._on_ready)
            self._reading = True

    def _on_readable(self) -> None:
        sock = self._socket
        if sock is None:
            return
        recvmsg = sock.sock.recvmsg
        round_of, generation_of = self._round_of, self._generation_of
        ident = sock.ident
        raw_v4 = sock.raw and not self.v6
        reply_type = self._proto.reply
        for _ in range(100_000):  # bounded: yield to the loop eventually even under a flood
            try:
                data, ancillary, _flags, source = recvmsg(_BUFFER, _ANCILLARY)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:  # a queued ICMP error surfaced on a ping socket
                break
            start = (data[0] & 0x0F) * 4 if raw_v4 else 0
            if len(data) < start + 8:
                continue
            if data[start] != reply_type:
                self._on_error_packet(data, source[0])
                continue
            reply_ident, seq = _ID_SEQ.unpack_from(data, start + 4)
            rnd = round_of[seq]
            if reply_ident != ident or rnd is None:
                continue
            generation = generation_of[seq]
            if generation >= 0 and (len(data) < start + 12
                                    or _GEN.unpack_from(data, start + 8)[0] != generation):
                self.strays += 1  # a reply to an older echo that had this sequence number
                continue
            if source[0] != rnd.address:
                self.strays += 1
                continue
            if ancillary:
                seconds, nanos = _STAMP.unpack_from(ancillary[0][2])
                received = seconds + nanos * 1e-9
            else:
                received = time.time()
            self._answer(seq, rnd, received)
        if not sock.raw:
            self._drain_error_queue(sock)

    def _answer(self, seq: int, rnd: Round, received: float) -> None:
        state = self._state_of[seq]
        if state != WAITING:
            if state == ANSWERED:
                if rnd.closed:
                    if rnd.sink is not None:
                        rnd.sink.count_duplicate()
                else:
                    rnd.duplicates += 1
            return
        rtt = received - self._sent_at[seq]
        if rtt < 0:  # predates the request: a reply to an older echo with this number
            self.strays += 1
            return
        self._state_of[seq] = ANSWERED
        if rnd.closed:
            if rnd.sink is not None:
                rnd.sink.count_late()
            return
        rnd.open -= 1
        if rtt > rnd.timeout:
            rnd.late += 1
        else:
            rnd.rtts.append(rtt)
        if rnd.open == 0 and rnd.sent == rnd.count:
            self._finish(rnd)

    def _on_error_packet(self, data: bytes, source: str) -> None:
        """An ICMP error on a raw socket: does it quote one of our echoes?"""
        parsed = packet.parse_icmp(data, self._proto) if self.v6 else packet.parse_v4_raw(data)
        if parsed is not None and parsed.kind == packet.ERROR:
            self._fail(parsed, parsed.target)

    def _fail(self, parsed: packet.Parsed, target: str) -> None:
        seq = parsed.seq
        rnd = self._round_of[seq]
        if rnd is None or parsed.ident != self.ident or self._state_of[seq] != WAITING:
            return
        generation = self._generation_of[seq]
        if generation >= 0 and parsed.generation not in (None, generation):
            return
        if target != rnd.address or rnd.closed:
            return
        self._state_of[seq] = FAILED
        rnd.open -= 1
        rnd.unreachable += 1
        if rnd.open == 0 and rnd.sent == rnd.count:
            self._finish(rnd)

    def _drain_error_queue(self, sock: IcmpSocket) -> None:
        """Ping sockets queue ICMP errors (IP_RECVERR): the quoted echo, its destination."""
        for _ in range(10_000):
            try:
                data, ancillary, _flags, dest = sock.sock.recvmsg(
                    _BUFFER, _ERR_ANCILLARY, socket.MSG_ERRQUEUE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            origin = next((cm[2][4] for cm in ancillary if cm[1] in (11, 25) and len(cm[2]) > 4),
                          None)
            if origin not in _SO_EE_ORIGIN_ICMP or len(data) < 8 or data[0] != self._proto.request:
                continue
            ident, seq = _ID_SEQ.unpack_from(data, 4)
            generation = _GEN.unpack_from(data, 8)[0] if len(data) >= 12 else None
            self._fail(packet.Parsed(packet.ERROR, ident, seq, generation), normalize(dest[0]))


def normalize(address: str) -> str:
    """A literal as the kernel spells source addresses (what replies are matched against)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    return socket.inet_ntop(family, socket.inet_pton(family, address))

"""A small ICMP echo responder with a fixed delay, for namespaces whose kernel echo is off.

    python -m netwatch.lab.echo --delay 20ms [--duplicate] [--drop-every N] [--lifetime 1h]
                                [--realtime]

Run it inside a namespace after `Namespace.set_echo(False)`: it answers every echo request
(IPv4 and IPv6) sent to any address of the namespace after `--delay`, from the address the
request was sent to. `--duplicate` answers twice, `--drop-every N` leaves every Nth request
unanswered. Prints `ready` on stdout once listening. Bounded: at most `--max-pending` replies
wait at a time, and it exits on SIGTERM/SIGINT or after `--lifetime`. Needs CAP_NET_RAW.
The lab uses it for latency, the benchmarks as their "RTT truth" target, the tests for late
and duplicate replies.

The delay is exact to a few microseconds on an idle machine: each reply is due `delay` after
the request's kernel arrival stamp (not after this process got round to reading it), and a
sender thread sleeps until just before that moment and spins the rest (asyncio timers round
their sleeps up to the next millisecond: +0.5 ms on average). `--realtime` (root) runs the
sender thread under SCHED_FIFO, so a loaded machine does not delay its wake-up either.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import heapq
import itertools
import os
import signal
import socket
import struct
import sys
import threading
import time

from netwatch.config.types import parse_duration
from netwatch.icmp import packet
from netwatch.icmp.sockets import (
    ICMP6_FILTER,
    ICMP_FILTER,
    SCM_TIMESTAMPNS,
    SO_TIMESTAMPNS,
    SOL_RAW,
)

IP_PKTINFO = 8
IPV6_RECVPKTINFO = 49
IPV6_PKTINFO = 50
PR_SET_TIMERSLACK = 29
SPIN = 0.0003  # seconds before a reply is due that the sender stops sleeping and spins

Ancillary = list[tuple[int, int, bytes]]


class Sender(threading.Thread):
    """Sends each queued reply at its due time (wall clock, like the kernel's stamps)."""

    def __init__(self, realtime: bool, spin: float = SPIN) -> None:
        super().__init__(name="echo-sender", daemon=True)
        self.realtime = realtime
        self.spin = spin
        self._due: list[tuple[float, int, socket.socket, bytes, str, Ancillary]] = []
        self._order = itertools.count()  # ties keep arrival order
        self._wake = threading.Condition()
        self._stopped = False
        self.pending = 0

    def put(self, due: float, sock: socket.socket, reply: bytes, destination: str,
            pktinfo: Ancillary) -> None:
        with self._wake:
            heapq.heappush(self._due, (due, next(self._order), sock, reply, destination, pktinfo))
            self.pending += 1
            if self._due[0][0] == due:  # earlier than what the thread sleeps for
                self._wake.notify()

    def stop(self) -> None:
        with self._wake:
            self._stopped = True
            self._wake.notify()

    def run(self) -> None:
        self._tune()
        while True:
            with self._wake:
                if self._stopped:
                    return
                if not self._due:
                    self._wake.wait()
                    continue
                wait = self._due[0][0] - time.time() - self.spin
                if wait > 0:
                    self._wake.wait(wait)
                    continue
                due, _, sock, reply, destination, pktinfo = heapq.heappop(self._due)
                self.pending -= 1
            while time.time() < due:  # the last few hundred microseconds
                pass
            try:
                sock.sendmsg([reply], pktinfo, 0, (destination, 0))
            except OSError as exc:
                print(f"echo: send to {destination} failed: {exc}", file=sys.stderr)

    def _tune(self) -> None:
        """Wake up on time: SCHED_FIFO when asked and permitted, else minimal timer slack."""
        if self.realtime:
            try:
                os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))  # this thread
                return
            except (PermissionError, OSError) as exc:
                print(f"echo: no realtime scheduling ({exc}); timing may drift under load",
                      file=sys.stderr)
        # without it: the default slack (50 us), still well inside the spin window
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_TIMERSLACK, 1, 0, 0, 0)


class Responder:
    def __init__(self, delay: float, duplicate: bool, drop_every: int, max_pending: int,
                 realtime: bool = False) -> None:
        self.delay = delay
        self.copies = 2 if duplicate else 1
        self.drop_every = drop_every
        self.max_pending = max_pending
        self.requests = 0
        self.loop = asyncio.get_running_loop()
        self.sender = Sender(realtime)
        self.v4 = self._open_v4()
        self.v6 = self._open_v6()

    @staticmethod
    def _open_v4() -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        sock.setblocking(False)
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        blocked = ~(1 << packet.ECHO_REQUEST_V4) & 0xFFFFFFFF
        sock.setsockopt(SOL_RAW, ICMP_FILTER, struct.pack("I", blocked))
        return sock

    @staticmethod
    def _open_v6() -> socket.socket | None:
        try:
            sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
        except OSError:
            return None
        sock.setblocking(False)
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        words = [0xFFFFFFFF] * 8
        t = packet.ECHO_REQUEST_V6
        words[t >> 5] &= ~(1 << (t & 31)) & 0xFFFFFFFF
        sock.setsockopt(socket.IPPROTO_ICMPV6, ICMP6_FILTER, struct.pack("8I", *words))
        sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVPKTINFO, 1)
        return sock

    @property
    def pending(self) -> int:
        return self.sender.pending

    def start(self) -> None:
        self.sender.start()
        self.loop.add_reader(self.v4.fileno(), self._read, self.v4, False)
        if self.v6 is not None:
            self.loop.add_reader(self.v6.fileno(), self._read, self.v6, True)

    def _read(self, sock: socket.socket, v6: bool) -> None:
        for _ in range(1000):
            try:
                data, ancillary, _flags, source = sock.recvmsg(65536, 256)
            except (BlockingIOError, InterruptedError):
                return
            # due `delay` after the request's kernel arrival stamp, not after this loop got
            # round to reading it: the delay stays exact under load
            arrived = next((_stamp(c[2]) for c in ancillary
                            if c[0] == socket.SOL_SOCKET and c[1] == SCM_TIMESTAMPNS), None)
            arrived = time.time() if arrived is None else arrived
            reply, pktinfo = (self._reply_v6(data, ancillary) if v6
                              else self._reply_v4(data))
            if reply is None:
                continue
            self.requests += 1
            if self.drop_every and self.requests % self.drop_every == 0:
                continue
            for copy in range(self.copies):
                if self.sender.pending >= self.max_pending:
                    break
                # the duplicate follows 1 ms after the first copy
                self.sender.put(arrived + self.delay + copy * 0.001, sock, reply, source[0],
                                pktinfo)

    @staticmethod
    def _reply_v4(data: bytes) -> tuple[bytes | None, Ancillary]:
        header = (data[0] & 0x0F) * 4
        icmp = data[header:]
        if len(icmp) < 8 or icmp[0] != packet.ECHO_REQUEST_V4:
            return None, []
        body = bytes((packet.ECHO_REPLY_V4, 0, 0, 0)) + icmp[4:]
        check = packet.checksum(body)
        reply = body[:2] + struct.pack("!H", check) + body[4:]
        # answer from the address the request went to (the namespace may hold several)
        pktinfo = struct.pack("=I4s4s", 0, data[16:20], b"\0" * 4)
        return reply, [(socket.IPPROTO_IP, IP_PKTINFO, pktinfo)]

    @staticmethod
    def _reply_v6(data: bytes, ancillary: Ancillary) -> tuple[bytes | None, Ancillary]:
        if len(data) < 8 or data[0] != packet.ECHO_REQUEST_V6:
            return None, []
        reply = bytes((packet.ECHO_REPLY_V6, 0, 0, 0)) + data[4:]  # kernel fills the checksum
        info = [(level, kind, value) for level, kind, value in ancillary
                if level == socket.IPPROTO_IPV6 and kind == IPV6_PKTINFO]
        if not info:
            return reply, []
        return reply, [(socket.IPPROTO_IPV6, IPV6_PKTINFO, info[0][2][:16] + bytes(4))]

    def close(self) -> None:
        self.sender.stop()
        self.sender.join(timeout=2)
        for sock in (self.v4, self.v6):
            if sock is not None:
                self.loop.remove_reader(sock.fileno())
                sock.close()


def _stamp(data: bytes) -> float:
    seconds, nanos = struct.unpack("qq", data[:16])
    return float(seconds + nanos * 1e-9)


async def serve(args: argparse.Namespace) -> int:
    # the sender thread needs the GIL on time even while the reader drains a burst
    sys.setswitchinterval(0.0005)
    responder = Responder(args.delay, args.duplicate, args.drop_every, args.max_pending,
                          args.realtime)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        responder.loop.add_signal_handler(sig, stop.set)
    responder.start()
    print("ready", flush=True)
    try:
        await asyncio.wait_for(stop.wait(), timeout=args.lifetime)
    except TimeoutError:
        pass
    finally:
        responder.close()
    return 0


def _delay(text: str) -> float:
    """A reply delay: any positive duration up to a minute (a config's polling durations
    start at 10 ms; a simulated link may answer faster)."""
    return parse_duration(text, low=1e-6, high=60.0)


def _lifetime(text: str) -> float:
    return parse_duration(text, low=1.0, high=7 * 86400.0)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m netwatch.lab.echo",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--delay", type=_delay, default=0.02, help="e.g. 20ms")
    parser.add_argument("--duplicate", action="store_true", help="answer every request twice")
    parser.add_argument("--drop-every", type=int, default=0, metavar="N",
                        help="leave every Nth request unanswered")
    parser.add_argument("--lifetime", type=_lifetime, default=86400.0,
                        help="exit after this long (default 1d)")
    parser.add_argument("--max-pending", type=int, default=100_000,
                        help="replies waiting at most at once (more are dropped)")
    parser.add_argument("--realtime", action="store_true",
                        help="send under SCHED_FIFO (root): exact delays on a loaded machine")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(serve(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())

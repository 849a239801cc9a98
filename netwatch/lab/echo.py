"""A small ICMP echo responder with a fixed delay, for namespaces whose kernel echo is off.

    python -m netwatch.lab.echo --delay 20ms [--duplicate] [--drop-every N] [--lifetime 1h]

Run it inside a namespace after `Namespace.set_echo(False)`: it answers every echo request
(IPv4 and IPv6) sent to any address of the namespace after `--delay`, from the address the
request was sent to. `--duplicate` answers twice, `--drop-every N` leaves every Nth request
unanswered. Prints `ready` on stdout once listening. Bounded: at most `--max-pending` replies
wait at a time, and it exits on SIGTERM/SIGINT or after `--lifetime`. Needs CAP_NET_RAW.
The lab uses it for latency, the benchmarks as their "RTT truth" target, the tests for late
and duplicate replies.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket
import struct
import sys
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


class Responder:
    def __init__(self, delay: float, duplicate: bool, drop_every: int, max_pending: int) -> None:
        self.delay = delay
        self.copies = 2 if duplicate else 1
        self.drop_every = drop_every
        self.max_pending = max_pending
        self.pending = 0
        self.requests = 0
        self.loop = asyncio.get_running_loop()
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

    def start(self) -> None:
        self.loop.add_reader(self.v4.fileno(), self._read, self.v4, False)
        if self.v6 is not None:
            self.loop.add_reader(self.v6.fileno(), self._read, self.v6, True)

    def _read(self, sock: socket.socket, v6: bool) -> None:
        for _ in range(1000):
            try:
                data, ancillary, _flags, source = sock.recvmsg(65536, 256)
            except (BlockingIOError, InterruptedError):
                return
            # hold each request `delay` from its kernel arrival stamp, not from when this
            # loop got round to reading it: the delay stays exact under load
            stamp = next((c[2] for c in ancillary
                          if c[0] == socket.SOL_SOCKET and c[1] == SCM_TIMESTAMPNS), None)
            held = 0.0
            if stamp is not None:
                seconds, nanos = struct.unpack("qq", stamp[:16])
                held = max(0.0, time.time() - (seconds + nanos * 1e-9))
            reply, pktinfo = (self._reply_v6(data, ancillary) if v6
                              else self._reply_v4(data))
            if reply is None:
                continue
            self.requests += 1
            if self.drop_every and self.requests % self.drop_every == 0:
                continue
            for copy in range(self.copies):
                if self.pending >= self.max_pending:
                    break
                self.pending += 1
                # the duplicate follows 1 ms after the first copy
                self.loop.call_later(max(0.0, self.delay - held) + copy * 0.001, self._send,
                                     sock, reply, source, pktinfo)

    @staticmethod
    def _reply_v4(data: bytes) -> tuple[bytes | None, list[tuple[int, int, bytes]]]:
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
    def _reply_v6(data: bytes, ancillary: list[tuple[int, int, bytes]]
                  ) -> tuple[bytes | None, list[tuple[int, int, bytes]]]:
        if len(data) < 8 or data[0] != packet.ECHO_REQUEST_V6:
            return None, []
        reply = bytes((packet.ECHO_REPLY_V6, 0, 0, 0)) + data[4:]  # kernel fills the checksum
        info = [(level, kind, value) for level, kind, value in ancillary
                if level == socket.IPPROTO_IPV6 and kind == IPV6_PKTINFO]
        return reply, [(socket.IPPROTO_IPV6, IPV6_PKTINFO, info[0][2][:16] + bytes(4))] if info else []

    def _send(self, sock: socket.socket, reply: bytes, source: tuple[object, ...],
              pktinfo: list[tuple[int, int, bytes]]) -> None:
        self.pending -= 1
        try:
            sock.sendmsg([reply], pktinfo, 0, (source[0], 0))
        except OSError as exc:
            print(f"echo: send to {source[0]} failed: {exc}", file=sys.stderr)

    def close(self) -> None:
        for sock in (self.v4, self.v6):
            if sock is not None:
                self.loop.remove_reader(sock.fileno())
                sock.close()


async def serve(args: argparse.Namespace) -> int:
    responder = Responder(args.delay, args.duplicate, args.drop_every, args.max_pending)
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


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m netwatch.lab.echo",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--delay", type=parse_duration, default=0.02, help="e.g. 20ms")
    parser.add_argument("--duplicate", action="store_true", help="answer every request twice")
    parser.add_argument("--drop-every", type=int, default=0, metavar="N",
                        help="leave every Nth request unanswered")
    parser.add_argument("--lifetime", type=parse_duration, default=86400.0,
                        help="exit after this long (default 1d)")
    parser.add_argument("--max-pending", type=int, default=100_000,
                        help="replies waiting at most at once (more are dropped)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(serve(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())

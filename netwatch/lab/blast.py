"""A bounded UDP stream at a fixed rate: fills a lab uplink so its counters show saturation.

    python -m netwatch.lab.blast --target 198.18.7.1 --rate 3000000 [--duration 86400]

Sends to the discard port of the target (inside a lab namespace: the host side of its veth).
Stops on SIGTERM or after --duration seconds, whichever comes first.
"""

from __future__ import annotations

import argparse
import signal
import socket
import time

SO_SNDBUFFORCE = getattr(socket, "SO_SNDBUFFORCE", 32)
SEND_BUFFER = 4 * 2**20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--target", required=True)
    parser.add_argument("--rate", type=float, required=True, help="bytes per second")
    parser.add_argument("--duration", type=float, default=86400.0)
    parser.add_argument("--size", type=int, default=1200, help="datagram payload bytes")
    args = parser.parse_args()
    stop = False

    def on_term(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    payload = b"\0" * args.size
    per_tick = max(1, int(args.rate / args.size / 100))  # 100 bursts per second
    end = time.monotonic() + args.duration
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        # a local sender's datagrams queued in the qdisc count against its send buffer: the
        # default (~200 kB) would cap the uplink's queue, and so its delay, below what the
        # token bucket allows. SO_SNDBUFFORCE (root, as in a lab namespace) goes past wmem_max.
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_SNDBUFFORCE, SEND_BUFFER)
        except OSError:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
        next_tick = time.monotonic()
        while not stop and next_tick < end:
            for _ in range(per_tick):
                try:
                    sock.sendto(payload, (args.target, 9))
                except (BlockingIOError, OSError):
                    break  # queue full: the token bucket is doing its job
            next_tick += 0.01
            time.sleep(max(0.0, next_tick - time.monotonic()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

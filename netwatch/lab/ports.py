"""Ports for the lab's children (agents, Prometheus, Alertmanager, the webhook), the tests
and the benchmarks: free now, and still free when the child binds them.

A port the kernel hands out (bind to port 0) comes from its ephemeral range, from which it
also gives every outgoing connection and every `:0` listener their ports: between the pick
and the child's bind, one of those took it once, and Prometheus could not start. So ports
are picked at random below that range, checked free, and never handed out twice by one
process.

    port = free_port()                        # TCP on 127.0.0.1
    port = free_port("127.0.0.5", udp=True)   # an SNMP agent's
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

PICKED_FROM = 10000  # ports are picked from here up to the kernel's ephemeral range
_picked: set[tuple[int, int]] = set()  # (socket type, port) handed out by this process


def ephemeral_start() -> int:
    """The first port the kernel may give a connection or a `:0` listener on its own."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def free_port(address: str = "127.0.0.1", udp: bool = False) -> int:
    """A port free now on `address`, below the ephemeral range (when the range leaves room
    below it), never the same one twice in this process."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    kind = socket.SOCK_DGRAM if udp else socket.SOCK_STREAM
    top = ephemeral_start()
    for _ in range(1000):  # ~22,000 ports to choose from: a handful of tries at most
        port = random.randrange(PICKED_FROM, top) if top > PICKED_FROM + 1000 else 0
        if (kind, port) in _picked:
            continue
        with socket.socket(family, kind) as sock:
            try:
                sock.bind((address, port))
            except OSError:
                continue  # taken, or still in TIME_WAIT
            port = int(sock.getsockname()[1])
        _picked.add((kind, port))
        return port
    raise RuntimeError(f"no free {'UDP' if udp else 'TCP'} port on {address}")


__all__ = ["PICKED_FROM", "ephemeral_start", "free_port"]

"""What every SNMP session of one prober shares, below the sessions that use it.

`SessionShared` is the bound on requests in flight (one semaphore across v1/v2c and v3) and
the count of undecodable datagrams per source address (a request that then times out says
`protocol`); `session.EnginePool` owns one and hands it to each session.
"""

from __future__ import annotations

import asyncio
import socket

RCVBUF = 4 << 20


class SessionShared:
    def __init__(self, max_in_flight: int) -> None:
        self.in_flight = asyncio.Semaphore(max_in_flight)
        self.junk: dict[str, int] = {}


def enlarge_receive_buffer(transport: asyncio.BaseTransport) -> None:
    """Room for a burst of replies: the kernel drops what does not fit."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)

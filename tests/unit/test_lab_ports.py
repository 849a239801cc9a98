"""The ports the lab hands its children: free, below the kernel's ephemeral range (where no
connection or `:0` listener can take them before the child binds), never twice."""

from __future__ import annotations

import socket

from netwatch.lab.ports import PICKED_FROM, ephemeral_start, free_port


def test_ports_are_free_below_the_ephemeral_range_and_never_repeat() -> None:
    top = ephemeral_start()
    tcp = [free_port() for _ in range(200)]
    udp = [free_port("127.0.0.7", udp=True) for _ in range(50)]
    assert len(set(tcp)) == len(tcp) and len(set(udp)) == len(udp)
    assert all(PICKED_FROM <= p < top for p in (*tcp, *udp))
    with socket.socket() as a, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as b:
        a.bind(("127.0.0.1", tcp[-1]))  # still free: a child can bind it
        b.bind(("127.0.0.7", udp[-1]))

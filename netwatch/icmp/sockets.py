"""Opening the one ICMP socket per address family the engine shares between all targets.

Raw sockets need CAP_NET_RAW; they see every ICMP message of the host, so a kernel filter
(ICMP_FILTER / ICMP6_FILTER) passes only echo replies and the errors that quote echoes.
Unprivileged datagram ("ping") sockets need the process's group in
`net.ipv4.ping_group_range`; the kernel then sets the identifier (the bound "port") and
delivers only our replies, with ICMP errors on the socket's error queue (IP_RECVERR).
"""

from __future__ import annotations

import errno
import os
import random
import socket
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from netwatch.base.errors import StartupError

Mode = Literal["auto", "raw", "datagram"]

# Linux numbers Python does not name
SO_TIMESTAMPNS = 35
SCM_TIMESTAMPNS = 35
SO_RCVBUFFORCE = 33
SOL_RAW = 255
ICMP_FILTER = 1
ICMP6_FILTER = 1
IP_RECVERR = 11
IPV6_RECVERR = 25

RECEIVE_BUFFER = 32 * 1024 * 1024  # 10k replies arriving while the loop is busy fit easily
PING_GROUP_RANGE = Path("/proc/sys/net/ipv4/ping_group_range")

_V4_PASS = (0, 3, 11)  # echo reply, destination unreachable, time exceeded
_V6_PASS = (129, 1, 3)  # echo reply, destination unreachable, time exceeded


class FamilyUnavailable(Exception):
    """This host has no such address family (e.g. IPv6 disabled)."""


@dataclass(frozen=True, slots=True)
class IcmpSocket:
    sock: socket.socket
    family: socket.AddressFamily
    raw: bool
    ident: int  # the echo identifier on the wire


def permission_help() -> str:
    """What the operator can do when neither socket kind is allowed."""
    try:
        current = " ".join(PING_GROUP_RANGE.read_text().split())
    except OSError:
        current = "unknown"
    return (
        f"ICMP is not permitted for uid {os.geteuid()} gid {os.getegid()}: raw sockets need "
        "CAP_NET_RAW and unprivileged ping sockets need the group in net.ipv4.ping_group_range "
        f"(now {current!r}). Fix one of: run with CAP_NET_RAW (systemd: "
        "AmbientCapabilities=CAP_NET_RAW; setcap cap_net_raw+ep on the interpreter), or allow "
        "ping sockets: sysctl -w net.ipv4.ping_group_range=\"0 2147483647\" (persist it in "
        "/etc/sysctl.d/)."
    )


def open_icmp(family: socket.AddressFamily, mode: Mode = "auto") -> IcmpSocket:
    """The shared socket for one family, raw if permitted (and wanted), else datagram."""
    proto = socket.IPPROTO_ICMP if family == socket.AF_INET else socket.IPPROTO_ICMPV6
    denied: list[str] = []
    if mode in ("auto", "raw"):
        try:
            sock = socket.socket(family, socket.SOCK_RAW, proto)
        except PermissionError:
            denied.append("raw")
        except OSError as exc:
            _family_missing(exc)
            raise
        else:
            return _configure(sock, family, raw=True, ident=random.randrange(1, 0x10000))
    if mode in ("auto", "datagram"):
        try:
            sock = socket.socket(family, socket.SOCK_DGRAM, proto)
        except PermissionError:
            denied.append("datagram")
        except OSError as exc:
            _family_missing(exc)
            raise
        else:
            ident = _bind_random_ident(sock, family)
            return _configure(sock, family, raw=False, ident=ident)
    raise StartupError(permission_help())


def _family_missing(exc: OSError) -> None:
    if exc.errno in (errno.EAFNOSUPPORT, errno.EPROTONOSUPPORT):
        raise FamilyUnavailable(str(exc)) from None


def _bind_random_ident(sock: socket.socket, family: socket.AddressFamily) -> int:
    """Ping sockets use the bound port as the echo identifier: pick a random free one."""
    host = "0.0.0.0" if family == socket.AF_INET else "::"
    for _ in range(64):
        ident = random.randrange(1, 0x10000)
        try:
            sock.bind((host, ident))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                continue
            sock.close()
            raise
        return ident
    sock.close()
    raise StartupError("no free ICMP identifier for a ping socket (64 random tries)")


def _configure(sock: socket.socket, family: socket.AddressFamily, raw: bool,
               ident: int) -> IcmpSocket:
    try:
        sock.setblocking(False)
        # kernel receive timestamps; on from the start: the first stamped reply after
        # enabling would otherwise carry the time it was read
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        _grow_receive_buffer(sock)
        if raw and family == socket.AF_INET:
            blocked = ~sum(1 << t for t in _V4_PASS) & 0xFFFFFFFF
            sock.setsockopt(SOL_RAW, ICMP_FILTER, struct.pack("I", blocked))
        elif raw:
            words = [0xFFFFFFFF] * 8  # a set bit blocks that type
            for t in _V6_PASS:
                words[t >> 5] &= ~(1 << (t & 31)) & 0xFFFFFFFF
            sock.setsockopt(socket.IPPROTO_ICMPV6, ICMP6_FILTER, struct.pack("8I", *words))
        elif family == socket.AF_INET:
            sock.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)
        else:
            sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVERR, 1)
    except BaseException:
        sock.close()
        raise
    return IcmpSocket(sock, family, raw, ident)


def _grow_receive_buffer(sock: socket.socket) -> None:
    """SO_RCVBUFFORCE passes net.core.rmem_max (root/CAP_NET_ADMIN); else the capped ask."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RECEIVE_BUFFER)
    except OSError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)

"""systemd's notify protocol, spoken directly (no libsystemd): READY, RELOADING, STOPPING,
WATCHDOG. Every call is a no-op outside systemd (no $NOTIFY_SOCKET)."""

from __future__ import annotations

import os
import socket
import time

SEND_WAIT = 0.5  # seconds a state change may wait for room in systemd's queue


def notify(*fields: str, wait: float = SEND_WAIT) -> bool:
    """Send `FIELD=value` lines to $NOTIFY_SOCKET; False when not under systemd or not sent.

    The call runs on the event loop, so it never blocks for long: a datagram socket blocks
    when the receiver's queue (net.unix.max_dgram_qlen, 10 by default) is full."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address[0] == "@":  # abstract namespace socket
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
        sock.settimeout(wait)
        try:
            sock.sendto("\n".join(fields).encode(), address)
        except OSError:  # timeouts included
            return False
    return True


def ready(status: str = "") -> bool:
    return notify("READY=1", *([f"STATUS={status}"] if status else []))


def reloading() -> bool:
    # systemd >= 253 wants MONOTONIC_USEC with RELOADING=1 (Type=notify-reload); 252 ignores it
    now_us = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    return notify("RELOADING=1", f"MONOTONIC_USEC={now_us}")


def stopping() -> bool:
    return notify("STOPPING=1")


def watchdog() -> bool:
    # a ping that finds systemd's queue full is dropped: the next one follows in period/2
    return notify("WATCHDOG=1", wait=0.0)


def watchdog_period() -> float | None:
    """Seconds between WATCHDOG=1 pings (half of WATCHDOG_USEC), or None when not asked."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        return int(usec) / 2 / 1e6
    except ValueError:
        return None

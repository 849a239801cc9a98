"""`netwatch probe ADDRESS...`: a one-shot ICMP check from the shell, through icmplib.

Prints one row per address (sent, received, loss, min/avg/max/mdev RTT in ms, as ping
does) to stdout. Exit 0 when every address answered, 1 when any did not (or could not be
resolved), 2 when this process may not send ICMP at all (the message says how to fix it).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass

import icmplib

from netwatch.icmp.result import IcmpResult
from netwatch.icmp.sockets import permission_help

CONCURRENCY = 64  # icmplib opens one socket per address


@dataclass(frozen=True, slots=True)
class Row:
    address: str
    result: IcmpResult | None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.result is not None and self.result.ok


async def ping(address: str, count: int, interval: float, timeout: float,
               privileged: bool) -> Row:
    """One address pinged through icmplib (raises SocketPermissionError)."""
    try:
        host = await icmplib.async_ping(address, count=count, interval=interval,
                                        timeout=timeout, privileged=privileged)
    except icmplib.SocketPermissionError:
        raise
    except icmplib.NameLookupError:
        return Row(address, None, "cannot resolve")
    except (icmplib.ICMPLibError, OSError) as exc:
        return Row(address, None, str(exc) or type(exc).__name__)
    return Row(address, IcmpResult(host.packets_sent, tuple(r / 1000 for r in host.rtts)))


async def _ping(address: str, args: argparse.Namespace, privileged: bool,
                slots: asyncio.Semaphore) -> Row:
    async with slots:
        return await ping(address, args.count, args.interval, args.timeout, privileged)


def privileged_sockets() -> bool | None:
    """True when raw sockets work, False when only ping sockets do, None when neither."""
    for privileged in (True, False):
        try:
            sock = icmplib.ICMPv4Socket(privileged=privileged)
        except icmplib.SocketPermissionError:
            continue
        sock.close()
        return privileged
    return None


def format_table(rows: list[Row]) -> str:
    width = max([len("ADDRESS"), *(len(r.address) for r in rows)])
    header = (f"{'ADDRESS':<{width}}  {'SENT':>4} {'RECV':>4} {'LOSS':>6}  "
              f"{'MIN':>8} {'AVG':>8} {'MAX':>8} {'MDEV':>8}  (ms)")
    lines = [header]
    for row in rows:
        if row.result is None:
            lines.append(f"{row.address:<{width}}  {'-':>4} {'-':>4} {'-':>6}  {row.error}")
            continue
        r = row.result
        stats = r.stats()
        rtts = (" ".join(f"{v * 1000:8.3f}" for v in stats) if stats
                else " ".join(f"{'-':>8}" for _ in range(4)))
        lines.append(f"{row.address:<{width}}  {r.sent:>4} {r.received:>4} "
                     f"{r.loss_ratio:>6.1%}  {rtts}")
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> int:
    privileged = privileged_sockets()
    if privileged is None:
        print(f"netwatch probe: {permission_help()}", file=sys.stderr)
        return 2
    slots = asyncio.Semaphore(CONCURRENCY)
    rows = await asyncio.gather(*(_ping(a, args, privileged, slots) for a in args.addresses))
    print(format_table(list(rows)))
    return 0 if all(row.ok for row in rows) else 1

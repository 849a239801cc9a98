"""`netwatch discover --sweep CIDR`: a bounded, rate-limited ICMP sweep of a range the
operator names, then SNMP identification (profile auto) of what answers.

    addresses = sweep_addresses("127.0.3.0/24")         # at most a /22 (1,024 addresses)
    alive = await ping_sweep(addresses, rate=100.0)     # echoes started at most 100/s

Bounds, because a sweep is traffic the operator's network did not ask for: the range is
at most MAX_ADDRESSES (a /22; an IPv6 /118), each address gets one echo (a second after a
silent first, so one lost echo does not hide a device), echoes (retries included) start at
no more than `rate` per second (at most MAX_RATE), at most CONCURRENCY are in flight. Only
the swept addresses are contacted; nothing learned from a reply is.
"""

from __future__ import annotations

import asyncio
import ipaddress

from netwatch.icmp.oneshot import ping

MAX_ADDRESSES = 1024  # a /22
MAX_RATE = 1000.0  # echoes started per second at most
DEFAULT_RATE = 100.0
CONCURRENCY = 64  # echoes in flight (icmplib opens a socket for each)


def sweep_addresses(cidr: str) -> list[str]:
    """The host addresses of the range; ValueError when it is no range or too large."""
    try:
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        raise ValueError(f"{cidr!r} is not an address range (e.g. 127.0.3.0/24)") from None
    if network.num_addresses > MAX_ADDRESSES:
        largest = "/22" if network.version == 4 else "/118"
        raise ValueError(f"{cidr} has {network.num_addresses} addresses: a sweep covers at "
                         f"most {MAX_ADDRESSES} (an IPv{network.version} {largest})")
    hosts = list(network.hosts()) if network.num_addresses > 2 else list(network)
    return [str(a) for a in hosts]


class Pacer:
    """Hands out send times at most `rate` per second, to every echo (retries too)."""

    def __init__(self, rate: float) -> None:
        if not 0 < rate <= MAX_RATE:
            raise ValueError(f"the rate must be above 0 and at most {MAX_RATE:g} echoes "
                             "per second")
        self.gap = 1.0 / rate
        self.next = 0.0

    async def wait(self) -> None:
        loop = asyncio.get_running_loop()
        at = max(loop.time(), self.next)
        self.next = at + self.gap
        await asyncio.sleep(at - loop.time())


async def ping_sweep(addresses: list[str], privileged: bool, rate: float = DEFAULT_RATE,
                     timeout: float = 1.0) -> list[str]:
    """The addresses that answered an echo, in the order given."""
    pacer = Pacer(rate)
    slots = asyncio.Semaphore(CONCURRENCY)

    async def one(address: str) -> bool:
        async with slots:
            for _ in range(2):  # one lost echo must not hide a device: ask once more
                await pacer.wait()
                if (await ping(address, 1, 0.0, timeout, privileged)).ok:
                    return True
        return False

    answered = await asyncio.gather(*(one(a) for a in addresses))
    return [a for a, ok in zip(addresses, answered, strict=True) if ok]

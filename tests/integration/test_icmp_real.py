"""The ICMP engine with real packets: loopback, ::1, and namespaces this test creates."""

from __future__ import annotations

import asyncio
import json
import socket
import statistics
import subprocess
import sys

import icmplib
import pytest

from netwatch.base.exposition import MetricStore
from netwatch.icmp.prober import IcmpProber
from netwatch.icmp.result import IcmpSeries
from netwatch.inventory.model import IcmpPolicy, Target
from netwatch.lab.netns import Namespace
from tests.conftest import ROOT, MakeNamespace, program
from tests.waiting import until

pytestmark = pytest.mark.integration

LABELS = 'site="t",kecamatan="k",device="rtr",role="router"'
LOOPBACK = [f"127.{1 + i // 254 // 256}.{i // 254 % 256}.{1 + i % 254}" for i in range(300)]


def target(address: str, count: int = 2, spacing: float = 0.05, timeout: float = 1.0,
           size: int = 56) -> Target:
    policy = IcmpPolicy(interval=15, count=count, spacing=spacing, timeout=timeout, size=size,
                        deadline=12)
    return Target((f"site-{address}", "rtr", "icmp"), "icmp", address, policy)


def start_responder(ns: Namespace, *args: str) -> subprocess.Popen[bytes]:
    """The lab echo responder inside `ns` (kernel echo off); returns once it listens."""
    process = ns.spawn([sys.executable, "-m", "netwatch.lab.echo", "--lifetime", "60s", *args],
                       stdout=subprocess.PIPE, cwd=str(ROOT))
    assert process.stdout is not None
    assert process.stdout.readline().strip() == b"ready"
    return process


async def test_many_loopback_targets_and_ipv6_agree_with_icmplib(icmp_prober: IcmpProber) -> None:
    addresses = [*LOOPBACK, "::1"]
    results = await asyncio.gather(*(icmp_prober.poll(target(a)) for a in addresses))
    raw = icmp_prober.engines[socket.AF_INET].raw
    reference = await icmplib.async_multiping(addresses, count=2, interval=0.05, timeout=1,
                                              concurrent_tasks=64, privileged=raw)
    ours = dict(zip(addresses, results, strict=True))
    assert all(r.loss_ratio == 0 and r.duplicates == 0 and r.late == 0 for r in results)
    # loopback loses nothing: icmplib agrees (its per-address raw sockets each see every
    # ICMP packet of the host, so under load it may miss a reply; the engine must not)
    for host in reference:
        mine = ours[host.address]
        assert mine.sent == host.packets_sent and mine.received >= host.packets_received
    assert sum(h.packets_received for h in reference) >= 0.99 * sum(r.sent for r in results)
    our_rtts = [rtt for r in results for rtt in r.rtts]
    their_rtts = [rtt / 1000 for h in reference for rtt in h.rtts]
    assert all(0 < rtt < 1.0 for rtt in our_rtts)
    # kernel receive stamps: never worse than icmplib's wake-up times (5 ms of slack for noise)
    assert statistics.median(our_rtts) <= statistics.median(their_rtts) + 0.005


async def test_rtt_truth_from_a_delayed_responder_matches_icmplib(
        icmp_prober: IcmpProber, make_namespace: MakeNamespace) -> None:
    ns = make_namespace(silent=True, ipv6=True)
    start_responder(ns, "--delay", "20ms")
    for address in (ns.address, ns.addresses6[0]):
        result = await icmp_prober.poll(target(address, count=3, spacing=0.05))
        host = await icmplib.async_ping(address, count=3, interval=0.05, timeout=1,
                                        privileged=icmp_prober.engines[socket.AF_INET].raw)
        assert result.received == 3 == host.packets_received
        assert all(0.020 <= rtt < 0.2 for rtt in result.rtts), result.rtts
        assert abs(statistics.mean(result.rtts) - host.avg_rtt / 1000) < 0.010


async def test_silent_target_is_total_loss_with_reason_timeout(
        icmp_prober: IcmpProber, make_namespace: MakeNamespace) -> None:
    ns = make_namespace(silent=True)
    series = icmp_prober.series(target(ns.address), LABELS, MetricStore())
    result = await icmp_prober.poll(target(ns.address, count=2, timeout=0.2))
    assert (result.sent, result.received, result.loss_ratio) == (2, 0, 1.0)
    assert not result.ok and result.reason == "timeout"
    series.apply(result)
    assert (series.requests, series.responses) == (2, 0)


async def test_late_replies_land_in_the_late_counter(
        icmp_prober: IcmpProber, make_namespace: MakeNamespace) -> None:
    ns = make_namespace(silent=True)
    start_responder(ns, "--delay", "300ms")
    t = target(ns.address, count=1, timeout=0.1)
    series: IcmpSeries = icmp_prober.series(t, LABELS, MetricStore())
    result = await icmp_prober.poll(t)
    series.apply(result)
    assert result.reason == "timeout" and result.rtts == ()
    await until(lambda: series.late == 1, 5.0, "the reply after the round counted late")
    assert series.responses == 0 and series.duplicates == 0


async def test_duplicate_replies_are_counted_not_answers(
        icmp_prober: IcmpProber, make_namespace: MakeNamespace) -> None:
    ns = make_namespace(silent=True)
    start_responder(ns, "--delay", "5ms", "--duplicate")
    t = target(ns.address, count=3, spacing=0.05)
    series: IcmpSeries = icmp_prober.series(t, LABELS, MetricStore())
    result = await icmp_prober.poll(t)
    series.apply(result)
    assert result.received == 3 and result.loss_ratio == 0
    assert result.duplicates >= 2  # the last echo's copy may come after the round ended
    await until(lambda: series.duplicates == 3, 5.0, "every duplicate counted once")
    assert series.responses == 3


async def test_dropped_echoes_are_loss(
        icmp_prober: IcmpProber, make_namespace: MakeNamespace) -> None:
    ns = make_namespace(silent=True)
    start_responder(ns, "--delay", "1ms", "--drop-every", "2")
    result = await icmp_prober.poll(target(ns.address, count=4, spacing=0.02, timeout=0.3))
    assert (result.sent, result.received) == (4, 2) and result.ok


async def test_icmp_unreachable_makes_reason_unreachable(
        icmp_prober: IcmpProber, make_namespace: MakeNamespace) -> None:
    nft = program("nft", "apt-get install nftables")
    ns = make_namespace()
    ns.run([nft, "-f", "-"], input=_reject("input", ""))
    result = await icmp_prober.poll(target(ns.address, count=2, timeout=2.0))
    assert result.unreachable == 2 and result.reason == "unreachable"


def _reject(hook: str, match: str) -> str:
    """nftables rules answering echo requests with ICMP host-unreachable."""
    return (f"table inet nwtest {{\n chain {hook} {{\n  type filter hook {hook} priority 0;\n"
            f"  {match} icmp type echo-request reject with icmp type host-unreachable\n }}\n}}\n")


_DATAGRAM_SCRIPT = """
import asyncio, json, os, sys
from netwatch.icmp.prober import IcmpProber
from netwatch.inventory.model import IcmpPolicy, Target
from netwatch.base.errors import StartupError

async def main():
    if sys.argv[1] == "drop":
        os.setgid(65534); os.setuid(65534)
    prober = IcmpProber(mode=sys.argv[2])
    try:
        await prober.start()
    except StartupError as exc:
        print(json.dumps({"error": str(exc)})); return
    policy = IcmpPolicy(15, 2, 0.05, 1.0, 56, 12)
    out = {"raw": prober.engines[2].raw}
    for address in sys.argv[3:]:
        r = await prober.poll(Target(("s", address, "icmp"), "icmp", address, policy))
        out[address] = [r.sent, r.received, r.reason]
    await prober.close()
    print(json.dumps(out))
asyncio.run(main())
"""


def run_script(ns: Namespace, *args: str) -> dict[str, object]:
    done = ns.run([sys.executable, "-c", _DATAGRAM_SCRIPT, *args], timeout=30)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_unprivileged_ping_sockets_work_when_ping_group_range_allows(
        make_namespace: MakeNamespace) -> None:
    ns = make_namespace()  # ping_group_range is per network namespace: the host's stays as is
    nft = program("nft", "apt-get install nftables")
    ns.sysctl("net.ipv4.ping_group_range", "0 2147483647")
    ns.run([nft, "-f", "-"], input=_reject("output", "ip daddr 127.0.0.3"))
    out = run_script(ns, "drop", "datagram", "127.0.0.1", "::1", "127.0.0.3")
    assert out["raw"] is False
    assert out["127.0.0.1"] == [2, 2, None] and out["::1"] == [2, 2, None]
    assert out["127.0.0.3"] == [2, 0, "unreachable"]  # from the ping socket's error queue


def test_startup_error_names_the_fix_when_icmp_is_not_permitted(
        make_namespace: MakeNamespace) -> None:
    ns = make_namespace()
    ns.sysctl("net.ipv4.ping_group_range", "1 0")  # nobody may open ping sockets
    out = run_script(ns, "drop", "auto", "127.0.0.1")
    message = str(out["error"])
    assert "CAP_NET_RAW" in message and "AmbientCapabilities" in message
    assert "ping_group_range" in message and "'1 0'" in message


async def test_an_echo_without_payload_is_matched(icmp_prober: IcmpProber) -> None:
    # size 0: no room for the generation the engine puts in the payload
    result = await icmp_prober.poll(target("127.0.0.1", count=1, size=0))
    assert (result.sent, result.received, result.reason) == (1, 1, None)
    assert 0 < result.rtts[0] < 1.0

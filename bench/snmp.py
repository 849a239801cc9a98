"""SNMP benchmark (issue 3, item 6): M devices served by Debian's snmpd, polled through the
daemon's SnmpProber, results recorded into State (series rendered, as the daemon does).

    burst      every device polled at once (at most 256 in flight, as the scheduler allows),
               after a warm-up round (first polls read lookups and detect the profile):
               devices polled per second, CPU ms per device poll, values per second
    scheduled  the real Scheduler at a 60 s interval with 20 % of the devices dead (no
               agent): whether the live 80 % stay on schedule (lateness, skipped polls, polls
               done), CPU cores used on average, CPU ms per poll

The agents' CPU (from /proc) is reported separately. With root the devices live in network
namespaces (netwatch.netns, 198.18.0.0/15), 250 addresses and 8 interfaces each (lo, the
veth to the host, three veth pairs), two snmpd per namespace; without root snmpd listens on
127.4.x.y (and sees the host's interfaces).

    .venv/bin/python bench/snmp.py                M = 100 and 1,000 burst; 1,000 scheduled
    .venv/bin/python bench/snmp.py --quick        M = 100 and 1,000 burst only
    .venv/bin/python bench/snmp.py --profile      cProfile of the burst rounds: where time goes
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import pstats
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import cpu_seconds, percentile  # noqa: E402
from netwatch import netns  # noqa: E402
from netwatch.config.model import AuthConfig  # noqa: E402
from netwatch.errors import ProbeError  # noqa: E402
from netwatch.exposition import MetricStore  # noqa: E402
from netwatch.inventory import Inventory, Target  # noqa: E402
from netwatch.lab.agents import Agent, AgentSet  # noqa: E402
from netwatch.probe import Failed, Outcome, Result  # noqa: E402
from netwatch.scheduler import Scheduler  # noqa: E402
from netwatch.selfmetrics import SelfMetrics  # noqa: E402
from netwatch.snmp.prober import SnmpProber, adhoc_target  # noqa: E402
from netwatch.snmp.result import SnmpResult  # noqa: E402
from netwatch.state import State  # noqa: E402

PER_NAMESPACE = 250
PER_SNMPD = 125
AUTH = AuthConfig.model_validate({"version": "2c", "community": "public"})
Record = Callable[[Target, Outcome], object]


@contextlib.contextmanager
def devices(count: int, agents: AgentSet) -> Iterator[tuple[list[tuple[str, int]], list[Agent]]]:
    """(address, port) of `count` snmpd-served devices, and the snmpd agents."""
    endpoints: list[tuple[str, int]] = []
    daemons: list[Agent] = []
    spaces: list[netns.Namespace] = []
    try:
        if netns.available() is None:
            while len(endpoints) < count:
                ns = netns.Namespace.create(hosts=1, tag="snmpb")
                spaces.append(ns)
                group = _routed_addresses(ns, min(PER_NAMESPACE, count - len(endpoints)))
                for start in range(0, len(group), PER_SNMPD):
                    part = group[start:start + PER_SNMPD]
                    daemons.append(agents.snmpd(part, port=161, namespace=ns))
                    endpoints += [(a, 161) for a in part]
        else:
            addresses = [f"127.4.{i // 250}.{i % 250 + 1}" for i in range(count)]
            for start in range(0, count, PER_SNMPD):
                agent = agents.snmpd(addresses[start:start + PER_SNMPD])
                daemons.append(agent)
                endpoints += [(a, agent.port) for a in addresses[start:start + PER_SNMPD]]
        yield endpoints, daemons
    finally:
        agents.close()
        for ns in spaces:
            ns.delete()


def _routed_addresses(ns: netns.Namespace, count: int) -> list[str]:
    """Device addresses on the namespace's lo, routed via its veth: the host keeps one
    neighbour per namespace (1,000 on-link addresses overflow the ARP table, gc_thresh3),
    as a poller reaching routers through a gateway does. Plus three veth pairs, so each
    device shows 8 interfaces: lo, the veth to the host, va0..2, vb0..2."""
    subnet = netns._free_subnet(count)  # a /24 of the lab range nobody on this host uses
    addresses = [str(subnet.network_address + 1 + i) for i in range(count)]
    commands = [f"addr add {a}/32 dev lo" for a in addresses]
    for k in range(3):
        commands += [f"link add va{k} type veth peer name vb{k}", f"link set va{k} up",
                     f"link set vb{k} up"]
    ns.run(["ip", "-batch", "-"], input="\n".join(commands) + "\n")
    netns.ip("route", "add", str(subnet), "via", ns.address)
    return addresses


def targets(endpoints: list[tuple[str, int]], dead: int = 0, interval: float = 60.0) -> list[Target]:
    out = [adhoc_target(a, AUTH, port=p, timeout=2.0, retries=1, deadline=0.8 * interval,
                        site=f"bench.{i:05d}", name="rtr", interval=interval)
           for i, (a, p) in enumerate(endpoints)]
    out += [adhoc_target(f"127.5.{i // 250}.{i % 250 + 1}", AUTH, port=16161, timeout=2.0,
                         retries=1, deadline=0.8 * interval, site=f"dead.{i:05d}", name="rtr",
                         interval=interval) for i in range(dead)]
    return out


def recorder(prober: SnmpProber, all_targets: list[Target]) -> State:
    state = State(MetricStore(), {"snmp": prober})
    inventory = Inventory(config=None, timezone="Asia/Jakarta")  # type: ignore[arg-type]
    inventory.targets = {t.key: t for t in all_targets}
    state.sync(inventory)
    return state


def agents_cpu(daemons: list[Agent]) -> float:
    return sum(cpu_seconds(a.pid) for a in daemons if a.pid is not None)


async def poll_all(prober: SnmpProber, batch: list[Target], record: Record) -> list[Result]:
    loop = asyncio.get_running_loop()
    slots = asyncio.Semaphore(256)

    async def one(t: Target) -> Result:
        async with slots:
            started = loop.time()
            result: Result
            try:
                async with asyncio.timeout(t.deadline):
                    result = await prober.poll(t)
            except ProbeError as exc:
                result = Failed(exc.reason, str(exc))
            record(t, Outcome(result, loop.time() - started, 0.0))
            return result

    return list(await asyncio.gather(*(one(t) for t in batch)))


async def burst(endpoints: list[tuple[str, int]], daemons: list[Agent], rounds: int,
                profile: bool) -> dict[str, float]:
    batch = targets(endpoints)
    prober = SnmpProber()
    await prober.start()
    state = recorder(prober, batch)
    warm = await poll_all(prober, batch, state.record)
    failed = sum(1 for r in warm if not r.ok)
    cpu0, agents0, wall0 = cpu_seconds(), agents_cpu(daemons), time.perf_counter()
    profiler = cProfile.Profile() if profile else None
    if profiler:
        profiler.enable()
    values = polls = 0
    for _ in range(rounds):
        for result in await poll_all(prober, batch, state.record):
            polls += 1
            values += result.values if isinstance(result, SnmpResult) else 0
            failed += 0 if result.ok else 1
    if profiler:
        profiler.disable()
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(18)
        print(text.getvalue())
    wall, cpu = time.perf_counter() - wall0, cpu_seconds() - cpu0
    await prober.close()
    return {"devices": len(batch), "polls": polls, "failed": failed, "wall": wall,
            "per_second": polls / wall, "cpu_ms": cpu / polls * 1000, "values": values / polls,
            "values_per_second": values / wall, "agents_cpu_ms": (agents_cpu(daemons) - agents0) / polls * 1000}


async def scheduled(endpoints: list[tuple[str, int]], daemons: list[Agent], dead_share: float,
                    interval: float, intervals: int) -> dict[str, float]:
    dead = round(len(endpoints) * dead_share)
    live = targets(endpoints[: len(endpoints) - dead], dead=dead, interval=interval)
    prober = SnmpProber()
    await prober.start()
    state = recorder(prober, live)
    measuring = False
    lateness: list[float] = []
    done = {"live_polls": 0, "dead_polls": 0, "live_failed": 0}
    polled: set[object] = set()

    def sink(target: Target, outcome: Outcome) -> None:
        state.record(target, outcome)
        if measuring:
            live = not target.key[0].startswith("dead")
            done["live_polls" if live else "dead_polls"] += 1
            if live:
                polled.add(target.key)
                lateness.append(outcome.lateness)
                done["live_failed"] += 0 if outcome.ok else 1

    metrics = SelfMetrics()
    scheduler = Scheduler({"snmp": prober}, sink, metrics)
    scheduler.apply({t.key: t for t in live})
    await asyncio.sleep(interval)  # warm-up: every device's first (refresh) poll
    measuring = True
    skipped0 = metrics.registry.get_sample_value("netwatch_polls_skipped_total", {"probe": "snmp"}) or 0
    cpu0, agents0, wall0 = cpu_seconds(), agents_cpu(daemons), time.perf_counter()
    await asyncio.sleep(interval * intervals)
    measuring = False
    wall, cpu = time.perf_counter() - wall0, cpu_seconds() - cpu0
    skipped = (metrics.registry.get_sample_value("netwatch_polls_skipped_total", {"probe": "snmp"}) or 0) - skipped0
    await scheduler.stop()
    await prober.close()
    polls = done["live_polls"] + done["dead_polls"]
    healthy = len(endpoints) - dead
    return {"live": healthy, "dead": dead, "expected": healthy * intervals, **done,
            "live_devices_polled": len(polled),
            "skipped": skipped, "late_p50": percentile(lateness, 50),
            "late_p99": percentile(lateness, 99), "late_max": max(lateness, default=0.0),
            "cores": cpu / wall, "cpu_ms": cpu / max(polls, 1) * 1000,
            "agents_cores": (agents_cpu(daemons) - agents0) / wall}


def show_burst(r: dict[str, float]) -> None:
    print(f"  burst M={r['devices']:.0f}: {r['per_second']:.0f} devices/s, "
          f"{r['cpu_ms']:.2f} ms CPU per device poll ({r['values']:.0f} values per poll, "
          f"{r['values_per_second']:.0f} values/s), agents {r['agents_cpu_ms']:.2f} ms CPU per "
          f"poll; {r['polls']:.0f} polls in {r['wall']:.1f} s, {r['failed']:.0f} failed")


def show_scheduled(r: dict[str, float], interval: float) -> None:
    print(f"  scheduled {r['live']:.0f} live + {r['dead']:.0f} dead, interval {interval:g} s: "
          f"{r['live_devices_polled']:.0f}/{r['live']:.0f} live devices polled, {r['live_polls']:.0f} "
          f"polls completed in the window (~{r['expected']:.0f} due; {r['live_failed']:.0f} failed), "
          f"skipped {r['skipped']:.0f}, lateness p50 {r['late_p50'] * 1000:.1f} ms "
          f"p99 {r['late_p99'] * 1000:.1f} ms max {r['late_max'] * 1000:.1f} ms; "
          f"CPU {r['cores']:.3f} cores ({r['cpu_ms']:.2f} ms per poll), agents "
          f"{r['agents_cores']:.3f} cores")


async def main(args: argparse.Namespace) -> None:
    from netwatch import logs

    logs.configure("error", json=True)  # every dead device going down is a warning
    print(f"SNMP benchmark ({'namespaces' if netns.available() is None else '127.4.x.y'}"
          f", snmpd, v2c, profile auto -> linux, 8 interfaces)")
    sizes = [int(s) for s in args.sizes.split(",")]
    with AgentSet() as agents, devices(max(sizes), agents) as (endpoints, daemons):
        for size in sizes:
            show_burst(await burst(endpoints[:size], daemons, args.rounds, args.profile))
        if not args.quick:
            result = await scheduled(endpoints[: max(sizes)], daemons, 0.2, args.interval,
                                     args.intervals)
            show_scheduled(result, args.interval)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100,1000")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--interval", type=float, default=60.0)
    parser.add_argument("--intervals", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="burst only")
    parser.add_argument("--profile", action="store_true", help="cProfile the burst rounds")
    asyncio.run(main(parser.parse_args()))

"""SNMP benchmark (issue 3, item 6; issue 9): M devices served by Debian's snmpd, polled
through the daemon's SnmpProber, results recorded into State (series rendered, as the
daemon does).

    burst      every device polled at once (at most 256 in flight, as the scheduler allows),
               after a warm-up round (first polls read lookups and detect the profile), in a
               fresh process: devices polled per second, CPU ms per device poll (median of
               the rounds, whole process), values per poll
    scheduled  the real daemon (bench/daemon.py) at a 60 s interval with 20 % of the devices
               dead (no agent): whether the live 80 % stay on schedule (lateness, skipped
               polls, in flight), CPU cores used on average, RSS, /metrics

The agents' CPU (from /proc) is measured and reported apart. With root the devices live in
network namespaces (netwatch.lab.netns, 198.18.0.0/15), routed addresses on the namespace's lo
(250 a namespace), 8 interfaces each (lo, the veth to the host, three veth pairs), two
snmpd per namespace; without root snmpd listens on 127.4.x.y (and sees the host's
interfaces). bench/anchors_snmp.py runs snmp_exporter and net-snmp's CLI on the same requests
(`steady_requests` records them from a netwatch poll).

    .venv/bin/python bench/snmp.py                M = 100 and 1,000 burst; 1,000 scheduled
    .venv/bin/python bench/snmp.py --quick        M = 100 and 1,000 burst only
    .venv/bin/python bench/snmp.py --profile      cProfile of the burst rounds: where time goes
    .venv/bin/python bench/snmp.py --radio        the radio tables' cost (below)
    .venv/bin/python bench/snmp.py --neighbours   the neighbour tables' cost (below)

`--radio`: CPU per device poll of a MikroTik radio with 16 registered peers (the derived
recording routeros_16peers, served by snmpsim on 50 loopback addresses), polled as a
backhaul device with every radio table on (per-peer series for its 16 peers), and the same
device with the radio tables the mikrotik profile gained for it taken out (registrations,
station and LTE tables, the AP table down to its client count: what it polled before).
Burst rounds in a fresh process each, warm-up excluded; the netwatch process only (snmpsim
is far slower than a radio and is not counted). Target: on <= 1.5 x without.
`--today CHECKOUT` adds the same device polled by another checkout's code and profiles
(netwatch before the radio tables, e.g. `git archive 97c33f1 netwatch | tar -x -C DIR`).

`--neighbours`: what the neighbour tables (LLDP, MikroTik MNDP, CDP; docs/discovery.md) add
to the CPU of a device poll. The recordings with neighbour rows (routeros_crs317, routeros,
ios_cdp; routeros_vlans has MNDP columns but no rows) served by snmpsim on 40 loopback
addresses, polled with the shipped profiles and with their neighbour tables (and own-MAC
columns) taken out; steady polls and refresh polls (the prober's refresh forced before each
round) measured apart, in fresh processes, alternating (the shared machine's load drifts).
The tables are read at refreshes only (the identity cadence: first poll, reboot,
ifTableLastChange moved, at most REFRESH_EVERY apart), so the average over a refresh period
at the default 60 s interval is (59 steady + 1 refresh) / 60 polls. Target: on <= 1.10 x off.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import dataclasses
import io
import json
import pstats
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Spread, cpu_seconds, delete_routed, routed_namespace, run_json
from bench.daemon import run_fleet
from netwatch.base.exposition import MetricStore
from netwatch.config.model import AuthConfig, Config
from netwatch.inventory.model import Inventory, Target
from netwatch.lab import netns
from netwatch.lab.agents import RECORDINGS, Agent, AgentSet, prepare_recordings
from netwatch.scheduler.prober import Outcome, Result, run_poll
from netwatch.sites.targets import State
from netwatch.snmp import profiles as shipped
from netwatch.snmp.poller import REFRESH_EVERY
from netwatch.snmp.prober import SnmpProber, adhoc_target
from netwatch.snmp.profile import Profile
from netwatch.snmp.result import SnmpResult

PER_NAMESPACE = 250
PER_SNMPD = 125
AUTH = AuthConfig.model_validate({"version": "2c", "community": "public"})
Record = Callable[[Target, Outcome], object]
Endpoint = tuple[str, int]
HERE = Path(__file__).resolve()


@contextlib.contextmanager
def devices(count: int, agents: AgentSet) -> Iterator[tuple[list[Endpoint], list[Agent]]]:
    """(address, port) of `count` snmpd-served devices, and the snmpd agents."""
    endpoints: list[Endpoint] = []
    daemons: list[Agent] = []
    spaces: list[Any] = []
    try:
        if netns.available() is None:
            while len(endpoints) < count:
                ns, group = routed_namespace(min(PER_NAMESPACE, count - len(endpoints)),
                                             veths=3, tag="snmpb")
                spaces.append(ns)
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
            delete_routed(ns)


def dead_endpoints(count: int) -> list[Endpoint]:
    """Devices without an agent (loopback: ICMP would answer, SNMP never does)."""
    return [(f"127.5.{i // 250}.{i % 250 + 1}", 16161) for i in range(count)]


def targets(endpoints: Sequence[Endpoint], interval: float = 60.0,
            max_peers: int = 0, communities: Sequence[str] = ()) -> list[Target]:
    """`communities`: one per endpoint (else AUTH's "public")."""
    backhaul: dict[str, Any] = {"max_peers": max_peers} if max_peers else {}  # older code: none
    auths = [AuthConfig.model_validate({"version": "2c", "community": c}) for c in communities] \
        or [AUTH] * len(endpoints)
    return [adhoc_target(a, auths[i], port=p, timeout=2.0, retries=1, deadline=0.8 * interval,
                         site=f"bench.{i:05d}", name="rtr", interval=interval, **backhaul)
            for i, (a, p) in enumerate(endpoints)]


# --- radio tables on and off ----------------------------------------------------------------
RADIO_DEVICES = 50
RADIO_TABLES = ("registrations", "wireless_station", "lte")


def without_radio(profiles: dict[str, Profile]) -> dict[str, Profile]:
    """The profiles with the mikrotik radio tables taken out, the AP table down to the
    client count it had before them."""
    mikrotik = profiles["mikrotik"]
    tables = []
    for table in mikrotik.tables:
        if table.name in RADIO_TABLES:
            continue
        if table.name == "wireless_ap":
            table = table.model_copy(update={"info": None, "metrics": [
                m for m in table.metrics if m.metric == "netwatch_wireless_clients"]})
        tables.append(table)
    return profiles | {"mikrotik": dataclasses.replace(mikrotik, tables=tuple(tables))}


@contextlib.contextmanager
def radio_devices(agents: AgentSet) -> Iterator[list[Endpoint]]:
    """RADIO_DEVICES addresses served by one snmpsim, all answering routeros_16peers under
    the community "public"."""
    data = prepare_recordings([], agents.workdir / "radio",
                              names={"public": RECORDINGS / "routeros_16peers.snmprec"})
    addresses = [f"127.6.0.{i + 1}" for i in range(RADIO_DEVICES)]
    agent = agents.snmpsim(data, addresses, community="public")
    yield [(a, agent.port) for a in addresses]


def run_radio(rounds: int, today: str | None, pairs: int = 3) -> dict[str, list[dict[str, Any]]]:
    """CPU per poll with the radio tables on (backhaul, 16 peers) and off, and with the code
    of the checkout `today` (netwatch before the radio tables): `pairs` workers of each,
    alternating (the shared machine's load drifts), `rounds` rounds each."""
    modes = ("without", "with", *(("today",) if today else ()))
    out: dict[str, list[dict[str, Any]]] = {mode: [] for mode in modes}
    with AgentSet() as agents, radio_devices(agents) as endpoints:
        for _ in range(pairs):
            for mode in modes:
                out[mode] += run_burst(endpoints, [], rounds, mode=mode,
                                       code=today if mode == "today" else None)["rounds"]
    return out


def show_radio(r: dict[str, list[dict[str, Any]]]) -> None:
    def per_poll(mode: str) -> tuple[Spread, float, int]:
        rounds = r[mode]
        values = sum(x["values"] for x in rounds) / sum(x["polls"] for x in rounds)
        return (Spread.of(x["cpu"] / x["polls"] * 1000 for x in rounds), values,
                sum(x["failed"] for x in rounds))

    off, on = per_poll("without"), per_poll("with")
    print(f"  radio tables off: {off[0].text()} ms CPU per device poll (median, min-max of "
          f"{len(r['without'])} rounds; {off[1]:.0f} values per poll), {off[2]} failed")
    print(f"  radio tables on, 16 peers as backhaul: {on[0].text()} ms ({on[1]:.0f} values), "
          f"{on[2]} failed: {on[0].median / off[0].median:.2f}x the CPU (target <= 1.5x)")
    if "today" in r:
        before = per_poll("today")
        print(f"  the code before the radio tables (--today): {before[0].text()} ms "
              f"({before[1]:.0f} values), {before[2]} failed: radio tables on are "
              f"{on[0].median / before[0].median:.2f}x that")


# --- neighbour tables on and off -----------------------------------------------------------
NEIGHBOUR_DEVICES = 40
NEIGHBOUR_RECORDINGS = ("routeros_crs317", "routeros", "routeros_vlans", "ios_cdp")


def without_neighbours(profiles: dict[str, Profile]) -> dict[str, Profile]:
    """The profiles as they were before neighbour tables: none, and no own-MAC columns."""
    return {name: dataclasses.replace(p, neighbors=(), own_macs=()) for name, p in
            profiles.items()}


@contextlib.contextmanager
def neighbour_devices(agents: AgentSet) -> Iterator[list[tuple[str, int, str]]]:
    """(address, port, community) of NEIGHBOUR_DEVICES devices on one snmpsim, the
    recordings in turn (community = recording)."""
    data = prepare_recordings([RECORDINGS / f"{n}.snmprec" for n in NEIGHBOUR_RECORDINGS],
                              agents.workdir / "neighbours")
    addresses = [f"127.6.1.{i + 1}" for i in range(NEIGHBOUR_DEVICES)]
    agent = agents.snmpsim(data, addresses, community=NEIGHBOUR_RECORDINGS[0])
    yield [(a, agent.port, NEIGHBOUR_RECORDINGS[i % len(NEIGHBOUR_RECORDINGS)])
           for i, a in enumerate(addresses)]


def run_neighbours(rounds: int, pairs: int = 3) -> dict[str, list[dict[str, Any]]]:
    """Rounds of steady and refresh polls with the neighbour tables on and off."""
    modes = ("off", "on")
    out: dict[str, list[dict[str, Any]]] = {f"{m}/{k}": [] for m in modes
                                            for k in ("steady", "refresh")}
    with AgentSet() as agents, neighbour_devices(agents) as devices:
        endpoints = [(a, p) for a, p, _ in devices]
        communities = [c for _, _, c in devices]
        for _ in range(pairs):
            for mode in modes:
                for kind in ("steady", "refresh"):
                    out[f"{mode}/{kind}"] += run_burst(
                        endpoints, [], rounds, mode=f"neighbours-{mode}",
                        refresh=kind == "refresh", communities=communities)["rounds"]
    return out


def show_neighbours(r: dict[str, list[dict[str, Any]]], interval: float) -> None:
    def cpu(key: str) -> Spread:
        return Spread.of(x["cpu"] / x["polls"] * 1000 for x in r[key])

    def per_poll(key: str, what: str) -> float:
        polls = int(sum(x["polls"] for x in r[key]))
        return float(sum(x.get(what, 0) for x in r[key])) / max(1, polls)

    failed = sum(x["failed"] for rounds in r.values() for x in rounds)
    for key in r:
        print(f"  {key:12s} {cpu(key).text()} ms CPU per device poll (median, min-max of "
              f"{len(r[key])} rounds; {per_poll(key, 'values'):.0f} values, "
              f"{per_poll(key, 'series'):.0f} series per poll)")
    per_refresh = max(1, round(REFRESH_EVERY / interval))  # polls per refresh period

    def average(mode: str) -> float:
        steady, refresh = cpu(f"{mode}/steady").median, cpu(f"{mode}/refresh").median
        return float((per_refresh - 1) * steady + refresh) / per_refresh

    on, off = average("on"), average("off")
    print(f"  average over a refresh period ({per_refresh - 1} steady + 1 refresh poll at "
          f"{interval:g} s): on {on:.3f} ms, off {off:.3f} ms: {on / off:.3f}x "
          f"({(on / off - 1) * 100:+.1f} %, target <= +10 %); {failed} polls failed")
    worst = cpu("on/refresh").median / cpu("off/refresh").median
    print(f"  a refresh poll alone (first poll, reboot, ifTableLastChange moved): "
          f"{worst:.2f}x with the neighbour tables")


def recorder(prober: SnmpProber, all_targets: list[Target]) -> State:
    state = State(MetricStore(), {"snmp": prober})
    state.sync(Inventory(Config(), "Asia/Jakarta", targets={t.key: t for t in all_targets}))
    return state


def agents_cpu(daemons: list[Agent]) -> float:
    return sum(cpu_seconds(a.pid) for a in daemons if a.pid is not None)


async def poll_all(prober: SnmpProber, batch: list[Target], record: Record) -> list[Result]:
    loop = asyncio.get_running_loop()
    slots = asyncio.Semaphore(256)

    async def one(t: Target) -> Result:
        async with slots:
            started = loop.time()
            result = await run_poll(prober, t)
            record(t, Outcome(result, loop.time() - started, 0.0))
            return result

    return list(await asyncio.gather(*(one(t) for t in batch)))


# --- what a steady-state poll asks for (the anchors ask the same) ---------------------------
class RecordingSession:
    """Wraps a session; keeps every request as (kind, OIDs, max-repetitions)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.version = inner.version
        self.requests: list[tuple[str, list[tuple[int, ...]], int]] = []

    async def get(self, oids: Sequence[tuple[int, ...]]) -> Any:
        self.requests.append(("get", list(oids), 0))
        return await self.inner.get(oids)

    async def get_next(self, oids: Sequence[tuple[int, ...]]) -> Any:
        self.requests.append(("next", list(oids), 0))
        return await self.inner.get_next(oids)

    async def get_bulk(self, oids: Sequence[tuple[int, ...]], max_repetitions: int) -> Any:
        self.requests.append(("bulk", list(oids), max_repetitions))
        return await self.inner.get_bulk(oids, max_repetitions)


async def steady_requests(endpoint: Endpoint) -> tuple[list[tuple[str, list[str], int]], int]:
    """The requests of one steady-state netwatch poll of a device (after its refresh poll),
    OIDs dotted; and the values it received."""
    prober = SnmpProber()
    await prober.start()
    target = targets([endpoint])[0]
    try:
        await prober.poll(target)  # refresh: system group, profile, lookups
        entry = prober._entries[target.key]  # bench-only peek at the prober's session
        recording = RecordingSession(entry.session)
        entry.session = recording
        result = await prober.poll(target)
        entry.session = recording.inner
    finally:
        await prober.close()
    dotted = [(kind, [".".join(map(str, o)) for o in oids], reps)
              for kind, oids, reps in recording.requests]
    return dotted, result.values


# --- netwatch burst (a worker process) ----------------------------------------------------
async def burst(endpoints: list[Endpoint], rounds: int, profile: bool,
                mode: str = "", refresh: bool = False,
                communities: Sequence[str] = ()) -> dict[str, Any]:
    """`mode` "with"/"without": the radio devices as backhaul with every radio table, or
    with the radio tables taken out; "neighbours-off": the profiles without neighbour
    tables. `refresh`: every measured poll is a refresh (forced). `communities`: one per
    endpoint (else "public")."""
    batch = targets(endpoints, max_peers=16 if mode == "with" else 0, communities=communities)
    if mode == "without":
        prober = SnmpProber(profiles=without_radio(shipped.load()))
    elif mode == "neighbours-off":
        prober = SnmpProber(profiles=without_neighbours(shipped.load()))
    else:
        prober = SnmpProber()  # "today": another checkout's code and profiles, as they were
    await prober.start()
    state = recorder(prober, batch)
    warm = await poll_all(prober, batch, state.record)
    out: dict[str, Any] = {"devices": len(batch), "warm_failed": sum(1 for r in warm if not r.ok),
                           "rounds": []}
    profiler = cProfile.Profile() if profile else None
    for _ in range(rounds):
        # process_time: the process's CPU in ns (/proc's ticks are 10 ms: 20 % of a round)
        if refresh:  # bench-only peek: the next poll of each device is a refresh
            for entry in prober._entries.values():
                entry.state.refresh_due = True
        cpu0, wall0 = time.process_time(), time.perf_counter()
        if profiler:
            profiler.enable()
        results = await poll_all(prober, batch, state.record)
        if profiler:
            profiler.disable()
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        values = sum(r.values for r in results if isinstance(r, SnmpResult))
        series = sum(len(r.samples) for r in results if isinstance(r, SnmpResult))
        out["rounds"].append({"polls": len(results), "wall": wall, "cpu": cpu, "values": values,
                              "series": series,
                              "failed": sum(1 for r in results if not r.ok)})
    await prober.close()
    if profiler:
        text = io.StringIO()
        stats = pstats.Stats(profiler, stream=text)
        text.write(where_time_goes(stats) + "\n")
        stats.sort_stats("tottime").print_stats(25)
        out["profile"] = text.getvalue()
    return out


def where_time_goes(stats: pstats.Stats) -> str:
    """Own time per source file (netwatch's modules by name, the rest by package)."""
    by_file: dict[str, float] = defaultdict(float)
    entries = stats.stats.items()  # type: ignore[attr-defined]  # not in typeshed, but public
    for (path, _line, _func), row in entries:
        if "/netwatch/" in path:
            name = "netwatch/" + path.split("/netwatch/", 1)[1]
        elif "site-packages/" in path:
            name = path.split("site-packages/", 1)[1].split("/", 1)[0]
        elif path.startswith("~"):
            name = "builtins (sockets, bytes, dicts)"
        else:
            name = "stdlib " + Path(path).parent.name + "/" + Path(path).name
        by_file[name] += row[2]
    total = sum(by_file.values()) or 1.0
    top = sorted(by_file.items(), key=lambda kv: -kv[1])[:12]
    return "  own time by file: " + ", ".join(f"{n} {t / total:.0%}" for n, t in top)


def run_burst(endpoints: list[Endpoint], daemons: list[Agent], rounds: int,
              profile: bool = False, mode: str = "", code: str | None = None,
              refresh: bool = False, communities: Sequence[str] = ()) -> dict[str, Any]:
    """The burst worker in a fresh process; adds the agents' CPU over the measured rounds
    (warm-up included in neither figure: agents' CPU is counted from the first round on, so
    it is an upper bound)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json") as spec:
        json.dump({"endpoints": endpoints, "rounds": rounds, "profile": profile, "mode": mode,
                   "refresh": refresh, "communities": list(communities)}, spec)
        spec.flush()
        agents0 = agents_cpu(daemons)
        result = run_json([str(HERE), "--worker", spec.name], timeout=600 + 60 * rounds,
                          env={"PYTHONPATH": code} if code else None)
        result["agents_cpu"] = agents_cpu(daemons) - agents0
    return result


def show_burst(r: dict[str, Any]) -> None:
    rounds = r["rounds"]
    polls = sum(x["polls"] for x in rounds)
    cpu_ms = sorted(x["cpu"] / x["polls"] * 1000 for x in rounds)
    per_second = sorted(x["polls"] / x["wall"] for x in rounds)
    values = sum(x["values"] for x in rounds) / max(1, polls)
    rate = per_second[len(per_second) // 2]
    print(f"  burst M={r['devices']}: {rate:.0f} devices/s ({rate * values:,.0f} values/s), "
          f"{cpu_ms[len(cpu_ms) // 2]:.2f} ms CPU per device poll (rounds {cpu_ms[0]:.2f}-"
          f"{cpu_ms[-1]:.2f}; {values:.0f} values per poll), agents (incl. warm-up) "
          f"{r['agents_cpu'] / max(1, polls + r['devices']) * 1000:.2f} ms CPU per poll; "
          f"{sum(x['failed'] for x in rounds)} of {polls} failed")
    if "profile" in r:
        print(r["profile"])


# --- scheduled: the real daemon -----------------------------------------------------------
def run_scheduled(endpoints: list[Endpoint], daemons: list[Agent], dead_share: float,
                  interval: float, intervals: int, icmp: Sequence[str] = (),
                  classes: dict[str, str] | None = None) -> dict[str, Any]:
    """The daemon polling the devices (20 % of them swapped for dead ones) every `interval`,
    plus any ICMP-only `icmp` addresses; measured over `intervals` after one warm-up."""
    dead = round(len(endpoints) * dead_share)
    live = list(endpoints[: len(endpoints) - dead])
    fleet = live + dead_endpoints(dead)
    marks = dict(classes or {})
    marks.update({a: "snmp-dead" for a, _ in fleet[len(live):]})
    agents0, wall0 = agents_cpu(daemons), time.monotonic()
    result = run_fleet(list(icmp), fleet, marks, warmup=interval + 2,
                       window=interval * intervals, snmp_interval=interval)
    result["agents_cores"] = (agents_cpu(daemons) - agents0) / (time.monotonic() - wall0)
    result.update(live=len(live), dead=dead, interval=interval, intervals=intervals)
    return result


def show_scheduled(r: dict[str, Any]) -> None:
    late = r["lateness"].get("snmp", {})
    polled = r["polls_by_class"].get("snmp/snmp", 0)
    print(f"  scheduled {r['live']} live + {r['dead']} dead, interval {r['interval']:g} s: "
          f"{polled} live polls in the window (~{r['live'] * r['intervals']} due; "
          f"{r['failed_by_class'].get('snmp/snmp', 0)} failed), skipped "
          f"{r['skipped']['snmp']:.0f}, lateness p99 {late.get('p99', 0) * 1000:.1f} ms "
          f"max {late.get('max', 0) * 1000:.1f} ms, in flight max {r['inflight_max'].get('snmp')}"
          f"; CPU {r['cores']:.3f} cores ({r['cpu'] / max(1, r['snmp_polls']) * 1000:.2f} ms "
          f"per poll), RSS {r['rss'] / 1e6:.0f} MB, /metrics {r['scrape_plain_s']:.2f} s "
          f"{r['scrape_plain_bytes'] / 1e6:.1f} MB; agents {r['agents_cores']:.3f} cores")


def main(args: argparse.Namespace) -> None:
    if args.neighbours:
        print(f"SNMP neighbour tables: {', '.join(NEIGHBOUR_RECORDINGS)} on "
              f"{NEIGHBOUR_DEVICES} snmpsim addresses, {args.rounds} burst rounds x 3")
        show_neighbours(run_neighbours(args.rounds), args.interval)
        return
    if args.radio:
        print(f"SNMP radio tables: routeros_16peers on {RADIO_DEVICES} snmpsim addresses, "
              f"{args.rounds} burst rounds")
        show_radio(run_radio(args.rounds, args.today))
        return
    print(f"SNMP benchmark ({'namespaces' if netns.available() is None else '127.4.x.y'}"
          f", snmpd, v2c, profile auto -> linux, 8 interfaces)")
    sizes = [int(s) for s in args.sizes.split(",")]
    with AgentSet() as agents, devices(max(sizes), agents) as (endpoints, daemons):
        for size in sizes:
            show_burst(run_burst(endpoints[:size], daemons[: -(-size // PER_SNMPD)],
                                 args.rounds, args.profile))
        if not args.quick:
            show_scheduled(run_scheduled(endpoints[: max(sizes)], daemons, 0.2, args.interval,
                                         args.intervals))


def worker(spec_path: str) -> None:
    from netwatch.base import logs

    logs.configure("error", json=True)
    spec = json.loads(Path(spec_path).read_text())
    endpoints = [(a, int(p)) for a, p in spec["endpoints"]]
    print(json.dumps(asyncio.run(burst(endpoints, spec["rounds"], spec["profile"],
                                       spec.get("mode", ""), spec.get("refresh", False),
                                       spec.get("communities", ())))))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100,1000")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--interval", type=float, default=60.0)
    parser.add_argument("--intervals", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="burst only")
    parser.add_argument("--profile", action="store_true", help="cProfile the burst rounds")
    parser.add_argument("--radio", action="store_true",
                        help="CPU per poll with the radio tables on (16 peers) and off")
    parser.add_argument("--neighbours", action="store_true",
                        help="CPU per poll with the neighbour tables on and off, steady and "
                        "refresh polls, averaged over a refresh period at --interval")
    parser.add_argument("--today", metavar="CHECKOUT",
                        help="--radio: also poll with this checkout's netwatch (the code before "
                        "the radio tables, e.g. a `git worktree add` of the commit before)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parsed = parser.parse_args()
    if parsed.worker:
        worker(parsed.worker)
    else:
        main(parsed)

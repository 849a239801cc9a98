"""netwatch against its anchors, on the same work, in one run (issue 9). Root only.

    .venv/bin/python bench/compare.py            # everything, about 25-30 minutes
    .venv/bin/python bench/compare.py --quick    # smaller and single repeats, about 8 minutes
    .venv/bin/python bench/compare.py --only icmp,snmp --json /tmp/bench.json

Sections (--only picks some): `icmp` CPU per echo of netwatch, fping and blackbox_exporter
(N loopback targets, 3 echoes 1 s apart every 15 s; medians of 3 with min-max, run back to
back); `snmp` CPU per device poll of netwatch, snmp_exporter (a module asking the OIDs of
netwatch's steady-state poll) and net-snmp's CLI, agents (Debian snmpd in namespaces with
veth links) measured apart; `scale-icmp`, `scale-snmp` the real daemon at 1k/5k/10k ICMP
targets and 100/1k/3k SNMP devices, and with 20 % of them dead; `exposition` /metrics of a
10,000-device state; `truth` every tool's RTT for targets answering after exactly 20 ms,
under load, and netwatch's final figure with 10,000 ICMP targets and 1,000 SNMP devices.
It installs the anchors from Debian when they are missing and removes its namespaces and
processes at the end, also on Ctrl-C or an error.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import anchors, anchors_snmp, icmp, snmp
from bench.common import (
    ROOT,
    Processes,
    Spread,
    debian_version,
    ensure_debian,
    load_average,
    loopback_addresses,
    machine,
    run_json,
    terminated_as_exit,
)
from bench.report import Report
from netwatch.lab.agents import AgentSet

PACKAGES = ["fping", "prometheus-blackbox-exporter", "prometheus-snmp-exporter",
            "prometheus-smokeping-prober", "snmp", "snmpd"]
SECTIONS = ("icmp", "snmp", "scale-icmp", "scale-snmp", "exposition", "truth")


@dataclass(frozen=True)
class Plan:
    repeats: int = 3
    icmp_n: int = 5000  # loopback targets of the ICMP comparison
    icmp_window: float = 30.0
    snmp_m: int = 1000  # devices of the SNMP comparison
    cli_m: int = 100
    snmp_rounds: int = 3
    icmp_sizes: tuple[int, ...] = (1000, 5000, 10_000)
    icmp_failure: int = 10_000
    snmp_sizes: tuple[int, ...] = (100, 1000, 3000)
    snmp_failure: int = 1000
    snmp_interval: float = 60.0
    exposition_devices: int = 10_000
    truth_load: int = 5000  # loopback targets each anchor polls beside the truth targets
    smokeping_load: int = 300  # a raw socket and a polling goroutine per host: 0.9 cores at 300
    icmplib_load: int = 1000
    final_icmp: int = 10_000
    final_snmp: int = 1000

    @classmethod
    def quick(cls) -> Plan:
        return cls(repeats=1, icmp_n=1000, icmp_window=15.0, snmp_m=250, cli_m=30,
                   snmp_rounds=2, icmp_sizes=(1000,), icmp_failure=10_000, snmp_sizes=(),
                   snmp_failure=250, snmp_interval=30.0, truth_load=1000,
                   icmplib_load=300, final_icmp=5000, final_snmp=250)


def header(plan: Plan, quick: bool) -> dict[str, Any]:
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True, check=False).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "netwatch"],
                           capture_output=True, text=True, check=False).stdout.strip()
    if dirty:
        commit += " + uncommitted changes in netwatch/"
    versions = {p: debian_version(p) for p in PACKAGES}
    info = {"date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "commit": commit, "machine": machine(), "load_at_start": load_average(),
            "quick": quick, "versions": versions}
    print(f"netwatch benchmark {'(quick) ' if quick else ''}at {info['date']}, commit {commit}")
    print(f"machine: {info['machine']}")
    print(f"load average at start: {info['load_at_start']} (1, 5, 15 min; other work on this "
          "machine shows here and in the spread of repeats)")
    print("anchors: " + ", ".join(f"{p} {v or 'missing'}" for p, v in versions.items()))
    return info


# --- ICMP: CPU per echo against fping and blackbox_exporter -------------------------------
def icmp_section(plan: Plan, procs: Processes, report: Report) -> None:
    report.title(f"ICMP, same work: {plan.icmp_n:,} loopback targets, 3 echoes 1 s apart every "
                 f"15 s, {plan.icmp_window:g} s measured, {plan.repeats} repeat(s) back to back")
    addresses = loopback_addresses(plan.icmp_n)
    rounds = max(1, round(plan.icmp_window / icmp.INTERVAL))
    runs: dict[str, list[float]] = {"netwatch": [], "fping": [], "blackbox_exporter": []}
    rss: dict[str, float] = {}
    for k in range(plan.repeats):
        nw = icmp.scheduled(plan.icmp_n, plan.icmp_window)
        runs["netwatch"].append(nw["cpu"] / nw["echoes"])
        rss["netwatch"] = nw["rss"]
        fp = anchors.run_fping(addresses, icmp.COUNT, 1.0, icmp.INTERVAL, rounds)
        runs["fping"].append(fp.per_unit)
        rss["fping"] = fp.rss
        bb = anchors.run_blackbox(procs, addresses, icmp.COUNT, 1.0, icmp.INTERVAL,
                                  plan.icmp_window)
        runs["blackbox_exporter"].append(bb.per_unit)
        rss["blackbox_exporter"] = bb.rss
        print(f"  repeat {k + 1}: netwatch {runs['netwatch'][-1] * 1e6:.1f}, fping "
              f"{runs['fping'][-1] * 1e6:.1f}, blackbox_exporter {bb.per_unit * 1e6:.1f} us CPU "
              f"per echo (blackbox lost {bb.failed} of {bb.work} probes; fping {fp.failed}"
              f" of {fp.work} echoes); others' echo replies {nw['foreign_replies_per_s']:.0f}/s; "
              f"load {load_average()}", flush=True)
    spreads = {tool: Spread.of(values) for tool, values in runs.items()}
    report.icmp(spreads, rss)


# --- SNMP: CPU per device poll against snmp_exporter and net-snmp's CLI --------------------
def snmp_section(plan: Plan, procs: Processes, fleet: tuple[list[Any], list[Any]],
                 report: Report) -> None:
    endpoints, daemons = fleet
    endpoints = endpoints[: plan.snmp_m]
    serving = daemons[: -(-plan.snmp_m // snmp.PER_SNMPD)]
    requests, values = asyncio.run(snmp.steady_requests(endpoints[0]))
    module = anchors_snmp.exporter_module(requests)
    report.title(f"SNMP, same requests: {len(endpoints):,} snmpd-served devices (8 interfaces), "
                 f"{len(requests)} requests and {values} values per netwatch poll; "
                 f"{plan.snmp_rounds} round(s) each")
    for kind, oids, reps in requests:
        print(f"  {kind:<4} {len(oids):>2} OIDs{f', max-repetitions {reps}' if reps else ''}: "
              + " ".join(oids[:4]) + (" ..." if len(oids) > 4 else ""))
    nw = snmp.run_burst(endpoints, serving, plan.snmp_rounds)
    exporter, note = anchors_snmp.run_snmp_exporter(
        procs, module, endpoints, plan.snmp_rounds, lambda: snmp.agents_cpu(serving))
    cli = anchors_snmp.run_cli(requests, endpoints[: plan.cli_m], plan.snmp_rounds)
    polls = sum(r["polls"] for r in nw["rounds"]) + nw["devices"]
    spreads = {
        "netwatch": Spread.of(r["cpu"] / r["polls"] for r in nw["rounds"]),
        "snmp_exporter": Spread.of(r.per_unit for r in exporter),
        "net-snmp CLI": Spread.of(r.per_unit for r in cli),
    }
    notes = {"netwatch": f"{sum(r['failed'] for r in nw['rounds'])} failed; agents "
                         f"{nw['agents_cpu'] / polls * 1000:.2f} ms per poll (warm-up incl.)",
             "snmp_exporter": note or (exporter[-1].note + f"; {sum(r.failed for r in exporter)}"
                                                            " failed"),
             "net-snmp CLI": f"{plan.cli_m} devices, " + (cli[-1].note if cli else "")}
    report.snmp(spreads, notes)


# --- scale ---------------------------------------------------------------------------------
def scale_icmp(plan: Plan, truth: list[str], report: Report) -> None:
    report.title(f"ICMP scale: the daemon at 15 s, count 3, {plan.icmp_window:g} s measured after "
                 f"a 16 s warm-up; {len(truth)} RTT-truth targets (20 ms) ride along")
    for n in plan.icmp_sizes:
        report.icmp_scale(icmp.scheduled(n, plan.icmp_window, truth))
    with icmp.dead_addresses(round(plan.icmp_failure * 0.2)) as dead:
        report.icmp_scale(icmp.scheduled(plan.icmp_failure, plan.icmp_window, truth, dead))


def scale_snmp(plan: Plan, fleet: tuple[list[Any], list[Any]], report: Report) -> None:
    endpoints, daemons = fleet
    report.title(f"SNMP scale: the daemon at {plan.snmp_interval:g} s (profile auto -> linux), "
                 "one interval measured after one warm-up interval")
    for m in plan.snmp_sizes:
        report.snmp_scale(snmp.run_scheduled(endpoints[:m], daemons, 0.0, plan.snmp_interval, 1))
    report.snmp_scale(snmp.run_scheduled(endpoints[: plan.snmp_failure], daemons, 0.2,
                                         plan.snmp_interval, 1))


def exposition_section(plan: Plan, report: Report) -> None:
    report.title(f"/metrics of a synthetic {plan.exposition_devices:,}-device state (ICMP + "
                 "generic profile, 8 interfaces each), real collector and web handler")
    report.exposition(run_json([str(ROOT / "bench/exposition.py"), "--devices",
                                str(plan.exposition_devices), "--json"], timeout=900))


# --- RTT truth -----------------------------------------------------------------------------
def truth_section(plan: Plan, procs: Processes, truth: list[str],
                  fleet: tuple[list[Any], list[Any]] | None, report: Report) -> None:
    report.title(f"RTT truth: {len(truth)} targets answering after exactly 20 ms (lab echo "
                 "responder, SCHED_FIFO, in a namespace), each tool under its own load")
    load = loopback_addresses(plan.truth_load)
    fp = anchors.run_fping([*load, *truth], icmp.COUNT, 1.0, icmp.INTERVAL, 2)
    report.truth("fping", f"{plan.truth_load:,} + truth, -C 3", fp.rtts_of(truth), fp.cpu,
                 fp.wall)
    bb = anchors.run_blackbox(procs, [*load, *truth], icmp.COUNT, 1.0, icmp.INTERVAL, 30.0)
    report.truth("blackbox_exporter", f"{plan.truth_load:,} + truth, 3 probes/15 s",
                 bb.rtts_of(truth), bb.cpu, bb.wall)
    smoke_load = loopback_addresses(plan.smokeping_load)
    sp, histograms = anchors.run_smokeping(procs, [*smoke_load, *truth], icmp.INTERVAL, 45.0,
                                           anchors.truth_buckets(icmp.TRUTH_DELAY), 5.0)
    report.truth_histogram("smokeping_prober", f"{plan.smokeping_load:,} + truth, every 15 s",
                           histograms, truth, sp.cpu, sp.wall, sp.note)
    il = anchors.run_icmplib([*loopback_addresses(plan.icmplib_load), *truth], icmp.COUNT, 1.0,
                             icmp.INTERVAL, 1, 100)
    report.truth("icmplib", f"{plan.icmplib_load:,} + truth, {il.note}", il.rtts_of(truth),
                 il.cpu, il.wall)
    nw = icmp.scheduled(plan.truth_load, 30.0, truth)
    report.truth_daemon(f"netwatch ({plan.truth_load:,} + truth)", nw)
    if fleet is not None:
        endpoints, daemons = fleet
        final = snmp.run_scheduled(endpoints[: plan.final_snmp], daemons, 0.0,
                                   plan.snmp_interval, 1,
                                   icmp=[*loopback_addresses(plan.final_icmp), *truth],
                                   classes=dict.fromkeys(truth, "truth"))
        report.truth_daemon(f"netwatch ({plan.final_icmp:,} ICMP + truth + "
                            f"{plan.final_snmp:,} SNMP)", final, final=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default=",".join(SECTIONS), help=",".join(SECTIONS))
    parser.add_argument("--json", type=Path, help="write every figure here too")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench/compare.py needs root: namespaces, raw ICMP sockets, Debian packages")
        return 2
    from netwatch.base import logs

    logs.configure("error", json=True)
    plan = Plan.quick() if args.quick else Plan()
    only = set(args.only.split(","))
    missing = ensure_debian(PACKAGES)
    report = Report(header(plan, args.quick))
    if missing:
        print(f"missing and not installable: {', '.join(missing)} (their rows stay empty)")
    started = time.monotonic()
    with terminated_as_exit(), contextlib.ExitStack() as stack:
        procs = Processes()
        stack.callback(procs.stop_all)
        truth = stack.enter_context(icmp.truth_addresses())
        if "icmp" in only:
            icmp_section(plan, procs, report)
        if "scale-icmp" in only:
            scale_icmp(plan, truth, report)
        if "exposition" in only:
            exposition_section(plan, report)
        fleet = None
        if only & {"snmp", "scale-snmp", "truth"}:
            agents = stack.enter_context(AgentSet())
            size = max([plan.snmp_m, plan.final_snmp, plan.snmp_failure, *plan.snmp_sizes])
            fleet = stack.enter_context(snmp.devices(size, agents))
        if "snmp" in only and fleet:
            snmp_section(plan, procs, fleet, report)
        if "scale-snmp" in only and fleet:
            scale_snmp(plan, fleet, report)
        if "truth" in only:
            truth_section(plan, procs, truth, fleet, report)
    report.summary(time.monotonic() - started, load_average())
    if args.json:
        args.json.write_text(json.dumps(report.data, indent=1, default=str))
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

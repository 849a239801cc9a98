"""`netwatch discover`: neighbours, topology proposals and sweeps (netwatch/discovery/).

    netwatch discover ADDRESS... --community C          each device's neighbours, as a table
    netwatch discover ADDRESS... --auth NAME --config FILE
    netwatch discover --config FILE                     YAML proposals for the config
    netwatch discover --sweep CIDR --community C [--rate N] [--config FILE]

It never edits a config and never contacts an address it learned from a neighbour table:
only the addresses on the command line, in the config, or inside the swept range. Output
(tables, YAML) goes to stdout, progress and timing to stderr. Exit 0 when done (findings
are output, not failures), 1 when a device given as ADDRESS did not answer, 2 on a usage
or config error, or when ICMP is not permitted for a sweep.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime
from typing import Any


def add_parser(sub: Any) -> None:
    cmd = sub.add_parser("discover", help="neighbours of devices, topology proposals, sweeps")
    cmd.add_argument("addresses", nargs="*", metavar="ADDRESS",
                     help="devices to read (else the configured ones, or --sweep)")
    cmd.add_argument("--config", help="the config: its auths (--auth), or its devices to "
                     "check when no ADDRESS is given")
    cmd.add_argument("--sweep", metavar="CIDR", help="ping a range (at most a /22), then "
                     "identify by SNMP what answers")
    cmd.add_argument("--rate", type=float, default=None,
                     help="sweep: echoes started per second (default 100, at most 1000)")
    cmd.add_argument("--community", help="v1/v2c community (inline)")
    cmd.add_argument("--version", dest="snmp_version", choices=("1", "2c"), default="2c")
    cmd.add_argument("--auth", help="name of an auth in --config")
    cmd.add_argument("--port", type=int, default=161)
    cmd.add_argument("--timeout", type=float, default=2.0, help="seconds per request or echo")
    cmd.add_argument("--retries", type=int, default=1)
    cmd.add_argument("--profile", default="auto")
    cmd.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.addresses and args.sweep:
        print("netwatch discover: give ADDRESS... or --sweep CIDR, not both", file=sys.stderr)
        return 2
    if args.sweep:
        return asyncio.run(_sweep(args))
    if args.addresses:
        return asyncio.run(_addresses(args))
    if args.config:
        return asyncio.run(_config(args))
    print("netwatch discover: give ADDRESS..., --config FILE or --sweep CIDR", file=sys.stderr)
    return 2


def _auth_or_exit(args: argparse.Namespace) -> Any:
    from netwatch.base.errors import ConfigError
    from netwatch.snmp.oneshot import resolve_auth

    try:
        return resolve_auth(args)
    except (ValueError, ConfigError) as exc:
        print(f"netwatch discover: {exc}", file=sys.stderr)
        return None


def _adhoc(args: argparse.Namespace, addresses: list[str], auth: Any) -> list[Any]:
    from netwatch.snmp.prober import adhoc_target

    return [adhoc_target(a, auth, port=args.port, profile=args.profile, timeout=args.timeout,
                         retries=args.retries, name=f"discover{i}")
            for i, a in enumerate(addresses)]


async def _addresses(args: argparse.Namespace) -> int:
    from netwatch.discovery.walk import neighbor_table, read_devices

    auth = _auth_or_exit(args)
    if auth is None:
        return 2
    readings = await read_devices(_adhoc(args, args.addresses, auth))
    for reading in readings:
        print(neighbor_table(reading))
    return 1 if any(r.topology is None for r in readings) else 0


async def _config(args: argparse.Namespace) -> int:
    from netwatch.base.errors import ConfigError
    from netwatch.daemon.inventory_file import read_inventory
    from netwatch.discovery.proposal import config_proposal
    from netwatch.discovery.topology import analyse
    from netwatch.discovery.walk import read_devices

    try:
        inventory = read_inventory(args.config)
    except ConfigError as exc:
        print(f"netwatch discover: {args.config} is not valid:\n{exc}", file=sys.stderr)
        return 2
    targets = [t for t in inventory.targets.values() if t.probe == "snmp"]
    started = time.monotonic()
    readings = await read_devices(targets, configured=True)
    observed = {r.key: r.topology for r in readings if r.key and r.topology is not None}
    analysis = analyse(inventory, observed)
    elapsed = time.monotonic() - started
    header = (f"netwatch discover --config {args.config}, "
              f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(config_proposal(inventory, analysis, readings, header), end="")
    print(f"netwatch discover: {len(targets)} devices read in {elapsed:.1f} s, "
          f"{len(analysis.findings)} findings, {len(analysis.unknown_neighbours())} unknown "
          "neighbours",
          file=sys.stderr)
    return 0


async def _sweep(args: argparse.Namespace) -> int:
    from netwatch.base.errors import ConfigError
    from netwatch.daemon.inventory_file import read_inventory
    from netwatch.discovery.proposal import sweep_proposal
    from netwatch.discovery.sweep import DEFAULT_RATE, ping_sweep, sweep_addresses
    from netwatch.discovery.walk import read_devices
    from netwatch.icmp.oneshot import privileged_sockets
    from netwatch.icmp.sockets import permission_help

    try:
        addresses = sweep_addresses(args.sweep)
        configured: set[str] = set()
        if args.config:
            configured = {d.address for d in read_inventory(args.config).devices.values()}
    except (ValueError, ConfigError) as exc:
        print(f"netwatch discover: {exc}", file=sys.stderr)
        return 2
    auth = _auth_or_exit(args)
    if auth is None:
        return 2
    privileged = privileged_sockets()
    if privileged is None:
        print(f"netwatch discover: {permission_help()}", file=sys.stderr)
        return 2
    rate = args.rate if args.rate is not None else DEFAULT_RATE
    started = time.monotonic()
    try:
        alive = await ping_sweep(addresses, privileged, rate, timeout=args.timeout)
    except ValueError as exc:
        print(f"netwatch discover: {exc}", file=sys.stderr)
        return 2
    swept = time.monotonic() - started
    fresh = [a for a in alive if a not in configured]
    readings = await read_devices(_adhoc(args, fresh, auth))
    found = [r for r in readings if r.topology is not None or r.profile]
    silent = [r.address for r in readings if not (r.topology is not None or r.profile)]
    header = (f"netwatch discover --sweep {args.sweep}: {len(addresses)} addresses pinged at "
              f"up to {rate:g}/s in {swept:.1f} s, {len(alive)} answered, "
              f"{len(alive) - len(fresh)} of them configured already")
    print(sweep_proposal(found, silent, header), end="")
    print(f"netwatch discover: {len(found)} new devices answered SNMP "
          f"({time.monotonic() - started:.1f} s in all)", file=sys.stderr)
    return 0

"""`netwatch check-config CONFIG`: validate and summarise, or list every error (exit 2).

Warnings (stderr, exit 0) are what the check cannot settle or what is valid but likely a
mistake: a `{credential: NAME}` that systemd resolves at start, a config that monitors
nothing but its canaries."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from typing import Any

from netwatch.base.errors import ConfigError, ConfigIssue
from netwatch.cli.shard_arg import shard_arg


def add_parser(sub: Any) -> None:
    check = sub.add_parser("check-config", help="validate a config and print a summary")
    check.add_argument("config")
    check.add_argument("--shard", type=shard_arg, metavar="K/N",
                       help="summarise only what shard K of N would poll")
    check.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from netwatch.daemon.inventory_file import read_inventory
    from netwatch.inventory import shard
    from netwatch.inventory.model import PROBES

    warnings: list[ConfigIssue] = []
    try:
        inventory = read_inventory(args.config, args.shard, warnings)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        print(f"{len(exc.issues)} error(s) in {args.config}", file=sys.stderr)
        return 2
    devices = inventory.devices.values()
    profiles = Counter(d.snmp.profile for d in devices if d.snmp is not None)
    roles = Counter(d.labels.role for d in devices)
    kecamatan = {s.kecamatan for s in inventory.sites.values()}
    if not inventory.sites:
        warnings.append(ConfigIssue(args.config, 0, (), "no sites: only the canaries are "
                                    "polled (add sites: or sites_files:)"))
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"{args.config}: OK" + (f" ({len(warnings)} warning(s))" if warnings else ""))
    if args.shard is not None:
        owned = sorted(shard.groups(inventory))
        print(f"  {'shard:':<15}{args.shard}: {len(owned)} upstream groups (canaries: every shard)")
        print(f"  {'groups:':<15}" + (", ".join(owned) or "none"))
    rows = [
        ("sites", f"{len(inventory.sites)} in {len(kecamatan)} kecamatan"),
        ("upstreams", str(len(inventory.upstreams))),
        ("canaries", str(len(inventory.canaries))),
        ("devices", f"{len(inventory.devices)} ("
         + ", ".join(f"{n} {r}" for r, n in sorted(roles.items())) + ")"),
        *((f"{probe} targets", str(inventory.count(probe))) for probe in PROBES),
        ("profiles", ", ".join(f"{p} {n}" for p, n in sorted(profiles.items())) or "none"),
        ("auths", ", ".join(sorted(inventory.config.auths)) or "none"),
    ]
    for name, value in rows:
        print(f"  {name + ':':<15}{value}")
    return 0

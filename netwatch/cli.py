"""The `netwatch` command line.

    netwatch run CONFIG            the daemon
    netwatch check-config CONFIG   validate and summarise, or list every error (exit 2)
    netwatch schema                JSON Schema of the config (for editors)
    netwatch probe ADDRESS...      one-shot ICMP check (or --snmp)

Other subcommands live beside the code they drive and register through `add_parser`
functions listed in COMMAND_MODULES. Command output goes to stdout, logs to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import sys
from collections import Counter
from collections.abc import Sequence

from netwatch import __version__, logs
from netwatch.errors import ConfigError

# modules with `add_parser(subparsers)`; each adds one subcommand with `func` set
COMMAND_MODULES = [
    "netwatch.probecmd",
    "netwatch.importcsv",
    "netwatch.lab.demo",
    "netwatch.report",
]


def _cmd_run(args: argparse.Namespace) -> int:
    from netwatch import app

    return asyncio.run(app.run(args.config, shard=args.shard))


def _cmd_check_config(args: argparse.Namespace) -> int:
    from netwatch import shard
    from netwatch.inventory import PROBES

    try:
        inventory = shard.load(args.config, args.shard)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        print(f"{len(exc.issues)} error(s) in {args.config}", file=sys.stderr)
        return 2
    devices = inventory.devices.values()
    profiles = Counter(d.snmp.profile for d in devices if d.snmp is not None)
    roles = Counter(d.labels.role for d in devices)
    kecamatan = {s.kecamatan for s in inventory.sites.values()}
    print(f"{args.config}: OK")
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


def _cmd_schema(args: argparse.Namespace) -> int:
    from netwatch.config.model import Config

    schema = Config.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "netwatch config"
    print(json.dumps(schema, indent=2))
    return 0


def _shard(text: str) -> object:
    from netwatch.shard import Shard

    try:
        return Shard.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="netwatch", description=__doc__.split("\n")[0])
    parser.add_argument("--version", action="version", version=f"netwatch {__version__}")
    parser.add_argument("--log-level", choices=logs.LEVELS, default="info")
    parser.add_argument("--log-format", choices=("auto", "json", "console"), default="auto",
                        help="log lines on stderr (auto: JSON unless stderr is a terminal)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run the daemon")
    run.add_argument("config", help="YAML config file")
    run.add_argument("--shard", type=_shard, metavar="K/N",
                     help="poll only shard K of N (whole upstream groups; canaries on every shard)")
    run.set_defaults(func=_cmd_run)

    check = sub.add_parser("check-config", help="validate a config and print a summary")
    check.add_argument("config")
    check.add_argument("--shard", type=_shard, metavar="K/N",
                       help="summarise only what shard K of N would poll")
    check.set_defaults(func=_cmd_check_config)

    schema = sub.add_parser("schema", help="print the config's JSON Schema")
    schema.set_defaults(func=_cmd_schema)

    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    json_logs = {"auto": None, "json": True, "console": False}[args.log_format]
    logs.configure(args.log_level, json=json_logs)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130

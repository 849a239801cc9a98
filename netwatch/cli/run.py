"""`netwatch run CONFIG [--shard K/N]`: the daemon (SIGHUP reloads; SIGTERM stops)."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from netwatch.cli.shard_arg import shard_arg


def add_parser(sub: Any) -> None:
    run = sub.add_parser("run", help="run the daemon")
    run.add_argument("config", help="YAML config file")
    run.add_argument("--shard", type=shard_arg, metavar="K/N",
                     help="poll only shard K of N (whole upstream groups; canaries on every shard)")
    run.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from netwatch.daemon import service

    return asyncio.run(service.run(args.config, shard=args.shard))

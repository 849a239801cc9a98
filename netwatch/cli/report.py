"""`netwatch report`: a month's availability per kelurahan, kecamatan and ISP against the SLA.

How it is computed: netwatch/generators/report.py.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from netwatch.generators.report import Month, ReportError, collect, to_csv, to_html


def add_parser(sub: Any) -> None:
    p = sub.add_parser("report", help="a month's availability per kelurahan, kecamatan and ISP",
                       description=__doc__.split("\n\n")[0].split(": ", 1)[1])
    p.add_argument("--month", type=_month, metavar="YYYY-MM",
                   help="calendar month in WIB (default: the previous month)")
    p.add_argument("--prometheus", default="http://127.0.0.1:9090", metavar="URL",
                   help="Prometheus (or a compatible API: VictoriaMetrics, Thanos) to ask")
    p.add_argument("--format", choices=("csv", "html"),
                   help="default: from --output's suffix, else csv")
    p.add_argument("-o", "--output", type=Path, metavar="FILE", help="default: stdout")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds for all queries")
    p.set_defaults(func=run)


def _month(text: str) -> Month:
    try:
        return Month.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    month = args.month or Month.previous(datetime.now(UTC))
    fmt = args.format or ("html" if args.output and args.output.suffix in (".html", ".htm")
                          else "csv")
    started = time.monotonic()
    try:
        report = asyncio.run(collect(args.prometheus, month, timeout=args.timeout))
    except ReportError as exc:
        print(f"netwatch report: {exc}", file=sys.stderr)
        return 1
    text = to_html(report) if fmt == "html" else to_csv(report)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
        print(f"{args.output}: {month}, {len(report.sites)} sites, "
              f"{time.monotonic() - started:.1f} s", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0

"""`netwatch import-csv FILE`: a spreadsheet of sites becomes `sites:` YAML.

The format and its checks: netwatch/generators/importcsv.py.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from netwatch.generators.importcsv import (
    ImportError_,
    import_sites,
    parse_template,
    to_yaml,
    upstreams_for,
    write_atomically,
)


def add_parser(sub: Any) -> None:
    p = sub.add_parser("import-csv", help="turn a spreadsheet of sites into sites: YAML",
                       description=__doc__.split("\n\n")[0].split(": ", 1)[1])
    p.add_argument("file", help="CSV export (`;` or `,`, UTF-8 with or without BOM)")
    p.add_argument("--devices", help="device template for sheets without device columns, "
                   "e.g. rtr:router,ap1:ap")
    p.add_argument("--address-plan", help="address pattern for templated devices, "
                   "e.g. '10.71.{kec}.{kel}{dev}' ({kec}, {kel}, {dev}, {code})")
    p.add_argument("--upstream-plan", help="upstream id per site, e.g. 'pop-{kecamatan}'")
    p.add_argument("--upstream-address-plan", help="with --upstream-plan: also write upstreams:, "
                   "their switch addressed by this pattern, e.g. '10.71.{kec}.1'")
    p.add_argument("--sla-target", type=float, help="sla_target for every site without one")
    p.add_argument("--uplink", help="uplink of every router: IFNAME[:CAPACITY], e.g. ether1:20Mbit")
    p.add_argument("-o", "--output", help="write here (atomically) instead of stdout")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from netwatch.config.files import CONFIG_LIMIT, FileProblem, read_text

    try:  # bounded, regular files only, UTF-8 (with or without BOM)
        text = read_text(Path(args.file), CONFIG_LIMIT, "sheet", bom=True)
    except FileProblem as exc:
        print(f"{args.file}: {exc}", file=sys.stderr)
        return 2
    try:
        templates = parse_template(args.devices) if args.devices else None
        sites = import_sites(text, templates, args.address_plan, args.upstream_plan,
                             args.sla_target, args.uplink)
        document: dict[str, Any] = {}
        if args.upstream_plan and args.upstream_address_plan:
            document["upstreams"] = upstreams_for(sites, args.upstream_address_plan)
        document["sites"] = sites
    except ImportError_ as exc:
        for problem in exc.problems:
            print(f"{args.file}: {problem}", file=sys.stderr)
        print(f"{len(exc.problems)} problem(s); nothing written", file=sys.stderr)
        return 2
    output = to_yaml(document)
    if args.output:
        write_atomically(Path(args.output), output)
        print(f"wrote {len(sites)} sites to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(output)
    return 0

"""Write netwatch's Grafana dashboards (grafana/dashboards/*.json) from the code in
grafana/dashgen/. The committed JSON is this script's output (tests check): never edit the
JSON by hand, change the code and run

    .venv/bin/python grafana/generate.py            # rewrite grafana/dashboards/
    .venv/bin/python grafana/generate.py --check    # exit 1 when the committed JSON is stale
    .venv/bin/python grafana/generate.py --basemap osm --out /tmp/dash   # online map tiles
    .venv/bin/python grafana/generate.py --thresholds /etc/netwatch/thresholds.yml --out DIR

Colours follow netwatch's thresholds file (netwatch/config/thresholds.yml); `--thresholds`
reads a city's override over it, as the daemon and the rule generator do. The committed JSON
uses the packaged values.

Needs grafana-foundation-sdk (the `test` extra of pyproject.toml).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from netwatch.base.errors import ConfigError
from netwatch.config.thresholds import ThresholdsFile, read_thresholds

# run as a script: make `grafana.dashgen` importable
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from grafana.dashgen import dashboards
from grafana.dashgen.geo import BASEMAPS

HERE = Path(__file__).resolve().parent
OUT = HERE / "dashboards"


def dump(dashboard: dict[str, object]) -> str:
    return json.dumps(dashboard, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def rendered(basemap: str = "offline",
             thresholds: ThresholdsFile | None = None) -> dict[str, str]:
    """File name -> file text of every dashboard."""
    return {f"{name}.json": dump(d) for name, d in dashboards(basemap, thresholds).items()}


def stale(out: Path = OUT, thresholds: ThresholdsFile | None = None) -> list[str]:
    """Files in `out` that differ from the generator's output, are missing, or are extra."""
    want = rendered(thresholds=thresholds)
    have = {p.name for p in out.glob("*.json")}
    problems = [n for n, text in want.items()
                if not (out / n).is_file() or (out / n).read_text(encoding="utf-8") != text]
    return sorted(problems + list(have - set(want)))


def write(out: Path, basemap: str, thresholds: ThresholdsFile | None = None) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    files = rendered(basemap, thresholds)
    for old in out.glob("*.json"):
        if old.name not in files:
            old.unlink()
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8")
    return [out / name for name in sorted(files)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help="directory for the JSON files")
    parser.add_argument("--basemap", choices=BASEMAPS, default="offline",
                        help="map base layer: offline kecamatan boundaries (default), or "
                             "online tiles (needs internet in the browser)")
    parser.add_argument("--thresholds", type=Path, default=None,
                        help="a thresholds file over netwatch's packaged one (a city's values)")
    parser.add_argument("--check", action="store_true",
                        help="only compare the committed files with the generator's output")
    args = parser.parse_args(argv)
    if args.thresholds is not None and args.out.resolve() == OUT:
        parser.error("the committed dashboards use the packaged thresholds; give --out")
    try:
        thresholds = read_thresholds(args.thresholds)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        problems = stale(args.out, thresholds)
        for name in problems:
            print(f"stale: {args.out / name} (run grafana/generate.py)", file=sys.stderr)
        return 1 if problems else 0
    if args.basemap != "offline" and args.out.resolve() == OUT:
        parser.error("the committed dashboards use the offline map; give --out for others")
    for path in write(args.out, args.basemap, thresholds):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

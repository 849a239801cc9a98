"""The metric tables of README.md and docs/profiles.md, generated from the catalog.

Each document holds its table between two marker comments; everything outside them is
prose people edit. The committed documents are the current rendering
(tests/unit/test_catalog.py checks), so a metric added to netwatch/base/catalog.py shows up
in the reference by running:

    python -m netwatch.generators.metricdoc render     # rewrite the tables in place
    python -m netwatch.generators.metricdoc check      # exit 1 when a table is stale
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from netwatch.base.catalog import METRICS, Metric, of
from netwatch.base.errors import NetwatchError

REPO = Path(__file__).resolve().parents[2]
COMMAND = "python -m netwatch.generators.metricdoc render"
BEGIN = "<!-- BEGIN {name}: generated from netwatch/base/catalog.py by `{command}` -->\n"
END = "<!-- END {name} -->\n"
_TYPES = {"info": "info (gauge = 1)", "stateset": "state set (gauge)"}


class DocError(NetwatchError):
    """A document lacks the markers its generated table goes between."""


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _name(metric: Metric, labels: tuple[str, ...]) -> str:
    return f"`{metric.name}{{{','.join(labels)}}}`" if labels else f"`{metric.name}`"


def readme_table() -> str:
    """Every family: what one series stands for, type, unit, meaning."""
    rows = ["| metric | per | type | unit | meaning |", "|---|---|---|---|---|"]
    for m in METRICS.values():
        rows.append(f"| {_name(m, m.own_labels)} | {m.per} | {_TYPES.get(m.type, m.type)} | "
                    f"{m.unit or '–'} | {_cell(m.meaning or m.help)} |")
    return "\n".join(rows) + "\n"


def profile_table() -> str:
    """The families profiles may map, with the labels a profile must give them."""
    rows = ["| metric | type | labels | unit | meaning |", "|---|---|---|---|---|"]
    for m in of("profile"):
        rows.append(f"| `{m.name}` | {_TYPES.get(m.type, m.type)} | "
                    f"{', '.join(m.own_labels) or '–'} | {m.unit or '–'} | "
                    f"{_cell(m.meaning or m.help)} |")
    computed = ", ".join(f"`{m.name}`" for m in of("snmp"))
    return ("\n".join(rows) + "\n\n"
            f"The poller computes {computed} itself (see above); profiles cannot map them.\n")


DOCUMENTS: dict[str, tuple[Path, Callable[[], str]]] = {
    "metrics": (REPO / "README.md", readme_table),
    "profile-metrics": (REPO / "docs" / "profiles.md", profile_table),
}


def render_document(name: str, text: str) -> str:
    """`text` with the table `name` replaced by the current rendering."""
    _, table = DOCUMENTS[name]
    begin, end = BEGIN.format(name=name, command=COMMAND), END.format(name=name)
    start, stop = text.find(begin), text.find(end)
    if start < 0 or stop < start:
        raise DocError(f"no '{begin.strip()}' ... '{end.strip()}' markers for the {name} table")
    return text[:start + len(begin)] + "\n" + table() + "\n" + text[stop:]


def stale_documents() -> list[Path]:
    """Documents whose generated table differs from the catalog's rendering."""
    return [path for name, (path, _) in DOCUMENTS.items()
            if render_document(name, path.read_text(encoding="utf-8"))
            != path.read_text(encoding="utf-8")]


def write_documents() -> list[Path]:
    for name, (path, _) in DOCUMENTS.items():
        path.write_text(render_document(name, path.read_text(encoding="utf-8")), encoding="utf-8")
    return [path for path, _ in DOCUMENTS.values()]


def _main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m netwatch.generators.metricdoc",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("render", "check"))
    args = parser.parse_args(argv)
    try:
        if args.command == "render":
            for path in write_documents():
                print(path)
            return 0
        stale = stale_documents()
    except DocError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path in stale:
        print(f"stale: {path.relative_to(REPO)} (run: {COMMAND})", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(_main())

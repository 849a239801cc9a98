"""Render netwatch's Prometheus rules for production or for a test timing profile.

The rule files Prometheus loads are rendered from templates shipped beside this module
(`netwatch/generators/rule_templates/*.yml`): every `${name}` is replaced by the value of
`name` under `rules:` in the thresholds file (netwatch.config.thresholds: the packaged file,
optionally with a city's override over it), by `runbook_base_url` from the same file, or by
a number of the causes' evidence as `cause_<cause>_<evidence>_<number>`
(`${cause_radio_degraded_signal_fell_by}`: an alert says what the daemon's cause says). A
profile (`test`) overrides some values, so an end-to-end test runs the same rule text with
short `for:` durations. The committed files in a checkout's `deploy/prometheus/rules/` are the
`production` rendering of the packaged thresholds (tests/unit/test_alert_rules.py checks).
Alertmanager's config is not templated: `alertmanager_config()` derives the test variant from
the production file.

    python -m netwatch.generators.rules render                       # rewrite the committed files
    python -m netwatch.generators.rules check                        # exit 1 when they are stale
    python -m netwatch.generators.rules render --profile test --out /tmp/rules
    python -m netwatch.generators.rules render --thresholds /etc/netwatch/thresholds.yml \
        --out /etc/prometheus/rules                                  # a city's own values
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from netwatch.base.errors import ConfigError, NetwatchError
from netwatch.config.thresholds import PRODUCTION, ThresholdsFile, read_thresholds

TEMPLATE_DIR = Path(__file__).with_name("rule_templates")
CHECKOUT = Path(__file__).resolve().parents[2]  # a source checkout; an installed wheel has none
COMMITTED_DIR = CHECKOUT / "deploy" / "prometheus" / "rules"
ALERTMANAGER_FILE = CHECKOUT / "deploy" / "alertmanager" / "alertmanager.yml"

PLACEHOLDER = re.compile(r"\$\{([a-z][a-z0-9_]*)\}")
AM_TIMINGS = ("group_wait", "group_interval", "repeat_interval")
PACKAGED_NAME = "netwatch/config/thresholds.yml"  # how the rendered files' header names it
_HEADER = (
    "# GENERATED from netwatch/generators/rule_templates/{name} with the thresholds file\n"
    "# {thresholds} (profile: {profile}).\n"
    "# Do not edit: change the template or the thresholds, then run\n"
    "#   python -m netwatch.generators.rules render\n"
)


class RenderError(NetwatchError):
    """A template or the thresholds are inconsistent (unknown or unused names, bad profile)."""


def _format(value: object) -> str:
    if isinstance(value, float):
        return format(value, "g")
    return str(value)


def _thresholds(thresholds: ThresholdsFile | None) -> ThresholdsFile:
    return thresholds if thresholds is not None else read_thresholds()


def template_values(profile: str = PRODUCTION, overrides: Mapping[str, object] | None = None,
                    thresholds: ThresholdsFile | None = None) -> dict[str, str]:
    """The values the templates are rendered with: the rules, then the profile's, then
    `overrides` (which an end-to-end test may use to fit the lab's timing), and the settings
    the rules share with other readers of the thresholds file (`runbook_base_url`)."""
    values = _thresholds(thresholds)
    try:
        rules = values.rule_values(profile)
    except KeyError as exc:
        raise RenderError(str(exc.args[0])) from None
    unknown = sorted(set(overrides or {}) - set(rules))
    if unknown:
        raise RenderError(f"overrides of unknown rule settings: {unknown}")
    shared = {"runbook_base_url": values.runbook_base_url, **cause_values(values)}
    merged: dict[str, object] = {**rules, **(overrides or {}), **shared}
    return {name: _format(v) for name, v in merged.items()}


def cause_values(thresholds: ThresholdsFile) -> dict[str, object]:
    """The causes' numbers as template values: `cause_<cause>_<evidence>_<number>`."""
    found: dict[str, object] = {}
    for cause, rule in thresholds.causes.items():
        for kind, parameters in rule.evidence.kinds():
            for name, value in parameters.model_dump().items():
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    found[f"cause_{cause}_{kind}_{name}"] = value
    return found


def render_text(template: str, values: Mapping[str, str]) -> tuple[str, set[str]]:
    """Substitute `${name}` placeholders; return the text and the names used."""
    used: set[str] = set()
    missing: set[str] = set()

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            missing.add(name)
            return match.group(0)
        used.add(name)
        return values[name]

    text = PLACEHOLDER.sub(substitute, template)
    if missing:
        raise RenderError(f"placeholders without a value in the thresholds: {sorted(missing)}")
    return text, used


def templates(template_dir: Path = TEMPLATE_DIR) -> list[Path]:
    return sorted(template_dir.glob("*.yml"))


def render_rules(profile: str = PRODUCTION, overrides: Mapping[str, object] | None = None,
                 thresholds: ThresholdsFile | None = None, template_dir: Path = TEMPLATE_DIR,
                 source: str = PACKAGED_NAME) -> dict[str, str]:
    """Every rule file, rendered: {file name: text}. Fails on unknown or unused rule names.
    `source` names the thresholds in the files' header."""
    values_of = _thresholds(thresholds)
    values = template_values(profile, overrides, values_of)
    rendered: dict[str, str] = {}
    used: set[str] = set()
    for path in templates(template_dir):
        text, names = render_text(path.read_text(encoding="utf-8"), values)
        used |= names
        header = _HEADER.format(name=path.name, thresholds=source, profile=profile)
        rendered[path.name] = header + text
        yaml.safe_load(text)  # a template that renders to broken YAML fails here, not in Prometheus
    unused = sorted(set(values_of.rules) - used)
    if unused:
        raise RenderError(f"rule settings in the thresholds that no template uses: {unused}")
    return rendered


def write_rules(out_dir: Path, profile: str = PRODUCTION,
                overrides: Mapping[str, object] | None = None,
                thresholds: ThresholdsFile | None = None,
                source: str = PACKAGED_NAME) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render_rules(profile, overrides, thresholds, source=source).items():
        path = out_dir / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def stale_rules(rules_dir: Path = COMMITTED_DIR, profile: str = PRODUCTION,
                thresholds: ThresholdsFile | None = None,
                source: str = PACKAGED_NAME) -> list[str]:
    """Rule files in `rules_dir` that differ from the rendering (or are missing); by default
    the committed files against the production rendering of the packaged thresholds."""
    stale = []
    for name, text in render_rules(profile, thresholds=thresholds, source=source).items():
        path = rules_dir / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            stale.append(name)
    return stale


# --- Alertmanager --------------------------------------------------------------------------

def _retime(route: dict[str, Any], timings: Mapping[str, str], root: bool = True) -> None:
    """Test timings on the root and wherever a child route sets its own; no quiet hours."""
    for key in AM_TIMINGS:
        if root or key in route:
            route[key] = timings[key]
    route.pop("mute_time_intervals", None)
    route.pop("active_time_intervals", None)
    for child in route.get("routes") or []:
        _retime(child, timings, root=False)


def alertmanager_config(webhook_base: str, profile: str = "test",
                        path: Path = ALERTMANAGER_FILE,
                        thresholds: ThresholdsFile | None = None) -> dict[str, Any]:
    """The production Alertmanager config with the profile's group timings (production: its
    own), quiet hours removed (a test must not depend on the time of day), template paths
    made absolute, and every receiver replaced by a webhook to `{webhook_base}/{receiver}`,
    so a test (or the demo) sees which receiver a notification was routed to and nothing
    leaves the machine. Routes, grouping and inhibition stay."""
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(config, dict):
        raise RenderError(f"{path}: expected a mapping")
    if profile != PRODUCTION:
        values = _thresholds(thresholds)
        timing = values.profiles[profile].alertmanager if profile in values.profiles else None
        if timing is None:
            raise RenderError(f"the thresholds' profile {profile!r} has no alertmanager timings")
        _retime(config["route"], timing.model_dump())
    base = webhook_base.rstrip("/")
    config["receivers"] = [
        {"name": r["name"],
         "webhook_configs": [{"url": f"{base}/{r['name']}", "send_resolved": True}]}
        for r in config["receivers"]
    ]
    config["templates"] = [str((path.parent / t).resolve()) for t in config.get("templates", [])]
    return config


# --- reading PromQL ----------------------------------------------------------------------

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_LABEL_LISTS = re.compile(
    r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_BRACES = re.compile(r"\{[^}]*\}")
_RANGES = re.compile(r"\[[^\]]*\]")
_IDENT = re.compile(r"(?<![\w:.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?")
_KEYWORDS = frozenset({
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
    "bool", "offset", "inf", "nan", "start", "end", "atan2",
})


def series_read(expr: str) -> set[str]:
    """Metric names a PromQL expression selects (functions, keywords, labels removed).

    Not a parser: enough for our own rules, which a test checks against the contract."""
    text = _STRINGS.sub('""', expr)
    text = _LABEL_LISTS.sub(" ", text)
    text = _BRACES.sub(" ", text)
    text = _RANGES.sub(" ", text)
    names = set()
    for match in _IDENT.finditer(text):
        name, call = match.group(1), match.group(2)
        if call or name.lower() in _KEYWORDS:
            continue
        names.add(name)
    return names


def _main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m netwatch.generators.rules",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for command, what in (("render", "write the rendered rule files"),
                          ("check", "exit 1 when the rule files in the directory are stale")):
        cmd = sub.add_parser(command, help=what)
        cmd.add_argument("--profile", default=PRODUCTION)
        cmd.add_argument("--thresholds", type=Path, default=None,
                         help="a thresholds file over the packaged one (a city's values)")
        cmd.add_argument("--out", type=Path, default=None,
                         help="the rule directory (default, in a checkout and for the packaged "
                              "production values only: deploy/prometheus/rules)")
    args = parser.parse_args(argv)
    if args.out is None:
        if args.profile != PRODUCTION or args.thresholds is not None:
            parser.error("--out is required with --profile or --thresholds "
                         "(deploy/prometheus/rules holds the packaged production values)")
        if not COMMITTED_DIR.is_dir():
            parser.error(f"no checkout here ({COMMITTED_DIR} is missing): give --out")
    out: Path = args.out or COMMITTED_DIR
    source = PACKAGED_NAME
    if args.thresholds is not None:
        source += f" with {args.thresholds.resolve()} over it"
    try:
        values = read_thresholds(args.thresholds)
        if args.command == "render":
            for path in write_rules(out, args.profile, thresholds=values, source=source):
                print(path)
            return 0
        stale = stale_rules(out, args.profile, values, source)
    except (RenderError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for name in stale:
        print(f"stale: {out / name} (run: python -m netwatch.generators.rules render)",
              file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(_main())

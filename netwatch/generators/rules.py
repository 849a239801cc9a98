"""Render netwatch's Prometheus rules for production or for a test timing profile.

The rule files Prometheus loads (`deploy/prometheus/rules/*.yml`) are rendered from templates
(`deploy/prometheus/rules/src/*.yml`): every `${name}` is replaced by the value of `name` in
`src/thresholds.yml`, the one place where thresholds, `for:` durations and evaluation
intervals are set. A profile (`test`) overrides some values, so an end-to-end test runs the
same rule text with short `for:` durations. The committed files are the `production`
rendering (tests/unit/test_alert_rules.py checks). Alertmanager's config is not templated:
`alertmanager_config()` derives the test variant from the production file.

    python -m netwatch.generators.rules render                       # rewrite the committed files
    python -m netwatch.generators.rules check                        # exit 1 when they are stale
    python -m netwatch.generators.rules render --profile test --out /tmp/rules
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from netwatch.base.errors import NetwatchError

REPO = Path(__file__).resolve().parents[2]
RULES_DIR = REPO / "deploy" / "prometheus" / "rules"
SOURCE_DIR = RULES_DIR / "src"
THRESHOLDS_FILE = SOURCE_DIR / "thresholds.yml"
ALERTMANAGER_FILE = REPO / "deploy" / "alertmanager" / "alertmanager.yml"

PRODUCTION = "production"
PLACEHOLDER = re.compile(r"\$\{([a-z][a-z0-9_]*)\}")
AM_TIMINGS = ("group_wait", "group_interval", "repeat_interval")
_HEADER = (
    "# GENERATED from deploy/prometheus/rules/src/{name} with src/thresholds.yml"
    " (profile: {profile}).\n"
    "# Do not edit: change the template or the thresholds, then run\n"
    "#   python -m netwatch.generators.rules render\n"
)


class RenderError(NetwatchError):
    """A template or the thresholds file is inconsistent (unknown or unused names, bad profile)."""


def _format(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise RenderError(f"threshold values are numbers or strings, not {value!r}")
    if isinstance(value, float):
        return format(value, "g")
    return str(value)


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("rules"), dict):
        raise RenderError(f"{path}: expected a mapping with a `rules:` section")
    return data


def _profile(data: Mapping[str, Any], profile: str, path: Path) -> Mapping[str, Any]:
    if profile == PRODUCTION:
        return {}
    profiles = data.get("profiles") or {}
    if profile not in profiles:
        known = ", ".join([PRODUCTION, *sorted(profiles)])
        raise RenderError(f"{path}: no profile {profile!r} (known: {known})")
    return profiles[profile] or {}


def thresholds(profile: str = PRODUCTION, overrides: Mapping[str, object] | None = None,
               path: Path = THRESHOLDS_FILE) -> dict[str, str]:
    """The values the templates are rendered with: production, then the profile, then
    `overrides` (which an end-to-end test may use to fit the lab's timing)."""
    data = _load(path)
    values = {name: _format(v) for name, v in data["rules"].items()}
    for layer in ((_profile(data, profile, path).get("rules") or {}), overrides or {}):
        unknown = sorted(set(layer) - set(values))
        if unknown:
            raise RenderError(f"{path}: profile {profile!r} overrides unknown names: {unknown}")
        values.update({name: _format(v) for name, v in layer.items()})
    return values


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
        raise RenderError(f"placeholders without a value in thresholds.yml: {sorted(missing)}")
    return text, used


def templates(source_dir: Path = SOURCE_DIR) -> list[Path]:
    return sorted(p for p in source_dir.glob("*.yml") if p.name != THRESHOLDS_FILE.name)


def render_rules(profile: str = PRODUCTION, overrides: Mapping[str, object] | None = None,
                 source_dir: Path = SOURCE_DIR) -> dict[str, str]:
    """Every rule file, rendered: {file name: text}. Fails on unknown or unused names."""
    values = thresholds(profile, overrides, source_dir / THRESHOLDS_FILE.name)
    rendered: dict[str, str] = {}
    used: set[str] = set()
    for path in templates(source_dir):
        text, names = render_text(path.read_text(encoding="utf-8"), values)
        used |= names
        rendered[path.name] = _HEADER.format(name=path.name, profile=profile) + text
        yaml.safe_load(text)  # a template that renders to broken YAML fails here, not in Prometheus
    unused = sorted(set(values) - used)
    if unused:
        raise RenderError(f"thresholds.yml names no template uses: {unused}")
    return rendered


def write_rules(out_dir: Path = RULES_DIR, profile: str = PRODUCTION,
                overrides: Mapping[str, object] | None = None) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render_rules(profile, overrides).items():
        path = out_dir / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def stale_rules(rules_dir: Path = RULES_DIR) -> list[str]:
    """Committed rule files that differ from the production rendering (or are missing)."""
    stale = []
    for name, text in render_rules(PRODUCTION).items():
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
                        thresholds_path: Path = THRESHOLDS_FILE) -> dict[str, Any]:
    """The production Alertmanager config with the profile's group timings (production: its
    own), quiet hours removed (a test must not depend on the time of day), template paths
    made absolute, and every receiver replaced by a webhook to `{webhook_base}/{receiver}`,
    so a test (or the demo) sees which receiver a notification was routed to and nothing
    leaves the machine. Routes, grouping and inhibition stay."""
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    if profile != PRODUCTION:
        timings = {k: str(v) for k, v in
                   (_profile(_load(thresholds_path), profile, thresholds_path).get("alertmanager")
                    or {}).items()}
        missing = sorted(set(AM_TIMINGS) - set(timings))
        if missing:
            raise RenderError(f"{thresholds_path}: profile {profile!r} lacks alertmanager "
                              f"{missing}")
        _retime(config["route"], timings)
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
    parser = argparse.ArgumentParser(prog="python -m netwatch.generators.rules", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    render = sub.add_parser("render", help="write the rendered rule files")
    render.add_argument("--profile", default=PRODUCTION)
    render.add_argument("--out", type=Path, default=None,
                        help="directory (default: deploy/prometheus/rules, production only)")
    sub.add_parser("check", help="exit 1 when the committed rule files are stale")
    args = parser.parse_args(argv)
    try:
        if args.command == "render":
            if args.out is None and args.profile != PRODUCTION:
                parser.error("--out is required for a profile other than production")
            for path in write_rules(args.out or RULES_DIR, args.profile):
                print(path)
            return 0
        stale = stale_rules()
        for name in stale:
            print(f"stale: deploy/prometheus/rules/{name} (run: python -m netwatch.generators.rules render)",
                  file=sys.stderr)
        return 1 if stale else 0
    except RenderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(_main())

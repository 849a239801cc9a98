"""The thresholds file: the packaged values, an override over them, exact FILE:LINE messages,
and how the daemon's degraded defaults relate to netwatch.yml's `state.degraded`."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

import pytest

from netwatch.base.errors import ConfigError
from netwatch.config import thresholds
from netwatch.config.thresholds import PRODUCTION, read_thresholds
from netwatch.daemon.inventory_file import read_inventory, read_inventory_apart
from netwatch.generators import rules


def test_packaged_file_is_valid_and_complete() -> None:
    values = read_thresholds()
    assert 0 < values.dashboards.loss_warn_ratio < values.degraded.loss_ratio <= 1
    assert values.runbook_base_url.endswith("/docs/runbooks.md")
    assert set(values.profiles) == {"test"}
    test = values.rule_values("test")
    assert test.keys() == values.rule_values(PRODUCTION).keys()
    changed = {k for k in test if test[k] != values.rules[k]}
    assert changed and all(k.endswith(("_for", "_interval")) for k in changed), changed
    with pytest.raises(KeyError, match="no profile 'staging'"):
        values.rule_values("staging")
    with pytest.raises(TypeError, match="link_roles"):
        values.rule_number("link_roles")


def test_an_override_changes_only_what_it_sets(tmp_path: Path) -> None:
    override = tmp_path / "thresholds.yml"
    override.write_text("degraded: {rtt_p90: 300ms}\nrules: {site_down_for: 4m}\n"
                        "profiles: {test: {rules: {site_down_for: 20s}}}\n")
    packaged, city = read_thresholds(), read_thresholds(override)
    assert city.degraded.rtt_p90 == 0.3
    assert city.degraded.loss_ratio == packaged.degraded.loss_ratio  # merged, not replaced
    assert city.rules == {**packaged.rules, "site_down_for": "4m"}
    assert city.rule_values("test")["site_down_for"] == "20s"
    assert city.profiles["test"].alertmanager == packaged.profiles["test"].alertmanager
    override.write_text("")  # an empty override is the packaged file
    assert read_thresholds(override) == packaged


OVERRIDE_ERRORS = {
    "degraded: {loss_ratio: 1.5}\n": ["FILE:1: degraded.loss_ratio: must be at most 1"],
    "degraded:\n  rtt_p90: fast\n": [
        "FILE:2: degraded.rtt_p90: not a duration: 'fast' (use e.g. 15s, 2m, 150ms)"],
    "rules:\n  site_down_fo: 3m\n": [
        "FILE:2: rules.site_down_fo: unknown rule setting (did you mean 'site_down_for'?)"],
    "rules: {site_down_for: true}\n": ["FILE:1: rules.site_down_for: must be a number or text"],
    "profiles:\n  test:\n    rules: {nope: 1s}\n": [
        "FILE:3: profiles.test.rules.nope: unknown rule setting (not under rules:)"],
    "dashboards: {loss_warn_ratio: 0.08}\n": [
        "FILE:1: dashboards.loss_warn_ratio: 0.08 must be below degraded.loss_ratio (0.05)"],
    "degraded: {rtt_p90: 50ms}\n": [
        "FILE:1: degraded.rtt_p90: 50ms must be above the yellow level dashboards.rtt_p90_warn "
        "(100ms): lower that too"],
    "rules: {link_saturated_ratio: high}\n": [
        "FILE:1: rules.link_saturated_ratio: must be a number (dashboards.utilization_warn_ratio "
        "is its yellow level)"],
    "runbook_base_url: https://noc.example.org/runbooks.md#top\n": [
        "FILE:1: runbook_base_url: must be an http(s) URL without #anchor "
        "(e.g. https://noc.example.org/docs/runbooks.md)"],
    "dashboards: {loss_warn: 0.01}\n": [
        "FILE:1: dashboards.loss_warn: unknown field (did you mean 'loss_warn_ratio'?)"],
    "- degraded\n": ["FILE:1: must be a mapping (key: value)"],
    "causes:\n  radio_degraded:\n    evidence:\n      signal_fell:\n"
    "        metrics: [netwatch_radio_signl_dbm]\n": [
        "FILE:5: causes.radio_degraded.evidence.signal_fell.metrics[0]: not a metric of the "
        "catalog (did you mean 'netwatch_radio_signal_dbm'?)"],
    "causes:\n  unknown: {evidence: {cpu_busy: {above: 0.5}}}\n": [
        "FILE:2: causes.unknown: 'unknown' is the cause when no rule holds; it takes no rule"],
    "causes:\n  hot: {evidence: {}}\n": [
        "FILE:2: causes.hot: a cause needs at least one kind of evidence"],
    "causes:\n  hot: {evidence: {cpu_bussy: {above: 0.5}}}\n": [
        "FILE:2: causes.hot.evidence.cpu_bussy: unknown field (did you mean 'cpu_busy'?)"],
    "causes:\n  Hot: {evidence: {cpu_busy: {above: 0.5}}}\n": [
        "FILE:2: causes.Hot: a cause is a lower-case name with underscores, e.g. "
        "radio_degraded"],
    "causes:\n  power:\n    evidence:\n      power_fell: {ratio: 1.2}\n": [
        "FILE:4: causes.power.evidence.power_fell.ratio: must be less than 1"],
    "baselines: {min_buckets: 500}\n": [
        "FILE:1: baselines: min_buckets must be at most the 168 buckets of the window"],
    "degraded: {loss_ratio: 0.1\n": [
        "FILE:2: YAML syntax error: expected ',' or '}', but got '<stream end>'"],
}


@pytest.mark.parametrize("text", sorted(OVERRIDE_ERRORS))
def test_override_errors_name_file_and_line(text: str, tmp_path: Path) -> None:
    override = tmp_path / "thresholds.yml"
    override.write_text(text)
    with pytest.raises(ConfigError) as caught:
        read_thresholds(override)
    assert [str(i) for i in caught.value.issues] == \
        [m.replace("FILE", str(override)) for m in OVERRIDE_ERRORS[text]]


def test_a_conflict_with_a_packaged_value_points_into_the_override(tmp_path: Path) -> None:
    """Lowering degraded below the packaged yellow level blames the override's line (the
    operator cannot edit the packaged file); lowering both is fine."""
    override = tmp_path / "thresholds.yml"
    override.write_text("# city values\ndegraded:\n  loss_ratio: 0.01\n")
    with pytest.raises(ConfigError) as caught:
        read_thresholds(override)
    [issue] = caught.value.issues
    assert (issue.file, issue.line, issue.path) == (str(override), 3, ("degraded", "loss_ratio"))
    override.write_text("degraded: {loss_ratio: 0.01}\ndashboards: {loss_warn_ratio: 0.005}\n")
    assert read_thresholds(override).degraded.loss_ratio == 0.01


def _config(tmp_path: Path, thresholds: str | None, defaults_state: str = "",
            site_state: str = "") -> Path:
    path = tmp_path / "netwatch.yml"
    path.write_text(
        (f"thresholds: {thresholds}\n" if thresholds else "")
        + "defaults:\n  snmp: {enabled: false}\n" + defaults_state
        + "sites:\n"
        + "".join(f'  - {{id: "18.71.01.100{i}", name: S{i}, kecamatan: K,{site_state if i else ""}'
                  f' devices: [{{name: rtr, role: router, address: 127.0.4.{i + 1}}}]}}\n'
                  for i in range(2)))
    return path


def test_degraded_defaults_come_from_the_file_below_the_config(tmp_path: Path) -> None:
    packaged = read_thresholds().degraded
    inventory = read_inventory(_config(tmp_path, None))
    state = inventory.sites["18.71.01.1000"].state
    assert (state.degraded_loss_ratio, state.degraded_rtt_p90) == \
        (packaged.loss_ratio, packaged.rtt_p90)

    (tmp_path / "city").mkdir()
    (tmp_path / "city" / "thresholds.yml").write_text("degraded: {loss_ratio: 0.1, rtt_p90: 1s}\n")
    inventory = read_inventory(_config(tmp_path, "city/thresholds.yml"))  # relative to the config
    assert inventory.config.thresholds == str(tmp_path / "city" / "thresholds.yml")
    state = inventory.sites["18.71.01.1000"].state
    assert (state.degraded_loss_ratio, state.degraded_rtt_p90) == (0.1, 1.0)

    # the file < defaults.state.degraded < a site's state.degraded, field by field
    inventory = read_inventory(_config(
        tmp_path, "city/thresholds.yml",
        defaults_state="  state: {degraded: {loss_ratio: 0.2}}\n",
        site_state=" state: {degraded: {rtt_p90: 250ms}},"))
    plain, own = (inventory.sites[f"18.71.01.100{i}"].state for i in range(2))
    assert (plain.degraded_loss_ratio, plain.degraded_rtt_p90) == (0.2, 1.0)
    assert (own.degraded_loss_ratio, own.degraded_rtt_p90) == (0.2, 0.25)


def test_the_inventory_carries_the_thresholds_in_effect(tmp_path: Path) -> None:
    """Every reader in the daemon (the verdict's defaults, the pages' flap and reboot
    markers) takes the values the config's override leaves in effect from the inventory,
    also when the inventory was read in a child interpreter (start-up and reloads)."""
    assert read_inventory(_config(tmp_path, None)).thresholds == read_thresholds()
    (tmp_path / "city.yml").write_text("rules: {site_flapping_changes: 2}\n"
                                       "degraded: {loss_ratio: 0.1}\n")
    config = _config(tmp_path, "city.yml")
    for inventory in (read_inventory(config), read_inventory_apart(config)):
        assert inventory.thresholds == read_thresholds(tmp_path / "city.yml")
        assert inventory.thresholds.rule_number("site_flapping_changes") == 2
        assert inventory.thresholds.degraded.loss_ratio == 0.1


def test_the_file_and_the_rule_templates_ship_in_the_package() -> None:
    """Readers find them beside the code, and pyproject's package-data names them (a wheel
    has no deploy/ directory to read them from)."""
    package = Path(thresholds.__file__).parents[1]
    shipped = [thresholds.PACKAGED, *rules.templates()]
    assert len(shipped) == 3 and all(p.is_relative_to(package) for p in shipped)
    pyproject = tomllib.loads((package.parent / "pyproject.toml").read_text())
    data = pyproject["tool"]["setuptools"]["package-data"]
    for path in shipped:
        owner = path.parent
        while not (owner / "__init__.py").exists():
            owner = owner.parent
        name = ".".join(owner.relative_to(package.parent).parts)
        inside = path.relative_to(owner).as_posix()
        patterns = [*data.get(name, []), *(data["*"] if "/" not in inside else [])]
        assert any(fnmatch.fnmatch(inside, p) for p in patterns), f"{inside} not in {name}"

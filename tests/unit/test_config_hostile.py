"""Hostile config input: every `hostile-*.yml` fixture gives its exact `FILE:LINE` message
(never a traceback, a hang or gigabytes), files are read bounded and only when regular,
secrets never show their bytes in an error, and valid-but-odd configs warn."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from netwatch.base.errors import ConfigError
from netwatch.cli.main import main
from netwatch.config import files
from netwatch.config.types import parse_bandwidth, parse_duration, parse_retention
from netwatch.config.yamlload import EXPANSION_BASE, MAX_DEPTH, load_yaml_text
from netwatch.daemon.inventory_file import LoadError, read_inventory, read_inventory_apart

FIXTURES = Path(__file__).parent / "fixtures" / "config"

HOSTILE = {
    "alias-bomb": ["FILE:4: x6[1][8][0][4][1][7]: aliases expand to too many values "
                   "(an alias bomb?)"],
    "credential-path": ["FILE:5: auths.v2.community: credential '../../etc/shadow': a "
                        "credential is a plain name, not a path"],
    "deep-nesting": ["FILE:4: nested more than 64 levels deep"],
    "duration-huge": ["FILE:4: defaults.icmp.interval: duration must be at most 1d",
                      "FILE:4: defaults.icmp.timeout: duration must be at least 10ms"],
    "duration-nan": ["FILE:4: defaults.icmp.interval: a duration must be a finite number",
                     "FILE:4: defaults.icmp.timeout: a duration must be a finite number"],
    "huge-integer": ["FILE:4: defaults.icmp.count: number longer than 40 digits"],
    "nul-byte": ["FILE:6: contains a NUL byte"],
    "number-nan": ["FILE:8: sites[0].sla_target: must be a finite number (not .nan or .inf)",
                   "FILE:9: sites[0].location.lat: must be a finite number (not .nan or .inf)"],
    "recursive-alias": ["FILE:4: extra.inner[1]: an alias refers to a value that contains it "
                        "(a recursive alias)"],
    "secret-device": ["FILE:5: auths.v2.community: secret file '/dev/zero' is a device, "
                      "not a regular file"],
    "secret-directory": ["FILE:5: auths.v2.community: secret file '{dir}/secrets' is a "
                         "directory, not a regular file"],
    "secret-encoding": ["FILE:5: auths.v2.community: secret file "
                        "'{dir}/secrets/latin1-community' is not UTF-8 text (line 1)"],
    "sites-file-device": ["/dev/null: is a device, not a regular file"],
    "weekday": ["FILE:9: sites[0].maintenance[0].weekly.days[0]: must be one of 'mon', 'tue', "
                "'wed', 'thu', 'fri', 'sat' or 'sun'"],
}


def test_every_hostile_fixture_is_listed() -> None:
    on_disk = {p.name[len("hostile-"):-len(".yml")] for p in FIXTURES.glob("hostile-*.yml")}
    assert on_disk == set(HOSTILE)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_config_message(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(FIXTURES / "secrets"))
    path = FIXTURES / f"hostile-{name}.yml"
    started = time.monotonic()
    with pytest.raises(ConfigError) as caught:
        read_inventory(path)
    assert time.monotonic() - started < 20  # an alias bomb once took 18-75 s (generous bound)
    expected = [m.replace("FILE", str(path)).replace("{dir}", str(FIXTURES))
                for m in HOSTILE[name]]
    assert [str(issue) for issue in caught.value.issues] == expected


def test_a_secret_error_never_quotes_its_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError) as caught:
        read_inventory(FIXTURES / "hostile-secret-encoding.yml")
    text = str(caught.value)
    assert "rahas" not in text and "\\xed" not in text and "0xed" not in text


@pytest.mark.parametrize(("text", "message"), [
    ("a: " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), "nested more than 64 levels deep"),
    ("a: &a {b: &b [*a]}", "a recursive alias"),
    ("a: !!python/object:os.system 1", "could not determine a constructor"),
    ("a: 1\n---\nb: 2", "but found another document"),
    ("a: \x07", "character #x0007 is not allowed in YAML"),
    ("? [1, 2]\n: x", "keys must be plain text"),
    ("a: 0x" + "f" * 60, "number longer than 40 digits"),
])
def test_yaml_class_of_hostile_text(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        load_yaml_text(text, "x.yml")
    assert all(issue.line >= 1 for issue in caught.value.issues)


def test_aliases_used_as_templates_stay_within_the_budget() -> None:
    # a device template anchored once and used by 5,000 sites is not a bomb
    text = "t: &dev [{name: rtr, role: router}, {name: ap1, role: ap, parent: rtr}]\ns:\n" + \
        "".join(f"  - {{id: s{i}, devices: *dev}}\n" for i in range(5000))
    loaded = load_yaml_text(text, "x.yml")
    assert len(loaded.data["s"]) == 5000 and loaded.data["s"][-1]["devices"][1]["name"] == "ap1"
    assert EXPANSION_BASE + len(text) > 5000 * 7


def test_files_refuse_fifos_devices_and_big_files(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # nobody writes: a plain open() would wait for ever
    with pytest.raises(files.FileProblem, match="is a FIFO, not a regular file"):
        files.read_text(fifo, 100)
    with pytest.raises(files.FileProblem, match="is a device, not a regular file"):
        files.read_text(Path("/dev/zero"), 100)
    big = tmp_path / "big"
    big.write_bytes(b"x" * 2000)
    with pytest.raises(files.FileProblem, match="is larger than 1 KiB"):
        files.read_text(big, 1024)
    with pytest.raises(files.FileProblem, match=r"cannot read file .*: No such file"):
        files.read_text(tmp_path / "missing", 100)
    (tmp_path / "ok").write_bytes(b"\xef\xbb\xbfhello\n")
    assert files.read_text(tmp_path / "ok", 100, bom=True) == "hello\n"


@pytest.mark.parametrize(("value", "message"), [
    (float("nan"), "finite"), (float("inf"), "finite"), ("9" * 400 + "s", "not a duration"),
    ("99999999999999999999999h", "at most 1d"), ("1ms", "at least 10ms"), (86401, "at most 1d"),
    ("25h", "at most 1d"), (0.001, "at least 10ms"),
])
def test_durations_are_bounded(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_duration(value)
    assert parse_duration("10ms") == 0.01 and parse_duration("1d") == 86400


def test_the_history_retention_has_bounds_of_its_own() -> None:
    """Days, not polling durations: the default (400d) passes, a typo's millennia do not."""
    assert parse_retention("400d") == 400 * 86400 and parse_retention("1d") == 86400
    with pytest.raises(ValueError, match="at most 3660d"):
        parse_retention("99999d")
    with pytest.raises(ValueError, match="at least 1d"):
        parse_retention("1h")
    with pytest.raises(ValueError, match="finite"):
        parse_retention(float("nan"))


def test_bandwidths_are_bounded() -> None:
    with pytest.raises(ValueError, match="at most 10Tbit"):
        parse_bandwidth("9" * 30 + "Tbit")
    with pytest.raises(ValueError, match="not a bandwidth"):
        parse_bandwidth("9" * 400 + "Mbit")  # float('9' * 400) is inf


def test_a_glob_matching_nothing_warns(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                       ) -> None:
    path = tmp_path / "netwatch.yml"
    path.write_text("defaults: {snmp: {enabled: false}}\nsites_files: [sites.d/*.yml]\n")
    assert main(["check-config", str(path)]) == 0
    err = capsys.readouterr().err
    assert f"warning: {path}:2: sites_files[0]: sites.d/*.yml matches no file" in err
    assert read_inventory(path).warnings == [f"{path}:2: sites_files[0]: sites.d/*.yml "
                                             "matches no file"]


def test_the_loading_child_is_bounded_in_time_and_memory(tmp_path: Path) -> None:
    path = tmp_path / "netwatch.yml"
    path.write_text("defaults: {snmp: {enabled: false}}\nsites:\n" + "".join(
        f'  - {{id: "s{i}", name: S, kecamatan: K, devices: [{{name: rtr, role: router, '
        f'address: "127.9.{i // 250}.{i % 250 + 1}"}}]}}\n' for i in range(2000)))
    with pytest.raises(LoadError, match=r"took longer than 0\.01s"):
        read_inventory_apart(path, timeout=0.01)
    # below what 2,000 sites need: the child stops (at once, or at the time limit if the
    # allocator spins), never a traceback and never the daemon's memory
    with pytest.raises(LoadError, match=r"needed more than 60 MiB of memory|took longer"):
        read_inventory_apart(path, memory=60 << 20, timeout=30)
    assert len(read_inventory_apart(path).targets) == 2000

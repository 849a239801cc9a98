"""Config loading: every invalid fixture yields its exact message; valid configs resolve."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from netwatch.base.errors import ConfigError, ConfigIssue
from netwatch.cli.main import main
from netwatch.config.types import DeferredCredential, Secret, parse_bandwidth, parse_duration
from netwatch.config.yamlload import load_yaml_text
from netwatch.daemon.inventory_file import read_inventory
from netwatch.snmp import profiles

FIXTURES = Path(__file__).parent / "fixtures" / "config"


def _known_profiles() -> str:
    return ", ".join(sorted({"auto", *profiles.available()}))


# fixture name -> the exact messages (FILE is the fixture path)
INVALID = {
    "address": ["FILE:9: sites[0].devices[0].address: not an IP address or host name"],
    "unknown-field": ["FILE:4: defaults.icmp.intervall: unknown field (did you mean 'interval'?)"],
    "duration": ["FILE:4: defaults.icmp.interval: not a duration: '15 seconds' "
                 "(use e.g. 15s, 2m, 150ms)"],
    "snmp-deadline": ["FILE:3: defaults.snmp: timeout 10s x (1 + retries 4) = 50s does not fit "
                      "in the deadline 48s"],
    "icmp-round": ["FILE:4: defaults.icmp: a round ((count 10 - 1) x spacing 1s + timeout 2s = "
                   "11s) does not fit in the deadline 4s"],
    "unknown-parent": ["FILE:10: sites[0].devices[1].parent: unknown parent 'router' "
                       "(devices here: rtr, ap1)"],
    "parent-cycle": ["FILE:9: sites[0].devices[0].parent: parent cycle: rtr -> ap1 -> rtr",
                     "FILE:10: sites[0].devices[1].parent: parent cycle: ap1 -> rtr -> ap1"],
    "unknown-upstream": ["FILE:8: sites[0].upstream: unknown upstream 'pop-kedaton' "
                         "(known: none defined)"],
    "upstream-cycle": ["FILE:11: upstreams[0].upstream: upstream cycle: pop-a -> pop-b -> pop-a",
                       "FILE:12: upstreams[1].upstream: upstream cycle: pop-b -> pop-a -> pop-b"],
    "unknown-auth": ["FILE:3: defaults.snmp.auth: unknown auth 'city-v2'"],
    "unknown-profile": ["FILE:11: sites[0].devices[0].snmp.profile: unknown profile 'juniper' "
                        "(known: {profiles})"],
    "duplicate-site": ["FILE:10: sites[1].id: duplicate site id '18.71.01.1003'"],
    "duplicate-device": ["FILE:10: sites[0].devices[1].name: duplicate device name 'rtr' "
                         "in 18.71.01.1003"],
    "duplicate-address": ["FILE:10: sites[0].devices[1].address: address 127.0.1.1 is already "
                          "used by sites[0].devices[0]"],
    "duplicate-key": ["FILE:7: sites[0].name: duplicate key"],
    "yaml-syntax": ["FILE:10: YAML syntax error: expected ',' or '}', but got '<stream end>'"],
    "role": ["FILE:9: sites[0].devices[0].role: must be one of 'router', 'ap', 'switch', "
             "'server' or 'upstream'"],
    "v3-missing-priv": ["FILE:5: auths.v3: security_level authPriv needs priv_password"],
    "secret-env": ["FILE:5: auths.v2.community: environment variable "
                   "NETWATCH_TEST_UNSET_VARIABLE is not set"],
    "maintenance-offset": ["FILE:9: sites[0].maintenance[0]: start needs a UTC offset, "
                           "e.g. 2026-12-06T22:00:00+07:00"],
    "sla": ["FILE:8: sites[0].sla_target: must be at most 1"],
    "missing-devices": ["FILE:3: sites[0].devices: required field is missing"],
    "listen": ["FILE:1: listen: must be HOST:PORT, e.g. 127.0.0.1:9430"],
    "timezone": ["FILE:2: timezone: unknown time zone 'WIB' (e.g. Asia/Jakarta)"],
    "sites-file": ["{dir}/invalid-sites-file.d/more.yml:6: sites[0].devices[0].address: "
                   "not an IP address or host name"],
    "defaults-once": ["FILE:3: defaults.snmp: SNMP is enabled but no auth is named (set "
                      "snmp.auth to an entry under auths:, or snmp.enabled: false) "
                      "(affects 4 devices)"],
    "credential": ["FILE:5: auths.city-v2.community: credential 'snmp-community': "
                   "$CREDENTIALS_DIRECTORY is not set: systemd passes credentials to the "
                   "service it starts (LoadCredential=); outside systemd, set it to a directory "
                   "holding the file, or use {env:} or {file:}"],
    "thresholds-file": ["FILE:2: thresholds: no such file: /etc/netwatch/no-such-thresholds.yml"],
    "radio-max-peers": ["FILE:13: sites[0].devices[0].radio.max_peers: must be at most 256"],
    "radio-without-snmp": ["FILE:15: sites[0].devices[0].radio.per_peer: per-peer radio series "
                           "need SNMP, which is off for this device"],
    "thresholds": ["{dir}/invalid-thresholds.d/thresholds.yml:3: degraded.loss_ratio: "
                   "must be at most 1",
                   "{dir}/invalid-thresholds.d/thresholds.yml:5: rules.site_down_fo: "
                   "unknown rule setting (did you mean 'site_down_for'?)"],
}


def test_every_invalid_fixture_is_listed() -> None:
    on_disk = {p.name[len("invalid-"):-len(".yml")] for p in FIXTURES.glob("invalid-*.yml")}
    assert on_disk == set(INVALID)
    assert len(on_disk) >= 15


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_config_message(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NETWATCH_TEST_UNSET_VARIABLE", raising=False)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    path = FIXTURES / f"invalid-{name}.yml"
    with pytest.raises(ConfigError) as caught:
        read_inventory(path)
    expected = [m.replace("FILE", str(path)).replace("{dir}", str(FIXTURES))
                .replace("{profiles}", _known_profiles()) for m in INVALID[name]]
    assert [str(issue) for issue in caught.value.issues] == expected


def test_check_config_exits_non_zero_and_prints_errors(capsys: pytest.CaptureFixture[str]) -> None:
    path = FIXTURES / "invalid-address.yml"
    assert main(["check-config", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:9: sites[0].devices[0].address: not an IP address or host name" in err


def test_check_config_warns_where_systemd_resolves_the_credential(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    # the same file `run` refuses (above): check-config on the admin's shell cannot see the
    # credentials systemd will pass in, so it says so and checks the rest
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    path = FIXTURES / "invalid-credential.yml"
    assert main(["check-config", str(path)]) == 0
    out, err = capsys.readouterr()
    assert f"{path}: OK (1 warning(s))" in out
    assert (f"warning: {path}:5: auths.city-v2.community: credential 'snmp-community' is "
            "resolved by systemd at start") in err
    warnings: list[ConfigIssue] = []
    inv = read_inventory(path, warnings=warnings)
    secret = inv.config.auths["city-v2"].community
    assert isinstance(secret, DeferredCredential) and len(warnings) == 1
    with pytest.raises(RuntimeError, match="deferred to systemd"):
        secret.reveal()  # no silent fallback: the deferred secret has no value
    # where the directory is set (the service, or the admin pointing at it), it is read
    (tmp_path / "snmp-community").write_text("public-city\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    warnings.clear()
    inv = read_inventory(path, warnings=warnings)
    community = inv.config.auths["city-v2"].community
    assert warnings == [] and community is not None and community.reveal() == "public-city"
    # set but missing the file: an error for check-config too
    (tmp_path / "snmp-community").unlink()
    assert main(["check-config", str(path)]) == 2
    assert "credential" in capsys.readouterr().err


@pytest.mark.parametrize("example", ["netwatch.example.yml", "bandarlampung.yml"])
def test_example_configs_pass_check_config_outside_systemd(
        example: str, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # as the README runs them, on the admin's shell: credentials are systemd's at start
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    path = FIXTURES.parents[3] / "config" / example
    assert main(["check-config", str(path)]) == 0
    out, err = capsys.readouterr()
    assert f"{path}: OK" in out
    assert all("resolved by systemd at start" in line for line in err.splitlines()), err


def test_check_config_warns_about_a_config_without_sites(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "netwatch.yml"
    path.write_text("canaries: [{name: core, address: 127.0.0.1}]\n")
    assert main(["check-config", str(path)]) == 0
    out, err = capsys.readouterr()
    assert "OK (1 warning(s))" in out
    assert f"warning: {path}: no sites: only the canaries are polled" in err


def test_valid_config_resolves_layers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NETWATCH_TEST_COMMUNITY", "s3cret-v1")
    monkeypatch.setattr(profiles, "available", lambda: ["mikrotik", "unifi"])
    inv = read_inventory(FIXTURES / "valid-full.yml")
    assert set(inv.sites) == {"18.71.01.1003", "18.71.01.1004"}  # the second from sites_files
    rtr = inv.devices[("18.71.01.1003", "rtr")]
    ap1 = inv.devices[("18.71.01.1003", "ap1")]
    srv = inv.devices[("18.71.01.1003", "srv")]
    assert rtr.icmp is not None and rtr.icmp.count == 5 and rtr.icmp.deadline == 12.0
    assert ap1.icmp is not None and ap1.icmp.count == 3  # device override
    assert rtr.snmp is not None
    assert rtr.snmp.profile == "mikrotik" and rtr.snmp.auth_name == "city-v2"
    assert rtr.snmp.max_peers == 8  # a backhaul radio: per-peer series for 8 peers
    assert ap1.snmp is not None and ap1.snmp.auth_name == "city-v3" and ap1.snmp.profile == "unifi"
    assert ap1.snmp.max_peers == 0  # no radio settings: peers aggregated
    assert ap1.snmp.auth.auth_password is not None
    assert ap1.snmp.auth.auth_password.reveal() == "authpass123"  # from the file, newline cut
    assert srv.snmp is None and srv.address == "::1"
    assert rtr.state.down_after == 2 and rtr.state.up_after == 2  # site override + default
    assert rtr.state.degraded_rtt_p90 == 0.2 and rtr.state.degraded_loss_ratio == 0.05
    assert rtr.uplink is not None and rtr.uplink.capacity == 2.5e6  # 20 Mbit/s in bytes/s
    assert rtr.parent is None and ap1.parent == "rtr"
    assert rtr.group == "pop-kedaton"
    assert ("", "core", "icmp") in inv.targets
    assert inv.count("icmp") == 6 and inv.count("snmp") == 4
    assert inv.config.auths["city-v1"].community == Secret("s3cret-v1", "x")


def test_secrets_never_show_in_reprs_or_dumps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NETWATCH_TEST_COMMUNITY", "s3cret-v1")
    monkeypatch.setattr(profiles, "available", lambda: ["mikrotik", "unifi"])
    inv = read_inventory(FIXTURES / "valid-full.yml")
    auth = inv.config.auths["city-v1"]
    assert "s3cret-v1" not in repr(auth) and "s3cret-v1" not in str(auth)
    assert "s3cret-v1" not in json.dumps(auth.model_dump(mode="json"))
    assert "authpass123" not in repr(inv.config.auths["city-v3"])


def test_yaml_12_scalars_keep_codes_and_words() -> None:
    loaded = load_yaml_text("a: no\nb: 0161\nc: 1:20\nd: on\ne: true\nf: 18.71.01.1003\n", "x.yml")
    assert loaded.data == {"a": "no", "b": 161, "c": "1:20", "d": "on", "e": True,
                           "f": "18.71.01.1003"}
    assert loaded.marks[("c",)].line == 3


@pytest.mark.parametrize(("text", "seconds"), [
    ("150ms", 0.15), ("15s", 15.0), ("2m", 120.0), ("1h30m", 5400.0), (5, 5.0), ("1d", 86400.0)])
def test_durations(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(("text", "message"), [
    ("15", "not a duration: '15'"), ("15 s", "not a duration: '15 s'"),
    ("-1s", "not a duration: '-1s'"), ("0s", "duration must be greater than 0"),
    ("s", "not a duration: 's'"), ("", "not a duration: ''"), (True, "not a duration")])
def test_bad_durations(text: object, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}"):
        parse_duration(text)


@pytest.mark.parametrize(("text", "bytes_per_second"), [
    ("20Mbit", 2.5e6), ("1Gbit", 1.25e8), ("100Mbps", 1.25e7), ("2MB/s", 2e6)])
def test_bandwidths(text: str, bytes_per_second: float) -> None:
    assert parse_bandwidth(text) == bytes_per_second


def test_schema_is_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["additionalProperties"] is False
    assert "sites" in schema["properties"]
    site = schema["$defs"]["SiteConfig"]
    assert {"id", "name", "kecamatan", "devices"} <= set(site["required"])


def test_check_config_summary(capsys: pytest.CaptureFixture[str],
                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NETWATCH_TEST_COMMUNITY", "s3cret-v1")
    monkeypatch.setattr(profiles, "available", lambda: ["mikrotik", "unifi"])
    assert main(["check-config", str(FIXTURES / "valid-full.yml")]) == 0
    out = capsys.readouterr().out
    assert "  sites:         2 in 1 kecamatan\n" in out
    assert "  icmp targets:  6\n" in out
    assert "  snmp targets:  4\n" in out
    assert "s3cret" not in out

"""Profiles as data: the shipped files load, cover the contract, and bad files are refused
with a message naming the file and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from netwatch.base.catalog import of
from netwatch.snmp import profiles
from netwatch.snmp.detect import by_priority, rule_matches
from netwatch.snmp.oid import parse_oid
from netwatch.snmp.profile import DetectRule, ProfileError, load_directory, parse_spec

ISSUE_PROFILES = {"generic", "linux", "mikrotik", "ubiquiti-airos", "unifi", "cisco",
                  "ubiquiti-ltu", "ubiquiti-af60", "ubiquiti-edgemax"}


def test_shipped_profiles_load_and_extend_generic() -> None:
    loaded = profiles.load()
    assert set(loaded) == ISSUE_PROFILES == set(profiles.available())
    for name, profile in loaded.items():
        assert profile.chain[-1] == "generic", name
        assert profile.table("interfaces") is not None, name


def test_every_mappable_contract_metric_has_a_source() -> None:
    mapped: set[str] = set()
    for profile in profiles.load().values():
        mapped.update(s.metric for s in profile.scalars)
        mapped.update(m.metric for t in profile.tables for m in t.metrics)
        mapped.update(t.info.metric for t in profile.tables if t.info is not None)
    assert {m.name for m in of("profile")} == mapped


def test_interfaces_prefer_64_bit_counters() -> None:
    interfaces = profiles.load()["generic"].table("interfaces")
    assert interfaces is not None
    rx = next(m for m in interfaces.metrics if m.metric == "netwatch_interface_receive_bytes_total")
    assert [s.oid for s in rx.sources] == [parse_oid("1.3.6.1.2.1.31.1.1.1.6"),
                                           parse_oid("1.3.6.1.2.1.2.2.1.10")]


def write(tmp_path: Path, name: str, text: str) -> Path:
    (tmp_path / f"{name}.yml").write_text(text)
    return tmp_path


BASE = "name: {name}\ndescription: test\n"


@pytest.mark.parametrize(("body", "message"), [
    ("scalars:\n  - {metric: netwatch_device_cpu_load, oid: 1.3.6.1.2.1.1.3.0}\n",
     "scalars[0]: 'netwatch_device_cpu_load' is not a metric a profile can map"),
    ("scalars:\n  - {metric: netwatch_device_temperature_celsius, oid: 1.3.6.1.2.1.1.3.0}\n",
     "scalars[0]: netwatch_device_temperature_celsius takes labels ['sensor'], this gives []"),
    ("scalars:\n  - {metric: netwatch_device_info, oid: 1.3.6.1.2.1.1.3.0}\n",
     "scalars[0]: 'netwatch_device_info' is not a metric a profile can map"),
    (("tables:\n  - name: t\n    labels: {ifname: {oid: 1.3.6.1.2.1.2.2.1.2}, ifalias: "
     "{oid: 1.3.6.1.2.1.31.1.1.1.18}}\n    metrics:\n      - {metric: "
     "netwatch_interface_oper_up, oid: 1.3.6.1.2.1.2.2.1.8}\n"),
     ("t.metrics[0]: netwatch_interface_oper_up takes labels ['ifname'], "
     "this gives ['ifalias', 'ifname']")),
    (("tables:\n  - name: t\n    labels: {ifname: {ref: nothere.ifname}}\n    metrics:\n"
     "      - {metric: netwatch_wireless_clients, oid: 1.3.6.1.4.1.1.1}\n"),
     "t: ref 'nothere.ifname' names no table label of this profile"),
    ("scalars:\n  - {metric: netwatch_device_cpu_utilization_ratio, oid: not-an-oid}\n",
     "scalars.0.sources.0.oid: Value error, not a numeric OID: 'not-an-oid'"),
    ("detect:\n  - {}\n", ("detect.0: Value error, a detect rule needs sys_object_id, "
     "sys_descr or subtree")),
    ("identity:\n  model: {oid: 1.3.6.1.2.1.1.1.0, value: x}\n",
     "identity.model.0: Value error, an identity source needs exactly one of oid, first, value"),
    ("extends: missing\n", "extends unknown profile 'missing'"),
    (("tables:\n  - name: t\n    labels: {ifname: {value: ath0}}\n    metrics:\n"
      "      - {metric: netwatch_radio_peer_signal_dbm, oid: 1.3.6.1.4.1.1.1}\n"),
     "t.metrics[0]: netwatch_radio_peer_signal_dbm is per peer: its table needs `peer`"),
    ("tables:\n  - name: t\n    unique: [ifname]\n",
     "t.unique: 'ifname' is not a label of this table"),
    (("tables:\n  - name: t\n    labels: {ifname: {value: ath0}}\n    metrics:\n"
      "      - {metric: netwatch_wireless_clients, oid: 1.3.6.1.4.1.1.1,\n"
      "         when: {oid: 1.3.6.1.4.1.1.2, in: [1], not_in: [2]}}\n"),
     "tables.0.metrics.0.when.0: Value error, a filter needs exactly one of in, not_in"),
    (("tables:\n  - name: t\n    labels: {ifname: {value: x, part: [0, 1]}}\n"),
     "tables.0.labels.ifname.0: Value error, part is for index, oid and ref sources"),
    (("tables:\n  - name: t\n    labels: {ifname: {oid: 1.3.6.1.4.1.1.2, "
      "through: 1.3.6.1.4.1.1.3}}\n"),
     "tables.0.labels.ifname.0: Value error, through is for ref sources"),
    ("neighbors:\n  tables:\n    - {name: n, protocol: lldp, ifname: {index: true}}\n",
     "neighbors.n: no remote field reads a column"),
    ("neighbors:\n  tables:\n    - {name: n, remote_name: {oid: 1.3.6.1.4.1.1.2}}\n",
     "neighbors.n: protocol is missing"),
    (("neighbors:\n  tables:\n    - {name: n, protocol: lldp, remote_name: {oid: 1.3.6.1.4.1.1.2},"
      "\n       remote_addresses: [{oid: 1.3.6.1.4.1.1.3, below: 1.3.6.1.4.1.1.4}]}\n"),
     ("neighbors.tables.0.remote_addresses.0: Value error, an address source needs exactly "
      "one of oid, below")),
    (("neighbors:\n  tables:\n    - {name: n, protocol: lldp, ifname: {ref: nowhere.ifname},\n"
      "       remote_name: {oid: 1.3.6.1.4.1.1.2}}\n"),
     "neighbors.n: ref 'nowhere.ifname' names no table label of this profile"),
])
def test_invalid_profile_is_refused_with_its_reason(tmp_path: Path, body: str,
                                                    message: str) -> None:
    write(tmp_path, "bad", BASE.format(name="bad") + body)
    with pytest.raises(ProfileError) as caught:
        load_directory(tmp_path)
    assert f"{tmp_path / 'bad.yml'}: {message}" in str(caught.value)


def test_extends_cycle_and_name_mismatch(tmp_path: Path) -> None:
    write(tmp_path, "a", BASE.format(name="a") + "extends: b\n")
    write(tmp_path, "b", BASE.format(name="b") + "extends: a\n")
    with pytest.raises(ProfileError, match="extends cycle"):
        load_directory(tmp_path)
    other = tmp_path / "x"
    other.mkdir()
    write(other, "c", BASE.format(name="d"))
    with pytest.raises(ProfileError, match="name 'd' differs from the file name"):
        load_directory(other)


def test_a_new_vendor_is_a_new_file(tmp_path: Path) -> None:
    spec = parse_spec((profiles.DIRECTORY / "generic.yml").read_text(), "generic.yml")
    assert spec.name == "generic"
    write(tmp_path, "acme", BASE.format(name="acme") + "extends: generic\npriority: 5\n"
          "detect:\n  - {sys_object_id: 1.3.6.1.4.1.99999}\n"
          "scalars:\n  - {metric: netwatch_device_cpu_utilization_ratio, "
          "oid: 1.3.6.1.4.1.99999.1.0, scale: 0.01}\n")
    loaded = load_directory(profiles.DIRECTORY, extra=[tmp_path / "acme.yml"])
    assert loaded["acme"].chain == ("acme", "generic")
    assert by_priority(loaded)[-1].name == "generic"


@pytest.mark.parametrize(("rule", "sys_object_id", "sys_descr", "found", "expected"), [
    ({"sys_object_id": "1.3.6.1.4.1.14988"}, "1.3.6.1.4.1.14988.1", "", {}, True),
    ({"sys_object_id": "1.3.6.1.4.1.14988"}, "1.3.6.1.4.1.149881", "", {}, False),
    ({"sys_object_id": "1.3.6.1.4.1.9"}, "1.3.6.1.4.1.9", "", {}, True),
    ({"sys_descr": "^RouterOS "}, "1.3.6.1.4.1.1", "RouterOS RB750Gr3", {}, True),
    ({"sys_descr": "^RouterOS ", "sys_object_id": "1.3.6.1.4.1.9"}, "1.3.6.1.4.1.1",
     "RouterOS RB750Gr3", {}, False),
    ({"subtree": "1.3.6.1.4.1.41112.1.6"}, "1.3.6.1.4.1.8072.3.2.10", "Linux",
     {(1, 3, 6, 1, 4, 1, 41112, 1, 6): True}, True),
    ({"subtree": "1.3.6.1.4.1.41112.1.6"}, "1.3.6.1.4.1.8072.3.2.10", "Linux", {}, False),
])
def test_detect_rules(rule: dict[str, str], sys_object_id: str, sys_descr: str,
                      found: dict[tuple[int, ...], bool], expected: bool) -> None:
    assert rule_matches(DetectRule.model_validate(rule), parse_oid(sys_object_id), sys_descr,
                        found) is expected

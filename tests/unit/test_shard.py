"""Sharding: whole upstream groups per instance by rendezvous hashing, canaries everywhere."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from netwatch.base.errors import ConfigError
from netwatch.cli import main as cli
from netwatch.daemon.inventory_file import read_inventory
from netwatch.inventory.model import Inventory, TargetKey
from netwatch.inventory.shard import Shard, groups, owner, select
from tests.conftest import ROOT


def city(pops: int = 40, subpops: int = 40, sites: int = 1200,
         canaries: int = 3) -> dict[str, Any]:
    """A large generated city: POPs, sub-POPs hanging off POPs, sites behind either or none.

    Addresses are only written, never contacted (unit test)."""
    def addr(n: int) -> str:
        return f"127.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"

    serial = iter(range(1, 1 << 22))
    ups = [{"id": f"pop-{i}", "name": f"POP {i}",
            "devices": [{"name": "sw", "role": "upstream", "address": addr(next(serial))}]}
           for i in range(pops)]
    ups += [{"id": f"sub-{i}", "name": f"Sub {i}", "upstream": f"pop-{i % pops}",
             "devices": [{"name": "sw", "role": "upstream", "address": addr(next(serial))}]}
            for i in range(subpops)]
    site_list = []
    for i in range(sites):
        upstream = None if i % 3 == 0 else f"pop-{i % pops}" if i % 3 == 1 else f"sub-{i % subpops}"
        site: dict[str, Any] = {"id": f"18.71.{i // 100:02d}.{1000 + i}", "name": f"Kel {i}",
                      "kecamatan": f"Kec {i % 20}",
                      "devices": [{"name": "rtr", "role": "router", "address": addr(next(serial))},
                                  {"name": "ap1", "role": "ap", "address": addr(next(serial)),
                                   "parent": "rtr"}]}
        if upstream:
            site["upstream"] = upstream
        site_list.append(site)
    cores = [{"name": f"core{i}", "address": addr(next(serial))} for i in range(canaries)]
    return {"defaults": {"snmp": {"enabled": False}}, "canaries": cores, "upstreams": ups,
            "sites": site_list}


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Inventory:
    path = tmp_path_factory.mktemp("city") / "netwatch.yml"
    path.write_text(yaml.safe_dump(city()))
    return read_inventory(path)


def _load_example(path: Path, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Inventory:
    """Load an example config, supplying dummy secrets for the references it makes."""
    creds = tmp / "credentials"
    creds.mkdir(exist_ok=True)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    for _ in range(10):  # bounded: each round supplies the secrets the last error named
        try:
            return read_inventory(path)
        except ConfigError as exc:
            text = str(exc)
            envs = re.findall(r"environment variable (\w+) is not set", text)
            files = re.findall(r"cannot read credential '[^']*/([^'/]+)'", text)
            if not envs and not files:
                raise
            for name in envs:
                monkeypatch.setenv(name, "dummy-secret-value")
            for name in files:
                (creds / name).write_text("dummy-secret-value\n")
    raise AssertionError(f"{path}: could not supply its secrets")


def example_configs() -> list[Path]:
    found = []
    for path in sorted((ROOT / "config").glob("*.y*ml")):
        data = yaml.safe_load(path.read_text())
        if isinstance(data, dict) and ("upstreams" in data or "sites_files" in data
                                       or "canaries" in data or "defaults" in data):
            found.append(path)
    return found


def non_canary(inventory: Inventory) -> set[TargetKey]:
    return {k for k, t in inventory.targets.items() if t.canary is None}


def check_partition(inventory: Inventory, count: int) -> None:
    parts = [select(inventory, Shard(k, count)) for k in range(1, count + 1)]
    seen = Counter(key for part in parts for key in non_canary(part))
    assert set(seen) == non_canary(inventory), "some target is polled by no shard"
    assert set(seen.values()) <= {1}, "some target is polled by two shards"
    for part in parts:
        assert set(part.canaries) == set(inventory.canaries)
        assert {k for k, t in part.targets.items() if t.canary} == \
            {k for k, t in inventory.targets.items() if t.canary}
    # whole groups, whole sites, and topology inside one shard
    for part in parts:
        for site in part.sites.values():
            assert all((site.id, d) in part.devices for d in site.devices)
            if site.upstream is not None:
                assert site.upstream in part.upstreams, "a site's upstream is on another shard"
    assert sum(len(p.sites) for p in parts) == len(inventory.sites)
    assert sum(len(p.upstreams) for p in parts) == len(inventory.upstreams)


@pytest.mark.parametrize("count", [1, 2, 3, 5, 8])
def test_shards_cover_every_target_once(big: Inventory, count: int) -> None:
    check_partition(big, count)


def test_shards_are_balanced(big: Inventory) -> None:
    all_groups = groups(big)
    for count in (2, 4, 7):
        sizes = Counter(owner(g, count) for g in all_groups)
        expected = len(all_groups) / count
        assert set(sizes) == set(range(1, count + 1))
        assert all(abs(n - expected) < 0.35 * expected for n in sizes.values()), sizes


@pytest.mark.parametrize("count", [1, 2, 3, 4, 6, 9])
def test_adding_a_shard_moves_only_its_share(big: Inventory, count: int) -> None:
    all_groups = sorted(groups(big))
    before = {g: owner(g, count) for g in all_groups}
    after = {g: owner(g, count + 1) for g in all_groups}
    moved = [g for g in all_groups if before[g] != after[g]]
    assert all(after[g] == count + 1 for g in moved), "a group moved between old shards"
    share = len(moved) / len(all_groups)
    assert abs(share - 1 / (count + 1)) < 0.07, (share, count)


def test_owner_is_stable_across_processes() -> None:
    # fixed values: Python's hash() is salted per process, ours must not be
    # (blake2b of "group\0index"); a change here reshuffles every deployed shard
    assert [owner(f"pop-{i}", 4) for i in range(8)] == [2, 1, 3, 4, 4, 1, 1, 3]


@pytest.mark.parametrize("text", ["0/3", "4/3", "1/0", "x", "1/2/3", "-1/2", ""])
def test_bad_shard_spec_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="shard"):
        Shard.parse(text)


def test_shard_spec_parses() -> None:
    assert Shard.parse(" 2/3 ") == Shard(2, 3)
    assert str(Shard.parse("1/1")) == "1/1"


def test_one_shard_is_everything(big: Inventory) -> None:
    assert select(big, Shard(1, 1)) is big
    assert select(big, None) is big


def test_example_configs_partition(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    examples = example_configs()
    if not examples:
        pytest.skip("no example configs under config/ yet")
    for path in examples:
        inventory = _load_example(path, tmp_path, monkeypatch)
        for count in (2, 3):
            check_partition(inventory, count)


def test_check_config_shows_the_shard(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "netwatch.yml"
    path.write_text(yaml.safe_dump(city(pops=4, subpops=2, sites=30, canaries=1)))
    whole = read_inventory(path)
    listed: list[str] = []
    for k in (1, 2, 3):
        assert cli.main(["check-config", "--shard", f"{k}/3", str(path)]) == 0
        out = capsys.readouterr().out
        assert re.search(rf"shard:\s+{k}/3: \d+ upstream groups", out)
        line = next(ln for ln in out.splitlines() if ln.strip().startswith("groups:"))
        listed += [g for g in line.split(":", 1)[1].strip().split(", ") if g != "none"]
        sites = re.search(r"sites:\s+(\d+)", out)
        assert sites is not None, out
        assert int(sites.group(1)) == len(select(whole, Shard(k, 3)).sites)
    assert sorted(listed) == sorted(groups(whole))


def test_cli_refuses_a_bad_shard(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["check-config", "--shard", "4/3", "x.yml"])
    assert exc.value.code == 2
    assert "shard number must be 1..3" in capsys.readouterr().err

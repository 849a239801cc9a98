"""`netwatch import-csv`: the city's sheet becomes valid sites; bad rows are named by row."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from netwatch.cli.main import main
from netwatch.daemon.inventory_file import read_inventory
from netwatch.generators.importcsv import ImportError_, import_sites, parse_template

ROOT = Path(__file__).resolve().parents[2]
CITY_CSV = ROOT / "netwatch" / "lab" / "data" / "bandarlampung_kelurahan.csv"
CITY_ARGS = ["--devices", "rtr:router,ap1:ap", "--address-plan", "10.71.{kec}.{kel}{dev}",
             "--upstream-plan", "pop-{kecamatan}", "--upstream-address-plan", "10.71.{kec}.1",
             "--sla-target", "0.99", "--uplink", "ether1:20Mbit"]


def test_city_sheet_becomes_126_valid_sites(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "sites.yml"
    assert main(["import-csv", str(CITY_CSV), *CITY_ARGS, "-o", str(out)]) == 0
    config = tmp_path / "netwatch.yml"
    config.write_text(
        "defaults: {snmp: {auth: v2}}\nauths: {v2: {version: 2c, community: public}}\n"
        + out.read_text())
    inventory = read_inventory(config)
    assert len(inventory.sites) == 126
    assert len({s.kecamatan for s in inventory.sites.values()}) == 20
    assert len(inventory.upstreams) == 20
    site = inventory.sites["18.71.01.1003"]
    assert site.name == "Kedaton" and site.upstream == "pop-kedaton" and site.sla_target == 0.99
    ap = inventory.devices[("18.71.01.1003", "ap1")]
    assert ap.parent == "rtr"
    rtr = inventory.devices[("18.71.01.1003", "rtr")]
    assert rtr.uplink is not None and rtr.uplink.ifname == "ether1"


def test_committed_city_inventory_matches_the_import(capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    assert main(["import-csv", str(CITY_CSV), *CITY_ARGS]) == 0
    generated = yaml.safe_load(capsys.readouterr().out)
    committed = yaml.safe_load((ROOT / "config" / "bandarlampung.yml").read_text())
    assert committed["sites"] == generated["sites"]
    assert committed["upstreams"] == generated["upstreams"]
    (tmp_path / "snmp-community").write_text("public\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    assert main(["check-config", str(ROOT / "config" / "bandarlampung.yml")]) == 0
    assert "sites:         126 in 20 kecamatan" in capsys.readouterr().out


def test_semicolons_bom_and_decimal_commas() -> None:
    sheet = ("\ufeffKode_Wilayah;Kelurahan;Kecamatan;Lat;Lon;rtr_address\n"
             "18.71.01.1003;Kedaton;Kedaton;-5,3834;105,2635;127.0.1.1\n")
    [site] = import_sites(sheet, parse_template("rtr:router,ap1:ap"), "127.0.2.{kel}")
    assert site["location"] == {"lat": -5.3834, "lon": 105.2635}
    assert site["devices"] == [
        {"name": "rtr", "role": "router", "address": "127.0.1.1"},
        {"name": "ap1", "role": "ap", "address": "127.0.2.1", "parent": "rtr"}]


def test_one_row_per_device_groups_sites() -> None:
    sheet = ("kode_wilayah,kelurahan,kecamatan,lat,lon,device,role,address,profile,parent\n"
             "18.71.01.1003,Kedaton,Kedaton,-5.38,105.26,rtr,router,127.0.1.1,mikrotik,\n"
             "18.71.01.1003,Kedaton,Kedaton,-5.38,105.26,ap1,ap,127.0.1.2,unifi,rtr\n"
             "18.71.01.1004,Surabaya,Kedaton,-5.39,105.26,rtr,router,127.0.2.1,,\n")
    sites = import_sites(sheet)
    assert [s["id"] for s in sites] == ["18.71.01.1003", "18.71.01.1004"]
    assert sites[0]["devices"][1] == {"name": "ap1", "role": "ap", "address": "127.0.1.2",
                                      "profile": "unifi", "parent": "rtr"}


def test_bad_rows_are_reported_by_row_and_nothing_is_written(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sheet = tmp_path / "sites.csv"
    sheet.write_text(
        "kode_wilayah;kelurahan;kecamatan;lat;lon;device;role;address\n"
        "18.71.01.1003;Kedaton;Kedaton;-5.38;105.26;rtr;router;127.0.1.1\n"
        "18.71.01.1004;Surabaya;Kedaton;south;105.26;rtr;router;127.0.2.1\n"
        "\n"
        "18.71.01.1005;Sukamenanti;Kedaton;-5.39;105.25;rtr;gateway;127.0.3.1\n"
        "18.71.01.1006;Sidodadi;Kedaton;-5.39;105.25;rtr;router;999.0.0.1\n",
        encoding="utf-8")
    out = tmp_path / "out.yml"
    out.write_text("previous content\n")
    assert main(["import-csv", str(sheet), "-o", str(out)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"{sheet}: row 3: lat: not a number: 'south'",
        f"{sheet}: row 5: devices[0].role: must be one of 'router', 'ap', 'switch', "
        "'server' or 'upstream'",
        f"{sheet}: row 6: devices[0].address: not an IP address or host name",
        "3 problem(s); nothing written",
    ]
    assert out.read_text() == "previous content\n"


def test_header_problems_and_templates() -> None:
    with pytest.raises(ImportError_) as caught:
        import_sites("kode;kelurahan\n1;2\n")
    assert caught.value.problems[0].startswith("header: missing column(s) kecamatan, lat, lon")
    with pytest.raises(ImportError_, match=r"--devices: 'rtr' is not name:role\[:parent\]"):
        parse_template("rtr")
    parents = [t.parent for t in parse_template("rtr:router,ap1:ap,ap2:ap:ap1")]
    assert parents == [None, "rtr", "ap1"]


def test_old_mac_line_ends_and_a_broken_quote() -> None:
    """A sheet saved with bare carriage returns reads like any other; a quote left open is a
    row problem, not a traceback (found by bench/fuzz.py)."""
    sheet = ("kode_wilayah,kelurahan,kecamatan,lat,lon\r18.71.01.1003,Kedaton,Kedaton,-5.38,"
             "105.26\r18.71.01.1004,Surabaya,Kedaton,-5.39,105.26\r")
    sites = import_sites(sheet, parse_template("rtr:router"), "10.71.{kec}.{kel}{dev}")
    assert [s["id"] for s in sites] == ["18.71.01.1003", "18.71.01.1004"]
    with pytest.raises(ImportError_, match="row 2: "):
        import_sites("kode_wilayah,kelurahan,kecamatan,lat,lon\nx,\"a\nb,\"c\"d\"\n"
                     "\"\"\"", parse_template("rtr:router"))

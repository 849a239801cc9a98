"""The Debian package as an admin meets it: built by scripts/build-deb.sh, checked by lintian,
installed with apt into a throwaway Debian 12 root (mmdebstrap), then upgraded and purged.

The root (tests/integration/debroot.py) is a fresh minimal Debian 12; apt resolves the
package's dependencies (python3, ...) from Debian's mirror as on a real server, and dpkg runs
the maintainer scripts. There is no systemd running in the root:
the unit is enabled, not started (as in any chroot); systemd's own checks of the unit are in
test_install.py.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import program
from tests.integration.debroot import chroot, fresh_root, run

pytestmark = [pytest.mark.integration, pytest.mark.root]


@pytest.fixture(scope="module")
def server() -> Iterator[Path]:
    with fresh_root() as root:
        yield root


def test_lintian_finds_no_errors_or_warnings(deb: Path) -> None:
    program("lintian", "sh scripts/bootstrap.sh test")
    proc = run("lintian", "--fail-on", "none", "--show-overrides", deb)
    tags = [line for line in proc.stdout.splitlines() if line[:2] in ("E:", "W:")]
    assert tags == [], "\n".join(tags)
    overridden = [line for line in proc.stdout.splitlines() if line.startswith("O:")]
    # each override is justified in debian/netwatch.lintian-overrides; a new one needs a reason
    assert len(overridden) <= 3, overridden
    listing = run("dpkg-deb", "--contents", deb).stdout
    assert ".pyc" not in listing and "__pycache__" not in listing  # postinst compiles
    assert "/opt/" not in listing


def test_install_upgrade_purge(deb: Path, server: Path) -> None:
    root = server
    shutil.copy2(deb, root / "tmp" / deb.name)
    chroot(root, "apt-get", "install", "--yes", "--quiet", "--no-install-recommends",
           f"/tmp/{deb.name}")

    # what apt installed: the program, its command, the service, config and shared files
    version = chroot(root, "netwatch", "--version").stdout.strip()
    assert version == "netwatch " + deb.name.split("_")[1]
    check = chroot(root, "netwatch", "check-config", "/etc/netwatch/netwatch.yml")
    assert "/etc/netwatch/netwatch.yml: OK" in check.stdout
    assert "no sites" in check.stderr  # the starter monitors only its canary, and says so
    assert (root / "etc/systemd/system/multi-user.target.wants/netwatch.service").is_symlink()
    unit = (root / "lib/systemd/system/netwatch.service").read_text()
    assert "ExecStart=/usr/lib/netwatch/bin/python3 -m netwatch run" in unit
    assert "StateDirectory=netwatch" in unit
    assert (root / "etc/netwatch/credentials").stat().st_mode & 0o777 == 0o700
    conffiles = (root / "var/lib/dpkg/info/netwatch.conffiles").read_text().split()
    assert sorted(conffiles) == ["/etc/netwatch/netwatch.yml", "/etc/netwatch/web.yml"]
    for shared in ("prometheus/rules/netwatch-alerts.yml", "alertmanager/alertmanager.yml",
                   "grafana/dashboards/netwatch-overview.json", "examples/bandarlampung.yml",
                   "prometheus/prometheus-ha.yml", "alertmanager/prometheus-alertmanager.default",
                   "victoria-metrics/victoria-metrics.default"):  # high availability
        assert (root / "usr/share/netwatch" / shared).is_file(), shared
    assert (root / "usr/share/doc/netwatch/copyright").read_text().count("GPL-3.0+") >= 2
    assert list((root / "usr/lib/netwatch/lib").rglob("__pycache__"))  # compiled by postinst

    # the first day: a spreadsheet into sites.d, a credential, then the check sees the sites
    (root / "tmp/kelurahan.csv").write_text(
        "kode;kelurahan;kecamatan;lat;lon\n18.71.01.1003;Kedaton;Kedaton;-5.38;105.26\n")
    chroot(root, "netwatch", "import-csv", "/tmp/kelurahan.csv", "--devices", "rtr:router",
           "--address-plan", "10.71.{kec}.{kel}{dev}", "-o", "/etc/netwatch/sites.d/city.yml")
    check = chroot(root, "netwatch", "check-config", "/etc/netwatch/netwatch.yml")
    assert re.search(r"sites:\s+1 in 1 kecamatan", check.stdout), check.stdout
    chroot(root, "netwatch-setup", "add-credential", "snmp-community", stdin="public-city")
    dropin = root / "etc/systemd/system/netwatch.service.d/credentials.conf"
    assert "LoadCredential=snmp-community:/etc/netwatch/credentials/snmp-community" in \
        dropin.read_text()

    # an upgrade keeps the admin's config, sites, credentials and the daemon's history
    config = root / "etc/netwatch/netwatch.yml"
    config.write_text(config.read_text() + "\n# local edit\n")
    history = root / "var/lib/private/netwatch/history.sqlite"  # StateDirectory + DynamicUser
    history.parent.mkdir(parents=True)
    history.write_bytes(b"site transitions")
    (root / "var/lib/netwatch").symlink_to("private/netwatch")
    newer = newer_version(deb, root / "tmp")
    chroot(root, "apt-get", "install", "--yes", "--quiet", f"/tmp/{newer.name}")
    status = chroot(root, "dpkg-query", "-W", "-f", "${Version}", "netwatch").stdout
    assert status == newer.name.split("_")[1]
    assert config.read_text().endswith("# local edit\n")
    assert history.read_bytes() == b"site transitions"
    assert (root / "etc/netwatch/sites.d/city.yml").is_file()
    assert (root / "etc/netwatch/credentials/snmp-community").read_text() == "public-city"
    assert "snmp-community" in dropin.read_text()

    # purge removes it all
    chroot(root, "apt-get", "purge", "--yes", "--quiet", "netwatch")
    for gone in ("etc/netwatch", "usr/lib/netwatch", "usr/bin/netwatch", "usr/sbin/netwatch-setup",
                 "usr/share/netwatch", "var/lib/netwatch", "var/lib/private/netwatch",
                 "etc/systemd/system/netwatch.service.d", "lib/systemd/system/netwatch.service",
                 "etc/systemd/system/multi-user.target.wants/netwatch.service"):
        assert not os.path.lexists(root / gone), gone
    assert chroot(root, "dpkg-query", "-W", "netwatch", check=False).returncode != 0


def newer_version(deb: Path, into: Path) -> Path:
    """The same package under a higher version (`+1`): what the next release looks like to
    dpkg, made with dpkg-deb in seconds instead of a second build."""
    work = Path(tempfile.mkdtemp(prefix="netwatch-deb-up-"))
    try:
        run("dpkg-deb", "--raw-extract", deb, work / "pkg")
        control = work / "pkg/DEBIAN/control"
        text = control.read_text()
        version = re.search(r"^Version: (\S+)$", text, re.M)
        assert version
        control.write_text(text.replace(version.group(0), f"Version: {version.group(1)}+1"))
        out = into / f"netwatch_{version.group(1)}+1_amd64.deb"
        run("dpkg-deb", "--root-owner-group", "--build", work / "pkg", out)
        return out
    finally:
        shutil.rmtree(work, ignore_errors=True)

"""The Debian package as an admin meets it: built by scripts/build-deb.sh, checked by lintian,
installed with apt into a throwaway Debian 12 root (mmdebstrap), then upgraded and purged.

The root is a minimal Debian 12 (`--variant=apt`) with its package lists, cached as a tarball
under /var/cache/netwatch-tests for a week (it takes ~15 s to make); each run unpacks a fresh
copy, so apt resolves the package's dependencies (python3, ...) from Debian's mirror as on a
real server, and dpkg runs the maintainer scripts. There is no systemd running in the root:
the unit is enabled, not started (as in any chroot); systemd's own checks of the unit are in
test_install.py.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, program, require

pytestmark = [pytest.mark.integration, pytest.mark.root]

CACHE = Path("/var/cache/netwatch-tests/bookworm-apt.tar")
CACHE_DAYS = 7
MIRROR = "http://deb.debian.org/debian"


def run(*args: str | Path, timeout: float = 600, check: bool = True,
        stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout, input=stdin)
    if check and proc.returncode != 0:
        raise AssertionError(f"{args} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n"
                             f"{proc.stderr[-3000:]}")
    return proc


def chroot(root: Path, *args: str, check: bool = True,
           stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = ["env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND=noninteractive",
           "LANG=C.UTF-8"]
    return run("chroot", root, *env, *args, check=check, stdin=stdin)


def base_tarball() -> Path:
    fresh = CACHE.exists() and time.time() - CACHE.stat().st_mtime < CACHE_DAYS * 86400
    if not fresh:
        program("mmdebstrap", "sh scripts/bootstrap.sh test")
        CACHE.parent.mkdir(parents=True, exist_ok=True)
        partial = CACHE.with_suffix(".partial.tar")
        run("mmdebstrap", "--quiet", "--variant=apt", "--mode=root",
            "--skip=cleanup/apt/lists", "bookworm", partial, MIRROR)
        partial.rename(CACHE)
    return CACHE


@pytest.fixture(scope="module")
def server() -> Iterator[Path]:
    require(None if os.geteuid() == 0 else "needs root (chroot, file owners)")
    tarball = base_tarball()
    root = Path(tempfile.mkdtemp(prefix="netwatch-deb-", dir="/var/tmp"))
    try:
        run("tar", "-xf", tarball, "-C", root)
        shutil.copy2("/etc/resolv.conf", root / "etc/resolv.conf")  # apt reaches the mirror
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


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
    assert conffiles == ["/etc/netwatch/netwatch.yml"]
    for shared in ("prometheus/rules/netwatch-alerts.yml", "alertmanager/alertmanager.yml",
                   "grafana/dashboards/netwatch-overview.json", "examples/bandarlampung.yml"):
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

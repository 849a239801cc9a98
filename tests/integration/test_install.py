"""The Debian package's files unpacked into a temporary root, then systemd's own checks of the
unit, netwatch-setup (credentials, the Prometheus stack) and the installed daemon run the way
the unit runs it.

The temporary root stands for the server: a copy of the parts of Debian the unit relies on
(systemd's units, python3, kill), then the package's files (`dpkg-deb --extract`; apt and the
maintainer scripts are test_deb.py's part). Nothing is written outside the temporary
directories and nothing is started but the daemon under test.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from netwatch.lab.ports import free_port
from tests.conftest import ROOT, program, require

pytestmark = pytest.mark.integration

SETUP = ROOT / "deploy" / "netwatch-setup"
UNIT = "netwatch.service"
PYTHON = "usr/lib/netwatch/bin/python3"
MAX_EXPOSURE = 2.0


def sh(*args: str | Path, check: bool = True, stdin: str | None = None,
       timeout: float = 300) -> subprocess.CompletedProcess[str]:
    # cwd outside the checkout, so `python -m netwatch` cannot pick up the source tree
    proc = subprocess.run([str(a) for a in args], capture_output=True, text=True, input=stdin,
                          timeout=timeout, cwd="/", env={**os.environ, "PYTHONPATH": ""})
    if check and proc.returncode != 0:
        raise AssertionError(f"{args} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def base_system(root: Path) -> None:
    """What a Debian 12 server already has and the unit refers to (merged /usr)."""
    (root / "usr" / "bin").mkdir(parents=True)
    (root / "usr" / "lib" / "systemd").mkdir(parents=True)
    (root / "etc" / "systemd" / "system").mkdir(parents=True)
    (root / "bin").symlink_to("usr/bin")
    (root / "lib").symlink_to("usr/lib")
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    python = Path(os.path.realpath("/usr/bin/python3"))
    shutil.copy2(python, root / "usr/bin" / python.name)
    (root / "usr/bin/python3").symlink_to(python.name)
    shutil.copy2(shutil.which("kill") or "/usr/bin/kill", root / "usr/bin/kill")


@pytest.fixture(scope="module")
def server(deb: Path) -> Iterator[Path]:
    program("systemd-analyze", "apt install systemd")
    # not under pytest's 0700 tmp: the unprivileged service user must reach /usr/lib/netwatch
    root = Path(tempfile.mkdtemp(prefix="netwatch-server-", dir="/tmp"))
    try:
        root.chmod(0o755)
        base_system(root)
        sh("dpkg-deb", "--extract", deb, root)
        (root / "etc/netwatch/credentials").mkdir(mode=0o700)  # what postinst makes
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def analyze(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return sh("systemd-analyze", *args, check=False, timeout=60)


def exposure(root: Path, unit: str) -> float:
    proc = analyze("security", "--offline=true", f"--root={root}", unit)
    assert proc.returncode == 0, proc.stderr
    match = re.search(rf"Overall exposure level for {re.escape(unit)}: (\d+\.\d+)", proc.stdout)
    assert match, proc.stdout[-2000:]
    return float(match.group(1))


def test_installed_program_checks_the_starter_config(server: Path) -> None:
    python = server / PYTHON
    where = sh(python, "-c", "import netwatch; print(netwatch.__file__)").stdout
    assert where.startswith(str(server / "usr/lib/netwatch/lib")), where
    proc = sh(python, "-m", "netwatch", "check-config", server / "etc/netwatch/netwatch.yml")
    assert "OK" in proc.stdout and re.search(r"canaries:\s+1", proc.stdout)


def test_systemd_verify_passes(server: Path) -> None:
    proc = analyze("verify", f"--root={server}", UNIT)
    assert proc.returncode == 0 and not proc.stderr.strip(), proc.stderr


def test_systemd_verify_catches_a_broken_install(server: Path, tmp_path: Path) -> None:
    # the same check fails when the program the unit starts is missing: it is a real check
    venv = server / "usr/lib/netwatch"
    moved = tmp_path / "venv"
    venv.rename(moved)
    try:
        proc = analyze("verify", f"--root={server}", UNIT)
    finally:
        moved.rename(venv)
    assert proc.returncode != 0 and "/usr/lib/netwatch/bin/python3" in proc.stderr


def test_security_exposure_is_low(server: Path) -> None:
    score = exposure(server, UNIT)
    print(f"systemd-analyze security --offline=true: {UNIT} exposure {score}")
    assert score <= MAX_EXPOSURE
    proc = analyze("security", "--offline=true", f"--root={server}",
                   f"--threshold={int(MAX_EXPOSURE * 10)}", UNIT)
    assert proc.returncode == 0


def test_security_check_tells_a_bare_unit_apart(server: Path) -> None:
    bare = server / "etc/systemd/system/bare.service"
    bare.write_text("[Service]\nExecStart=/usr/lib/netwatch/bin/python3 -m netwatch run x\n")
    try:
        assert exposure(server, "bare.service") > 5.0
    finally:
        bare.unlink()


def test_credentials_become_load_credential_lines(server: Path) -> None:
    sh("sh", SETUP, "--root", server, "add-credential", "v3-auth", stdin="s3cret-auth-pass\n")
    creds = server / "etc/netwatch/credentials"
    assert stat.S_IMODE((creds / "v3-auth").stat().st_mode) == 0o600
    (creds / "bad name").write_text("x")
    try:
        sh("sh", SETUP, "--root", server, "credentials")
    finally:
        (creds / "bad name").unlink()
    dropin = (server / "etc/systemd/system/netwatch.service.d/credentials.conf").read_text()
    lines = [ln for ln in dropin.splitlines() if ln.startswith("LoadCredential=")]
    assert lines == ["LoadCredential=v3-auth:/etc/netwatch/credentials/v3-auth"]
    assert "s3cret" not in dropin
    proc = analyze("verify", f"--root={server}", UNIT)
    assert proc.returncode == 0 and not proc.stderr.strip(), proc.stderr
    # the config reads it the way the service will: {credential: NAME} from the directory
    config = server / "etc/netwatch/netwatch.yml"
    original = config.read_text()
    config.write_text(original + (
        "auths:\n  city-v3: {version: 3, username: noc, security_level: authNoPriv,\n"
        "            auth_protocol: SHA256, auth_password: {credential: v3-auth}}\n"))
    try:
        python = server / PYTHON
        proc = subprocess.run([str(python), "-m", "netwatch", "check-config", str(config)],
                              capture_output=True, text=True, cwd="/", timeout=60,
                              env={**os.environ, "CREDENTIALS_DIRECTORY": str(creds)})
        assert proc.returncode == 0, proc.stderr
        assert "city-v3" in proc.stdout and "s3cret" not in proc.stdout + proc.stderr
    finally:
        config.write_text(original)


def test_web_user_turns_on_basic_auth(server: Path) -> None:
    """netwatch-setup web-user: a bcrypt hash in /etc/netwatch/web.yml (which the unit passes
    with --web.config.file), replaced on a second call, a short password refused."""
    web = server / "etc/netwatch/web.yml"
    original = web.read_text()
    assert "tls_server_config:" in original and "basic_auth_users:" in original
    unit = (server / "lib/systemd/system" / UNIT).read_text()
    assert "--web.config.file /etc/netwatch/web.yml" in unit
    python = server / PYTHON
    check = ("import sys, bcrypt; from netwatch.web.webconfig import read_web_config; "
             "users = read_web_config(sys.argv[1]).users; "
             "print(sorted(users), bcrypt.checkpw(sys.argv[2].encode(), users['prometheus']))")
    try:
        sh("sh", SETUP, "--root", server, "web-user", "prometheus", stdin="first-password\n")
        sh("sh", SETUP, "--root", server, "web-user", "prometheus", stdin="second-password\n")
        text = web.read_text()
        assert text.count("  prometheus: '$2b$10$") == 1 and "second-password" not in text
        proc = subprocess.run([str(python), "-c", check, str(web), "second-password"],
                              capture_output=True, text=True, timeout=60, check=False, cwd="/")
        assert proc.stdout.strip() == "['prometheus'] True", proc.stderr
        short = sh("sh", SETUP, "--root", server, "web-user", "noc", stdin="short\n",
                   check=False)
        assert short.returncode != 0 and "at least 8 characters" in short.stderr
        assert "  noc:" not in web.read_text()
    finally:
        web.write_text(original)


def test_stack_configures_debians_prometheus(tmp_path: Path, deb: Path, promtool: str,
                                            amtool: str) -> None:
    root = tmp_path / "server"
    base_system(root)
    sh("dpkg-deb", "--extract", deb, root)
    shared = root / "usr/share/netwatch"
    (root / "etc/default").mkdir(parents=True)
    # Debian's own /etc/default/prometheus with a flag the admin set: kept, retention added
    (root / "etc/default/prometheus").write_text('ARGS="--web.listen-address=127.0.0.1:9090"\n')
    (root / "etc/prometheus/rules").mkdir(parents=True)
    (root / "etc/prometheus/rules/netwatch-old.yml").write_text("groups: []\n")
    (root / "etc/prometheus/rules/site-local.yml").write_text("groups: []\n")
    sh("sh", SETUP, "--root", root, "stack")
    prom = root / "etc/prometheus"
    args = (root / "etc/default/prometheus").read_text()
    assert re.search(r'^ARGS=".*--storage\.tsdb\.retention\.time=40d.*"$', args, re.M)
    assert "--web.listen-address=127.0.0.1:9090" in args
    shipped = sorted(p.name for p in (shared / "prometheus/rules").glob("*.yml"))
    installed = sorted(p.name for p in (prom / "rules").glob("*.yml"))
    assert installed == sorted([*shipped, "site-local.yml"]), \
        "stale netwatch rules stay, or the admin's go"
    proc = sh(promtool, "check", "config", prom / "prometheus.yml")
    assert f"SUCCESS: {len(shipped) + 1} rule files found" in proc.stdout
    sh(amtool, "check-config", prom / "alertmanager.yml")

    # the admin's edits survive a second run; netwatch's version lands beside them
    edited = (prom / "prometheus.yml").read_text().replace("replica: prom-1", "replica: prom-2")
    (prom / "prometheus.yml").write_text(edited)
    sh("sh", SETUP, "--root", root, "stack")
    assert (prom / "prometheus.yml").read_text() == edited
    assert (prom / "prometheus.yml.netwatch-new").read_text() == \
        (shared / "prometheus/prometheus.yml").read_text()
    assert (root / "etc/default/prometheus").read_text() == args

    # a city's thresholds file: the installed netwatch renders the rules with it, its
    # runbook_base_url in every alert
    (root / "etc/netwatch/thresholds.yml").write_text(
        "runbook_base_url: https://noc.bandarlampungkota.example/runbooks.md\n"
        "rules: {site_down_for: 7m}\n")
    sh("sh", SETUP, "--root", root, "stack")
    alerts = (prom / "rules/netwatch-alerts.yml").read_text()
    assert "for: 7m" in alerts and "/etc/netwatch/thresholds.yml over it" in alerts
    assert "https://noc.bandarlampungkota.example/runbooks.md#netwatchsitedown" in alerts
    assert "netwatch.example.invalid" not in alerts
    sh("promtool", "check", "rules", *sorted((prom / "rules").glob("netwatch-*.yml")))
    (root / "etc/netwatch/thresholds.yml").write_text("rules: {site_down_fo: 7m}\n")
    proc = sh("sh", SETUP, "--root", root, "stack", check=False)
    assert proc.returncode != 0 and "rules.site_down_fo: unknown rule setting" in proc.stderr
    assert "for: 7m" in (prom / "rules/netwatch-alerts.yml").read_text()  # left as it was


# --- the installed daemon, run the way the unit runs it -----------------------------------

DYNAMIC_UID = 61184  # the first uid systemd's DynamicUser= hands out


def run_as_service(server: Path, caps: str, config: Path, creds: Path) -> subprocess.Popen[str]:
    """The installed program as the unit starts it: an unprivileged dynamic uid, no new
    privileges, `caps` as the only ambient/bounding capabilities, credentials from a
    directory only that user can read, nothing writable, cwd /."""
    return subprocess.Popen(
        [shutil.which("setpriv") or "setpriv", f"--reuid={DYNAMIC_UID}", f"--regid={DYNAMIC_UID}",
         "--clear-groups", f"--inh-caps=-all{caps}", f"--ambient-caps=-all{caps}",
         f"--bounding-set=-all{caps}", "--no-new-privs",
         str(server / PYTHON), "-m", "netwatch", "--log-format", "json",
         "run", str(config)],
        cwd="/", text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1",
             "CREDENTIALS_DIRECTORY": str(creds)})


def ping_sockets_allowed(gid: int) -> bool:
    low, high = Path("/proc/sys/net/ipv4/ping_group_range").read_text().split()
    return int(low) <= gid <= int(high)


ServiceConfig = tuple[Path, Path, int]  # config file, credentials directory, port


@pytest.fixture
def service_config(server: Path) -> Iterator[ServiceConfig]:
    program("setpriv", "apt install util-linux")
    require(None if os.geteuid() == 0 else "needs root to switch to the service user")
    port = free_port()
    config = server / "etc/netwatch/service-test.yml"
    config.write_text(
        f"listen: 127.0.0.1:{port}\n"
        "defaults: {icmp: {interval: 1s, count: 1, timeout: 500ms}, snmp: {enabled: false}}\n"
        "auths: {city-v2: {version: 2c, community: {credential: snmp-community}}}\n"
        "canaries: [{name: core, address: 127.0.0.1}]\n")
    config.chmod(0o644)
    # what systemd makes of LoadCredential=: a private copy readable by the service user only
    creds = Path(tempfile.mkdtemp(prefix="netwatch-creds-", dir="/tmp"))
    (creds / "snmp-community").write_text("public-test\n")
    for path in (creds, creds / "snmp-community"):
        os.chown(path, DYNAMIC_UID, DYNAMIC_UID)
    creds.chmod(0o500)
    try:
        yield config, creds, port
    finally:
        config.unlink()
        shutil.rmtree(creds, ignore_errors=True)


def stop(proc: subprocess.Popen[str]) -> tuple[int, str]:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate(timeout=5)
    return proc.returncode, err


def canary_metrics(proc: subprocess.Popen[str], port: int) -> str:
    """/metrics once the canary is up (bounded wait), or the last text seen."""
    deadline, metrics = time.monotonic() + 30, ""
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                metrics = r.read().decode()
        except OSError:
            pass
        if 'netwatch_canary_up{canary="core"} 1' in metrics:
            break
        time.sleep(0.2)
    return metrics


def test_installed_daemon_needs_only_cap_net_raw(server: Path,
        service_config: ServiceConfig) -> None:
    config, creds, port = service_config
    proc = run_as_service(server, ",+net_raw", config, creds)
    try:
        metrics = canary_metrics(proc, port)
    finally:
        code, err = stop(proc)
    assert 'netwatch_canary_up{canary="core"} 1' in metrics, err[-3000:]
    assert '"socket": "raw"' in err
    assert "public-test" not in metrics + err, "a credential leaked"
    assert code == 0, err[-3000:]


def test_installed_daemon_without_the_capability(server: Path,
        service_config: ServiceConfig) -> None:
    config, creds, port = service_config
    proc = run_as_service(server, "", config, creds)
    try:
        if ping_sockets_allowed(DYNAMIC_UID):  # the documented alternative is in force here
            metrics = canary_metrics(proc, port)
        else:
            proc.wait(30)
    finally:
        code, err = stop(proc)
    if ping_sockets_allowed(DYNAMIC_UID):
        assert 'netwatch_canary_up{canary="core"} 1' in metrics and '"socket": "datagram"' in err
        assert code == 0, err[-3000:]
    else:
        assert code == 1 and "ICMP is not permitted" in err, err[-3000:]

"""Throwaway Debian 12 roots for the package tests (test_deb.py, test_docs.py).

The base is a minimal Debian 12 (`mmdebstrap --variant=apt`) with its package lists, cached as
a tarball under /var/cache/netwatch-tests for a week (making it takes ~15 s); each test unpacks
a fresh copy, so apt resolves the package's dependencies from Debian's mirror as on a real
server and dpkg runs the maintainer scripts.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from tests.conftest import ROOT, program, require

CACHE = Path("/var/cache/netwatch-tests/bookworm-apt.tar")
CACHE_DAYS = 7
MIRROR = "http://deb.debian.org/debian"
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def run(*args: str | Path, timeout: float = 600, check: bool = True,
        stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout, input=stdin)
    if check and proc.returncode != 0:
        raise AssertionError(f"{args} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n"
                             f"{proc.stderr[-3000:]}")
    return proc


def chroot(root: Path, *args: str, check: bool = True, stdin: str | None = None,
           timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = ["env", "-i", f"PATH={PATH}", "DEBIAN_FRONTEND=noninteractive", "LANG=C.UTF-8",
           "HOME=/root"]
    return run("chroot", root, *env, *args, check=check, stdin=stdin, timeout=timeout)


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


def stop_processes_in(root: Path) -> None:
    """End the processes this test started inside `root` (by their own pid, nothing else)."""
    for pidfile in (root / "run/chroot-systemctl").glob("*.pid"):
        try:
            os.kill(int(pidfile.read_text()), signal.SIGTERM)
        except (OSError, ValueError):
            continue
    deadline = time.monotonic() + 20
    for pidfile in (root / "run/chroot-systemctl").glob("*.pid"):
        pid = int(pidfile.read_text())
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except OSError:
                break
            time.sleep(0.1)
        else:
            with suppress(OSError):
                os.kill(pid, signal.SIGKILL)


@contextmanager
def fresh_root() -> Iterator[Path]:
    require(None if os.geteuid() == 0 else "needs root (chroot, file owners)")
    tarball = base_tarball()
    root = Path(tempfile.mkdtemp(prefix="netwatch-deb-", dir="/var/tmp"))
    try:
        run("tar", "-xf", tarball, "-C", root)
        shutil.copy2("/etc/resolv.conf", root / "etc/resolv.conf")  # apt reaches the mirror
        yield root
    finally:
        stop_processes_in(root)
        shutil.rmtree(root, ignore_errors=True)

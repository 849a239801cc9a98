"""Shared test setup: paths, prerequisites (skipped on a laptop, failed in CI), the external
programs the tests run, and namespace hygiene.

    require(reason_or_none)          skip (CI: fail) when a check names what is missing
    program("promtool", "apt ...")   the path of a program, or skip (CI: fail)
    promtool, amtool                 the same as fixtures
    run_program(path, *args)         run it from the checkout, output captured as text
    make_namespace(silent=True)      a namespace removed after the test, also on failure

Helpers with one job each live beside this file: waiting.py (bounded waits), metrics.py
(reading exposition text), scrapecheck.py (a scrape against the catalog and promtool),
fakes.py (fakes for pure logic), alert_timing.py (the alerting tests' timing profile);
integration/conftest.py holds the probers the integration tests share, integration/labkit.py
the lab and daemon started together.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn, Protocol

import pytest
import structlog

from netwatch.lab import netns

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def unavailable(reason: str) -> NoReturn:
    """Skip for a missing prerequisite, except in CI, where it is a failure."""
    if IN_CI:
        pytest.fail(f"prerequisite missing in CI: {reason}")
    pytest.skip(reason)


def require(reason: str | None) -> None:
    """`unavailable(reason)` unless the check found nothing missing (reason None)."""
    if reason is not None:
        unavailable(reason)


def program(name: str, install: str = "sh scripts/bootstrap.sh test") -> str:
    """The path of an external program a test runs; `install` says how to get it."""
    path = shutil.which(name)
    if path is None:
        unavailable(f"{name} missing ({install})")
    return path


def run_program(*argv: str | Path, stdin: str | None = None,
                timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in argv], input=stdin, capture_output=True, text=True,
                          cwd=ROOT, timeout=timeout, check=False)


@pytest.fixture(scope="session")
def promtool() -> str:
    return program("promtool", "apt install prometheus")


@pytest.fixture(scope="session")
def amtool() -> str:
    return program("amtool", "apt install prometheus-alertmanager")


@pytest.fixture(scope="session", autouse=True)
def _uncached_loggers() -> Iterator[None]:
    """netwatch caches structlog loggers on first use (fast in production); in tests that
    would pin them to whatever a CLI test configured, and capture_logs() would see nothing."""
    original = structlog.configure

    def configure(**settings: Any) -> None:
        original(**{**settings, "cache_logger_on_first_use": False})

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(structlog, "configure", configure)
        yield


@pytest.fixture(scope="session", autouse=True)
def _stale_namespaces() -> None:
    if netns.available() is None:
        netns.remove_stale()


class MakeNamespace(Protocol):
    def __call__(self, *, hosts: int = 1, silent: bool = False,
                 ipv6: bool = False) -> netns.Namespace: ...


@pytest.fixture
def make_namespace() -> Iterator[MakeNamespace]:
    """Factory for namespaces that are removed after the test, also when it fails."""
    require(netns.available())
    created: list[netns.Namespace] = []

    def make(*, hosts: int = 1, silent: bool = False, ipv6: bool = False) -> netns.Namespace:
        ns = netns.Namespace.create(hosts=hosts, silent=silent, ipv6=ipv6)
        created.append(ns)
        return ns

    yield make
    for ns in created:
        ns.delete()

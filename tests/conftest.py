"""Shared test setup: paths, CI strictness for root-only tests, namespace hygiene."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog

from netwatch.lab import netns

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(reason: str | None) -> None:
    """Skip when a prerequisite is missing, except in CI, where it is a failure."""
    if reason is None:
        return
    if IN_CI:
        pytest.fail(f"prerequisite missing in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session", autouse=True)
def _uncached_loggers() -> Iterator[None]:
    """netwatch caches structlog loggers on first use (fast in production); in tests that
    would pin them to whatever a CLI test configured, and capture_logs() would see nothing."""
    original = structlog.configure

    def configure(**settings: Any) -> None:
        original(**{**settings, "cache_logger_on_first_use": False})

    structlog.configure = configure  # type: ignore[assignment]
    yield
    structlog.configure = original  # type: ignore[assignment]


@pytest.fixture(scope="session", autouse=True)
def _stale_namespaces() -> None:
    if netns.available() is None:
        netns.remove_stale()


@pytest.fixture
def make_namespace():
    """Factory for namespaces that are removed after the test, also when it fails."""
    require(netns.available())
    created: list[netns.Namespace] = []

    def make(**kwargs: object) -> netns.Namespace:
        ns = netns.Namespace.create(**kwargs)  # type: ignore[arg-type]
        created.append(ns)
        return ns

    yield make
    for ns in created:
        ns.delete()

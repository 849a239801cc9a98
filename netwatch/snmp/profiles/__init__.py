"""Device profiles as data: one YAML file per profile in this directory."""

from __future__ import annotations

from pathlib import Path

DIRECTORY = Path(__file__).parent


def available() -> list[str]:
    """Names of the shipped profiles (file stems), without `auto`."""
    return sorted(p.stem for p in DIRECTORY.glob("*.yml"))

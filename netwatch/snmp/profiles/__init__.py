"""Device profiles as data: one YAML file per profile in this directory (docs/profiles.md).

    available()        names of the shipped profiles (config validation uses this)
    load()             {name: Profile}, parsed, validated and merged once per process
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from netwatch.snmp.profile import Profile

DIRECTORY = Path(__file__).parent


def available() -> list[str]:
    """Names of the shipped profiles (file stems), without `auto`."""
    return sorted(p.stem for p in DIRECTORY.glob("*.yml"))


@cache
def load() -> dict[str, Profile]:
    """Every shipped profile with its parents merged in; raises ProfileError when one is
    invalid (the message names the file)."""
    from netwatch.snmp.profile import load_directory

    return load_directory(DIRECTORY)

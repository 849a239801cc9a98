"""`--shard K/N` as an argparse type, shared by `run` and `check-config`."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from netwatch.inventory.shard import Shard


def shard_arg(text: str) -> Shard:
    from netwatch.inventory.shard import Shard  # pydantic and the models: only when given

    try:
        return Shard.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None

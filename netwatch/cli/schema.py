"""`netwatch schema`: the config's JSON Schema, for editors that validate YAML as it is typed."""

from __future__ import annotations

import argparse
import json
from typing import Any


def add_parser(sub: Any) -> None:
    schema = sub.add_parser("schema", help="print the config's JSON Schema")
    schema.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from netwatch.config.model import Config

    schema = Config.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "netwatch config"
    print(json.dumps(schema, indent=2))
    return 0

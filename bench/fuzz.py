"""The fuzz properties of tests/fuzzing.py for longer: each target for --minutes (10 by
default) with fresh seeds, in batches of hypothesis runs. Prints, per target, the examples
tried, what they came to (the codec's or the loader's own error, or a valid result), and
every failure with its input; exit status 1 when anything failed.

    .venv/bin/python bench/fuzz.py                      # ber, config, csv: 10 minutes each
    .venv/bin/python bench/fuzz.py --minutes 1 --only ber
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from tests.fuzzing import (
    ber_messages,
    check_ber,
    check_config,
    check_csv,
    config_directory,
    config_texts,
    csv_texts,
)

BATCH = {"ber": 2000, "config": 200, "csv": 300}


def run(name: str, minutes: float) -> dict[str, Any]:
    directory = config_directory(Path(tempfile.mkdtemp(prefix="netwatch-fuzz-")))
    strategy: st.SearchStrategy[Any]
    check: Callable[[Any], str]
    if name == "ber":
        strategy, check = ber_messages, check_ber
    elif name == "config":
        strategy, check = config_texts(), lambda text: check_config(text, directory)
    else:
        strategy, check = csv_texts(), check_csv
    kinds: Counter[str] = Counter()
    failures: list[str] = []

    def classify(value: Any) -> None:
        kinds["examples"] += 1
        try:
            kinds[check(value)] += 1
        except Exception as exc:  # an assertion, or an exception the code should not raise
            failures.append(f"{exc!r} for {value!r}"[:2000])
            raise AssertionError(str(exc)) from exc

    end = time.monotonic() + minutes * 60
    batches = 0
    while time.monotonic() < end and len(failures) < 5:
        batch_seed = random.randrange(2**32)

        @seed(batch_seed)
        @settings(max_examples=BATCH[name], database=None, deadline=None,
                  suppress_health_check=list(HealthCheck))
        @given(strategy)
        def one(value: Any) -> None:
            classify(value)

        with contextlib.suppress(AssertionError):
            one()
        batches += 1
    return {"target": name, "minutes": minutes, "batches": batches,
            "examples": kinds["examples"], "own_errors": kinds["error"],
            "valid": kinds["valid"], "failures": len(failures),
            "first_failures": failures[:3]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--only", default="ber,config,csv")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    results = []
    for name in args.only.split(","):
        result = run(name, args.minutes)
        results.append(result)
        print(json.dumps(result), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    return 1 if any(r["failures"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())

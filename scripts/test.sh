#!/bin/sh
# The test command (README, .ci/run): install what the tests need, lint, then run them all.
# Root-only tests skip on a laptop but fail under CI=true (they must run in CI).
set -eu
cd "$(dirname "$0")/.."
sh scripts/bootstrap.sh test
echo "test.sh: ruff and mypy (settings in pyproject.toml)" >&2
.venv/bin/ruff check netwatch tests bench grafana
# no incremental cache: a stale one has hidden protocol mismatches after a refactor
.venv/bin/mypy --cache-dir=/dev/null netwatch bench grafana
.venv/bin/mypy --cache-dir=/dev/null tests
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"

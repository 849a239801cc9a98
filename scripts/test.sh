#!/bin/sh
# The test command (README, .ci/run): install what the tests need, then run them all.
# Root-only tests skip on a laptop but fail under CI=true (they must run in CI).
set -eu
cd "$(dirname "$0")/.."
sh scripts/bootstrap.sh test
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"

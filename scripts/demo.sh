#!/bin/sh
# The main job on the embedded default: install what is needed, then run the simulated
# Bandar Lampung city and the daemon polling it (Ctrl-C stops and cleans up).
#   sh scripts/demo.sh [--with-prometheus] [--kecamatan Kedaton] ...
set -eu
cd "$(dirname "$0")/.."
sh scripts/bootstrap.sh run
exec .venv/bin/netwatch demo "$@"

#!/bin/sh
# Build netwatch's venv at DEST for the path FINAL the installed system uses (debian/rules).
# Debian's own python3 makes it (the package depends on it); netwatch comes as the wheel
# scripts/build-deb.sh built into debian/wheels/, its dependencies as wheels from the package
# index, at the versions in debian/constraints.txt when there is one (pip's cache makes
# rebuilds quick).
set -eu
mkdir -p "$1"
dest=$(cd "$1" && pwd)
final=$2
python=/usr/bin/python3
rm -rf "$dest"
"$python" -m venv "$dest"
pip="$dest/bin/python -m pip --disable-pip-version-check --no-input --quiet"
# --no-compile: no bytecode in the package; postinst compiles it (lintian: no .pyc shipped)
constraints=""
[ -f debian/constraints.txt ] && constraints="--constraint debian/constraints.txt"
# shellcheck disable=SC2086
$pip install --no-compile --no-warn-script-location --only-binary=:all: $constraints \
    debian/wheels/netwatch-*.whl
$pip uninstall --yes pip setuptools
# bin/ keeps only the interpreter links: /usr/bin/netwatch runs `python3 -m netwatch`, and
# the wheels' own scripts (idna, cffi-gen-src) are not for the admin
find "$dest/bin" -mindepth 1 ! -name 'python*' -exec rm -f {} +
find "$dest" -name .DS_Store -delete   # pysnmp's wheel carries macOS folder files
# the venv was made at a build path: point its config at the installed path
sed -i "s|$dest|$final|g" "$dest/pyvenv.cfg"
find "$dest" -name __pycache__ -type d -prune -exec rm -rf {} +
find "$dest" -name '*.dist-info' -type d -exec rm -f {}/RECORD {}/INSTALLER {}/direct_url.json \;
"$dest/bin/python3" -B -c 'import netwatch, aiohttp, pysnmp, pydantic, yaml, structlog, cryptography'

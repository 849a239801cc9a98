#!/bin/sh
# Build the Debian package of this checkout into dist/ with Debian's own tools:
#   sh scripts/build-deb.sh            -> dist/netwatch_<version>_amd64.deb
# debhelper builds it from a copy of the checkout (dist/build/); the program goes into a venv
# of its own under /usr/lib/netwatch, made by Debian 12's python3 from the wheels of its
# dependencies (the package index, at the versions of .venv when there is one). Needs
# debhelper, python3-venv and lintian (`sh scripts/bootstrap.sh test` installs them), as any
# user (fakeroot is not needed: Rules-Requires-Root: no).
set -eu
cd "$(dirname "$0")/.."
here=$(pwd)

for tool in dpkg-buildpackage dh lintian; do
    command -v "$tool" >/dev/null || { echo "build-deb: $tool missing (sh scripts/bootstrap.sh test)" >&2; exit 1; }
done
version=$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
changelog=$(dpkg-parsechangelog -S Version -l debian/changelog)
[ "$version" = "$changelog" ] || {
    echo "build-deb: pyproject.toml says $version, debian/changelog $changelog: add a changelog entry" >&2
    exit 1
}

build=dist/build
src=$build/netwatch-$version
rm -rf "$build"
mkdir -p "$src/debian/wheels"
# the tracked and new (not ignored) files of the checkout: what a clean clone would have
if git rev-parse --git-dir >/dev/null 2>&1; then
    git ls-files -z --cached --others --exclude-standard | xargs -0 -r sh -c '
        for f; do [ -e "$f" ] || [ -L "$f" ] && printf "%s\0" "$f"; done' sh \
        | tar --null -T - -cf - | tar -xf - -C "$src"
else
    tar --exclude=./.venv --exclude=./dist -cf - . | tar -xf - -C "$src"
fi

# netwatch itself as a wheel (build isolation fetches setuptools), then the versions its
# dependencies have in the tested .venv as constraints
pip=.venv/bin/python
[ -x "$pip" ] || pip=/usr/bin/python3
"$pip" -m pip wheel --quiet --disable-pip-version-check --no-deps --wheel-dir "$src/debian/wheels" .
if [ -x .venv/bin/python ]; then
    .venv/bin/python -m pip freeze --disable-pip-version-check --exclude-editable \
        | grep -v '^netwatch' > "$src/debian/constraints.txt" || true
fi

(cd "$src" && dpkg-buildpackage --build=binary --no-sign -uc -us >../dpkg-buildpackage.log 2>&1) || {
    tail -40 "$build/dpkg-buildpackage.log" >&2
    echo "build-deb: dpkg-buildpackage failed (whole log: $build/dpkg-buildpackage.log)" >&2
    exit 1
}
deb=$(ls "$build"/netwatch_"$version"_*.deb)
mkdir -p dist
cp "$deb" dist/
echo "$here/dist/$(basename "$deb")"
